"""Local Prefect servers of the CLI: the temporary one of a command, and the pieces
``aural server`` (runtime/background_server.py) shares with it.

Without ``PREFECT_API_URL`` (and no ``aural server`` running), Prefect would start its own
temporary server that outlives a killed command (reparented, holding the caller's stdout
open). Here the command starts it as a child that cannot outlive it:

- Linux ``PR_SET_PDEATHSIG``: the kernel sends the server SIGTERM when the command dies, even
  by ``kill -9``;
- its own process group, stdin from /dev/null and stdout/stderr to ``$PREFECT_HOME/
  aural-server-<port>.log``, so it never holds the caller's terminal or pipe;
- stopped at exit (``atexit`` and the CLI's SIGTERM/SIGINT handling): SIGTERM to its group,
  then SIGKILL after a grace period.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from aural_core.errors import AuralError

PR_SET_PDEATHSIG = 1
# The task run recorder writes task runs from events one transaction per event by default:
# ~15 events/s on a busy 2-core machine, far behind a cached analysis (3 events per file). In
# batches of up to 500, flushed every second, it keeps up (runtime/task_run_records.py).
RECORDER_SETTINGS = {"BATCH_SIZE": "500", "FLUSH_INTERVAL": "1"}
# Every server the CLI starts: no analytics, task runs recorded in batches.
QUIET_SERVER_ENV = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                    **{"PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_" + k: v for k, v in RECORDER_SETTINGS.items()}}
# The temporary server besides: no UI to build, no scheduler or late-run service.
SERVER_ENV = {**QUIET_SERVER_ENV, "PREFECT_SERVER_UI_ENABLED": "false", "PREFECT_UI_ENABLED": "false",
              "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
              "PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED": "false"}


class ServerStartError(AuralError):
    """A local Prefect server did not start."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api_url(port: int) -> str:
    return f"http://127.0.0.1:{port}/api"


def spawn_server(home: Path, port: int, log: Path, settings: dict[str, str], *,
                 preexec_fn: Callable[[], None] | None = None, new_session: bool = False) -> subprocess.Popen:
    """``prefect server start`` on 127.0.0.1:``port`` with ``PREFECT_HOME=home``, in a process
    group of its own (a session of its own with ``new_session``), stdin from /dev/null and its
    output to ``log``: it never holds the caller's terminal or pipe."""
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    # The API host and port as settings too: the UI derives the API address it calls from them.
    env.update(PREFECT_HOME=str(home), PREFECT_SERVER_API_HOST="127.0.0.1", PREFECT_SERVER_API_PORT=str(port),
               **settings)
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, close_fds=True,
            start_new_session=new_session, process_group=None if new_session else 0, preexec_fn=preexec_fn)


def healthy(url: str, timeout: float = 2.0) -> bool:
    """Whether the Prefect API at ``url`` answers ``/health`` within ``timeout`` seconds."""
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=timeout) as response:
            return response.status == 200
    except (OSError, ValueError):
        return False


def wait_healthy(proc: subprocess.Popen, url: str, timeout: float, log: Path, what: str, hint: str = "") -> None:
    """Wait until ``url`` answers; raise ServerStartError (the process left to the caller to stop)
    when the process exits or ``timeout`` seconds pass first (``hint`` ends that message)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServerStartError(f"{what} exited ({proc.returncode}) while starting: see {log}")
        if healthy(url):
            return
        time.sleep(0.2)
    raise ServerStartError(f"{what} did not answer within {timeout:.0f} s: see {log}{hint}")


def group_alive(pgid: int) -> bool:
    """Whether any process of group ``pgid`` still runs (zombies, dead but unreaped, do not count)."""
    with contextlib.suppress(ChildProcessError):  # our own child: reap it, or it stays a zombie
        os.waitpid(pgid, os.WNOHANG)
    proc = Path("/proc")
    if not proc.is_dir():  # not Linux: ask the kernel about the group as a whole
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    for stat in proc.glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # exited meanwhile
        if fields[2] == str(pgid) and fields[0] != "Z":  # state, ppid, pgrp
            return True
    return False


def stop_group(pgid: int, grace: float = 10.0) -> bool:
    """SIGTERM to process group ``pgid``, SIGKILL after ``grace`` seconds; True once none of it runs."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return True
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not group_alive(pgid):
                return True
            time.sleep(0.1)
    return not group_alive(pgid)


def die_with_parent(parent: int) -> None:
    """Linux: SIGTERM to this process when ``parent`` dies (also run in a child between fork and exec)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: atexit and the signal handlers still stop it
        pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


class LocalServer:
    """``prefect server start`` on a free local port as a child of this process."""

    def __init__(self, home: str | Path, *, timeout: float = 90.0):
        self.home = Path(home)
        self.timeout = timeout
        self.port = free_port()
        self.api_url = api_url(self.port)
        self.log = self.home / f"aural-server-{self.port}.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> LocalServer:
        """Spawn the server and wait until it answers."""
        return self.spawn().wait_ready()

    def spawn(self) -> LocalServer:
        """Start the server process (returns at once: it takes seconds to answer)."""
        parent = os.getpid()
        self.proc = spawn_server(self.home, self.port, self.log, SERVER_ENV,
                                 preexec_fn=lambda: die_with_parent(parent))
        atexit.register(self.stop)
        return self

    def wait_ready(self) -> LocalServer:
        """Wait for ``/api/health``; stop the server and raise if it does not answer in time."""
        try:
            wait_healthy(self.proc, self.api_url, self.timeout, self.log, "the temporary Prefect server",
                         ", or point PREFECT_API_URL at a running server (`aural server start`)")
        except ServerStartError:
            self.stop()
            raise
        return self

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM to the server's process group, SIGKILL after ``grace`` seconds."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        stop_group(proc.pid, grace)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(1.0)
