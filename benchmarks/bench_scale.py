"""Scale-out benchmark -> benchmarks/results/scale.json, key "runners" (issue 11, item 6).

Cold analysis of the real-music set (default /tmp/realmusic/tracks, fetched by
benchmarks/realmusic/fetch.sh; without it, a 24-file demo corpus, and the result says so) with
1 and 2 workers for each task runner: threads, processes and Dask (a local cluster). Each run
is a fresh Python process, as `aural analyze` would be, with a fresh cache folder, against one
real `prefect server start` (tests/prefect_server.py); its time is the analyze flow's own
(worker start-up included; interpreter start and imports, the same for every runner, not).
The same cache is then analysed again: the cached run's seconds per file is the per-task
overhead of Prefect and the runner (worker start-up included). Each run also reports the CPU
seconds it and its workers used (CPU / wall = the cores it got) and the sum of the tasks' own
compute seconds.

Other programs may share the cores: the 1-minute load average before and after every run is
recorded, the configurations are interleaved, and the fastest of ``--repeats`` runs counts.
The results are merged into scale.json (read, replace "runners", write atomically): other
scripts write other keys of that file.

Usage: .venv/bin/python benchmarks/bench_scale.py [--tracks DIR] [--repeats 2] [--out scale.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]
from provenance import SMOKE_HELP, tiny_corpus, write_results  # noqa: E402

RUNNERS = ("threads", "processes", "dask")
WORKERS = (1, 2)
TARGET_SPEEDUP = 1.7


def child(kind: str, workers: int, inputs: str, cache: str) -> None:
    """One analysis in this process; prints as JSON its seconds, its outcome, the CPU seconds
    it and its (finished) worker processes used, and the tasks' own compute seconds."""
    from flows.analyze import analyze_flow

    start, cpu_start = time.perf_counter(), _cpu_seconds()
    result = analyze_flow(input_dir=inputs, cache_dir=cache, show_progress=False, task_runner=kind, workers=workers)
    seconds = time.perf_counter() - start
    compute = sum(f["result"].get("compute_seconds", 0.0) for f in result["files"] if f["status"] == "computed")
    print(json.dumps({"seconds": round(seconds, 2), "computed": len(result["computed"]),
                      "cached": len(result["cached"]), "failed": len(result["failed"]),
                      "cpu_seconds": round(_cpu_seconds() - cpu_start, 1), "task_compute_seconds": round(compute, 1)}))


def _cpu_seconds() -> float:
    """CPU time of this process and of its children that have ended (the workers)."""
    import resource

    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run_child(server, kind: str, workers: int, inputs: Path, cache: Path) -> dict:
    load_before = os.getloadavg()[0]
    env = {**server.env, "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "--child", kind, str(workers), str(inputs), str(cache)],
                          env=env, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{kind} x{workers} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    run = json.loads(proc.stdout.strip().splitlines()[-1])
    if run["failed"]:
        sys.exit(f"{kind} x{workers}: {run['failed']} file(s) failed")
    return {**run, "process_seconds": round(wall, 2), "load_before": round(load_before, 2),
            "load_after": round(os.getloadavg()[0], 2)}


def corpus(tracks: Path, work: Path) -> tuple[Path, str]:
    """The real-music set, or (when missing) the 24-file demo corpus."""
    if tracks.is_dir():
        return tracks, f"real-music set ({tracks})"
    from demo_corpus import write_corpus

    write_corpus(work / "demo", n_inputs=24, n_eval=0, seed=0)
    return work / "demo" / "inputs", f"24-file demo corpus ({tracks} missing: see benchmarks/realmusic/fetch.sh)"


def main() -> None:
    if len(sys.argv) == 6 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", default="/tmp/realmusic/tracks")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", default="scale.json", help="results file name (benchmarks/results/)")
    parser.add_argument("--smoke", action="store_true", help=SMOKE_HELP + "; one worker, one repeat")
    args = parser.parse_args()
    workers_tried = (1,) if args.smoke else WORKERS
    if args.smoke:
        args.repeats = 1

    import soundfile as sf

    from storage.manifest import list_inputs
    from tests.prefect_server import PrefectServer

    work = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    if args.smoke:
        inputs, described = tiny_corpus(work / "tiny", n_inputs=2, n_eval=0) / "inputs", "demo corpus (smoke)"
    else:
        inputs, described = corpus(Path(args.tracks), work)
    files = [f for f in list_inputs(inputs) if f.file_id]
    audio_s = sum(sf.info(str(f.path)).duration for f in files)
    server = PrefectServer(work / "prefect-home").start()
    runs: dict[str, list[dict]] = {}
    try:
        if not args.smoke:
            run_child(server, "threads", 1, inputs, work / "warm-up")  # numba caches, OS file cache
        for rep in range(args.repeats):
            for kind in RUNNERS:
                for workers in workers_tried:
                    cache = work / f"cache-{kind}-{workers}-{rep}"
                    cold = run_child(server, kind, workers, inputs, cache)
                    cached = run_child(server, kind, workers, inputs, cache)
                    if cold["computed"] != len(files) or cached["cached"] != len(files):
                        sys.exit(f"{kind} x{workers}: expected {len(files)} computed then cached: {cold}, {cached}")
                    runs.setdefault(f"{kind}-{workers}", []).append({"cold": cold, "cached": cached})
                    print(f"{kind} x{workers} #{rep}: cold {cold['seconds']} s (load {cold['load_before']}), "
                          f"cached {cached['seconds']} s", flush=True)
    finally:
        server.stop()
    result = summarise(runs, len(files), audio_s, described, workers_tried)
    write_results(args.out, result, key="runners", smoke=args.smoke)
    print(json.dumps(result, indent=2))


