"""The offline ``dsp`` embedder: DSP descriptors -> fixed standardisation -> fixed projection.

Descriptor groups (timbre envelope, texture, level, pitch-class and key-invariant interval
profile, spectral contrast, brightness, rhythm density, tempo periodicity, beat strength) are
centred and scaled with a fixed reference (``dsp_reference.json``, fitted once on recorded music
by ``benchmarks/fit_dsp_reference.py``), weighted per group so that no group dominates by its
width, mapped to 512-D by a fixed orthonormal projection (seeded; it preserves the geometry) and
L2-normalised. Cosine similarity then compares how two pieces differ from typical music:
same style / tempo / key -> higher.
"""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path

import numpy as np

from ..descriptors import describe_frames
from ..similarity import l2_normalize
from ..spectral import SpectralAnalysis
from .base import EMBED_DIM

REFERENCE_PATH = Path(__file__).with_name("dsp_reference.json")
PROJECTION_SEED = 20240521

# (descriptor key, weight). Weights are per group; a group's dims share it equally.
GROUPS: tuple[tuple[str, float], ...] = (
    ("mel_shape", 2.0), ("mel_texture", 0.5), ("level_db", 0.3), ("level_std", 0.4),
    ("chroma", 0.4), ("chroma_dft", 0.8), ("contrast", 0.6), ("contrast_std", 0.3),
    ("centroid_oct", 1.0), ("rolloff_oct", 0.6), ("flatness", 0.6), ("low_share", 0.8),
    ("onset_std", 0.4), ("onset_rate", 0.6), ("tempo_acf", 0.6), ("tempo_rbf", 1.0),
    ("beat_strength", 0.4),
)


def descriptor_matrix(desc: dict[str, np.ndarray]) -> np.ndarray:
    """Concatenate the embedder's descriptor groups (``GROUPS``, in order) into one matrix.

    Parameters
    ----------
    desc : dict of str to np.ndarray
        :func:`~aural_core.descriptors.describe_frames` output (at least the ``GROUPS`` keys).

    Returns
    -------
    np.ndarray [shape=(n_frames, D), dtype=float64]
        D is the summed width of the groups.
    """
    return np.concatenate([np.asarray(desc[k], dtype=np.float64).reshape(len(desc[k]), -1)
                           for k, _ in GROUPS], axis=1)


class DspEmbedder:
    """Deterministic 512-D descriptor embedding; needs no weights.

    Parameters
    ----------
    reference_path : str, Path or None
        The standardisation reference (JSON with ``center``, ``scale`` and ``widths``);
        ``None`` reads the shipped ``dsp_reference.json``.
    """

    name = "dsp"

    def __init__(self, *, reference_path: str | Path | None = None):
        ref = json.loads(Path(reference_path or REFERENCE_PATH).read_text())
        self.center = np.asarray(ref["center"], dtype=np.float64)
        self.scale = np.asarray(ref["scale"], dtype=np.float64)
        self._weights = np.concatenate(
            [np.full(w, wt / np.sqrt(w)) for w, (_, wt) in zip(ref["widths"], GROUPS)]
        )

    @cached_property
    def projection(self) -> np.ndarray:
        """Fixed (D, 512) matrix with orthonormal rows: inner products are preserved."""
        rng = np.random.default_rng(PROJECTION_SEED)
        q, _ = np.linalg.qr(rng.standard_normal((EMBED_DIM, len(self.center))))
        return q.T

    def standardize(self, desc: dict[str, np.ndarray]) -> np.ndarray:
        """Centre, scale, clip to +-4 and weight the descriptor groups.

        Parameters
        ----------
        desc : dict of str to np.ndarray
            :func:`~aural_core.descriptors.describe_frames` output.

        Returns
        -------
        np.ndarray [shape=(n_frames, D)]
        """
        z = (descriptor_matrix(desc) - self.center) / self.scale
        # Clip outliers so one extreme descriptor (e.g. a silent frame's level) cannot dominate.
        return np.clip(z, -4.0, 4.0) * self._weights

    def embed_frames(self, analysis: SpectralAnalysis, bounds: np.ndarray) -> np.ndarray:
        """Embed every frame: standardised descriptors through the fixed projection, unit length.

        Parameters
        ----------
        analysis : SpectralAnalysis
            The file's shared analyses.
        bounds : np.ndarray [shape=(n_frames, 2)]
            Sample ``[start, end)`` of each frame.

        Returns
        -------
        np.ndarray [shape=(n_frames, 512), dtype=float32]
            Unit-norm rows (an all-zero row stays zero).
        """
        z = self.standardize(describe_frames(analysis, bounds))
        return l2_normalize(z @ self.projection)


def fit_reference(desc_tables: list[dict[str, np.ndarray]]) -> dict:
    """Fit the standardisation reference (``dsp_reference.json``) on a music collection.

    Centre = per-dimension mean over all frames; scale = the group's pooled standard deviation
    (one scale per group keeps the shape of vector-valued groups such as the mel envelope).

    Parameters
    ----------
    desc_tables : list of dict of str to np.ndarray
        :func:`~aural_core.descriptors.describe_frames` output of each file (at least one).

    Returns
    -------
    dict
        ``groups``, ``widths``, ``center`` and ``scale`` (lists, rounded to 6 decimals) and
        ``n_frames``: the JSON the embedder reads.
    """
    rows = np.concatenate([descriptor_matrix(d) for d in desc_tables], axis=0)
    widths = [np.asarray(desc_tables[0][k]).reshape(len(desc_tables[0][k]), -1).shape[1]
              for k, _ in GROUPS]
    center = rows.mean(axis=0)
    scale, start = [], 0
    for w in widths:
        sd = float(np.sqrt(np.mean((rows[:, start:start + w] - center[start:start + w]) ** 2)))
        scale += [max(sd, 1e-6)] * w
        start += w
    return {"groups": [k for k, _ in GROUPS], "widths": widths,
            "center": center.round(6).tolist(), "scale": np.round(scale, 6).tolist(),
            "n_frames": int(rows.shape[0])}
