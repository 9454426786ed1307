"""Publish only better models: a retrained adapter against the published one, on the same sections.

Both models are scored with the training loss (``adapter.adapter_loss``) on the new run's
held-out sections. The split draws each file by its own id (``training.split_files``), so those
sections were held out of the published model's training too, unless it was trained with
another seed or fraction; then, as for other labels or another feature space, the two are not
comparable and the new model is published (its settings are what the user now asks for).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from .adapter import Adapter, adapter_loss, as_tensors


@dataclass(frozen=True)
class PublishDecision:
    publish: bool
    reason: str
    candidate_loss: float | None = None
    published_loss: float | None = None
    n_sections: int = 0

    def to_dict(self) -> dict:
        return asdict(self)

    def one_line(self) -> str:
        numbers = ""
        if self.candidate_loss is not None and self.published_loss is not None:
            numbers = (f" (validation loss {self.candidate_loss:.4f} new vs {self.published_loss:.4f} published, "
                       f"{self.n_sections} held-out sections)")
        return ("published" if self.publish else "not published") + f": {self.reason}{numbers}"


def held_out_loss(model: Adapter, arrays: dict[str, np.ndarray], mask: np.ndarray) -> float:
    """The training loss of ``model`` on the rows of ``arrays`` that ``mask`` selects."""
    batch = as_tensors(arrays, mask)
    model.eval()
    with torch.no_grad():
        return float(adapter_loss(model, model(batch), batch)[0])


def comparable_settings(metadata: dict) -> dict:
    """What must agree for two adapters' losses on one set of sections to mean the same: the
    features (input space), labels, sections and styles (targets), the split (what was held
    out) and the BPM target scale (the loss's BPM term), read from training metadata."""
    hashes, hyper = metadata.get("config_hashes", {}), metadata.get("hyperparameters", {})
    return {"features": hashes.get("features"), "labels": hashes.get("labels"), "sections": hashes.get("sections"),
            "styles": metadata.get("styles_hash"),
            **{k: hyper.get(k) for k in ("seed", "val_fraction", "bpm_scale")}}


def comparability(candidate: dict, published: dict) -> str | None:
    """Why two adapters' metadata make their losses incomparable (None when comparable)."""
    new, old = comparable_settings(candidate), comparable_settings(published)
    for key in new:
        if new[key] != old[key]:
            return f"{key} settings differ ({old[key]} published, {new[key]} new)"
    return None


def decide(candidate: Adapter, candidate_meta: dict, published: Adapter | None, published_meta: dict | None,
           arrays: dict[str, np.ndarray], val_mask: np.ndarray, *, force: bool = False) -> PublishDecision:
    """Publish ``candidate`` when forced, when nothing is published, when the two are not
    comparable, or when its held-out loss is no worse than the published model's."""
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
    new, old = held_out_loss(candidate, arrays, val_mask), held_out_loss(published, arrays, val_mask)
    better = new <= old
    return PublishDecision(better, "no worse than the published model" if better else "worse than the published model",
                           candidate_loss=new, published_loss=old, n_sections=n)
