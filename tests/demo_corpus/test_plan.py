"""Tests of the demo corpus plan: coverage of formats, tempi, keys and moods, and the sections."""

from __future__ import annotations

from collections import Counter

import pytest

from aural_core.errors import ParameterError
from aural_core.vocab import EMOTIONS, KEYS_FULL, parse_key
from demo_corpus import GENERATOR, plan_corpus
from demo_corpus.plan import split_truth


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


def test_split_truth_lists_only_its_split():
    specs = plan_corpus(n_inputs=3, n_eval=2, seed=2)
    truth = split_truth(specs, "eval", seed=2)
    assert truth["generator"] == GENERATOR and truth["seed"] == 2
    assert list(truth["clips"]) == [s.filename for s in specs[3:]]
    assert truth["clips"][specs[3].filename] == specs[3].truth()
    assert split_truth(specs[:3], "eval", seed=2)["clips"] == {}


@pytest.mark.parametrize("kwargs", [
    {"n_inputs": -1}, {"n_eval": 1.5}, {"seed": -2}, {"n_inputs": 0, "n_eval": 0}, {"seed": True},
])
def test_plan_rejects_bad_arguments(kwargs):
    with pytest.raises(ParameterError):
        plan_corpus(**kwargs)
