"""MusicGen renderer end to end on a tiny, locally built checkpoint (no download)."""

import numpy as np
import pytest

pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

from aural_core.controls import STEMS, Controls  # noqa: E402
from aural_core.errors import ModelNotFoundError, ParameterError  # noqa: E402
from aural_core.render import Rendered, Renderer, build_renderer  # noqa: E402
from aural_core.render.musicgen import MusicgenRenderer, musicgen_prompt  # noqa: E402

CALM = Controls("calm", 89.6, "F# minor", 2, "calm ambient piano with soft pads")
BRIGHT = Controls("bright", 128.0, "C major", 1, "upbeat happy pop with bright synths")


@pytest.fixture(scope="module")
def renderer(tiny_musicgen_path):
    torch.set_num_threads(1)
    return MusicgenRenderer(str(tiny_musicgen_path), device="cpu")


def check_rendered(r, sr, seconds):
    assert isinstance(r, Rendered)
    assert r.sr == sr
    assert r.mix.dtype == np.float32 and r.mix.shape == (int(round(seconds * sr)),)
    assert np.all(np.isfinite(r.mix)) and np.max(np.abs(r.mix)) <= 0.99
    assert np.any(r.mix[-64:] != 0)  # generated up to the end, not zero-padded
    assert set(r.stems) == set(STEMS)
    np.testing.assert_allclose(sum(r.stems.values()), r.mix, atol=1e-5)


def test_prompt_format():
    assert musicgen_prompt(CALM) == "calm ambient piano with soft pads, 90 bpm, in F# minor"


def test_render_one_second(renderer):
    assert isinstance(renderer, Renderer) and renderer.name == "musicgen"
    assert renderer.sr == 32000
    check_rendered(renderer.render(CALM, seconds=1.0, seed=0), 32000, 1.0)


def test_build_renderer_passes_options(tiny_musicgen_path):
    r = build_renderer("musicgen", model=str(tiny_musicgen_path), guidance_scale=1.0,
                       do_sample=False, temperature=0.7)
    assert isinstance(r, MusicgenRenderer) and r.guidance_scale == 1.0 and not r.do_sample
    check_rendered(r.render(BRIGHT, seconds=0.5, seed=3), r.sr, 0.5)


def test_render_batch(renderer):
    out = renderer.render_batch([CALM, BRIGHT], seconds=0.6, seeds=[1, 2])
    assert len(out) == 2
    for r in out:
        check_rendered(r, renderer.sr, 0.6)
    assert not np.array_equal(out[0].mix, out[1].mix)


def test_same_seed_same_audio(renderer):
    a = renderer.render(CALM, seconds=0.5, seed=7).mix
    b = renderer.render(CALM, seconds=0.5, seed=7).mix
    c = renderer.render(CALM, seconds=0.5, seed=8).mix
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("kwargs, match", [
    ({"seconds": 0.0, "seeds": [0]}, "seconds"),
    ({"seconds": 1.0, "seeds": [0, 1]}, "seeds"),
    ({"seconds": 1.0, "seeds": [0.5]}, "seed"),
])
def test_bad_arguments(renderer, kwargs, match):
    with pytest.raises(ParameterError, match=match):
        renderer.render_batch([CALM], **kwargs)


@pytest.mark.parametrize("name", ["/nonexistent/musicgen-dir", "nobody/no-such-musicgen"])
def test_missing_checkpoint(name):
    with pytest.raises(ModelNotFoundError, match="never downloaded") as info:
        build_renderer("musicgen", model=name)
    assert name in str(info.value)
