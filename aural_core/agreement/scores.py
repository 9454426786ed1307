"""Agreement between a reference and an estimate, per musical attribute.

- tempo: Acc1 / Acc2 in the convention of Gouyon et al. (2006) used by MIREX and mir_eval's
  tempo literature (within 4 % of the reference; Acc2 also at 2, 3, 1/2 or 1/3 of it), and the
  absolute log2 tempo ratio, which an octave error makes exactly 1;
- key: ``mir_eval.key.weighted_score`` (MIREX: 1 same key, 0.5 the estimate a fifth above in the
  same mode, 0.3 relative, 0.2 parallel, 0 otherwise);
- timbre: cosine of descriptor vectors standardised with fixed statistics of real music
  (``timbre_reference.json``, made by ``benchmarks/fit_agreement_reference.py``).
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path

import mir_eval.key
import numpy as np

from ..errors import ParameterError
from ..vocab import PITCH_CLASSES, parse_key
from .estimate import N_TIMBRE, TIMBRE_FEATURES

ACC_TOLERANCE = 0.04
ACC2_FACTORS: tuple[float, ...] = (1.0, 2.0, 3.0, 1.0 / 2.0, 1.0 / 3.0)
TIMBRE_REFERENCE_PATH = Path(__file__).with_name("timbre_reference.json")


def _bpm_or_nan(value, name: str) -> float:
    if value is None:
        return math.nan
    try:
        bpm = float(value)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{name}={value!r} is not a number") from exc
    if math.isfinite(bpm) and bpm <= 0:
        raise ParameterError(f"{name}={value!r} must be strictly positive (None or NaN for none)")
    return bpm


def tempo_agreement(reference_bpm: float | None, estimate_bpm: float | None) -> dict:
    """Octave-aware agreement of an estimated tempo with a reference tempo.

    Parameters
    ----------
    reference_bpm, estimate_bpm : float > 0, NaN or None
        Tempi in BPM; NaN or None mean "no tempo found".

    Returns
    -------
    dict
        ``acc1`` (bool): ``|est - ref| <= 0.04 * ref``; ``acc2`` (bool): the same against
        ``ref * f`` for some ``f`` in (1, 2, 3, 1/2, 1/3); ``log2_error`` (float):
        ``|log2(est / ref)|`` (1.0 for an octave error). A missing tempo on either side gives
        ``acc1 = acc2 = False`` and ``log2_error = nan``.

    Raises
    ------
    ParameterError
        A tempo is zero, negative or not a number.

    Examples
    --------
    >>> tempo_agreement(120.0, 61.0)
    {'acc1': False, 'acc2': True, 'log2_error': 0.976...}
    """
    ref = _bpm_or_nan(reference_bpm, "reference_bpm")
    est = _bpm_or_nan(estimate_bpm, "estimate_bpm")
    if not (math.isfinite(ref) and math.isfinite(est)):
        return {"acc1": False, "acc2": False, "log2_error": math.nan}
    hits = [abs(est - ref * f) <= ACC_TOLERANCE * ref * f for f in ACC2_FACTORS]
    return {"acc1": bool(hits[0]), "acc2": bool(any(hits)), "log2_error": abs(math.log2(est / ref))}


def to_mir_eval_key(name: str) -> str:
    """Our key name ("F# minor", "Bb major") in mir_eval's format ("F# minor", "A# major").

    Parameters
    ----------
    name : str
        A key name with its mode spelled out, flats accepted.

    Returns
    -------
    str
        Sharp root, a space, "major" or "minor".

    Raises
    ------
    ParameterError
        ``name`` is not a key name like "F# minor".
    """
    try:
        tonic, minor = parse_key(name)
        mode_ok = name.split()[1] in ("major", "minor")
    except (ValueError, AttributeError, IndexError) as exc:
        raise ParameterError(f"key={name!r} is not a key name like 'F# minor'") from exc
    if not mode_ok:
        raise ParameterError(f"key={name!r} is not a key name like 'F# minor'")
    return f"{PITCH_CLASSES[tonic]} {'minor' if minor else 'major'}"


def key_agreement(reference_key: str | None, estimate_key: str | None) -> float:
    """MIREX weighted key score of an estimate against a reference.

    Parameters
    ----------
    reference_key, estimate_key : str or None
        Keys among 24 named like "F# minor" (flats accepted); None means "no key found".

    Returns
    -------
    float
        ``mir_eval.key.weighted_score``: 1.0 same key; 0.5 the estimate a perfect fifth *above*
        the reference in the same mode (MIREX is asymmetric: a fifth below scores 0); 0.3
        relative major/minor; 0.2 parallel major/minor; 0.0 otherwise or when either is None.

    Raises
    ------
    ParameterError
        A key is not a key name.

    Examples
    --------
    >>> key_agreement("A minor", "E minor"), key_agreement("A minor", "C major")
    (0.5, 0.3)
    """
    if reference_key is None or estimate_key is None:
        return 0.0
    return float(mir_eval.key.weighted_score(to_mir_eval_key(reference_key),
                                             to_mir_eval_key(estimate_key)))


@lru_cache(maxsize=1)
def timbre_reference() -> tuple[np.ndarray, np.ndarray]:
    """Mean and std per timbre dimension of real music, read once from ``timbre_reference.json``.

    Returns
    -------
    mean, std : np.ndarray [shape=(30,)]
        In the units of ``IndependentEstimate.timbre``; std floored at 1e-9.

    Raises
    ------
    ParameterError
        When the file names other features than ``TIMBRE_FEATURES`` (refit it).
    """
    data = json.loads(TIMBRE_REFERENCE_PATH.read_text())
    if tuple(data["features"]) != TIMBRE_FEATURES:
        raise ParameterError(f"{TIMBRE_REFERENCE_PATH} names other features than TIMBRE_FEATURES; "
                             "rerun benchmarks/fit_agreement_reference.py")
    mean, std = np.asarray(data["mean"], float), np.asarray(data["std"], float)
    return mean, np.maximum(std, 1e-9)


def standardize_timbre(t: np.ndarray) -> np.ndarray:
    """``(t - mean) / std`` with the fixed real-music statistics of :func:`timbre_reference`.

    Parameters
    ----------
    t : np.ndarray [shape=(..., 30)]
        Timbre descriptors (``IndependentEstimate.timbre``).

    Returns
    -------
    np.ndarray [shape=(..., 30)], float64
    """
    mean, std = timbre_reference()
    return (np.asarray(t, dtype=np.float64) - mean) / std


def timbre_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two timbre descriptors after fixed standardisation, in [-1, 1].

    Each of the 30 dimensions is standardised with the mean and standard deviation of 15 s
    excerpts of real recordings (``timbre_reference.json``), so that no dimension dominates by
    its units (MFCC means are in tens of dB, flatness standard deviations near 1) and two
    clips are similar only where they deviate from typical music the same way; then cosine.
    The descriptors themselves are gain-invariant, so a louder copy scores 1.

    Parameters
    ----------
    a, b : np.ndarray [shape=(30,)]
        ``IndependentEstimate.timbre`` vectors.

    Returns
    -------
    float
        Similarity in [-1, 1]; 0.0 when either vector is all zeros (a silent clip has no
        timbre, and scoring it 0 rather than NaN keeps a silent render from dropping out of an
        average).

    Raises
    ------
    ParameterError
        A vector has the wrong shape or holds NaN or inf.
    """
    vs = []
    for name, v in (("a", a), ("b", b)):
        v = np.asarray(v, dtype=np.float64)
        if v.shape != (N_TIMBRE,) or not np.all(np.isfinite(v)):
            raise ParameterError(f"{name} must be a finite timbre vector of shape ({N_TIMBRE},), "
                                 f"got shape={v.shape}")
        vs.append(v)
    if not (np.any(vs[0]) and np.any(vs[1])):
        return 0.0
    za, zb = standardize_timbre(vs[0]), standardize_timbre(vs[1])
    denom = float(np.linalg.norm(za) * np.linalg.norm(zb))
    if denom == 0.0:  # a clip exactly at the reference mean has no direction
        return 0.0
    return float(np.clip(np.dot(za, zb) / denom, -1.0, 1.0))
