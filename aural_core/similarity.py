"""Vector geometry shared by the embedders and the evaluation: unit length and cosine similarity."""

from __future__ import annotations

import numpy as np

from .errors import ParameterError

__all__ = ["l2_normalize", "cosine"]

# Added to the product of the norms, so that a zero vector gives 0.0 instead of a division by 0.
_EPS = 1e-12


def l2_normalize(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length, float32; all-zero rows stay zero.

    Parameters
    ----------
    x : np.ndarray [shape=(..., d)]

    Returns
    -------
    np.ndarray [shape=(..., d), dtype=float32]
    """
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    return np.where(norm > 0, x / np.maximum(norm, _EPS), 0.0).astype(np.float32)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two vectors in float64; 0.0 when either is all zeros.

    Parameters
    ----------
    a, b : np.ndarray [shape=(d,)]
        Any real vectors of the same length (they need not be unit length).

    Returns
    -------
    float in [-1, 1]

    Raises
    ------
    ParameterError
        When ``a`` and ``b`` are not 1-D vectors of the same length, or hold NaN/inf.

    Examples
    --------
    >>> cosine(np.array([1.0, 0.0]), np.array([1.0, 1.0]))  # doctest: +ELLIPSIS
    0.7071...
    >>> cosine(np.zeros(3), np.ones(3))
    0.0
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.ndim != 1 or a.shape != b.shape:
        raise ParameterError(f"cosine needs two vectors of one length, got shapes {a.shape} and {b.shape}")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ParameterError("cosine got a vector with NaN or inf entries")
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + _EPS))
