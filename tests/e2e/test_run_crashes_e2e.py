"""End to end, after the pipeline and retrain steps (issue 21, item 3): a deployment run whose
process dies reads Crashed in bounded time and is retried once by the automation of
runtime/automations.py, the retry reusing every file the dead run finished; and a Postgres
restart under a run leaves no run Running for good.

Each step analyses a folder of its own (``analyze/analyze`` with ``input_dir``), long enough to
be killed midway; processes are killed by pid, SIGKILL.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import urllib.request

import pytest

from ..reliability.cli_runs import write_clips
from .topology import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

ANALYZE = "analyze/analyze"
N_CLIPS, CLIP_SECONDS = 8, 40.0
CRASHED_WITHIN_S = 90.0  # the target


def _start_analysis(topology, folder: str, first: int):
    """A run of the analyze deployment on ``data/<folder>`` (clips numbered from ``first``:
    music no other step analysed), once it is Running and has written its first frames; (run
    id, the frames written by then)."""
    inputs = write_clips(topology.home / "data" / folder, N_CLIPS, first=first, seconds=CLIP_SECONDS)
    frames = topology.home / "data" / "cache" / "frames"
    before = set(frames.glob("*.parquet")) if frames.is_dir() else set()
    run_id = topology.start_run(ANALYZE, {"input_dir": f"data/{folder}"})

    def first_frames():
        new = set(frames.glob("*.parquet")) - before if frames.is_dir() else set()
        with topology.client() as client:
            state = client.read_flow_run(run_id).state
        assert not state.is_final(), f"the run ended ({state.name}) before it could be broken"
        return new if new and state.is_running() else None

    written = wait_for(first_frames, 300, f"the first frames of {inputs}", every=0.2)
    return run_id, written


def _inner_tables(topology, run_id, folder: str) -> list[dict]:
    """{file: status} of each analyze-files run of ``run_id`` that finished, newest last."""
    tables = []
    for inner in sorted(topology.subflow_runs(run_id, "analyze-files"), key=lambda r: r.created):
        if inner.state.is_completed():
            rows = topology.table(f"analyze-{folder}-files", inner.id)
            tables.append({row["file"]: row["status"] for row in rows})
    return tables


def test_a_run_whose_worker_dies_is_crashed_then_retried_once(topology, capsys):
    """The worker and the flow run's process are killed: nobody reports the crash, the
    heartbeats stop, the zombie automation marks the run Crashed; the retry automation schedules
    it again and the restarted worker runs it, the finished files cached."""
    run_id, written = _start_analysis(topology, "crash-inputs", first=0)
    processes = topology.flow_run_processes(run_id)
    assert processes, "no process runs the flow run"
    topology.kill_worker()
    for pid in processes:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()

    def crashed():
        with topology.client() as client:
            run = client.read_flow_run(run_id)
        return run if run.state.is_crashed() or "Crashed" in topology.states(run_id) else None

    wait_for(crashed, CRASHED_WITHIN_S + 30, "the run to read Crashed", every=1)
    took = time.monotonic() - killed
    assert took <= CRASHED_WITHIN_S, f"Crashed {took:.0f} s after the kill"

    topology.start_worker()  # as a supervisor (systemd, compose) restarts a dead worker
    run = topology.wait(run_id, timeout=600)
    assert run.state.is_completed(), f"{run.state.name}: {run.state.message} (worker log: {topology.worker_log})"
    assert run.run_count == 2
    states = topology.states(run_id)
    assert states.index("Crashed") < states.index("AwaitingRetry") < len(states) - 1, states
    assert states.count("Crashed") == 1, states
    table = _inner_tables(topology, run_id, "crash-inputs")[-1]
    assert set(table) == {f"clip{i}.wav" for i in range(N_CLIPS)}
    assert list(table.values()).count("cached") >= len(written), (table, written)
    with capsys.disabled():
        print(f"\ncrashed {took:.0f} s after the kill; the retry found {list(table.values()).count('cached')} "
              f"of {N_CLIPS} files cached")


def test_postgres_restarted_mid_run_leaves_no_run_running(topology, capsys):
    """Postgres stops as in a crash and comes back 10 s later while a run analyses: the server
    recovers and the run ends (Completed, or Crashed and then retried), as do its inner runs."""
    run_id, _ = _start_analysis(topology, "pg-inputs", first=N_CLIPS)
    topology.postgres.restart(down_seconds=10)
    run = topology.wait(run_id, timeout=600)
    with urllib.request.urlopen(f"{topology.server.url}/health", timeout=30) as response:
        assert response.status == 200
    assert run.state.name in ("Completed", "Crashed"), f"{run.state.name}: {run.state.message}"
    if run.state.is_crashed():  # then the retry automation runs it again

        def completed():
            with topology.client() as client:
                return client.read_flow_run(run_id).state.is_completed()

        wait_for(completed, 600, "the retried run to complete", every=5)
    inner = topology.subflow_runs(run_id)
    stuck = [(r.name, r.state.name) for r in inner if not r.state.is_final()]
    assert not stuck, f"runs left running after the Postgres restart: {stuck} ({topology.states(run_id)})"
    with capsys.disabled():
        print(f"\nafter the Postgres restart: {topology.states(run_id)}")

