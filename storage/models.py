"""Adapter files and their metadata: the one owner of ``adapter.pt`` and ``metadata.json``.

An adapter file is a state dict plus plain-type config, loadable with ``weights_only=True``;
its training metadata travels inside it (JSON text) and beside it as ``metadata.json``.
"""

from __future__ import annotations

import io
import json
import pickle
import platform
from datetime import UTC, datetime
from importlib import metadata as importlib_metadata
from pathlib import Path

import torch

from aural_core.adapter import Adapter, AdapterConfig
from aural_core.errors import UnsafeCheckpointError

from .artifacts import ArtifactStore
from .atomic import write_bytes_atomic, write_text_atomic
from .layout import ModelsLayout

ADAPTER_FORMAT = "aural-adapter/1"
LIBRARIES = ("torch", "numpy", "scipy", "librosa", "scikit-learn", "pyarrow", "prefect", "soundfile")


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            versions[name] = "missing"
    return versions


def training_metadata(*, config, styles, styles_hash: str, dataset: dict, report: dict) -> dict:
    """What an adapter records about how it was made (no timestamp: same inputs, same bytes).

    ``config`` is the ``AuralConfig``; ``dataset`` the training set's hash and counts;
    ``report`` the training result (history, best epochs, metrics, split).
    """
    train = config.train
    return {
        "libraries": library_versions(),
        "hyperparameters": train.model_dump(),
        "seeds": {"python": train.seed, "numpy": train.seed, "torch": train.seed},
        "data_hash": dataset["data_hash"], "n_sections": dataset["n_sections"], "n_files": dataset["n_files"],
        # The corpus-prior reference of the evaluation: the training labels' modes and median BPM.
        "prior": dataset.get("prior"),
        "config_hash": config.config_hash(),
        "config_hashes": {k: getattr(config, k).config_hash()
                          for k in ("features", "labels", "sections", "train", "augment")},
        # Training-time augmentation: its settings and the copies each training file got.
        "augment": {**config.augment.model_dump(mode="json"), "enabled": config.augment.enabled,
                    "n_augmented_sections": dataset.get("n_augmented_sections", 0),
                    "copies": dataset.get("augmented_copies", {})},
        "styles": styles.to_json(), "styles_hash": styles_hash,
        **report,
        "curves": [{k: r[k] for k in ("epoch", "train_loss", "val_loss")} for r in report.get("history", [])],
    }


def save_adapter(path: str | Path, model: Adapter, *, metadata: dict | None = None) -> Path:
    """Write ``{"format", "config", "state_dict", "metadata"}`` atomically (metadata as JSON text)."""
    payload = {"format": ADAPTER_FORMAT, "config": model.config.to_dict(),
               "state_dict": {k: v.detach().clone() for k, v in model.state_dict().items()},
               "metadata": json.dumps(metadata or {}, sort_keys=True)}
    # Serialise to memory: torch.save names the archive after the file, and the atomic temp
    # name is random, which would make identical weights hash differently.
    buf = io.BytesIO()
    torch.save(payload, buf)
    return write_bytes_atomic(path, buf.getvalue())


def load_adapter(path: str | Path) -> tuple[Adapter, dict]:
    """Rebuild an adapter from its file alone; returns it and the metadata stored inside.

    Refuses any file that needs pickle to load.
    """
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
    return model, {"config": payload["config"], **json.loads(payload.get("metadata") or "{}")}


def trained_file_ids(metadata: dict) -> set[str]:
    """File ids an adapter was trained or validated on (from its metadata)."""
    split = metadata.get("split", {})
    return set(split.get("train_files", [])) | set(split.get("val_files", []))


def publish_adapter(models: ModelsLayout, ref: str, metadata: dict) -> Path:
    """Publish the stored adapter ``ref`` as ``adapter.pt`` with its ``metadata.json``."""
    ArtifactStore(models.store).publish(ref, models.adapter)
    record = {"created_at": datetime.now(UTC).isoformat(timespec="seconds"), **metadata, "artifact": ref}
    write_text_atomic(models.metadata, json.dumps(record, indent=2))
    return models.adapter


def read_metadata(models: ModelsLayout) -> dict:
    return json.loads(models.metadata.read_text())
