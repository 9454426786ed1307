"""Weak-label rules on constructed inputs (seed section 4b)."""

import numpy as np
import pytest

from aural_core.config import LabelConfig
from aural_core.errors import ParameterError
from aural_core.labels import (
    bpm_label,
    emotion_label,
    fold_bpm,
    key_label,
    key_label_frames,
    pitch_class_histogram,
    style_label,
    tempo_label,
)
from aural_core.styles import load_style_table
from aural_core.vocab import KEYS_14, fold_key_14, parse_key

CFG = LabelConfig()
MAJOR_SCALE, MINOR_SCALE = (0, 2, 4, 5, 7, 9, 11), (0, 2, 3, 5, 7, 8, 10)


@pytest.mark.parametrize("raw,folded", [(40, 80), (200, 100), (30, 60), (330, 82.5), (120, 120), (60, 60), (160, 160)])
def test_bpm_folding(raw, folded):
    assert fold_bpm(raw, lo=60, hi=160) == pytest.approx(folded)


def test_bpm_folding_rejects_nonsense():
    with pytest.raises(ParameterError, match="bpm=0"):
        fold_bpm(0)


def test_bpm_label_smooths_and_defaults():
    tempo = np.array([119.0, 121.0, 240.0, 120.5, np.nan])
    strength = np.array([0.9, 0.8, 0.01, 0.7, 0.9])  # the 240 frame has no confident beat
    assert bpm_label(tempo, strength, config=CFG) == pytest.approx(120.5)
    assert bpm_label(np.array([np.nan, np.nan]), np.zeros(2), config=CFG) == 90.0
    assert bpm_label(np.array([50.0, 50.0]), np.ones(2), config=CFG) == 50.0   # inside 40..250: kept
    assert bpm_label(np.array([30.0, 30.0]), np.ones(2), config=CFG) == 60.0   # outside: folded


def chroma_of(pitch_classes, weights=None, n_frames=4):
    c = np.zeros(12)
    for pc, w in zip(pitch_classes, weights or [1.0] * len(pitch_classes)):
        c[pc % 12] += w
    return np.tile(c / c.sum(), (n_frames, 1))


@pytest.mark.parametrize("key", ["C major", "D major", "F# major", "A# major",
                                 "A minor", "E minor", "C# minor", "G minor"])
def test_key_from_scale_with_tonic_triad(key):
    tonic, minor = parse_key(key)
    scale = MINOR_SCALE if minor else MAJOR_SCALE
    triad = (0, 3, 7) if minor else (0, 4, 7)
    pcs = [tonic + s for s in scale] + [tonic + t for t in triad]
    est = key_label(pitch_class_histogram(chroma_of(pcs)), config=CFG)
    assert est.key_full == key and not est.fallback
    assert est.key == KEYS_14[fold_key_14(tonic, minor)]


@pytest.mark.parametrize("name,expected", [
    ("F# minor", (6, True)), ("Bb minor", (10, True)), (" E Major ", (4, False)),
])
def test_parse_key(name, expected):
    assert parse_key(name) == expected


@pytest.mark.parametrize("name", ["H major", "C dorian", "C", "C major please", "", None, 7])
def test_parse_key_rejects_non_keys(name):
    with pytest.raises(ParameterError, match=f"key={name!r}"):
        parse_key(name)


def test_key_folding_and_fallback():
    assert KEYS_14[fold_key_14(*parse_key("F# minor"))] == "F minor"
    assert KEYS_14[fold_key_14(*parse_key("Bb major"))] == "A major"
    flat = key_label(np.full(12, 1 / 12), config=CFG)             # no tonal centre at all
    assert flat.fallback and flat.key_full in ("C major", "A minor")
    silence = key_label(np.zeros(12), config=CFG)
    assert silence.fallback and silence.confidence == 0


def test_emotion_votes_follow_tag_rule_table():
    assert emotion_label([["Sad music", "Drone", "Happy music", "Piano", "Jazz"]] * 3) == "dark"
    assert emotion_label([["Techno", "Hi-hat", "Sad music", "Cello", "Lullaby"],
                          ["Drum kit", "Techno", "Happy music", "Cello", "Piano"]]) == "busy"
    assert emotion_label([[], []]) == "calm"   # silence has no tags


def test_style_rule():
    table = load_style_table()
    low, high = style_label("dark", 0.3, table=table, config=CFG), style_label("dark", 0.8, table=table, config=CFG)
    assert table[low].emotion == table[high].emotion == "dark"
    assert (table[low].energy, table[high].energy) == ("low", "high")
    assert len(table) == 10


@pytest.mark.parametrize("key", ["C major", "F# major", "E minor", "G minor"])
def test_key_label_from_frames_with_file_context(key):
    tonic, minor = parse_key(key)
    scale = MINOR_SCALE if minor else MAJOR_SCALE
    triad = (0, 3, 7) if minor else (0, 4, 7)
    frames = chroma_of([tonic + s for s in scale] + [tonic + t for t in triad])
    est = key_label_frames(frames, weights=np.ones(len(frames)), context=frames.mean(axis=0), config=CFG)
    assert est.key_full == key and est.key == KEYS_14[fold_key_14(tonic, minor)] and not est.fallback


def test_tempo_label_keeps_the_octave_and_defaults_without_beats():
    from aural_core.tempo import TEMPO_FINE_BPM

    n = 4
    acf = np.exp(-0.5 * (np.log2(TEMPO_FINE_BPM / 150.0) / 0.05) ** 2)  # periodicity at 150 BPM only
    bpm, confidence = tempo_label(tempo_bpm=np.full(n, 150.0), beat_strength=np.full(n, 0.8),
                                  acf=np.tile(acf, (n, 1)), percussive_share=np.full(n, 0.3),
                                  onset_rate=np.full(n, 5.0), weights=np.ones(n), config=CFG)
    assert bpm == pytest.approx(150.0, rel=0.02) and 0 < confidence <= 1  # not folded to 75
    silent = tempo_label(tempo_bpm=np.full(n, np.nan), beat_strength=np.zeros(n), acf=np.zeros((n, len(acf))),
                         percussive_share=np.zeros(n), onset_rate=np.zeros(n), weights=np.ones(n), config=CFG)
    assert silent == (CFG.bpm_default, 0.0)
