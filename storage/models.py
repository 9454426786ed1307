# Over 350 lines: the one owner of adapter.pt and metadata.json (publish, load, verify, promote, gc: one lock).
"""Adapter files and their metadata: the one owner of ``adapter.pt`` and ``metadata.json``.

An adapter file is a state dict plus plain-type config, loadable with ``weights_only=True``;
its training metadata travels inside it (JSON text) and beside it as ``metadata.json``.

Publishing (``publish_adapter``) holds the models folder's lock, writes the new
``metadata.json`` (naming the adapter's SHA-256 and the one of the ``adapter.pt`` it replaces)
and ``adapter.pt`` under temporary names, then renames the metadata (the commit point), then the
adapter. A crash before the first rename leaves the old pair; a crash between the two leaves the
new metadata beside the adapter it names as replaced, which the next load (or ``aural models
verify``) recognises as an interrupted publish and finishes from the store (which holds every
version by hash). Any other disagreement is reported in one line, never loaded.
The store's versions are listed, verified, re-published and pruned by ``list_versions``,
``verify_models``, ``promote`` and ``gc`` (``aural models``).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import logging
import math
import os
import pickle
import platform
import tempfile
import time
import zipfile
from datetime import UTC, datetime
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import TYPE_CHECKING

from aural_core.errors import UnsafeCheckpointError

from .artifacts import ArtifactIntegrityError, ArtifactStore
from .atomic import write_bytes_atomic
from .layout import ModelsLayout
from .locking import folder_lock

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from aural_core.adapter import Adapter

# torch (and the adapter built on it) is imported where a weights file is read or written:
# publishing, listing records and the lock need none of it.

# 2: key and tempo heads over the sections' evidence (aural_core/heads.py); 3: the tempo head
# also reads the beat tracker's tempo
ADAPTER_FORMAT = "aural-adapter/5"
# 3 -> 4: the tempo head's candidates include the periodicity's maxima (labels version 5); 4 -> 5: the key
# head reads the file's opening and closing chroma and its profile scorer is fixed
OUTDATED_FORMATS = ("aural-adapter/1", "aural-adapter/2", "aural-adapter/3", "aural-adapter/4")
# No trained weight or standardisation statistic comes near this; a flipped exponent bit does.
MAX_ABS_WEIGHT = 1e6
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
    import torch

    buf = io.BytesIO()
    torch.save(payload, buf)
    return write_bytes_atomic(path, buf.getvalue())


def _read_payload(path: Path, data: bytes | None = None) -> dict:
    """The adapter file's payload (or that of its bytes ``data``), loaded without pickle;
    refuses anything else."""
    import torch

    try:
        payload = torch.load(io.BytesIO(data) if data is not None else path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, AttributeError, TypeError) as exc:
        raise UnsafeCheckpointError(
            f"{path}: refused, it is not a plain weights file (loading it would need pickle): {_first_line(exc)}"
        ) from exc
    except (EOFError, RuntimeError, ValueError, zipfile.BadZipFile, OSError) as exc:
        if isinstance(exc, RuntimeError) and "pickle" in str(exc).lower():
            raise UnsafeCheckpointError(
                f"{path}: refused, it is not a plain weights file (loading it would need pickle): {_first_line(exc)}"
            ) from exc
        raise ArtifactIntegrityError(f"{path}: not a readable adapter file (empty, truncated or corrupt): "
                                     f"{_first_line(exc)}") from exc
    if isinstance(payload, dict) and payload.get("format") in OUTDATED_FORMATS:
        raise OutdatedAdapterError(f"{path}: made by an earlier release ({payload['format']}, whose key and "
                                   "tempo heads decide otherwise): retrain with `aural train` (or `aural run`)")
    if not isinstance(payload, dict) or payload.get("format") != ADAPTER_FORMAT:
        raise UnsafeCheckpointError(f"{path}: not an {ADAPTER_FORMAT} file")
    return payload


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def load_adapter(path: str | Path, *, data: bytes | None = None) -> tuple[Adapter, dict]:
    """Rebuild an adapter from its file alone; returns it and the metadata stored inside.

    Refuses any file that needs pickle to load, a truncated or wrong-shape file, and weights
    that are not finite or out of any trained range (a flipped exponent bit). Prefer
    ``load_published`` for a published adapter: it also checks the hash in metadata.json.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: adapter file not found (train one with `aural train`)")
    from aural_core.adapter import Adapter, AdapterConfig

    payload = _read_payload(path)
    try:
        model = Adapter(AdapterConfig(**payload["config"]))
        model.load_state_dict(payload["state_dict"])
        metadata = json.loads(payload.get("metadata") or "{}")
    except (KeyError, TypeError, ValueError, RuntimeError, IndexError) as exc:
        raise ArtifactIntegrityError(f"{path}: not a usable adapter ({_first_line(exc)})") from exc
    for name, tensor in payload["state_dict"].items():
        if tensor.is_floating_point() and tensor.numel():
            worst = float(tensor.detach().abs().max())
            if not math.isfinite(worst) or worst > MAX_ABS_WEIGHT:
                raise ArtifactIntegrityError(
                    f"{path}: corrupt weights ({name} holds {worst:.3g}): retrain or re-publish it")
    model.eval()
    return model, {"config": payload["config"], **metadata}


