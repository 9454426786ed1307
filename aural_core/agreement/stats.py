"""File-level (cluster) bootstrap intervals for paired adapter - reference differences.

Sections of one file share the file's music, so they are not independent draws: resampling
sections would make intervals too narrow. The bootstrap here resamples *files* with
replacement and recomputes the pooled mean over all sections of the drawn files (Field & Welsh,
2007, "Bootstrapping clustered data"), with a percentile interval.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import ParameterError


def _as_1d(values, name: str) -> np.ndarray:
    try:
        a = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{name} must be numbers (NaN for missing)") from exc
    if a.ndim != 1:
        raise ParameterError(f"{name} must have shape (n,), got shape={a.shape}")
    return a


def bootstrap_ci(
    differences, groups, *, n_resamples: int = 2000, level: float = 0.95, seed: int = 0,
) -> tuple[float, float, float]:
    """Mean of per-section differences and its file-level bootstrap percentile interval.

    Parameters
    ----------
    differences : array-like [shape=(n,)]
        One paired difference per section (e.g. adapter - reference); NaN marks a missing
        pair and is dropped (booleans count as 0/1).
    groups : array-like [shape=(n,)]
        The file each section comes from (any hashable ids); files are the resampling unit.
    n_resamples : int >= 1
        Bootstrap resamples.
    level : float in (0, 1)
        Coverage of the interval.
    seed : int
        Seed of ``numpy.random.default_rng``: the same inputs and seed give the same interval.

    Returns
    -------
    (mean, low, high) : tuple of float
        ``mean`` is the pooled mean over all kept sections. Each resample draws as many files
        as there are (with replacement) and takes the pooled mean of their sections;
        ``low``/``high`` are its ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles.
        With one file the between-file spread is unknown and ``(mean, nan, nan)`` is returned
        (not a zero-width interval, which would read as certainty); with no kept section,
        ``(nan, nan, nan)``.

    Raises
    ------
    ParameterError
        Lengths differ, ``n_resamples < 1`` or ``level`` is outside (0, 1).

    Examples
    --------
    >>> bootstrap_ci([0.1, 0.2, 0.3, 0.5], ["a", "a", "b", "c"], seed=0)   # doctest: +SKIP
    (0.275, 0.15, 0.5)
    """
    d = _as_1d(differences, "differences")
    g = np.asarray(groups, dtype=object)
    if g.shape != d.shape:
        raise ParameterError(f"groups has shape={g.shape}, differences has shape={d.shape}")
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)) or n_resamples < 1:
        raise ParameterError(f"n_resamples={n_resamples!r} must be a positive integer")
    if not 0.0 < float(level) < 1.0:
        raise ParameterError(f"level={level!r} must lie strictly between 0 and 1")
    keep = np.isfinite(d)
    d, g = d[keep], g[keep]
    if d.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(d.mean())
    _, file_index = np.unique(g.astype(str), return_inverse=True)  # str: mixed id types sort
    n_files = int(file_index.max()) + 1
    if n_files < 2:
        return mean, math.nan, math.nan
    sums = np.bincount(file_index, weights=d, minlength=n_files)
    counts = np.bincount(file_index, minlength=n_files).astype(np.float64)
    draws = np.random.default_rng(seed).integers(0, n_files, size=(int(n_resamples), n_files))
    means = sums[draws].sum(axis=1) / counts[draws].sum(axis=1)
    alpha = (1.0 - float(level)) / 2.0
    low, high = np.quantile(means, [alpha, 1.0 - alpha])
    return mean, float(low), float(high)


def paired_summary(
    adapter_values, reference_values, groups, *, n_resamples: int = 2000, level: float = 0.95,
    seed: int = 0,
) -> dict:
    """Means of the adapter and a reference over the same sections, and the CI of the delta.

    Parameters
    ----------
    adapter_values, reference_values : array-like [shape=(n,)]
        Per-section scores (e.g. key agreement of the adapter's render and of the baseline's
        render of the same section); booleans count as 0/1. A section where either is NaN is
        dropped from every number, so both means cover the same sections.
    groups : array-like [shape=(n,)]
        Source file of each section.
    n_resamples, level, seed
        As in :func:`bootstrap_ci`.

    Returns
    -------
    dict
        ``mean_adapter``, ``mean_reference``, ``delta`` (= their difference), ``ci_low``,
        ``ci_high`` (file-level bootstrap of the delta), ``n_sections`` and ``n_files`` kept.

    Raises
    ------
    ParameterError
        When a value is not a number, an array is not 1-D, the three differ in shape, or
        ``n_resamples`` or ``level`` is not valid (as in :func:`bootstrap_ci`).
    """
    a = _as_1d(adapter_values, "adapter_values")
    r = _as_1d(reference_values, "reference_values")
    g = np.asarray(groups, dtype=object)
    if not a.shape == r.shape == g.shape:
        raise ParameterError(f"shapes differ: adapter_values={a.shape}, "
                             f"reference_values={r.shape}, groups={g.shape}")
    keep = np.isfinite(a) & np.isfinite(r)
    delta, low, high = bootstrap_ci(a[keep] - r[keep], g[keep], n_resamples=n_resamples,
                                    level=level, seed=seed)
    n = int(keep.sum())
    return {
        "mean_adapter": float(a[keep].mean()) if n else math.nan,
        "mean_reference": float(r[keep].mean()) if n else math.nan,
        "delta": delta, "ci_low": low, "ci_high": high,
        "n_sections": n, "n_files": len(set(map(str, g[keep]))),
    }
