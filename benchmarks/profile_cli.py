"""Where a cold ``aural analyze`` spends its time: the real CLI in this process, timed by phase.

Runs ``cli.main.main(["analyze", ...])`` (default settings; its own temporary server unless
``PREFECT_API_URL`` is set) with timers wrapped around the functions it calls, and prints a JSON
breakdown (``bench_analyze.py`` stores it in analyze.json):

- per run, wall seconds on the command's main thread: imports, server start (spawn to ready,
  and what overlaps it), the analyze flow (listing and hashing, durations, the inner flow, the
  manifest and artifacts), the wait for the server to record the task runs, the server's stop,
  the summary table;
- per file, summed over files (seconds of work, on whichever worker ran it): reading and
  checking the bytes, decoding, feature extraction, building and writing the Parquet, the
  integrity record, and the Prefect task run around them (task wall minus its body: engine,
  cache lookup, result persistence, events).

With ``--task-runner processes`` the per-file figures come from the worker processes (each
writes its timings to a file). Usage:

    .venv/bin/python benchmarks/profile_cli.py IN_DIR CACHE_DIR [--task-runner threads|processes] [--workers N]
"""

from __future__ import annotations

import time

START = time.perf_counter()

import argparse  # noqa: E402
import collections  # noqa: E402
import functools  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
if "PYTHONPATH" not in os.environ:  # with it, the checkout being measured comes first
    sys.path.insert(1, str(ROOT))
PHASES: dict[str, float] = collections.defaultdict(float)
PER_FILE: dict[str, float] = collections.defaultdict(float)
EVENTS: dict[str, float] = {}


