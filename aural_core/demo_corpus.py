"""The demo corpus: short synthetic songs with known tempo, key, mood and sections.

Each clip is a small four-part arrangement (drums, bass, chords, melody) made by additive
synthesis (sums of decaying harmonics) and filtered noise, with an intro -> build -> release
energy arc. Every label is known by construction and written to ``truth.json`` beside the
audio, so the analysis steps can be scored on it.

All synthesis here is private to this module on purpose: the product's renderer uses a
different technique, and the corpus must not share code with what it is used to evaluate.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.signal
import soundfile as sf

from .errors import ParameterError
from .vocab import EMOTIONS, key_full_name, parse_key

__all__ = ["ClipSpec", "plan_corpus", "synthesize_clip", "write_corpus", "GENERATOR"]

GENERATOR = "aural demo v1"

SPLITS: tuple[str, ...] = ("inputs", "eval")
SECTION_NAMES: tuple[str, ...] = ("intro", "build", "release")
BPM_RANGE: tuple[float, float] = (60.0, 160.0)
SECONDS_RANGE: tuple[float, float] = (20.0, 40.0)
SAMPLE_RATES: tuple[int, ...] = (22050, 44100, 48000)
FORMATS: tuple[str, ...] = ("wav", "flac")
_SECTION_FRACTIONS = (0.30, 0.65)  # intro ends at 30 %, build at 65 % of the clip
_PEAK = {"bright": 0.95, "calm": 0.7, "tense": 0.95, "dark": 0.85, "busy": 0.95}
# Moods lean on tempo a little (calm/dark slower, busy/tense faster), but only a little.
_TEMPO_LEAN = {"bright": 0.1, "calm": -0.5, "tense": 0.3, "dark": -0.3, "busy": 0.4}


@dataclass(frozen=True)
class ClipSpec:
    """Everything needed to synthesise one demo clip, and its ground truth.

    ``split`` is "inputs" or "eval"; ``key`` a full key name such as "F# minor"; ``mood`` one of
    :data:`~aural_core.vocab.EMOTIONS`; ``fmt`` "wav" or "flac"; ``seed`` drives the synthesis.
    """

    name: str
    split: str
    bpm: float
    key: str
    mood: str
    seconds: float
    sr: int
    channels: int
    fmt: str
    seed: int

    @property
    def filename(self) -> str:
        """File name of the clip inside its split folder, e.g. ``demo_000_bright.wav``."""
        return f"{self.name}.{self.fmt}"

    def sections(self) -> list[dict]:
        """The intro / build / release sections as ``{"name", "start_s", "end_s"}`` dicts."""
        _check_spec(self)
        n_beats, b1, b2 = _section_beats(self)
        beat = 60.0 / self.bpm
        edges = (0.0, round(b1 * beat, 3), round(b2 * beat, 3), float(self.seconds))
        return [{"name": name, "start_s": edges[i], "end_s": edges[i + 1]}
                for i, name in enumerate(SECTION_NAMES)]

    def truth(self) -> dict:
        """The clip's entry in ``truth.json``."""
        return {"bpm": float(self.bpm), "key": self.key, "mood": self.mood,
                "seconds": float(self.seconds), "sr": int(self.sr), "channels": int(self.channels),
                "sections": self.sections()}


# --------------------------------------------------------------------------------------------
# Planning
# --------------------------------------------------------------------------------------------

