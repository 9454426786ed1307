"""One place computes the spectral analyses of a file; every feature slices them.

``SpectralAnalysis`` holds the STFT magnitude and everything derived from it at one hop
grid, so a file's expensive analyses run once and frames only take slices (seed section 1).
"""

from __future__ import annotations

import warnings
from dataclasses import KW_ONLY, dataclass, field
from functools import cached_property

import librosa
import numpy as np
import soxr

from .audio import valid_audio
from .config import FeatureConfig

_EPS = 1e-10
_DEFAULTS = FeatureConfig()  # the defaults live in config.py
# 2048 samples (93 ms at 22.05 kHz): keys need no finer grid and the CQT costs a quarter.
CQT_HOP = 2048
# The tempogram keeps every 4th hop (46 ms at the defaults): a 2 s frame still averages ~11
# columns of 8.9 s autocorrelation windows, at a quarter of the cost.
TEMPOGRAM_STRIDE = 4
TEMPOGRAM_WIN = 384  # onset hops per autocorrelation window (librosa.feature.tempogram's default)
# Tuning is read from every 8th hop: within 0.03 semitone of all hops on real recordings, 1/13 the cost.
TUNING_STRIDE = 8
# YIN runs on every 2nd hop; the frame statistics (median, IQR) of ~21 values instead of ~43.
F0_STRIDE = 2


