"""Audio loading: formats, rates, channels, and a clear error for every bad input."""

import numpy as np
import pytest
import soundfile as sf

from aural_core.audio import load_audio, valid_audio
from aural_core.errors import AudioError, ParameterError

from ..badinput import write_bad_inputs

SR = 22050


@pytest.fixture(scope="module")
def bad(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad")
    return folder, write_bad_inputs(folder)


@pytest.mark.parametrize("name,reason", [
    ("empty.wav", "empty file"), ("random_bytes.wav", "cannot decode"),
    ("text.mp3", "not a recognised audio format"), ("nan_inf.wav", "non-finite"),
])
def test_bad_files_raise_naming_file_and_reason(bad, name, reason):
    folder, _ = bad
    with pytest.raises(AudioError, match=reason) as info:
        load_audio(folder / name, sr=SR)
    assert name in str(info.value)


@pytest.mark.parametrize("name,seconds", [("six_channels.flac", 3.0), ("rate_8k.wav", 3.0),
                                          ("rate_96k.flac", 3.0), ("half_second.wav", 0.5)])
def test_odd_but_valid_files_load_mono_at_analysis_rate(bad, name, seconds):
    folder, _ = bad
    y = load_audio(folder / name, sr=SR)
    assert y.ndim == 1 and y.dtype == np.float32
    assert abs(len(y) - seconds * SR) <= 2


def test_vanished_file(tmp_path):
    path = tmp_path / "gone.wav"
    sf.write(path, np.zeros(SR, dtype=np.float32), SR)
    path.unlink()
    with pytest.raises(AudioError, match="not found"):
        load_audio(path, sr=SR)


@pytest.mark.parametrize("fmt,subtype", [("wav", "PCM_16"), ("flac", "PCM_16"), ("ogg", "VORBIS"),
                                         ("mp3", "MPEG_LAYER_III")])
def test_formats(tmp_path, fmt, subtype):
    t = np.arange(44100 * 2) / 44100
    stereo = np.stack([np.sin(2 * np.pi * 440 * t)] * 2, axis=1) * 0.5
    path = tmp_path / f"tone.{fmt}"
    sf.write(path, stereo, 44100, subtype=subtype)
    y = load_audio(path, sr=SR)
    assert abs(len(y) / SR - 2.0) < 0.1
    peak_bin = np.argmax(np.abs(np.fft.rfft(y[: SR])))
    assert abs(peak_bin - 440) < 3  # a 1 s window: bin k is k Hz


@pytest.mark.parametrize("y,match", [
    ([0.0, 0.1], "clip must be a numpy array, got list"),
    (np.zeros((2, 4), dtype=np.float32), r"clip must be mono .* shape=\(2, 4\)"),
    (np.zeros(4, dtype=np.int16), "clip must be floating point, got dtype=int16"),
    (np.array([0.0, np.nan, np.inf, 0.5]), "clip contains 2 non-finite samples"),
])
def test_valid_audio_names_the_argument_and_quotes_the_problem(y, match):
    with pytest.raises(ParameterError, match=match):
        valid_audio(y, name="clip")


def test_valid_audio_accepts_any_float_mono_signal():
    for dtype in (np.float16, np.float32, np.float64):
        valid_audio(np.zeros(8, dtype=dtype))
