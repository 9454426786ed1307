"""MusicGen-Melody renderer end to end on a tiny, locally built checkpoint: prompt plus chroma."""

import importlib.util

import numpy as np
import pytest

pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

from aural_core.controls import Controls  # noqa: E402
from aural_core.errors import ModelNotFoundError, ParameterError  # noqa: E402
from aural_core.render import build_renderer, renderer_class, uses  # noqa: E402
from aural_core.render.melody import MusicgenMelodyRenderer, melody_chroma  # noqa: E402

from .test_musicgen import check_rendered  # noqa: E402

CALM = Controls("calm", 89.6, "F# minor", 2, "calm ambient piano with soft pads")
SR = 32000


def tone(hz, seconds=1.0, sr=SR):
    t = np.arange(int(seconds * sr)) / sr
    return (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


@pytest.fixture(scope="module")
def renderer(tiny_musicgen_melody_path):
    torch.set_num_threads(1)
    return build_renderer("musicgen-melody", model=str(tiny_musicgen_melody_path), device="cpu")


def test_registry_declares_what_each_renderer_takes():
    assert renderer_class("musicgen-melody") is MusicgenMelodyRenderer
    assert uses("musicgen-melody", "reference_audio") and not uses("musicgen-melody", "probe")
    assert uses("musicgen", "probe") and not uses("musicgen", "reference_audio")
    assert not uses("synth", "probe") and not uses("synth", "reference_audio")
    with pytest.raises(ParameterError, match="theremin"):
        renderer_class("theremin")


@pytest.mark.parametrize("hz, pitch_class", [(440.0, 9), (261.63, 0), (392.0, 7), (311.13, 3)])
def test_chroma_names_the_pitch_class(hz, pitch_class):
    chroma = melody_chroma([tone(hz, 2.0)])
    assert chroma.shape == (1, 2 * SR // 4096 + 1, 12)
    assert set(chroma.sum(-1).ravel()) == {1.0}  # one-hot per frame
    assert (chroma[0].argmax(-1) == pitch_class).all()


def test_chroma_pads_a_batch_and_short_signals_like_the_extractor():
    chroma = melody_chroma([tone(440.0, 0.25), tone(392.0, 2.0)])
    assert chroma.shape[0] == 2 and chroma.shape[1] == 2 * SR // 4096 + 1
    assert (chroma[0, -3:].argmax(-1) == 0).all()  # zero padding reads as class 0 ("no melody")
    with pytest.raises(ParameterError, match="reference audio 0"):
        melody_chroma([np.zeros((2, 10), dtype=np.float32)])


@pytest.mark.skipif(importlib.util.find_spec("torchaudio") is None,
                    reason="transformers' MusicgenMelodyFeatureExtractor needs torchaudio (no wheel for this torch)")
def test_chroma_equals_transformers_feature_extractor():
    from transformers import MusicgenMelodyFeatureExtractor

    audio = [tone(440.0, 1.5) + tone(330.0, 1.5), tone(261.63, 0.5)]
    expected = MusicgenMelodyFeatureExtractor()(audio, sampling_rate=SR, return_tensors="np")["input_features"]
    np.testing.assert_array_equal(melody_chroma(audio), expected)


def test_renders_follow_the_reference_chroma(renderer):
    assert renderer.name == "musicgen-melody" and renderer.sr == SR and renderer.reference_sr == SR
    none = renderer.render(CALM, seconds=0.4, seed=3)
    check_rendered(none, SR, 0.4)
    a = renderer.render_batch([CALM], seconds=0.4, seeds=[3], reference_audio=[tone(440.0)])[0]
    check_rendered(a, SR, 0.4)
    g = renderer.render_batch([CALM], seconds=0.4, seeds=[3], reference_audio=[tone(392.0)])[0]
    again = renderer.render_batch([CALM], seconds=0.4, seeds=[3], reference_audio=[tone(440.0)])[0]
    np.testing.assert_array_equal(a.mix, again.mix)
    assert not np.array_equal(a.mix, none.mix) and not np.array_equal(a.mix, g.mix)
    mixed = renderer.render_batch([CALM, CALM], seconds=0.4, seeds=[3, 4], reference_audio=[tone(440.0), None])
    assert len(mixed) == 2
    with pytest.raises(ParameterError, match="reference signals"):
        renderer.render_batch([CALM], seconds=0.4, seeds=[3], reference_audio=[tone(440.0)] * 2)


def test_missing_melody_checkpoint_names_the_setting(tmp_path):
    with pytest.raises(ModelNotFoundError, match="render.musicgen_melody_model") as info:
        build_renderer("musicgen-melody", model=str(tmp_path / "absent"))
    assert "MusicGen-Melody" in str(info.value)
