"""Per-frame DSP descriptors: the shared vocabulary of the ``dsp`` embedder and the rule tagger.

Each function slices the file-level ``SpectralAnalysis``; nothing here recomputes a spectrum.
"""

from __future__ import annotations

import librosa
import numpy as np

from .spectral import SpectralAnalysis

_EPS = 1e-10
N_SHAPE_BANDS = 32
TEMPO_GRID_BPM = np.geomspace(40.0, 320.0, 16)
_FINE_TEMPO_BPM = np.geomspace(40.0, 320.0, 256)
_FINE_SIGMA = np.log(1.06) / np.log(_FINE_TEMPO_BPM[1] / _FINE_TEMPO_BPM[0])  # 6 % in fine steps

# Krumhansl-Kessler key profiles (major, minor), tonic first.
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def key_correlations(chroma: np.ndarray) -> np.ndarray:
    """Pearson correlation of a pitch-class profile with the 24 Krumhansl-Kessler key profiles.

    Parameters
    ----------
    chroma : np.ndarray [shape=(12,)]
        Non-negative pitch-class weights, C first.

    Returns
    -------
    np.ndarray [shape=(24,)]
        Ordered like ``vocab.KEYS_FULL`` (index 2 * tonic + minor); all zero for an all-zero profile.
    """
    chroma = np.asarray(chroma, dtype=float)
    out = np.zeros(24)
    if not np.any(chroma > 0):
        return out
    c = chroma - chroma.mean()
    for tonic in range(12):
        for minor, profile in enumerate((MAJOR_PROFILE, MINOR_PROFILE)):
            p = np.roll(profile, tonic)
            p = p - p.mean()
            out[2 * tonic + minor] = float(c @ p / (np.linalg.norm(c) * np.linalg.norm(p) + _EPS))
    return out


def tempo_rbf(bpm: float, strength: float, *, width: float = np.log(1.1)) -> np.ndarray:
    """The beat tracker's tempo as radial-basis activations on ``TEMPO_GRID_BPM``.

    Unlike the autocorrelation profile it has no octave harmonics, so nearby tempi are similar
    and distant ones are not.

    Parameters
    ----------
    bpm : float
        Tempo in BPM; NaN or <= 0 means no tempo.
    strength : float
        Beat strength (0..1), which scales every activation.
    width : float > 0
        Standard deviation of each basis function in natural-log tempo (``log(1.1)``: 10 %).

    Returns
    -------
    np.ndarray [shape=(len(TEMPO_GRID_BPM),)]
        ``strength * exp(-0.5 * (log(grid / bpm) / width) ** 2)``; all zero without a tempo.
    """
    if not np.isfinite(bpm) or bpm <= 0:
        return np.zeros(len(TEMPO_GRID_BPM))
    d = np.log(TEMPO_GRID_BPM / bpm) / width
    return strength * np.exp(-0.5 * d**2)


