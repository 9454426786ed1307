"""Adapter files: a state dict plus plain-type config, loadable with ``weights_only=True``."""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import torch

from aural_core.adapter import Adapter, AdapterConfig
from aural_core.errors import UnsafeCheckpointError

from .atomic import write_bytes_atomic

ADAPTER_FORMAT = "aural-adapter/1"


def save_adapter(path: str | Path, model: Adapter, *, extra: dict | None = None) -> Path:
    """Write ``{"format", "config", "state_dict", **extra}`` atomically; extra must be plain types."""
    payload = {"format": ADAPTER_FORMAT, "config": model.config.to_dict(),
               "state_dict": {k: v.detach().clone() for k, v in model.state_dict().items()},
               **(extra or {})}
    # Serialise to memory: torch.save names the archive after the file, and the atomic temp
    # name is random, which would make identical weights hash differently.
    buf = io.BytesIO()
    torch.save(payload, buf)
    return write_bytes_atomic(path, buf.getvalue())


def load_adapter(path: str | Path) -> tuple[Adapter, dict]:
    """Rebuild an adapter from its file alone; refuses any file that needs pickle to load."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: adapter file not found (train one with `aural train`)")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, AttributeError, TypeError) as exc:
        raise UnsafeCheckpointError(
            f"{path}: refused, it is not a plain weights file (loading it would need pickle): {exc}"
        ) from exc
    if not isinstance(payload, dict) or payload.get("format") != ADAPTER_FORMAT:
        raise UnsafeCheckpointError(f"{path}: not an {ADAPTER_FORMAT} file")
    model = Adapter(AdapterConfig(**payload["config"]))
    model.load_state_dict(payload["state_dict"])
    model.eval()
    return model, {k: v for k, v in payload.items() if k not in ("state_dict",)}
