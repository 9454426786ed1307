"""Make a command's temporary Prefect server hold its task runs' records before it stops.

Prefect 3 records the task runs of a flow from the events the client streams: the server's
task run recorder service writes them to its database in the background, behind the flow.
A temporary server stopped as soon as the flow returns loses the records still queued (a
cached 2,000-file analysis had 415 of 2,000 recorded). So the command notes, as it sends them,
the last state of each of its task runs (``TaskRunTally``), and before stopping its server
waits until the server holds every finished one in a terminal state (``wait_until_recorded``),
within a time limit that grows with the number of task runs. The server records in batches
(runtime/local_server.py ``RECORDER_SETTINGS``), so the wait is short.
"""

from __future__ import annotations

import sys
import threading
import time

from prefect.events.worker import EventsWorker, should_emit_events

TERMINAL = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")


class TaskRunTally:
    """The last state type the client sent for each task run it orchestrates."""

    def __init__(self):
        self._last: dict[str, str] = {}
        self._lock = threading.Lock()

    def note(self, event) -> None:
        if not event.event.startswith("prefect.task-run.") or event.resource.get("prefect.orchestration") != "client":
            return
        state = (event.payload.get("validated_state") or {}).get("type")
        task_run = event.resource.prefect_object_id("prefect.task-run")
        with self._lock:
            self._last[str(task_run)] = str(state)

    def finished(self) -> list[str]:
        """Task runs whose last state sent was terminal (those the server must end up holding)."""
        with self._lock:
            return sorted(run for run, state in self._last.items() if state in TERMINAL)


def start_tally() -> TaskRunTally:
    """Note every event this process hands to Prefect's events worker from now on (call it
    before any flow runs, with ``PREFECT_API_URL`` set). Prefect sends events only through a
    client of one of its own classes, so the worker's ``send`` is wrapped, not its client."""
    tally = TaskRunTally()
    if not should_emit_events():
        return tally
    worker = EventsWorker.instance()
    send = worker.send

    def send_noting(event):
        tally.note(event)
        return send(event)

    worker.send = send_noting
    return tally


def count_recorded(api_url: str, task_runs: list[str], *, chunk: int = 1000) -> int:
    """How many of ``task_runs`` the server holds in a terminal state."""
    import httpx

    total = 0
    with httpx.Client(base_url=api_url.rstrip("/"), timeout=30) as client:
        for i in range(0, len(task_runs), chunk):
            body = {"task_runs": {"id": {"any_": task_runs[i:i + chunk]}, "state": {"type": {"any_": list(TERMINAL)}}}}
            response = client.post("/task_runs/count", json=body)
            response.raise_for_status()
            total += int(response.json())
    return total


def wait_until_recorded(api_url: str, tally: TaskRunTally, *, base_s: float = 10.0, per_run_s: float = 0.05,
                        poll_s: float = 0.5) -> int:
    """Wait until the server holds every finished task run of ``tally`` in a terminal state,
    at most ``base_s + per_run_s`` per task run; returns how many it does not (and says so)."""
    task_runs = tally.finished()
    if not task_runs:
        return 0
    deadline = time.monotonic() + base_s + per_run_s * len(task_runs)
    recorded, problem = 0, ""
    while True:
        try:
            recorded = count_recorded(api_url, task_runs)
        except Exception as exc:  # the server went away: nothing more will be recorded
            problem = f" ({type(exc).__name__}: {exc})"
            break
        if recorded >= len(task_runs) or time.monotonic() >= deadline:
            break
        time.sleep(poll_s)
    missing = len(task_runs) - recorded
    if missing:
        print(f"warning: {missing} of {len(task_runs)} task runs were not recorded by the temporary Prefect server "
              f"before it stopped{problem}: the Prefect UI lacks them", file=sys.stderr)
    return missing
