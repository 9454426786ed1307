"""The Prefect server dies (kill -9 of its process group) while ``aural analyze`` works
(issue 21, items 1, 2 and 5): the work goes on and ends as an uninterrupted run's would; the
console gets one line when the server stops answering, the summary, and a last line; the
command exits at most 10 s after its work is done, with status 3 (done, not recorded); no
line of Prefect's own (event payloads, "Error logging to API", websocket warnings) is shown.
When the server comes back during the run, it gets the rest of the run's records.

The server is a real ``prefect server start`` (tests/prefect_server.py) on a database of its
own; a restart is a new server process on the same port and database.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from tests.prefect_server import PrefectServer

from .cli_runs import ROOT, aural, aural_args, cli_env, frames_bytes, statuses, wait_for, write_clips

N_CLIPS, CLIP_SECONDS = 12, 60.0  # 12 min of audio: seconds of work left after the first file
WORK_TO_EXIT_S = 10.0
# What Prefect printed on the console before (issue 21): none of it may show.
PREFECT_NOISE = ("Event(", "EventsWorker", "Error logging to API", "Unable to connect", "Traceback",
                 "ConnectError", "Still processing items", "prefect.")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    return write_clips(tmp_path_factory.mktemp("server-lost") / "inputs", N_CLIPS, seconds=CLIP_SECONDS)


@pytest.fixture(scope="module")
def uninterrupted(shared_server, inputs, tmp_path_factory):
    """The cache an analysis of the same inputs writes with its server alive all along."""
    cache = tmp_path_factory.mktemp("uninterrupted") / "cache"
    done = aural(shared_server, "analyze", "--in", str(inputs), "--out", str(cache), timeout=600)
    assert done.returncode == 0, done.stderr
    return cache


class Command:
    """``aural`` as a subprocess whose stderr lines are collected as they come."""

    def __init__(self, server: PrefectServer, *args: str):
        self.proc = subprocess.Popen(aural_args(*args), env=cli_env(server), cwd=ROOT, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self.ended_at: float | None = None
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def wait(self, timeout: float = 600) -> int:
        rc = self.proc.wait(timeout)
        self.ended_at = time.time()
        self._reader.join(10)
        self.stdout = self.proc.stdout.read()
        return rc

    def saw(self, text: str) -> list[str]:
        return [line for line in self.lines if text in line]


def _flow_runs(server: PrefectServer) -> dict[str, str]:
    """{flow name: state type} of the flow runs the server holds."""
    req = urllib.request.Request(f"{server.url}/flow_runs/filter", data=b"{}", method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as response:
        runs = json.loads(response.read())
    flows = {}
    for run in runs:
        with urllib.request.urlopen(f"{server.url}/flows/{run['flow_id']}", timeout=60) as response:
            flows[json.loads(response.read())["name"]] = run["state_type"]
    return flows


def _task_runs(server: PrefectServer) -> dict[str, str]:
    """{task run name: state type} of the per-file analysis tasks the server holds."""
    body = json.dumps({"limit": 200}).encode()
    req = urllib.request.Request(f"{server.url}/task_runs/filter", data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as response:
        return {r["name"]: r["state_type"] for r in json.loads(response.read()) if r["name"].endswith(".wav")}


def _when_first_frames(cache: Path, command: Command) -> None:
    assert wait_for(lambda: list((cache / "frames").glob("*.parquet")) or command.proc.poll() is not None,
                    timeout=300, step=0.05)
    assert command.proc.poll() is None, "the analysis ended before the server could be killed"


def _server_lines(lines: list[str]) -> list[str]:
    """The console lines about the server (all but the progress, the table and its count)."""
    table = ("┏", "┃", "┡", "│", "└", "computed ")
    return [line for line in lines if line.strip() and not line.lstrip().startswith(table)
            and "summary" not in line and "using the Prefect server" not in line]


@pytest.mark.timeout(900)
@pytest.mark.parametrize("runner", ["threads", "processes"])
def test_server_killed_mid_analysis(tmp_path, inputs, uninterrupted, runner):
    server = PrefectServer(tmp_path / "prefect-home").start()
    try:
        cache = tmp_path / "cache"
        command = Command(server, "analyze", "--in", str(inputs), "--out", str(cache), "--task-runner", runner)
        _when_first_frames(cache, command)
        server.kill()
        killed = time.time()
        rc = command.wait()
        lines = command.lines
        manifest = next((cache / "manifests").glob("*.json"))
        # the work went on and wrote what an uninterrupted run writes
        assert statuses("\n".join(lines)) == {f"clip{i}.wav": "computed" for i in range(N_CLIPS)}, lines
        assert frames_bytes(cache) == frames_bytes(uninterrupted)
        assert json.loads(manifest.read_text()) == json.loads(next((uninterrupted / "manifests").glob("*.json"))
                                                                .read_text())
        # quickly, and saying so in a few lines
        assert manifest.stat().st_mtime > killed
        assert command.ended_at - manifest.stat().st_mtime <= WORK_TO_EXIT_S, (command.ended_at, lines)
        assert rc == 3, lines
        about = _server_lines(lines)
        assert len(about) <= 5, about
        assert len(command.saw("stopped answering")) == 1, lines
        last = lines[-1]
        assert last.startswith(f"aural analyze: the work is done and written (frames and manifest in {cache})"), last
        assert "are not recorded" in last and "start it again" in last, last
        assert not [line for line in lines + command.stdout.splitlines() if any(n in line for n in PREFECT_NOISE)]
    finally:
        server.kill()
    # the server's database holds the runs as they were when it died: started, never finished
    again = PrefectServer(server.home, port=server.port).start()
    try:
        assert _flow_runs(again) == {"analyze": "RUNNING", "analyze-files": "RUNNING"}
    finally:
        again.stop()


@pytest.mark.timeout(900)
def test_server_back_within_the_run_gets_the_rest(tmp_path, inputs, uninterrupted):
    """Killed, then started again on the same port and database while the command is paused
    (SIGSTOP, so the run outlasts the restart on any machine): the command reconnects, the
    server ends up with every run of the command, and the last line says what happened."""
    server = PrefectServer(tmp_path / "prefect-home").start()
    again = None
    try:
        cache = tmp_path / "cache"
        command = Command(server, "analyze", "--in", str(inputs), "--out", str(cache))
        _when_first_frames(cache, command)
        server.kill()
        assert wait_for(lambda: command.saw("stopped answering"), timeout=30, step=0.1), command.lines
        os.kill(command.proc.pid, signal.SIGSTOP)
        try:
            again = PrefectServer(server.home, port=server.port).start()
        finally:
            os.kill(command.proc.pid, signal.SIGCONT)
        rc = command.wait()
        lines = command.lines
        assert frames_bytes(cache) == frames_bytes(uninterrupted)
        assert len(command.saw("answers again")) == 1, lines
        assert lines[-1].startswith("aural analyze: the work is done and written"), lines
        assert "did not answer from " in lines[-1], lines[-1]
        assert rc in (0, 3), lines  # 3 when something (a log line, a run) is still missing
        assert not [line for line in lines if any(n in line for n in PREFECT_NOISE)]
        # the runs that went on after the restart, and what was kept meanwhile, reached it
        assert wait_for(lambda: _flow_runs(again) == {"analyze": "COMPLETED", "analyze-files": "COMPLETED"},
                        timeout=30, step=1), _flow_runs(again)
        expected = {f"analyze-clip{i}.wav": "COMPLETED" for i in range(N_CLIPS)}
        assert wait_for(lambda: _task_runs(again) == expected, timeout=30, step=1), _task_runs(again)
    finally:
        server.kill()
        if again is not None:
            again.stop()
