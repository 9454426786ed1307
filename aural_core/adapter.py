"""The adapter (seed section 3): four small heads from a section to generation controls.

- emotion and style: 521 -> 128 -> 5 and -> K over the standardised section vector x, as the
  seed says;
- key: ``heads.KeyHead`` over the section's chroma, its file's chroma and the file's opening
  and closing chroma, 24 keys, exactly
  transposition-equivariant; the seed's 14-class key is its fold (``vocab.fold_key_14``);
- tempo: ``heads.TempoHead``, a distribution over the fine log-tempo grid read from the
  section's periodicity curve, with an octave preference from percussive share, onset rate
  and x; the BPM is its refined mode, clamped to the label range.

Inputs travel as one dict of arrays (``INPUTS``), the columns ``storage.sections`` writes.
Standardisation statistics of x and the onset rate are buffers, so a saved adapter carries them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .config import LabelConfig, TrainConfig
from .errors import ParameterError
from .features import FEATURE_DIM
from .heads import N_KEYS, TEMPO_BINS, KeyHead, TempoHead, decode_tempo, tempo_window_nll
from .tempo import TEMPO_FINE_BPM
from .vocab import EMOTIONS, fold_key_14

_TRAIN, _LABELS = TrainConfig(), LabelConfig()  # the defaults live in config.py
BPM_MIN, BPM_MAX = _LABELS.bpm_min, _LABELS.bpm_max
LOSS_WEIGHTS = {"emotion": 1.0, "key": 0.5, "tempo": 1.0, "style": 1.0}
HEADS = ("emotion", "style", "key", "tempo")
# What the adapter reads of a section: array name -> shape of one row.
INPUTS = {"X": (FEATURE_DIM,), "chroma": (12,), "context_chroma": (12,), "opening_chroma": (12,),
          "closing_chroma": (12,), "tempo_periodicity": (TEMPO_BINS,),
          "percussive_share": (), "onset_rate": (), "tracker_bpm": ()}
# The inputs that are pitch-class histograms: transposing the music rolls each of them.
CHROMA_INPUTS = ("chroma", "context_chroma", "opening_chroma", "closing_chroma")
# The seed's 14-class key of each of the 24 (index 2 * root + minor).
_GRID_BPM = torch.as_tensor(TEMPO_FINE_BPM, dtype=torch.float32)
FOLD_14 = torch.tensor([fold_key_14(i // 2, bool(i % 2)) for i in range(N_KEYS)])


@dataclass(frozen=True)
class AdapterConfig:
    """Plain-type configuration saved inside every adapter artifact."""

    n_styles: int
    in_dim: int = FEATURE_DIM
    hidden: int = _TRAIN.hidden
    n_emotions: int = len(EMOTIONS)
    key_profile: str = _LABELS.key_profile
    key_context_weight: float = _LABELS.key_context_weight
    key_dominant_margin: float = _LABELS.key_dominant_margin   # the labeller's rule, at decision time
    tempo_channels: int = 8
    bpm_min: float = BPM_MIN
    bpm_max: float = BPM_MAX
    bpm_scale: float = _TRAIN.bpm_scale

    def to_dict(self) -> dict:
        """This configuration as a plain dict (saved in the artifact; ``AdapterConfig(**d)`` rebuilds it).

        Returns
        -------
        dict
            Field name -> value.
        """
        return asdict(self)


def _head(in_dim: int, hidden: int, out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, out))


def as_tensors(arrays: dict[str, np.ndarray], *, mask: np.ndarray | None = None) -> dict[str, torch.Tensor]:
    """The adapter's inputs and any targets of the selected rows, as tensors.

    Parameters
    ----------
    arrays : dict
        Array name -> ``np.ndarray [shape=(n, ...)]``: every name of ``INPUTS`` (row shapes as
        there), and optionally the targets ``y_emotion``, ``y_key_full``, ``y_style``, ``y_bpm``.
    mask : np.ndarray [shape=(n,), dtype=bool], optional
        The rows to take; all when None.

    Returns
    -------
    dict
        Name -> ``torch.Tensor [shape=(m, ...)]``: ``INPUTS`` and ``y_bpm`` as float32, the
        other targets as int64 class ids.

    Raises
    ------
    ParameterError
        When a name of ``INPUTS`` is missing (sections written by an earlier release).
    """
    missing = [k for k in INPUTS if k not in arrays]
    if missing:
        raise ParameterError(f"adapter inputs lack {missing}: sections written by an earlier release; "
                             "label them again (`aural train` does)")
    rows = slice(None) if mask is None else mask
    out = {k: torch.as_tensor(np.asarray(arrays[k])[rows], dtype=torch.float32) for k in INPUTS}
    for k in ("y_emotion", "y_key_full", "y_style"):
        if k in arrays:
            out[k] = torch.as_tensor(np.asarray(arrays[k])[rows], dtype=torch.long)
    if "y_bpm" in arrays:
        out["y_bpm"] = torch.as_tensor(np.asarray(arrays["y_bpm"])[rows], dtype=torch.float32)
    for k in ("strong_key", "strong_bpm"):
        if k in arrays:
            out[k] = torch.as_tensor(np.asarray(arrays[k])[rows], dtype=torch.bool)
    return out


class Adapter(nn.Module):
    """Emotion and style heads over x; key and tempo heads over the section's evidence.

    Parameters
    ----------
    config : AdapterConfig
        Sizes and label ranges; saved with the weights, so an artifact rebuilds the model.
    """

    def __init__(self, config: AdapterConfig):
        super().__init__()
        self.config = c = config
        self.register_buffer("x_mean", torch.zeros(c.in_dim))
        self.register_buffer("x_std", torch.ones(c.in_dim))
        self.register_buffer("onset_mean", torch.zeros(()))
        self.register_buffer("onset_std", torch.ones(()))
        self.emotion = _head(c.in_dim, c.hidden, c.n_emotions)
        self.style = _head(c.in_dim, c.hidden, c.n_styles)
        self.key = KeyHead(profile=c.key_profile, context_weight=c.key_context_weight)
        self.tempo = TempoHead(context_dim=2, bpm_min=c.bpm_min, bpm_max=c.bpm_max, channels=c.tempo_channels)

    def set_standardization(self, inputs: dict[str, np.ndarray | torch.Tensor]) -> None:
        """Store the training set's mean and std of x and of the onset rate.

        Parameters
        ----------
        inputs : dict
            At least ``X`` [shape=(n, in_dim)] and ``onset_rate`` [shape=(n,)] (onsets per
            second); the std of each is taken per dimension and floored at 1e-3.
        """
        x = torch.as_tensor(np.asarray(inputs["X"]), dtype=torch.float32)
        self.x_mean.copy_(x.mean(dim=0))
        self.x_std.copy_(x.std(dim=0, unbiased=False).clamp_min(1e-3))
        rate = torch.as_tensor(np.asarray(inputs["onset_rate"]), dtype=torch.float32)
        self.onset_mean.copy_(rate.mean())
        self.onset_std.copy_(rate.std(unbiased=False).clamp_min(1e-3))

    def forward(self, batch: dict[str, torch.Tensor], *, heads: Sequence[str] = HEADS) -> dict[str, torch.Tensor]:
        """Each head's logits for a batch of sections.

        Parameters
        ----------
        batch : dict
            ``as_tensors`` output: every name of ``INPUTS``, ``torch.Tensor [shape=(n, ...)]``.
        heads : sequence of str
            The heads to run (``HEADS`` by default): fitting the key head alone need not pay
            for the tempo head's forward pass.

        Returns
        -------
        dict
            Those of ``emotion`` [shape=(n, n_emotions)], ``style`` [shape=(n, n_styles)],
            ``key`` [shape=(n, 24)] and ``tempo`` [shape=(n, TEMPO_BINS)] logits asked for.
        """
        out = {}
        if "emotion" in heads or "style" in heads:
            z = (batch["X"] - self.x_mean) / self.x_std
            out.update({h: getattr(self, h)(z) for h in ("emotion", "style") if h in heads})
        if "key" in heads:
            out["key"] = self.key(batch["chroma"], batch["context_chroma"], batch["opening_chroma"],
                                  batch["closing_chroma"])
        if "tempo" in heads:
            rate = (batch["onset_rate"] - self.onset_mean) / self.onset_std
            context = torch.cat([batch["percussive_share"][:, None], rate[:, None]], dim=-1)
            out["tempo"] = self.tempo(batch["tempo_periodicity"], context, batch["tracker_bpm"])
        return out

    @torch.no_grad()
    def predict(self, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Class ids, probabilities, BPM and confidences for a batch of sections.

        Parameters
        ----------
        arrays : dict
            Name -> ``np.ndarray [shape=(n, ...)]`` for every name of ``INPUTS``.

        Returns
        -------
        dict
            ``np.ndarray`` per name: ``emotion``, ``style`` and ``key_full`` [shape=(n,)] class
            ids with ``*_prob`` [shape=(n, classes)]; ``key_full`` is the 24-key id
            (``vocab.KEYS_FULL``) and ``key`` its 14-class fold; ``bpm`` [shape=(n,)] the tempo
            distribution names within the label range (BPM, ``heads.decode_tempo``) and ``bpm_prob`` its
            probability within 4 %.
        """
        self.eval()
        batch = as_tensors(arrays)
        out = self(batch)
        pred = {}
        for head in ("emotion", "style"):
            prob = F.softmax(out[head], dim=-1)
            pred[head], pred[f"{head}_prob"] = prob.argmax(dim=-1).numpy(), prob.numpy()
        key_prob = F.softmax(out["key"], dim=-1)
        key = self.key.decide(out["key"], dominant_margin=self.config.key_dominant_margin)
        pred["key_full"], pred["key_full_prob"] = key.numpy(), key_prob.numpy()
        pred["key"] = FOLD_14[key].numpy()
        bpm, confidence = decode_tempo(out["tempo"], tracker_bpm=batch["tracker_bpm"],
                                       curve=batch["tempo_periodicity"])
        pred["bpm"] = bpm.clamp(self.config.bpm_min, self.config.bpm_max).numpy()
        pred["bpm_prob"] = confidence.numpy()
        return pred


