"""CLAP backends: audio embeddings and zero-shot tag scores with 🤗 transformers, local files only.

:class:`ClapEmbedder` embeds each frame's raw audio with ``ClapModel.get_audio_features``;
:class:`ClapTagger` scores frames against the text prompts ``"This is a sound of <tag>."`` by
cosine similarity, reusing a :class:`ClapEmbedder` for the audio side. The checkpoint
(``FeatureConfig.clap_model`` by default) comes from a local directory or the local Hugging Face
cache and is never downloaded; a missing one raises
:class:`~aural_core.errors.ModelNotFoundError`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import soxr

from ..config import FeatureConfig
from ..errors import ParameterError
from ..hub import load_local, pick_device
from ..similarity import l2_normalize
from ..spectral import SpectralAnalysis
from ..vocab import TAG_NAMES
from .base import EMBED_DIM

__all__ = ["ClapEmbedder", "ClapTagger", "TAG_PROMPT"]

DEFAULT_MODEL = FeatureConfig().clap_model  # the default lives in config.py
TAG_PROMPT = "This is a sound of {tag}."


def _load(name: str, device):
    """ClapModel and ClapProcessor from local files only; ModelNotFoundError when absent."""
    from transformers import ClapModel, ClapProcessor

    processor, model = load_local(name, what="CLAP", setting="features.clap_model",
                                  loaders=(ClapProcessor, ClapModel))
    if model.config.projection_dim != EMBED_DIM:
        raise ParameterError(
            f"CLAP checkpoint {name!r} projects to {model.config.projection_dim} dimensions; "
            f"the embedder role needs {EMBED_DIM}"
        )
    return model.to(device).eval(), processor


def _features(output):
    """The projected embedding of a ``get_*_features`` result.

    transformers 5 returns a ``BaseModelOutputWithPooling`` whose ``pooler_output`` holds the
    projected (and normalised) embedding; 4.x returned that tensor directly.
    """
    return getattr(output, "pooler_output", output)


class ClapEmbedder:
    """Frames of raw audio -> L2-normalised 512-D CLAP audio embeddings.

    Build it with :meth:`from_pretrained`. Frames are cut from ``analysis.y`` after resampling
    the whole signal once to the feature extractor's rate (48 kHz), so frame edges carry no
    resampling transient. A frame longer than the extractor's window (10 s) is cut to its
    centre rather than to the extractor's random crop, so embeddings are deterministic.

    Parameters
    ----------
    model : transformers.ClapModel
        The loaded model, on ``device`` and in eval mode.
    processor : transformers.ClapProcessor
        Its processor (feature extractor and tokenizer).
    device : torch.device
        Where the model runs.
    model_name : str
        The checkpoint's name; keys the memo of embeddings (see :meth:`embed_frames`).
    batch_size : int >= 1
        Frames per forward pass.

    Raises
    ------
    ParameterError
        When ``batch_size`` is not a positive integer.
    """

    name = "clap"

    def __init__(self, model, processor, *, device, model_name: str = "", batch_size: int = 16):
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ParameterError(f"batch_size={batch_size!r} must be a positive integer")
        self.model = model
        self.processor = processor
        self.device = device
        self.model_name = model_name
        self.batch_size = batch_size

    @classmethod
    def from_pretrained(cls, model: str = DEFAULT_MODEL, *, device=None,
                        batch_size: int = 16) -> ClapEmbedder:
        """Load an embedder from a local checkpoint (never downloaded).

        Parameters
        ----------
        model : str
            Hub id in the local Hugging Face cache, or a checkpoint directory (default:
            ``FeatureConfig().clap_model``).
        device : str, torch.device or None
            ``None`` picks CUDA when available, else the CPU.
        batch_size : int >= 1
            Frames per forward pass.

        Returns
        -------
        ClapEmbedder

        Raises
        ------
        ModelNotFoundError
            When ``model`` is neither a local checkpoint directory nor in the local cache.
        ParameterError
            When the checkpoint does not project to 512 dimensions, or ``device`` or
            ``batch_size`` is invalid.
        """
        device = pick_device(device)
        clap, processor = _load(str(model), device)
        return cls(clap, processor, device=device, model_name=str(model), batch_size=batch_size)

    @property
    def sampling_rate(self) -> int:
        """Sample rate (Hz) the feature extractor expects: frames are resampled to it."""
        return int(self.processor.feature_extractor.sampling_rate)

    def embed_frames(self, analysis: SpectralAnalysis, bounds: np.ndarray) -> np.ndarray:
        """Embed every frame of a file from its raw audio.

        Parameters
        ----------
        analysis : SpectralAnalysis
            The file; only ``analysis.y`` and ``analysis.sr`` are read.
        bounds : np.ndarray [shape=(n_frames, 2), dtype=int]
            Sample ``[start, end)`` of each frame, non-empty and inside ``analysis.y``.

        Returns
        -------
        np.ndarray [shape=(n_frames, 512), dtype=float32]
            Unit-norm rows. The result is memoised on ``analysis`` per checkpoint and bounds,
            so a :class:`ClapTagger` on the same checkpoint does not embed the frames again.

        Raises
        ------
        ParameterError
            When ``bounds`` is not an integer (n, 2) array of non-empty frames inside the signal.
        """
        bounds = _check_bounds(bounds, len(analysis.y))
        key = ("clap_audio", self.model_name or id(self.model), bounds.tobytes())
        if key not in analysis.memo:
            analysis.memo[key] = self._embed(analysis, bounds)
        return analysis.memo[key].copy()

    def _embed(self, analysis: SpectralAnalysis, bounds: np.ndarray) -> np.ndarray:
        rate = self.sampling_rate
        y = analysis.y
        if analysis.sr != rate:
            y = soxr.resample(y, analysis.sr, rate, quality="HQ")
        edges = np.round(bounds * (rate / analysis.sr)).astype(np.int64)
        longest = int(self.processor.feature_extractor.nb_max_samples)
        clips = []
        for start, end in edges:
            start = min(start, len(y) - 1)  # rounding may not shrink a frame to nothing
            end = max(end, start + 1)
            excess = (end - start) - longest
            if excess > 0:  # centre crop
                start += excess // 2
                end = start + longest
            clips.append(np.asarray(y[start:end], dtype=np.float32))
        rows = [self._embed_clips(clips[i:i + self.batch_size])
                for i in range(0, len(clips), self.batch_size)]
        return l2_normalize(np.concatenate(rows)) if rows else np.zeros((0, EMBED_DIM), np.float32)

    def _embed_clips(self, clips: list[np.ndarray]) -> np.ndarray:
        import torch

        inputs = self.processor.feature_extractor(clips, sampling_rate=self.sampling_rate,
                                                  return_tensors="pt")
        # No clip exceeds the window, so none is "longer". In fusion mode the extractor marks a
        # random clip of an all-short batch as longer (a training trick); undo that, or an
        # embedding would depend on chance and on its batch mates.
        is_longer = torch.zeros_like(inputs["is_longer"], dtype=torch.bool)
        features = inputs["input_features"].to(self.device, dtype=self.model.dtype)
        with torch.inference_mode():
            out = self.model.get_audio_features(input_features=features,
                                                is_longer=is_longer.to(self.device))
        return _features(out).float().cpu().numpy()

    def embed_text(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts with the checkpoint's text tower.

        Parameters
        ----------
        texts : sequence of str

        Returns
        -------
        np.ndarray [shape=(len(texts), 512), dtype=float32]
            Unit-norm rows.
        """
        import torch

        tokens = self.processor.tokenizer(list(texts), padding=True, return_tensors="pt").to(self.device)
        with torch.inference_mode():
            out = self.model.get_text_features(input_ids=tokens["input_ids"],
                                               attention_mask=tokens["attention_mask"])
        return l2_normalize(_features(out).float().cpu().numpy())


