"""Adapter files load without pickle; the artifact store checks integrity."""

import pickle

import numpy as np
import pytest
import torch

from aural_core.adapter import Adapter, AdapterConfig
from aural_core.errors import UnsafeCheckpointError
from storage.artifacts import ArtifactIntegrityError, ArtifactStore
from storage.models import load_adapter, save_adapter

from ..sections_data import section_arrays


class Payload:
    """An arbitrary object: loading it would need pickle."""


def test_roundtrip_plain_weights(tmp_path):
    model = Adapter(AdapterConfig(n_styles=10))
    model.set_standardization(section_arrays(np.arange(20), np.linspace(60, 160, 20), np.arange(20).astype(str)))
    path = save_adapter(tmp_path / "adapter.pt", model, metadata={"split": {"train_files": ["a"]}})
    back, info = load_adapter(path)
    assert info["config"]["n_styles"] == 10 and info["split"]["train_files"] == ["a"]
    for k, v in model.state_dict().items():
        assert torch.equal(v, back.state_dict()[k])
    sections = section_arrays(np.array([1, 2, 3]), np.array([80.0, 100.0, 140.0]), np.array(["x"] * 3), seed=1)
    for name in ("bpm", "key_full", "emotion"):
        np.testing.assert_array_equal(model.predict(sections)[name], back.predict(sections)[name])


@pytest.mark.filterwarnings("ignore:Detected pickle protocol:UserWarning")  # torch notes the evil file's protocol
def test_refuses_pickled_object(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"format": "aural-adapter/2", "config": Payload(), "state_dict": {}}, path)
    with pytest.raises(UnsafeCheckpointError, match="pickle"):
        load_adapter(path)
    raw = tmp_path / "raw.pt"
    raw.write_bytes(pickle.dumps(Payload()))
    with pytest.raises(UnsafeCheckpointError):
        load_adapter(raw)


def test_store_put_get_integrity(tmp_path):
    src = tmp_path / "a.bin"
    src.write_bytes(b"weights")
    store = ArtifactStore(tmp_path / "store")
    ref = store.put(src, name="adapter")
    assert ref == store.put(src) and store.resolve("adapter") == ref
    assert store.get(ref).read_bytes() == b"weights"
    store.get(ref).write_bytes(b"tampered")
    with pytest.raises(ArtifactIntegrityError, match="corrupt"):
        store.get(ref)
    with pytest.raises(ArtifactIntegrityError, match="not in the store"):
        store.get("sha256:" + "0" * 64)
