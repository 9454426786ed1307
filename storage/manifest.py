"""Input manifests: which audio files a folder holds, their content ids and how each analysed.

File names that are not valid UTF-8 (Python hands them over with surrogate escapes, e.g.
``os.fsdecode(b"bad\xff.wav") == "bad\udcff.wav"``) are shown and stored as ``display_name``
(storage/names.py) gives them (``bad\xff.wav``, a literal backslash): in Parquet ``source``
columns, manifests, summaries, artifacts and Prefect run names, none of which accept lone
surrogates. The manifest's ``path`` keeps the real name (JSON escapes it as ``\udcff``), so it
can be opened.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from aural_core.audio import AUDIO_EXTENSIONS
from aural_core.errors import InputsMissingError

from .atomic import write_text_atomic
from .layout import EVAL, CacheLayout, manifest_name
from .names import display_name  # the one rule for names (storage/names.py); imported from here too

ID_CHARS = 16


def file_id(path: str | Path) -> str:
    """First 16 hex chars of the SHA-256 of the file's bytes (the contract's ``file_id``)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:ID_CHARS]


@dataclass(frozen=True)
class InputFile:
    path: Path
    file_id: str | None     # None when the file could not be read while listing
    error: str | None = None

    @property
    def name(self) -> str:
        """The file name as stored and shown (``display_name``)."""
        return display_name(self.path.name)


def holds_audio(folder: str | Path) -> bool:
    """Whether ``folder`` exists and holds an audio file (any depth), without reading one."""
    folder = Path(folder)
    return folder.is_dir() and any(p.suffix.lower() in AUDIO_EXTENSIONS for p in folder.rglob("*"))


def no_audio_message(inputs: Path, data: Path) -> str:
    """What to do when the training folder ``inputs`` of the data folder ``data`` holds no audio."""
    return (f"{inputs} is missing or holds no audio files ({' '.join(AUDIO_EXTENSIONS)}): put training audio "
            f"there (and held-out audio in {data / EVAL}/), or write the demo corpus there with "
            f"`aural demo --out {data}`")


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


def write_manifest(cache: CacheLayout, input_dir: str | Path, files: list[dict]) -> Path:
    """Record the analysed files of ``input_dir`` atomically: per file its ``source`` (display
    name), ``path`` (relative to the folder, the real name), ``file_id``, ``status`` and, when
    analysed, ``frames`` (path relative to the cache) and ``frames_key``."""
    # Sorted: tasks finish in any order, and every later stage follows this list's order.
    body = {"input_dir": str(Path(input_dir).resolve()), "files": sorted(files, key=lambda f: f["source"])}
    return write_text_atomic(cache.manifest_for(input_dir), json.dumps(body, indent=2))


def read_manifest(cache: CacheLayout, name: str) -> dict:
    """The manifest of the analysed folder called ``name`` (see ``layout.manifest_name``)."""
    path = cache.manifest(name)
    if not path.is_file():
        raise InputsMissingError(f"{path} not found: run `aural analyze --in <folder named {name}>` first")
    return json.loads(path.read_text())


def resolve_manifest(cache: CacheLayout, manifest: str | None) -> str:
    """The analysed folder to train on: ``manifest`` (a folder name or the folder's path), or
    the cache's only analysed folder besides ``eval`` when ``manifest`` is None."""
    if manifest:
        return manifest_name(manifest) if ("/" in manifest or Path(manifest).is_dir()) else manifest
    candidates = [n for n in cache.analysed_folders() if n != EVAL] or cache.analysed_folders()
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise InputsMissingError(f"{cache.root} holds no analysed folder: run `aural analyze --in <folder> "
                                f"--out {cache.root}` first")
    raise InputsMissingError(f"{cache.root} holds analyses of {len(candidates)} folders ({', '.join(candidates)}): "
                            "name the one to train on with --manifest")


def source_path(manifest: dict, source: str) -> Path:
    """Where the analysed file ``source`` (a file name of ``manifest["files"]``) lives now:
    ``input_dir/source``, else the one file of that name under ``input_dir`` (folders are
    listed recursively). Callers check its content id against the manifest's.
    """
    folder = Path(manifest["input_dir"])
    direct = folder / source
    if direct.is_file():
        return direct
    matches = sorted(p for p in folder.rglob("*") if p.name == source and p.is_file()) if folder.is_dir() else []
    if len(matches) != 1:
        found = "no file" if not matches else f"{len(matches)} files"
        raise InputsMissingError(f"{folder}: {found} named {source!r} (it was analysed there; "
                                 "re-run `aural analyze` if the folder moved)")
    return matches[0]
