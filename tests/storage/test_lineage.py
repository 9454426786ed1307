"""Lineages: which folder an adapter publishes in, and the folders models and reports follow."""

import json
from pathlib import Path

from storage.layout import DataLayout, ModelsLayout, default_models_dir, default_reports_dir
from storage.lineage import LINEAGES, Lineage, lineage_layouts, publication_layout


def _publish(models: ModelsLayout, lineage: Lineage | None) -> None:
    models.root.mkdir(parents=True, exist_ok=True)
    models.adapter.write_bytes(b"weights")
    models.metadata.write_text(json.dumps({"lineage": lineage.to_dict()} if lineage else {}))


def test_lineage_of_a_folder_is_named_after_the_data_folder(tmp_path):
    mine = Lineage.of_folder(tmp_path / "mine" / "inputs")
    assert mine.name == "mine" and mine.folder == str((tmp_path / "mine" / "inputs").resolve())
    assert Lineage.of_folder(tmp_path / "tracks").name == "tracks"
    other = Lineage.of_folder(tmp_path / "elsewhere" / "mine" / "inputs")
    assert other.name == mine.name and other.id != mine.id and other.slug != mine.slug
    assert Lineage.from_metadata({"lineage": mine.to_dict()}) == mine
    assert Lineage.from_metadata({}) is None
    assert Lineage.of_folder(tmp_path / "a b|c" / "inputs").slug.startswith("a_b_c-")


def test_each_lineage_publishes_in_its_own_place(tmp_path):
    models = ModelsLayout(tmp_path / "models")
    a, b = Lineage.of_folder(tmp_path / "a" / "inputs"), Lineage.of_folder(tmp_path / "b" / "inputs")
    assert publication_layout(models, a) == models  # nothing published: the folder itself
    _publish(models, a)
    assert publication_layout(models, a) == models
    nested = publication_layout(models, b)
    assert nested.root == models.root / LINEAGES / b.slug
    _publish(nested, b)
    assert publication_layout(models, b) == nested
    assert lineage_layouts(models) == [models, nested]


def test_an_adapter_from_before_lineages_belongs_to_its_folder(tmp_path):
    models = ModelsLayout(tmp_path / "models")
    _publish(models, None)
    assert publication_layout(models, Lineage.of_folder(tmp_path / "x" / "inputs")) == models


def test_models_and_reports_follow_a_named_data_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert default_models_dir("data") == tmp_path / "models"
    assert default_reports_dir(tmp_path / "data") == tmp_path / "reports"
    assert default_models_dir("mine") == tmp_path / "mine" / "models"
    layout = DataLayout.resolve("mine")
    assert (layout.models_root, layout.reports_root) == (tmp_path / "mine" / "models", tmp_path / "mine" / "reports")
    explicit = DataLayout.resolve("mine", "shared", Path("out"))
    assert (explicit.models_root, explicit.reports_root) == (tmp_path / "shared", tmp_path / "out")
