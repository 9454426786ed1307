"""Per-frame features x_t (seed section 1): 512 embedding + f0 stats + energy + beat + 5 tags.

Normalisation (also in the README):
- ``f0_median``: median YIN f0 of the frame's voiced hops as MIDI pitch, (midi - 36) / 60
  clipped to [0, 1] (C2 -> 0, C7 -> 1); 0 when fewer than 10 % of hops are voiced.
- ``f0_iqr``: inter-quartile range of the voiced pitch in semitones / 12, clipped to [0, 1].
- ``energy``: frame RMS on an absolute dBFS scale, (dB - floor) / -floor clipped to [0, 1]
  (floor -60 dBFS by default): loud frames of a quiet file stay quieter than a loud file's.
- ``beat_strength``: onset strength on the beat tracker's beats vs the frame's mean,
  tanh((ratio - 1) / 2): ~1 for a click track, ~0 for noise, 0 for silence.
- ``tags``: multi-hot over the emotion bins of the frame's top-5 tags; a silent frame
  (energy 0) has no tags.
Raw, unnormalised values travel beside them for inspection (``f0_median_hz`` ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import librosa
import numpy as np

from .audio import frame_bounds, load_audio, valid_audio
from .config import FeatureConfig
from .descriptors import describe_frames
from .embedders.base import EMBED_DIM, Embedder, Tagger
from .errors import AudioError, ParameterError
from .spectral import SpectralAnalysis
from .vocab import EMOTIONS, TAG_EMOTION, TAG_NAMES

# Bump when the meaning of any feature changes: it is part of every analysis cache key, together
# with ``extractor_fingerprint`` (which follows the dsp reference, weights and tag rules by itself).
# 3: cheaper analyses (strided tempogram, shorter strided YIN, tuning from 1 hop in 8, Opus via PyAV)
EXTRACTOR_VERSION = "3"
SCALAR_FEATURES = ("f0_median", "f0_iqr", "energy", "beat_strength")
FEATURE_DIM = EMBED_DIM + len(SCALAR_FEATURES) + len(EMOTIONS)  # 521
# Column of each scalar feature in x_t (after the 512 embedding dims).
X_COLUMN = {name: EMBED_DIM + i for i, name in enumerate(SCALAR_FEATURES)}
MIN_VOICED_FRACTION = 0.1


@dataclass
class FrameFeatures:
    """Features of every frame of one signal; arrays have n_frames rows."""

    start_s: np.ndarray
    end_s: np.ndarray
    clap: np.ndarray            # (n, 512) float32, L2-normalised
    f0_median: np.ndarray
    f0_iqr: np.ndarray
    energy: np.ndarray
    beat_strength: np.ndarray
    tags: np.ndarray            # (n, 5) multi-hot over EMOTIONS
    top_tags: list[list[str]]
    # raw inspection values
    f0_median_hz: np.ndarray
    f0_iqr_semitones: np.ndarray
    voiced_fraction: np.ndarray
    rms_db: np.ndarray
    tempo_bpm: np.ndarray
    chroma: np.ndarray          # (n, 12), sums to 1 (0 for silence)
    tempo_acf: np.ndarray       # (n, 16) onset periodicity on descriptors.TEMPO_GRID_BPM
    # label columns (None when analysed without them, e.g. renders being scored)
    chroma_cqt: np.ndarray | None = None        # (n, 12) tuning-corrected CQT chroma, sums to 1
    tempo_acf_fine: np.ndarray | None = None    # (n, 97) onset periodicity on tempo.TEMPO_FINE_BPM
    percussive_share: np.ndarray | None = None  # (n,) share of percussive power
    onset_rate: np.ndarray | None = None        # (n,) onsets per second

    def __len__(self) -> int:
        return len(self.start_s)

    def vectors(self) -> np.ndarray:
        """The feature vector x_t of every frame (see :func:`feature_vectors`).

        Returns
        -------
        np.ndarray [shape=(n_frames, FEATURE_DIM), dtype=float32]
        """
        return feature_vectors(self.clap, self.f0_median, self.f0_iqr, self.energy,
                               self.beat_strength, self.tags)


def feature_vectors(clap, f0_median, f0_iqr, energy, beat_strength, tags) -> np.ndarray:
    """Concatenate per-frame columns into the feature vectors x_t.

    Parameters
    ----------
    clap : np.ndarray [shape=(n, EMBED_DIM)]
        Frame embeddings.
    f0_median, f0_iqr, energy, beat_strength : np.ndarray [shape=(n,)]
        The normalised scalar features (see the module docstring), each in [0, 1].
    tags : np.ndarray [shape=(n, len(EMOTIONS))]
        Multi-hot emotion bins of each frame's top tags.

    Returns
    -------
    np.ndarray [shape=(n, FEATURE_DIM), dtype=float32]
        Columns: embedding, f0_median, f0_iqr, energy, beat_strength (``X_COLUMN``), tags.
    """
    scalars = np.stack([f0_median, f0_iqr, energy, beat_strength], axis=1)
    return np.concatenate([np.asarray(clap), scalars, np.asarray(tags)], axis=1).astype(np.float32)


def analyze_signal(
    y: np.ndarray, *, sr: int, config: FeatureConfig, embedder: Embedder, tagger: Tagger,
    label_columns: bool = True,
) -> FrameFeatures:
    """Frame features of a mono signal.

    Expensive analyses (STFT, onsets, beats, f0) run once on the whole signal; frames slice them.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Finite, floating-point mono signal.
    sr : int
        Its sample rate in Hz (the analysis rate, ``config.sample_rate``).
    config : FeatureConfig
        Framing, STFT, mel, f0 and energy settings.
    embedder : Embedder
        Makes the 512-D frame embeddings.
    tagger : Tagger
        Scores the tags; each frame keeps its top ``config.n_tags``.
    label_columns : bool
        Also compute what the tempo and key labels need (CQT chroma, fine periodicity,
        percussive share, onset rate); scoring a render does not need them.

    Returns
    -------
    FrameFeatures
        One row per frame of :func:`~aural_core.audio.frame_bounds`.

    Raises
    ------
    ParameterError
        When ``y`` is not a finite mono float signal, or is shorter than
        ``config.min_clip_seconds``.
    """
    valid_audio(y)
    bounds = frame_bounds(
        len(y), sr=sr, frame_seconds=config.frame_seconds,
        min_last_frame_seconds=config.min_last_frame_seconds,
        min_clip_seconds=config.min_clip_seconds,
    )
    analysis = SpectralAnalysis.from_config(y, sr=sr, config=config)
    desc = describe_frames(analysis, bounds)
    f0_med_hz, f0_iqr_st, voiced = _f0_stats(analysis, bounds)
    energy = np.clip((desc["level_db"] - config.energy_floor_db) / -config.energy_floor_db, 0, 1)

    scores = tagger.tag_scores(analysis, bounds)
    top = np.argsort(-scores, axis=1, kind="stable")[:, : config.n_tags]
    top_tags = [[TAG_NAMES[i] for i in row] if e > 0 else [] for row, e in zip(top, energy)]
    tags = np.zeros((len(bounds), len(EMOTIONS)), dtype=np.float32)
    for i, names in enumerate(top_tags):
        for name in names:
            tags[i, EMOTIONS.index(TAG_EMOTION[name])] = 1.0

    midi = librosa.hz_to_midi(np.where(np.isnan(f0_med_hz), 1.0, f0_med_hz))
    f0_median = np.where(np.isnan(f0_med_hz), 0.0, np.clip((midi - 36.0) / 60.0, 0, 1))
    f0_iqr = np.where(np.isnan(f0_iqr_st), 0.0, np.clip(f0_iqr_st / 12.0, 0, 1))
    silent = energy <= 0
    return FrameFeatures(
        start_s=bounds[:, 0] / sr, end_s=bounds[:, 1] / sr,
        clap=embedder.embed_frames(analysis, bounds).astype(np.float32),
        f0_median=f0_median, f0_iqr=f0_iqr, energy=energy,
        beat_strength=np.where(silent, 0.0, desc["beat_strength"]),
        tags=tags, top_tags=top_tags,
        f0_median_hz=f0_med_hz, f0_iqr_semitones=f0_iqr_st, voiced_fraction=voiced,
        rms_db=desc["level_db"], tempo_bpm=np.where(silent, np.nan, desc["tempo_bpm"]),
        chroma=desc["chroma"], tempo_acf=desc["tempo_acf"],
        **(_label_columns(analysis, bounds, desc, silent) if label_columns else {}),
    )


def _label_columns(analysis: SpectralAnalysis, bounds: np.ndarray, desc: dict, silent: np.ndarray) -> dict:
    """Per-frame inputs of ``tempo.estimate_tempo`` and ``key.estimate_key``."""
    from .key import frame_chroma
    from .tempo import tempo_profile

    hop_slices = [analysis.hop_slice(s, e) for s, e in bounds]
    tempogram = analysis.onset_autocorrelation
    acf = np.stack([tempo_profile(tempogram[:, analysis.tempogram_slice(hs)].mean(axis=1), sr=analysis.sr,
                                  hop_length=analysis.hop_length) for hs in hop_slices])
    share = np.array([float(np.mean(analysis.percussive_share[hs])) for hs in hop_slices])
    chroma = frame_chroma(analysis.chroma_cqt, [analysis.cqt_slice(s, e) for s, e in bounds])
    return {"chroma_cqt": np.where(silent[:, None], 0.0, chroma), "tempo_acf_fine": acf,
            "percussive_share": np.where(silent, 0.0, share), "onset_rate": desc["onset_rate"]}


def _f0_stats(analysis: SpectralAnalysis, bounds: np.ndarray):
    """Median f0 (Hz), pitch IQR (semitones) and voiced fraction of each frame."""
    f0 = analysis.f0
    med, iqr, frac = [], [], []
    for start, end in bounds:
        hops = f0[analysis.hop_slice(start, end)]
        voiced = hops[~np.isnan(hops)]
        frac.append(len(voiced) / len(hops))
        if len(voiced) < max(2, MIN_VOICED_FRACTION * len(hops)):
            med.append(np.nan)
            iqr.append(np.nan)
            continue
        semis = librosa.hz_to_midi(voiced)
        med.append(float(np.median(voiced)))
        iqr.append(float(np.subtract(*np.percentile(semis, [75, 25]))))
    return np.array(med), np.array(iqr), np.array(frac)


def analyze_file(path, *, config: FeatureConfig, embedder: Embedder, tagger: Tagger,
                 data: bytes | None = None) -> FrameFeatures:
    """Load an audio file at the analysis rate and compute its frame features (with label columns).

    Parameters
    ----------
    path : str or Path
        The file.
    config : FeatureConfig
        Analysis settings; the file is decoded at ``config.sample_rate``.
    embedder : Embedder
    tagger : Tagger
    data : bytes, optional
        The file's bytes when the caller already read them (see
        :func:`~aural_core.audio.load_audio`).

    Returns
    -------
    FrameFeatures

    Raises
    ------
    AudioError
        For anything that makes the file unusable (unreadable, empty, not finite, too short);
        the message names the file.
    """
    y = load_audio(path, sr=config.sample_rate, data=data)
    try:
        return analyze_signal(y, sr=config.sample_rate, config=config, embedder=embedder, tagger=tagger)
    except ParameterError as exc:
        raise AudioError(path, str(exc)) from exc


@lru_cache(maxsize=1)  # the tables do not change within a process; keys are computed per file
def extractor_fingerprint() -> str:
    """Version of the feature extraction: part of every analysis cache key.

    Prefect's TASK_SOURCE only hashes a task's own body, so edits to the dsp reference, the
    embedder's group weights or the tag rules would otherwise leave stale frames cached.

    Returns
    -------
    str
        ``"<EXTRACTOR_VERSION>-<10 hex chars>"``, the hash of the dsp reference, ``GROUPS``,
        ``TAG_RULES`` and ``TRAITS``.
    """
    import hashlib
    import json

    from .embedders import dsp, rules

    blob = json.dumps([EXTRACTOR_VERSION, dsp.REFERENCE_PATH.read_text(), dsp.GROUPS, rules.TAG_RULES,
                       rules.TRAITS], sort_keys=True)
    return f"{EXTRACTOR_VERSION}-{hashlib.sha256(blob.encode()).hexdigest()[:10]}"
