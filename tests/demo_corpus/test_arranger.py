"""Tests of demo clip synthesis: shape, determinism, the arrangement and the musical ground truth."""

from __future__ import annotations

import dataclasses

import librosa
import numpy as np
import pytest

from aural_core.errors import ParameterError
from aural_core.vocab import EMOTIONS, parse_key
from demo_corpus import ClipSpec, plan_corpus, synthesize_clip
from demo_corpus.arranger import Arranger


@pytest.fixture(scope="module")
def one_per_mood():
    """Five clips, one per mood, with their audio."""
    specs = plan_corpus(n_inputs=5, n_eval=0, seed=0)
    assert sorted(s.mood for s in specs) == sorted(EMOTIONS)
    return [(s, synthesize_clip(s)) for s in specs]


def _mono_22050(spec: ClipSpec, y: np.ndarray) -> np.ndarray:
    return librosa.resample(y.mean(axis=1), orig_sr=spec.sr, target_sr=22050)


def test_synthesize_shape_dtype_peak(one_per_mood):
    for spec, y in one_per_mood:
        assert y.dtype == np.float32
        assert y.shape == (round(spec.seconds * spec.sr), spec.channels)
        assert np.isfinite(y).all()
        assert 0.5 < np.abs(y).max() <= 0.99


def test_synthesize_is_deterministic(one_per_mood):
    spec, y = one_per_mood[0]
    np.testing.assert_array_equal(synthesize_clip(spec), y)
    other = synthesize_clip(dataclasses.replace(spec, seed=spec.seed + 1))
    assert other.shape == y.shape
    assert not np.array_equal(other, y)


def test_energy_arc(one_per_mood):
    for spec, y in one_per_mood:
        rms = []
        for sec in spec.sections():
            seg = y[int(sec["start_s"] * spec.sr): int(sec["end_s"] * spec.sr)]
            rms.append(float(np.sqrt(np.mean(seg.astype(np.float64) ** 2))))
        intro, build, release = rms
        assert release > build > intro > 0, (spec.name, rms)


def test_drums_enter_with_the_build_and_the_melody_halfway_through_it(one_per_mood):
    for spec, y in one_per_mood:
        arranger = Arranger(spec)
        np.testing.assert_array_equal(arranger.render(), y)  # the same arrangement as synthesize_clip
        build, melody = arranger.sample_at(arranger.b1), arranger.sample_at(arranger.melody_from)
        assert arranger.b1 <= arranger.melody_from < arranger.b2, spec.name  # in the build
        for part, enters in (("kick", build), ("snare", build), ("melody", melody)):
            buf = arranger.parts[part]
            assert not buf[:enters].any() and buf[enters:].any(), (spec.name, part)
        assert arranger.parts["chords"][:build].any() and arranger.parts["hats"][:build].any()


def test_tempo_is_recoverable(one_per_mood):
    for spec, y in one_per_mood:
        tempo, _ = librosa.beat.beat_track(y=_mono_22050(spec, y), sr=22050)
        tempo = float(np.atleast_1d(tempo)[0])
        ratios = [tempo / (spec.bpm * f) for f in (0.5, 1.0, 2.0)]
        assert any(abs(r - 1) <= 0.04 for r in ratios), (spec.name, spec.bpm, tempo)


def test_key_is_audible(one_per_mood):
    for spec, y in one_per_mood:
        chroma = librosa.feature.chroma_cqt(y=_mono_22050(spec, y), sr=22050).mean(axis=1)
        tonic, minor = parse_key(spec.key)
        third = 3 if minor else 4
        assert (int(chroma.argmax()) - tonic) % 12 in (0, third, 7), (spec.name, spec.key)


def test_short_custom_clip_and_bad_specs():
    spec = plan_corpus(n_inputs=1, n_eval=0, seed=5)[0]
    short = dataclasses.replace(spec, seconds=6.0, bpm=120.0, sr=16000, channels=2)
    y = synthesize_clip(short)
    assert y.shape == (96000, 2)
    for bad in ({"mood": "happy"}, {"key": "H major"}, {"channels": 3}, {"bpm": 0.0},
                {"seconds": 1.0}, {"fmt": "mp3"}, {"sr": 22050.0}):
        with pytest.raises(ParameterError):
            synthesize_clip(dataclasses.replace(spec, **bad))
