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


# ---- seed section 8: per-style sampling and the probed conditioning ------------------------------

def two_style_table(tmp_path, temperatures):
    import json

    from aural_core.styles import load_style_table

    rows = [{"emotion": "calm", "energy": "low", "prompt": "calm ambient piano", "temperature": temperatures[0]},
            {"emotion": "bright", "energy": "high", "prompt": "upbeat happy pop", "temperature": temperatures[1],
             "top_k": 4}]
    path = tmp_path / "styles.json"
    path.write_text(json.dumps({"styles": rows}))
    return load_style_table(path)


def test_each_style_samples_with_its_own_settings(tiny_musicgen_path, tmp_path):
    """A 2-row table with different temperatures: the batch is two generate calls, each seeded
    by its first item, so each item renders as it would alone; with one shared setting the
    items share a call and do not."""
    calm, bright = Controls("calm", 90.0, "C major", 0, "calm ambient piano"), \
        Controls("bright", 128.0, "C major", 1, "upbeat happy pop")
    split = MusicgenRenderer(str(tiny_musicgen_path), device="cpu", temperature=1.0,
                             styles=two_style_table(tmp_path, (0.5, 1.5)))
    assert split.sampling(calm).generate_options() == {"do_sample": True, "guidance_scale": 3.0, "temperature": 0.5}
    assert split.sampling(bright).generate_options() == {"do_sample": True, "guidance_scale": 3.0,
                                                         "temperature": 1.5, "top_k": 4}
    both = split.render_batch([calm, bright], seconds=0.3, seeds=[1, 2])
    np.testing.assert_array_equal(both[1].mix, split.render(bright, seconds=0.3, seed=2).mix)
    np.testing.assert_array_equal(both[0].mix, split.render(calm, seconds=0.3, seed=1).mix)
    shared = MusicgenRenderer(str(tiny_musicgen_path), device="cpu", styles=two_style_table(tmp_path, (1.5, 1.5)))
    assert shared.sampling(calm) != shared.sampling(bright)  # top_k still differs: two groups
    same = MusicgenRenderer(str(tiny_musicgen_path), device="cpu", styles=two_style_table(tmp_path, (None, None)))
    assert same.sampling(Controls("calm", 90.0, "C major", 0, "x")).temperature == same.temperature
    one_call = same.render_batch([calm, calm], seconds=0.3, seeds=[1, 2])
    assert not np.array_equal(one_call[1].mix, same.render(calm, seconds=0.3, seed=2).mix)


def test_the_style_temperature_reaches_generate(tiny_musicgen_path, tmp_path):
    bright = Controls("bright", 128.0, "C major", 1, "upbeat happy pop")
    cold = MusicgenRenderer(str(tiny_musicgen_path), device="cpu", styles=two_style_table(tmp_path, (1.0, 0.05)))
    hot = MusicgenRenderer(str(tiny_musicgen_path), device="cpu", styles=two_style_table(tmp_path, (1.0, 5.0)))
    assert not np.array_equal(cold.render(bright, seconds=0.3, seed=4).mix, hot.render(bright, seconds=0.3, seed=4).mix)


def test_encode_prompts_pools_over_the_prompt_tokens_only(renderer):
    alone = renderer.encode_prompts(["calm"])
    padded = renderer.encode_prompts(["calm", "calm ambient piano with soft pads and no drums"])
    assert alone.shape == (1, renderer.text_dim) == (1, 16) and padded.shape == (2, 16)
    np.testing.assert_allclose(padded[0], alone[0], atol=1e-5)  # the padding of the short prompt is left out
    assert not np.allclose(padded[0], padded[1])


def test_blend_states():
    from aural_core.render.musicgen import blend_states

    states = torch.arange(12, dtype=torch.float32).reshape(2, 3, 2)
    out = blend_states(states, [np.array([10.0, 20.0]), None], mix=0.25)
    torch.testing.assert_close(out[0], 0.75 * states[0] + 0.25 * torch.tensor([10.0, 20.0]))
    torch.testing.assert_close(out[1], states[1])  # no vector: the prompt's own states
    assert torch.equal(blend_states(states, [np.array([1.0, 2.0]), None], mix=1.0)[0], torch.tensor([[1.0, 2.0]] * 3))


def test_probed_conditioning(tiny_musicgen_path, renderer):
    """No vector: the encoder-states path gives exactly the prompt's render (guidance's null half
    included); a vector changes the render; mix 1 ignores the prompt; a wrong width is refused."""
    plain = renderer.render(CALM, seconds=0.3, seed=5).mix
    np.testing.assert_array_equal(renderer.render_batch([CALM], seconds=0.3, seeds=[5], probe=[None])[0].mix, plain)
    vec = renderer.encode_prompts(["dark brooding drone deep bass"])[0]
    probed = renderer.render_batch([CALM], seconds=0.3, seeds=[5], probe=[vec])[0]
    check_rendered(probed, renderer.sr, 0.3)
    assert not np.array_equal(probed.mix, plain)
    alone = MusicgenRenderer(str(tiny_musicgen_path), device="cpu", probe_mix=1.0)
    other = Controls("calm", 89.6, "F# minor", 2, "upbeat happy pop with bright synths")  # as many tokens
    np.testing.assert_array_equal(alone.render_batch([CALM], seconds=0.3, seeds=[5], probe=[vec])[0].mix,
                                  alone.render_batch([other], seconds=0.3, seeds=[5], probe=[vec])[0].mix)
    with pytest.raises(ParameterError, match="16 finite numbers"):
        renderer.render_batch([CALM], seconds=0.3, seeds=[5], probe=[np.zeros(7)])
    with pytest.raises(ParameterError, match="probe_mix"):
        MusicgenRenderer(str(tiny_musicgen_path), device="cpu", probe_mix=1.5)