def timed(table: dict, name: str, fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            table[name] += time.perf_counter() - started  # (a profile: a rare lost update is noise)
    return wrapper


def patch(obj, attr: str, table: dict, name: str) -> None:
    setattr(obj, attr, timed(table, name, getattr(obj, attr)))


def patch_all(table: dict, rows: list[tuple]) -> None:
    """``patch`` each (object, attribute, phase name) of ``rows`` into ``table``."""
    for obj, attr, name in rows:
        patch(obj, attr, table, name)


def patch_per_file() -> None:
    """Wrap the per-file stages (in this process, or in a worker process when it starts)."""
    import aural_core.features as features
    import tasks.analyze as analyze_task

    patch_all(PER_FILE, [(analyze_task, "read_listed", "read_and_check_bytes"), (features, "load_audio", "decode"),
                         (features, "analyze_signal", "extract_features"),
                         (analyze_task, "frames_table", "parquet_table"),
                         (analyze_task, "write_frames", "parquet_write"),
                         (analyze_task, "record_checksum", "integrity_record")])
    task = analyze_task.extract_frames
    task.fn = timed(PER_FILE, "task_body", task.fn)
    import prefect.task_engine as engine

    patch(engine, "run_task_sync", PER_FILE, "task_run_total")


def dump_worker_timings() -> None:
    """Worker processes: append this process's per-file timings to $AURAL_PROFILE_DIR at exit."""
    import atexit

    folder = os.environ["AURAL_PROFILE_DIR"]

    def write():
        Path(folder, f"worker-{os.getpid()}.json").write_text(json.dumps(PER_FILE))
    atexit.register(write)


def worker_initializer(*args) -> None:
    from runtime.workers import worker_process_setup

    worker_process_setup(*args)
    patch_per_file()
    dump_worker_timings()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("input", nargs="?")
    ap.add_argument("cache", nargs="?")
    ap.add_argument("--task-runner", default=None)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--smoke", action="store_true", help="a two-file demo corpus into a temporary cache")
    args = ap.parse_args()
    if args.smoke:
        import tempfile

        sys.path.insert(0, str(Path(__file__).parent))
        from provenance import tiny_corpus

        work = Path(tempfile.mkdtemp(prefix="profile-cli-smoke-"))
        args.input, args.cache = str(tiny_corpus(work / "demo", n_inputs=2, n_eval=0) / "inputs"), str(work / "cache")
    elif not (args.input and args.cache):
        ap.error("IN_DIR and CACHE_DIR are needed (or --smoke)")

    try:
        import cli.main as cli
    except ModuleNotFoundError as exc:  # a checkout from before the cli/ package (flows/cli.py)
        sys.exit(f"profile_cli needs a checkout with the cli/ and runtime/ packages: {exc}")
    PHASES["imports_cli"] = time.perf_counter() - START
    import cli.console as console
    import cli.pipeline_cmds as pipeline_cmds
    import cli.prefect_session as prefect_session
    import cli.preflight as preflight
    import runtime.local_server as local_server
    import runtime.prefect_offline as prefect_offline

    server = local_server.LocalServer
    patch_all(PHASES, [(server, "spawn", "server_spawn"), (server, "wait_ready", "server_wait_ready"),
                       (server, "stop", "server_stop"), (preflight, "check", "preflight"),
                       (console, "_quiet_tracebacks", "logging_setup_and_prefect_import"),
                       (prefect_offline, "drain", "drain_logs_and_events"),
                       (prefect_session, "_wait_for_task_run_records", "wait_task_runs_recorded"),
                       (pipeline_cmds, "print_files_table", "summary_table")])
    import importlib

    real_import = importlib.import_module
    cli.importlib = type(sys)("importlib_timed")
    cli.importlib.import_module = timed(PHASES, "import_flow_modules", real_import)
    import flows.analyze as analyze_flow_module

    patch(analyze_flow_module, "list_inputs", PHASES, "list_and_hash_inputs")
    patch(analyze_flow_module, "_duration", PHASES, "read_durations")
    patch(analyze_flow_module, "_run_tasks", PHASES, "inner_tasks_submit_to_last_done")
    patch(analyze_flow_module, "write_manifest", PHASES, "write_manifest")
    patch(analyze_flow_module.RunSummary, "publish", PHASES, "publish_artifacts")
    patch(analyze_flow_module, "analyze_flow", PHASES, "outer_flow_total")
    patch(analyze_flow_module, "run_with_runner", PHASES, "inner_flow_total")  # flows/summary.py's, as analyze calls it
    argv = ["analyze", "--in", args.input, "--out", args.cache, "--quiet"]
    if args.task_runner:
        argv += ["--task-runner", args.task_runner]
    if args.workers:
        argv += ["--workers", str(args.workers)]
    runner = args.task_runner or _default_runner(cli, args.input, args.cache)
    if runner == "processes":
        import tempfile

        os.environ["AURAL_PROFILE_DIR"] = tempfile.mkdtemp(prefix="aural-profile-")
        sys.path.insert(0, str(Path(__file__).parent))
        from profile_cli import worker_initializer as by_name  # pickled by reference, not by value

        import runtime.runners as runners

        runners.worker_process_setup = by_name  # the pool's initializer in each worker
    else:
        patch_per_file()
    started = time.perf_counter()
    code = cli.main(argv)
    PHASES["cli_main_total"] = time.perf_counter() - started
    PHASES["process_total"] = time.perf_counter() - START
    if code != 0:
        sys.exit(f"aural analyze exited {code}")
    folder = os.environ.get("AURAL_PROFILE_DIR")
    if folder:
        for f in Path(folder).glob("worker-*.json"):
            for k, v in json.loads(f.read_text()).items():
                PER_FILE[k] += v
    per_file = dict(PER_FILE)
    if "task_run_total" in per_file and "task_body" in per_file:  # (a body pickled to a worker goes untimed)
        per_file["prefect_task_run_around_body"] = per_file["task_run_total"] - per_file.get("task_body", 0.0)
    print(json.dumps({"phases_wall_s": {k: round(v, 2) for k, v in PHASES.items()},
                      "per_file_summed_s": {k: round(v, 2) for k, v in per_file.items()}}, indent=2))


def _default_runner(cli, folder: str, cache: str) -> str:
    """The runner ``aural analyze`` picks by default for this folder and cache."""
    from flows.analyze import _audio_to_analyse
    from runtime.runners import auto_runner

    kind = cli.build_parser().parse_args(["analyze"]).task_runner
    return auto_runner(_audio_to_analyse(folder, cache, None, None)) if kind == "auto" else kind


if __name__ == "__main__":
    main()
