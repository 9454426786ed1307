"""Downbeat finding on synth renders cut mid-bar -> benchmarks/results/downbeats.json.

Each of 160 cases is a 15 s synth render (4 tempi x 5 emotions x 2 keys) with its first
``cut`` beats (0-3) and 0.11 s more removed, so that it starts off the beat and ``cut`` beats
into a bar. ``downbeat_phase`` must name the beat of the fitted grid that opens the next bar;
the reference "first beat" (what alignment did before) is right in a quarter of the cases.
A smoke test: the synth renderer made the bars being read (no independent downbeat truth on
real recordings is on this machine).

Usage: .venv/bin/python benchmarks/bench_downbeats.py
"""

from __future__ import annotations

import itertools
import json
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]
from provenance import write_results  # noqa: E402

from aural_core.controls import Controls  # noqa: E402
from aural_core.render.synth import SynthRenderer  # noqa: E402
from aural_core.render.whole import beat_grid, downbeat_phase  # noqa: E402

OFFSET_S = 0.11


def main() -> None:
    smoke = "--smoke" in sys.argv[1:]  # two cases, results under $AURAL_BENCH_RESULTS
    renderer, outcomes, start = SynthRenderer(), Counter(), time.perf_counter()
    cases = itertools.product([72.0, 100.0, 128.0, 160.0], ["bright", "calm", "tense", "dark", "busy"],
                              ["C major", "F# minor"])
    if smoke:
        cases = itertools.islice(cases, 2)
    for i, (bpm, emotion, key) in enumerate(cases):
        out = renderer.render(Controls(emotion, bpm, key, i % 8, "bench"), seconds=15.0, seed=i)
        beat = 60.0 / bpm
        for cut in range(4):
            y = out.mix[int(round((cut * beat + OFFSET_S) * out.sr)):]
            grid = beat_grid(y, sr=out.sr, bpm=bpm)
            if grid is None:
                outcomes["no beat grid"] += 1
                continue
            first = int(round(OFFSET_S / beat + cut + grid.phase / beat))  # the render's beat number
            want = -first % 4
            got = downbeat_phase(y, sr=out.sr, grid=grid)
            outcomes["right" if got == want else "first beat kept" if got == 0 else
                     "half a bar off" if (got - want) % 4 == 2 else "a beat off"] += 1
    n = sum(outcomes.values())
    result = {"cases": n, "outcomes": dict(outcomes), "right_share": round(outcomes["right"] / n, 3),
              "first_beat_reference_share": 0.25, "seconds": round(time.perf_counter() - start, 1)}
    write_results("downbeats.json", result, smoke=smoke)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
