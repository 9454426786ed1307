"""One-time costs of the analysis, paid before the first file: imports and compiled kernels.

librosa compiles its numba kernels on first use and caches them beside its modules (``.nbi``/
``.nbc`` files in the environment); the first analysis in a fresh environment pays ~20 s for
that, and every new process still pays ~3 s importing the modules the analysis needs and loading
those caches. ``make install`` runs ``python -m aural_core.warmup`` once so that no user run
compiles anything; the CLI imports the modules while its temporary Prefect server starts.
"""

from __future__ import annotations

import importlib
import time

import numpy as np

# What ``analyze_signal`` reaches lazily (librosa loads its submodules on first attribute access).
ANALYSIS_MODULES = ("scipy.fft", "scipy.ndimage", "scipy.signal", "librosa.feature", "librosa.onset",
                    "librosa.beat", "librosa.decompose", "librosa.core.pitch", "librosa.core.constantq",
                    "soxr", "pyarrow", "aural_core._median")


def import_analysis_modules() -> None:
    """Import every module the analysis of a file uses (no compilation, no audio)."""
    for name in ANALYSIS_MODULES:
        importlib.import_module(name)


def warm_analysis(*, seconds: float = 6.0) -> float:
    """Compile (or load) every numba kernel the analysis uses.

    Analyses a short synthetic signal (a 220 Hz tone and a 120 BPM pulse) with every label
    column.

    Parameters
    ----------
    seconds : float
        Length of the signal in seconds.

    Returns
    -------
    float
        Wall-clock seconds it took.
    """
    from .config import FeatureConfig
    from .embedders import build_embedder, build_tagger
    from .features import analyze_signal

    started = time.perf_counter()
    import_analysis_modules()
    config = FeatureConfig()
    sr = config.sample_rate
    t = np.arange(int(seconds * sr)) / sr
    clicks = (np.sin(2 * np.pi * 2.0 * t) > 0.99).astype(np.float32)  # 120 BPM pulse
    y = (0.3 * np.sin(2 * np.pi * 220.0 * t) + 0.2 * clicks).astype(np.float32)
    analyze_signal(y, sr=sr, config=config, embedder=build_embedder("dsp"), tagger=build_tagger("rules"))
    return time.perf_counter() - started


if __name__ == "__main__":
    print(f"aural warm-up: analysis kernels compiled and cached in {warm_analysis():.1f} s")
