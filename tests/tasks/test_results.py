"""The tasks' typed results: reading a cached result of either form, and the JSON a flow returns."""

from __future__ import annotations

import pytest
from prefect.states import Completed, Failed

from tasks.outcomes import FileOutcome
from tasks.results import AnalysedFile, FittedProbe, LabelledFile, TrainingSet

ANALYSED = {"file_id": "ab" * 8, "source": "a.wav", "frames": "/c/frames/a.parquet", "frames_key": "k",
            "n_frames": 12, "seconds": 6.0, "compute_seconds": 1.5}


def test_of_reads_a_mapping_written_before_records_and_ignores_unknown_keys():
    record = AnalysedFile.of({**ANALYSED, "retired_field": 1})
    assert isinstance(record, AnalysedFile)
    assert record.to_dict() == ANALYSED
    assert AnalysedFile.of(record) is record


def test_of_refuses_a_mapping_missing_a_field():
    with pytest.raises(TypeError, match="n_sections"):
        LabelledFile.of({"file_id": "x", "source": "a.wav", "sections": "/s.parquet"})


def test_outcome_reads_a_completed_state_as_its_record():
    computed = FileOutcome.from_state("a.wav", Completed(data=dict(ANALYSED)), ANALYSED["file_id"],
                                      record=AnalysedFile)
    assert computed.status == "computed" and computed.result == AnalysedFile(**ANALYSED)
    assert computed.seconds == 1.5
    cached = FileOutcome.from_state("a.wav", Completed(data=dict(ANALYSED), name="Cached"), record=AnalysedFile)
    assert cached.status == "cached" and cached.seconds == 0.0
    failed = FileOutcome.from_state("b.wav", Failed(data=ValueError("b.wav: not audio")), record=AnalysedFile)
    assert failed.status == "failed" and failed.result is None and "not audio" in failed.error


def test_records_give_plain_json_for_the_flows():
    probe = FittedProbe(ref="sha256:1", name="p", summary={"alpha": 1.0, "r2_validation": 0.5})
    assert probe.to_dict() == {"ref": "sha256:1", "name": "p", "alpha": 1.0, "r2_validation": 0.5}
    dataset = TrainingSet(npz="/c/sections.npz", data_hash="h", n_sections=3, n_files=2, n_augmented_sections=0,
                          split={"n_train_files": 1}, label_sources={}, prior={})
    assert dataset.to_dict()["augmented_copies"] == {} and dataset.to_dict()["split"] == {"n_train_files": 1}
