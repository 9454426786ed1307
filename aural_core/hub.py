"""Local-only loading of Hugging Face checkpoints, shared by the CLAP and MusicGen backends.

Real backends never download: they load from a directory or the local HF cache, and a missing
checkpoint raises ``ModelNotFoundError`` saying what is missing and how to provide it.
"""

from __future__ import annotations

import re
from pathlib import Path

from .errors import ModelNotFoundError, ParameterError


def pick_device(device=None):
    """CUDA when present (unless a device is given), else CPU."""
    import torch

    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ParameterError(f"device={device!r} is not a torch device such as 'cpu' or 'cuda:0'") from exc


def load_local(name: str, *, what: str, setting: str, loaders: tuple) -> tuple:
    """Call each ``loader.from_pretrained(name, local_files_only=True)``; errors name the checkpoint.

    ``what`` names the model family ("CLAP") and ``setting`` the config key that selects it.
    """
    try:
        return tuple(loader.from_pretrained(name, local_files_only=True) for loader in loaders)
    except (OSError, ValueError) as exc:  # missing files; an invalid repo id is a ValueError
        raise ModelNotFoundError(not_found_message(name, exc, what=what, setting=setting)) from exc


def not_found_message(name: str, exc: Exception, *, what: str, setting: str) -> str:
    """Why ``name`` did not load and how to provide it; a path and a hub id get different advice."""
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
