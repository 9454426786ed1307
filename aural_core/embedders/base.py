"""Protocols of the embedder and tagger roles; ``builders`` picks a backend by name."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from ..spectral import SpectralAnalysis

EMBED_DIM = 512


@runtime_checkable
class Embedder(Protocol):
    """Maps frames of a file to L2-normalised 512-D vectors.

    ``bounds`` holds sample ``[start, end)`` pairs into ``analysis.y``; a backend may use the
    shared spectral analyses (``dsp``) or only the raw audio (``clap``).
    """

    name: str

    def embed_frames(self, analysis: SpectralAnalysis, bounds: np.ndarray) -> np.ndarray:
        """Embed every frame of a file.

        Parameters
        ----------
        analysis : SpectralAnalysis
            The file's signal and shared analyses.
        bounds : np.ndarray [shape=(n_frames, 2)]
            Sample ``[start, end)`` of each frame.

        Returns
        -------
        np.ndarray [shape=(n_frames, EMBED_DIM)]
            Unit-norm rows.
        """
        ...


@runtime_checkable
class Tagger(Protocol):
    """Scores every frame against the tag vocabulary (``vocab.TAG_NAMES``)."""

    name: str

    def tag_scores(self, analysis: SpectralAnalysis, bounds: np.ndarray) -> np.ndarray:
        """Score every frame of a file against every tag.

        Parameters
        ----------
        analysis : SpectralAnalysis
            The file's signal and shared analyses.
        bounds : np.ndarray [shape=(n_frames, 2)]
            Sample ``[start, end)`` of each frame.

        Returns
        -------
        np.ndarray [shape=(n_frames, len(TAG_NAMES))]
            Higher means more likely; only the order within a row is used.
        """
        ...
