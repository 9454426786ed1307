"""Report audio is reproducible: the same samples give the same Ogg bytes (libsndfile draws the
stream serial number at random), and the files stay valid Ogg Vorbis."""

from __future__ import annotations

import io

import numpy as np
import soundfile as sf

from storage.report_audio import AUDIO_SR, fixed_serial, ogg_crc, write_ogg


def tone(seconds: float = 3.0) -> np.ndarray:
    t = np.arange(int(seconds * AUDIO_SR)) / AUDIO_SR
    return (0.3 * np.sin(2 * np.pi * 330 * t)).astype(np.float32)


def pages(data: bytes) -> list[bytes]:
    out, pos = [], 0
    while pos < len(data):
        n = data[pos + 26]
        end = pos + 27 + n + sum(data[pos + 27:pos + 27 + n])
        out.append(data[pos:end])
        pos = end
    return out


def test_same_audio_same_bytes(tmp_path):
    write_ogg(tmp_path / "a.ogg", tone())
    write_ogg(tmp_path / "b.ogg", tone())
    assert (tmp_path / "a.ogg").read_bytes() == (tmp_path / "b.ogg").read_bytes()
    y, sr = sf.read(tmp_path / "a.ogg")
    assert sr == AUDIO_SR and len(y) == len(tone()) and np.corrcoef(y, tone())[0, 1] > 0.99


def test_checksum_is_the_one_libsndfile_writes():
    buf = io.BytesIO()
    sf.write(buf, tone(), AUDIO_SR, format="OGG", subtype="VORBIS")
    raw = buf.getvalue()
    assert len(pages(raw)) > 2
    for page in pages(raw):
        blank = page[:22] + bytes(4) + page[26:]
        assert ogg_crc(blank) == int.from_bytes(page[22:26], "little")
    fixed = fixed_serial(raw, serial=7)
    assert len(fixed) == len(raw) and {p[14:18] for p in pages(fixed)} == {(7).to_bytes(4, "little")}
    assert np.array_equal(sf.read(io.BytesIO(fixed))[0], sf.read(io.BytesIO(raw))[0])
