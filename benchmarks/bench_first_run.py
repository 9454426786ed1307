"""The first cold run after install -> benchmarks/results/first_run.json.

What a newcomer meets: a fresh clone of this commit, ``make install`` (its own virtual
environment; torch and the rest from the package index, or pip's cache), then a cold
``aural analyze`` of the real-music set with default settings and no server running, with a
fresh ``PREFECT_HOME`` (as on a machine that never ran Prefect; the install step prepares it).
Records the install's and the run's wall seconds, the run's real-time factor and the load.

--smoke: no clone or install; the cold run with this environment on a two-file demo corpus.

Usage: .venv/bin/python benchmarks/bench_first_run.py [--tracks DIR] [--smoke]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from bench_analyze import audio_seconds  # noqa: E402
from provenance import SMOKE_HELP, tiny_corpus, write_results  # noqa: E402


def run(cmd: list[str], *, cwd: Path, env: dict) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return round(time.perf_counter() - start, 2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tracks", type=Path, default=Path("/tmp/realmusic/tracks"))
    ap.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="aural-first-run-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "VIRTUAL_ENV"))}
    env.update(PREFECT_HOME=str(work / "prefect-home"), COLUMNS="200")
    if args.smoke:
        clone, install_s = ROOT, None
        folder = tiny_corpus(work / "demo", n_inputs=2, n_eval=0) / "inputs"
        if os.environ.get("PREFECT_API_URL"):
            env["PREFECT_API_URL"] = os.environ["PREFECT_API_URL"]  # the smoke test's server
    else:
        clone = work / "clone"
        run(["git", "clone", "-q", str(ROOT), str(clone)], cwd=work, env=env)
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        run(["git", "checkout", "-q", commit], cwd=clone, env=env)
        install_s = run(["make", "install"], cwd=clone, env=env)
        folder = args.tracks
    audio = audio_seconds(folder)
    load = os.getloadavg()[0]
    aural = clone / ".venv" / "bin" / "aural"
    cold_s = run([str(aural), "analyze", "--in", str(folder), "--out", str(work / "cache"), "--quiet"],
                 cwd=work, env=env)
    result = {"corpus": str(folder), "audio_seconds": round(audio, 1), "make_install_seconds": install_s,
              "cold_analyze_seconds": cold_s, "realtime_factor": round(audio / cold_s, 1),
              "load_before_run": round(load, 2), "target_realtime_factor": 120,
              "passed": audio / cold_s >= 120}
    path = write_results("first_run.json", result, smoke=args.smoke)
    print(result, f"-> {path}")


if __name__ == "__main__":
    main()
