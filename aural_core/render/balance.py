"""Stem balance: which stem should be louder for these controls, and how to apply that.

Four functions:

* :func:`stem_gains_for` — a small documented table + formula from the emotion, the style and
  the source section's measured descriptors to one linear gain per stem;
* :func:`split_stems` — approximate stems for audio that has none (HPSS + a low-pass split);
* :func:`apply_stem_gains` — scale the stems, sum them and level the mix (RMS + peak limit);
* :func:`stem_share` — each stem's share of the total stem energy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import librosa
import numpy as np
import scipy.signal

from ..audio import valid_audio
from ..controls import STEMS
from ..errors import ParameterError
from ..styles import Style
from ..vocab import EMOTIONS
from .base import Rendered
from .levels import PEAK_CEILING, peak_limit_gain, rms_gain

__all__ = [
    "NEUTRAL_GAINS", "EMOTION_DB", "DESCRIPTOR_SLOPES_DB", "GAIN_RANGE", "BASS_CUTOFF_HZ",
    "stem_gains_for", "split_stems", "apply_stem_gains", "stem_share",
]

NEUTRAL_GAINS: dict[str, float] = {s: 1.0 for s in STEMS}

GAIN_RANGE: tuple[float, float] = (0.25, 2.0)

# Per-emotion offset in dB, columns in STEMS order (drums, bass, harmony, melody).
EMOTION_DB: dict[str, tuple[float, float, float, float]] = {
    "bright": (0.0, -1.0, 0.0, 2.0),   # melody forward, bass a touch lighter
    "calm": (-4.0, 0.0, 3.0, 1.0),     # pads forward, drums back
    "tense": (2.0, 2.0, 0.0, -1.0),    # drums and bass push
    "dark": (0.0, 3.0, 1.0, -2.0),     # heavy low end, melody recessed
    "busy": (2.0, 0.0, -1.0, 1.0),     # rhythm and lead over the pads
}

# dB per unit of (descriptor - 0.5), columns in STEMS order.
DESCRIPTOR_SLOPES_DB: dict[str, tuple[float, float, float, float]] = {
    "energy": (6.0, 2.0, -2.0, 0.0),
    "beat_strength": (6.0, 0.0, 0.0, 0.0),
    "brightness": (-2.0, -4.0, 0.0, 6.0),
}

# Where a descriptor falls back to when the section did not measure it.
_STYLE_PROXY = {"energy": "dynamics", "beat_strength": "density", "brightness": "brightness"}

BASS_CUTOFF_HZ = 200.0


def stem_gains_for(emotion, style: Style, *,
                   section_descriptors: Mapping[str, float] | None = None) -> dict[str, float]:
    """Per-stem linear gains for an emotion, a style and (optionally) a measured section.

    The mapping works in decibels::

        dB[stem] = EMOTION_DB[emotion][stem]
                   + sum over x in (energy, beat_strength, brightness) of
                     DESCRIPTOR_SLOPES_DB[x][stem] * (value(x) - 0.5)
        gain[stem] = clip(10 ** (dB[stem] / 20), 0.25, 2.0)

    ============== ===== ===== ======= ======
    dB per unit    drums bass  harmony melody
    ============== ===== ===== ======= ======
    energy          +6    +2    -2       0
    beat_strength   +6     0     0       0
    brightness      -2    -4     0      +6
    ============== ===== ===== ======= ======

    and the emotion offsets of :data:`EMOTION_DB` (calm: pads +3 dB, drums -4 dB; dark and
    tense: bass +3 / +2 dB; bright: melody +2 dB; busy: drums and melody up, pads down).
    So the drums grow with the section's energy and beat strength, the bass with a dark or
    tense emotion (and a dull sound), the melody with brightness and the harmony with calm.

    ``value(x)`` is ``section_descriptors[x]`` when that key is present (each in 0..1; other
    keys are ignored), else the style's proxy for it: ``energy`` <- ``style.dynamics``,
    ``beat_strength`` <- ``style.density``, ``brightness`` <- ``style.brightness``. A neutral
    input (all values 0.5) gives exactly the emotion offsets.

    Parameters
    ----------
    emotion : str or Controls-like
        One of :data:`~aural_core.vocab.EMOTIONS`, or any object with an ``emotion`` attribute.
    style : Style
        The style-table row of the segment.
    section_descriptors : mapping or None
        Measured descriptors of the source section, keys ``energy``, ``beat_strength`` and
        ``brightness`` (0..1), any subset.

    Returns
    -------
    dict[str, float]
        One gain per stem in :data:`~aural_core.controls.STEMS`, each in [0.25, 2.0].

    Raises
    ------
    ParameterError
        When the emotion is unknown or a descriptor (or the style's proxy) is not a number in
        [0, 1]; the message names it.
    """
    emotion = getattr(emotion, "emotion", emotion)
    if emotion not in EMOTION_DB:
        raise ParameterError(f"emotion={emotion!r} is not one of {EMOTIONS}")
    descriptors = dict(section_descriptors or {})
    db = np.array(EMOTION_DB[emotion], dtype=np.float64)
    for name, slopes in DESCRIPTOR_SLOPES_DB.items():
        if name in descriptors:
            value = descriptors[name]
            where = "section_descriptors"
        else:
            value = getattr(style, _STYLE_PROXY[name])
            where = f"style.{_STYLE_PROXY[name]}"
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise ParameterError(f"{where}[{name!r}]={value!r} must be a number in [0, 1]") from None
        if not math.isfinite(value) or not 0.0 <= value <= 1.0:
            raise ParameterError(f"{where} value for {name!r} is {value!r}; expected [0, 1]")
        db += np.asarray(slopes) * (value - 0.5)
    gains = np.clip(10.0 ** (db / 20.0), *GAIN_RANGE)
    return {stem: float(g) for stem, g in zip(STEMS, gains)}


def _check_sr(sr) -> int:
    if isinstance(sr, bool) or not float(sr).is_integer() or sr <= 0:
        raise ParameterError(f"sr={sr!r} must be a positive integer")
    return int(sr)


def split_stems(y: np.ndarray, *, sr: int) -> dict[str, np.ndarray]:
    """Approximate stems for audio that has no native stems.

    * ``drums`` = the percussive part of :func:`librosa.effects.hpss`;
    * ``bass`` = the harmonic part through a zero-phase 4th-order Butterworth low-pass at
      :data:`BASS_CUTOFF_HZ` (200 Hz);
    * ``harmony`` = everything else, defined as ``y - drums - bass`` so that the stems sum back
      to ``y`` exactly (up to float rounding); it holds the harmonic part above 200 Hz and the
      small HPSS residual;
    * ``melody`` = zeros. A mixture gives no reliable way to tell the lead line from the
      accompaniment, so the lead stays folded into ``harmony`` and a ``melody`` gain has no
      effect on split audio (the key is present so every stem dict has the same four keys).

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Finite, floating-point mono signal of at least 64 samples.
    sr : int > 0
        Its sample rate in Hz.

    Returns
    -------
    dict[str, np.ndarray]
        The four :data:`~aural_core.controls.STEMS`, each with ``y``'s shape and float dtype.

    Raises
    ------
    ParameterError
        When ``y`` is not a finite mono float signal of at least 64 samples, or ``sr`` is not
        a positive integer.
    """
    valid_audio(y)
    sr = _check_sr(sr)
    if len(y) < 64:
        raise ParameterError(f"y has {len(y)} samples; split_stems needs at least 64")
    dtype = np.result_type(y.dtype, np.float32)
    y = y.astype(dtype, copy=False)
    harmonic, percussive = librosa.effects.hpss(y)
    drums = percussive.astype(dtype)
    cutoff = min(BASS_CUTOFF_HZ, 0.45 * sr)
    sos = scipy.signal.butter(4, cutoff, btype="lowpass", fs=sr, output="sos")
    bass = scipy.signal.sosfiltfilt(sos, harmonic.astype(np.float64)).astype(dtype)
    harmony = y - drums - bass
    return {"drums": drums, "bass": bass, "harmony": harmony, "melody": np.zeros_like(y)}


def apply_stem_gains(stems: Mapping[str, np.ndarray], gains: Mapping[str, float], *, sr: int,
                     target_rms_dbfs: float | None = -16.0, peak: float = PEAK_CEILING) -> Rendered:
    """Scale each stem, sum them, and level the mix.

    Stems missing from ``gains`` keep gain 1.0; a gain for a stem not in ``stems`` is an error.
    The summed mix is then scaled so that its RMS level is ``target_rms_dbfs`` dBFS
    (``20 * log10(sqrt(mean(mix ** 2)))`` with full scale = 1.0: a plain RMS level, not
    K-weighted, gated LUFS), unless ``target_rms_dbfs`` is ``None``. If that would put the
    peak above ``peak``, the mix is scaled down until its peak is ``peak`` instead (so the RMS
    then falls short of the target). Every stem gets the same scale factor as the mix, so the
    returned stems still sum to the returned mix. A silent mix is left silent.

    Parameters
    ----------
    stems : mapping of str to np.ndarray [shape=(n,)]
        Finite mono stems of one shape (at least one).
    gains : mapping of str to float
        Linear gain (>= 0) per stem; stems left out keep 1.0.
    sr : int > 0
        Sample rate in Hz of the stems.
    target_rms_dbfs : float <= 0 or None
        RMS level of the mix in dBFS; ``None`` leaves the level alone.
    peak : float in (0, 1]
        Highest absolute sample value of the mix (default ``PEAK_CEILING``).

    Returns
    -------
    Rendered
        float32 ``mix`` and ``stems`` (same keys as the input), at ``sr``.

    Raises
    ------
    ParameterError
        When ``stems`` is empty, a stem is not a finite mono float signal, the stems' shapes
        differ, a gain names no stem or is negative or not finite, or ``sr``, ``peak`` or
        ``target_rms_dbfs`` is out of range.
    """
    sr = _check_sr(sr)
    if not stems:
        raise ParameterError("stems is empty")
    arrays = {name: np.asarray(s) for name, s in stems.items()}
    for name, a in arrays.items():
        valid_audio(a, name=f"stems[{name!r}]")
    shapes = {a.shape for a in arrays.values()}
    if len(shapes) != 1:
        raise ParameterError(f"stems have different shapes {sorted(shapes)}; they must match")
    for name, g in gains.items():
        if name not in arrays:
            raise ParameterError(f"gains has {name!r}, which is not one of the stems {list(arrays)}")
        if not isinstance(g, (int, float, np.floating, np.integer)) or not math.isfinite(g) or g < 0:
            raise ParameterError(f"gains[{name!r}]={g!r} must be a finite number >= 0")
    if not (isinstance(peak, (int, float)) and 0.0 < peak <= 1.0):
        raise ParameterError(f"peak={peak!r} must be in (0, 1]")
    if target_rms_dbfs is not None and (not math.isfinite(target_rms_dbfs) or target_rms_dbfs > 0):
        raise ParameterError(f"target_rms_dbfs={target_rms_dbfs!r} must be a finite level <= 0 dBFS")

    scaled = {name: a.astype(np.float64) * float(gains.get(name, 1.0)) for name, a in arrays.items()}
    mix = sum(scaled.values())
    factor = 1.0 if target_rms_dbfs is None else rms_gain(mix, target_dbfs=target_rms_dbfs)
    factor *= peak_limit_gain(float(np.max(np.abs(mix))) * factor, ceiling=peak)
    out = {name: (a * factor).astype(np.float32) for name, a in scaled.items()}
    mix32 = np.zeros(next(iter(shapes)), dtype=np.float32)
    for a in out.values():
        mix32 += a
    return Rendered(mix=mix32, stems=out, sr=sr)


def stem_share(stems: Mapping[str, np.ndarray]) -> dict[str, float]:
    """Each stem's share of the total stem energy (sum of squares); the shares sum to 1.

    The denominator is the sum of the stems' energies, not the mix energy, so cross terms
    between stems do not enter.

    Parameters
    ----------
    stems : mapping of str to np.ndarray [shape=(n,)]

    Returns
    -------
    dict[str, float]
        Stem name -> share in [0, 1]; all zeros if every stem is silent.
    """
    energy = {name: float(np.sum(np.square(np.asarray(s, dtype=np.float64))))
              for name, s in stems.items()}
    total = sum(energy.values())
    if total <= 0:
        return {name: 0.0 for name in energy}
    return {name: e / total for name, e in energy.items()}
