"""The temporary Prefect server of one CLI command, owned by that command.

Without ``PREFECT_API_URL``, Prefect would start its own temporary server that outlives a
killed command (reparented, holding the caller's stdout open). Here the command starts it as a
child that cannot outlive it:

- Linux ``PR_SET_PDEATHSIG``: the kernel sends the server SIGTERM when the command dies, even
  by ``kill -9``;
- its own process group, stdin from /dev/null and stdout/stderr to ``$PREFECT_HOME/
  aural-server-<port>.log``, so it never holds the caller's terminal or pipe;
- stopped at exit (``atexit`` and the CLI's SIGTERM/SIGINT handling): SIGTERM to its group,
  then SIGKILL after a grace period.
"""

from __future__ import annotations

import atexit
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from aural_core.errors import AuralError

PR_SET_PDEATHSIG = 1
# The task run recorder writes task runs from events one transaction per event by default:
# ~15 events/s on a busy 2-core machine, far behind a cached analysis (3 events per file). In
# batches of up to 500, flushed every second, it keeps up (flows/task_run_records.py).
RECORDER_SETTINGS = {"BATCH_SIZE": "500", "FLUSH_INTERVAL": "1"}
# Settings of the child server: no UI to build, no scheduler or late-run service, no analytics.
SERVER_ENV = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_SERVER_UI_ENABLED": "false",
              "PREFECT_UI_ENABLED": "false", "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
              "PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED": "false",
              **{"PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_" + k: v for k, v in RECORDER_SETTINGS.items()}}


class ServerStartError(AuralError):
    """The temporary Prefect server did not start."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent(parent: int) -> None:  # runs in the child between fork and exec
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
        self.api_url = f"http://127.0.0.1:{self.port}/api"
        self.log = self.home / f"aural-server-{self.port}.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> LocalServer:
        """Spawn the server and wait until it answers."""
        return self.spawn().wait_ready()

    def spawn(self) -> LocalServer:
        """Start the server process (returns at once: it takes seconds to answer)."""
        self.home.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
        env.update(PREFECT_HOME=str(self.home), **SERVER_ENV)
        parent = os.getpid()
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                 "--port", str(self.port)],
                env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                close_fds=True, process_group=0, preexec_fn=lambda: _die_with_parent(parent))
        atexit.register(self.stop)
        return self

    def wait_ready(self) -> LocalServer:
        """Wait for ``/api/health``; stop the server and raise if it does not answer in time."""
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                code = self.proc.returncode
                self.proc = None
                raise ServerStartError(f"the temporary Prefect server exited ({code}) while starting: see {self.log}")
            try:
                with urllib.request.urlopen(f"{self.api_url}/health", timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise ServerStartError(f"the temporary Prefect server did not answer within {self.timeout:.0f} s: "
                               f"see {self.log}, or point PREFECT_API_URL at a running server")

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM to the server's process group, SIGKILL after ``grace`` seconds."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                proc.wait(wait)
                return
            except subprocess.TimeoutExpired:
                continue