def summarise(runs: dict[str, list[dict]], n_files: int, audio_s: float, described: str,
              workers_tried: tuple[int, ...] = WORKERS) -> dict:
    """Per runner: the fastest cold run of each worker count (with the CPU it used: its cores
    in use = CPU / wall), the speed-up, and the cached runs' seconds per file."""
    def fastest(name: str, phase: str) -> dict:
        return min((r[phase] for r in runs[name]), key=lambda run: run["seconds"])

    per_runner = {}
    for kind in RUNNERS:
        cold = {w: fastest(f"{kind}-{w}", "cold") for w in workers_tried}
        cached = {w: fastest(f"{kind}-{w}", "cached") for w in workers_tried}
        per_runner[kind] = {
            "cold_seconds": {w: cold[w]["seconds"] for w in workers_tried},
            "speedup_2_vs_1": round(cold[1]["seconds"] / cold[2]["seconds"], 2) if 2 in cold else None,
            "cores_in_use": {w: round(cold[w]["cpu_seconds"] / cold[w]["seconds"], 2) for w in workers_tried},
            "task_compute_seconds": {w: cold[w]["task_compute_seconds"] for w in workers_tried},
            "load_average_before": {w: cold[w]["load_before"] for w in workers_tried},
            "realtime_factor_2_workers": round(audio_s / cold[2]["seconds"], 1) if 2 in cold else None,
            "cached_seconds": {w: cached[w]["seconds"] for w in workers_tried},
            "cached_ms_per_file": {w: round(1000 * cached[w]["seconds"] / n_files, 1) for w in workers_tried},
        }
    most = max(workers_tried)
    best_kind = min(per_runner, key=lambda k: per_runner[k]["cold_seconds"][most])  # the fastest with the most workers
    loads = [run[k] for rs in runs.values() for r in rs for run in r.values() for k in ("load_before", "load_after")]
    return {
        "machine": f"{os.cpu_count()} cores (shared with other jobs), Python {platform.python_version()}",
        "corpus": described, "files": n_files, "audio_seconds": round(audio_s, 1),
        "method": "analyze flow seconds in a fresh process per run, fresh cache per cold run; fastest of "
                    f"{len(next(iter(runs.values())))} interleaved repeats; cached = the same cache again",
        "runners": per_runner,
        "best_runner": best_kind, "target_speedup": TARGET_SPEEDUP,
        "passed": (per_runner[best_kind]["speedup_2_vs_1"] or 0) >= TARGET_SPEEDUP,
        "load_average_1min": {"min": min(loads), "max": max(loads)},
        "runs": runs,
    }


if __name__ == "__main__":
    main()