def trained_file_ids(metadata: dict) -> set[str]:
    """File ids an adapter was trained or validated on (from its metadata)."""
    split = metadata.get("split", {})
    return set(split.get("train_files", [])) | set(split.get("val_files", []))


class OutdatedAdapterError(ArtifactIntegrityError):
    """An adapter file of an earlier release's format: it must be retrained."""


class AdapterMismatchError(ArtifactIntegrityError):
    """``adapter.pt`` is not the file its ``metadata.json`` describes."""


def model_store(models: ModelsLayout) -> ArtifactStore:
    """The models folder's content-addressed store, sharing the folder's lock."""
    return ArtifactStore(models.store, lock=models.lock)


def _write_temp(folder: Path, name: str, data: bytes) -> Path:
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def _sync_folder(folder: Path) -> None:
    """Flush a folder's entries (its renames) to disk, so that they land in the order made."""
    with contextlib.suppress(OSError):  # not every file system lets a folder be opened
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _remove_publish_leftovers(models: ModelsLayout) -> None:
    """Temporary files of publishes that died (called under the lock: no publish is running)."""
    for name in (models.adapter.name, models.metadata.name):
        for tmp in models.root.glob(f".{name}.*.tmp"):
            tmp.unlink(missing_ok=True)


def _stored_bytes(store: ArtifactStore, ref: str) -> bytes:
    """The bytes of the stored version ``ref``, checked against its hash as read."""
    data = store.get(ref).read_bytes()
    if hashlib.sha256(data).hexdigest() != store.digest(ref):
        raise ArtifactIntegrityError(f"artifact {ref} changed while it was read from {store.root}")
    return data


def publish_adapter(models: ModelsLayout, ref: str, metadata: dict) -> Path:
    """Publish the stored adapter ``ref`` as ``adapter.pt`` with its ``metadata.json``.

    Under the models folder's lock: the metadata (naming the adapter's SHA-256 and, as
    ``replaces_sha256``, that of the adapter.pt now in place) and a copy of the verified object
    are written under temporary names, then the metadata is renamed into place (the commit),
    then the adapter. On any error (disk full) the temporary files are removed; a crash between
    the two renames is finished by the next load (``_finish_interrupted_publish``).
    """
    store = model_store(models)
    with folder_lock(models.lock):
        models.root.mkdir(parents=True, exist_ok=True)
        _remove_publish_leftovers(models)
        data = _stored_bytes(store, ref)
        digest = store.digest(ref)
        replaced = hashlib.sha256(models.adapter.read_bytes()).hexdigest() if models.adapter.is_file() else None
        record = {"created_at": datetime.now(UTC).isoformat(timespec="seconds"), **metadata,
                  "artifact": ref, "adapter_sha256": digest, "replaces_sha256": replaced}
        temps = []
        try:
            temps.append(_write_temp(models.root, models.adapter.name, data))
            temps.append(_write_temp(models.root, models.metadata.name, json.dumps(record, indent=2).encode()))
            os.replace(temps[1], models.metadata)
            _sync_folder(models.root)
            os.replace(temps[0], models.adapter)
            _sync_folder(models.root)
        finally:
            for tmp in temps:
                tmp.unlink(missing_ok=True)
    return models.adapter


def read_metadata(models: ModelsLayout) -> dict:
    return json.loads(models.metadata.read_text())


def _models_of(source: ModelsLayout | str | Path) -> tuple[ModelsLayout, Path]:
    """A models folder and its adapter file, from the folder's layout or the adapter's path."""
    if isinstance(source, ModelsLayout):
        return source, source.adapter
    return ModelsLayout.of_adapter(source), Path(source)


def _metadata_or_none(models: ModelsLayout) -> dict | None:
    """metadata.json (None when there is none); one line when it cannot be read."""
    try:
        return read_metadata(models)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ArtifactIntegrityError(f"{models.metadata}: unreadable ({_first_line(exc)}): "
                                     "re-publish with `aural models promote <ref>` or retrain") from exc


def _digest_of(meta: dict) -> str | None:
    return meta.get("adapter_sha256") or str(meta.get("artifact", "")).removeprefix("sha256:") or None


def recorded_digest(models: ModelsLayout) -> str | None:
    """The SHA-256 metadata.json records for the published adapter (None without metadata)."""
    meta = _metadata_or_none(models)
    return _digest_of(meta) if meta is not None else None


