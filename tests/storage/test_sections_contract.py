"""The sections Parquet contract and sections.npz: columns, types, the training arrays."""

import numpy as np
import pyarrow.parquet as pq

from aural_core.features import FEATURE_DIM
from aural_core.sections import LabelledSection
from storage.sections import SECTIONS_SCHEMA, read_sections, sections_table, training_arrays, write_npz, write_sections

CONTRACT = ["file_id", "source", "section", "start_s", "end_s", "n_frames", "x", "emotion", "emotion_id", "bpm",
            "key", "key_id", "key_full", "style_id", "style_prompt"]


def _row(name, start, end, bpm, key_id):
    return LabelledSection(section=name, start_s=start, end_s=end, spans=[(start, end)], n_frames=5,
                           x=np.full(FEATURE_DIM, start, np.float32), energy=0.5, beat_strength=0.3, emotion="calm",
                           emotion_id=1, bpm=bpm, key="D minor", key_id=key_id, key_full="D# minor",
                           key_confidence=0.7, style_id=2, style_prompt="calm piano")


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
    npz = write_npz(tmp_path / "sections.npz", arrays)
    with np.load(npz) as data:
        assert set(data.files) >= {"X", "y_emotion", "y_bpm", "y_key", "y_style"}
    assert not list((tmp_path / "sections").glob("*.tmp"))  # written atomically


def test_no_sections_gives_an_empty_table():
    assert read_sections([]).num_rows == 0
