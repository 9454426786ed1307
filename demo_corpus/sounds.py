"""The demo corpus's sound sources: additive notes, filtered noise and a small drum kit.

Private to the demo corpus on purpose: the product's renderer uses a different technique,
and the corpus must not share code with what it is used to evaluate.
"""

from __future__ import annotations

import numpy as np
import scipy.signal

from .moods import Mood, Timbre


def midi_hz(midi: float) -> float:
    return 440.0 * 2.0 ** ((midi - 69) / 12.0)


def nearest_note(pitch_class: int, center: float) -> int:
    """MIDI note of ``pitch_class`` nearest to ``center``."""
    base = int(round(center)) - 6
    return base + (pitch_class - base) % 12


def additive_note(midi: float, n: int, sr: int, tim: Timbre) -> np.ndarray:
    """One note of ``n`` samples: decaying harmonics summed by a complex power recurrence."""
    f0 = midi_hz(midi)
    h = int(max(1, min(tim.harmonics, (0.45 * sr) // f0)))
    t = np.arange(n) / sr
    # Harmonic k: k**-rolloff * exp(-(d0 + d1 (k - 1)) t) * sin(2 pi k f0 t)
    #           = Im[ z**k ] * exp(-(d0 - d1) t) with z = exp((i 2 pi f0 - d1) t).
    z = np.exp((2j * np.pi * f0 - tim.d1) * t)
    zk = z.copy()
    acc = np.zeros(n)
    norm = 0.0
    for k in range(1, h + 1):
        a = k ** -tim.rolloff * (0.15 if (tim.odd and k % 2 == 0) else 1.0)
        acc += a * zk.imag
        norm += a
        if k < h:
            zk *= z
    acc *= np.exp(-(tim.d0 - tim.d1) * t) / norm
    return acc * envelope(n, sr, tim.attack, tim.release)


def envelope(n: int, sr: int, attack: float, release: float) -> np.ndarray:
    """Linear attack and release ramps over ``n`` samples (each at most half the note)."""
    env = np.ones(n)
    na = min(int(attack * sr), n // 2)
    nr = min(int(release * sr), n // 2)
    if na:
        env[:na] = np.linspace(0.0, 1.0, na, endpoint=False)
    if nr:
        env[n - nr:] *= np.linspace(1.0, 0.0, nr)
    return env


def band_noise(rng, n: int, sr: int, lo: float, hi: float | None) -> np.ndarray:
    """White noise band-passed (or high-passed when ``hi`` is None) with a 2nd-order Butterworth."""
    nyq = 0.5 * sr
    noise = rng.standard_normal(n)
    lo = min(lo, 0.8 * nyq)
    if hi is None or hi >= 0.95 * nyq:
        sos = scipy.signal.butter(2, lo, btype="highpass", fs=sr, output="sos")
    else:
        sos = scipy.signal.butter(2, [lo, hi], btype="bandpass", fs=sr, output="sos")
    return scipy.signal.sosfilt(sos, noise)


def drum_kit(rng, sr: int, mood: Mood, tonic: int, n_variants: int = 3) -> dict[str, list[np.ndarray]]:
    """A few variants of each drum sound, peak-normalised to 1; kick and snare tuned to the tonic.

    A kick or snare tuned off the key would pull a chromagram towards its own pitch.
    """
    kick_hz = midi_hz(nearest_note(tonic, 12 * np.log2(mood.kick_tune / 440.0) + 69))
    snare_hz = midi_hz(nearest_note(tonic, 55))
    kit: dict[str, list[np.ndarray]] = {k: [] for k in ("kick", "snare", "hat", "open", "crash")}
    for _ in range(n_variants):
        n = int(0.42 * sr)
        t = np.arange(n) / sr
        freq = kick_hz + 110.0 * np.exp(-t / 0.03)  # pitched sine sweep
        body = np.sin(2 * np.pi * np.cumsum(freq) / sr) * np.exp(-t / 0.16)
        click = band_noise(rng, n, sr, 2000.0, None) * np.exp(-t / 0.004)
        kit["kick"].append(body + 0.25 * click / (np.abs(click).max() + 1e-9))

        n = int(0.3 * sr)
        t = np.arange(n) / sr
        tone = np.sin(2 * np.pi * snare_hz * t) + 0.5 * np.sin(2 * np.pi * 1.5 * snare_hz * t)
        tone *= np.exp(-t / 0.05)
        rattle = band_noise(rng, n, sr, *mood.snare_band) * np.exp(-t / 0.09)
        kit["snare"].append(0.5 * tone / 1.5 + rattle / (np.abs(rattle).max() + 1e-9))

        for name, length, tau in (("hat", 0.09, 0.022), ("open", 0.4, 0.15), ("crash", 2.0, 0.6)):
            n = int(length * sr)
            t = np.arange(n) / sr
            lo = 4500.0 if name == "crash" else 7000.0
            kit[name].append(band_noise(rng, n, sr, lo, None) * np.exp(-t / tau))
    for sounds in kit.values():
        for i, x in enumerate(sounds):
            x = x * envelope(x.size, sr, 0.0005, 0.01)
            sounds[i] = x / (np.abs(x).max() + 1e-12)
    return kit
