"""Which Prefect API a command uses: the configured one (``PREFECT_API_URL``), the server
``aural server start`` left running in this folder (runtime/background_server.py), or a
temporary server of its own, a child that dies with it (runtime/local_server.py). Whichever it
is, the command goes on without it when it stops answering (runtime/prefect_offline.py), and a
temporary server is stopped only once it holds every task run (runtime/task_run_records.py).
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

from runtime.automations import HEARTBEAT_SECONDS

from .preflight import check_writable

RERUN = "re-run the command to record them (the cached work is reused)"


def prefect_defaults() -> None:
    """Quiet, local-friendly Prefect defaults; the user's own settings win."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # Flow and task runs send their INFO lines (folders, counts, decisions) to the server, where
    # the UI shows them with each run; the console shows warnings and up (the command prints
    # its own progress and summary).
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO")
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    # The heartbeat every aural flow run sends (runtime/automations.py: silent runs are Crashed).
    os.environ.setdefault("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", str(HEARTBEAT_SECONDS))


@contextlib.contextmanager
def prefect_api(prepare=None, announce=False, while_starting=None):
    """A Prefect API for the command: the configured one, the server ``aural server start`` left
    running in this folder (named on stderr when ``announce``), or a temporary server of its own.

    ``prepare`` (e.g. importing the flow's modules) runs while that server starts;
    ``while_starting`` only then (work that is free beside a starting server, a cost otherwise).
    """
    from prefect.settings import PREFECT_API_URL, PREFECT_HOME

    from runtime.prefect_offline import carry_on_without

    if PREFECT_API_URL.value():
        if prepare:
            prepare()
        with carry_on_without(PREFECT_API_URL.value(), restart=f"start it again (PREFECT_API_URL) and {RERUN}"):
            yield None
        return
    from runtime.background_server import running_server

    # PREFECT_HOME stays the user's: the cache records every cached task reads and writes live
    # beside the data (CacheLayout.prefect_results), whichever server records the runs.
    running = running_server()
    if running:
        if announce:
            print(f"aural: using the Prefect server at {running.ui_url} (`aural server stop` stops it)",
                  file=sys.stderr)
        if prepare:
            prepare()
        with _api_at(running.api_url, restart=f"start it again with `aural server start` and {RERUN}"):
            yield running
        return
    from runtime.local_server import LocalServer, ServerStartError

    home = Path(PREFECT_HOME.value())
    problem = check_writable(home)
    if problem:
        raise ServerStartError(f"PREFECT_HOME: {problem}")
    timeout = float(os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90"))
    server = LocalServer(home, timeout=timeout)
    try:
        server.spawn()
        if prepare:
            prepare()
        if while_starting:
            while_starting()
        server.wait_ready()
        with _api_at(server.api_url, wait_for_records=True,
                     restart=f"it was this command's own temporary server (its log: {server.log}): {RERUN}"):
            yield server
    finally:
        server.stop()


@contextlib.contextmanager
def _api_at(url: str, *, wait_for_records: bool = False, restart: str = ""):
    """The command's flows (and any process they start) talk to ``url``, and go on without it
    if it stops answering (runtime/prefect_offline.py; ``restart`` says how to bring it back).
    With ``wait_for_records`` (a temporary server, stopped right after), the command also waits
    until the server has recorded every task run it sent (runtime/task_run_records.py)."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from runtime.prefect_offline import carry_on_without

    os.environ["PREFECT_API_URL"] = url
    watch = None
    try:
        with temporary_settings(updates={PREFECT_API_URL: url}):
            tally = _start_task_run_tally() if wait_for_records else None
            try:
                with carry_on_without(url, restart=restart) as watch:  # drains Prefect's queues on exit
                    yield
            finally:
                if tally is not None and watch is not None and not watch.ever_lost:
                    _wait_for_task_run_records(url, tally)
    finally:
        os.environ.pop("PREFECT_API_URL", None)


def _start_task_run_tally():
    """Note the task runs this command sends to its temporary server (runtime/task_run_records.py)."""
    from runtime.task_run_records import start_tally

    return start_tally()


def _wait_for_task_run_records(api_url: str, tally) -> None:
    """The server records task runs from events in the background: let it finish before it
    stops (called in a ``finally``; not after Ctrl-C or SIGTERM, when the user wants out)."""
    stopping = sys.exc_info()[0]
    if stopping is not None and not issubclass(stopping, Exception):
        return
    from runtime.task_run_records import wait_until_recorded

    wait_until_recorded(api_url, tally)
