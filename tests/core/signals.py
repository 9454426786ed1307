"""Signals with known answers, shared by the core tests."""

import numpy as np

SR = 22050


def tone(freq: float, seconds: float, *, amp: float = 0.5, sr: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def click_track(bpm: float, seconds: float, *, amp: float = 0.9, sr: int = SR) -> np.ndarray:
    y = np.zeros(int(seconds * sr), dtype=np.float32)
    click = (np.hanning(256) * np.sin(2 * np.pi * 1500 * np.arange(256) / sr)).astype(np.float32)
    for t in np.arange(0, seconds, 60.0 / bpm):
        i = int(t * sr)
        y[i:i + 256] += amp * click[: len(y) - i]
    return y


def noise(seconds: float, *, amp: float = 0.2, seed: int = 0, sr: int = SR) -> np.ndarray:
    return (amp * np.random.default_rng(seed).standard_normal(int(seconds * sr))).astype(np.float32)
