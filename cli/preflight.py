"""What a command checks before any server starts or file is read: its paths, its config (value
ranges, the style table it names), its task runner and that its output folders are writable.

Each check returns the problem as one line (or None): the command prints it and exits 2. Only
light modules are imported here; the flows load after the checks pass.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from storage.layout import DATA_DIR, CacheLayout, DataLayout, ModelsLayout, ReportsLayout

from .console import one_line, printable

# The paths each command reads, which must exist: (argument, what it is).
INPUTS = {"analyze": [("input", "input folder")], "eval": [("input", "input folder"), ("adapter", "adapter file")],
          "render": [("input", "input file or folder"), ("adapter", "adapter file")],
          "train": [("cache", "cache folder")]}


class IfPresent(type(Path())):
    """A sub-folder to check only when it exists (its parent is created and checked)."""


def check(args) -> str | None:
    """The first problem of the command ``args`` a user can fix before any flow starts."""
    return _check_paths(args) or _check_settings(args) or _check_outputs(args) or _check_adapter(args)


def _check_paths(args) -> str | None:
    """Paths read that do not exist (no Prefect server needed to say so)."""
    for attr, what in INPUTS.get(args.command, []):
        if not Path(getattr(args, attr)).exists():
            return f"{what} {getattr(args, attr)} does not exist"
    if args.command == "train":
        from aural_core.errors import InputsMissingError
        from storage.manifest import resolve_manifest

        cache = CacheLayout(Path(args.cache))
        try:
            name = resolve_manifest(cache, args.manifest)
        except InputsMissingError as exc:
            return str(exc)
        if not cache.manifest(name).is_file():
            return (f"{args.cache} holds no analysis of a folder named {name!r}: "
                    f"run `aural analyze --in <.../{name}> --out {args.cache}` first, "
                    "or name the analysed folder with --manifest")
    if args.command == "run" and args.data is not None:  # no --data: the demo corpus fills an empty folder
        from storage.manifest import holds_audio, no_audio_message

        inputs = DataLayout.resolve(args.data).inputs
        if not holds_audio(inputs):
            return no_audio_message(inputs, Path(args.data))
    if getattr(args, "config", None) and not Path(args.config).is_file():
        return f"config file {args.config} does not exist"
    return None


def _check_settings(args) -> str | None:
    """The task runner and the config values (and the style table the config names)."""
    from aural_core.config import load_config
    from aural_core.errors import AuralError

    if hasattr(args, "task_runner"):
        from runtime.runners import check_runner

        try:
            check_runner(args.task_runner, args.workers, args.dask_address)
        except AuralError as exc:
            return one_line(exc)
    if hasattr(args, "config"):
        try:
            config = load_config(args.config)
            if config.labels.styles_path:
                from aural_core.styles import load_style_table

                load_style_table(config.labels.styles_path)
        except (AuralError, OSError, ValueError) as exc:
            return one_line(exc)
    return None


def _check_outputs(args) -> str | None:
    for folder in output_folders(args):
        if isinstance(folder, IfPresent) and not folder.is_dir():
            continue
        problem = check_writable(folder)
        if problem:
            return problem
    return None


def _check_adapter(args) -> str | None:
    """The adapter ``eval`` and ``render`` use loads (format, checksum)."""
    if args.command not in ("eval", "render"):
        return None
    from aural_core.errors import AuralError
    from storage.models import load_published

    try:
        load_published(args.adapter)
    except (AuralError, OSError) as exc:
        return one_line(exc)
    return None


def _cache_folders(root: str | Path) -> list[Path]:
    cache = CacheLayout(Path(root))
    return [cache.root, *(IfPresent(p) for p in (cache.frames_dir, cache.sections_dir, cache.manifests,
                                          cache.renders, cache.prefect_results))]


def output_folders(args) -> list[Path]:
    """The folders a command writes into (created when missing by the preflight); input
    folders are never among them (they may be read-only mounts)."""
    if args.command == "demo":
        return [Path(args.out)]
    if args.command == "analyze":
        return _cache_folders(args.out)
    if args.command == "train":
        models = ModelsLayout.of_adapter(args.out)
        return [*_cache_folders(args.cache), models.root, IfPresent(models.store)]
    if args.command == "eval":
        reports = ReportsLayout.of_report(args.report)
        return [*_cache_folders(args.cache), reports.root, IfPresent(reports.audio)]
    if args.command == "render":
        return [*_cache_folders(args.cache), Path(args.out)]
    if args.command == "run":
        layout = DataLayout.resolve(args.data or DATA_DIR, args.models, args.reports)
        return [layout.data, *_cache_folders(layout.cache.root), layout.models.root, IfPresent(layout.models.store),
                layout.reports.root, IfPresent(layout.reports.audio)]
    return []


def check_writable(folder: Path) -> str | None:
    """None when a file can be created in ``folder`` (created if missing); else
    "cannot write to <folder> (<reason>)"."""
    folder = Path(folder).resolve()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".aural-write-check-", dir=folder)
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        return f"cannot write to {printable(str(folder))} ({exc.strerror or exc})"
    return None
