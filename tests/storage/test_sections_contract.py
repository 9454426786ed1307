"""The sections Parquet contract and sections.npz: columns, types, the training arrays."""

import numpy as np
import pyarrow.parquet as pq

from aural_core.features import FEATURE_DIM
from aural_core.sections import LabelledSection, SectionEvidence
from storage.sections import (
    EVIDENCE,
    SECTIONS_SCHEMA,
    label_source_counts,
    read_labelled_sections,
    read_npz,
    read_sections,
    sections_table,
    training_arrays,
    write_npz,
    write_sections,
)

CONTRACT = ["file_id", "source", "section", "start_s", "end_s", "n_frames", "x", "emotion", "emotion_id", "bpm",
            "key", "key_id", "key_full", "style_id", "style_prompt"]


def _row(name, start, end, bpm, key_id, source="weak"):
    chroma = np.roll(np.linspace(0.01, 0.15, 12), int(start)).astype(np.float32)
    evidence = SectionEvidence(chroma=chroma / chroma.sum(), context_chroma=np.full(12, 1 / 12, np.float32),
                               opening_chroma=np.roll(chroma, 1) / chroma.sum(), closing_chroma=chroma / chroma.sum(),
                               tempo_periodicity=np.linspace(0, 1, 97).astype(np.float32) * bpm,
                               percussive_share=0.25, onset_rate=3.5, tracker_bpm=bpm)
    return LabelledSection(section=name, start_s=start, end_s=end, spans=[(start, end)], n_frames=5,
                           x=np.full(FEATURE_DIM, start, np.float32), energy=0.5, beat_strength=0.3, emotion="calm",
                           emotion_id=1, bpm=bpm, key="D minor", key_id=key_id, key_full="D# minor",
                           key_confidence=0.7, style_id=2, style_prompt="calm piano", evidence=evidence,
                           label_source={"bpm": source, "key": source, "emotion": "weak", "style": "weak"})


def test_write_read_and_training_arrays(tmp_path):
    rows = [_row("intro", 0.0, 10.0, 90.0, 3), _row("build", 10.0, 20.0, 120.0, 3)]
    path = write_sections(tmp_path / "sections" / "f.parquet",
                          sections_table(rows, file_id="f", source="a.wav", metadata={"aural.labels_version": "2"}))
    table = pq.read_table(path)
    assert table.schema.names[: len(CONTRACT)] == CONTRACT
    assert table.schema.remove_metadata() == SECTIONS_SCHEMA
    assert table.schema.metadata[b"aural.labels_version"] == b"2"
    assert table.column("spans").to_pylist() == [[[0.0, 10.0]], [[10.0, 20.0]]]
    both = read_sections([path, path])
    arrays = training_arrays(both)
    assert arrays["X"].shape == (4, FEATURE_DIM) and arrays["X"].dtype == np.float32
    assert arrays["y_bpm"].tolist() == [90.0, 120.0, 90.0, 120.0] and arrays["y_key"].tolist() == [3] * 4
    assert arrays["y_key_full"].tolist() == [7] * 4  # D# minor among the 24 keys
    for name, width in EVIDENCE.items():  # the heads' evidence travels as arrays of its own
        assert arrays[name].shape == ((4, width) if width > 1 else (4,)) and arrays[name].dtype == np.float32
    np.testing.assert_allclose(arrays["chroma"][1], rows[1].evidence.chroma)
    assert arrays["tempo_periodicity"][1, -1] == 120.0
    npz = write_npz(tmp_path / "sections.npz", arrays)
    back = read_npz(npz)
    assert set(back) == set(arrays) and all(np.array_equal(back[k], arrays[k]) for k in arrays)
    assert not list((tmp_path / "sections").glob("*.tmp"))  # written atomically


def test_labelled_sections_and_their_label_sources_round_trip(tmp_path):
    rows = [_row("intro", 0.0, 10.0, 90.0, 3, source="sidecar"), _row("build", 10.0, 20.0, 120.0, 3)]
    path = write_sections(tmp_path / "f.parquet", sections_table(rows, file_id="f", source="a.wav", metadata={}))
    back = read_labelled_sections(path)
    assert [r.label_source for r in back] == [r.label_source for r in rows]
    for a, b in zip(rows, back):
        np.testing.assert_array_equal(a.evidence.tempo_periodicity, b.evidence.tempo_periodicity)
        assert b.evidence.onset_rate == a.evidence.onset_rate
    counts = label_source_counts(read_sections([path]))
    assert counts["bpm"] == {"sidecar": 1, "weak": 1} and counts["emotion"] == {"weak": 2}


def test_no_sections_gives_an_empty_table():
    assert read_sections([]).num_rows == 0
