"""CLAP embedder and tagger on a tiny, locally built checkpoint (no download)."""

import numpy as np
import pytest

pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

from aural_core.audio import frame_bounds  # noqa: E402
from aural_core.embedders import EMBED_DIM, Embedder, Tagger, build_embedder, build_tagger  # noqa: E402
from aural_core.embedders.clap import ClapEmbedder, ClapTagger  # noqa: E402
from aural_core.errors import ModelNotFoundError, ParameterError  # noqa: E402
from aural_core.spectral import SpectralAnalysis  # noqa: E402
from aural_core.vocab import TAG_NAMES  # noqa: E402
from tests.core.signals import SR, tone  # noqa: E402


@pytest.fixture(scope="module")
def embedder(tiny_clap_path):
    torch.set_num_threads(1)
    return build_embedder("clap", model=str(tiny_clap_path), device="cpu")


@pytest.fixture
def analysis():
    return SpectralAnalysis(tone(440.0, 5.0), sr=SR)


def test_embed_frames_shape_norm_determinism(embedder, analysis):
    assert type(embedder) is ClapEmbedder and embedder.name == "clap"
    assert isinstance(embedder, Embedder)  # has the protocol's name and embed_frames
    bounds = frame_bounds(len(analysis.y), sr=SR)  # 2 s frames: 2 full + 1 s tail
    e = embedder.embed_frames(analysis, bounds)
    assert e.shape == (len(bounds), EMBED_DIM) and e.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5)
    fresh = SpectralAnalysis(analysis.y.copy(), sr=SR)  # no memo: embeds again
    np.testing.assert_allclose(embedder.embed_frames(fresh, bounds), e, atol=1e-6)


def test_batches_do_not_change_embeddings(tiny_clap_path, embedder, analysis):
    bounds = np.array([[0, SR], [SR, 3 * SR], [2 * SR, 5 * SR]])
    one_by_one = ClapEmbedder.from_pretrained(str(tiny_clap_path), device="cpu", batch_size=1)
    batched = embedder.embed_frames(SpectralAnalysis(analysis.y, sr=SR), bounds)
    np.testing.assert_allclose(one_by_one.embed_frames(analysis, bounds), batched, atol=1e-5)


def test_tagger_scores(tiny_clap_path, analysis):
    tagger = build_tagger("clap", model=str(tiny_clap_path), device="cpu")
    assert type(tagger) is ClapTagger and tagger.name == "clap"
    assert isinstance(tagger, Tagger)
    bounds = frame_bounds(len(analysis.y), sr=SR)
    scores = tagger.tag_scores(analysis, bounds)
    assert scores.shape == (len(bounds), len(TAG_NAMES))
    assert np.all(np.isfinite(scores)) and np.all(np.abs(scores) <= 1.0 + 1e-5)
    assert tagger.prompts[0] == f"This is a sound of {TAG_NAMES[0]}."
    assert tagger.text_embeddings is tagger.text_embeddings  # computed once


@pytest.mark.parametrize("bounds", [np.array([[0, 0]]), np.array([[0, 10 * SR]]), np.zeros((2, 3), int)])
def test_bad_bounds(embedder, analysis, bounds):
    with pytest.raises(ParameterError, match="bounds"):
        embedder.embed_frames(analysis, bounds)


@pytest.mark.parametrize("name", ["/nonexistent/clap-dir", "nobody/no-such-clap"])
@pytest.mark.parametrize("build", [build_embedder, build_tagger])
def test_missing_checkpoint(build, name):
    with pytest.raises(ModelNotFoundError, match="never downloaded") as info:
        build("clap", model=name)
    assert name in str(info.value)
