"""The ``aural`` command line: each command runs a Prefect flow and prints a summary.

Before any server starts or file is read, a command checks its paths, its config (value
ranges) and that its output folders are writable; every failure is one line on stderr with
exit status 2 (1 when only some files failed), or a full traceback with ``--debug``. When the
Prefect server stops answering mid-run the work goes on, unrecorded (one line says so), and a
command whose work succeeded exits 3: done and written, but not recorded. Without
``PREFECT_API_URL`` the command uses the server ``aural server start`` left running in this
folder (cli/server_cmd.py), else runs its own temporary Prefect server as a child that dies
with it (runtime/local_server.py). ``aural models`` manages the model store without any server.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import signal
import sys

from runtime.termination import Terminated, forget_termination, raise_if_terminated, raise_terminated

from . import models_cmd, pipeline_cmds, preflight, server_cmd
from .console import one_line, quiet_console
from .prefect_session import prefect_api, prefect_defaults

DESCRIPTION = """Learn generation controls from your music, render with them, and score the renders.

Each command runs a Prefect flow and prints a summary. Problems found before any work starts
(missing folders, bad settings, unwritable outputs) are one line with exit status 2; when only
some files fail the command finishes the others and exits 1; exit status 3 means the work is
done and written but the Prefect server stopped answering and did not record all of it. With
no PREFECT_API_URL set, a command uses the server `aural server start` left running in this
folder, or starts a temporary one of its own. `aural models` works without any server.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aural", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--debug", action="store_true", help="print full tracebacks instead of one line")
    sub = parser.add_subparsers(dest="command", required=True)
    pipeline_cmds.add_parsers(sub)
    models_cmd.add_parser(sub)
    server_cmd.add_parser(sub)
    return parser


def _import_analysis_modules() -> None:
    """What analysing a file imports (3-5 s: librosa's modules, their compiled kernels), done
    while a temporary server starts instead of in the first file's task."""
    from aural_core.warmup import import_analysis_modules

    import_analysis_modules()


def _analysis_in_this_process(args) -> bool:
    """Whether the command analyses audio in its own process (threads), so that importing the
    analysis beside a starting server saves time; with worker processes it would only hold
    ~270 MB in this one. ``auto`` is judged on the folder's whole length here (cheap; the flow
    then counts only what is not cached yet)."""
    kind = getattr(args, "task_runner", "threads")
    if kind == "auto" and getattr(args, "input", None):
        from flows.analyze import folder_audio_seconds
        from runtime.runners import auto_runner

        kind = auto_runner(folder_audio_seconds(args.input))
    return kind in ("auto", "threads")


def _run_flow_command(args, name: str) -> int:
    """A pipeline command, checked first, under the Prefect API it uses; its exit status."""
    problem = preflight.check(args)
    if problem:
        print(f"aural {name}: {problem}", file=sys.stderr)
        return 2
    if not getattr(args, "debug", False):
        quiet_console()
    module = f"flows.{pipeline_cmds.FLOW_MODULES[args.command]}"
    preload = _import_analysis_modules if _analysis_in_this_process(args) else None
    with prefect_api(prepare=lambda: importlib.import_module(module), announce=not getattr(args, "quiet", False),
                     while_starting=preload):
        status = args.func(args)
    from runtime.server_watch import command_end

    return command_end(status, name, pipeline_cmds.written_by(args))  # exit 3 when the server missed some work


def main(argv: list[str] | None = None) -> int:
    prefect_defaults()
    args = build_parser().parse_args(argv)
    debug = getattr(args, "debug", False)
    name = f"{args.command} {getattr(args, f'{args.command}_command', '')}".strip()  # "models list"
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM,)}
    forget_termination()  # before the handler goes in: a signal from here on counts
    try:
        signal.signal(signal.SIGTERM, raise_terminated)
    except ValueError:  # not the main thread (a test runner): no handler
        previous = {}
    try:
        if args.command in ("models", "server"):
            status = args.func(args)
        else:
            status = _run_flow_command(args, name)
        raise_if_terminated()  # a SIGTERM whose exception was lost on the way (runtime/termination.py)
        return status
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Terminated as exc:
        print(f"aural {name}: terminated", file=sys.stderr)
        return 128 + exc.signum
    except Exception as exc:  # every failure the user sees is one line (the trace with --debug)
        if debug:
            import traceback

            traceback.print_exc()
        print(f"aural {name}: {one_line(exc)}", file=sys.stderr)
        return 2
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if argv is None:  # the process ends next: its final garbage collection over every object
            gc.freeze()   # Prefect and pydantic made would take seconds, for nothing


if __name__ == "__main__":
    sys.exit(main())
