"""Key estimation from pitch-class profiles: harmonic chroma and several key-profile sets.

Two steps, as in librosa, so that the expensive part runs once per file and labels are made
from stored per-frame columns:

1. ``harmonic_chroma`` (analysis time): tuning-corrected chroma of the harmonic part of the
   file's existing STFT magnitude, shape (12, n_hops); ``bass_chroma`` the same restricted to
   the bass register. Frames sum them (``frame_chroma``) into the per-frame columns.
2. ``estimate_key`` (label time): a section's energy-weighted histogram (+ the whole file's as
   context) correlated with the 24 rotations of a key-profile pair.

Profile sets (major, minor; tonic first, then the 11 pitch classes above it):

- ``krumhansl``: Krumhansl & Kessler (1982) probe-tone ratings.
- ``temperley``: Temperley (2007, "Music and Probability"), Kostka-Payne corpus frequencies
  (the values music21 ships as ``TemperleyKostkaPayne``).
- ``edma``: Faraldo et al. (2016) profile from electronic dance music (essentia's ``edma``).
- ``albrecht``: Albrecht & Shanahan (2013), from a corpus of 490 pieces (major and minor).
- ``aarden``: Aarden (2003) Essen folk-song frequencies.

The labels' settings (``LabelConfig``: profile, context weight, dominant margin) were chosen on
the "tune" half of the labelled real-composition set by the MIREX weighted score per section
(``benchmarks/realcomp/score_labels.py``), not by taste, and both halves are reported in
benchmarks/results/labels_realcomp.json: Albrecht-Shanahan over ``cqt_chroma`` columns, the whole
file as context with weight 3 and a dominant margin of 0.15 (tune half 0.843 -> 0.946 per
section against Temperley, context 1, no margin). ``DEFAULT_PROFILE`` stays the function's
default for callers without a config.
"""

from __future__ import annotations

from dataclasses import dataclass

import librosa
import numpy as np

from .errors import ParameterError
from .vocab import key_full_name

_EPS = 1e-10

PROFILES: dict[str, tuple[np.ndarray, np.ndarray]] = {
    "krumhansl": (
        np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88]),
        np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17]),
    ),
    "temperley": (
        np.array([0.748, 0.060, 0.488, 0.082, 0.670, 0.460, 0.096, 0.715, 0.104, 0.366, 0.057, 0.400]),
        np.array([0.712, 0.084, 0.474, 0.618, 0.049, 0.460, 0.105, 0.747, 0.404, 0.067, 0.133, 0.330]),
    ),
    "edma": (
        np.array([1.0, 0.2875, 0.5020, 0.4048, 0.6050, 0.5614, 0.3205, 0.7966, 0.3159, 0.4506, 0.4202, 0.3889]),
        np.array([1.0, 0.3096, 0.4415, 0.5827, 0.3262, 0.4948, 0.2889, 0.7804, 0.4328, 0.2903, 0.5331, 0.3217]),
    ),
    "albrecht": (
        np.array([0.238, 0.006, 0.111, 0.006, 0.137, 0.094, 0.016, 0.214, 0.009, 0.080, 0.008, 0.081]),
        np.array([0.220, 0.006, 0.104, 0.123, 0.019, 0.103, 0.012, 0.214, 0.062, 0.022, 0.061, 0.052]),
    ),
    "aarden": (
        np.array([17.77, 0.15, 14.93, 0.16, 19.80, 11.36, 0.29, 22.06, 0.15, 8.15, 0.23, 4.95]),
        np.array([18.26, 0.74, 14.05, 16.86, 0.70, 14.44, 0.70, 18.62, 4.57, 1.93, 7.38, 1.76]),
    ),
}
DEFAULT_PROFILE = "temperley"


@dataclass(frozen=True)
class KeyResult:
    """A key estimate. ``index`` = 2 * tonic + minor, like ``vocab.KEYS_FULL``."""

    tonic: int
    minor: bool
    name: str            # e.g. "F# minor"
    confidence: float    # best correlation minus the runner-up's, in [0, 2]; 0 for silence
    correlation: float   # correlation of the best key profile, in [-1, 1]
    scores: np.ndarray   # (24,) correlations

    @property
    def index(self) -> int:
        """Index among the 24 keys: 2 * tonic + minor, as in ``vocab.KEYS_FULL``."""
        return 2 * self.tonic + int(self.minor)


