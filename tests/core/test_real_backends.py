"""Smoke test of the real model backends on the checkpoints that ``AURAL_SMOKE_MUSICGEN`` and
``AURAL_SMOKE_CLAP`` name (a directory or a hub id in the local cache; ``AURAL_SMOKE_DEVICE``
picks the device, CUDA when present by default). Skipped when they are unset:
``make gpu-check`` (benchmarks/gpu_check.py) runs it on facebook/musicgen-small and
laion/larger_clap_music when they and CUDA are present, else on the tiny test checkpoints."""

import os

import numpy as np
import pytest

from aural_core.audio import frame_bounds
from aural_core.controls import STEMS, Controls
from aural_core.spectral import SpectralAnalysis

MUSICGEN = os.environ.get("AURAL_SMOKE_MUSICGEN")
CLAP = os.environ.get("AURAL_SMOKE_CLAP")
DEVICE = os.environ.get("AURAL_SMOKE_DEVICE") or None
SR = 22050


@pytest.mark.skipif(not MUSICGEN, reason="AURAL_SMOKE_MUSICGEN names no checkpoint (make gpu-check sets it)")
def test_musicgen_renders_prompts_to_audio():
    from aural_core.render import build_renderer

    renderer = build_renderer("musicgen", model=MUSICGEN, device=DEVICE)
    prompts = [Controls("calm", 80.0, "A minor", 2, "calm ambient piano with soft pads"),
               Controls("bright", 124.0, "C major", 1, "upbeat happy pop with bright synths")]
    out = renderer.render_batch(prompts, seconds=4.0, seeds=[0, 1])
    for r in out:
        assert r.sr == renderer.sr and r.mix.shape == (4 * renderer.sr,) and r.mix.dtype == np.float32
        assert np.all(np.isfinite(r.mix)) and np.max(np.abs(r.mix)) <= 0.99
        assert 20 * np.log10(np.sqrt(np.mean(r.mix ** 2)) + 1e-12) > -60  # not silence
        assert set(r.stems) == set(STEMS)
        np.testing.assert_allclose(sum(r.stems.values()), r.mix, atol=1e-4)
    assert not np.array_equal(out[0].mix, out[1].mix)


@pytest.mark.skipif(not CLAP, reason="AURAL_SMOKE_CLAP names no checkpoint (make gpu-check sets it)")
def test_clap_embeds_and_tags_frames():
    from aural_core.embedders import EMBED_DIM, build_embedder, build_tagger
    from aural_core.vocab import TAG_NAMES

    rng = np.random.default_rng(0)
    t = np.arange(6 * SR) / SR
    tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    noise = (0.1 * rng.standard_normal(len(t))).astype(np.float32)
    bounds = frame_bounds(len(t), sr=SR)
    embedder = build_embedder("clap", model=CLAP, device=DEVICE)
    a = embedder.embed_frames(SpectralAnalysis(tone, sr=SR), bounds)
    b = embedder.embed_frames(SpectralAnalysis(noise, sr=SR), bounds)
    assert a.shape == (3, EMBED_DIM) and np.all(np.isfinite(a))
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-4)
    assert float(a[0] @ b[0]) < 0.9999  # a tone and noise are told apart
    scores = build_tagger("clap", model=CLAP, device=DEVICE).tag_scores(SpectralAnalysis(tone, sr=SR), bounds)
    assert scores.shape == (3, len(TAG_NAMES)) and np.all(np.abs(scores) <= 1.0001)