def loss_terms(model: Adapter, out: dict[str, torch.Tensor], batch: dict[str, torch.Tensor]
               ) -> dict[str, torch.Tensor]:
    """Each head's loss term, unweighted.

    Cross-entropy for emotion, key (24) and style; for tempo, cross-entropy against the label's
    bin with the bins within 4 % of it pooled (``heads.tempo_window_nll``) plus 0.5 L1 of the
    expected BPM in units of ``bpm_scale`` (a 50 BPM error costs 1): the seed's BPM term on
    the distribution.

    Parameters
    ----------
    model : Adapter
        The model that made ``out`` (its tempo mask and ``bpm_scale`` are read).
    out : dict
        ``Adapter.forward`` output for ``batch``: a term for each head it holds.
    batch : dict
        ``as_tensors`` output with the targets ``y_emotion``, ``y_key_full``, ``y_style``, ``y_bpm``.

    Returns
    -------
    dict
        Head name -> scalar ``torch.Tensor`` (differentiable), for the heads of ``out``.
    """
    terms = {}  # in this order: the total's float sum depends on it
    for head, target in (("emotion", "y_emotion"), ("key", "y_key_full"), ("tempo", "y_bpm"), ("style", "y_style")):
        if head not in out:
            continue
        if head == "tempo":
            expected = (F.softmax(out["tempo"], dim=-1) * _GRID_BPM).sum(dim=-1)
            terms["tempo"] = (tempo_window_nll(out["tempo"], batch["y_bpm"], model.tempo.mask).mean()
                              + 0.5 * F.l1_loss(expected, batch["y_bpm"]) / model.config.bpm_scale)
        else:
            terms[head] = F.cross_entropy(out[head], batch[target])
    return terms


def adapter_loss(model: Adapter, out: dict[str, torch.Tensor], batch: dict[str, torch.Tensor]
                 ) -> tuple[torch.Tensor, dict[str, float]]:
    """L = CE(emotion) + 0.5 CE(key, 24) + tempo + CE(style) (``loss_terms``), and each term's value.

    Parameters
    ----------
    model : Adapter
        The model that made ``out``.
    out : dict
        ``Adapter.forward`` output for ``batch``.
    batch : dict
        ``as_tensors`` output with the targets.

    Returns
    -------
    total : torch.Tensor [shape=()]
        The weighted sum (``LOSS_WEIGHTS``), to back-propagate.
    terms : dict
        Head name -> its unweighted term as a float.
    """
    terms = loss_terms(model, out, batch)
    total = sum(LOSS_WEIGHTS[k] * v for k, v in terms.items())
    return total, {k: float(v.detach()) for k, v in terms.items()}
