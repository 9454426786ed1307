"""Features on signals with known answers (seed section 1)."""

import librosa
import numpy as np
import pytest

from aural_core.audio import frame_bounds
from aural_core.config import FeatureConfig
from aural_core.embedders import build_embedder, build_tagger
from aural_core.errors import ParameterError
from aural_core.features import FEATURE_DIM, analyze_signal
from aural_core.vocab import TAG_NAMES

from .signals import SR, click_track, noise, tone

CFG = FeatureConfig()


@pytest.fixture(scope="module")
def backends():
    return build_embedder("dsp"), build_tagger("rules")


def features(y, backends):
    embedder, tagger = backends
    return analyze_signal(y, sr=SR, config=CFG, embedder=embedder, tagger=tagger)


@pytest.mark.parametrize("freq", [110.0, 220.0, 440.0, 660.0])
def test_tone_f0_median(freq, backends):
    f = features(tone(freq, 6.0), backends)
    np.testing.assert_allclose(f.f0_median_hz, freq, rtol=0.01)
    expected = (librosa.hz_to_midi(freq) - 36) / 60
    np.testing.assert_allclose(f.f0_median, expected, atol=0.01)
    assert np.all(f.f0_iqr < 0.05)  # a steady tone has no pitch spread


def test_click_track_beat_strength_well_above_noise(backends):
    clicks = features(click_track(120, 10.0), backends)
    hiss = features(noise(10.0), backends)
    assert clicks.beat_strength.mean() > 0.8
    assert clicks.beat_strength.mean() > hiss.beat_strength.mean() + 0.4
    np.testing.assert_allclose(np.nanmedian(clicks.tempo_bpm), 120, rtol=0.03)


def test_louder_means_more_energy(backends):
    quiet, loud = features(tone(330, 4.0, amp=0.05), backends), features(tone(330, 4.0, amp=0.5), backends)
    assert np.all(loud.energy > quiet.energy)
    assert np.all((quiet.energy > 0) & (loud.energy <= 1))


def test_silence_is_zero_energy_no_f0_no_beat(backends):
    f = features(np.zeros(SR * 5, dtype=np.float32), backends)
    assert np.all(f.energy == 0) and np.all(f.beat_strength == 0)
    assert np.all(np.isnan(f.f0_median_hz)) and np.all(f.f0_median == 0)
    assert f.top_tags == [[], [], []] and not f.tags.any()  # 5 s = 2 frames + 1 s tail


def test_vector_layout_and_tags(backends):
    f = features(click_track(100, 6.0) + tone(262, 6.0, amp=0.2), backends)
    x = f.vectors()
    assert x.shape == (3, FEATURE_DIM) == (3, 521) and x.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(f.clap, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(x[:, 512], f.f0_median.astype(np.float32))
    np.testing.assert_array_equal(x[:, 516:], f.tags)
    for names, hot in zip(f.top_tags, f.tags):
        assert len(names) == 5 and set(names) <= set(TAG_NAMES)
        assert 1 <= hot.sum() <= 5


def test_frame_policy():
    # 5 s -> two full frames + a kept 1 s tail; 4.5 s -> the 0.5 s tail is dropped.
    assert frame_bounds(5 * SR, sr=SR).tolist() == [[0, 2 * SR], [2 * SR, 4 * SR], [4 * SR, 5 * SR]]
    assert len(frame_bounds(int(4.5 * SR), sr=SR)) == 2
    assert frame_bounds(SR // 2, sr=SR).tolist() == [[0, SR // 2]]
    with pytest.raises(ParameterError, match="shorter than"):
        frame_bounds(SR // 10, sr=SR)


def test_bad_signal_rejected(backends):
    y = tone(440, 3.0)
    y[100] = np.nan
    with pytest.raises(ParameterError, match="NaN"):
        features(y, backends)
    with pytest.raises(ParameterError, match="mono"):
        features(np.stack([tone(440, 3.0)] * 2), backends)
