"""Local-only loading of Hugging Face checkpoints, shared by the CLAP and MusicGen backends.

Real backends never download: they load from a directory or the local HF cache, and a missing
checkpoint raises ``ModelNotFoundError`` saying what is missing and how to provide it.
"""

from __future__ import annotations

import re
from pathlib import Path

from .errors import ModelNotFoundError, ParameterError


def pick_device(device=None):
    """The torch device to run a model on: ``device`` when given, else CUDA when present, else the CPU.

    Parameters
    ----------
    device : str, torch.device or None
        A device such as ``"cpu"`` or ``"cuda:0"``; ``None`` picks one.

    Returns
    -------
    torch.device

    Raises
    ------
    ParameterError
        When ``device`` is not a torch device; the message quotes it.
    """
    import torch

    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ParameterError(f"device={device!r} is not a torch device such as 'cpu' or 'cuda:0'") from exc


def load_local(name: str, *, what: str, setting: str, loaders: tuple) -> tuple:
    """Load a checkpoint's parts from local files only: ``loader.from_pretrained(name, local_files_only=True)``.

    Parameters
    ----------
    name : str
        Hub id in the local Hugging Face cache, or a checkpoint directory.
    what : str
        The model family, for messages (e.g. ``"CLAP"``).
    setting : str
        The config key that selects the checkpoint, for messages (e.g. ``"features.clap_model"``).
    loaders : tuple
        Classes (or objects) with a ``from_pretrained`` method, called in order.

    Returns
    -------
    tuple
        What each loader returned, in the order of ``loaders``.

    Raises
    ------
    ModelNotFoundError
        When a loader cannot find or read the files; the message says how to provide them
        (see :func:`not_found_message`).
    """
    try:
        return tuple(loader.from_pretrained(name, local_files_only=True) for loader in loaders)
    except (OSError, ValueError) as exc:  # missing files; an invalid repo id is a ValueError
        raise ModelNotFoundError(not_found_message(name, exc, what=what, setting=setting)) from exc


def not_found_message(name: str, exc: Exception, *, what: str, setting: str) -> str:
    """Why a checkpoint did not load and how to provide it; a path and a hub id get different advice.

    Parameters
    ----------
    name : str
        The checkpoint asked for: a hub id or a directory.
    exc : Exception
        The loader's error; the first line of its message is quoted.
    what : str
        The model family (e.g. ``"MusicGen"``).
    setting : str
        The config key that selects the checkpoint.

    Returns
    -------
    str
        One paragraph, without a trailing newline.
    """
    reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if re.fullmatch(r"[\w.-]+(/[\w.-]+)?", name) and not Path(name).exists():  # a hub id
        return (
            f"{what} checkpoint {name!r} is not in the local Hugging Face cache ({reason}). "
            f"Models are never downloaded at run time: run `hf download {name}` on a connected "
            "machine and copy its cache here (~/.cache/huggingface, or point HF_HOME at the "
            f"copy), or set the config's {setting} to a local checkpoint directory."
        )
    where = f"holds no loadable checkpoint ({reason})" if Path(name).exists() else "does not exist"
    return (
        f"{what} checkpoint directory {name!r} {where}. Models are never downloaded at run "
        f"time: fill it with save_pretrained (model and processor), or set the config's "
        f"{setting} to a hub id present in the local Hugging Face cache."
    )