def frame_rms_db(y: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Exact RMS level of each frame's samples.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono signal, full scale 1.0.
    bounds : np.ndarray [shape=(n_frames, 2)]
        Sample ``[start, end)`` of each frame.

    Returns
    -------
    np.ndarray [shape=(n_frames,)]
        ``10 * log10(mean(y ** 2) + 1e-10)`` per frame, in dBFS.
    """
    return np.array([
        10 * np.log10(np.mean(np.square(y[s:e], dtype=np.float64)) + _EPS) for s, e in bounds
    ])


def local_tempo(beat_times: np.ndarray, start_s: float, end_s: float, *, context_s: float = 2.0) -> float:
    """Tempo of a frame from the mean inter-beat interval of the beats near it.

    The mean ((last - first) / (count - 1)) averages out the beat tracker's one-hop jitter.

    Parameters
    ----------
    beat_times : np.ndarray [shape=(n_beats,)]
        Beat times of the file in seconds, ascending.
    start_s, end_s : float
        The frame, in seconds.
    context_s : float >= 0
        Beats this many seconds before and after the frame count too.

    Returns
    -------
    float
        Tempo in BPM; NaN with fewer than 3 beats in reach.
    """
    near = beat_times[(beat_times >= start_s - context_s) & (beat_times < end_s + context_s)]
    if len(near) < 3:
        return float("nan")
    return float(60.0 * (len(near) - 1) / (near[-1] - near[0]))


def describe_frames(analysis: SpectralAnalysis, bounds: np.ndarray) -> dict[str, np.ndarray]:
    """DSP summaries of every frame, memoised on ``analysis`` per ``bounds``.

    Parameters
    ----------
    analysis : SpectralAnalysis
        The file's shared analyses.
    bounds : np.ndarray [shape=(n_frames, 2)]
        Sample ``[start, end)`` of each frame.

    Returns
    -------
    dict of str to np.ndarray
        Each value has ``n_frames`` rows (width in brackets, else one value per frame):
        ``mel_shape`` [32], ``mel_texture`` [32], ``level_db`` (dBFS), ``level_std`` (dB),
        ``chroma`` [12] (sums to 1, or all 0), ``chroma_dft`` [6] (transposition-invariant),
        ``contrast`` [7], ``contrast_std`` [7], ``centroid_oct`` (log2 of centroid / 1 kHz),
        ``rolloff_oct`` (likewise), ``flatness``, ``low_share`` (power below 200 Hz),
        ``onset_std`` (relative to the file's mean onset strength), ``onset_rate`` (onsets/s),
        ``tempo_acf`` [16] and ``tempo_rbf`` [16] (on ``TEMPO_GRID_BPM``), ``beat_strength``
        (0..1), ``tempo_bpm`` (BPM, NaN without beats), ``mode`` (+1 major .. -1 minor),
        ``dissonance`` (0..1).
    """
    memo_key = ("describe_frames", np.asarray(bounds).tobytes())
    if memo_key not in analysis.memo:
        analysis.memo[memo_key] = _describe_frames(analysis, np.asarray(bounds))
    return analysis.memo[memo_key]


def _describe_frames(analysis: SpectralAnalysis, bounds: np.ndarray) -> dict[str, np.ndarray]:
    from scipy.ndimage import gaussian_filter1d  # here, not at the top: a cached run never needs SciPy

    a = analysis
    hop_s = a.hop_length / a.sr
    beat_times = a.beats * hop_s
    onset = a.onset_envelope
    onset_scale = float(np.mean(onset)) + _EPS  # file-level reference for onset statistics
    peaks = _onset_peaks(onset)
    tempogram = a.onset_autocorrelation
    lag_bpm = 60.0 / (np.arange(1, tempogram.shape[0]) * hop_s)
    mel_pool = a.mel_db[: (a.n_mels // N_SHAPE_BANDS) * N_SHAPE_BANDS]
    mel_pool = mel_pool.reshape(N_SHAPE_BANDS, -1, mel_pool.shape[1]).mean(axis=1)
    rms_db_hops = 20 * np.log10(a.rms + 1e-5)

    out: dict[str, list] = {k: [] for k in (
        "mel_shape", "mel_texture", "level_std", "chroma", "chroma_dft", "contrast",
        "contrast_std", "centroid_oct", "rolloff_oct", "flatness", "low_share",
        "onset_std", "onset_rate", "tempo_acf", "tempo_rbf", "beat_strength", "tempo_bpm", "mode", "dissonance",
    )}
    for start, end in bounds:
        hs = a.hop_slice(start, end)
        start_s, end_s = start / a.sr, end / a.sr
        mel = mel_pool[:, hs]
        shape = mel.mean(axis=1)
        out["mel_shape"].append(shape - shape.mean())
        out["mel_texture"].append(mel.std(axis=1))
        out["level_std"].append(rms_db_hops[hs].std())

        chroma = a.chroma[:, hs].sum(axis=1)
        total = chroma.sum()
        chroma = chroma / total if total > _EPS else np.zeros(12)
        out["chroma"].append(chroma)
        out["chroma_dft"].append(np.abs(np.fft.rfft(chroma))[1:7])
        corr = key_correlations(chroma)
        out["mode"].append(float(corr[0::2].max() - corr[1::2].max()) if total > _EPS else 0.0)
        # Energy on semitone neighbours relative to all pairs: clusters sound dissonant.
        out["dissonance"].append(float(np.sum(chroma * np.roll(chroma, 1)) * 12 / 2) if total > _EPS else 0.0)

        out["contrast"].append(a.contrast[:, hs].mean(axis=1))
        out["contrast_std"].append(a.contrast[:, hs].std(axis=1))
        out["centroid_oct"].append(np.log2(np.median(a.centroid[hs]) / 1000.0 + _EPS))
        out["rolloff_oct"].append(np.log2(np.median(a.rolloff[hs]) / 1000.0 + _EPS))
        out["flatness"].append(float(np.mean(a.flatness[hs])))
        out["low_share"].append(float(np.mean(a.low_share[hs])))

        env = onset[hs]
        out["onset_std"].append(env.std() / onset_scale)
        in_frame = (peaks >= hs.start) & (peaks < hs.stop)
        out["onset_rate"].append(np.count_nonzero(in_frame) / max(end_s - start_s, hop_s))

        acf = tempogram[1:, a.tempogram_slice(hs)].mean(axis=1)
        # Sampled on a log-tempo grid after smoothing over +-6 % so a small tempo change
        # moves the profile smoothly instead of jumping between bins.
        fine = gaussian_filter1d(np.interp(_FINE_TEMPO_BPM, lag_bpm[::-1], acf[::-1]), _FINE_SIGMA)
        out["tempo_acf"].append(np.interp(TEMPO_GRID_BPM, _FINE_TEMPO_BPM, fine))

        beats_in = a.beats[(a.beats >= hs.start) & (a.beats < hs.stop)]
        out["beat_strength"].append(_beat_strength(onset, beats_in, hs))
        out["tempo_bpm"].append(local_tempo(beat_times, start_s, end_s))
        out["tempo_rbf"].append(tempo_rbf(out["tempo_bpm"][-1], out["beat_strength"][-1]))

    result = {k: np.asarray(v, dtype=np.float64) for k, v in out.items()}
    result["level_db"] = frame_rms_db(a.y, bounds)
    return result


def _beat_strength(onset: np.ndarray, beats: np.ndarray, hs: slice) -> float:
    """How much the onset envelope peaks on tracked beats: tanh((on-beat / mean - 1) / 2).

    A click track reads near 1; noise, whose "beats" land anywhere, near 0; silence 0.
    """
    env = onset[hs]
    mean = env.mean()
    if len(beats) == 0 or mean <= _EPS:
        return 0.0
    # The beat tracker's positions can be a hop off the true peak: take the max of +-1 hop.
    on_beat = np.mean([onset[max(b - 1, 0): b + 2].max() for b in beats])
    return float(np.tanh(max(on_beat / mean - 1.0, 0.0) / 2.0))


def _onset_peaks(onset: np.ndarray) -> np.ndarray:
    """Hop indices of onset peaks above an adaptive threshold."""
    if not np.any(onset > 0):
        return np.zeros(0, dtype=int)
    return librosa.util.peak_pick(
        onset, pre_max=3, post_max=3, pre_avg=10, post_avg=10, delta=0.3 * onset.std(), wait=4
    )
