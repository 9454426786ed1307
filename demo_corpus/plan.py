"""Planning the demo corpus: which clips exist, and their ground truth.

A :class:`ClipSpec` fixes everything about one clip (tempo, key, mood, length, format and
synthesis seed); the labels in ``truth.json`` follow from it by construction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aural_core.errors import ParameterError
from aural_core.vocab import EMOTIONS, key_full_name, parse_key

GENERATOR = "aural demo v1"

SPLITS: tuple[str, ...] = ("inputs", "eval")
SECTION_NAMES: tuple[str, ...] = ("intro", "build", "release")
BPM_RANGE: tuple[float, float] = (60.0, 160.0)
SECONDS_RANGE: tuple[float, float] = (20.0, 40.0)
SAMPLE_RATES: tuple[int, ...] = (22050, 44100, 48000)
FORMATS: tuple[str, ...] = ("wav", "flac")
_SECTION_FRACTIONS = (0.30, 0.65)  # intro ends at 30 %, build at 65 % of the clip
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
        check_spec(self)
        n_beats, b1, b2 = section_beats(self)
        beat = 60.0 / self.bpm
        edges = (0.0, round(b1 * beat, 3), round(b2 * beat, 3), float(self.seconds))
        return [{"name": name, "start_s": edges[i], "end_s": edges[i + 1]}
                for i, name in enumerate(SECTION_NAMES)]

    def truth(self) -> dict:
        """The clip's entry in ``truth.json``."""
        return {"bpm": float(self.bpm), "key": self.key, "mood": self.mood,
                "seconds": float(self.seconds), "sr": int(self.sr), "channels": int(self.channels),
                "sections": self.sections()}


def split_truth(specs: list[ClipSpec], split: str, *, seed: int) -> dict:
    """The ``truth.json`` of one split: ``{"generator", "seed", "clips": {filename: truth}}``."""
    clips = {spec.filename: spec.truth() for spec in specs if spec.split == split}
    return {"generator": GENERATOR, "seed": int(seed), "clips": clips}


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

    tonics = _TonicPool(np.random.default_rng([int(seed), 99]))
    specs: list[ClipSpec] = []
    for split_index, (split, n) in enumerate((("inputs", n_inputs), ("eval", n_eval))):
        if n == 0:
            continue
        # Every draw below comes from this one generator, in this order: reordering them
        # would change every demo clip.
        rng = np.random.default_rng([int(seed), split_index])
        prefix = "demo" if split == "inputs" else "eval"
        moods = _plan_moods(rng, n)
        bpm_of = _plan_tempi(rng, moods)
        minor = _plan_modes(rng, moods)
        combos = _plan_formats(rng, n)
        targets = rng.uniform(21.0, 39.0, size=n)
        seeds = rng.integers(0, 2**31 - 1, size=n)
        for i in range(n):
            bpm = float(bpm_of[i])
            sr, channels, fmt = combos[i]
            specs.append(ClipSpec(
                name=f"{prefix}_{i:03d}_{moods[i]}", split=split, bpm=bpm,
                key=key_full_name(tonics.next(minor[i]), minor[i]), mood=moods[i],
                seconds=_plan_seconds(bpm, float(targets[i])), sr=sr, channels=channels,
                fmt=fmt, seed=int(seeds[i])))
    return specs


class _TonicPool:
    """Tonics drawn without replacement per mode; a used-up mode starts a fresh permutation."""

    def __init__(self, rng: np.random.Generator):
        self._rng = rng
        self._pools: dict[bool, list[int]] = {False: [], True: []}

    def next(self, minor: bool) -> int:
        if not self._pools[minor]:
            self._pools[minor] = [int(t) for t in self._rng.permutation(12)]
        return self._pools[minor].pop()


def _plan_moods(rng: np.random.Generator, n: int) -> list[str]:
    """Balanced moods (counts differ by at most one), shuffled."""
    offset = int(rng.integers(len(EMOTIONS)))
    moods = [EMOTIONS[(i + offset) % len(EMOTIONS)] for i in range(n)]
    return [moods[i] for i in rng.permutation(n)]


def _plan_tempi(rng: np.random.Generator, moods: list[str]) -> np.ndarray:
    """One tempo draw per stratum of 60-160 BPM, handed out by a noisy mood-leaning rank."""
    n = len(moods)
    edges = np.linspace(*BPM_RANGE, n + 1)
    bpms = np.round(edges[:-1] + rng.uniform(size=n) * np.diff(edges), 1)
    bpms = np.clip(bpms, *BPM_RANGE)
    lean = np.array([_TEMPO_LEAN[m] for m in moods]) + rng.normal(size=n)
    bpm_of = np.empty(n)
    bpm_of[np.argsort(lean, kind="stable")] = np.sort(bpms)
    return bpm_of


def _plan_modes(rng: np.random.Generator, moods: list[str]) -> list[bool]:
    """Minor or not per clip: forced by mood where the mood needs one, the rest balance the split."""
    minor = [m in ("tense", "dark") for m in moods]
    free = [i for i, m in enumerate(moods) if m in ("calm", "busy")]
    n_major_wanted = max(0, (len(moods) + 1) // 2 - sum(m == "bright" for m in moods))
    to_major = set(int(i) for i in rng.permutation(free)[:n_major_wanted])
    for i in free:
        minor[i] = i not in to_major
    return minor


def _plan_formats(rng: np.random.Generator, n: int) -> list[tuple[int, int, str]]:
    """(sr, channels, fmt) per clip: combos 0..11 are all distinct and every run of 6 is balanced."""
    combos = []
    for i in range(n):
        j = i % 12
        fmt = FORMATS[(j % 2) ^ ((j // 6) % 2)]
        combos.append((SAMPLE_RATES[j % 3], 1 + (j // 3) % 2, fmt))
    return [combos[i] for i in rng.permutation(n)]


def _plan_seconds(bpm: float, target: float) -> float:
    """Whole bars plus a one-beat tail, as near ``target`` as the 20-40 s bounds allow."""
    beat = 60.0 / bpm
    bar = 4 * beat
    lo = int(np.ceil((SECONDS_RANGE[0] - beat) / bar - 1e-9))
    hi = int(np.floor((SECONDS_RANGE[1] - beat) / bar + 1e-9))
    n_bars = int(np.clip(round((target - beat) / bar), lo, hi))
    return round((4 * n_bars + 1) * beat, 3)


def section_beats(spec: ClipSpec) -> tuple[int, int, int]:
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


def check_spec(spec: ClipSpec) -> None:
    """Raise :class:`~aural_core.errors.ParameterError` naming the first invalid field of ``spec``."""
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
