"""``aural server start|stop|status``: one Prefect server for the project, shared by commands.

Without ``PREFECT_API_URL`` each command starts (and stops) a temporary server of its own, a
fixed cost of many seconds. ``aural server start`` runs one in the background instead: in a
session of its own (it outlives the command and the terminal; unlike the temporary server it
is not tied to its parent), with its ``PREFECT_HOME`` (database, log, state file) in
``.prefect/`` of the working directory. Commands started in that directory find it through
the state file and use it (``running_server``, called by ``flows.cli.prefect_api``); its UI
shows their runs.
"""

from __future__ import annotations

import json
import os
import socket
import sys
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


def _forget(home: str | Path) -> None:
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
        _forget(home)
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


def cmd_start(args) -> int:
    from storage.locking import folder_lock

    from .cli import check_writable

    home = Path(args.home).resolve()
    problem = check_writable(home)
    if problem:
        raise ServerStartError(problem)
    with folder_lock(home / LOCK_FILE):  # two starts at once: the second finds the first running
        state = read_state(home)
        if state is not None and is_alive(state):
            print(f"already running: {state.ui_url} (pid {state.pid}); stop it with `aural server stop`")
            return 0
        _forget(home)
        if _port_in_use(args.port):
            raise ServerStartError(f"port {args.port} on 127.0.0.1 is in use: choose another with --port")
        state = _start(home, args.port, args.timeout)
    _add_automations(state)
    print(f"Prefect server running: {state.ui_url} (UI and API, pid {state.pid}, log {state.log})")
    print("`aural` commands started in this folder use it; stop it with `aural server stop`")
    return 0


def _start(home: Path, port: int, timeout: float) -> ServerState:
    log = home / LOG_FILE
    proc = spawn_server(home, port, log, QUIET_SERVER_ENV, new_session=True)
    state = ServerState(pid=proc.pid, port=port, api_url=api_url(port), home=str(home), log=str(log),
                        started_at=datetime.now(UTC).isoformat(timespec="seconds"))
    try:
        _write_state(state)
        wait_healthy(proc, state.api_url, timeout, log, "the Prefect server")
    except BaseException:  # not answering, or the command interrupted: leave nothing behind
        stop_group(proc.pid)
        _forget(home)
        raise
    return state


def _add_automations(state: ServerState) -> None:
    """The automations that mark runs whose process died Crashed (the CLI's runs send the
    heartbeats they watch) and retry crashed deployment runs: deployments/automations.py."""
    from prefect.client.orchestration import SyncPrefectClient

    from deployments.automations import ensure_automations

    try:
        with SyncPrefectClient(state.api_url) as client:
            ensure_automations(client)
    except Exception as exc:  # the server runs all the same: say what is missing
        print(f"warning: the automations of deployments/automations.py were not created ({type(exc).__name__}: "
              f"{exc}): runs whose process dies stay Running", file=sys.stderr)


def cmd_status(args) -> int:
    home = Path(args.home).resolve()
    state = read_state(home)
    if state is None:
        print(f"not running (no {state_path(home)})")
        return 1
    if not is_alive(state):
        _forget(home)
        print(f"not running (pid {state.pid} is gone; removed its stale {state_path(home)})")
        return 1
    if not healthy(state.api_url):
        print(f"pid {state.pid} runs but {state.api_url} does not answer (starting, or hung: see {state.log})")
        return 1
    print(f"running: {state.ui_url} (pid {state.pid}, since {state.started_at}, log {state.log})")
    return 0


class ServerStopError(ServerStartError):
    """The server did not stop."""


def cmd_stop(args) -> int:
    from storage.locking import folder_lock

    home = Path(args.home).resolve()
    state = read_state(home)
    if state is None or not is_alive(state):
        _forget(home)
        print("not running")
        return 0
    with folder_lock(home / LOCK_FILE):
        if not stop_group(state.pid, args.grace):
            raise ServerStopError(f"the Prefect server (pid {state.pid}) survived SIGKILL")
        _forget(home)
    print(f"stopped the Prefect server at {state.ui_url} (pid {state.pid})")
    return 0


def add_server_parser(sub, debug_option) -> None:
    """``aural server start|stop|status`` under the CLI's sub-commands ``sub``."""
    p = sub.add_parser("server", help="a background Prefect server (and UI) for faster repeated commands")
    ssub = p.add_subparsers(dest="server_command", required=True)
    for name, func, text in (("start", cmd_start, "start it in the background and wait until it answers"),
                             ("status", cmd_status, "say whether it runs (exit status 1 when not)"),
                             ("stop", cmd_stop, "stop it (SIGTERM, SIGKILL after a grace period)")):
        s = ssub.add_parser(name, help=text)
        s.add_argument("--home", default=DEFAULT_HOME,
                       help="its PREFECT_HOME: database, log, state file (default: %(default)s)")
        if name == "start":
            s.add_argument("--port", type=int, default=DEFAULT_PORT, help="port on 127.0.0.1 (default: %(default)s)")
            s.add_argument("--timeout", type=float, default=120.0,
                           help="seconds to wait for it to answer (default: %(default)s)")
        if name == "stop":
            s.add_argument("--grace", type=float, default=10.0,
                           help="seconds between SIGTERM and SIGKILL (default: %(default)s)")
        debug_option(s)
        s.set_defaults(func=func)