def key_scores(histogram: np.ndarray, *, profile: str = DEFAULT_PROFILE) -> np.ndarray:
    """Pearson correlation of a pitch-class histogram with the 24 keys of a profile set.

    Parameters
    ----------
    histogram : np.ndarray [shape=(12,)]
        Non-negative pitch-class weights, C first.
    profile : str
        A key of ``PROFILES``.

    Returns
    -------
    np.ndarray [shape=(24,)]
        Index 2 * tonic + minor; all zero for an all-zero histogram.

    Raises
    ------
    ParameterError
        When ``profile`` is unknown or ``histogram`` is not 12 finite values.
    """
    if profile not in PROFILES:
        raise ParameterError(f"profile={profile!r} is not one of {sorted(PROFILES)}")
    h = np.asarray(histogram, dtype=float)
    if h.shape != (12,) or not np.all(np.isfinite(h)):
        raise ParameterError(f"histogram must be 12 finite values, got shape {h.shape}")
    out = np.zeros(24)
    if not np.any(h > 0):
        return out
    c = h - h.mean()
    norm_c = np.linalg.norm(c)
    if norm_c <= _EPS:
        return out
    for minor, base in enumerate(PROFILES[profile]):
        p = base - base.mean()
        rolled = np.stack([np.roll(p, t) for t in range(12)])  # (12 tonics, 12 pcs)
        out[minor::2] = rolled @ c / (np.linalg.norm(p) * norm_c)
    return out


