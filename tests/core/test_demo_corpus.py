"""Tests of the demo corpus: plan, synthesis, written files and the musical ground truth."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter

import librosa
import numpy as np
import pytest
import soundfile as sf

from aural_core.demo_corpus import ClipSpec, plan_corpus, synthesize_clip, write_corpus
from aural_core.errors import ParameterError
from aural_core.vocab import EMOTIONS, KEYS_FULL, parse_key


@pytest.fixture(scope="module")
def one_per_mood():
    """Five clips, one per mood, with their audio."""
    specs = plan_corpus(n_inputs=5, n_eval=0, seed=0)
    assert sorted(s.mood for s in specs) == sorted(EMOTIONS)
    return [(s, synthesize_clip(s)) for s in specs]


def _mono_22050(spec: ClipSpec, y: np.ndarray) -> np.ndarray:
    return librosa.resample(y.mean(axis=1), orig_sr=spec.sr, target_sr=22050)


# ---- plan ------------------------------------------------------------------------------------

def test_plan_default_covers_formats_tempi_keys_moods():
    specs = plan_corpus()
    assert len(specs) == 30
    assert [s.split for s in specs] == ["inputs"] * 24 + ["eval"] * 6
    assert len({s.filename for s in specs}) == 30
    for split in ("inputs", "eval"):
        part = [s for s in specs if s.split == split]
        assert {s.sr for s in part} == {22050, 44100, 48000}
        assert {s.channels for s in part} == {1, 2}
        assert {s.fmt for s in part} == {"wav", "flac"}
        counts = Counter(s.mood for s in part)
        assert set(counts) == set(EMOTIONS)
        assert max(counts.values()) - min(counts.values()) <= 1
    bpms = [s.bpm for s in specs]
    assert all(60.0 <= b <= 160.0 for b in bpms)
    assert min(bpms) < 66.0 and max(bpms) > 154.0
    assert all(20.0 <= s.seconds <= 40.0 for s in specs)
    keys = [s.key for s in specs]
    assert all(k in KEYS_FULL for k in keys)
    assert {s.key for s in specs if s.split == "inputs"} == set(KEYS_FULL)  # all 24 keys
    for s in specs:
        minor = parse_key(s.key)[1]
        if s.mood == "bright":
            assert not minor
        if s.mood in ("tense", "dark"):
            assert minor
        assert s.mood in s.name


def test_plan_is_deterministic():
    assert plan_corpus(seed=3) == plan_corpus(seed=3)
    assert plan_corpus(seed=3) != plan_corpus(seed=4)


def test_plan_sections_follow_the_arc():
    for s in plan_corpus(n_inputs=12, n_eval=3, seed=1):
        secs = s.sections()
        assert [d["name"] for d in secs] == ["intro", "build", "release"]
        assert secs[0]["start_s"] == 0.0 and secs[-1]["end_s"] == s.seconds
        for a, b in zip(secs, secs[1:]):
            assert a["end_s"] == b["start_s"]
        fractions = [(d["end_s"] - d["start_s"]) / s.seconds for d in secs]
        assert fractions == pytest.approx([0.30, 0.35, 0.35], abs=0.1)


@pytest.mark.parametrize("kwargs", [
    {"n_inputs": -1}, {"n_eval": 1.5}, {"seed": -2}, {"n_inputs": 0, "n_eval": 0}, {"seed": True},
])
def test_plan_rejects_bad_arguments(kwargs):
    with pytest.raises(ParameterError):
        plan_corpus(**kwargs)


# ---- synthesis -------------------------------------------------------------------------------

def test_synthesize_shape_dtype_peak(one_per_mood):
    for spec, y in one_per_mood:
        assert y.dtype == np.float32
        assert y.shape == (round(spec.seconds * spec.sr), spec.channels)
        assert np.isfinite(y).all()
        assert 0.5 < np.abs(y).max() <= 0.99


def test_synthesize_is_deterministic(one_per_mood):
    spec, y = one_per_mood[0]
    np.testing.assert_array_equal(synthesize_clip(spec), y)
    other = synthesize_clip(dataclasses.replace(spec, seed=spec.seed + 1))
    assert other.shape == y.shape
    assert not np.array_equal(other, y)


def test_energy_arc(one_per_mood):
    for spec, y in one_per_mood:
        rms = []
        for sec in spec.sections():
            seg = y[int(sec["start_s"] * spec.sr): int(sec["end_s"] * spec.sr)]
            rms.append(float(np.sqrt(np.mean(seg.astype(np.float64) ** 2))))
        intro, build, release = rms
        assert release > build > intro > 0, (spec.name, rms)


def test_tempo_is_recoverable(one_per_mood):
    for spec, y in one_per_mood:
        tempo, _ = librosa.beat.beat_track(y=_mono_22050(spec, y), sr=22050)
        tempo = float(np.atleast_1d(tempo)[0])
        ratios = [tempo / (spec.bpm * f) for f in (0.5, 1.0, 2.0)]
        assert any(abs(r - 1) <= 0.04 for r in ratios), (spec.name, spec.bpm, tempo)


def test_key_is_audible(one_per_mood):
    for spec, y in one_per_mood:
        chroma = librosa.feature.chroma_cqt(y=_mono_22050(spec, y), sr=22050).mean(axis=1)
        tonic, minor = parse_key(spec.key)
        third = 3 if minor else 4
        assert (int(chroma.argmax()) - tonic) % 12 in (0, third, 7), (spec.name, spec.key)


def test_short_custom_clip_and_bad_specs():
    spec = plan_corpus(n_inputs=1, n_eval=0, seed=5)[0]
    short = dataclasses.replace(spec, seconds=6.0, bpm=120.0, sr=16000, channels=2)
    y = synthesize_clip(short)
    assert y.shape == (96000, 2)
    for bad in ({"mood": "happy"}, {"key": "H major"}, {"channels": 3}, {"bpm": 0.0},
                {"seconds": 1.0}, {"fmt": "mp3"}, {"sr": 22050.0}):
        with pytest.raises(ParameterError):
            synthesize_clip(dataclasses.replace(spec, **bad))


# ---- files -----------------------------------------------------------------------------------

def test_write_corpus_files_match_truth(tmp_path):
    truths = write_corpus(tmp_path / "a", n_inputs=4, n_eval=2, seed=7)
    specs = {s.filename: s for s in plan_corpus(n_inputs=4, n_eval=2, seed=7)}
    for split, n in (("inputs", 4), ("eval", 2)):
        folder = tmp_path / "a" / split
        truth = json.loads((folder / "truth.json").read_text())
        assert truth == truths[split]
        assert truth["generator"] == "aural demo v1" and truth["seed"] == 7
        assert len(truth["clips"]) == n
        assert sorted(p.name for p in folder.iterdir()) == sorted([*truth["clips"], "truth.json"])
        for filename, clip in truth["clips"].items():
            spec = specs[filename]
            assert clip["bpm"] == spec.bpm and clip["key"] == spec.key and clip["mood"] == spec.mood
            assert [s["name"] for s in clip["sections"]] == ["intro", "build", "release"]
            info = sf.info(str(folder / filename))
            assert info.samplerate == clip["sr"]
            assert info.channels == clip["channels"]
            assert info.subtype == "PCM_16"
            assert info.format == spec.fmt.upper()
            assert info.duration == pytest.approx(clip["seconds"], abs=1.0 / clip["sr"])

    # Same seed: byte-identical files.
    write_corpus(tmp_path / "b", n_inputs=4, n_eval=2, seed=7)
    for split in ("inputs", "eval"):
        for p in (tmp_path / "a" / split).iterdir():
            assert p.read_bytes() == (tmp_path / "b" / split / p.name).read_bytes(), p.name
