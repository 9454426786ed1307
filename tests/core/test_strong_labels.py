"""Strong labels: the spellings of tempo and key that tags and sidecars use, and how a section
takes them in place of its weak labels."""

import numpy as np
import pytest

from aural_core.config import LabelConfig, SectionConfig
from aural_core.errors import ParameterError
from aural_core.sections import FrameArrays, label_sections
from aural_core.strong_labels import StrongLabels, parse_bpm, parse_emotion, parse_key_label, read_fields
from aural_core.styles import load_style_table


@pytest.mark.parametrize("text,key", [
    ("C major", "C major"), ("a minor", "A minor"), ("F#m", "F# minor"), ("Bbmin", "A# minor"), ("Db", "C# major"),
    ("Am", "A minor"), ("E#", "F major"), ("8A", "A minor"), ("8B", "C major"), ("1A", "G# minor"),
    ("12B", "E major"), ("1m", "A minor"), ("1d", "C major"), ("2m", "E minor"), ("o", None), ("", None),
])
def test_key_spellings(text, key):
    assert parse_key_label(text) == key


@pytest.mark.parametrize("text", ["H minor", "120", "C dorian", "13A", "Cmajor7"])
def test_unreadable_keys_quote_the_value(text):
    with pytest.raises(ParameterError, match=repr(text).replace("[", r"\[")):
        parse_key_label(text)


@pytest.mark.parametrize("text,bpm", [("120", 120.0), ("99,5", 99.5), ("128 BPM", 128.0), (" 87.25 ", 87.25)])
def test_bpm_spellings(text, bpm):
    assert parse_bpm(text) == bpm


@pytest.mark.parametrize("text", ["fast", "0", "-90", "nan", "5000"])
def test_unreadable_tempi_are_refused(text):
    with pytest.raises(ParameterError, match="bpm="):
        parse_bpm(text)


def test_read_fields_keeps_what_it_can_and_says_what_it_could_not():
    labels, problems = read_fields({"bpm": "fast", "key": "F#m", "emotion": "Calm", "style": ""}, source="sidecar")
    assert (labels.bpm, labels.key, labels.emotion, labels.style) == (None, "F# minor", "calm", None)
    assert labels.source == {"key": "sidecar", "emotion": "sidecar"}
    assert [(field, value) for field, value, _ in problems] == [("bpm", "fast")]
    with pytest.raises(ParameterError, match="sad"):
        parse_emotion("sad")


def test_sidecar_fields_win_over_tags_and_fingerprints_differ():
    tag = StrongLabels(bpm=120.0, key="C major", source={"bpm": "tag", "key": "tag"})
    sidecar = StrongLabels(key="A minor", source={"key": "sidecar"})
    merged = sidecar.merged_over(tag)
    assert (merged.bpm, merged.key, merged.source) == (120.0, "A minor", {"bpm": "tag", "key": "sidecar"})
    assert merged.fingerprint() != tag.fingerprint() and StrongLabels().fingerprint() == ""
    assert not StrongLabels() and merged.without("key").key is None


def _frames(n: int = 12) -> FrameArrays:
    start = np.arange(n) * 2.0
    rng = np.random.default_rng(0)
    return FrameArrays(x=rng.normal(size=(n, 521)).astype(np.float32), start_s=start, end_s=start + 2.0,
                       energy=np.linspace(0.1, 0.9, n), beat_strength=np.full(n, 0.6), tempo_bpm=np.full(n, 100.0),
                       chroma=np.full((n, 12), 1 / 12), top_tags=[["Piano"]] * n,
                       chroma_cqt=rng.dirichlet(np.ones(12), n), tempo_acf_fine=rng.uniform(0, 1, (n, 97)),
                       percussive_share=np.full(n, 0.2), onset_rate=np.full(n, 3.0))


def test_strong_labels_replace_the_weak_ones_in_every_section_and_say_so():
    styles = load_style_table()
    weak = label_sections(_frames(), labels=LabelConfig(), sections=SectionConfig(), styles=styles)
    strong = StrongLabels(bpm=300.0, key="F# minor", emotion="tense", style="3",
                          source={"bpm": "tag", "key": "sidecar", "emotion": "sidecar", "style": "sidecar"})
    rows = label_sections(_frames(), labels=LabelConfig(), sections=SectionConfig(), styles=styles, strong=strong)
    assert len(rows) == len(weak) >= 2
    for row in rows:
        assert row.bpm == 150.0  # a strong tempo is folded into the label range like a weak one
        assert (row.key_full, row.key, row.emotion, row.style_id) == ("F# minor", "F minor", "tense", 3)
        assert row.label_source == {"bpm": "tag", "key": "sidecar", "emotion": "sidecar", "style": "sidecar"}
    assert all(r.label_source == dict.fromkeys(("bpm", "key", "emotion", "style"), "weak") for r in weak)
    for a, b in zip(weak, rows):  # the evidence is the audio's, whatever the labels say
        np.testing.assert_array_equal(a.evidence.chroma, b.evidence.chroma)
