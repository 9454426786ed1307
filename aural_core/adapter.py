"""The adapter (seed section 3): four small heads from x_t (521) to generation controls.

Emotion 521->128->5, BPM 521->128->1, key 521->128->14, style 521->128->K. Inputs are
standardised with statistics stored as buffers, so a saved adapter carries them. BPM is
regressed as (bpm - bpm_center) / bpm_scale so its L1 term is about the size of a CE term
(with the default scale a 50 BPM error costs 1.0), and predictions are clamped to the default
label range (``LabelConfig.bpm_min`` .. ``bpm_max``), where every training label lies.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .config import LabelConfig, TrainConfig
from .features import FEATURE_DIM
from .vocab import EMOTIONS, KEYS_14

_TRAIN, _LABELS = TrainConfig(), LabelConfig()  # the defaults live in config.py
BPM_MIN, BPM_MAX = _LABELS.bpm_min, _LABELS.bpm_max
LOSS_WEIGHTS = {"emotion": 1.0, "bpm": 0.5, "key": 0.5, "style": 1.0}


@dataclass(frozen=True)
class AdapterConfig:
    """Plain-type configuration saved inside every adapter artifact."""

    n_styles: int
    in_dim: int = FEATURE_DIM
    hidden: int = _TRAIN.hidden
    n_emotions: int = len(EMOTIONS)
    n_keys: int = len(KEYS_14)
    bpm_center: float = _TRAIN.bpm_center
    bpm_scale: float = _TRAIN.bpm_scale

    def to_dict(self) -> dict:
        return asdict(self)


def _head(in_dim: int, hidden: int, out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, out))


class Adapter(nn.Module):
    """Four heads over standardised features."""

    def __init__(self, config: AdapterConfig):
        super().__init__()
        self.config = config
        c = config
        self.register_buffer("x_mean", torch.zeros(c.in_dim))
        self.register_buffer("x_std", torch.ones(c.in_dim))
        self.emotion = _head(c.in_dim, c.hidden, c.n_emotions)
        self.bpm = _head(c.in_dim, c.hidden, 1)
        self.key = _head(c.in_dim, c.hidden, c.n_keys)
        self.style = _head(c.in_dim, c.hidden, c.n_styles)

    def set_standardization(self, x: np.ndarray) -> None:
        """Store the training set's per-dimension mean and std (std floored at 1e-3)."""
        x = torch.as_tensor(np.asarray(x), dtype=torch.float32)
        self.x_mean.copy_(x.mean(dim=0))
        self.x_std.copy_(x.std(dim=0, unbiased=False).clamp_min(1e-3))

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        z = (x - self.x_mean) / self.x_std
        return {"emotion": self.emotion(z), "bpm": self.bpm(z).squeeze(-1),
                "key": self.key(z), "style": self.style(z)}

    def bpm_to_target(self, bpm: torch.Tensor) -> torch.Tensor:
        return (bpm - self.config.bpm_center) / self.config.bpm_scale

    def target_to_bpm(self, t: torch.Tensor) -> torch.Tensor:
        return (t * self.config.bpm_scale + self.config.bpm_center).clamp(BPM_MIN, BPM_MAX)

    @torch.no_grad()
    def predict(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Class ids, probabilities and clamped BPM for a batch of section vectors (n, 521)."""
        self.eval()
        out = self(torch.as_tensor(np.asarray(x), dtype=torch.float32))
        pred = {}
        for head in ("emotion", "key", "style"):
            prob = F.softmax(out[head], dim=-1)
            pred[head] = prob.argmax(dim=-1).numpy()
            pred[f"{head}_prob"] = prob.numpy()
        pred["bpm"] = self.target_to_bpm(out["bpm"]).numpy()
        return pred


def adapter_loss(model: Adapter, out: dict[str, torch.Tensor], batch: dict[str, torch.Tensor]
                 ) -> tuple[torch.Tensor, dict[str, float]]:
    """L = CE(emotion) + 0.5 L1(bpm) + 0.5 CE(key) + CE(style); also each term's value."""
    terms = {
        "emotion": F.cross_entropy(out["emotion"], batch["y_emotion"]),
        "bpm": F.l1_loss(out["bpm"], model.bpm_to_target(batch["y_bpm"])),
        "key": F.cross_entropy(out["key"], batch["y_key"]),
        "style": F.cross_entropy(out["style"], batch["y_style"]),
    }
    total = sum(LOSS_WEIGHTS[k] * v for k, v in terms.items())
    return total, {k: float(v.detach()) for k, v in terms.items()}