@contextlib.contextmanager
def _reading(models: ModelsLayout):
    """Hold the models folder's lock while the published pair is read (a publish in progress
    renames the metadata and its adapter one after the other); yields whether it is held (a
    folder this user cannot lock, read-only, is read without it)."""
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(folder_lock(models.lock))
        except OSError as exc:
            if not isinstance(exc, PermissionError) and exc.errno != errno.EROFS:
                raise
            yield False
            return
        yield True


def _finish_interrupted_publish(models: ModelsLayout, expected: str, locked: bool) -> bytes:
    """Complete a publish that died between its two renames: write the version metadata.json
    names, from the store, as adapter.pt; returns its bytes (one line if it cannot be done)."""
    ref = f"sha256:{expected}"
    store = model_store(models)
    what = f"{models.adapter}: a publish of {ref[:19]} was interrupted"
    if ref not in store.refs():
        raise AdapterMismatchError(f"{what} and that version is not in {store.root}: "
                                   "retrain, or `aural models promote <ref>` another version")
    try:
        data = _stored_bytes(store, ref)
        if not locked:
            raise PermissionError(errno.EACCES, "cannot lock the models folder")
        tmp = _write_temp(models.root, models.adapter.name, data)
        try:
            os.replace(tmp, models.adapter)
        finally:
            tmp.unlink(missing_ok=True)
        _sync_folder(models.root)
    except (OSError, ArtifactIntegrityError) as exc:
        raise AdapterMismatchError(f"{what} and cannot be finished here ({_first_line(exc)}): "
                                   f"run `aural models promote {ref[:19]}` with write access") from exc
    logger.warning("%s: finished from the store", what)
    return data


def _published_bytes(source: ModelsLayout | str | Path) -> tuple[Path, bytes]:
    """The adapter's bytes, checked against the SHA-256 in metadata.json (read under the lock);
    an interrupted publish is finished first."""
    models, adapter = _models_of(source)
    ours = adapter.resolve() == models.adapter.resolve()
    if not ours or not models.metadata.is_file():
        if not adapter.is_file():
            raise FileNotFoundError(f"{adapter}: adapter file not found (train one with `aural train`)")
        return adapter, adapter.read_bytes()
    with _reading(models) as locked:
        meta = _metadata_or_none(models)
        expected = _digest_of(meta) if meta else None
        data = adapter.read_bytes() if adapter.is_file() else None
        actual = hashlib.sha256(data).hexdigest() if data is not None else None
        if expected is None or actual == expected:
            if data is None:
                raise FileNotFoundError(f"{adapter}: adapter file not found (train one with `aural train`)")
            return adapter, data
        if "replaces_sha256" in meta and actual == meta["replaces_sha256"]:
            return adapter, _finish_interrupted_publish(models, expected, locked)
    if data is None:
        raise FileNotFoundError(f"{adapter}: adapter file not found beside {models.metadata.name} "
                                f"(re-publish with `aural models promote sha256:{expected[:12]}` or retrain)")
    store = model_store(models)
    hint = (f"sha256:{expected[:12]}" if f"sha256:{expected}" in store.refs() else "<ref>")
    raise AdapterMismatchError(
        f"{adapter} does not match {models.metadata.name} (sha256 {actual[:12]}, recorded {expected[:12]}): "
        f"re-publish with `aural models promote {hint}` or retrain")


def verify_published(source: ModelsLayout | str | Path) -> str | None:
    """Check the published adapter against the SHA-256 in metadata.json; returns that hash.

    ``source`` is a models folder's layout or an adapter path (its metadata.json beside it).
    Returns None for an adapter published without metadata (nothing to check against).
    Raises ``AdapterMismatchError`` with a one-line message on any disagreement, after
    finishing an interrupted publish if that is what it finds.
    """
    models, adapter = _models_of(source)
    data = _published_bytes(source)[1]
    if adapter.resolve() == models.adapter.resolve() and models.metadata.is_file():
        return hashlib.sha256(data).hexdigest()
    return None


def load_published(source: ModelsLayout | str | Path) -> tuple[Adapter, dict]:
    """``load_adapter`` of a published adapter, from the very bytes checked against the
    SHA-256 in metadata.json (so a publish running meanwhile cannot swap them)."""
    adapter, data = _published_bytes(source)
    return load_adapter(adapter, data=data)


