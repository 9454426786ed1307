"""Seed section 6 and issue 10: the scores of an evaluation, per attribute, against references.

Per render (see :mod:`aural_core.evaluation` for the five kinds of controls):

- ``match``: MatchScore's term, the cosine between the render's embedding (mean of its frames')
  and its source section's, from the analysis embedder (the seed's definition);
- ``tempo_acc1`` / ``tempo_acc2`` / ``tempo_log2_error``, ``key_weighted`` and ``timbre``: how
  the render agrees with its source section when both are read by an *independent* estimator
  (:mod:`aural_core.agreement`: essentia, which neither made our labels nor drives the renderer).

Aggregates: each metric's mean per kind, and for every reference the adapter's mean difference
with a file-level bootstrap interval (files are resampled, not sections, because sections of
one file are not independent). TempoCorr stays the seed's: Pearson r between each section's
reference tempo and the tempo our beat tracker reads on the adapter's render.

``passed`` keeps the seed's two targets (MatchScore >= fixed baseline + ``match_margin``,
TempoCorr >= ``min_tempo_corr``); ``passed_ci`` asks the same of the lower bound of the match
delta's interval.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from .agreement import bootstrap_ci
from .config import EvalConfig

METRICS = ("match", "tempo_acc1", "tempo_acc2", "tempo_log2_error", "key_weighted", "timbre")
LOWER_IS_BETTER = frozenset({"tempo_log2_error"})


def pearson(x, y) -> float:
    """Pearson correlation of two series over the pairs where both are finite.

    Parameters
    ----------
    x, y : array-like of float [shape=(n,)]

    Returns
    -------
    float
        r in [-1, 1]; NaN with fewer than 2 finite pairs or when either side is constant (no
        correlation can be measured).
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if len(x) < 2 or np.std(x) == 0 or np.std(y) == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])


@dataclass(frozen=True)
class Difference:
    """The adapter's mean difference with a reference, and its file-level bootstrap interval."""

    delta: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class Scores:
    """The figures of an evaluation: the seed's headline, its targets and the per-kind tables."""

    match_score: float
    baseline_match_score: float
    match_delta: float
    tempo_corr: float
    passed: bool
    passed_ci: bool
    targets: dict
    attributes: dict[str, dict[str, float]] = field(default_factory=dict)   # kind -> metric -> mean
    differences: dict[str, dict[str, Difference]] = field(default_factory=dict)  # reference -> metric


def _mean(values) -> float:
    v = np.asarray([x for x in values if x is not None], float)
    v = v[np.isfinite(v)]
    return float(v.mean()) if len(v) else float("nan")


def score(per_kind: Mapping[str, Sequence[Mapping[str, float] | None]], *, file_ids: Sequence[str],
          reference_bpm: Sequence[float], rendered_bpm: Sequence[float], config: EvalConfig,
          seed: int = 0) -> Scores:
    """Aggregate the per-section metrics of every kind into the evaluation's scores.

    Parameters
    ----------
    per_kind : mapping of str to sequence of (mapping of str to float) or None
        Kind (``evaluation.KINDS``; ``"adapter"`` and ``"fixed"`` required) -> per section, its
        ``METRICS`` (a metric may be None), or None where the kind was not rendered.
    file_ids : sequence of str
        The file of each section: the bootstrap resamples files.
    reference_bpm : sequence of float
        Each section's reference tempo in BPM.
    rendered_bpm : sequence of float
        The tempo our tracker reads on the adapter's render of each section, in BPM (for
        TempoCorr).
    config : EvalConfig
        Targets (``match_margin``, ``min_tempo_corr``) and bootstrap settings.
    seed : int
        Seed of the bootstrap.

    Returns
    -------
    Scores
    """
    attributes = {kind: {m: _mean(r.get(m) if r else None for r in rows) for m in METRICS}
                  for kind, rows in per_kind.items()}
    adapter = per_kind["adapter"]
    differences: dict[str, dict[str, Difference]] = {}
    for kind, rows in per_kind.items():
        if kind == "adapter":
            continue
        differences[kind] = {}
        for m in METRICS:
            diffs = [(a[m] - r[m]) if (a and r and a.get(m) is not None and r.get(m) is not None) else np.nan
                     for a, r in zip(adapter, rows)]
            mean, low, high = bootstrap_ci(np.asarray(diffs, float), list(file_ids),
                                           n_resamples=config.bootstrap_resamples, level=config.ci_level, seed=seed)
            differences[kind][m] = Difference(mean, low, high)
    m, b = attributes["adapter"]["match"], attributes["fixed"]["match"]
    r = pearson(reference_bpm, rendered_bpm)
    passed = bool(m >= b + config.match_margin and np.isfinite(r) and r >= config.min_tempo_corr)
    low = differences["fixed"]["match"].ci_low
    passed_ci = bool(passed and np.isfinite(low) and low >= config.match_margin)
    return Scores(m, b, m - b, r, passed, passed_ci,
                  {"match_delta_min": config.match_margin, "tempo_corr_min": config.min_tempo_corr,
                   "match_delta_ci_low_min": config.match_margin},
                  attributes, differences)
