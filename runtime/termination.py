"""SIGTERM as an exception a command unwinds with, and a record of it that nothing can swallow.

The CLI's handler raises ``Terminated`` so that the command unwinds (its temporary server
stopped) and exits 128 + signal. An exception raised by a signal handler can be lost on the way:
Prefect's flow engine drops a ``BaseException`` that arrives once a run has reached a final state
("raised after user code finished executing"), and Python drops one raised inside a ``__del__``
or a garbage-collection callback. A SIGTERM that landed there vanished: the command went on,
printed its summary and exited 0 (seen in CI, ``tests/reliability/test_no_orphans.py``). So the
handler also records the signal, and the command checks the record between stages and before
it exits (``raise_if_terminated``).
"""

from __future__ import annotations

__all__ = ["Terminated", "raise_terminated", "raise_if_terminated", "forget_termination"]

_received: int | None = None


class Terminated(BaseException):
    """SIGTERM reached the command: unwind (stopping the server) and exit 128 + signal."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(f"terminated by signal {signum}")


def raise_terminated(signum, frame) -> None:
    """The SIGTERM handler of a command: record the signal, then raise ``Terminated``."""
    global _received
    _received = signum
    raise Terminated(signum)


def raise_if_terminated() -> None:
    """Raise ``Terminated`` again if a SIGTERM arrived, even if its first exception was lost."""
    if _received is not None:
        raise Terminated(_received)


def forget_termination() -> None:
    """Clear the record (a command that starts in a process where an earlier one was stopped)."""
    global _received
    _received = None
