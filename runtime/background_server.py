"""The background Prefect server of ``aural server start``: started, found, stopped.

It runs in a session of its own (it outlives the command and the terminal; unlike the
temporary server of runtime/local_server.py it is not tied to its parent), with its
``PREFECT_HOME`` (database, log, state file) in ``.prefect/`` of the working directory.
Commands started in that directory find it through the state file (``running_server``, called
by cli/prefect_session.py) and use it; its UI shows their runs. The commands themselves are
in cli/server_cmd.py.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from .local_server import QUIET_SERVER_ENV, ServerStartError, api_url, healthy, spawn_server, stop_group, wait_healthy

DEFAULT_HOME = ".prefect"
DEFAULT_PORT = 4200
STATE_FILE = "aural-server.json"
LOG_FILE = "aural-server.log"
LOCK_FILE = "aural-server.lock"


@dataclass(frozen=True)
class ServerState:
    """What ``aural server start`` records about the server it started (``<home>/aural-server.json``)."""

    pid: int  # also its process group and session
    port: int
    api_url: str
    home: str
    log: str
    started_at: str

    @property
    def ui_url(self) -> str:
        return self.api_url.removesuffix("/api")


class ServerStopError(ServerStartError):
    """The server did not stop."""


def state_path(home: str | Path) -> Path:
    return Path(home) / STATE_FILE


def read_state(home: str | Path) -> ServerState | None:
    """The recorded server of ``home``; None when there is none (or the record is unreadable)."""
    try:
        return ServerState(**json.loads(state_path(home).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def _write_state(state: ServerState) -> None:
    from storage.atomic import write_text_atomic

    write_text_atomic(state_path(state.home), json.dumps(asdict(state), indent=2) + "\n")


def forget(home: str | Path) -> None:
    """Remove the state file of ``home`` (its server is gone)."""
    state_path(home).unlink(missing_ok=True)


def is_alive(state: ServerState) -> bool:
    """Whether the recorded process still runs and is that server (not a reused pid)."""
    if not Path("/proc/self").is_dir():  # not Linux: the pid alone
        try:
            os.kill(state.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    proc = Path(f"/proc/{state.pid}")
    try:
        run_state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        args = (proc / "cmdline").read_bytes().split(b"\0")
    except (OSError, IndexError):  # gone
        return False
    return run_state != "Z" and b"prefect" in args and b"server" in args and str(state.port).encode() in args


def running_server(home: str | Path = DEFAULT_HOME, *, timeout: float = 1.0) -> ServerState | None:
    """The server ``aural server start`` left running in ``home`` when it answers within
    ``timeout`` seconds; a state file whose process is gone is removed."""
    state = read_state(home)
    if state is None:
        return None
    if not is_alive(state):
        forget(home)
        return None
    return state if healthy(state.api_url, timeout) else None


def _port_in_use(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds it
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def start(home: Path, port: int, timeout: float) -> tuple[ServerState, bool]:
    """The server of ``home``, started on ``port`` unless one runs there already; (its state,
    whether it was already running). Two starts at once: the second finds the first running."""
    from storage.locking import folder_lock

    with folder_lock(home / LOCK_FILE):
        state = read_state(home)
        if state is not None and is_alive(state):
            return state, True
        forget(home)
        if _port_in_use(port):
            raise ServerStartError(f"port {port} on 127.0.0.1 is in use: choose another with --port")
        return _spawn(home, port, timeout), False


def _spawn(home: Path, port: int, timeout: float) -> ServerState:
    log = home / LOG_FILE
    proc = spawn_server(home, port, log, QUIET_SERVER_ENV, new_session=True)
    state = ServerState(pid=proc.pid, port=port, api_url=api_url(port), home=str(home), log=str(log),
                        started_at=datetime.now(UTC).isoformat(timespec="seconds"))
    try:
        _write_state(state)
        wait_healthy(proc, state.api_url, timeout, log, "the Prefect server")
    except BaseException:  # not answering, or the command interrupted: leave nothing behind
        stop_group(proc.pid)
        forget(home)
        raise
    return state


def stop(home: Path, grace: float) -> ServerState | None:
    """Stop the server of ``home`` (SIGTERM, SIGKILL after ``grace`` seconds); the state of the
    server stopped, None when none ran."""
    from storage.locking import folder_lock

    state = read_state(home)
    if state is None or not is_alive(state):
        forget(home)
        return None
    with folder_lock(home / LOCK_FILE):
        if not stop_group(state.pid, grace):
            raise ServerStopError(f"the Prefect server (pid {state.pid}) survived SIGKILL")
        forget(home)
    return state
