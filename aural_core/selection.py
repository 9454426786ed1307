"""Publish only better models: a retrained adapter against the published one, on the same sections.

Both models are scored with the training loss (``adapter.adapter_loss``) of the emotion and
style heads on the new run's held-out sections: the key and tempo heads learn from those
sections too (``training._train``), so their terms are not held out. The split draws each file
by its own id (``training.split_files``), so those sections were held out of the published
model's emotion and style training too, unless it was trained with another seed or fraction;
then, as for other labels or another feature space, the two are not comparable and the new
model is published (its settings are what the user now asks for).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from .adapter import Adapter, adapter_loss, as_tensors
from .training import SEED_HEADS


@dataclass(frozen=True)
class PublishDecision:
    """Whether a retrained adapter is published, why, and the losses compared (when they were)."""

    publish: bool
    reason: str
    candidate_loss: float | None = None
    published_loss: float | None = None
    n_sections: int = 0

    def to_dict(self) -> dict:
        """The decision as plain types, for metadata.

        Returns
        -------
        dict
            ``publish``, ``reason``, ``candidate_loss``, ``published_loss`` and ``n_sections``.
        """
        return asdict(self)

    def one_line(self) -> str:
        """The decision for people, e.g. ``"published: forced"``.

        Returns
        -------
        str
            ``"published"`` or ``"not published"``, the reason and, when compared, both losses.
        """
        numbers = ""
        if self.candidate_loss is not None and self.published_loss is not None:
            numbers = (f" (validation loss {self.candidate_loss:.4f} new vs {self.published_loss:.4f} published, "
                       f"{self.n_sections} held-out sections)")
        return ("published" if self.publish else "not published") + f": {self.reason}{numbers}"


def held_out_loss(model: Adapter, arrays: dict[str, np.ndarray], *, mask: np.ndarray) -> float:
    """The training loss of an adapter on the held-out rows of a training set.

    Parameters
    ----------
    model : Adapter
        Put in eval mode.
    arrays : dict of str to np.ndarray
        The training set (``sections.npz`` arrays).
    mask : np.ndarray [shape=(n,), dtype=bool]
        The rows to score.

    Returns
    -------
    float
        ``adapter_loss``'s total of the emotion and style terms on those rows (``training.SEED_HEADS``:
        the heads validation holds these rows out from).
    """
    batch = as_tensors(arrays, mask=mask)
    model.eval()
    with torch.no_grad():
        return float(adapter_loss(model, model(batch, heads=SEED_HEADS), batch)[0])


def comparable_settings(metadata: dict) -> dict:
    """What must agree for two adapters' losses on one set of sections to mean the same.

    The features (input space), labels, sections and styles (targets), the split (what was
    held out) and the BPM target scale (the loss's BPM term).

    Parameters
    ----------
    metadata : dict
        An adapter's training metadata (``config_hashes``, ``hyperparameters``, ``styles_hash``).

    Returns
    -------
    dict
        ``features``, ``labels``, ``sections``, ``styles``, ``seed``, ``val_fraction`` and
        ``bpm_scale``; None where the metadata lacks one.
    """
    hashes, hyper = metadata.get("config_hashes", {}), metadata.get("hyperparameters", {})
    return {"features": hashes.get("features"), "labels": hashes.get("labels"), "sections": hashes.get("sections"),
            "styles": metadata.get("styles_hash"),
            **{k: hyper.get(k) for k in ("seed", "val_fraction", "bpm_scale")}}


def comparability(candidate: dict, published: dict) -> str | None:
    """Why two adapters' losses on the same sections cannot be compared.

    Parameters
    ----------
    candidate, published : dict
        The two adapters' training metadata.

    Returns
    -------
    str or None
        The first setting that differs, with both values; None when comparable.
    """
    new, old = comparable_settings(candidate), comparable_settings(published)
    for key in new:
        if new[key] != old[key]:
            return f"{key} settings differ ({old[key]} published, {new[key]} new)"
    return None


def decide(candidate: Adapter, candidate_meta: dict, published: Adapter | None, published_meta: dict | None,
           arrays: dict[str, np.ndarray], val_mask: np.ndarray, *, force: bool = False) -> PublishDecision:
    """Decide whether a retrained adapter replaces the published one.

    Publish when forced, when nothing is published, when the two are not comparable (see
    :func:`comparability`; also different style-table sizes or no held-out section), or when
    the candidate's held-out loss is no worse than the published model's.

    Parameters
    ----------
    candidate : Adapter
        The adapter just trained.
    candidate_meta : dict
        Its training metadata.
    published : Adapter or None
        The adapter published now; None when there is none.
    published_meta : dict or None
        Its training metadata.
    arrays : dict of str to np.ndarray
        The new run's training set.
    val_mask : np.ndarray [shape=(n,), dtype=bool]
        Its held-out rows.
    force : bool
        Publish whatever the losses.

    Returns
    -------
    PublishDecision
    """
    n = int(val_mask.sum())
    if force:
        return PublishDecision(True, "forced", n_sections=n)
    if published is None:
        return PublishDecision(True, "first adapter for this data folder", n_sections=n)
    reason = comparability(candidate_meta, published_meta or {})
    if reason is None and published.config.n_styles != candidate.config.n_styles:
        reason = "style tables differ in size"
    if reason is None and n == 0:
        reason = "no held-out sections"
    if reason:
        return PublishDecision(True, f"not comparable: {reason}", n_sections=n)
    new, old = held_out_loss(candidate, arrays, mask=val_mask), held_out_loss(published, arrays, mask=val_mask)
    better = new <= old
    return PublishDecision(better, "no worse than the published model" if better else "worse than the published model",
                           candidate_loss=new, published_loss=old, n_sections=n)
