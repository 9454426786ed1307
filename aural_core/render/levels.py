"""Output levels shared by every renderer and the stem balancer: RMS levelling and a peak limit.

Both functions return a scale factor rather than scaled audio, so that a caller scales the
stems and the mix by the same factor and the stems keep summing to the mix.
"""

from __future__ import annotations

import numpy as np

__all__ = ["PEAK_CEILING", "rms_gain", "peak_limit_gain", "style_level_dbfs"]

# Highest absolute sample value of any rendered or balanced mix (full scale = 1.0).
PEAK_CEILING = 0.99
# The limited peak sits this far under the ceiling, so float32 rounding cannot cross it.
_PEAK_MARGIN = 1e-6


def rms_gain(y: np.ndarray, *, target_dbfs: float) -> float:
    """Factor that brings the RMS level of a signal to ``target_dbfs``.

    A plain RMS level, ``20 * log10(sqrt(mean(y ** 2)))`` with full scale = 1.0, not
    K-weighted LUFS.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
    target_dbfs : float
        The RMS level wanted, in dBFS.

    Returns
    -------
    float
        The linear factor; 1.0 for a silent signal (it stays silent).
    """
    rms = float(np.sqrt(np.mean(y ** 2)))
    return 10.0 ** (target_dbfs / 20.0) / rms if rms > 0 else 1.0


def style_level_dbfs(dynamics: float) -> float:
    """The RMS level a style's dynamics asks for.

    Every renderer levels its mix here before the peak limit, so a calm, low-dynamics style
    renders quieter than a busy, loud one whatever the backend.

    Parameters
    ----------
    dynamics : float
        The style row's ``dynamics`` (0..1).

    Returns
    -------
    float
        ``-26 + 8 * dynamics`` dBFS: -26 (calm) .. -18 (loud).
    """
    return -26.0 + 8.0 * float(dynamics)


def peak_limit_gain(peak: float, *, ceiling: float = PEAK_CEILING) -> float:
    """Factor (<= 1) that keeps a signal's absolute peak under a ceiling.

    Parameters
    ----------
    peak : float
        The signal's largest absolute sample value.
    ceiling : float
        The highest value allowed (default ``PEAK_CEILING``), full scale = 1.0.

    Returns
    -------
    float
        1.0 when ``peak`` is already at or under ``ceiling``, else the factor that puts it
        just under (by 1e-6).
    """
    return (ceiling - _PEAK_MARGIN) / peak if peak > ceiling else 1.0
