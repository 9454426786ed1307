"""A command's temporary Prefect server holds every task run of the command, in its final
state, when it stops (issue 13, item 7): Prefect records task runs from events in the
background, and records still queued when the server stops are lost. Checked afterwards by a
real server started on the same PREFECT_HOME (the same database)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.prefect_server import PrefectServer

ROOT = Path(__file__).resolve().parents[2]

# Many quick tasks in one flow, run as `aural` runs a command: inside cli.prefect_session.prefect_api.
MANY_TASKS = """
import sys
from prefect import flow, task
from cli.prefect_session import prefect_api

@task
def square(i: int) -> int:
    return i * i

@flow
def many(n: int) -> int:
    return sum(f.result() for f in [square.submit(i) for i in range(n)])

if __name__ == "__main__":
    if len(sys.argv) > 2:  # a task runner by name, as `aural --task-runner` picks one
        from runtime.runners import make_runner
        many = many.with_options(task_runner=make_runner(sys.argv[2], 2))
    with prefect_api():
        print(many(int(sys.argv[1])))
"""


def run_many(home: Path, n: int, runner: str | None = None, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    script = home.parent / "many_tasks.py"  # a file: worker processes re-import the main module
    script.write_text(MANY_TASKS)
    args = [sys.executable, str(script), str(n), *([runner] if runner else [])]
    environment = {**base, "PYTHONPATH": str(ROOT), "PREFECT_HOME": str(home), "PREFECT_LOGGING_LEVEL": "WARNING",
                   "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "300", **env}
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=500, env=environment)


def task_runs_by_state(home: Path) -> dict[str, int]:
    """{state type: count} of every task run in the database of ``home``."""
    server = PrefectServer(home).start()
    try:
        counts = {}
        for state in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED", "RUNNING", "PENDING", "SCHEDULED"):
            body = json.dumps({"task_runs": {"state": {"type": {"any_": [state]}}}}).encode()
            req = urllib.request.Request(f"{server.url}/task_runs/count", data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=60) as response:
                counts[state] = json.loads(response.read())
        return {state: n for state, n in counts.items() if n}
    finally:
        server.stop()


@pytest.mark.timeout(900)
def test_every_task_run_is_recorded_before_the_server_stops(tmp_path):
    n = 300  # quick tasks: ~900 events in a few seconds, far ahead of a per-event recorder
    done = run_many(tmp_path / "home", n)
    assert done.returncode == 0 and done.stdout.split() == [str(sum(i * i for i in range(n)))], done.stderr
    assert "not recorded" not in done.stderr, done.stderr
    assert task_runs_by_state(tmp_path / "home") == {"COMPLETED": n}


@pytest.mark.timeout(600)
def test_task_runs_of_worker_processes_are_recorded_too(tmp_path):
    """With the process-pool runner, worker processes' events reach the server through a
    forwarding thread of the command: those task runs are waited for as well, and that thread
    uses the command's server instead of starting a temporary server of its own."""
    n = 40
    done = run_many(tmp_path / "home", n, "processes", PREFECT_LOGGING_LEVEL="INFO")
    assert done.returncode == 0 and done.stdout.split() == [str(sum(i * i for i in range(n)))], done.stderr
    assert "not recorded" not in done.stderr, done.stderr
    assert "Starting temporary server" not in done.stderr, done.stderr
    assert task_runs_by_state(tmp_path / "home") == {"COMPLETED": n}


@pytest.mark.timeout(600)
def test_records_the_server_never_got_are_named(tmp_path):
    """With the server's task run recorder off, the command waits its bounded time, then says
    how many task runs the server does not hold."""
    done = run_many(tmp_path / "home", 20, PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_ENABLED="false")
    assert done.returncode == 0, done.stderr
    warning = [line for line in done.stderr.splitlines() if "not recorded" in line]
    assert warning == ["warning: 20 of 20 task runs were not recorded by the temporary Prefect server before it "
                       "stopped: the Prefect UI lacks them"], done.stderr
