"""Training-time augmentation (issue 10): transposed and time-stretched copies of a clip.

A copy of a training file is its audio transformed (:func:`transform_signal`) and analysed
again through the same feature extraction (``features.analyze_signal``); each of the file's
labelled sections becomes one augmented section (:func:`augment_sections`):

- spans: scaled by ``1 / rate`` (a rate above 1 plays faster, so a section ends earlier);
- ``x``: the mean x_t of the augmented frames whose centre lies in the scaled spans;
- key: the *original* label moved by the shift (``key_full`` among 24, ``key``/``key_id``
  folded to 14 classes by ``vocab.fold_key_14``, mode kept). A fallback key (confidence below
  ``LabelConfig.min_key_confidence``: C major / A minor stand for "unknown") stays as it is;
- BPM: the original label times ``rate``, folded into the label range by ``labels.fold_bpm``;
  the default BPM of a section without a confident beat stays as it is;
- emotion and style: unchanged (a transposition or a +-15 % tempo change keeps the mood).

The labels are the original section's labels transformed, never estimated again on the
transformed audio: the estimator's errors are not what the heads should learn.

Which copies a file gets is decided by :func:`plan_transforms`, deterministically from the
file's content id and ``AugmentConfig.seed``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace

import librosa
import numpy as np

from .audio import valid_audio
from .config import AugmentConfig, LabelConfig
from .errors import ParameterError
from .labels import fold_bpm, pitch_class_histogram
from .sections import FrameArrays, LabelledSection, edge_chroma, section_evidence
from .vocab import KEYS_14, fold_key_14, key_full_name, parse_key

_LABELS = LabelConfig()  # the defaults live in config.py


@dataclass(frozen=True)
class Transform:
    """A pitch shift in semitones and a time-stretch rate (> 1: faster and shorter).

    Parameters
    ----------
    semitones : int
        Transposition, up when positive.
    rate : float > 0
        Speed factor: 1.15 plays 15 % faster.

    Raises
    ------
    ParameterError
        When ``semitones`` is not an integer or ``rate`` not finite and positive.
    """

    semitones: int = 0
    rate: float = 1.0

    def __post_init__(self):
        if isinstance(self.semitones, bool) or not isinstance(self.semitones, (int, np.integer)):
            raise ParameterError(f"semitones={self.semitones!r} must be an integer")
        if not np.isfinite(self.rate) or self.rate <= 0:
            raise ParameterError(f"rate={self.rate!r} must be finite and strictly positive")

    @property
    def is_identity(self) -> bool:
        """True when the transform changes nothing (no shift, rate 1)."""
        return self.semitones == 0 and self.rate == 1.0

    @property
    def slug(self) -> str:
        """A file-name-safe name: ``shift+2``, ``rate1.15``, ``shift-5_rate0.87``."""
        parts = ([f"shift{self.semitones:+d}"] if self.semitones else []) + (
            [f"rate{self.rate:g}"] if self.rate != 1.0 else [])
        return "_".join(parts) or "identity"


def transform_signal(y: np.ndarray, *, sr: int, transform: Transform) -> np.ndarray:
    """Pitch-shift and/or time-stretch a mono signal (deterministic).

    A pure shift is ``librosa.effects.pitch_shift``, a pure stretch
    ``librosa.effects.time_stretch``. Both at once take one phase-vocoder pass, as
    ``pitch_shift`` does internally: stretch by ``rate / 2**(n/12)``, then resample by
    ``2**(n/12)``.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono, finite, floating-point signal.
    sr : int > 0
        Sample rate (Hz).
    transform : Transform
        The shift and rate to apply.

    Returns
    -------
    np.ndarray [shape=(round(n / rate),)], float32

    Raises
    ------
    ParameterError
        When ``y`` is not valid audio (``valid_audio``) or ``sr`` is not positive.
    """
    valid_audio(y)
    if sr <= 0:
        raise ParameterError(f"sr={sr} must be strictly positive")
    n, rate = transform.semitones, float(transform.rate)
    if transform.is_identity:
        return y.astype(np.float32, copy=True)
    if n == 0:
        out = librosa.effects.time_stretch(y, rate=rate)
    elif rate == 1.0:
        out = librosa.effects.pitch_shift(y, sr=sr, n_steps=n)
    else:
        factor = 2.0 ** (n / 12.0)
        stretched = librosa.effects.time_stretch(y, rate=rate / factor)
        out = librosa.resample(stretched, orig_sr=float(sr) * factor, target_sr=sr)
    return librosa.util.fix_length(out, size=int(round(len(y) / rate))).astype(np.float32)


def shift_key(key_full: str, *, semitones: int) -> tuple[str, str, int]:
    """A key moved by ``semitones``, mode kept.

    Parameters
    ----------
    key_full : str
        A key name such as "E minor" (``vocab.parse_key`` spellings).
    semitones : int
        Transposition, up when positive.

    Returns
    -------
    key_full : str
        The moved key among 24.
    key : str
        Its 14-class fold (``vocab.KEYS_14``).
    key_id : int
        The fold's index.

    Examples
    --------
    >>> shift_key("E minor", semitones=2)
    ('F# minor', 'F minor', 7)
    """
    tonic, minor = parse_key(key_full)
    tonic = (tonic + int(semitones)) % 12
    key_id = fold_key_14(tonic, minor)
    return key_full_name(tonic, minor), KEYS_14[key_id], key_id


def stretch_bpm(bpm: float, *, rate: float, labels: LabelConfig = _LABELS) -> float:
    """A tempo label after a time-stretch by ``rate``, folded into the label range.

    Parameters
    ----------
    bpm : float
        The original tempo label (beats per minute).
    rate : float > 0
        The time-stretch rate (> 1: faster).
    labels : LabelConfig
        ``bpm_min`` and ``bpm_max``: the range the result is folded into by octaves.

    Returns
    -------
    float
        BPM, rounded to 0.01.
    """
    return round(fold_bpm(float(bpm) * float(rate), lo=labels.bpm_min, hi=labels.bpm_max), 2)


def frames_in_spans(spans: Sequence[tuple[float, float]], *, start_s: np.ndarray, end_s: np.ndarray) -> np.ndarray:
    """Indices of the frames whose centre lies in any span ``[a, b)``, ascending.

    A span shorter than every frame around it still gets the frame that overlaps it most.

    Parameters
    ----------
    spans : sequence of (float, float)
        ``[a, b)`` intervals in seconds.
    start_s, end_s : np.ndarray [shape=(n,)]
        Frame bounds in seconds.

    Returns
    -------
    np.ndarray [shape=(m,), dtype=int]
        Distinct frame indices, ascending.

    Raises
    ------
    ParameterError
        When there are no frames.
    """
    start_s, end_s = np.asarray(start_s, float), np.asarray(end_s, float)
    if len(start_s) == 0:
        raise ParameterError("no frames to take a span from")
    mid = (start_s + end_s) / 2
    picked: set[int] = set()
    for a, b in spans:
        idx = np.flatnonzero((mid >= a) & (mid < b))
        if len(idx) == 0:
            overlap = np.minimum(end_s, b) - np.maximum(start_s, a)
            idx = [int(np.argmax(overlap))]
        picked.update(int(i) for i in idx)
    return np.array(sorted(picked), dtype=int)


def augment_sections(rows: Sequence[LabelledSection], frames: FrameArrays, *, transform: Transform,
                     labels: LabelConfig = _LABELS) -> list[LabelledSection]:
    """The sections of one file, moved onto the frames of its transformed audio.

    Parameters
    ----------
    rows : sequence of LabelledSection
        The file's sections with their labels (from the original audio).
    frames : FrameArrays
        Frames of the file's audio after ``transform``.
    transform : Transform
        The transform that made ``frames`` from the original audio.
    labels : LabelConfig
        Label range and fallback thresholds (see the module docstring).

    Returns
    -------
    list[LabelledSection]
        One per row, in the same order.
    """
    rate = float(transform.rate)
    weights = frames.energy + 1e-3  # as label_sections weighs the original's frames
    context = pitch_class_histogram(frames.chroma_cqt, weights=weights)
    edges = edge_chroma(frames.chroma_cqt, frames.energy)
    out = []
    for row in rows:
        spans = [(a / rate, b / rate) for a, b in row.spans] or [(row.start_s / rate, row.end_s / rate)]
        idx = frames_in_spans(spans, start_s=frames.start_s, end_s=frames.end_s)
        key_full, key, key_id = row.key_full, row.key, row.key_id
        if transform.semitones and row.key_confidence >= labels.min_key_confidence:
            key_full, key, key_id = shift_key(row.key_full, semitones=transform.semitones)
        bpm = row.bpm
        unmeasured = row.bpm == labels.bpm_default and row.beat_strength < labels.min_beat_strength
        if rate != 1.0 and not unmeasured:
            bpm = stretch_bpm(row.bpm, rate=rate, labels=labels)
        out.append(replace(
            row, start_s=row.start_s / rate, end_s=row.end_s / rate, spans=spans, n_frames=len(idx),
            x=frames.x[idx].mean(axis=0).astype(np.float32), energy=float(frames.energy[idx].mean()),
            beat_strength=float(frames.beat_strength[idx].mean()), bpm=bpm,
            key=key, key_id=key_id, key_full=key_full,
            evidence=section_evidence(frames, rows=idx, weights=weights, context=context, edges=edges),
            transform=transform.slug))
    return out


def plan_transforms(file_id: str, *, config: AugmentConfig) -> list[Transform]:
    """The copies of one file: ``config.copies_per_file`` distinct transforms (see AugmentConfig).

    Deterministic: the same file content id, config and seed give the same list.

    Parameters
    ----------
    file_id : str
        The file's content id (mixed into the draw).
    config : AugmentConfig
        ``enabled``, ``copies_per_file``, ``pitch_shifts``, ``time_stretches``, ``combine`` and ``seed``.

    Returns
    -------
    list of Transform
        Distinct, in draw order; empty when augmentation is off. Repeats that coincide are
        dropped, so it may be shorter than ``copies_per_file``.
    """
    if not config.enabled:
        return []
    digest = int(hashlib.sha256(str(file_id).encode()).hexdigest()[:8], 16)
    rng = np.random.default_rng([config.seed, digest])
    n = config.copies_per_file
    shifts, rates = _draw(rng, config.pitch_shifts, n), _draw(rng, config.time_stretches, n)
    if config.combine:
        copies = [Transform(int(shifts[i]) if shifts else 0, float(rates[i]) if rates else 1.0)
                  for i in range(n)]
    else:  # alternate: shift, stretch, shift, ... each kind taking its own draws in order
        kinds = [k for k, pool in (("shift", shifts), ("rate", rates)) if pool]
        kind_of = [kinds[i % len(kinds)] for i in range(n)]
        next_shift, next_rate = iter(shifts), iter(rates)
        copies = [Transform(int(next(next_shift))) if k == "shift" else Transform(rate=float(next(next_rate)))
                  for k in kind_of]
    return list(dict.fromkeys(copies))  # distinct, in order


def _draw(rng: np.random.Generator, pool: Sequence, n: int) -> list:
    """``n`` draws from ``pool`` without replacement until it is used up, then a fresh round."""
    if not pool:
        return []
    out: list = []
    while len(out) < n:
        out.extend(pool[i] for i in rng.permutation(len(pool)))
    return out[:n]
