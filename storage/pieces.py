"""Whole-piece renders on disk: ``<stem>.wav`` with its cue sheet, ``<stem>.json`` (the
``aural-cue/1`` dict of ``aural_core.render.whole.cue_sheet``) and ``<stem>.cue`` (for players
and editors), each written atomically with its checksum recorded, so that a cached piece is
reused only while all three are intact."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import soundfile as sf

from aural_core.render.whole import CUE_FORMAT

from .atomic import atomic_path, write_text_atomic
from .integrity import record_checksum
from .manifest import display_name


def piece_paths(out_dir: str | Path, stem: str) -> dict[str, Path]:
    """The three files of the piece ``stem`` in ``out_dir``: ``wav``, ``json`` and ``cue``."""
    out_dir = Path(out_dir)
    return {ext: out_dir / f"{stem}.{ext}" for ext in ("wav", "json", "cue")}


def piece_stems(sources: list[tuple[str, str]]) -> list[str]:
    """An output name per input (``(file name, file_id)``): the name without its extension,
    shown safely (``display_name``); inputs that would share one also get their id's first 8
    characters (``a.wav`` and ``a.flac``, or two ``take.wav`` in sub-folders)."""
    stems = [display_name(Path(name).stem) or "piece" for name, _ in sources]
    return [f"{s}-{fid[:8]}" if stems.count(s) > 1 else s for s, (_, fid) in zip(stems, sources)]


def write_piece(paths: dict[str, Path], audio: np.ndarray, sr: int, sheet: dict, cue: str) -> dict[str, str]:
    """Write the WAV (16-bit PCM), the JSON cue sheet and the .cue text; returns their paths."""
    with atomic_path(paths["wav"]) as tmp:
        sf.write(tmp, np.asarray(audio, dtype=np.float32), int(sr), format="WAV", subtype="PCM_16")
    write_text_atomic(paths["json"], json.dumps(sheet, indent=1) + "\n")
    write_text_atomic(paths["cue"], cue)
    for path in paths.values():
        record_checksum(path)
    return {k: str(p) for k, p in paths.items()}


def read_cue_sheet(path: str | Path) -> dict:
    """A cue sheet written by ``write_piece`` (its ``format`` checked)."""
    sheet = json.loads(Path(path).read_text())
    if not isinstance(sheet, dict) or sheet.get("format") != CUE_FORMAT:
        raise ValueError(f"{path}: not an {CUE_FORMAT} cue sheet")
    return sheet
