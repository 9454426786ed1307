"""A SIGTERM stops the command even when the exception its handler raised is lost on the way.

Python drops an exception raised inside ``__del__`` ("Exception ignored in ..."), and Prefect's
flow engine drops one that arrives after a run reached a final state. In CI a SIGTERM landed in
such a spot: ``aural analyze`` printed its summary and exited 0 (``tests/reliability/
test_no_orphans.py``). Here the signal lands inside a ``__del__``, where the loss is certain.
"""

from __future__ import annotations

import os
import signal

import pytest
from prefect import flow

from cli import main as cli_main
from flows.summary import run_flow
from runtime.termination import Terminated, forget_termination, raise_terminated

# The point of these tests: Python reports the swallowed exception as "unraisable".
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


class _SignalledOnDelete:
    """Sends this process SIGTERM from its ``__del__``: the handler's exception is dropped there."""

    def __del__(self):
        os.kill(os.getpid(), signal.SIGTERM)


def _sigterm_lost_on_the_way() -> None:
    """SIGTERM under the command's handler, its ``Terminated`` swallowed by Python."""
    previous = signal.signal(signal.SIGTERM, raise_terminated)
    try:
        obj = _SignalledOnDelete()
        del obj  # the handler raises Terminated inside __del__: Python prints it and goes on
    finally:
        signal.signal(signal.SIGTERM, previous)


@flow
def _stage_that_loses_a_sigterm() -> dict:
    _sigterm_lost_on_the_way()
    return {"done": True}


@pytest.fixture(autouse=True)
def _clean_record():
    forget_termination()
    yield
    forget_termination()


@pytest.mark.usefixtures("prefect_harness")
def test_the_next_stage_does_not_start_after_a_lost_sigterm():
    with pytest.raises(Terminated):
        run_flow(_stage_that_loses_a_sigterm)


def test_the_command_exits_143_after_a_lost_sigterm(monkeypatch, tmp_path, capsys):
    def command(args, name):
        _sigterm_lost_on_the_way()
        return 0

    monkeypatch.setattr(cli_main, "_run_flow_command", command)
    status = cli_main.main(["analyze", "--in", str(tmp_path), "--out", str(tmp_path / "cache")])
    assert status == 128 + signal.SIGTERM
    assert "aural analyze: terminated" in capsys.readouterr().err


def test_a_command_after_a_stopped_one_runs(monkeypatch, tmp_path):
    """The record belongs to one command: the next ``main`` in the same process starts clean."""
    monkeypatch.setattr(cli_main, "_run_flow_command", lambda args, name: 0)
    with pytest.raises(Terminated):
        raise_terminated(signal.SIGTERM, None)
    assert cli_main.main(["analyze", "--in", str(tmp_path), "--out", str(tmp_path / "cache")]) == 0
