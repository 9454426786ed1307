"""Training-time augmentation: signal transforms, labels moved to match, deterministic plans."""

import librosa
import numpy as np
import pytest
from pydantic import ValidationError

from aural_core.augment import (
    Transform,
    augment_sections,
    frames_in_spans,
    plan_transforms,
    shift_key,
    stretch_bpm,
    transform_signal,
)
from aural_core.config import AugmentConfig, FeatureConfig, LabelConfig, TrainConfig
from aural_core.embedders import build_embedder, build_tagger
from aural_core.errors import ParameterError
from aural_core.features import analyze_signal
from aural_core.sections import FrameArrays, LabelledSection, SectionEvidence
from aural_core.training import train_adapter

from ..sections_data import section_arrays
from .signals import SR, click_track, tone


@pytest.mark.parametrize("key,n,full,folded", [
    ("E minor", 2, "F# minor", "F minor"),
    ("C major", -1, "B major", "B major"),
    ("A minor", 12, "A minor", "A minor"),
    ("A# major", 1, "B major", "B major"),
    ("D major", 6, "G# major", "G major"),
    ("Bb minor", -5, "F minor", "F minor"),
])
def test_shift_key_moves_the_tonic_and_keeps_the_mode(key, n, full, folded):
    got_full, got_key, key_id = shift_key(key, semitones=n)
    assert (got_full, got_key) == (full, folded)
    from aural_core.vocab import KEYS_14
    assert KEYS_14[key_id] == folded


@pytest.mark.parametrize("bpm,rate,expected", [
    (100.0, 1.15, 115.0), (100.0, 0.87, 87.0),
    (150.0, 1.15, 172.5),   # inside the label range (40-250): kept
    (240.0, 1.15, 138.0),   # 276 folds down an octave, as labels.fold_bpm does
    (45.0, 0.87, 78.3),     # 39.15 folds up
])
def test_stretch_bpm_scales_and_folds(bpm, rate, expected):
    assert stretch_bpm(bpm, rate=rate) == pytest.approx(expected)


def test_transform_slugs_and_bad_values():
    assert Transform(2).slug == "shift+2"
    assert Transform(rate=1.15).slug == "rate1.15"
    assert Transform(-5, 0.87).slug == "shift-5_rate0.87"
    assert Transform().is_identity and Transform().slug == "identity"
    with pytest.raises(ParameterError, match="rate=0"):
        Transform(rate=0)
    with pytest.raises(ParameterError, match="semitones=1.5"):
        Transform(1.5)


def _frames(n: int, *, frame_s: float = 2.0, dim: int = 521) -> FrameArrays:
    start = np.arange(n) * frame_s
    x = np.zeros((n, dim), np.float32)
    x[:, 0] = np.arange(n)  # each frame's index in dim 0: the mean names the frames taken
    return FrameArrays(x=x, start_s=start, end_s=start + frame_s, energy=np.full(n, 0.5),
                       beat_strength=np.full(n, 0.6), tempo_bpm=np.full(n, 100.0),
                       chroma=np.full((n, 12), 1 / 12), top_tags=[[] for _ in range(n)],
                       chroma_cqt=np.full((n, 12), 1 / 12), tempo_acf_fine=np.zeros((n, 97)),
                       percussive_share=np.zeros(n), onset_rate=np.zeros(n))


def _section(name, a, b, *, bpm=100.0, key_full="E minor", confidence=0.8, beat=0.6):
    from aural_core.vocab import KEYS_14, fold_key_14, parse_key
    key_id = fold_key_14(*parse_key(key_full))
    return LabelledSection(
        section=name, start_s=a, end_s=b, spans=[(a, b)], n_frames=int((b - a) / 2),
        x=np.zeros(521, np.float32), energy=0.5, beat_strength=beat, emotion="dark", emotion_id=3,
        bpm=bpm, key=KEYS_14[key_id], key_id=key_id, key_full=key_full, key_confidence=confidence,
        style_id=4, style_prompt="a dark piece",
        evidence=SectionEvidence(chroma=np.full(12, 1 / 12, np.float32), context_chroma=np.full(12, 1 / 12, np.float32),
                                 opening_chroma=np.full(12, 1 / 12, np.float32),
                                 closing_chroma=np.full(12, 1 / 12, np.float32),
                                 tempo_periodicity=np.zeros(97, np.float32), percussive_share=0.0, onset_rate=0.0,
                                 tracker_bpm=float("nan")))


def test_augment_sections_moves_spans_and_labels():
    rows = [_section("intro", 0.0, 20.0), _section("build", 20.0, 40.0, bpm=150.0)]
    frames = _frames(16)  # 40 s at rate 1.25 -> 32 s of audio
    out = augment_sections(rows, frames, transform=Transform(2, 1.25), labels=LabelConfig())
    intro, build = out
    assert (intro.start_s, intro.end_s, intro.spans) == (0.0, 16.0, [(0.0, 16.0)])
    assert (build.start_s, build.end_s) == (16.0, 32.0)
    assert intro.n_frames == build.n_frames == 8
    assert intro.x[0] == pytest.approx(np.mean(np.arange(8))) and build.x[0] == pytest.approx(np.mean(np.arange(8, 16)))
    assert (intro.key_full, intro.key) == ("F# minor", "F minor")
    assert intro.bpm == pytest.approx(125.0) and build.bpm == pytest.approx(187.5)  # inside 40-250: kept
    for a, b in zip(rows, out):  # mood and style are the original's
        assert (b.emotion, b.emotion_id, b.style_id, b.style_prompt, b.section) == (
            a.emotion, a.emotion_id, a.style_id, a.style_prompt, a.section)


