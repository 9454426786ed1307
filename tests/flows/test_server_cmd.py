"""``aural server start|status|stop`` for real, and commands that use the server it leaves running."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import soundfile as sf

from runtime.background_server import ServerState, read_state, running_server, state_path
from runtime.local_server import free_port

ROOT = Path(__file__).resolve().parents[2]


def aural(*args: str, cwd: Path, env: dict, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cli.main", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def cli_env(tmp_path: Path) -> dict:
    """No API configured; a PREFECT_HOME of the test's own (where a temporary server would log)."""
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update(PYTHONPATH=str(ROOT), PREFECT_HOME=str(tmp_path / "client-home"), COLUMNS="200")
    return env


def session_processes(sid: int) -> list[str]:
    """Processes of session ``sid`` still running (zombies excluded), as "pid stat" lines."""
    out = subprocess.run(["ps", "-o", "pid=,stat=", "--sid", str(sid)], capture_output=True, text=True).stdout
    return [line.strip() for line in out.splitlines() if line.split()[1:2] and not line.split()[1].startswith("Z")]


def flow_runs(api_url: str, flow_name: str) -> list[dict]:
    body = json.dumps({"flows": {"name": {"any_": [flow_name]}}}).encode()
    request = urllib.request.Request(f"{api_url}/flow_runs/filter", data=body,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def write_wavs(folder: Path, n: int = 2) -> Path:
    folder.mkdir(parents=True)
    t = np.arange(3 * 22050) / 22050
    for i in range(n):
        sf.write(folder / f"tone{i}.wav", (0.3 * np.sin(2 * np.pi * (220 + 60 * i) * t)).astype(np.float32), 22050)
    return folder


def start_server(tmp_path: Path, env: dict, *home: str) -> ServerState:
    port = free_port()
    result = aural("server", "start", "--port", str(port), "--timeout", "240", *home, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"http://127.0.0.1:{port}" in result.stdout and "aural server stop" in result.stdout
    state = read_state(tmp_path / (home[1] if home else ".prefect"))
    assert state is not None and state.port == port
    return state


def test_start_status_stop(tmp_path):
    env = cli_env(tmp_path)
    home = tmp_path / "server-home"
    state = start_server(tmp_path, env, "--home", str(home))
    # Detached: the command has exited, the server answers, in a session of its own.
    assert state.home == str(home) and state.api_url == f"http://127.0.0.1:{state.port}/api"
    assert os.getsid(state.pid) == state.pid != os.getsid(0)
    with urllib.request.urlopen(f"{state.api_url}/health", timeout=10) as response:
        assert response.status == 200
    assert (home / "aural-server.log").is_file()

    status = aural("server", "status", "--home", str(home), cwd=tmp_path, env=env)
    assert status.returncode == 0 and f"running: {state.ui_url} (pid {state.pid}" in status.stdout
    again = aural("server", "start", "--port", str(free_port()), "--home", str(home), cwd=tmp_path, env=env)
    assert again.returncode == 0 and f"already running: {state.ui_url}" in again.stdout
    assert read_state(home) == state

    stop = aural("server", "stop", "--home", str(home), cwd=tmp_path, env=env)
    assert stop.returncode == 0 and f"stopped the Prefect server at {state.ui_url}" in stop.stdout
    assert session_processes(state.pid) == []
    assert not state_path(home).exists()
    status = aural("server", "status", "--home", str(home), cwd=tmp_path, env=env)
    assert status.returncode == 1 and "not running" in status.stdout


def test_commands_use_the_running_server_and_ignore_a_dead_one(tmp_path):
    """Started in the command's folder (default home .prefect), the server records the command's
    flow run; once it is gone (killed: its state file left behind) the command falls back to a
    temporary server, and the cache made under the first serves the second."""
    env = cli_env(tmp_path)
    state = start_server(tmp_path, env)
    inputs = write_wavs(tmp_path / "in")
    try:
        first = aural("analyze", "--in", str(inputs), "--out", str(tmp_path / "cache"), cwd=tmp_path, env=env)
        assert first.returncode == 0, first.stdout + first.stderr
        assert f"aural: using the Prefect server at {state.ui_url}" in first.stderr
        runs = flow_runs(state.api_url, "analyze")
        assert [(r["state_type"], r["parameters"]["input_dir"]) for r in runs] == [("COMPLETED", str(inputs))]
        assert not list((tmp_path / "client-home").glob("aural-server-*.log")), "a temporary server was started"
        quiet = aural("analyze", "--in", str(inputs), "--out", str(tmp_path / "cache"), "--quiet",
                      cwd=tmp_path, env=env)
        assert quiet.returncode == 0 and "Prefect server" not in quiet.stderr
        assert len(flow_runs(state.api_url, "analyze")) == 2
    finally:
        os.killpg(state.pid, signal.SIGKILL)  # a crash: the state file stays
    deadline = time.monotonic() + 30
    while session_processes(state.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert state_path(tmp_path / ".prefect").exists()

    again = aural("analyze", "--in", str(inputs), "--out", str(tmp_path / "cache"), cwd=tmp_path, env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "using the Prefect server" not in again.stderr
    assert list((tmp_path / "client-home").glob("aural-server-*.log")), "no temporary server was started"
    assert "computed 0 | cached 2 | failed 0" in again.stderr  # the summary table goes to stderr
    assert not state_path(tmp_path / ".prefect").exists(), "the stale state file was kept"


def test_a_state_file_of_another_process_is_stale(tmp_path):
    """A recorded pid that now belongs to another process: never used, never signalled."""
    other = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        home = tmp_path / ".prefect"
        home.mkdir()
        port = free_port()
        state = ServerState(pid=other.pid, port=port, api_url=f"http://127.0.0.1:{port}/api", home=str(home),
                            log=str(home / "aural-server.log"), started_at="2026-01-01T00:00:00+00:00")
        state_path(home).write_text(json.dumps(state.__dict__))
        env = cli_env(tmp_path)
        stop = aural("server", "stop", cwd=tmp_path, env=env)
        assert stop.returncode == 0 and "not running" in stop.stdout
        assert other.poll() is None, "aural server stop signalled a process it did not start"
        assert not state_path(home).exists()

        state_path(home).write_text(json.dumps(state.__dict__))
        assert running_server(home) is None and not state_path(home).exists()
    finally:
        other.kill()
        other.wait()
