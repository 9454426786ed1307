"""Probe files and their store in the models folder: safetensors, found by name, apart from adapters."""

import numpy as np
import pytest

from aural_core.probe import fit_ridge
from storage.artifacts import ArtifactIntegrityError
from storage.layout import ModelsLayout
from storage.models import list_versions
from storage.probe_store import find_probe, load_probe, probe_name, save_probe, store_probe


@pytest.fixture
def probe(rng):
    x, y = rng.normal(size=(12, 5)), rng.normal(size=(12, 3))
    return fit_ridge(x, y, alpha=10.0)


def test_probe_file_round_trips_and_is_byte_stable(tmp_path, probe, rng):
    targets = rng.normal(size=(4, 3)).astype(np.float32)
    a = save_probe(tmp_path / "a.safetensors", probe, style_targets=targets, metadata={"r2_validation": 0.5})
    b = save_probe(tmp_path / "b.safetensors", probe, style_targets=targets, metadata={"r2_validation": 0.5})
    assert a.read_bytes() == b.read_bytes()  # same probe, same bytes (content-addressed)
    assert a.read_bytes()[:8] != b"PK\x03\x04"  # not a zip/pickle archive
    stored = load_probe(a)
    assert stored.probe.alpha == 10.0 and stored.metadata == {"r2_validation": 0.5}
    np.testing.assert_array_equal(stored.style_targets, targets)
    x = rng.normal(size=(3, 5))
    np.testing.assert_array_equal(stored.probe.predict(x), probe.predict(x))


@pytest.mark.parametrize("damage", ["truncate", "not-a-probe"])
def test_damaged_probe_files_are_refused_naming_the_file(tmp_path, probe, damage):
    path = save_probe(tmp_path / "p.safetensors", probe, style_targets=np.zeros((2, 3)), metadata={})
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:40])
    else:
        from safetensors.numpy import save

        path.write_bytes(save({"weight": np.zeros((5, 3), dtype=np.float32)}, metadata={"format": "other"}))
    with pytest.raises(ArtifactIntegrityError, match="p.safetensors"):
        load_probe(path)


def test_store_finds_the_probe_by_training_set_encoder_and_styles(tmp_path, probe):
    models = ModelsLayout(tmp_path / "models")
    name = probe_name(data_hash="d1", text_model="/ckpt/musicgen", styles_hash="s1")
    assert find_probe(models, name) is None
    ref = store_probe(models, probe, style_targets=np.ones((2, 3)), metadata={"data_hash": "d1"}, name=name)
    found = find_probe(models, name)
    assert found.ref == ref and found.metadata == {"data_hash": "d1"}
    assert (models.root / "probes" / "objects").is_dir()
    assert not list((models.root / "probes").glob(".staging-*"))  # the staging file is gone
    for other in ({"data_hash": "d2"}, {"text_model": "facebook/musicgen-small"}, {"styles_hash": "s2"}):
        key = {"data_hash": "d1", "text_model": "/ckpt/musicgen", "styles_hash": "s1", **other}
        assert probe_name(**key) != name and find_probe(models, probe_name(**key)) is None
    assert list_versions(models) == []  # adapters' listing (and gc) never sees a probe


def test_a_corrupted_stored_probe_is_refused(tmp_path, probe):
    models = ModelsLayout(tmp_path / "models")
    ref = store_probe(models, probe, style_targets=np.ones((2, 3)), metadata={}, name="probe-x")
    obj = models.root / "probes" / "objects" / ref[7:9] / ref[7:]
    obj.write_bytes(obj.read_bytes()[:-4] + b"\x00\x00\x00\x00")
    with pytest.raises(ArtifactIntegrityError, match="corrupt"):
        find_probe(models, "probe-x")
