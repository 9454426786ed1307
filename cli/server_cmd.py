"""``aural server start|stop|status``: one Prefect server for the project, shared by commands.

Without ``PREFECT_API_URL`` each command starts (and stops) a temporary server of its own, a
fixed cost of many seconds. ``aural server start`` runs one in the background instead
(runtime/background_server.py: its state file, start and stop); commands started in the same
folder find it (cli/prefect_session.py) and its UI shows their runs.
"""

from __future__ import annotations

import sys
from pathlib import Path

from runtime import background_server
from runtime.background_server import DEFAULT_HOME, DEFAULT_PORT, is_alive, read_state, state_path
from runtime.local_server import ServerStartError, healthy

from .options import command_group
from .preflight import check_writable


def cmd_start(args) -> int:
    home = Path(args.home).resolve()
    problem = check_writable(home)
    if problem:
        raise ServerStartError(problem)
    state, already = background_server.start(home, args.port, args.timeout)
    if already:
        print(f"already running: {state.ui_url} (pid {state.pid}); stop it with `aural server stop`")
        return 0
    _add_automations(state)
    print(f"Prefect server running: {state.ui_url} (UI and API, pid {state.pid}, log {state.log})")
    print("`aural` commands started in this folder use it; stop it with `aural server stop`")
    return 0


def _add_automations(state) -> None:
    """The automations that mark runs whose process died Crashed (the CLI's runs send the
    heartbeats they watch) and retry crashed deployment runs: runtime/automations.py."""
    from prefect.client.orchestration import SyncPrefectClient

    from runtime.automations import ensure_automations

    try:
        with SyncPrefectClient(state.api_url) as client:
            ensure_automations(client)
    except Exception as exc:  # the server runs all the same: say what is missing
        print(f"warning: the automations of runtime/automations.py were not created ({type(exc).__name__}: "
              f"{exc}): runs whose process dies stay Running", file=sys.stderr)


def cmd_status(args) -> int:
    home = Path(args.home).resolve()
    state = read_state(home)
    if state is None:
        print(f"not running (no {state_path(home)})")
        return 1
    if not is_alive(state):
        background_server.forget(home)
        print(f"not running (pid {state.pid} is gone; removed its stale {state_path(home)})")
        return 1
    if not healthy(state.api_url):
        print(f"pid {state.pid} runs but {state.api_url} does not answer (starting, or hung: see {state.log})")
        return 1
    print(f"running: {state.ui_url} (pid {state.pid}, since {state.started_at}, log {state.log})")
    return 0


def cmd_stop(args) -> int:
    state = background_server.stop(Path(args.home).resolve(), args.grace)
    if state is None:
        print("not running")
        return 0
    print(f"stopped the Prefect server at {state.ui_url} (pid {state.pid})")
    return 0


def add_parser(sub) -> None:
    """``aural server start|stop|status`` under the CLI's sub-commands ``sub``."""
    commands = (("start", cmd_start, "start it in the background and wait until it answers"),
                ("status", cmd_status, "say whether it runs (exit status 1 when not)"),
                ("stop", cmd_stop, "stop it (SIGTERM, SIGKILL after a grace period)"))
    for name, s in command_group(sub, "server", "a background Prefect server (and UI) for faster repeated commands",
                                 commands):
        s.add_argument("--home", default=DEFAULT_HOME,
                       help="its PREFECT_HOME: database, log, state file (default: %(default)s)")
        if name == "start":
            s.add_argument("--port", type=int, default=DEFAULT_PORT, help="port on 127.0.0.1 (default: %(default)s)")
            s.add_argument("--timeout", type=float, default=120.0,
                           help="seconds to wait for it to answer (default: %(default)s)")
        if name == "stop":
            s.add_argument("--grace", type=float, default=10.0,
                           help="seconds between SIGTERM and SIGKILL (default: %(default)s)")
