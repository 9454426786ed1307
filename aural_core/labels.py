"""Weak labels of a section (seed section 4b). Each rule lives here, once.

- emotion: rank-weighted votes of the frames' top tags, each tag voting for its emotion bin
  (``vocab.TAG_EMOTION``, the keyword -> bin rule table); ties go to the earlier bin in
  ``EMOTIONS``; a section with no tags (silence) is "calm".
- bpm: the beat tracker's tempo with its octave decided by ``tempo.estimate_tempo`` (candidates
  at 1/2, 2/3, 1, 3/2 and 2 times the tracker's tempo, scored by the onset periodicity at each,
  the percussive share and a log-normal prior; chosen on the labelled real-composition set);
  folded only outside [bpm_min, bpm_max]; ``bpm_default`` without beats.
- key: energy-weighted tuning-corrected CQT pitch-class histogram of the section plus
  ``key_context_weight`` times the whole file's (sections of a piece rarely modulate; a short
  section alone confuses a key with its fifth or relative), correlated with the 24 key profiles
  of ``key_profile`` (Albrecht-Shanahan with the file at weight 3 by default, and the key a
  fifth below preferred when within ``key_dominant_margin`` of the best: chosen on the tune
  half of the labelled set) -> ``key_full``; folded to the seed's 14 classes by
  ``vocab.fold_key_14``;
  below ``min_key_confidence`` it falls back to C major (or A minor when the best key is minor).
- style: (emotion, energy level) -> id in the style table; level "high" when the section's
  mean energy >= ``high_energy_threshold``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import LabelConfig
from .descriptors import key_correlations
from .errors import ParameterError
from .key import estimate_key
from .styles import StyleTable
from .tempo import estimate_tempo
from .vocab import EMOTIONS, KEYS_14, TAG_EMOTION, fold_key_14, key_full_name, parse_key

RANK_WEIGHTS = (5.0, 4.0, 3.0, 2.0, 1.0)
_DEFAULTS = LabelConfig()  # the defaults live in config.py
FALLBACK_EMOTION = "calm"


def emotion_votes(top_tags: list[list[str]]) -> np.ndarray:
    """Rank-weighted votes per emotion bin from every frame's top tags.

    Parameters
    ----------
    top_tags : list of list of str
        Each frame's tags, best first (names of ``vocab.TAG_NAMES``); the first five vote
        with weights ``RANK_WEIGHTS`` (5, 4, 3, 2, 1).

    Returns
    -------
    np.ndarray [shape=(len(EMOTIONS),)]
        Summed votes, in ``EMOTIONS`` order.
    """
    votes = np.zeros(len(EMOTIONS))
    for names in top_tags:
        for weight, name in zip(RANK_WEIGHTS, names):
            votes[EMOTIONS.index(TAG_EMOTION[name])] += weight
    return votes


def emotion_label(top_tags: list[list[str]]) -> str:
    """The emotion of a section: the bin with the most votes (:func:`emotion_votes`).

    Parameters
    ----------
    top_tags : list of list of str
        Each frame's tags, best first.

    Returns
    -------
    str
        One of ``EMOTIONS``; ties go to the earlier bin; ``"calm"`` without any tag (silence).
    """
    votes = emotion_votes(top_tags)
    return EMOTIONS[int(np.argmax(votes))] if votes.any() else FALLBACK_EMOTION


def fold_bpm(bpm: float, *, lo: float = _DEFAULTS.bpm_min, hi: float = _DEFAULTS.bpm_max) -> float:
    """Fold a tempo into ``[lo, hi]`` by octaves (with 60..160: 40 -> 80, 200 -> 100).

    Parameters
    ----------
    bpm : float > 0
        Tempo in BPM.
    lo, hi : float
        The range in BPM, spanning at least an octave (``hi >= 2 * lo``); default:
        ``LabelConfig()``'s ``bpm_min`` and ``bpm_max``.

    Returns
    -------
    float
        ``bpm`` times a power of 2, within ``[lo, hi]``.

    Raises
    ------
    ParameterError
        When ``bpm`` is not finite and positive, or the range spans less than an octave.
    """
    if not np.isfinite(bpm) or bpm <= 0:
        raise ParameterError(f"bpm={bpm} must be finite and strictly positive")
    if hi < 2 * lo:
        raise ParameterError(f"bpm range [{lo}, {hi}] must span an octave to fold into")
    while bpm < lo:
        bpm *= 2.0
    while bpm > hi:
        bpm /= 2.0
    return float(bpm)


def bpm_label(tempo_bpm: np.ndarray, beat_strength: np.ndarray, *, config: LabelConfig) -> float:
    """Tempo our beat tracker reads: what TempoCorr compares, as the seed defines it.

    The median over confident frames, folded into the label range. Labels use
    :func:`tempo_label`.

    Parameters
    ----------
    tempo_bpm : np.ndarray [shape=(n,)]
        The tracker's local tempo per frame in BPM (NaN without beats).
    beat_strength : np.ndarray [shape=(n,)]
        Per-frame beat strength (0..1); frames below ``config.min_beat_strength`` are left out.
    config : LabelConfig
        ``min_beat_strength``, ``bpm_min``, ``bpm_max`` and ``bpm_default``.

    Returns
    -------
    float
        BPM rounded to 0.01; ``config.bpm_default`` without a confident frame.
    """
    tempo_bpm, beat_strength = np.asarray(tempo_bpm, float), np.asarray(beat_strength, float)
    ok = np.isfinite(tempo_bpm) & (tempo_bpm > 0) & (beat_strength >= config.min_beat_strength)
    if not ok.any():
        return float(config.bpm_default)
    return round(fold_bpm(float(np.median(tempo_bpm[ok])), lo=config.bpm_min, hi=config.bpm_max), 2)


def tempo_label(*, tempo_bpm, beat_strength, acf, percussive_share, onset_rate, weights,
                config: LabelConfig) -> tuple[float, float]:
    """Tempo label of a section, its octave decided by :func:`aural_core.tempo.estimate_tempo`.

    The estimate weighs the beat tracker, the periodicity at each candidate, the percussive
    share and a log-normal prior; it is folded only outside ``[bpm_min, bpm_max]``.

    Parameters
    ----------
    tempo_bpm : np.ndarray [shape=(n,)]
        The tracker's local tempo per frame in BPM (NaN without beats).
    beat_strength : np.ndarray [shape=(n,)]
        Per-frame beat strength (0..1).
    acf : np.ndarray [shape=(n, len(tempo.TEMPO_FINE_BPM))]
        Per-frame onset periodicity on the fine tempo grid (the ``tempo_acf_fine`` column).
    percussive_share : np.ndarray [shape=(n,)] or None
        Per-frame share of percussive power (0..1).
    onset_rate : np.ndarray [shape=(n,)] or None
        Onsets per second per frame.
    weights : np.ndarray [shape=(n,)] or None
        Frame weights (e.g. energy); uniform when None.
    config : LabelConfig
        ``min_beat_strength``, ``bpm_min``, ``bpm_max`` and ``bpm_default``.

    Returns
    -------
    bpm : float
        BPM rounded to 0.01; ``config.bpm_default`` without beats or periodicity.
    confidence : float
        In [0, 1], rounded to 4 decimals; 0 with the default.

    Raises
    ------
    ParameterError
        When there is no frame or the arrays' shapes disagree.
    """
    result = estimate_tempo(tempo_bpm=tempo_bpm, beat_strength=beat_strength, acf=acf,
                            percussive_share=percussive_share, onset_rate=onset_rate, weights=weights,
                            min_beat_strength=config.min_beat_strength)
    if not np.isfinite(result.tracker_bpm):
        return float(config.bpm_default), 0.0
    return round(fold_bpm(result.bpm, lo=config.bpm_min, hi=config.bpm_max), 2), round(result.confidence, 4)


@dataclass(frozen=True)
class KeyEstimate:
    """A section's key label, among the 24 keys and folded to the seed's 14 classes."""

    key_full: str       # among 24, e.g. "F# minor"
    key: str            # the seed's 14-class label
    key_id: int         # index into vocab.KEYS_14
    confidence: float   # correlation of the best key profile (0 for silence)
    fallback: bool      # True when confidence was too low and C major / A minor was used


def pitch_class_histogram(chroma: np.ndarray, *, weights: np.ndarray | None = None) -> np.ndarray:
    """Weighted sum of per-frame chroma, normalised to sum 1.

    Parameters
    ----------
    chroma : np.ndarray [shape=(n, 12)]
        Per-frame pitch-class columns.
    weights : np.ndarray [shape=(n,)], optional
        Frame weights (e.g. energy); uniform by default.

    Returns
    -------
    np.ndarray [shape=(12,)]
        Sums to 1; all zero when every weighted frame is silent.
    """
    chroma = np.asarray(chroma, float)
    w = np.ones(len(chroma)) if weights is None else np.asarray(weights, float)
    hist = (chroma * w[:, None]).sum(axis=0)
    return hist / hist.sum() if hist.sum() > 0 else hist


def key_label_frames(chroma: np.ndarray, *, weights: np.ndarray, context: np.ndarray,
                     config: LabelConfig) -> KeyEstimate:
    """Key label of a section from its frames' CQT chroma plus the whole file's.

    :func:`~aural_core.key.estimate_key` with the profile, context weight and dominant margin
    of ``config``; below ``config.min_key_confidence`` it falls back to C major (A minor when
    the best key is minor).

    Parameters
    ----------
    chroma : np.ndarray [shape=(n, 12)]
        The section's per-frame CQT pitch-class columns (``chroma_cqt``).
    weights : np.ndarray [shape=(n,)]
        Frame weights (energy).
    context : np.ndarray [shape=(12,)]
        The whole file's pitch-class histogram.
    config : LabelConfig
        ``key_profile``, ``key_context_weight``, ``key_dominant_margin`` and ``min_key_confidence``.

    Returns
    -------
    KeyEstimate
        ``confidence`` is the best key profile's correlation.

    Raises
    ------
    ParameterError
        When ``chroma`` has no 12 columns or ``weights`` does not match its frames.
    """
    result = estimate_key(chroma, weights=weights, context=context, context_weight=config.key_context_weight,
                          profile=config.key_profile, dominant_margin=config.key_dominant_margin)
    tonic, minor = result.tonic, result.minor
    fallback = result.correlation < config.min_key_confidence
    if fallback:
        tonic = 9 if minor else 0  # A minor / C major
    key_id = fold_key_14(tonic, minor)
    return KeyEstimate(key_full_name(tonic, minor), KEYS_14[key_id], key_id, result.correlation, fallback)


def key_label(histogram: np.ndarray, *, config: LabelConfig, context: np.ndarray | None = None) -> KeyEstimate:
    """Key label from a pitch-class histogram and the Krumhansl-Kessler profiles.

    Parameters
    ----------
    histogram : np.ndarray [shape=(12,)]
        The section's pitch-class histogram.
    config : LabelConfig
        ``key_context_weight`` and ``min_key_confidence`` (below it: C major, or A minor when
        the best key is minor).
    context : np.ndarray [shape=(12,)], optional
        The whole file's histogram, added with weight ``config.key_context_weight``.

    Returns
    -------
    KeyEstimate
    """
    profile = np.asarray(histogram, float)
    if context is not None:
        profile = profile + config.key_context_weight * np.asarray(context, float)
    corr = key_correlations(profile)
    best = int(np.argmax(corr))
    tonic, minor = best // 2, bool(best % 2)
    confidence = float(corr[best])
    fallback = confidence < config.min_key_confidence
    if fallback:
        tonic = 9 if minor else 0  # A minor / C major
    key_full = key_full_name(tonic, minor)
    key_id = fold_key_14(tonic, minor)
    return KeyEstimate(key_full, KEYS_14[key_id], key_id, confidence, fallback)


def known_key(key_full: str) -> KeyEstimate:
    """A key given, not estimated (a strong label): full confidence, no fallback.

    Parameters
    ----------
    key_full : str
        A key name such as ``"F# minor"`` or ``"Bb major"``.

    Returns
    -------
    KeyEstimate

    Raises
    ------
    ParameterError
        When ``key_full`` is not a key name.
    """
    tonic, minor = parse_key(key_full)
    key_id = fold_key_14(tonic, minor)
    return KeyEstimate(key_full_name(tonic, minor), KEYS_14[key_id], key_id, 1.0, False)


def resolve_style(style: str, *, table: StyleTable) -> int | None:
    """The id of the style-table row that ``style`` names.

    Parameters
    ----------
    style : str
        A row's id (``"3"``) or its prompt (any case, outer spaces ignored).
    table : StyleTable

    Returns
    -------
    int or None
        The row's id; None when no row matches.
    """
    text = str(style).strip()
    if text.isdigit() and int(text) < len(table):
        return int(text)
    prompts = {row.prompt.strip().lower(): row.id for row in table.styles}
    return prompts.get(text.lower())


def style_label(emotion: str, energy: float, *, table: StyleTable, config: LabelConfig) -> int:
    """Style label of a section: the table's row for its emotion and energy level.

    Parameters
    ----------
    emotion : str
        One of ``EMOTIONS``.
    energy : float
        The section's mean energy (0..1); ``"high"`` at or above
        ``config.high_energy_threshold``, else ``"low"``.
    table : StyleTable
    config : LabelConfig

    Returns
    -------
    int
        A style id (see :meth:`StyleTable.style_id` for the fallbacks).
    """
    level = "high" if energy >= config.high_energy_threshold else "low"
    return table.style_id(emotion, level)
