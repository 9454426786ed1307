"""What a command shows on its console: every error as one line,
Prefect's tracebacks and run errors kept off (the command reports them itself).

Names and messages go through ``printable`` (``storage.names.display_name``, the one rule the
manifests, Parquet files and reports use: undecodable bytes as ``\\xNN``), so what the console
shows is what the outputs store.
"""

from __future__ import annotations

import logging

from runtime.console_hygiene import RUN_LOGGERS
from runtime.console_hygiene import quiet_console as quiet_prefect_internals
from storage.names import display_name as printable

__all__ = ["printable", "one_line", "quiet_console"]


def one_line(exc: BaseException) -> str:
    """An error as one line: "<path>: <reason>" for an OSError, else its message, lines joined."""
    from aural_core.errors import AuralError

    if isinstance(exc, OSError) and exc.strerror and not isinstance(exc, AuralError):
        where = exc.filename
        return printable(f"{where}: {exc.strerror}" if where is not None else exc.strerror)
    text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip()) or type(exc).__name__
    if not isinstance(exc, AuralError | FileNotFoundError | ValueError):
        text = f"{type(exc).__name__}: {text}"
    return printable(text if len(text) <= 500 else text[:497] + "...")


class NoTraceback(logging.Formatter):
    """Formats a record as its own formatter would, without the exception's traceback."""

    def __init__(self, inner: logging.Formatter | None):
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        clean = logging.makeLogRecord({**record.__dict__, "exc_info": None, "exc_text": None, "stack_info": None})
        return self.inner.format(clean)


class NoRunErrors(logging.Filter):
    """Drops the errors of flow and task runs (Prefect's "Finished in state Failed(...)",
    "Encountered exception ..."): the command reports a failure itself, in its summary table or
    its one line. Their warnings (e.g. an adapter evaluated on its own training files) stay."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno < logging.ERROR or not record.name.startswith(RUN_LOGGERS)


def _quiet_tracebacks() -> None:
    """On the console, Prefect's log lines keep their messages but not their tracebacks, and the
    errors of flow and task runs are not shown (the command reports the error itself, in one
    line); Prefect's API handler still sends all of them to the server, for the UI."""
    import prefect.main  # noqa: F401  sets logging up, as any flow import would (once: each set-up costs)
    from prefect.logging.configuration import ensure_logging_setup

    ensure_logging_setup()  # Prefect's handlers exist from here on (later set-ups are incremental)

    loggers = [logging.getLogger()] + [lg for lg in logging.Logger.manager.loggerDict.values()
                                       if isinstance(lg, logging.Logger)]
    for logger in loggers:
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and not isinstance(handler.formatter, NoTraceback):
                handler.setFormatter(NoTraceback(handler.formatter))
                handler.addFilter(NoRunErrors())


def quiet_console() -> None:
    """A command's console without ``--debug``: no tracebacks, no run errors, none of Prefect's
    own lines (runtime/console_hygiene.py, also asked of the worker processes)."""
    _quiet_tracebacks()
    quiet_prefect_internals()