def plan_corpus(*, n_inputs: int = 24, n_eval: int = 6, seed: int = 0) -> list[ClipSpec]:
    """Plan the demo corpus: one :class:`ClipSpec` per clip, inputs first, then eval.

    Within each split, moods are balanced, tempi are stratified over 60-160 BPM, and the
    formats cycle through WAV/FLAC x 22.05/44.1/48 kHz x mono/stereo. Keys are drawn without
    replacement from the 12 tonics of each mode, so 24 inputs with 12 major and 12 minor
    clips cover all 24 keys. Bright clips are major, tense and dark clips minor; calm and
    busy clips fill whichever mode is short.

    Parameters
    ----------
    n_inputs, n_eval : int >= 0
        Number of clips in the ``inputs`` and ``eval`` splits (not both zero).
    seed : int >= 0
        Same seed, same plan.

    Returns
    -------
    specs : list of ClipSpec
    """
    for name, value in (("n_inputs", n_inputs), ("n_eval", n_eval), ("seed", seed)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ParameterError(f"{name}={value!r} must be an integer >= 0")
    if n_inputs + n_eval < 1:
        raise ParameterError(f"n_inputs={n_inputs}, n_eval={n_eval}: the corpus would be empty")

    key_rng = np.random.default_rng([int(seed), 99])
    tonic_pools: dict[bool, list[int]] = {False: [], True: []}

    def next_tonic(minor: bool) -> int:
        if not tonic_pools[minor]:
            tonic_pools[minor] = [int(t) for t in key_rng.permutation(12)]
        return tonic_pools[minor].pop()

    specs: list[ClipSpec] = []
    for split_index, (split, n) in enumerate((("inputs", n_inputs), ("eval", n_eval))):
        if n == 0:
            continue
        rng = np.random.default_rng([int(seed), split_index])
        prefix = "demo" if split == "inputs" else "eval"

        offset = int(rng.integers(len(EMOTIONS)))
        moods = [EMOTIONS[(i + offset) % len(EMOTIONS)] for i in range(n)]
        moods = [moods[i] for i in rng.permutation(n)]

        # Tempi: one draw per stratum of 60-160, handed out by a noisy mood-leaning rank.
        edges = np.linspace(*BPM_RANGE, n + 1)
        bpms = np.round(edges[:-1] + rng.uniform(size=n) * np.diff(edges), 1)
        bpms = np.clip(bpms, *BPM_RANGE)
        lean = np.array([_TEMPO_LEAN[m] for m in moods]) + rng.normal(size=n)
        bpm_of = np.empty(n)
        bpm_of[np.argsort(lean, kind="stable")] = np.sort(bpms)

        # Modes: forced by mood where the mood needs one, the rest balance the split.
        minor = [m in ("tense", "dark") for m in moods]
        free = [i for i, m in enumerate(moods) if m in ("calm", "busy")]
        n_major_wanted = max(0, (n + 1) // 2 - sum(m == "bright" for m in moods))
        to_major = set(int(i) for i in rng.permutation(free)[:n_major_wanted])
        for i in free:
            minor[i] = i not in to_major

        # Formats: combos i = 0..11 are all distinct and every run of 6 is balanced.
        combos = []
        for i in range(n):
            j = i % 12
            fmt = FORMATS[(j % 2) ^ ((j // 6) % 2)]
            combos.append((SAMPLE_RATES[j % 3], 1 + (j // 3) % 2, fmt))
        combos = [combos[i] for i in rng.permutation(n)]

        targets = rng.uniform(21.0, 39.0, size=n)
        seeds = rng.integers(0, 2**31 - 1, size=n)
        for i in range(n):
            bpm = float(bpm_of[i])
            sr, channels, fmt = combos[i]
            specs.append(ClipSpec(
                name=f"{prefix}_{i:03d}_{moods[i]}", split=split, bpm=bpm,
                key=key_full_name(next_tonic(minor[i]), minor[i]), mood=moods[i],
                seconds=_plan_seconds(bpm, float(targets[i])), sr=sr, channels=channels,
                fmt=fmt, seed=int(seeds[i])))
    return specs


def _plan_seconds(bpm: float, target: float) -> float:
    """Whole bars plus a one-beat tail, as near ``target`` as the 20-40 s bounds allow."""
    beat = 60.0 / bpm
    bar = 4 * beat
    lo = int(np.ceil((SECONDS_RANGE[0] - beat) / bar - 1e-9))
    hi = int(np.floor((SECONDS_RANGE[1] - beat) / bar + 1e-9))
    n_bars = int(np.clip(round((target - beat) / bar), lo, hi))
    return round((4 * n_bars + 1) * beat, 3)


def _section_beats(spec: ClipSpec) -> tuple[int, int, int]:
    """(beats before the tail, first build beat, first release beat) of a clip."""
    beat = 60.0 / spec.bpm
    n_beats = int(np.floor(spec.seconds / beat + 0.01)) - 1
    if n_beats < 6:
        raise ParameterError(
            f"seconds={spec.seconds} is too short for bpm={spec.bpm}: need at least 7 beats")
    unit = 4 if n_beats >= 40 else 2 if n_beats >= 12 else 1
    b1 = int(round(_SECTION_FRACTIONS[0] * n_beats / unit)) * unit
    b2 = int(round(_SECTION_FRACTIONS[1] * n_beats / unit)) * unit
    b1 = int(np.clip(b1, 1, n_beats - 2))
    b2 = int(np.clip(b2, b1 + 1, n_beats - 1))
    return n_beats, b1, b2


def _check_spec(spec: ClipSpec) -> None:
    if not isinstance(spec, ClipSpec):
        raise ParameterError(f"spec={spec!r} is not a ClipSpec")
    if not (np.isfinite(spec.bpm) and 20.0 <= spec.bpm <= 400.0):
        raise ParameterError(f"bpm={spec.bpm!r} must lie in 20-400")
    if not (np.isfinite(spec.seconds) and 0 < spec.seconds <= 600):
        raise ParameterError(f"seconds={spec.seconds!r} must lie in (0, 600]")
    if spec.mood not in EMOTIONS:
        raise ParameterError(f"mood={spec.mood!r} is not one of {EMOTIONS}")
    if spec.channels not in (1, 2):
        raise ParameterError(f"channels={spec.channels!r} must be 1 or 2")
    if not (isinstance(spec.sr, (int, np.integer)) and 8000 <= spec.sr <= 192000):
        raise ParameterError(f"sr={spec.sr!r} must be an integer in 8000-192000")
    if spec.fmt not in FORMATS:
        raise ParameterError(f"fmt={spec.fmt!r} must be one of {FORMATS}")
    if spec.split not in SPLITS:
        raise ParameterError(f"split={spec.split!r} must be one of {SPLITS}")
    try:
        parse_key(spec.key)
    except ValueError as exc:
        raise ParameterError(str(exc)) from exc


# --------------------------------------------------------------------------------------------
# Synthesis (private: additive partials and filtered noise)
# --------------------------------------------------------------------------------------------

_MAJOR = (0, 2, 4, 5, 7, 9, 11)
_MINOR = (0, 2, 3, 5, 7, 8, 10)  # natural minor

# Progressions as scale degrees (0 = tonic). Tonic first and the most frequent chord.
_PROGRESSIONS = {
    "major": ((0, 4, 5, 3, 0, 4, 3, 0), (0, 3, 0, 4), (0, 5, 3, 4, 0, 3, 4, 0)),
    "minor": ((0, 5, 2, 6, 0, 5, 6, 0), (0, 3, 0, 4), (0, 3, 4, 0, 0, 5, 6, 0)),
    "tense": ((0, 1, 0, 4, 0, 5, 1, 0), (0, 5, 1, 4)),  # ii dim carries a tritone
}


@dataclass(frozen=True)
class _Timbre:
    """Additive timbre: amplitude of harmonic k is k**-rolloff; it decays at d0 + d1 * (k - 1)."""

    harmonics: int
    rolloff: float
    d0: float          # 1/s, decay of the fundamental
    d1: float          # 1/s added per harmonic above the fundamental
    attack: float      # s
    release: float     # s
    odd: bool = False  # hollow, square-like spectrum


@dataclass(frozen=True)
class _Mood:
    chord: _Timbre
    lead: _Timbre
    bass: _Timbre
    chord_center: int   # MIDI note the chord voicings sit around
    lead_center: int
    bass_center: int
    chord_rhythm: tuple  # (onset, duration) in beats within a bar
    bass_rhythm: tuple   # (onset, duration, octave up?) in beats within a bar
    lead_rhythm: str
    hats_per_beat: int
    kick_tune: float     # end of the kick sweep, Hz (moved to the nearest tonic)
    snare_band: tuple    # band of the snare noise, Hz
    snare_gain: float
    hat_gain: float


_MOODS = {
    "bright": _Mood(
        chord=_Timbre(14, 1.0, 2.0, 0.6, 0.006, 0.05),
        lead=_Timbre(16, 0.9, 2.5, 0.8, 0.004, 0.04),
        bass=_Timbre(10, 1.2, 2.5, 0.9, 0.004, 0.03),
        chord_center=64, lead_center=76, bass_center=43,
        chord_rhythm=((0, 0.8), (1, 0.8), (2, 0.8), (3, 0.45), (3.5, 0.45)),
        bass_rhythm=tuple((i * 0.5, 0.42, i % 2 == 1) for i in range(8)),
        lead_rhythm="lively", hats_per_beat=2, kick_tune=50.0, snare_band=(1500.0, 9000.0),
        snare_gain=0.75, hat_gain=0.25),
    "calm": _Mood(
        chord=_Timbre(5, 2.2, 0.5, 0.5, 0.06, 0.25),
        lead=_Timbre(5, 2.4, 1.0, 0.8, 0.03, 0.15),
        bass=_Timbre(4, 2.5, 0.8, 0.8, 0.02, 0.12),
        chord_center=60, lead_center=71, bass_center=41,
        chord_rhythm=((0, 1.9), (2, 1.9)),
        bass_rhythm=((0, 1.8, False), (2, 1.8, False)),
        lead_rhythm="slow", hats_per_beat=2, kick_tune=48.0, snare_band=(800.0, 5000.0),
        snare_gain=0.45, hat_gain=0.14),
    "tense": _Mood(
        chord=_Timbre(11, 1.0, 6.0, 1.2, 0.003, 0.02, odd=True),
        lead=_Timbre(11, 1.0, 5.0, 1.0, 0.003, 0.02, odd=True),
        bass=_Timbre(9, 1.1, 5.0, 1.2, 0.003, 0.02, odd=True),
        chord_center=61, lead_center=72, bass_center=41,
        chord_rhythm=((0, 0.22), (0.5, 0.22), (1, 0.22), (2, 0.22), (2.5, 0.22), (3, 0.22)),
        bass_rhythm=tuple((i * 0.5, 0.25, False) for i in range(8)),
        lead_rhythm="staccato", hats_per_beat=2, kick_tune=52.0, snare_band=(1800.0, 9500.0),
        snare_gain=0.85, hat_gain=0.24),
    "dark": _Mood(
        chord=_Timbre(4, 2.6, 0.4, 0.9, 0.05, 0.25),
        lead=_Timbre(5, 2.3, 1.0, 1.0, 0.02, 0.12),
        bass=_Timbre(4, 2.4, 0.9, 1.0, 0.01, 0.1),
        chord_center=51, lead_center=62, bass_center=34,
        chord_rhythm=((0, 1.9), (2, 1.9)),
        bass_rhythm=((0, 1.4, False), (1.5, 0.4, False), (2, 1.8, False)),
        lead_rhythm="slow", hats_per_beat=2, kick_tune=42.0, snare_band=(400.0, 3500.0),
        snare_gain=0.7, hat_gain=0.13),
    "busy": _Mood(
        chord=_Timbre(10, 1.3, 3.0, 0.8, 0.004, 0.03),
        lead=_Timbre(12, 1.1, 4.0, 0.9, 0.003, 0.02),
        bass=_Timbre(8, 1.3, 3.0, 1.0, 0.003, 0.03),
        chord_center=62, lead_center=74, bass_center=40,
        chord_rhythm=tuple((i * 0.5, 0.4) for i in range(8)),
        bass_rhythm=tuple((i * 0.5, 0.4, i % 4 == 3) for i in range(8)),
        lead_rhythm="sixteenths", hats_per_beat=4, kick_tune=50.0, snare_band=(1500.0, 9000.0),
        snare_gain=0.8, hat_gain=0.2),
}

# Pan positions (-1 left .. +1 right) of the parts in a stereo mix.
_PAN = {"kick": 0.0, "snare": 0.05, "hats": 0.35, "bass": 0.0, "chords": -0.35,
        "melody": 0.3, "crash": -0.25}
# Part levels before the mix is normalised.
_LEVEL = {"kick": 1.0, "snare": 0.7, "hats": 1.0, "bass": 0.55, "chords": 0.22,
          "melody": 0.32, "crash": 0.22}


def _midi_hz(midi: float) -> float:
    return 440.0 * 2.0 ** ((midi - 69) / 12.0)


def _near(pitch_class: int, center: float) -> int:
    """MIDI note of ``pitch_class`` nearest to ``center``."""
    base = int(round(center)) - 6
    return base + (pitch_class - base) % 12


def _additive(midi: float, n: int, sr: int, tim: _Timbre) -> np.ndarray:
    """One note of ``n`` samples: decaying harmonics summed by a complex power recurrence."""
    f0 = _midi_hz(midi)
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
    return acc * _envelope(n, sr, tim.attack, tim.release)


def _envelope(n: int, sr: int, attack: float, release: float) -> np.ndarray:
    env = np.ones(n)
    na = min(int(attack * sr), n // 2)
    nr = min(int(release * sr), n // 2)
    if na:
        env[:na] = np.linspace(0.0, 1.0, na, endpoint=False)
    if nr:
        env[n - nr:] *= np.linspace(1.0, 0.0, nr)
    return env


def _band_noise(rng, n: int, sr: int, lo: float, hi: float | None) -> np.ndarray:
    """White noise band-passed (or high-passed when ``hi`` is None) with a 2nd-order Butterworth."""
    nyq = 0.5 * sr
    noise = rng.standard_normal(n)
    lo = min(lo, 0.8 * nyq)
    if hi is None or hi >= 0.95 * nyq:
        sos = scipy.signal.butter(2, lo, btype="highpass", fs=sr, output="sos")
    else:
        sos = scipy.signal.butter(2, [lo, hi], btype="bandpass", fs=sr, output="sos")
    return scipy.signal.sosfilt(sos, noise)


def _drum_kit(rng, sr: int, mood: _Mood, tonic: int, n_variants: int = 3) -> dict:
    """A few variants of each drum sound, peak-normalised to 1; kick and snare tuned to the tonic.

    A kick or snare tuned off the key would pull a chromagram towards its own pitch.
    """
    kick_hz = _midi_hz(_near(tonic, 12 * np.log2(mood.kick_tune / 440.0) + 69))
    snare_hz = _midi_hz(_near(tonic, 55))
    kit: dict[str, list[np.ndarray]] = {k: [] for k in ("kick", "snare", "hat", "open", "crash")}
    for _ in range(n_variants):
        n = int(0.42 * sr)
        t = np.arange(n) / sr
        freq = kick_hz + 110.0 * np.exp(-t / 0.03)  # pitched sine sweep
        body = np.sin(2 * np.pi * np.cumsum(freq) / sr) * np.exp(-t / 0.16)
        click = _band_noise(rng, n, sr, 2000.0, None) * np.exp(-t / 0.004)
        kit["kick"].append(body + 0.25 * click / (np.abs(click).max() + 1e-9))

        n = int(0.3 * sr)
        t = np.arange(n) / sr
        tone = np.sin(2 * np.pi * snare_hz * t) + 0.5 * np.sin(2 * np.pi * 1.5 * snare_hz * t)
        tone *= np.exp(-t / 0.05)
        rattle = _band_noise(rng, n, sr, *mood.snare_band) * np.exp(-t / 0.09)
        kit["snare"].append(0.5 * tone / 1.5 + rattle / (np.abs(rattle).max() + 1e-9))

        for name, length, tau in (("hat", 0.09, 0.022), ("open", 0.4, 0.15), ("crash", 2.0, 0.6)):
            n = int(length * sr)
            t = np.arange(n) / sr
            lo = 4500.0 if name == "crash" else 7000.0
            kit[name].append(_band_noise(rng, n, sr, lo, None) * np.exp(-t / tau))
    for sounds in kit.values():
        for i, x in enumerate(sounds):
            x = x * _envelope(x.size, sr, 0.0005, 0.01)
            sounds[i] = x / (np.abs(x).max() + 1e-12)
    return kit


def _add(buf: np.ndarray, start: int, x: np.ndarray, gain: float) -> None:
    if start >= buf.size or gain == 0.0:
        return
    stop = min(buf.size, start + x.size)
    buf[start:stop] += gain * x[: stop - start]


def _chord_notes(root_degree: int, tonic: int, scale, center: int, *, tense: bool) -> list[int]:
    """Root-position triad (in the scale) voiced near ``center``; tense adds a clash."""
    root_pc = (tonic + scale[root_degree % 7]) % 12
    root = _near(root_pc, center - 4)
    notes = [root]
    for step in (2, 4):
        d = root_degree + step
        notes.append(root + (scale[d % 7] + 12 * (d // 7)) - scale[root_degree % 7])
    if tense and root_degree % 7 == 0:
        notes.append(root + 8)  # minor 6th over the root: a minor second above the fifth
    return notes


def _melody_phrase(rng, mood_name: str, mood: _Mood, prog, bars_per_chord: int):
    """One loop of melody over the progression: (onset beat, duration beats, scale degree)."""
    n_bars = len(prog) * bars_per_chord
    events = []
    for bar in range(n_bars):
        b0 = 4 * bar
        if mood.lead_rhythm == "slow":
            pattern = ((0, 2), (2, 2)) if rng.random() < 0.6 else ((0, 1), (1, 1), (2, 2))
        elif mood.lead_rhythm == "staccato":
            pattern = []
            for b in range(4):
                pattern.append((b, 0.3))
                if rng.random() < 0.3:
                    pattern.append((b + 0.5, 0.25))
        elif mood.lead_rhythm == "sixteenths":
            pattern = tuple((b + q / 4, 0.24) for b in range(4) for q in range(4))
        else:  # lively: quarters, some beats split into two eighths
            pattern = []
            for b in range(4):
                if rng.random() < 0.35:
                    pattern += [(b, 0.45), (b + 0.5, 0.45)]
                else:
                    pattern.append((b, 0.9))
        events.extend((b0 + on, dur) for on, dur in pattern)

    degrees = []
    d = 2 if rng.random() < 0.5 else 4
    for onset, _ in events:
        chord_root = prog[int(onset // (4 * bars_per_chord)) % len(prog)]
        if mood.lead_rhythm == "sixteenths":
            step = int(rng.choice([-2, -1, 1, 2, 2, -2]))
        elif mood_name == "tense":
            step = int(rng.choice([-1, 1, 1, -1, 0, 2, -2]))
        else:
            step = int(rng.choice([-2, -1, -1, 0, 1, 1, 2]))
        d += step
        if d > 9:
            d -= 2 * (d - 9)
        if d < -2:
            d += 2 * (-2 - d)
        if float(onset) % 2 == 0:  # beats 1 and 3: land on the nearest chord tone
            if (d - chord_root) % 7 not in (0, 2, 4):
                d += 1 if (d + 1 - chord_root) % 7 in (0, 2, 4) and d < 9 else -1
        degrees.append(d)
    if degrees:
        degrees[-1] = 0 if abs(degrees[-1]) < abs(degrees[-1] - 7) else 7
    return [(on, dur, deg) for (on, dur), deg in zip(events, degrees)]


def synthesize_clip(spec: ClipSpec) -> np.ndarray:
    """Synthesise one demo clip.

    Parameters
    ----------
    spec : ClipSpec

    Returns
    -------
    y : np.ndarray [shape=(n_samples, channels), dtype=float32]
        ``n_samples = round(spec.seconds * spec.sr)``; peak at most 0.99.
    """
    _check_spec(spec)
    rng = np.random.default_rng(spec.seed)
    mood = _MOODS[spec.mood]
    tonic, minor = parse_key(spec.key)
    scale = _MINOR if minor else _MAJOR
    sr = int(spec.sr)
    n_total = int(round(spec.seconds * sr))
    beat = 60.0 / spec.bpm
    n_beats, b1, b2 = _section_beats(spec)

    def at(beat_pos: float) -> int:
        return int(round(beat_pos * beat * sr))

    family = "tense" if spec.mood == "tense" else ("minor" if minor else "major")
    options = _PROGRESSIONS[family]
    prog = options[int(rng.integers(len(options)))]
    bars_per_chord = 1 if spec.bpm < 100 else 2
    phrase = _melody_phrase(rng, spec.mood, mood, prog, bars_per_chord)
    cycle = 4 * bars_per_chord * len(prog)

    parts = {name: np.zeros(n_total) for name in _PAN}
    kit = _drum_kit(rng, sr, mood, tonic)
    cache: dict[tuple, np.ndarray] = {}

    def note(role: str, midi: int, dur_beats: float) -> np.ndarray:
        n = max(16, int(round(dur_beats * beat * sr)))
        key = (role, midi, n)
        if key not in cache:
            tim = {"chords": mood.chord, "melody": mood.lead, "bass": mood.bass}[role]
            cache[key] = _additive(midi, n, sr, tim)
        return cache[key]

    def hit(name: str, part: str, pos: float, gain: float) -> None:
        sounds = kit[name]
        _add(parts[part], at(pos), sounds[int(rng.integers(len(sounds)))],
             gain * (1.0 + 0.06 * rng.standard_normal()))

    def chord_at(section_start: int, pos: float) -> int:
        return prog[int(((pos - section_start) % cycle) // (4 * bars_per_chord)) % len(prog)]

    def level(pos: float) -> float:
        """Section dynamics: quiet intro, crescendo through the build, full release."""
        if pos < b1:
            return 0.45
        if pos < b2:
            return 0.6 + 0.25 * (pos - b1) / max(1, b2 - b1)
        return 1.0

    tense = spec.mood == "tense"
    sparse = spec.mood in ("calm", "dark")
    melody_from = b1 + max(0, ((b2 - b1) // 2) // 4 * 4)  # second half of the build

    for start, stop, section in ((0, b1, "intro"), (b1, b2, "build"), (b2, n_beats, "release")):
        for bar0 in range(start, stop, 4):
            root_deg = chord_at(start, bar0)
            chord = _chord_notes(root_deg, tonic, scale, mood.chord_center, tense=tense)
            root_pc = (tonic + scale[root_deg]) % 12
            bass_root = _near(root_pc, mood.bass_center)
            if section == "intro":
                g = level(bar0)
                # Pulsing chords on every beat keep the tempo audible before the drums enter.
                for b in range(4):
                    pos = bar0 + b
                    if pos >= stop:
                        break
                    accent = 1.0 if b == 0 else 0.7
                    for m in chord:
                        _add(parts["chords"], at(pos), note("chords", m, 0.95), 3.0 * g * accent)
                    if not sparse or b % 2 == 0:
                        hit("hat", "hats", pos, 0.5 * g * mood.hat_gain)
                    if not sparse:
                        hit("hat", "hats", pos + 0.5, 0.3 * g * mood.hat_gain)
                continue
            # Build and release: the full groove.
            for onset, dur in mood.chord_rhythm:
                pos = bar0 + onset
                if pos >= stop:
                    break
                for m in chord:
                    _add(parts["chords"], at(pos), note("chords", m, dur), level(pos))
                if section == "release":  # doubled an octave up: fuller
                    _add(parts["chords"], at(pos), note("chords", chord[0] + 12, dur),
                         0.6 * level(pos))
            for onset, dur, up in mood.bass_rhythm:
                pos = bar0 + onset
                if pos >= stop:
                    break
                _add(parts["bass"], at(pos), note("bass", bass_root + 12 * up, dur), level(pos))
            for b in range(4):
                pos = bar0 + b
                if pos >= stop:
                    break
                g = level(pos)
                if pos % 2 == 0:
                    hit("kick", "kick", pos, g)
                else:
                    hit("snare", "snare", pos, g * mood.snare_gain)
                n_h = mood.hats_per_beat
                for q in range(n_h):
                    accent = (1.0, 0.45, 0.7, 0.45)[q] if n_h == 4 else (1.0, 0.6)[q]
                    hit("hat", "hats", pos + q / n_h, g * accent * mood.hat_gain)
                if section == "release" and b == 3 and not sparse:
                    hit("open", "hats", pos + 0.5, 0.8 * g * mood.hat_gain)
        if section == "release":
            hit("crash", "crash", start, 1.0)
        # Melody: the phrase loops from the section start; it enters halfway through the build.
        if section != "intro":
            lead_tonic = _near(tonic, mood.lead_center)
            first = max(start, melody_from)
            for k0 in range(start, stop, cycle):
                for onset, dur, deg in phrase:
                    pos = k0 + onset
                    if pos < first or pos >= stop:
                        continue
                    midi = lead_tonic + scale[deg % 7] + 12 * (deg // 7)
                    strong = 1.0 if float(onset) % 1 == 0 else 0.75
                    _add(parts["melody"], at(pos), note("melody", midi, dur), strong * level(pos))

    # Final hit on the downbeat after the last bar, ringing out through the tail.
    end = n_beats
    tail_beats = spec.seconds / beat - end
    tonic_chord = _chord_notes(0, tonic, scale, mood.chord_center, tense=False)
    for m in tonic_chord:
        _add(parts["chords"], at(end), note("chords", m, tail_beats), 1.0)
    _add(parts["bass"], at(end), note("bass", _near(tonic, mood.bass_center), tail_beats), 1.0)
    hit("kick", "kick", end, 1.0)
    hit("crash", "crash", end, 0.8)

    # Mix: levels, constant-power pan, fades, peak normalisation.
    y = np.zeros((n_total, spec.channels))
    for name, x in parts.items():
        x = x * _LEVEL[name]
        if spec.channels == 1:
            y[:, 0] += x
        else:
            theta = (_PAN[name] + 1.0) * np.pi / 4
            y[:, 0] += np.cos(theta) * np.sqrt(2) * x
            y[:, 1] += np.sin(theta) * np.sqrt(2) * x
    fade_in = min(n_total // 4, int(0.005 * sr))
    y[:fade_in] *= np.linspace(0.0, 1.0, fade_in)[:, None]
    n_tail = n_total - at(end)
    if n_tail > 1:
        y[n_total - n_tail:] *= np.linspace(1.0, 0.0, n_tail)[:, None] ** 1.5
    peak = np.abs(y).max()
    if peak > 0:
        y *= _PEAK[spec.mood] / peak
    return np.clip(y, -0.99, 0.99).astype(np.float32)


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------

def write_corpus(out_dir, *, n_inputs: int = 24, n_eval: int = 6, seed: int = 0) -> dict:
    """Synthesise the demo corpus and write it with its ground truth.

    Writes ``out_dir/inputs/<name>.wav|flac`` and ``out_dir/eval/...`` (16-bit PCM), plus
    ``truth.json`` in each split folder. Every file is written to a temporary name in its
    folder and then renamed, so readers never see half a file. The same seed gives
    byte-identical files.

    Parameters
    ----------
    out_dir : str or Path
    n_inputs, n_eval, seed : int
        As in :func:`plan_corpus`.

    Returns
    -------
    truth : dict
        ``{"inputs": truth_dict, "eval": truth_dict}``, each as written to its ``truth.json``:
        ``{"generator", "seed", "clips": {filename: {"bpm", "key", "mood", "seconds", "sr",
        "channels", "sections"}}}``.
    """
    specs = plan_corpus(n_inputs=n_inputs, n_eval=n_eval, seed=seed)
    out_dir = Path(out_dir)
    truths = {}
    for split in SPLITS:
        folder = out_dir / split
        folder.mkdir(parents=True, exist_ok=True)
        clips = {}
        for spec in (s for s in specs if s.split == split):
            y = synthesize_clip(spec)
            _atomic_write(folder / spec.filename,
                          lambda tmp, y=y, spec=spec: sf.write(
                              tmp, y, spec.sr, subtype="PCM_16", format=spec.fmt.upper()))
            clips[spec.filename] = spec.truth()
        truth = {"generator": GENERATOR, "seed": int(seed), "clips": clips}
        text = json.dumps(truth, indent=2) + "\n"
        _atomic_write(folder / "truth.json", lambda tmp, text=text: Path(tmp).write_text(text))
        truths[split] = truth
    return truths


def _atomic_write(path: Path, write) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(str(tmp))
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
