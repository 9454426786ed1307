"""Protocols of the embedder and tagger roles, and the builders that pick a backend by name."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from ..errors import ParameterError
from ..spectral import SpectralAnalysis

EMBED_DIM = 512


@runtime_checkable
class Embedder(Protocol):
    """Maps frames of a file to L2-normalised 512-D vectors.

    ``bounds`` holds sample ``[start, end)`` pairs into ``analysis.y``; a backend may use the
    shared spectral analyses (``dsp``) or only the raw audio (``clap``).
    """

    name: str

    def embed_frames(self, analysis: SpectralAnalysis, bounds: np.ndarray) -> np.ndarray: ...


@runtime_checkable
class Tagger(Protocol):
    """Scores every frame against the tag vocabulary (``vocab.TAG_NAMES``)."""

    name: str

    def tag_scores(self, analysis: SpectralAnalysis, bounds: np.ndarray) -> np.ndarray:
        """Shape (n_frames, len(TAG_NAMES)); higher means more likely."""
        ...


def build_embedder(name: str, **options) -> Embedder:
    """Embedder backend by name: ``dsp`` (offline default) or ``clap`` (transformers)."""
    if name == "dsp":
        from .dsp import DspEmbedder

        return DspEmbedder(**options)
    if name == "clap":
        from .clap import ClapEmbedder

        return ClapEmbedder.from_pretrained(options.pop("model", "laion/larger_clap_music"), **options)
    raise ParameterError(f"embedder={name!r} is unknown; choose one of 'dsp', 'clap'")


def build_tagger(name: str, **options) -> Tagger:
    """Tagger backend by name: ``rules`` (offline default) or ``clap`` (text-audio similarity)."""
    if name == "rules":
        from .rules import RuleTagger

        return RuleTagger()
    if name == "clap":
        from .clap import ClapTagger

        return ClapTagger.from_pretrained(options.pop("model", "laion/larger_clap_music"), **options)
    raise ParameterError(f"tagger={name!r} is unknown; choose one of 'rules', 'clap'")


def l2_normalize(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length; all-zero rows stay zero."""
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    return np.where(norm > 0, x / np.maximum(norm, 1e-12), 0.0).astype(np.float32)
