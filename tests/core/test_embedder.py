"""The dsp embedder: deterministic, normalised, and its cosine similarity means something."""

import librosa
import numpy as np
import pytest

from aural_core.audio import frame_bounds
from aural_core.embedders import build_embedder, build_tagger
from aural_core.errors import ParameterError
from aural_core.spectral import SpectralAnalysis
from demo_corpus import plan_corpus, synthesize_clip

SR = 22050


def clip_embedding(embedder, y, sr=SR):
    a = SpectralAnalysis(y.astype(np.float32), sr=sr)
    e = embedder.embed_frames(a, frame_bounds(len(y), sr=sr)).mean(axis=0)
    return e / np.linalg.norm(e)


def mono_22k(spec):
    y = synthesize_clip(spec).mean(axis=1)
    return librosa.resample(y, orig_sr=spec.sr, target_sr=SR)[: 12 * SR]


@pytest.fixture(scope="module")
def clips():
    specs = plan_corpus(n_inputs=24, n_eval=0, seed=0)
    by_mood = {}
    for s in specs:
        by_mood.setdefault(s.mood, s)
    return {mood: mono_22k(s) for mood, s in by_mood.items()}


def test_deterministic_and_normalised(clips):
    e1 = build_embedder("dsp")
    y = clips["bright"]
    a = clip_embedding(e1, y)
    b = clip_embedding(build_embedder("dsp"), y)
    np.testing.assert_array_equal(a, b)
    frames = e1.embed_frames(SpectralAnalysis(y, sr=SR), frame_bounds(len(y), sr=SR))
    assert frames.shape[1] == 512
    np.testing.assert_allclose(np.linalg.norm(frames, axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("mood", ["bright", "calm", "tense", "dark", "busy"])
def test_shifted_copy_closer_than_other_styles(clips, mood):
    embedder = build_embedder("dsp")
    y = clips[mood]
    shifted = librosa.effects.pitch_shift(librosa.effects.time_stretch(y, rate=1.08), sr=SR, n_steps=2)
    anchor = clip_embedding(embedder, y)
    same = float(anchor @ clip_embedding(embedder, shifted))
    others = [float(anchor @ clip_embedding(embedder, z)) for m, z in clips.items() if m != mood]
    assert same > max(others), (same, others)


@pytest.mark.parametrize("build,known", [(build_embedder, "'clap', 'dsp'"), (build_tagger, "'clap', 'rules'")])
def test_unknown_backend_named(build, known):
    with pytest.raises(ParameterError, match=f"'nope' is not known; expected one of \\[{known}\\]"):
        build("nope")
