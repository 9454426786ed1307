"""Adapter training (seed sections 5 and 7): seeded, file-level hold-out, early stopping."""

from __future__ import annotations

import copy
import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from .adapter import Adapter, AdapterConfig, adapter_loss
from .config import TrainConfig
from .errors import ParameterError

TARGETS = ("y_emotion", "y_bpm", "y_key", "y_style")
HEADS = ("emotion", "bpm", "key", "style")


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch; make torch pick deterministic kernels."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)


def _file_draw(seed: int, file_id: str) -> float:
    """A uniform number in [0, 1) fixed by the seed and the file id alone."""
    return int(hashlib.sha256(f"{seed}:{file_id}".encode()).hexdigest()[:15], 16) / 16**15


def split_files(file_ids: np.ndarray, *, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks (train, val) holding out whole files: no file is on both sides.

    Each file validates when its own draw (a hash of the seed and its id) falls below
    ``val_fraction``, so adding files never moves an existing file across the split: the
    held-out set of one retrain is that of the next plus the new files that drew it. That keeps
    a new model and the published one comparable on held-out sections neither trained on
    (``aural_core.selection``). At least one file lands on each side.
    """
    files = np.unique(file_ids)
    if len(files) < 2:
        raise ParameterError(f"need sections of at least 2 files to hold one out, got {len(files)}")
    draws = {str(f): _file_draw(seed, str(f)) for f in files}
    ordered = sorted(draws, key=draws.get)
    val_files = {f for f, d in draws.items() if d < val_fraction}
    if not val_files:
        val_files = {ordered[0]}
    elif len(val_files) == len(files):
        val_files = set(ordered[:-1])
    val = np.array([str(f) in val_files for f in file_ids])
    return ~val, val


def split_summary(file_ids: np.ndarray, *, val_fraction: float, seed: int,
                  augmented: np.ndarray | None = None) -> dict:
    """How many files and sections ``split_files`` puts on each side, before training.

    Parameters
    ----------
    file_ids : np.ndarray [shape=(n,)]
        The file id of every section (augmented copies carry their original's id).
    val_fraction, seed
        As for ``split_files``.
    augmented : np.ndarray [shape=(n,), dtype=bool], optional
        Marks augmented copies: they train with their file and never validate.

    Returns
    -------
    dict
        ``n_train_files``, ``n_val_files``, ``n_train_sections``, ``n_val_sections`` (original
        sections) and ``n_augmented_train_sections``.
    """
    augmented = np.zeros(len(file_ids), dtype=bool) if augmented is None else np.asarray(augmented, dtype=bool)
    train, val = split_files(file_ids, val_fraction=val_fraction, seed=seed)
    return {"n_train_files": int(len(np.unique(file_ids[train]))), "n_val_files": int(len(np.unique(file_ids[val]))),
            "n_train_sections": int((train & ~augmented).sum()), "n_val_sections": int((val & ~augmented).sum()),
            "n_augmented_train_sections": int((train & augmented).sum())}


@dataclass
class TrainResult:
    model: Adapter
    history: list[dict] = field(default_factory=list)   # per epoch: train/val loss and terms
    best_epoch: int = 0                                  # the latest of the best epochs
    best_epochs: dict = field(default_factory=dict)      # per head ("per_head") or {"total": n}
    stopped_early: bool = False
    metrics: dict = field(default_factory=dict)          # per head, on train and validation
    split: dict = field(default_factory=dict)


def _tensors(arrays: dict[str, np.ndarray], mask: np.ndarray) -> dict[str, torch.Tensor]:
    out = {"X": torch.as_tensor(arrays["X"][mask], dtype=torch.float32),
           "y_bpm": torch.as_tensor(arrays["y_bpm"][mask], dtype=torch.float32)}
    for k in ("y_emotion", "y_key", "y_style"):
        out[k] = torch.as_tensor(arrays[k][mask], dtype=torch.long)
    return out


def head_metrics(model: Adapter, data: dict[str, torch.Tensor]) -> dict[str, float]:
    """Accuracy of the class heads and BPM mean absolute error."""
    if len(data["X"]) == 0:
        return {}
    pred = model.predict(data["X"].numpy())
    return {
        "emotion_acc": float(np.mean(pred["emotion"] == data["y_emotion"].numpy())),
        "key_acc": float(np.mean(pred["key"] == data["y_key"].numpy())),
        "style_acc": float(np.mean(pred["style"] == data["y_style"].numpy())),
        "bpm_mae": float(np.mean(np.abs(pred["bpm"] - data["y_bpm"].numpy()))),
    }


def train_adapter(arrays: dict[str, np.ndarray], *, n_styles: int, config: TrainConfig,
                  on_epoch: Callable[[dict], None] | None = None) -> TrainResult:
    """See ``_train``; runs on one torch thread (the model is tiny: more threads only contend)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _train(arrays, n_styles=n_styles, config=config, on_epoch=on_epoch)
    finally:
        torch.set_num_threads(threads)


def _train(arrays: dict[str, np.ndarray], *, n_styles: int, config: TrainConfig,
           on_epoch: Callable[[dict], None] | None = None) -> TrainResult:
    """Train the four heads jointly on sections (``X``, ``y_*``, ``file_id`` arrays).

    Whole files are held out (``split_files``). Rows marked by an optional ``augmented`` array
    (transformed copies, carrying their original file's id) train with their file and are
    dropped when that file validates: validation sees original sections only.

    AdamW (lr, weight decay from ``config``), shuffled mini-batches, up to ``epochs`` epochs.
    Early stopping (``config.early_stopping``):

    - "per_head" (default): the four heads share no parameters, so each keeps the weights of
      the epoch where its own validation term was lowest, and training stops once no head has
      improved for ``patience`` epochs. With the total loss alone, the key head (whose
      validation CE rises early on small corpora) would stop the BPM head half-trained.
    - "total": the seed's rule, on the total validation loss.

    Same inputs and seed -> identical weights.
    """
    missing = [k for k in ("X", "file_id", *TARGETS) if k not in arrays]
    if missing:
        raise ParameterError(f"training arrays lack {missing}")
    seed_everything(config.seed)
    train_mask, val_mask = split_files(arrays["file_id"], val_fraction=config.val_fraction, seed=config.seed)
    augmented = np.asarray(arrays.get("augmented", np.zeros(len(train_mask), dtype=bool)), dtype=bool)
    n_dropped = int((val_mask & augmented).sum())
    val_mask = val_mask & ~augmented  # copies of a validation file never validate (nor train)
    train, val = _tensors(arrays, train_mask), _tensors(arrays, val_mask)

    model = Adapter(AdapterConfig(n_styles=n_styles, hidden=config.hidden,
                                  bpm_center=config.bpm_center, bpm_scale=config.bpm_scale))
    model.set_standardization(train["X"].numpy())
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    generator = torch.Generator().manual_seed(config.seed)
    result = TrainResult(model=model, split={
        "train_files": sorted(set(arrays["file_id"][train_mask].tolist())),
        "val_files": sorted(set(arrays["file_id"][val_mask].tolist())),
        "n_train_sections": int(train_mask.sum()), "n_val_sections": int(val_mask.sum()),
        **({"n_augmented_train_sections": int((train_mask & augmented).sum()),
            "n_augmented_dropped": n_dropped} if augmented.any() else {})})
    per_head = config.early_stopping == "per_head"
    tracked = HEADS if per_head else ("total",)
    best = {h: (float("inf"), None, 0) for h in tracked}  # (loss, state, epoch)
    n = len(train["X"])
    for epoch in range(1, config.epochs + 1):
        model.train()
        order = torch.randperm(n, generator=generator)
        total, terms_sum = 0.0, {}
        for start in range(0, n, config.batch_size):
            idx = order[start:start + config.batch_size]
            batch = {k: v[idx] for k, v in train.items()}
            loss, terms = adapter_loss(model, model(batch["X"]), batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(idx)
            for k, v in terms.items():
                terms_sum[k] = terms_sum.get(k, 0.0) + v * len(idx)
        model.eval()
        with torch.no_grad():
            val_loss, val_terms = adapter_loss(model, model(val["X"]), val)
        row = {"epoch": epoch, "train_loss": total / n, "val_loss": float(val_loss),
               "train_terms": {k: v / n for k, v in terms_sum.items()}, "val_terms": val_terms}
        result.history.append(row)
        if on_epoch:
            on_epoch(row)
        for h in tracked:
            value = row["val_loss"] if h == "total" else val_terms[h]
            if value < best[h][0] - 1e-6:
                module = model if h == "total" else getattr(model, h)
                best[h] = (value, copy.deepcopy(module.state_dict()), epoch)
        if all(epoch - best[h][2] >= config.patience for h in tracked):
            result.stopped_early = epoch < config.epochs
            break
    for h in tracked:
        (model if h == "total" else getattr(model, h)).load_state_dict(best[h][1])
    result.best_epochs = {h: best[h][2] for h in tracked}
    result.best_epoch = max(result.best_epochs.values())
    result.metrics = {"train": head_metrics(model, train), "validation": head_metrics(model, val)}
    return result
