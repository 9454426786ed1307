"""Sound design of the five moods: timbres, voicing ranges, rhythms, progressions and mix levels.

Tables only; :mod:`demo_corpus.sounds` makes the sounds and :mod:`demo_corpus.arranger`
places them.
"""

from __future__ import annotations

from dataclasses import dataclass

MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)  # natural minor

# Progressions as scale degrees (0 = tonic). Tonic first and the most frequent chord.
PROGRESSIONS = {
    "major": ((0, 4, 5, 3, 0, 4, 3, 0), (0, 3, 0, 4), (0, 5, 3, 4, 0, 3, 4, 0)),
    "minor": ((0, 5, 2, 6, 0, 5, 6, 0), (0, 3, 0, 4), (0, 3, 4, 0, 0, 5, 6, 0)),
    "tense": ((0, 1, 0, 4, 0, 5, 1, 0), (0, 5, 1, 4)),  # ii dim carries a tritone
}


@dataclass(frozen=True)
class Timbre:
    """Additive timbre: amplitude of harmonic k is k**-rolloff; it decays at d0 + d1 * (k - 1)."""

    harmonics: int
    rolloff: float
    d0: float          # 1/s, decay of the fundamental
    d1: float          # 1/s added per harmonic above the fundamental
    attack: float      # s
    release: float     # s
    odd: bool = False  # hollow, square-like spectrum


@dataclass(frozen=True)
class Mood:
    """How one mood sounds and plays."""

    chord: Timbre
    lead: Timbre
    bass: Timbre
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


MOODS = {
    "bright": Mood(
        chord=Timbre(14, 1.0, 2.0, 0.6, 0.006, 0.05),
        lead=Timbre(16, 0.9, 2.5, 0.8, 0.004, 0.04),
        bass=Timbre(10, 1.2, 2.5, 0.9, 0.004, 0.03),
        chord_center=64, lead_center=76, bass_center=43,
        chord_rhythm=((0, 0.8), (1, 0.8), (2, 0.8), (3, 0.45), (3.5, 0.45)),
        bass_rhythm=tuple((i * 0.5, 0.42, i % 2 == 1) for i in range(8)),
        lead_rhythm="lively", hats_per_beat=2, kick_tune=50.0, snare_band=(1500.0, 9000.0),
        snare_gain=0.75, hat_gain=0.25),
    "calm": Mood(
        chord=Timbre(5, 2.2, 0.5, 0.5, 0.06, 0.25),
        lead=Timbre(5, 2.4, 1.0, 0.8, 0.03, 0.15),
        bass=Timbre(4, 2.5, 0.8, 0.8, 0.02, 0.12),
        chord_center=60, lead_center=71, bass_center=41,
        chord_rhythm=((0, 1.9), (2, 1.9)),
        bass_rhythm=((0, 1.8, False), (2, 1.8, False)),
        lead_rhythm="slow", hats_per_beat=2, kick_tune=48.0, snare_band=(800.0, 5000.0),
        snare_gain=0.45, hat_gain=0.14),
    "tense": Mood(
        chord=Timbre(11, 1.0, 6.0, 1.2, 0.003, 0.02, odd=True),
        lead=Timbre(11, 1.0, 5.0, 1.0, 0.003, 0.02, odd=True),
        bass=Timbre(9, 1.1, 5.0, 1.2, 0.003, 0.02, odd=True),
        chord_center=61, lead_center=72, bass_center=41,
        chord_rhythm=((0, 0.22), (0.5, 0.22), (1, 0.22), (2, 0.22), (2.5, 0.22), (3, 0.22)),
        bass_rhythm=tuple((i * 0.5, 0.25, False) for i in range(8)),
        lead_rhythm="staccato", hats_per_beat=2, kick_tune=52.0, snare_band=(1800.0, 9500.0),
        snare_gain=0.85, hat_gain=0.24),
    "dark": Mood(
        chord=Timbre(4, 2.6, 0.4, 0.9, 0.05, 0.25),
        lead=Timbre(5, 2.3, 1.0, 1.0, 0.02, 0.12),
        bass=Timbre(4, 2.4, 0.9, 1.0, 0.01, 0.1),
        chord_center=51, lead_center=62, bass_center=34,
        chord_rhythm=((0, 1.9), (2, 1.9)),
        bass_rhythm=((0, 1.4, False), (1.5, 0.4, False), (2, 1.8, False)),
        lead_rhythm="slow", hats_per_beat=2, kick_tune=42.0, snare_band=(400.0, 3500.0),
        snare_gain=0.7, hat_gain=0.13),
    "busy": Mood(
        chord=Timbre(10, 1.3, 3.0, 0.8, 0.004, 0.03),
        lead=Timbre(12, 1.1, 4.0, 0.9, 0.003, 0.02),
        bass=Timbre(8, 1.3, 3.0, 1.0, 0.003, 0.03),
        chord_center=62, lead_center=74, bass_center=40,
        chord_rhythm=tuple((i * 0.5, 0.4) for i in range(8)),
        bass_rhythm=tuple((i * 0.5, 0.4, i % 4 == 3) for i in range(8)),
        lead_rhythm="sixteenths", hats_per_beat=4, kick_tune=50.0, snare_band=(1500.0, 9000.0),
        snare_gain=0.8, hat_gain=0.2),
}

# Pan positions (-1 left .. +1 right) of the parts in a stereo mix.
PAN = {"kick": 0.0, "snare": 0.05, "hats": 0.35, "bass": 0.0, "chords": -0.35,
       "melody": 0.3, "crash": -0.25}
# Part levels before the mix is normalised.
LEVEL = {"kick": 1.0, "snare": 0.7, "hats": 1.0, "bass": 0.55, "chords": 0.22,
         "melody": 0.32, "crash": 0.22}
# Peak level of the finished mix.
PEAK = {"bright": 0.95, "calm": 0.7, "tense": 0.95, "dark": 0.85, "busy": 0.95}