@dataclass
class SpectralAnalysis:
    """Lazily computed analyses of one mono signal on a common hop grid.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Finite mono float signal (kept as float32).
    sr : int
        Its sample rate in Hz.
    n_fft, hop_length, n_mels : int
        STFT size and hop in samples, and mel bands, shared by every descriptor (defaults:
        ``FeatureConfig``'s).
    f0_fmin, f0_fmax : float
        Range of the f0 tracker in Hz (defaults: ``FeatureConfig``'s).
    memo : dict
        Derived tables shared by the embedder and the tagger, filled as they are asked for.

    Raises
    ------
    ParameterError
        When ``y`` is not a finite mono float signal.

    See Also
    --------
    from_config : every setting from a ``FeatureConfig``.
    """

    y: np.ndarray
    _: KW_ONLY
    sr: int
    n_fft: int = _DEFAULTS.n_fft
    hop_length: int = _DEFAULTS.hop_length
    n_mels: int = _DEFAULTS.n_mels
    f0_fmin: float = _DEFAULTS.f0_fmin
    f0_fmax: float = _DEFAULTS.f0_fmax
    # Per-analysis memo for derived tables (e.g. frame descriptors shared by embedder and tagger).
    memo: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        valid_audio(self.y)
        self.y = self.y.astype(np.float32, copy=False)

    @classmethod
    def from_config(cls, y: np.ndarray, *, sr: int, config: FeatureConfig) -> SpectralAnalysis:
        """Analyses of a signal with the STFT, mel and f0 settings of a config.

        Parameters
        ----------
        y : np.ndarray [shape=(n,)]
            Finite mono float signal.
        sr : int
            Its sample rate in Hz.
        config : FeatureConfig

        Returns
        -------
        SpectralAnalysis

        Raises
        ------
        ParameterError
            When ``y`` is not a finite mono float signal.
        """
        return cls(y, sr=sr, n_fft=config.n_fft, hop_length=config.hop_length, n_mels=config.n_mels,
                   f0_fmin=config.f0_fmin, f0_fmax=config.f0_fmax)

    # -- time grid -------------------------------------------------------------------------
    @property
    def n_hops(self) -> int:
        """Number of STFT frames (hops) of the signal."""
        return self.magnitude.shape[1]

    def hop_slice(self, start: int, end: int) -> slice:
        """The hops whose centres fall in a range of samples.

        Parameters
        ----------
        start, end : int
            Sample range ``[start, end)``.

        Returns
        -------
        slice
            Hop indices; never empty (at least the hop nearest ``start``).
        """
        first = int(np.ceil(start / self.hop_length))
        last = int(np.ceil(end / self.hop_length))
        first = min(first, self.n_hops - 1)
        return slice(first, max(last, first + 1))

    # -- spectra ---------------------------------------------------------------------------
    @cached_property
    def magnitude(self) -> np.ndarray:
        """|STFT|, shape (1 + n_fft/2, n_hops); the single STFT of the file."""
        return np.abs(librosa.stft(self.y, n_fft=self.n_fft, hop_length=self.hop_length))

    @cached_property
    def power(self) -> np.ndarray:
        """|STFT|², shape (1 + n_fft/2, n_hops)."""
        return self.magnitude**2

    @cached_property
    def freqs(self) -> np.ndarray:
        """Centre frequency in Hz of each STFT bin, shape (1 + n_fft/2,)."""
        return librosa.fft_frequencies(sr=self.sr, n_fft=self.n_fft)

    @cached_property
    def mel_db(self) -> np.ndarray:
        """Log-mel power in dB re full scale, shape (n_mels, n_hops)."""
        mel = librosa.feature.melspectrogram(S=self.power, sr=self.sr, n_mels=self.n_mels)
        # Full-scale sine at 0 dBFS has power (n_fft/4)^2 per bin pair; keep dB absolute.
        return librosa.power_to_db(mel, ref=(self.n_fft / 4.0) ** 2, amin=1e-10, top_db=None)

    @cached_property
    def chroma(self) -> np.ndarray:
        """Chroma energy, shape (12, n_hops), not normalised per hop (silence stays 0)."""
        return librosa.feature.chroma_stft(S=self.power, sr=self.sr, norm=None, tuning=0.0)

    @cached_property
    def contrast(self) -> np.ndarray:
        """Spectral contrast, shape (7, n_hops)."""
        return librosa.feature.spectral_contrast(S=self.magnitude, sr=self.sr)

    @cached_property
    def centroid(self) -> np.ndarray:
        """Spectral centroid in Hz per hop (librosa's definition, without its copy of S)."""
        total = self.magnitude.sum(axis=0)
        return (self.freqs.astype(np.float32) @ self.magnitude) / np.where(total > _EPS, total, 1.0)

    @cached_property
    def flatness(self) -> np.ndarray:
        """Spectral flatness per hop (0 tonal .. 1 white noise), shape (n_hops,)."""
        return librosa.feature.spectral_flatness(S=self.magnitude, amin=1e-6)[0]

    @cached_property
    def rolloff(self) -> np.ndarray:
        """Frequency below which 85 % of the magnitude lies, per hop (librosa's definition)."""
        cumulative = np.cumsum(self.magnitude, axis=0)
        return self.freqs[np.argmax(cumulative >= 0.85 * cumulative[-1], axis=0)]

    @cached_property
    def rms(self) -> np.ndarray:
        """Per-hop RMS of the signal (from the STFT, Parseval)."""
        return librosa.feature.rms(S=self.magnitude, frame_length=self.n_fft)[0]

    @cached_property
    def low_share(self) -> np.ndarray:
        """Share of power below 200 Hz per hop (bass weight)."""
        low = self.power[self.freqs < 200.0].sum(axis=0)
        return low / (self.power.sum(axis=0) + _EPS)

    # -- rhythm ----------------------------------------------------------------------------
    @cached_property
    def onset_envelope(self) -> np.ndarray:
        """Spectral-flux onset strength from the shared log-mel, shape (n_hops,)."""
        return librosa.onset.onset_strength(S=self.mel_db, sr=self.sr, hop_length=self.hop_length)

    @cached_property
    def beats(self) -> np.ndarray:
        """Beat positions (hop indices) from librosa's dynamic-programming beat tracker.

        Its global tempo is read from the shared tempogram (librosa would compute its own);
        empty for a signal without onsets.
        """
        if not np.any(self.onset_envelope > 0):
            return np.zeros(0, dtype=int)
        bpm = librosa.feature.tempo(tg=self.onset_autocorrelation, sr=self.sr, hop_length=self.hop_length)
        _, beats = librosa.beat.beat_track(
            onset_envelope=self.onset_envelope, sr=self.sr, hop_length=self.hop_length, trim=False, bpm=bpm[0]
        )
        return np.asarray(beats, dtype=int)

    @cached_property
    def onset_autocorrelation(self) -> np.ndarray:
        """Local autocorrelation tempogram of every ``TEMPOGRAM_STRIDE``-th hop.

        Shape (TEMPOGRAM_WIN, ceil(n_hops / stride)): ``librosa.feature.tempogram``'s columns
        (centred Hann windows, max-normalised), only fewer of them. See ``tempogram_slice``.
        """
        return strided_tempogram(self.onset_envelope, win_length=TEMPOGRAM_WIN, stride=TEMPOGRAM_STRIDE)

    def tempogram_slice(self, hops: slice) -> slice:
        """The tempogram columns of a range of hops.

        Parameters
        ----------
        hops : slice
            Hop indices (a :meth:`hop_slice`).

        Returns
        -------
        slice
            Columns of :attr:`onset_autocorrelation`; never empty.
        """
        n = self.onset_autocorrelation.shape[1]
        first = min(-(-hops.start // TEMPOGRAM_STRIDE), n - 1)
        return slice(first, max(-(-hops.stop // TEMPOGRAM_STRIDE), first + 1))

    # -- label analyses (tempo octave and key; see aural_core/tempo.py and key.py) ------------
    @cached_property
    def tuning(self) -> float:
        """Deviation from A440 in fractions of a semitone, from the shared STFT magnitude."""
        if not np.any(self.magnitude > 0):
            return 0.0
        with warnings.catch_warnings():  # a signal without clear pitches: librosa warns, we take 0
            warnings.simplefilter("ignore", UserWarning)
            return float(librosa.estimate_tuning(S=self.magnitude[:, ::TUNING_STRIDE], sr=self.sr,
                                                 n_fft=self.n_fft))

    @cached_property
    def chroma_cqt(self) -> np.ndarray:
        """Tuning-corrected CQT chroma, shape (12, n), on its own coarse grid of ``CQT_HOP`` samples."""
        from .key import cqt_chroma

        return cqt_chroma(y=self.y, sr=self.sr, tuning=self.tuning, hop_length=CQT_HOP)

    def cqt_slice(self, start: int, end: int) -> slice:
        """The hops of the CQT grid (``CQT_HOP`` samples) whose centres fall in a range of samples.

        Parameters
        ----------
        start, end : int
            Sample range ``[start, end)``.

        Returns
        -------
        slice
            Columns of :attr:`chroma_cqt`; never empty.
        """
        n = self.chroma_cqt.shape[1]
        first = min(int(np.ceil(start / CQT_HOP)), n - 1)
        return slice(first, max(int(np.ceil(end / CQT_HOP)), first + 1))

    @cached_property
    def percussive_share(self) -> np.ndarray:
        """Per-hop share of the mel power in the percussive HPSS component (0..1).

        At full resolution: pooling hops or bands before the separation moved tempo octave
        decisions on the labelled set (Acc1 0.81 -> 0.74 per section).
        """
        from .tempo import percussive_share

        return percussive_share(librosa.db_to_power(self.mel_db))

    # -- pitch -----------------------------------------------------------------------------
    @cached_property
    def f0(self) -> np.ndarray:
        """Fundamental frequency per hop in Hz (YIN); NaN where unvoiced.

        YIN runs at half the analysis rate (a quarter of the cost; f0_fmax is far below its
        Nyquist) on every ``F0_STRIDE``-th hop, each estimate standing for the hops it spans,
        with the shortest frame that holds its longest period (1 / f0_fmin) plus half a frame
        of integration (46 ms at the defaults).
        A hop is voiced when it is louder than -45 dBFS and tonal (flatness < 0.2).
        """
        rate = self.sr // 2
        y_half = soxr.resample(self.y, self.sr, rate, quality="HQ")
        frame_length = self.n_fft // 4
        while frame_length // 2 + rate / self.f0_fmin >= frame_length:  # low f0_fmin: longer frames
            frame_length *= 2
        f0 = librosa.yin(
            y_half, fmin=self.f0_fmin, fmax=self.f0_fmax, sr=rate,
            frame_length=frame_length, hop_length=F0_STRIDE * self.hop_length // 2,
        )
        f0 = _fit_length(np.repeat(f0, F0_STRIDE), self.n_hops)
        voiced = (20 * np.log10(self.rms + _EPS) > -45.0) & (self.flatness < 0.2)
        return np.where(voiced, f0, np.nan)


def strided_tempogram(onset_envelope: np.ndarray, *, win_length: int = TEMPOGRAM_WIN,
                      stride: int = TEMPOGRAM_STRIDE) -> np.ndarray:
    """Every ``stride``-th column of ``librosa.feature.tempogram(onset_envelope=...)``.

    Parameters
    ----------
    onset_envelope : np.ndarray [shape=(n,)]
        Onset strength per hop.
    win_length : int
        Autocorrelation window in onset frames (hops).
    stride : int >= 1
        Keep every ``stride``-th column.

    Returns
    -------
    np.ndarray [shape=(win_length, ceil(n / stride))]
        Autocorrelation per lag (lag 0 first) of the Hann-windowed onset envelope centred on
        hops 0, stride, 2 stride ...; each column divided by its maximum (lag 0), zero columns kept.
    """
    onset = np.asarray(onset_envelope, dtype=float)
    half = win_length // 2
    padded = np.pad(onset, (half, half), mode="linear_ramp", end_values=(0, 0))
    frames = librosa.util.frame(padded, frame_length=win_length, hop_length=1)[:, : len(onset)][:, ::stride]
    windowed = frames * librosa.filters.get_window("hann", win_length, fftbins=True)[:, None]
    n_fft = 1 << (2 * win_length - 1).bit_length()  # >= 2 win - 1: no circular wrap-around
    spectrum = np.fft.rfft(windowed, n=n_fft, axis=0)
    acf = np.fft.irfft(spectrum.real**2 + spectrum.imag**2, n=n_fft, axis=0)[:win_length]
    peak = np.max(np.abs(acf), axis=0)
    return acf / np.where(peak > _EPS, peak, 1.0)


def _fit_length(x: np.ndarray, n: int) -> np.ndarray:
    """Pad with the last value or trim so that ``x`` has ``n`` entries."""
    if len(x) >= n:
        return x[:n]
    return np.concatenate([x, np.full(n - len(x), x[-1] if len(x) else np.nan)])
