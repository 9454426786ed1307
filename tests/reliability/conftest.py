"""Shared set-up of the fault suite: a models folder with a real published adapter.

Every test here carries the ``reliability`` marker: the suite (kills, corrupt files, full disks,
soak-sized runs; about 10 minutes) runs by ``make reliability``, which .ci/run runs after
``make test``, so that the everyday ``make test`` stays short."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aural_core.adapter import Adapter, AdapterConfig
from storage.layout import ModelsLayout
from storage.models import model_store, publish_adapter, save_adapter


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.reliability)


def store_adapter(models: ModelsLayout, seed: int, *, data_hash: str = "d" * 16) -> str:
    """Train-free stand-in of train_task: save an adapter, put it in the store; returns its ref."""
    import torch

    torch.manual_seed(seed)
    model = Adapter(AdapterConfig(n_styles=10))
    rng = np.random.default_rng(seed)
    model.set_standardization({"X": rng.normal(size=(20, 521)), "onset_rate": rng.uniform(1, 5, 20)})
    meta = {"data_hash": data_hash, "history": [{"epoch": 1, "train_loss": 1.0, "val_loss": 0.5 + seed / 100}]}
    models.store.mkdir(parents=True, exist_ok=True)
    staging = models.store / f".staging-{seed}.pt"
    save_adapter(staging, model, metadata=meta)
    try:
        return model_store(models).put(staging, name="adapter", meta={"data_hash": data_hash})
    finally:
        staging.unlink()


@pytest.fixture
def published(tmp_path):
    """A models folder holding two stored versions, the second one published."""
    from storage.models import stored_metadata

    models = ModelsLayout(tmp_path / "models")
    refs = [store_adapter(models, seed) for seed in (1, 2)]
    publish_adapter(models, refs[1], stored_metadata(model_store(models).get(refs[1])))
    return models, refs


def temp_files(root) -> list:
    """Leftovers of unfinished writes under ``root``."""
    return sorted(p for p in root.rglob("*") if p.name.endswith(".tmp") or p.name.startswith(".staging-"))


def one_line(text: str) -> str:
    """The single line ``text`` must be (it fails the test otherwise)."""
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line, got {len(lines)}:\n{text}"
    assert "Traceback" not in text
    return lines[0]


@pytest.fixture(scope="session")
def shared_server(tmp_path_factory):
    """One real ``prefect server start`` that the CLI subprocesses of the fault suite share
    (``PREFECT_API_URL`` set: no temporary server per command, and concurrent commands meet on
    one server)."""
    from tests.prefect_server import PrefectServer

    server = PrefectServer(tmp_path_factory.mktemp("shared-prefect-home")).start()
    try:
        yield server
    finally:
        server.stop()
