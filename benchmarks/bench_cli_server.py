"""Cached re-runs of ``aural analyze`` on a running server -> benchmarks/results/scale.json
(key ``cli_cached_rerun``; other scripts write the file's other keys).

1. ``aural server start`` in a fresh work folder (its ``.prefect/``), then a cold analyze.
2. N cached re-runs with that server running (the CLI picks it up from ``.prefect/``).
3. ``aural server stop``, then N cached re-runs that each start a temporary server.
Every re-run must report every file cached. Target: a re-run on the running server takes at
most 3 s + 30 ms per file (median of the N). The load average is recorded with the figures
(the machine is shared, and wall times grow with it), and so is the CPU time of each command.

Usage: bench_cli_server.py [AUDIO_FOLDER] [--reruns N]; the folder defaults to the real
recordings of benchmarks/realmusic/fetch.sh (/tmp/realmusic/tracks) when present, else the
demo corpus (``aural demo``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KEY = "cli_cached_rerun"
REAL_MUSIC = Path("/tmp/realmusic/tracks")
# After the cold run: the server still records its events, and the load average (a 1-minute
# mean) still counts its work; the re-runs measure themselves, not that tail.
SETTLE_SECONDS = 30


def aural(*args: str, cwd: Path, env: dict, timeout: float = 900) -> tuple[float, str]:
    """Run ``aural ARGS`` in ``cwd``; its wall seconds and output, stdout then stderr (where the
    summary table goes), exits on failure. Its CPU seconds are added to CPU_SECONDS."""
    cpu = _children_cpu()
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "cli.main", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)
    wall = time.perf_counter() - start
    CPU_SECONDS.append(_children_cpu() - cpu)
    if proc.returncode != 0:
        sys.exit(f"aural {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return wall, proc.stdout + proc.stderr


CPU_SECONDS: list[float] = []


def _children_cpu() -> float:
    """User + system CPU seconds of the finished child processes (the command itself, not the
    server it talks to): less sensitive than wall time to what else runs on the machine."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def counts(stdout: str) -> dict[str, int]:
    """The "computed N | cached N | failed N" line of ``aural analyze``."""
    found = re.search(r"computed (\d+) \| cached (\d+) \| failed (\d+)", stdout)
    if not found:
        sys.exit(f"no summary line in the output of aural analyze:\n{stdout[-2000:]}")
    return dict(zip(("computed", "cached", "failed"), map(int, found.groups()), strict=True))


def reruns(n: int, analyze: list[str], cwd: Path, env: dict, files: int) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of ``n`` re-runs, each of which must find every file cached."""
    walls, cpus = [], []
    for _ in range(n):
        wall, out = aural(*analyze, cwd=cwd, env=env)
        if counts(out) != {"computed": 0, "cached": files, "failed": 0}:
            sys.exit(f"a re-run was not fully cached: {counts(out)}")
        walls.append(round(wall, 2))
        cpus.append(round(CPU_SECONDS[-1], 2))
    return walls, cpus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=None)
    parser.add_argument("--reruns", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="demo corpus, one re-run each; results under "
                        "$AURAL_BENCH_RESULTS")
    args = parser.parse_args()
    sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]
    from provenance import tiny_corpus, write_results

    if args.smoke:
        args.reruns = 1
    work = Path(tempfile.mkdtemp(prefix="aural-bench-server-"))
    # The temporary servers get a PREFECT_HOME of their own; the running one lives in work/.prefect.
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update(PYTHONPATH=str(ROOT), PREFECT_HOME=str(work / "prefect-home"), COLUMNS="200")
    folder = args.folder or (REAL_MUSIC if REAL_MUSIC.is_dir() and not args.smoke else None)
    if args.smoke:
        folder = tiny_corpus(work / "tiny", n_inputs=2, n_eval=0) / "inputs"
    if folder is None:
        aural("demo", "--out", str(work / "data"), cwd=work, env=env)
        folder = work / "data" / "inputs"
    analyze = ["analyze", "--in", str(folder), "--out", str(work / "cache"), "--quiet"]

    from runtime.local_server import free_port

    port = free_port()
    server_start, _ = aural("server", "start", "--port", str(port), cwd=work, env=env)
    try:
        cold, out = aural(*analyze, cwd=work, env=env)
        files = counts(out)["computed"] + counts(out)["cached"]
        time.sleep(0 if args.smoke else SETTLE_SECONDS)
        load = [os.getloadavg()[0]]
        running, running_cpu = reruns(args.reruns, analyze, work, env, files)
    finally:
        aural("server", "stop", cwd=work, env=env)
    temporary, temporary_cpu = reruns(args.reruns, analyze, work, env, files)
    load.append(os.getloadavg()[0])
    target = round(3.0 + 0.03 * files, 2)
    median = statistics.median(running)
    entry = {
        "machine": f"{os.cpu_count()} cores (shared)", "load_average_before_after": [round(x, 1) for x in load],
        "corpus": str(folder), "files": files,
        "server_start_seconds": round(server_start, 2), "cold_seconds": round(cold, 2),
        "running_server_rerun_seconds": running, "running_server_median_seconds": median,
        "running_server_rerun_cpu_seconds": running_cpu,
        "temporary_server_rerun_seconds": temporary, "temporary_server_median_seconds": statistics.median(temporary),
        "temporary_server_rerun_cpu_seconds": temporary_cpu,
        "target_seconds": target, "passed": median <= target,
    }
    write_results("scale.json", entry, key=KEY, smoke=args.smoke)
    print(json.dumps(entry, indent=2))


if __name__ == "__main__":
    main()
