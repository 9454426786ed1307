"""The training tasks themselves, each through ``.fn()`` (inside a flow where it logs) on a small
analysed demo corpus: what each returns is what it wrote."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest
from prefect import flow

from aural_core.augment import Transform
from aural_core.config import AuralConfig, FeatureConfig, LabelConfig, SectionConfig, TrainConfig
from aural_core.selection import PublishDecision
from aural_core.styles import load_style_table
from storage.artifacts import sha256_file
from storage.keys import augmented_sections_file, frames_file, sections_file
from storage.layout import CacheLayout, ModelsLayout
from storage.manifest import file_id
from storage.models import model_store
from storage.sections import read_npz
from tasks.analyze import extract_frames
from tasks.augment import augment_frames, label_copy
from tasks.results import AnalysedFile, AugmentedCopy, LabelledFile, TrainedAdapter, TrainingSet
from tasks.train import build_training_set, decide_publish, label_file, train_task
from tests.flows.corpus import analysed_clips

pytestmark = pytest.mark.usefixtures("prefect_harness")
STYLES = load_style_table()


@flow(name="run-task-fn")
def in_flow(fn, **parameters):
    """Run a task's function in a flow run (tasks log through the run's logger)."""
    return fn(**parameters)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root, cache = analysed_clips(tmp_path_factory.mktemp("tasks"), n=3, seed=5, seconds=12.0)
    clips = sorted((root / "inputs").iterdir())
    return root, CacheLayout(cache), clips


@pytest.fixture(scope="module")
def labelled(corpus):
    _, cache, clips = corpus
    out = []
    for clip in clips:
        fid = file_id(clip)
        path = sections_file(cache, fid, FeatureConfig(), LabelConfig(), SectionConfig(), STYLES)
        out.append(in_flow(label_file.fn, frames_file=str(frames_file(cache, fid, FeatureConfig())), file_id=fid,
                           source=clip.name, out_path=str(path), labels=LabelConfig(), sections=SectionConfig(),
                           styles=STYLES))
    return out


def test_extract_frames_returns_the_frames_it_wrote(corpus, tmp_path):
    _, _, clips = corpus
    fid = file_id(clips[0])
    result = extract_frames.fn(path=str(clips[0]), source=clips[0].name, file_id=fid, cache_dir=str(tmp_path),
                               config=FeatureConfig())
    assert isinstance(result, AnalysedFile) and result.file_id == fid and result.source == clips[0].name
    assert result.frames == str(frames_file(CacheLayout(tmp_path), fid, FeatureConfig()))
    assert pq.read_metadata(result.frames).num_rows == result.n_frames > 0
    assert result.seconds == pytest.approx(12.0, abs=0.5) and result.compute_seconds > 0


def test_label_file_returns_its_sections(labelled, corpus):
    _, cache, clips = corpus
    for clip, result in zip(clips, labelled):
        assert isinstance(result, LabelledFile) and result.source == clip.name and result.transform == ""
        rows = pq.read_table(result.sections).to_pylist()
        assert len(rows) == result.n_sections > 0
        assert {r["file_id"] for r in rows} == {result.file_id}


def test_a_copys_sections_count_apart_in_the_training_set(labelled, corpus, tmp_path):
    _, cache, clips = corpus
    original = labelled[0]
    copy = augment_frames.fn(path=str(clips[0]), source=clips[0].name, file_id=original.file_id,
                             transform=Transform(2, 1.0), cache_dir=str(cache.root), config=FeatureConfig())
    assert isinstance(copy, AugmentedCopy) and copy.transform == Transform(2, 1.0).slug and copy.semitones == 2
    out = augmented_sections_file(cache, original.sections, copy.transform)
    copied = label_copy.fn(sections=original.sections, frames=copy.frames, file_id=copy.file_id, source=copy.source,
                           transform=copy.transform, semitones=copy.semitones, rate=copy.rate, out_path=str(out),
                           labels=LabelConfig())
    assert isinstance(copied, LabelledFile) and copied.transform == copy.transform and copied.sections == str(out)

    dataset = build_training_set.fn([r.sections for r in labelled] + [copied.sections], str(tmp_path),
                                    TrainConfig())
    assert isinstance(dataset, TrainingSet)
    assert dataset.data_hash == sha256_file(dataset.npz)[:16]
    assert dataset.n_sections == sum(r.n_sections for r in labelled)
    assert dataset.n_augmented_sections == copied.n_sections
    assert dataset.n_files == 3 and dataset.augmented_copies == {original.file_id: [copy.transform]}
    arrays = read_npz(dataset.npz)
    assert int(arrays["augmented"].sum()) == copied.n_sections
    assert dataset.split["n_train_files"] + dataset.split["n_val_files"] == 3


def test_train_then_decide(labelled, tmp_path):
    dataset = build_training_set.fn([r.sections for r in labelled], str(tmp_path / "cache"), TrainConfig())
    config = AuralConfig(train=TrainConfig(epochs=2, head_epochs=2))
    models = ModelsLayout(tmp_path / "models")
    models.store.mkdir(parents=True)
    trained = in_flow(train_task.fn, npz=dataset.npz, config=config, styles=STYLES, dataset=dataset,
                      store_dir=str(models.store), provenance={"input_set": {"hash": "x", "n_files": 3}})
    assert isinstance(trained, TrainedAdapter)
    assert model_store(models).get(trained.ref).is_file()
    assert trained.metadata["n_sections"] == dataset.n_sections and len(trained.metadata["history"]) <= 2
    decision = decide_publish.fn(dataset.npz, trained.ref, str(models.root))
    assert isinstance(decision, PublishDecision)
    assert decision.publish and decision.reason == "first adapter for this data folder"
    held_out = ~read_npz(dataset.npz)["augmented"] & np.isin(read_npz(dataset.npz)["file_id"],
                                                             trained.metadata["split"]["val_files"])
    assert decision.n_sections == int(held_out.sum())