class ClapTagger:
    """Zero-shot tag scores: cosine similarity of each frame to ``"This is a sound of <tag>."``.

    Scores lie in [-1, 1], one column per :data:`~aural_core.vocab.TAG_NAMES` entry; the text
    embeddings are computed once per tagger.

    Parameters
    ----------
    embedder : ClapEmbedder
        Embeds the frames and the prompts.
    prompt : str
        Template of each tag's prompt, with a ``{tag}`` field.
    """

    name = "clap"

    def __init__(self, embedder: ClapEmbedder, *, prompt: str = TAG_PROMPT):
        self.embedder = embedder
        self.prompts = tuple(prompt.format(tag=tag) for tag in TAG_NAMES)
        self._text = None

    @classmethod
    def from_pretrained(cls, model: str = DEFAULT_MODEL, *, device=None,
                        batch_size: int = 16) -> ClapTagger:
        """Load a tagger from a local checkpoint (never downloaded).

        Parameters
        ----------
        model : str
            Hub id in the local Hugging Face cache, or a checkpoint directory (default:
            ``FeatureConfig().clap_model``).
        device : str, torch.device or None
            ``None`` picks CUDA when available, else the CPU.
        batch_size : int >= 1
            Frames per forward pass.

        Returns
        -------
        ClapTagger

        Raises
        ------
        ModelNotFoundError, ParameterError
            As :meth:`ClapEmbedder.from_pretrained`.
        """
        return cls(ClapEmbedder.from_pretrained(model, device=device, batch_size=batch_size))

    @property
    def text_embeddings(self) -> np.ndarray:
        """Unit-norm text embeddings of the tag prompts, shape ``(len(TAG_NAMES), 512)``."""
        if self._text is None:
            self._text = self.embedder.embed_text(self.prompts)
        return self._text

    def tag_scores(self, analysis: SpectralAnalysis, bounds: np.ndarray) -> np.ndarray:
        """Cosine similarity of every frame to every tag prompt.

        Parameters
        ----------
        analysis : SpectralAnalysis
            The file; only ``analysis.y`` and ``analysis.sr`` are read.
        bounds : np.ndarray [shape=(n_frames, 2), dtype=int]
            Sample ``[start, end)`` of each frame.

        Returns
        -------
        np.ndarray [shape=(n_frames, len(TAG_NAMES)), dtype=float32]
            In [-1, 1]; higher means more likely.
        """
        audio = self.embedder.embed_frames(analysis, bounds)
        return (audio @ self.text_embeddings.T).astype(np.float32)


def _check_bounds(bounds, n_samples: int) -> np.ndarray:
    """``bounds`` as an int64 ``(n, 2)`` array of non-empty ``[start, end)`` pairs inside the signal."""
    arr = np.asarray(bounds)
    if arr.ndim != 2 or arr.shape[1] != 2 or not np.issubdtype(arr.dtype, np.integer):
        raise ParameterError(
            f"bounds must be an integer array of shape (n, 2), got {arr.dtype} {arr.shape}")
    bad = (arr[:, 0] < 0) | (arr[:, 1] > n_samples) | (arr[:, 0] >= arr[:, 1])
    if bad.any():
        i = int(np.argmax(bad))
        raise ParameterError(
            f"bounds[{i}]={arr[i].tolist()} is not a non-empty [start, end) within 0..{n_samples}"
        )
    return arr.astype(np.int64)
