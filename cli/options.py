"""The options several commands share: ``--debug``, the config and task runner of a flow, and the
parsers of a command group (``aural models ...``, ``aural server ...``)."""

from __future__ import annotations

import argparse


def debug_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                   help="print the full traceback of an error instead of one line")


def common_options(p: argparse.ArgumentParser) -> None:
    """The options of every command that runs a flow over files."""
    from runtime.runners import PROCESSES_FROM_AUDIO_S, RUNNER_KINDS

    p.add_argument("--config", default=None, help="TOML/JSON config file (defaults otherwise)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--task-runner", choices=RUNNER_KINDS, default="auto",
                   help="where per-file tasks run; auto: worker processes when there are more than "
                        f"{PROCESSES_FROM_AUDIO_S / 60:.0f} minutes of audio to analyse, else threads "
                        "(default: %(default)s)")
    p.add_argument("--workers", type=int, default=2,
                   help="threads, processes or local Dask workers (default: %(default)s)")
    p.add_argument("--dask-address", default=None,
                   help="an existing Dask scheduler, e.g. tcp://host:8786 (with --task-runner dask)")
    debug_option(p)


def runner_parameters(args) -> dict:
    """The flow parameters of ``common_options``' task runner choice."""
    return {"task_runner": args.task_runner, "workers": args.workers, "dask_address": args.dask_address}


def command_group(sub, group: str, text: str, commands):
    """The parser of ``aural <group>`` under ``sub``, and one sub-parser per ``(name, func, help)``
    of ``commands``: yields ``(name, parser)`` for the command's own options, then adds
    ``--debug`` and ``func``. The chosen name is ``args.<group>_command``."""
    parser = sub.add_parser(group, help=text)
    group_sub = parser.add_subparsers(dest=f"{group}_command", required=True)
    for name, func, help_text in commands:
        command = group_sub.add_parser(name, help=help_text)
        yield name, command
        debug_option(command)
        command.set_defaults(func=func)
