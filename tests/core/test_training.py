"""Adapter training: learns a separable set, holds out whole files, is reproducible."""

import numpy as np
import pytest
import torch

from aural_core.config import TrainConfig
from aural_core.errors import ParameterError
from aural_core.training import split_files, train_adapter

from ..sections_data import section_arrays


def separable_set(n_files=200, per_file=3, seed=0):
    """Emotion and style each lift their own block of 4 input dims; key and tempo come from the
    sections' evidence (``tests/sections_data.py``)."""
    rng = np.random.default_rng(seed)
    n = n_files * per_file
    data = section_arrays(rng.integers(0, 24, n), rng.uniform(60, 160, n),
                          np.repeat([f"f{i:03d}" for i in range(n_files)], per_file), seed=seed)
    X = np.zeros((n, 521), dtype=np.float32)
    X[:, :140] = rng.normal(0, 0.3, (n, 140))  # constant dims beyond: fewer inputs than samples
    for offset, y in ((0, data["y_emotion"]), (80, data["y_style"])):
        for j in range(4):
            X[np.arange(n), offset + 4 * y + j] += 3
    return {**data, "X": X}


def test_learns_every_head():
    # 600 sections: with fewer, the BPM head overfits the noise dims (val MAE ~15 at 120). Large
    # batches keep it cheap: 150 optimizer steps instead of 1,140 with the default batch of 16.
    # No held-out check of the key and tempo heads (tests/core/test_heads.py has its own): on
    # 160 labelled files its five extra fits would take most of this test's time.
    cfg = TrainConfig(epochs=15, lr=1e-2, patience=15, batch_size=64, head_check_folds=0)
    result = train_adapter(separable_set(), n_styles=10, config=cfg)
    val = result.metrics["validation"]
    assert val["emotion_acc"] >= 0.9 and val["key_acc"] >= 0.9 and val["style_acc"] >= 0.9, val
    assert val["tempo_acc1"] >= 0.9 and val["bpm_mae"] < 10, val
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]


def test_reproducible_weights():
    # 12 labelled files: the heads' held-out check runs too (few steps: the same path, cheaper)
    data, cfg = separable_set(n_files=12), TrainConfig(epochs=5, head_epochs=40)
    a = train_adapter(data, n_styles=10, config=cfg).model.state_dict()
    b = train_adapter(data, n_styles=10, config=cfg).model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    c = train_adapter(data, n_styles=10, config=cfg.model_copy(update={"seed": 1})).model.state_dict()
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_early_stopping_and_file_holdout():
    data = separable_set(n_files=12)
    rng = np.random.default_rng(1)
    for k in ("y_emotion", "y_style"):
        data[k] = rng.permutation(data[k])  # noise labels: validation loss soon rises
    result = train_adapter(data, n_styles=10, config=TrainConfig(epochs=30, patience=5, lr=3e-3, head_check_folds=0))
    assert result.stopped_early and len(result.history) == result.best_epoch + 5
    assert result.stop_reason == f"stopped early at epoch {len(result.history)}: no head improved for 5 epochs"
    ran_out = train_adapter(data, n_styles=10, config=TrainConfig(epochs=2, patience=5, head_check_folds=0))
    assert not ran_out.stopped_early and ran_out.stop_reason == "ran all 2 epochs"
    assert not set(result.split["train_files"]) & set(result.split["val_files"])


def test_split_needs_two_files():
    train, val = split_files(np.array(["a", "a", "b", "b", "c"]), val_fraction=0.2, seed=0)
    assert train.sum() + val.sum() == 5 and val.any() and train.any()
    with pytest.raises(ParameterError, match="at least 2 files"):
        split_files(np.array(["a", "a"]), val_fraction=0.2, seed=0)
