"""Prefect's own log lines stay off the command's console.

A command's console is its own: progress, the summary table, one line per problem. Prefect
logs its own doings there too ("Unable to connect to 'ws://...'", "Service 'EventsWorker'
failed to process item Event(...)" with the whole event, "Still processing items") and, from
its queue services, under loggers named after their classes ("EventsWorker"). Those lines go
to the run's log on the server (Prefect's API handler still gets every record) and to the
console only with ``--debug``, which skips this module. The run loggers' warnings (our flows'
own, e.g. an adapter evaluated on its training files) stay; their errors are dropped by the
CLI's own filter (cli/console.py ``NoRunErrors``).

Worker processes of the process-pool runner write to the same console: the CLI leaves
``AURAL_QUIET_CONSOLE=1`` in the environment they inherit, and their initializer calls
``quiet_console_if_asked`` (runtime/workers.py).
"""

from __future__ import annotations

import logging
import os

RUN_LOGGERS = ("prefect.flow_runs", "prefect.task_runs")
ENV = "AURAL_QUIET_CONSOLE"


def _service_loggers() -> set[str]:
    """Names of the loggers of Prefect's queue services (``logging.getLogger(type(self).__name__)``)."""
    from prefect._internal.concurrency.services import _QueueServiceBase

    names, todo = set(), [_QueueServiceBase]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            names.add(sub.__name__)
            todo.append(sub)
    return names


class PrefectInternals(logging.Filter):
    """Drops the records of Prefect's own loggers (all but the run loggers)."""

    def __init__(self):
        super().__init__()
        self.services = _service_loggers()

    def filter(self, record: logging.LogRecord) -> bool:
        name = record.name
        if name.startswith(RUN_LOGGERS):
            return True
        return not (name == "prefect" or name.startswith("prefect.") or name in self.services)


def _console_handlers() -> list[logging.StreamHandler]:
    loggers = [logging.getLogger()] + [lg for lg in logging.Logger.manager.loggerDict.values()
                                       if isinstance(lg, logging.Logger)]
    return [h for lg in loggers for h in lg.handlers
            if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler)]


def quiet_console() -> None:
    """Filter Prefect's own lines out of every console handler of this process (Prefect's
    logging must be set up first), and ask worker processes started from here to do the same."""
    from prefect.logging.configuration import ensure_logging_setup

    ensure_logging_setup()
    internals = PrefectInternals()
    for handler in _console_handlers():
        if not any(isinstance(f, PrefectInternals) for f in handler.filters):
            handler.addFilter(internals)
    os.environ[ENV] = "1"


def quiet_console_if_asked() -> None:
    """``quiet_console`` in a worker process whose command asked for it."""
    if os.environ.get(ENV) == "1":
        quiet_console()
