"""Soak: `aural analyze` on many short files, each run with the CLI's own temporary Prefect
server -> benchmarks/results/soak.json (issue 13, item 7).

Writes N deterministic 0.3-1 s WAVs (their content repeats every 600 files: 2,000 files are 600
distinct contents, so 600 frames files; every file is still its own task run), runs the CLI as a
subprocess twice (cold, then cached) without ``PREFECT_API_URL``, so each run starts and stops
its own server on one ``PREFECT_HOME``, and reports seconds per file (the server's start
included), the seconds from the summary to exit (waiting for the server to record the task
runs, then stopping it), the CLI's peak RSS (``wait4``) and the size of the SQLite database.
Then a server started on that ``PREFECT_HOME`` (tests/prefect_server.py) counts every task run
of the two flow runs by state: what the temporary servers recorded before they stopped, which
must be one task run per file per flow run, all in a terminal state (``all_recorded``).

Usage: .venv/bin/python benchmarks/bench_soak.py [--n-files 2000] [--out benchmarks/results/soak.json]
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
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]
from provenance import write_results  # noqa: E402

SR = 22050
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def write_inputs(folder: Path, n: int) -> float:
    import numpy as np
    import soundfile as sf

    folder.mkdir(parents=True, exist_ok=True)
    total = 0.0
    for i in range(n):
        seconds = 0.3 + 0.7 * ((i * 37) % 100) / 99  # 0.3-1.0 s, deterministic
        t = np.arange(int(seconds * SR)) / SR
        beat = np.exp(-((t % (60 / (80 + i % 60))) * 12.0))
        wave = 0.3 * beat * np.sin(2 * np.pi * (150 + (i * 13) % 600) * t)
        sf.write(folder / f"s{i:05d}.wav", wave.astype(np.float32), SR)
        total += seconds
    return total


def api(server, path: str, body: dict | None = None):
    data = json.dumps(body or {}).encode()
    req = urllib.request.Request(f"{server.url}{path}", data=data, headers={"Content-Type": "application/json"},
                                 method="POST")
    with urllib.request.urlopen(req, timeout=60) as response:
        return json.loads(response.read())


def run_cli(home: Path, inputs: Path, cache: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(home), PYTHONPATH=str(ROOT), COLUMNS="200",
               PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="300")
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "analyze", "--in", str(inputs), "--out",
                             str(cache), "--quiet"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, errors="replace")
    lines, summary_at = [], None
    for line in proc.stderr:
        lines.append(line)
        if line.startswith("computed ") and "| cached" in line:
            summary_at = time.perf_counter()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    end = time.perf_counter()
    stderr = "".join(lines)
    tail = [line.strip() for line in lines if line.strip()]
    return {"exit": proc.returncode, "seconds": round(end - start, 1),
            "summary_to_exit_s": round(end - summary_at, 1) if summary_at else None,
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1), "tracebacks": stderr.count("Traceback"),
            "summary_line": next((line for line in reversed(tail) if line.startswith("computed ")), ""),
            "warnings": [line for line in tail if line.startswith("warning:")]}


def task_run_counts(server) -> dict:
    """{flow run name: {state type: count}} for every flow run on the server."""
    flow_runs = api(server, "/flow_runs/filter", {"limit": 200, "sort": "EXPECTED_START_TIME_ASC"})
    # A subflow call is recorded as a task run of its parent flow run too: not a file's task.
    subflow_calls = [fr["parent_task_run_id"] for fr in flow_runs if fr.get("parent_task_run_id")]
    counts = {}
    for fr in flow_runs:
        by_state = {}
        for state in sorted(TERMINAL | {"RUNNING", "PENDING", "SCHEDULED", "PAUSED", "CANCELLING"}):
            n = api(server, "/task_runs/count", {"flow_runs": {"id": {"any_": [fr["id"]]}},
                                                  "task_runs": {"state": {"type": {"any_": [state]}}}})
            if subflow_calls:
                n -= api(server, "/task_runs/count", {"flow_runs": {"id": {"any_": [fr["id"]]}},
                                                       "task_runs": {"state": {"type": {"any_": [state]}},
                                                                     "id": {"any_": subflow_calls}}})
            if n:
                by_state[state] = n
        counts[f"{fr['name']} ({fr['state_type']})"] = by_state
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-files", type=int, default=2000)
    parser.add_argument("--out", default="soak.json", help="results file name (benchmarks/results/)")
    parser.add_argument("--smoke", action="store_true", help="3 files; results under $AURAL_BENCH_RESULTS")
    args = parser.parse_args()
    if args.smoke:
        args.n_files = 3

    from tests.prefect_server import PrefectServer

    work = Path(tempfile.mkdtemp(prefix="bench-soak-"))
    inputs, cache, home = work / "inputs", work / "cache", work / "prefect-home"
    audio_s = write_inputs(inputs, args.n_files)
    result = {"machine": f"{os.cpu_count()} cores (shared), {platform.python_version()}",
              "files": args.n_files, "audio_seconds": round(audio_s, 1), "server": "the CLI's temporary one",
              "runs": {}}
    for label in ("cold", "cached"):
        run = run_cli(home, inputs, cache)
        run["seconds_per_file"] = round(run["seconds"] / args.n_files, 4)
        result["runs"][label] = run
        print(label, run, flush=True)
    db = home / "prefect.db"
    result["prefect_db_mb"] = round(sum(p.stat().st_size for p in db.parent.glob("prefect.db*")) / 2**20, 1)
    server = PrefectServer(home).start()  # reads what the temporary servers recorded
    try:
        result["task_runs_recorded"] = task_run_counts(server)
    finally:
        server.stop()
    # Flow runs that ran tasks: the outer analyze run's tasks run in its inner analyze-files run.
    per_run = [c for c in result["task_runs_recorded"].values() if c]
    result["all_recorded"] = len(per_run) == 2 and all(
        sum(c.values()) == args.n_files and set(c) <= TERMINAL for c in per_run)
    write_results(args.out, result, smoke=args.smoke)
    print(json.dumps(result, indent=2))
    if not result["all_recorded"]:
        sys.exit("not every task run was recorded in a terminal state: see task_runs_recorded")


if __name__ == "__main__":
    main()
