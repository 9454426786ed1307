"""A killed `aural` command never leaves its temporary Prefect server running (issue 13)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from .cli_runs import wait_for
from .test_cli_preflight import write_wavs

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def answers(port: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def prefect_home(tmp_path_factory):
    """One PREFECT_HOME for both kills: its database is created (migrated) once."""
    return tmp_path_factory.mktemp("prefect-home")


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_killed_command_takes_its_server_along(tmp_path, sig, prefect_home):
    """Killed mid-run (its server up and serving the flow), the command takes the server along."""
    inputs = write_wavs(tmp_path / "in", n=2, seconds=30.0)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PREFECT_HOME": str(prefect_home)}
    env.pop("PREFECT_API_URL", None)
    # `aural analyze ... | cat`: the pipe must close once the command is gone. Run in tmp_path,
    # where no `aural server start` runs (the command would use that server instead of its own).
    cli = subprocess.Popen([sys.executable, "-m", "cli.main", "analyze", "--in", str(inputs),
                            "--out", str(tmp_path / "cache"), "--quiet"],
                           env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    cat = subprocess.Popen(["cat"], stdin=cli.stdout, stdout=subprocess.PIPE)
    cli.stdout.close()
    try:
        server = wait_for(lambda: [p for p in children(cli.pid) if "server" in cmdline(p)], timeout=60)
        assert server, "the command started no server child"
        server = server[0]
        assert "prefect" in cmdline(server) and "--host 127.0.0.1" in cmdline(server)
        assert os.getpgid(server) == server  # its own process group
        args = cmdline(server).split()
        port = args[args.index("--port") + 1]
        assert wait_for(lambda: answers(port), timeout=120, step=0.5), "the server never answered"
        time.sleep(0.5)  # the flow run starts
        assert cli.poll() is None, "the command finished before it could be killed"
        cli.send_signal(sig)
        assert cli.wait(30) != 0
        assert wait_for(lambda: not alive(server), timeout=10), f"server {server} outlived the command"
        out, _ = cat.communicate(timeout=10)  # `| cat` returns
    finally:
        for proc in (cli, cat):
            if proc.poll() is None:
                proc.kill()
    assert (prefect_home / f"aural-server-{port}.log").is_file()  # its output went to a log, not the pipe
