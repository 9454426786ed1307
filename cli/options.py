"""The options several commands share: ``--debug``, and the config and task runner of a flow."""

from __future__ import annotations

import argparse


def debug_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                   help="print the full traceback of an error instead of one line")


def common_options(p: argparse.ArgumentParser) -> None:
    """The options of every command that runs a flow over files."""
    from runtime.runners import RUNNER_KINDS

    p.add_argument("--config", default=None, help="TOML/JSON config file (defaults otherwise)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--task-runner", choices=RUNNER_KINDS, default="threads",
                   help="where per-file tasks run (default: %(default)s)")
    p.add_argument("--workers", type=int, default=2,
                   help="threads, processes or local Dask workers (default: %(default)s)")
    p.add_argument("--dask-address", default=None,
                   help="an existing Dask scheduler, e.g. tcp://host:8786 (with --task-runner dask)")
    debug_option(p)


def runner_parameters(args) -> dict:
    """The flow parameters of ``common_options``' task runner choice."""
    return {"task_runner": args.task_runner, "workers": args.workers, "dask_address": args.dask_address}
