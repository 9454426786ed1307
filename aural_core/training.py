# Over 350 lines: one training procedure (split, batches, loss, early stop, head fitting) read top to bottom.
"""Adapter training (seed sections 5 and 7): seeded, file-level hold-out, early stopping."""

from __future__ import annotations

import copy
import hashlib
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from .adapter import CHROMA_INPUTS, LOSS_WEIGHTS, Adapter, AdapterConfig, adapter_loss, as_tensors, loss_terms
from .agreement.scores import key_agreement, tempo_agreement
from .config import LabelConfig, TrainConfig
from .errors import ParameterError
from .heads import label_is_candidate, rotate_chroma, shift_periodicity
from .vocab import KEYS_FULL

TARGETS = ("y_emotion", "y_bpm", "y_key_full", "y_style")
SEED_HEADS = ("emotion", "style")  # trained and early-stopped as the seed says; key and tempo: fit_key_tempo


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch; make torch pick deterministic kernels.

    Parameters
    ----------
    seed : int
        The one seed of all three generators.
    """
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

    Parameters
    ----------
    file_ids : np.ndarray [shape=(n,)]
        The file id of every section.
    val_fraction : float in [0, 1]
        Chance that a file validates.
    seed : int
        Fixes every file's draw.

    Returns
    -------
    train, val : np.ndarray [shape=(n,), dtype=bool]
        Complementary masks over the sections.

    Raises
    ------
    ParameterError
        When the sections come from fewer than 2 files.
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
    """A trained adapter and how its training went (``train_adapter``)."""

    model: Adapter
    history: list[dict] = field(default_factory=list)   # per epoch: train/val loss and terms
    best_epoch: int = 0                                  # the latest of the best epochs
    best_epochs: dict = field(default_factory=dict)      # per head ("per_head") or {"total": n}
    stopped_early: bool = False
    stop_reason: str = ""                                # why training ended, in words
    metrics: dict = field(default_factory=dict)          # per head, on train and validation
    split: dict = field(default_factory=dict)


def head_metrics(model: Adapter, arrays: dict[str, np.ndarray]) -> dict[str, float]:
    """The heads' accuracies and the BPM error on labelled sections.

    Parameters
    ----------
    model : Adapter
        The model to score.
    arrays : dict
        Name -> ``np.ndarray [shape=(n, ...)]``: ``INPUTS`` and the targets ``y_emotion``,
        ``y_key_full``, ``y_key``, ``y_style``, ``y_bpm``.

    Returns
    -------
    dict
        ``emotion_acc``, ``key_acc`` (24 keys), ``key14_acc`` (their 14-class fold),
        ``style_acc``, ``tempo_acc1`` (within 4 %), ``tempo_acc2`` (octave errors allowed) and
        ``bpm_mae`` (BPM); empty when there are no sections.
    """
    if len(arrays["X"]) == 0:
        return {}
    pred = model.predict(arrays)
    truth = np.asarray(arrays["y_bpm"], dtype=float)
    tempo = [tempo_agreement(t, p) for t, p in zip(truth, pred["bpm"])]
    return {
        "emotion_acc": float(np.mean(pred["emotion"] == arrays["y_emotion"])),
        "key_acc": float(np.mean(pred["key_full"] == arrays["y_key_full"])),
        "key14_acc": float(np.mean(pred["key"] == arrays["y_key"])),
        "style_acc": float(np.mean(pred["style"] == arrays["y_style"])),
        "tempo_acc1": float(np.mean([t["acc1"] for t in tempo])),
        "tempo_acc2": float(np.mean([t["acc2"] for t in tempo])),
        "bpm_mae": float(np.mean(np.abs(pred["bpm"] - truth))),
    }


def augment_batch(batch: dict[str, torch.Tensor], *, generator: torch.Generator, rotate_keys: bool,
                  tempo_shift_bins: int, bpm_min: float, bpm_max: float) -> dict[str, torch.Tensor]:
    """A copy of ``batch`` with every section randomly transposed and re-tempoed.

    Each section is transposed by a random semitone shift (every chroma array rolled, key
    label moved) and sped up or slowed down by a random number of log-tempo bins (periodicity
    curve shifted, BPM label scaled). Exact for these arrays: a rolled chroma is the chroma of
    the transposed music, a shifted periodicity curve that of the same music at the scaled
    tempo.

    Parameters
    ----------
    batch : dict
        ``as_tensors`` output with ``y_key_full`` and ``y_bpm``; not modified.
    generator : torch.Generator
        Source of the shifts.
    rotate_keys : bool
        Transpose (by 0-11 semitones) or not.
    tempo_shift_bins : int >= 0
        Largest tempo shift, in bins of 1/24 octave; 0 for none.
    bpm_min, bpm_max : float
        The label range (BPM): shifts that would leave it are clipped to it.

    Returns
    -------
    dict
        The same names as ``batch``, the changed arrays replaced.
    """
    n, out = len(batch["X"]), dict(batch)
    if rotate_keys:
        k = torch.randint(0, 12, (n,), generator=generator)
        for name in CHROMA_INPUTS:
            out[name] = rotate_chroma(batch[name], semitones=k)
        root, minor = batch["y_key_full"] // 2, batch["y_key_full"] % 2
        out["y_key_full"] = 2 * ((root + k) % 12) + minor
    if tempo_shift_bins:
        s = torch.randint(-tempo_shift_bins, tempo_shift_bins + 1, (n,), generator=generator).to(torch.float32)
        log_bpm = torch.log2(batch["y_bpm"])
        lo, hi = (math.log2(bpm_min) - log_bpm) * 24, (math.log2(bpm_max) - log_bpm) * 24
        s = torch.minimum(torch.maximum(s, torch.ceil(lo)), torch.floor(hi)).to(torch.long)
        out["tempo_periodicity"] = shift_periodicity(batch["tempo_periodicity"], bins=s)
        out["y_bpm"] = batch["y_bpm"] * torch.exp2(s.to(torch.float32) / 24)
        out["tracker_bpm"] = batch["tracker_bpm"] * torch.exp2(s.to(torch.float32) / 24)
    return out


def train_adapter(arrays: dict[str, np.ndarray], *, n_styles: int, config: TrainConfig,
                  labels: LabelConfig | None = None, on_epoch: Callable[[dict], None] | None = None) -> TrainResult:
    """Train the adapter on labelled sections, holding out whole files.

    How it trains is ``_train``'s docstring. It runs on one torch thread (the model is tiny:
    more threads only contend). Same inputs and seed give identical weights.

    Parameters
    ----------
    arrays : dict
        Name -> ``np.ndarray [shape=(n, ...)]``: ``X``, the evidence arrays of
        ``adapter.INPUTS``, the targets ``y_emotion``, ``y_bpm``, ``y_key_full``, ``y_style``
        (and ``y_key`` for the metrics), ``file_id``, and optionally ``augmented`` [dtype=bool].
    n_styles : int
        Rows of the style table (the style head's classes).
    config : TrainConfig
        Seed, split, optimiser and early-stopping settings.
    labels : LabelConfig, optional
        The label settings the sections were made with (defaults when None): the key head
        starts from their key profile and context weight, the tempo head masks tempi outside
        their BPM range.
    on_epoch : callable, optional
        Called with each stage-2 epoch's history entry (a dict), e.g. to log progress.

    Returns
    -------
    TrainResult
        The model (best epochs restored), loss history, best epochs, why training stopped,
        metrics and split.

    Raises
    ------
    ParameterError
        When a target or ``file_id`` is missing, or the sections come from fewer than 2 files.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _train(arrays, n_styles=n_styles, config=config, labels=labels or LabelConfig(), on_epoch=on_epoch)
    finally:
        torch.set_num_threads(threads)


def _train(arrays: dict[str, np.ndarray], *, n_styles: int, config: TrainConfig, labels: LabelConfig,
           on_epoch: Callable[[dict], None] | None = None) -> TrainResult:
    """Train the adapter on sections (``X``, the evidence arrays, ``y_*``, ``file_id``).

    Whole files are held out (``split_files``). Rows marked by an optional ``augmented`` array
    (transformed copies, carrying their original file's id) train with their file and are
    dropped when that file validates: validation sees original sections only.

    Two stages:

    1. The key and tempo heads (``fit_key_tempo``), on the sections of every file, validation
       files included: full batch, ``head_epochs`` AdamW steps at
       ``head_lr``, every step on freshly transposed and re-tempoed sections (``augment_batch``).
       Their few weights are shared across keys and tempi and start as the weak labeller, so
       they need many small steps, not early stopping: measured on the labelled composition
       set, stopping on their validation loss kept the untrained heads.
    2. The emotion and style heads, as the seed trains them: AdamW at ``lr``, shuffled
       mini-batches, up to ``epochs`` epochs, early stopping (``config.early_stopping``):
       "per_head" (default) keeps each head's best validation epoch and stops once neither has
       improved for ``patience`` epochs; "total" uses the total validation loss (the seed's rule).

    The loss history is that of stage 2 (the key and tempo terms are then constant).
    Same inputs and seed -> identical weights.
    """
    missing = [k for k in ("file_id", *TARGETS) if k not in arrays]
    if missing:
        raise ParameterError(f"training arrays lack {missing}")
    seed_everything(config.seed)
    train_mask, val_mask = split_files(arrays["file_id"], val_fraction=config.val_fraction, seed=config.seed)
    augmented = np.asarray(arrays.get("augmented", np.zeros(len(train_mask), dtype=bool)), dtype=bool)
    n_dropped = int((val_mask & augmented).sum())
    val_mask = val_mask & ~augmented  # copies of a validation file never validate (nor train)
    train, val = as_tensors(arrays, mask=train_mask), as_tensors(arrays, mask=val_mask)
    train_arrays = {k: np.asarray(v)[train_mask] for k, v in arrays.items()}
    val_arrays = {k: np.asarray(v)[val_mask] for k, v in arrays.items()}

    model = Adapter(AdapterConfig(n_styles=n_styles, hidden=config.hidden, bpm_scale=config.bpm_scale,
                                  key_profile=labels.key_profile, key_context_weight=labels.key_context_weight,
                                  key_dominant_margin=labels.key_dominant_margin,
                                  bpm_min=labels.bpm_min, bpm_max=labels.bpm_max))
    model.set_standardization(train_arrays)
    generator = torch.Generator().manual_seed(config.seed)
    result = TrainResult(model=model, split={
        "train_files": sorted(set(arrays["file_id"][train_mask].tolist())),
        "val_files": sorted(set(arrays["file_id"][val_mask].tolist())),
        "n_train_sections": int(train_mask.sum()), "n_val_sections": int(val_mask.sum()),
        **({"n_augmented_train_sections": int((train_mask & augmented).sum()),
            "n_augmented_dropped": n_dropped} if augmented.any() else {})})
    # The key and tempo heads learn from the validation files too: they do not early-stop, and
    # fit_key_tempo's held-out check is their validation (measured gain: see fit_key_tempo).
    result.split["key_tempo_heads"] = fit_key_tempo(model, as_tensors(arrays), config=config, generator=generator,
                                                    file_ids=np.asarray(arrays["file_id"]))

    optimizer = torch.optim.AdamW([*model.emotion.parameters(), *model.style.parameters()], lr=config.lr,
                                  weight_decay=config.weight_decay)
    tracked = SEED_HEADS if config.early_stopping == "per_head" else ("total",)
    best = {h: (float("inf"), None, 0) for h in tracked}  # (loss, state, epoch)
    n = len(train["X"])
    for epoch in range(1, config.epochs + 1):
        model.train()
        order = torch.randperm(n, generator=generator)
        total, terms_sum = 0.0, {}
        for start in range(0, n, config.batch_size):
            idx = order[start:start + config.batch_size]
            batch = {k: v[idx] for k, v in train.items()}
            loss, terms = adapter_loss(model, model(batch), batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(idx)
            for k, v in terms.items():
                terms_sum[k] = terms_sum.get(k, 0.0) + v * len(idx)
        model.eval()
        with torch.no_grad():
            val_loss, val_terms = adapter_loss(model, model(val), val)
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
    what = "no head improved" if len(tracked) > 1 else "the validation loss did not improve"
    result.stop_reason = (f"stopped early at epoch {len(result.history)}: {what} for {config.patience} epochs"
                          if result.stopped_early else f"ran all {len(result.history)} epochs")
    for h in tracked:
        (model if h == "total" else getattr(model, h)).load_state_dict(best[h][1])
    result.best_epochs = {h: best[h][2] for h in tracked}
    result.best_epoch = max(result.best_epochs.values())
    result.metrics = {"train": head_metrics(model, train_arrays), "validation": head_metrics(model, val_arrays)}
    return result


def _learning_rows(train: dict[str, torch.Tensor], field: str, config: TrainConfig,
                   file_ids: np.ndarray) -> tuple[torch.Tensor, str]:
    """Boolean mask of the sections a head learns from (``TrainConfig.head_labels``), and why.

    With strong labels on fewer than ``config.min_strong_files`` files the head learns from
    none: a handful of files teaches it their own tempi and keys, not music.
    """
    n = len(train["X"])
    if config.head_labels == "all":
        return torch.ones(n, dtype=torch.bool), f"learnt from all {n} sections' labels"
    mask = train[field] if field in train else torch.zeros(n, dtype=torch.bool)
    files = len(set(np.asarray(file_ids)[mask.numpy()].tolist()))
    if files < config.min_strong_files:
        reason = (f"the weak labeller (strong labels on {files} training file{'s' if files != 1 else ''}, fewer than "
                  f"min_strong_files={config.min_strong_files})")
        return torch.zeros(n, dtype=torch.bool), reason
    return mask, f"learnt from the strong labels of {files} file{'s' if files != 1 else ''}"


def _reachable_tempo_rows(train: dict[str, torch.Tensor], mask: torch.Tensor, why: str) -> tuple[torch.Tensor, str]:
    """Drop the tempo labels no candidate of the labeller reaches (``heads.label_is_candidate``),
    and say how many."""
    if not mask.any():
        return mask, why
    reachable = mask & label_is_candidate(train["y_bpm"], train["tracker_bpm"], train["tempo_periodicity"])
    dropped = int(mask.sum() - reachable.sum())
    if not reachable.any():
        return reachable, "the weak labeller (no strong BPM lies within 4 % of one of its candidates)"
    if dropped:
        why += f" ({dropped} section{'s' if dropped != 1 else ''} whose label no candidate reaches left out)"
    return reachable, why


def _rows(tensors: dict[str, torch.Tensor], mask: torch.Tensor) -> dict[str, torch.Tensor]:
    return {k: v[mask] for k, v in tensors.items()}


def fit_key_tempo(model: Adapter, train: dict[str, torch.Tensor], *, config: TrainConfig,
                  generator: torch.Generator, file_ids: np.ndarray) -> dict[str, str]:
    """Stage 1 of ``_train``: fit the key and tempo heads in place.

    Full batch, ``config.head_epochs`` AdamW steps, each on freshly augmented sections
    (``augment_batch``); the other heads are not touched. With ``config.head_labels ==
    "strong"`` each head learns only from the sections whose label the user gave
    (``strong_key``, ``strong_bpm``); a head with them on fewer than ``min_strong_files``
    files is left as built. Each head starts as
    the weak labeller, so the weak labels can only teach it back what it already decides: on
    the labelled composition set, fitting them lost key and tempo accuracy against the truth
    (key 0.825 against 0.891, benchmarks/results/heads.json ``weak_all`` at cfa36cb, before the
    held-out check below).

    ``train`` holds every training section, the validation files' too: these heads do not
    early-stop, and the check below is their validation. Given only the four fifths the split
    trains on, the tempo head trained on the truth of both labelled composition sets (104
    files) gained +0.010 tempo Acc1 over the labeller without the check and lost 0.006 with it
    (heads_ab.json at 56b5d69); given every file, +0.048 [0.013, 0.083] with it, the check
    keeping the training in every fold (at dfcf7c7; +0.032 at 4efcc6a, another draw of the tempo
    head's random start).

    A head keeps what it learnt unless it scores below the weak labeller on training files it
    did not learn from (``_held_out_check``, ``config.head_check_folds`` folds of the labelled
    files); then it stays as built. Why: trained on the truth of the labelled composition
    set, both heads lost to the labeller on held-out files (key 0.853 vs 0.891, tempo Acc1
    0.775 vs 0.814, 5 folds at cfa36cb), so a user's labels could make the adapter worse than
    no labels at all.

    Parameters
    ----------
    model : Adapter
        The model, trained in place and left in eval mode.
    train : dict
        ``as_tensors`` output of the training sections, with targets (and ``strong_key``,
        ``strong_bpm`` where known).
    config : TrainConfig
        ``head_epochs``, ``head_lr``, ``head_labels``, ``weight_decay``, ``rotate_keys``,
        ``tempo_shift_bins``.
    generator : torch.Generator
        Source of the augmentation shifts.
    file_ids : np.ndarray [shape=(n,)]
        The training sections' file ids (an augmented copy's is its original's).

    Returns
    -------
    dict
        Head name (``key``, ``tempo``) -> what it learnt from, in words.
    """
    learnt = {head: _learning_rows(train, field, config, file_ids) for head, field in (("key", "strong_key"),
                                                                                      ("tempo", "strong_bpm"))}
    learnt["tempo"] = _reachable_tempo_rows(train, *learnt["tempo"])
    rows = {head: mask for head, (mask, _) in learnt.items()}
    summary = {head: why for head, (_, why) in learnt.items()}
    heads = [head for head, mask in rows.items() if mask.any()]
    if heads and config.head_check_folds >= 2:
        for head, (weak, trained, n_files) in _held_out_check(model, train, rows, heads, config=config,
                                                               file_ids=file_ids).items():
            verdict = (f"; on {n_files} of its training files held out in turn it scored {trained:.3f} against "
                       f"the weak labeller's {weak:.3f}")
            # A tie keeps what the user's labels taught: only a measured loss overrides them.
            if trained < weak:
                rows[head] = torch.zeros_like(rows[head])
                summary[head] = f"the weak labeller (trained{verdict}, so its training was dropped)"
            else:
                summary[head] += verdict
        heads = [head for head in heads if rows[head].any()]
    if heads:
        _fit_heads(model, train, rows, heads, config=config, generator=generator)
    return summary


def _fit_heads(model: Adapter, train: dict[str, torch.Tensor], rows: dict[str, torch.Tensor], heads: list[str], *,
               config: TrainConfig, generator: torch.Generator) -> None:
    """``config.head_epochs`` full-batch AdamW steps of ``heads``, each head on its ``rows``."""
    if not heads:
        return
    params = [p for head in heads for p in getattr(model, head).parameters()]
    optimizer = torch.optim.AdamW(params, lr=config.head_lr, weight_decay=config.weight_decay)
    model.train()
    for _ in range(config.head_epochs):
        batch = augment_batch(train, generator=generator, rotate_keys=config.rotate_keys,
                              tempo_shift_bins=config.tempo_shift_bins, bpm_min=model.config.bpm_min,
                              bpm_max=model.config.bpm_max)
        out = model(batch, heads=heads)
        loss = sum(LOSS_WEIGHTS[head] * loss_terms(model, {head: out[head][rows[head]]}, _rows(batch, rows[head]))[head]
                   for head in heads)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()


def _held_out_check(model: Adapter, train: dict[str, torch.Tensor], rows: dict[str, torch.Tensor],
                    heads: list[str], *, config: TrainConfig, file_ids: np.ndarray
                    ) -> dict[str, tuple[float, float, int]]:
    """Whether training helps each head on files it did not train on: (weak, trained, files) per head.

    The files with a strong label are dealt into ``config.head_check_folds`` folds (by their
    seeded draw, so the folds are fixed by the seed and the file ids); a copy of the untrained
    model learns from all folds but one and is scored on that one, against the untouched
    model. Scores are the mean over held-out sections of the MIREX key score (key) and of
    tempo Acc1 (tempo), against the strong labels. No check (empty) with fewer than 2 files.
    """
    files = np.asarray(file_ids)
    labelled = sorted(_labelled_files(files, rows, heads), key=lambda f: _file_draw(config.seed, f))
    n_folds = min(config.head_check_folds, len(labelled))
    if n_folds < 2:
        return {}
    scores = {head: ([], []) for head in heads}
    for fold in range(n_folds):
        held = torch.from_numpy(np.isin(files, labelled[fold::n_folds]))
        learner = copy.deepcopy(model)
        inner = {head: rows[head] & ~held for head in heads}
        fitted = [head for head in heads if inner[head].any()]
        _fit_heads(learner, train, inner, fitted, config=config,
                   generator=torch.Generator().manual_seed(config.seed + 1 + fold))
        for head in heads:
            test = rows[head] & held
            if test.any():
                scores[head][0].extend(_head_scores(model, _rows(train, test), head))
                scores[head][1].extend(_head_scores(learner, _rows(train, test), head))
    return {head: (float(np.mean(weak)), float(np.mean(trained)), len(_labelled_files(files, rows, [head])))
            for head, (weak, trained) in scores.items() if weak}


def _labelled_files(file_ids: np.ndarray, rows: dict[str, torch.Tensor], heads: list[str]) -> set[str]:
    """The files holding a row any of ``heads`` learns from."""
    return set(np.asarray(file_ids)[torch.stack([rows[h] for h in heads]).any(dim=0).numpy()].tolist())


def _head_scores(model: Adapter, batch: dict[str, torch.Tensor], head: str) -> list[float]:
    """Per section: the MIREX key score (``head == "key"``) or tempo Acc1 of ``model`` against the labels."""
    pred = model.predict({k: v.numpy() for k, v in batch.items()})
    if head == "key":
        return [key_agreement(KEYS_FULL[int(t)], KEYS_FULL[int(p)])
                for t, p in zip(batch["y_key_full"], pred["key_full"])]
    return [float(tempo_agreement(float(t), float(p))["acc1"]) for t, p in zip(batch["y_bpm"], pred["bpm"])]
