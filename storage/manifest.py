"""Input manifests: which audio files a folder holds and their content ids."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from aural_core.audio import AUDIO_EXTENSIONS


def file_id(path: str | Path) -> str:
    """First 16 hex chars of the SHA-256 of the file's bytes (the contract's ``file_id``)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class InputFile:
    path: Path
    file_id: str | None     # None when the file could not be read while listing
    error: str | None = None

    @property
    def name(self) -> str:
        return self.path.name


def list_inputs(folder: str | Path) -> list[InputFile]:
    """Audio files under ``folder`` (recursive, sorted), each with its content id.

    A file that cannot be read while listing is kept with its error so that the run can
    report it as a failed file instead of silently skipping it.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"input folder {folder} does not exist")
    files = []
    for path in sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS):
        try:
            files.append(InputFile(path, file_id(path)))
        except OSError as exc:
            files.append(InputFile(path, None, f"cannot read file ({exc})"))
    return files


def manifest_path(cache: str | Path, name: str) -> Path:
    """``<cache>/manifests/<name>.json``: which files an analysis of folder ``name`` covered."""
    return Path(cache) / "manifests" / f"{name}.json"


def write_manifest(cache: str | Path, input_dir: str | Path, files: list[dict]) -> Path:
    """Record the analysed files of ``input_dir`` (source, file_id, status), atomically."""
    import json

    from .atomic import write_text_atomic

    name = Path(input_dir).resolve().name
    # Sorted: tasks finish in any order, and every later stage follows this list's order.
    body = {"input_dir": str(Path(input_dir).resolve()), "files": sorted(files, key=lambda f: f["source"])}
    return write_text_atomic(manifest_path(cache, name), json.dumps(body, indent=2))


def read_manifest(cache: str | Path, name: str) -> dict:
    import json

    path = manifest_path(cache, name)
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: run `aural analyze --in <folder named {name}>` first")
    return json.loads(path.read_text())
