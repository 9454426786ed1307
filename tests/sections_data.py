"""Synthetic section arrays with known keys and tempi, for the adapter's tests.

Chroma follows the Krumhansl-Kessler profile of the section's key (a different profile from the
Temperley one the key head starts from) with noise; the periodicity curve is that of a
periodic onset train, as an autocorrelation sees it: peaks at the tempo and at its slower
multiples (lags of 2, 3, 4 beats), a weaker one at the eighth notes, and a floor.
"""

from __future__ import annotations

import numpy as np

from aural_core.features import FEATURE_DIM
from aural_core.key import PROFILES
from aural_core.tempo import TEMPO_FINE_BPM

LOG2_GRID = np.log2(TEMPO_FINE_BPM)


def key_chroma(key_index: int, rng: np.random.Generator, *, noise: float = 0.15) -> np.ndarray:
    """Chroma (12,) of a section in the key ``key_index`` (2 * tonic + minor), summing to 1."""
    tonic, minor = divmod(key_index, 2)
    profile = np.roll(PROFILES["krumhansl"][minor], tonic)
    c = np.clip(profile / profile.sum() * (1 + noise * rng.standard_normal(12)), 1e-4, None)
    return (c / c.sum()).astype(np.float32)


def tonic_chord_chroma(key_index: int, rng: np.random.Generator, *, noise: float = 0.15) -> np.ndarray:
    """Chroma (12,) of the key's tonic triad (as a piece opens and closes), summing to 1."""
    tonic, minor = divmod(key_index, 2)
    c = np.full(12, 0.02)
    c[[tonic, (tonic + 3 + (not minor)) % 12, (tonic + 7) % 12]] = 1.0
    c = np.clip(c * (1 + noise * rng.standard_normal(12)), 1e-4, None)
    return (c / c.sum()).astype(np.float32)


def periodicity(bpm: float, rng: np.random.Generator, *, noise: float = 0.02) -> np.ndarray:
    """A periodicity curve over ``TEMPO_FINE_BPM`` of music at ``bpm``."""
    curve = np.full(len(TEMPO_FINE_BPM), 0.05)
    for ratio, height in ((1, 1.0), (1 / 2, 0.9), (1 / 3, 0.75), (1 / 4, 0.7), (2, 0.3)):
        curve += height * np.exp(-0.5 * ((LOG2_GRID - np.log2(bpm * ratio)) * 24 / 0.8) ** 2)
    return (curve + noise * rng.standard_normal(len(curve))).clip(0.0, None).astype(np.float32)


def section_arrays(keys: np.ndarray, bpms: np.ndarray, file_ids: np.ndarray, *, seed: int = 0,
                   n_styles: int = 10, strong: bool = True) -> dict[str, np.ndarray]:
    """Training arrays (``storage.sections.training_arrays`` shape) of sections with these keys
    (24-key ids) and tempi, given as strong labels (or as weak ones: ``strong=False``), each
    opening and closing on its tonic chord; emotion, style and x carry no signal."""
    rng = np.random.default_rng(seed)
    n = len(keys)
    chroma = np.stack([key_chroma(int(k), rng) for k in keys])
    return {
        "X": rng.normal(0, 1, (n, FEATURE_DIM)).astype(np.float32),
        "chroma": chroma,
        "context_chroma": chroma.copy(),
        "opening_chroma": np.stack([tonic_chord_chroma(int(k), rng) for k in keys]),
        "closing_chroma": np.stack([tonic_chord_chroma(int(k), rng) for k in keys]),
        "tempo_periodicity": np.stack([periodicity(float(b), rng) for b in bpms]),
        "percussive_share": np.full(n, 0.1, dtype=np.float32),
        "onset_rate": rng.uniform(2, 5, n).astype(np.float32),
        # a beat tracker right up to an octave, as on real music
        "tracker_bpm": (np.asarray(bpms, dtype=np.float32) * rng.choice([0.5, 1.0, 2.0], n)).astype(np.float32),
        "y_emotion": rng.integers(0, 5, n), "y_style": rng.integers(0, n_styles, n),
        "y_key_full": np.asarray(keys, dtype=np.int64),
        "y_key": np.zeros(n, dtype=np.int64),
        "y_bpm": np.asarray(bpms, dtype=np.float32),
        "file_id": np.asarray(file_ids),
        "strong_key": np.full(n, strong), "strong_bpm": np.full(n, strong),
    }