def estimate_key(
    chroma: np.ndarray,
    *,
    weights: np.ndarray | None = None,
    context: np.ndarray | None = None,
    context_weight: float = 1.0,
    profile: str = DEFAULT_PROFILE,
    dominant_margin: float = 0.0,
) -> KeyResult:
    """Key of a run of frames from their pitch-class columns.

    Parameters
    ----------
    chroma : np.ndarray [shape=(n, 12)] or [shape=(12,)]
        Per-frame pitch-class profiles (each summing to 1, or 0 for silence), or one histogram.
    weights : np.ndarray [shape=(n,)], optional
        Frame weights (e.g. energy); uniform by default.
    context : np.ndarray [shape=(12,)], optional
        The whole file's histogram; normalised to sum 1 and added with ``context_weight`` so a
        short section does not mistake its key for a neighbour (fifth, relative).
    context_weight : float
        Weight of ``context`` against the section's own histogram (which sums to 1).
    profile : str
        Profile set, see ``PROFILES``.
    dominant_margin : float >= 0
        When the key a fifth below the best one (same mode) scores within this margin of it,
        that key is returned: tonal music dwells on its dominant (half cadences, expositions
        that move to V), so a pitch-class histogram often ranks V just above I, while the
        reverse is rare (see ``LabelConfig.key_dominant_margin``). 0 turns it off.

    Returns
    -------
    KeyResult

    Raises
    ------
    ParameterError
        When ``dominant_margin`` is negative or not finite, ``chroma`` has no 12 columns,
        ``weights`` does not match its frames, or ``profile`` is unknown.
    """
    if not np.isfinite(dominant_margin) or dominant_margin < 0:
        raise ParameterError(f"dominant_margin={dominant_margin} must be >= 0")
    chroma = np.atleast_2d(np.asarray(chroma, dtype=float))
    if chroma.shape[-1] != 12:
        raise ParameterError(f"chroma must have 12 columns, got shape {chroma.shape}")
    w = np.ones(len(chroma)) if weights is None else np.asarray(weights, dtype=float)
    if w.shape != (len(chroma),):
        raise ParameterError(f"weights shape {w.shape} does not match {len(chroma)} frames")
    hist = (chroma * w[:, None]).sum(axis=0)
    hist = hist / hist.sum() if hist.sum() > _EPS else hist
    if context is not None:
        ctx = np.asarray(context, dtype=float)
        hist = hist + context_weight * ctx / max(ctx.sum(), _EPS)
    scores = key_scores(hist, profile=profile)
    order = np.argsort(-scores, kind="stable")
    best = int(order[0])
    below = 2 * ((best // 2 + 5) % 12) + best % 2  # the key a fifth below, same mode
    if dominant_margin > 0 and np.any(scores) and scores[below] >= scores[best] - dominant_margin:
        order = np.concatenate([[below], order[order != below]])
        best = below
    confidence = float(scores[best] - scores[order[1]]) if np.any(scores) else 0.0
    tonic, minor = best // 2, bool(best % 2)
    return KeyResult(tonic, minor, key_full_name(tonic, minor), confidence, float(scores[best]), scores)


def harmonic_chroma(
    *,
    S: np.ndarray,
    sr: int,
    n_fft: int,
    tuning: float | None = None,
    fmin: float = 55.0,
    fmax: float = 2000.0,
    kernel_size: int = 17,
    bass_fmax: float | None = None,
) -> tuple[np.ndarray, float]:
    """Tuning-corrected chroma of the harmonic part of an STFT magnitude.

    Harmonic/percussive separation (median filtering, ``librosa.decompose.hpss``) runs on the
    bins between ``fmin`` and ``fmax`` only (the pitch register that decides the key: a quarter
    of the bins at 22.05 kHz, so a quarter of the cost); the harmonic power is folded into 12
    pitch classes with the file's estimated tuning.

    Parameters
    ----------
    S : np.ndarray [shape=(1 + n_fft // 2, n_hops)]
        STFT magnitude of the file (the shared ``SpectralAnalysis.magnitude``).
    sr, n_fft : int
        Its sample rate and FFT size.
    tuning : float, optional
        Deviation from A440 in fractions of a bin (semitone); estimated from ``S`` if None.
    fmin, fmax : float
        Band (Hz) kept for the chroma.
    kernel_size : int
        Median filter length (hops, time and frequency) of the HPSS.
    bass_fmax : float, optional
        When given, replaces ``fmax`` (a bass chroma: e.g. ``fmin=40, bass_fmax=260``).

    Returns
    -------
    chroma : np.ndarray [shape=(12, n_hops)]
        Harmonic pitch-class power per hop (not normalised; silence stays 0).
    tuning : float
        The tuning used.

    Raises
    ------
    ParameterError
        When ``S`` is not 2-D with ``1 + n_fft // 2`` rows.
    """
    S = np.asarray(S)
    if S.ndim != 2 or S.shape[0] != 1 + n_fft // 2:
        raise ParameterError(f"S shape {S.shape} does not match n_fft={n_fft}")
    freqs = librosa.fft_frequencies(sr=sr, n_fft=n_fft)
    top = bass_fmax if bass_fmax is not None else fmax
    band = (freqs >= fmin) & (freqs <= top)
    lo, hi = int(np.argmax(band)), int(len(band) - np.argmax(band[::-1]))
    if tuning is None:
        tuning = float(librosa.estimate_tuning(S=S, sr=sr, n_fft=n_fft)) if np.any(S[lo:hi] > 0) else 0.0
    sub = S[lo:hi]
    if kernel_size > 1 and sub.shape[1] > 1:
        harm, _ = librosa.decompose.hpss(sub, kernel_size=kernel_size, power=2.0)
    else:
        harm = sub
    full = np.zeros_like(S)
    full[lo:hi] = harm
    chroma = librosa.feature.chroma_stft(S=full**2, sr=sr, n_fft=n_fft, tuning=tuning, norm=None)
    return chroma, float(tuning)


def cqt_chroma(
    *, y: np.ndarray, sr: int, tuning: float = 0.0, hop_length: int = 2048,
    bins_per_octave: int = 36, n_octaves: int = 6, fmin: float = 65.40639132514966,
) -> np.ndarray:
    """Tuning-corrected CQT chroma at a coarse hop (the key columns chosen on the labelled set).

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono signal.
    sr : int
        Its sample rate in Hz.
    tuning : float
        Deviation from A440 in fractions of a semitone (``librosa.estimate_tuning`` on the
        shared STFT magnitude).
    hop_length : int
        Hop in samples; 2048 at 22.05 kHz (93 ms): keys do not need a finer grid and the CQT
        costs ~1/4.
    bins_per_octave, n_octaves : int
        CQT resolution and range in octaves.
    fmin : float
        Lowest CQT frequency in Hz; with the defaults the range is C2 (65.4 Hz) to C8.

    Returns
    -------
    np.ndarray [shape=(12, ceil(n / hop_length))]
        Pitch-class energy per hop, not normalised (silence stays 0).
    """
    return librosa.feature.chroma_cqt(y=y, sr=sr, hop_length=hop_length, tuning=tuning, norm=None,
                                      bins_per_octave=bins_per_octave, n_octaves=n_octaves, fmin=fmin)


def frame_chroma(chroma: np.ndarray, hop_slices: list[slice]) -> np.ndarray:
    """Per-frame pitch-class columns from per-hop chroma: each frame's sum, normalised to 1.

    Parameters
    ----------
    chroma : np.ndarray [shape=(12, n_hops)]
        Pitch-class energy per hop.
    hop_slices : list of slice
        Hop range of each frame.

    Returns
    -------
    np.ndarray [shape=(n_frames, 12)]
        Sums to 1 per frame; all zero for a silent frame.
    """
    out = np.zeros((len(hop_slices), 12))
    for i, hs in enumerate(hop_slices):
        c = chroma[:, hs].sum(axis=1)
        total = c.sum()
        if total > _EPS:
            out[i] = c / total
    return out
