"""Audio the report page plays: the source excerpt and every render of a section, as Ogg Vorbis."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from aural_core.audio import load_audio

from .atomic import atomic_path

AUDIO_SR = 22050
AUDIO_DIR = "audio"  # beside the report; the page refers to it by relative paths


def write_ogg(path: str | Path, y: np.ndarray) -> None:
    """Write mono ``y`` (at :data:`AUDIO_SR`) as Ogg Vorbis, atomically."""
    with atomic_path(path) as tmp:
        sf.write(tmp, y, AUDIO_SR, format="OGG", subtype="VORBIS")


def source_excerpt(path: str | Path, spans: list, seconds: float) -> np.ndarray:
    """The section's audio (its spans in order), at most ``seconds`` long."""
    y = load_audio(path, sr=AUDIO_SR)
    parts, total = [], 0
    for start, end in spans:
        part = y[int(start * AUDIO_SR): int(end * AUDIO_SR)][: int(seconds * AUDIO_SR) - total]
        parts.append(part)
        total += len(part)
    return np.concatenate(parts) if parts else np.zeros(1, np.float32)


def write_section_audio(out_dir: str | Path, stem: str, *, source: str | Path, spans: list,
                        seconds: float, renders: dict[str, str | Path]) -> dict[str, str]:
    """Write ``audio/<stem>-source.ogg`` and ``audio/<stem>-<kind>.ogg`` per render under ``out_dir``.

    Parameters
    ----------
    out_dir : str or Path
        The report's folder.
    stem : str
        Unique name of the section, e.g. ``"<file_id>-<section>"``.
    source, spans, seconds
        The input file, the section's ``[start_s, end_s]`` spans in it, and the excerpt's
        maximum length.
    renders : dict
        ``{kind: path}`` of the section's renders (any format and rate; resampled to :data:`AUDIO_SR`).

    Returns
    -------
    paths : dict
        ``{"source", <kind>...}``: the written files relative to ``out_dir``.
    """
    out_dir = Path(out_dir)
    paths = {"source": f"{AUDIO_DIR}/{stem}-source.ogg"}
    write_ogg(out_dir / paths["source"], source_excerpt(source, spans, seconds))
    for kind, path in renders.items():
        paths[kind] = f"{AUDIO_DIR}/{stem}-{kind}.ogg"
        write_ogg(out_dir / paths[kind], load_audio(path, sr=AUDIO_SR))
    return paths
