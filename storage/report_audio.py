"""Audio the report page plays: the source excerpt and every render of a section, as Ogg Vorbis."""

from __future__ import annotations

import io
import zlib
from pathlib import Path

import numpy as np
import soundfile as sf

from aural_core.audio import load_audio

from .atomic import write_bytes_atomic

AUDIO_SR = 22050
AUDIO_DIR = "audio"  # beside the report; the page refers to it by relative paths


def write_ogg(path: str | Path, y: np.ndarray) -> None:
    """Write mono ``y`` (at :data:`AUDIO_SR`) as Ogg Vorbis, atomically; the same audio gives
    the same bytes (see :func:`fixed_serial`)."""
    buf = io.BytesIO()
    sf.write(buf, y, AUDIO_SR, format="OGG", subtype="VORBIS")
    write_bytes_atomic(path, fixed_serial(buf.getvalue()))


# Each byte with its bits in reverse order: Ogg's checksum is zlib's CRC-32 bit-reversed.
_REVERSED = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))


def ogg_crc(page: bytes) -> int:
    """The checksum of an Ogg page (CRC-32, polynomial 0x04C11DB7, not reflected, no pre- or
    post-inversion), computed by zlib on bit-reversed bytes."""
    reflected = zlib.crc32(page.translate(_REVERSED), 0xFFFFFFFF) ^ 0xFFFFFFFF
    return int(f"{reflected:032b}"[::-1], 2)


def fixed_serial(data: bytes, serial: int = 1) -> bytes:
    """``data`` (one Ogg stream) with the stream serial number libsndfile draws at random set to
    ``serial`` on every page, and each page's checksum recomputed: reruns write identical files."""
    out, pos = bytearray(data), 0
    while pos < len(out):
        if out[pos:pos + 4] != b"OggS":
            raise ValueError(f"not an Ogg page at byte {pos}")
        n_segments = out[pos + 26]
        end = pos + 27 + n_segments + sum(out[pos + 27:pos + 27 + n_segments])
        out[pos + 14:pos + 18] = serial.to_bytes(4, "little")
        out[pos + 22:pos + 26] = bytes(4)
        out[pos + 22:pos + 26] = ogg_crc(bytes(out[pos:end])).to_bytes(4, "little")
        pos = end
    return bytes(out)


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
