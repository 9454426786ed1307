"""The train flow through a real Prefect server: sections, npz, adapter, metadata, caching."""

import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from aural_core.config import AugmentConfig, AuralConfig
from aural_core.vocab import EMOTIONS, KEYS_14
from flows.train import train_flow
from storage.models import load_adapter
from storage.sections import SECTIONS_SCHEMA

from .corpus import analysed_clips

pytestmark = pytest.mark.usefixtures("prefect_harness")
ONE_COPY = AuralConfig(augment=AugmentConfig(copies_per_file=1))  # off by default; this test follows the copies too


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    return analysed_clips(tmp_path_factory.mktemp("train"), n=6, seed=2, seconds=12)


def test_train_flow_end_to_end(analysed):
    root, cache = analysed
    out = root / "models" / "adapter.pt"
    result = train_flow(cache_dir=str(cache), out_path=str(out), show_progress=False, config=ONE_COPY)
    assert sorted(result["labels"]["computed"]) and not result["labels"]["failed"]

    # sections Parquet contract and the npz agree
    files = sorted((cache / "sections").glob("*.parquet"))
    assert len(files) == 6
    table = pq.read_table(files[0])
    assert table.schema.remove_metadata() == SECTIONS_SCHEMA
    assert set(table.column("section").to_pylist()) <= {"intro", "build", "release"}
    npz = np.load(cache / "sections.npz")
    dataset = result["dataset"]
    # with one copy per file, transformed copies of the training files follow the originals
    assert dataset["n_augmented_sections"] > 0
    assert npz["X"].shape == (dataset["n_sections"] + dataset["n_augmented_sections"], 521)
    original = ~npz["augmented"]
    all_rows = pq.read_table(cache / "sections").sort_by([("file_id", "ascending")])
    assert set(npz["y_emotion"]) <= set(range(len(EMOTIONS))) and set(npz["y_key"]) <= set(range(len(KEYS_14)))
    assert sorted(npz["y_bpm"][original].tolist()) == pytest.approx(sorted(all_rows.column("bpm").to_pylist()))

    model, info = load_adapter(out)
    meta = json.loads((root / "models" / "metadata.json").read_text())
    for key in ("libraries", "hyperparameters", "seeds", "data_hash", "config_hash", "curves", "metrics"):
        assert key in meta, key
    assert meta["libraries"]["torch"] and meta["curves"][0]["epoch"] == 1
    assert meta["artifact"] == result["ref"]

    again = train_flow(cache_dir=str(cache), out_path=str(out), show_progress=False, config=ONE_COPY)
    assert sorted(again["labels"]["cached"]) == sorted(result["labels"]["computed"])
    assert sorted(again["augment"]["cached"]) == sorted(result["augment"]["computed"])
    assert again["ref"] == result["ref"]  # same data and seed -> identical weights


def test_a_worse_adapter_is_stored_but_not_published(analysed, tmp_path):
    """A retrain replaces adapter.pt only when no worse on the same held-out sections, unless forced."""
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from storage.layout import ModelsLayout
    from storage.models import list_versions

    _, cache = analysed
    out = tmp_path / "models" / "adapter.pt"
    first = train_flow(cache_dir=str(cache), out_path=str(out), show_progress=False)
    assert first["published"] and first["decision"]["reason"] == "first adapter for this data folder"
    published = out.read_bytes()

    barely_trained = tmp_path / "barely.toml"
    barely_trained.write_text("[train]\nepochs = 1\nlr = 1e-6\n")
    worse = train_flow(cache_dir=str(cache), out_path=str(out), config_path=str(barely_trained), show_progress=False)
    decision = worse["decision"]
    assert not worse["published"] and decision["candidate_loss"] > decision["published_loss"] > 0
    assert decision["n_sections"] > 0 and "worse" in decision["reason"]
    assert out.read_bytes() == published
    assert json.loads((out.parent / "metadata.json").read_text())["artifact"] == first["ref"]
    assert worse["ref"] in {v["ref"] for v in list_versions(ModelsLayout(out.parent))}  # kept in the store

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(
            key=ArtifactFilterKey(any_=["adapter-publish-decision"])))
    assert any("not published" in (a.description or "") for a in artifacts)

    forced = train_flow(cache_dir=str(cache), out_path=str(out), config_path=str(barely_trained),
                        force_publish=True, show_progress=False)
    assert forced["published"] and forced["decision"]["reason"] == "forced"
    assert json.loads((out.parent / "metadata.json").read_text())["artifact"] == worse["ref"]