def test_fallback_labels_stay_fallbacks():
    labels = LabelConfig()
    rows = [_section("intro", 0.0, 20.0, key_full="C major", confidence=0.05,
                     bpm=labels.bpm_default, beat=0.0)]
    (out,) = augment_sections(rows, _frames(12), transform=Transform(3, 0.87), labels=labels)
    assert (out.key_full, out.key) == ("C major", "C major")  # "unknown", not a measured C major
    assert out.bpm == labels.bpm_default


def test_a_short_span_takes_the_frame_that_overlaps_it_most():
    start = np.arange(5) * 2.0
    assert frames_in_spans([(4.6, 5.2)], start_s=start, end_s=start + 2).tolist() == [2]
    assert frames_in_spans([(0, 4), (6, 8)], start_s=start, end_s=start + 2).tolist() == [0, 1, 3]


def test_pitch_shift_moves_the_chroma_peak():
    # a C major triad (C4 E4 G4) shifted up 2 semitones: its chroma moves to D major (D F# A)
    chord = sum(tone(f, 6.0, amp=0.3) for f in (261.63, 329.63, 392.00)).astype(np.float32)
    cfg = FeatureConfig()
    backends = dict(embedder=build_embedder("dsp"), tagger=build_tagger("rules"))
    before = analyze_signal(chord, sr=SR, config=cfg, **backends).chroma.mean(axis=0)
    shifted = transform_signal(chord, sr=SR, transform=Transform(2))
    after = analyze_signal(shifted, sr=SR, config=cfg, **backends).chroma.mean(axis=0)
    assert len(shifted) == len(chord)
    assert int(np.argmax(after)) == (int(np.argmax(before)) + 2) % 12
    assert set(np.argsort(-before)[:3].tolist()) == {0, 4, 7}
    assert set(np.argsort(-after)[:3].tolist()) == {2, 6, 9}


def test_time_stretch_changes_length_and_tempo():
    clicks = click_track(100.0, 12.0)
    faster = transform_signal(clicks, sr=SR, transform=Transform(rate=1.2))
    assert len(faster) == int(round(len(clicks) / 1.2))
    before, after = (float(librosa.feature.tempo(y=y, sr=SR, start_bpm=100)[0]) for y in (clicks, faster))
    assert after / before == pytest.approx(1.2, rel=0.03)  # 100 BPM x 1.2
    both = transform_signal(clicks, sr=SR, transform=Transform(-3, 0.87))
    assert len(both) == int(round(len(clicks) / 0.87))
    assert np.array_equal(both, transform_signal(clicks, sr=SR, transform=Transform(-3, 0.87)))  # deterministic


def test_transform_signal_checks_its_input():
    with pytest.raises(ParameterError, match="mono"):
        transform_signal(np.zeros((2, 100), np.float32), sr=SR, transform=Transform(2))


def test_plans_are_deterministic_distinct_and_follow_the_config():
    cfg = AugmentConfig(copies_per_file=3)
    plan = plan_transforms("0123456789abcdef", config=cfg)
    assert plan == plan_transforms("0123456789abcdef", config=cfg) and len(set(plan)) == 3
    assert all(t.semitones in cfg.pitch_shifts and t.rate in cfg.time_stretches for t in plan)
    assert plan != plan_transforms("fedcba9876543210", config=cfg) or plan != plan_transforms(
        "0123456789abcdef", config=AugmentConfig(copies_per_file=3, seed=1))
    apart = plan_transforms("0123456789abcdef", config=AugmentConfig(copies_per_file=4, combine=False))
    assert [bool(t.semitones) for t in apart] == [True, False, True, False]
    assert [t.rate == 1.0 for t in apart] == [True, False, True, False]
    shifts_only = plan_transforms("ab", config=AugmentConfig(copies_per_file=2, time_stretches=()))
    assert all(t.rate == 1.0 and t.semitones for t in shifts_only)
    assert plan_transforms("ab", config=AugmentConfig(copies_per_file=0)) == []
    assert plan_transforms("ab", config=AugmentConfig(pitch_shifts=(), time_stretches=())) == []


@pytest.mark.parametrize("field,value", [
    ("pitch_shifts", (0, 2)), ("pitch_shifts", (13,)), ("time_stretches", (1.0,)),
    ("time_stretches", (3.0,)), ("copies_per_file", -1),
])
def test_augment_config_refuses_bad_values(field, value):
    with pytest.raises(ValidationError, match=field):
        AugmentConfig(**{field: value})


def test_augmented_rows_never_validate():
    rng = np.random.default_rng(0)
    files = np.repeat([f"f{i}" for i in range(10)], 2)
    n = len(files)
    arrays = section_arrays(rng.integers(0, 24, n), rng.uniform(60, 160, n), files, n_styles=4)
    config = TrainConfig(epochs=2, head_check_folds=0)  # the split is under test, not the heads
    plain = train_adapter(arrays, n_styles=4, config=config)
    # a copy of every file, including the ones that validate
    with_copies = {k: np.concatenate([v, v]) for k, v in arrays.items()}
    with_copies["augmented"] = np.repeat([False, True], n)
    result = train_adapter(with_copies, n_styles=4, config=config)
    assert result.split["val_files"] == plain.split["val_files"]
    assert result.split["n_val_sections"] == plain.split["n_val_sections"]
    n_val = plain.split["n_val_sections"]
    assert result.split["n_augmented_dropped"] == n_val
    assert result.split["n_augmented_train_sections"] == n - n_val
    assert result.split["n_train_sections"] == 2 * (n - n_val)
