"""Linear probes (aural_core/probe.py) in the models folder: files, metadata and their store.

A probe file is safetensors (no pickle): the map's arrays, the style-prompt targets it was
fitted against (``style_targets``, one text-space vector per style row, so its R² on new
sections needs no text encoder) and its metadata as JSON text in the header.

Probes live in ``models/probes/``, a content-addressed :class:`~storage.artifacts.ArtifactStore`
of their own beside the adapters' ``store/`` (sharing the folder's lock), so adapter listing,
publishing and pruning never see them. A probe is found by what makes it usable with a
published adapter: the adapter's training set (``data_hash``), the text encoder it maps into
and the style prompts it was fitted against (:func:`probe_name`).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aural_core.probe import LinearProbe

from .artifacts import ArtifactIntegrityError, ArtifactStore
from .atomic import write_bytes_atomic
from .layout import ModelsLayout

PROBE_FORMAT = "aural-probe/1"
_ARRAYS = ("weight", "bias", "x_mean", "x_scale")


@dataclass(frozen=True, eq=False)
class StoredProbe:
    """A probe as read back: the map, its style-prompt targets, metadata and store reference."""

    probe: LinearProbe
    style_targets: np.ndarray  # (n_styles, d_out)
    metadata: dict
    ref: str | None = None


def probe_store(models: ModelsLayout) -> ArtifactStore:
    return ArtifactStore(models.probes, lock=models.lock)


def probe_name(*, data_hash: str, text_model: str, styles_hash: str) -> str:
    """The store name of the probe for one training set, text encoder and style table."""
    target = hashlib.sha256(f"{text_model}|{styles_hash}|{PROBE_FORMAT}".encode()).hexdigest()[:12]
    return f"probe-{data_hash}-{target}"


def save_probe(path: str | Path, probe: LinearProbe, *, style_targets: np.ndarray, metadata: dict) -> Path:
    """Write a probe file atomically (same inputs, same bytes)."""
    from safetensors.numpy import save

    tensors = {name: np.ascontiguousarray(getattr(probe, name), dtype=np.float32) for name in _ARRAYS}
    tensors["style_targets"] = np.ascontiguousarray(style_targets, dtype=np.float32)
    # One header entry: safetensors keeps its metadata in a hash map, whose order (and so the
    # file's bytes) would vary between writes with several entries.
    header = {"aural": json.dumps({"format": PROBE_FORMAT, "alpha": float(probe.alpha), "metadata": metadata},
                                  sort_keys=True)}
    return write_bytes_atomic(path, save(tensors, metadata=header))


def load_probe(path: str | Path) -> StoredProbe:
    """Read a probe file; refuses anything that is not a whole, finite ``aural-probe/1`` file."""
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    try:
        with safe_open(str(path), framework="numpy") as fh:
            header = json.loads((fh.metadata() or {}).get("aural") or "{}")
            if header.get("format") != PROBE_FORMAT:
                raise ArtifactIntegrityError(f"{path}: not an {PROBE_FORMAT} file")
            arrays = {name: fh.get_tensor(name) for name in (*_ARRAYS, "style_targets")}
        probe = LinearProbe(**{k: arrays[k] for k in _ARRAYS}, alpha=float(header["alpha"]))
        metadata = header.get("metadata") or {}
    except ArtifactIntegrityError:
        raise
    except (OSError, SafetensorError, KeyError, ValueError, TypeError) as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ArtifactIntegrityError(f"{path}: not a usable probe file ({reason})") from exc
    targets = arrays["style_targets"]
    if targets.ndim != 2 or targets.shape[1] != probe.d_out or not np.all(np.isfinite(targets)):
        raise ArtifactIntegrityError(f"{path}: style_targets {targets.shape} do not fit a probe of width {probe.d_out}")
    return StoredProbe(probe=probe, style_targets=targets, metadata=metadata)


def store_probe(models: ModelsLayout, probe: LinearProbe, *, style_targets: np.ndarray, metadata: dict,
                name: str) -> str:
    """Put a probe into the models folder's probe store under ``name``; returns its reference."""
    store = probe_store(models)
    store.root.mkdir(parents=True, exist_ok=True)
    staging = store.root / f".staging-{uuid.uuid4().hex}.safetensors"  # unique: trainings may overlap
    try:
        save_probe(staging, probe, style_targets=style_targets, metadata=metadata)
        return store.put(staging, name=name, meta={"format": PROBE_FORMAT, "data_hash": metadata.get("data_hash")})
    finally:
        staging.unlink(missing_ok=True)


def find_probe(models: ModelsLayout, name: str) -> StoredProbe | None:
    """The probe last stored under ``name`` (verified against its hash), or None when there is none."""
    store = probe_store(models)
    try:
        ref = store.resolve(name)
    except ArtifactIntegrityError:
        return None
    stored = load_probe(store.get(ref))
    return StoredProbe(probe=stored.probe, style_targets=stored.style_targets, metadata=stored.metadata, ref=ref)