def describe_adapter(adapter: str | Path, info: dict) -> dict:
    """Who an adapter is, for a report: the fields of ``storage.report.AdapterReport`` but
    ``publication`` (its store version, when it was stored, lineage and input set, read from the
    metadata.json published beside it; ``info`` is what ``load_published`` returned)."""
    models, path = _models_of(adapter)
    meta = {}
    if path.resolve() == models.adapter.resolve():
        with contextlib.suppress(ArtifactIntegrityError):
            meta = _metadata_or_none(models) or {}
    ref, lineage = meta.get("artifact"), meta.get("lineage") or {}
    trained_at = None
    if ref:
        with contextlib.suppress(ArtifactIntegrityError, OSError):
            trained_at = model_store(models).record(ref).get("stored_at")
    return {"file": str(path.resolve()), "ref": ref, "trained_at": trained_at, "lineage": lineage.get("name"),
            "trained_on": lineage.get("folder"), "input_set": (meta.get("input_set") or {}).get("hash"),
            "n_train_files": len(info["split"]["train_files"]) if info.get("split") else None,
            "n_sections": info.get("n_sections"), "published": bool(ref)}


def stored_metadata(path: str | Path) -> dict:
    """The training metadata embedded in an adapter file (without building the model)."""
    return json.loads(_read_payload(Path(path)).get("metadata") or "{}")


def _val_loss(meta: dict) -> float | None:
    losses = [row.get("val_loss") for row in meta.get("history", []) if row.get("val_loss") is not None]
    return min(losses) if losses else None


def list_versions(models: ModelsLayout) -> list[dict]:
    """Every stored version, newest first: ref, stored_at, data_hash, lineage (the data folder's
    name, None before lineages), val_loss, published, ok."""
    store = model_store(models)
    try:
        published = recorded_digest(models)
    except ArtifactIntegrityError:
        published = None
    rows = []
    for ref in store.refs():
        record = store.record(ref)
        row = {"ref": ref, "stored_at": record.get("stored_at"), "data_hash": record.get("data_hash"),
               "lineage": (record.get("lineage") or {}).get("name"),
               "val_loss": None, "published": ref[7:] == published, "ok": True}
        try:
            meta = stored_metadata(store.get(ref))
            row["data_hash"] = row["data_hash"] or meta.get("data_hash")
            row["val_loss"] = _val_loss(meta)
        except (ArtifactIntegrityError, UnsafeCheckpointError, ValueError):
            row["ok"] = False
        rows.append(row)
    return sorted(rows, key=lambda r: (r["stored_at"] or "", r["ref"]), reverse=True)


def verify_models(models: ModelsLayout) -> list[str]:
    """Every problem of a models folder, one line each: corrupt store objects, and a published
    pair that disagrees (or whose version is not in the store)."""
    store = model_store(models)
    problems = store.verify()
    if models.adapter.is_file() and not models.metadata.is_file():
        problems.append(f"{models.metadata}: missing beside {models.adapter}")
    elif models.metadata.is_file():
        try:  # an interrupted publish is finished here
            digest = verify_published(models)
            if digest and f"sha256:{digest}" not in store.refs():
                problems.append(f"{models.adapter}: its version sha256:{digest[:12]} is not in {store.root}")
            load_adapter(models.adapter)
        except (ArtifactIntegrityError, UnsafeCheckpointError, FileNotFoundError) as exc:
            problems.append(str(exc))
    return problems


def promote(models: ModelsLayout, ref: str) -> str:
    """Re-publish the stored version ``ref`` (full or a unique hex prefix): a rollback.

    Its metadata.json is rebuilt from the training metadata embedded in the adapter file.
    """
    store = model_store(models)
    full = store.expand(ref)
    meta = {**stored_metadata(store.get(full)), **provenance(store.record(full))}
    publish_adapter(models, full, {**meta, "promoted_at": datetime.now(UTC).isoformat(timespec="seconds")})
    return full


PROVENANCE_KEYS = ("lineage", "input_set")


def provenance(record: dict) -> dict:
    """The lineage and input set a store record keeps for its adapter (``storage.lineage``)."""
    return {k: record[k] for k in PROVENANCE_KEYS if k in record}


def gc(models: ModelsLayout, keep: int, *, stale_seconds: float = 3600.0) -> list[str]:
    """Delete all but the ``keep`` newest unpublished versions (the published one always stays),
    and temporary files of writes that died over ``stale_seconds`` ago; returns deleted refs."""
    if keep < 0:
        raise ValueError(f"keep={keep} must be >= 0")
    store = model_store(models)
    with folder_lock(models.lock):
        unpublished = [row["ref"] for row in list_versions(models) if not row["published"]]
        doomed = unpublished[keep:]
        for ref in doomed:
            store.delete(ref)
        cutoff = time.time() - stale_seconds
        for pattern in (".*.tmp", "*/.*.tmp", "*/*/.*.tmp", "*/*/*/.*.tmp", "store/.staging-*.pt"):
            for tmp in models.root.glob(pattern):
                if tmp.is_file() and tmp.stat().st_mtime < cutoff:
                    tmp.unlink(missing_ok=True)
    return doomed
