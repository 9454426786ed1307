"""Prefect's own log lines stay off a command's console (runtime/console_hygiene.py): the filter
sits on Prefect's real console handlers, as its logging set-up makes them."""

from __future__ import annotations

import logging
import os

import pytest

from runtime.console_hygiene import ENV, PrefectInternals, _console_handlers, quiet_console

LINES = [  # logger, level, message: what the console showed when the server went away (issue 21)
    ("prefect.events.clients", logging.WARNING, "Unable to connect to 'ws://127.0.0.1:4200/api/events/in'"),
    ("prefect._internal.concurrency", logging.ERROR, "Service 'EventsWorker' failed to process item Event(...)"),
    ("EventsWorker", logging.WARNING, "Still processing items: 23 items remaining..."),
    ("prefect.aural.offline", logging.DEBUG, "event prefect.task-run.Completed (...) not sent"),
]
RUN_WARNING = ("prefect.flow_runs", logging.WARNING, "adapter evaluated on its own training files")


@pytest.fixture
def handlers(monkeypatch):
    """Prefect's console handlers without this filter (a command run in this process earlier
    may have added it), their filters restored after the test."""
    from prefect.logging.configuration import ensure_logging_setup

    monkeypatch.setenv(ENV, "0")  # restored after the test, which may set it
    ensure_logging_setup()
    found = _console_handlers()
    assert found, "Prefect set up no console handler"
    for handler in found:
        monkeypatch.setattr(handler, "filters", [f for f in handler.filters if not isinstance(f, PrefectInternals)])
    return found


def shown(handlers, name: str, level: int, message: str) -> bool:
    """Whether every console handler lets this record through its filters."""
    record = logging.getLogger(name).makeRecord(name, level, __file__, 0, message, (), None)
    return all(handler.filter(record) for handler in handlers)


def test_prefect_internals_leave_the_console_and_run_warnings_stay(handlers):
    assert all(shown(handlers, *line) for line in LINES)  # as with --debug
    quiet_console()
    assert not any(shown(handlers, *line) for line in LINES)
    assert shown(handlers, *RUN_WARNING)
    assert shown(handlers, "aural.anything", logging.WARNING, "a library of ours")


def test_worker_processes_are_asked_to_filter_too(handlers):
    quiet_console()
    assert os.environ[ENV] == "1"  # inherited by the process-pool workers, whose set-up reads it
    assert all(sum(isinstance(f, PrefectInternals) for f in h.filters) == 1 for h in handlers)
    quiet_console()  # twice: still one filter each
    assert all(sum(isinstance(f, PrefectInternals) for f in h.filters) == 1 for h in handlers)
