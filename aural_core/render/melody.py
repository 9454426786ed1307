"""MusicGen-Melody renderer: the predicted prompt plus the source section's chroma.

transformers' ``MusicgenMelodyForConditionalGeneration`` prefixes its decoder with a chroma
sequence (one-hot dominant pitch class per frame) beside the text states, so a render can carry
the source's harmony and key. Checkpoints load from local files only, as for MusicGen.

The chroma is computed here (:func:`melody_chroma`) with the checkpoint's own feature-extractor
settings (``preprocessor_config.json``) and the same steps as transformers'
``MusicgenMelodyFeatureExtractor``: power spectrogram (Hann window of ``n_fft``, ``center``,
reflect padding), transformers' ``chroma_filter_bank``, max-normalised, then one-hot at each
frame's strongest class. That extractor (and so the processor) needs torchaudio, which has no
wheel for this project's torch; the tokenizer of the checkpoint's processor is used as is.
A test checks the two agree where torchaudio is installed.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

from ..config import RenderConfig
from ..controls import Controls
from ..errors import ParameterError
from ..hub import load_local
from ..styles import StyleTable
from .base import Rendered
from .conditioning import Sampling
from .musicgen import MusicgenRenderer, musicgen_prompt

__all__ = ["MusicgenMelodyRenderer", "melody_chroma"]

_DEFAULTS = RenderConfig()
# MusicgenMelodyFeatureExtractor's defaults, for a checkpoint whose config omits one.
CHROMA_DEFAULTS = {"sampling_rate": 32000, "n_fft": 16384, "hop_length": 4096, "num_chroma": 12, "chunk_length": 30}


def melody_chroma(audio: Sequence[np.ndarray], *, sampling_rate: int = 32000, n_fft: int = 16384,
                  hop_length: int = 4096, num_chroma: int = 12, chunk_length: float = 30) -> np.ndarray:
    """One-hot chroma of each mono signal, as MusicGen-Melody's feature extractor makes it.

    Signals are cut to ``chunk_length`` seconds and zero-padded to the longest (a padded frame
    reads as class 0, the model's own "no melody" frame), as the transformers extractor does.

    Parameters
    ----------
    audio : sequence of np.ndarray [shape=(n_i,)]
        Non-empty, finite mono signals, already at ``sampling_rate`` (at least one).
    sampling_rate : int
        Their sample rate in Hz.
    n_fft, hop_length : int
        STFT size and hop in samples.
    num_chroma : int
        Pitch classes per frame.
    chunk_length : float
        Longest signal used, in seconds.

    Returns
    -------
    np.ndarray [shape=(batch, n_frames, num_chroma), dtype=float32]
        1 at each frame's strongest class, 0 elsewhere.

    Raises
    ------
    ParameterError
        When ``audio`` is empty or a signal is empty, not 1-D or not finite.
    """
    import torch
    from transformers.audio_utils import chroma_filter_bank

    if not audio:
        raise ParameterError("audio is empty; melody_chroma needs at least one signal")
    limit = int(chunk_length * sampling_rate)
    rows = []
    for i, y in enumerate(audio):
        y = np.asarray(y, dtype=np.float32)
        if y.ndim != 1 or not len(y) or not np.all(np.isfinite(y)):
            raise ParameterError(f"reference audio {i} must be a non-empty, finite 1-D signal; got shape {y.shape}")
        rows.append(y[:limit])
    batch = np.zeros((len(rows), max(len(y) for y in rows)), dtype=np.float32)
    for i, y in enumerate(rows):
        batch[i, : len(y)] = y
    wav = torch.from_numpy(batch)
    if wav.shape[-1] < n_fft:
        pad = n_fft - wav.shape[-1]
        wav = torch.nn.functional.pad(wav, (pad // 2, pad // 2 + pad % 2), "constant", 0)
    window = torch.hann_window(n_fft)
    spec = torch.stft(wav, n_fft=n_fft, hop_length=hop_length, win_length=n_fft, window=window, center=True,
                      pad_mode="reflect", normalized=False, onesided=True, return_complex=True)
    power = (spec / window.pow(2.0).sum().sqrt()).abs().pow(2)  # torchaudio's normalized=True
    filters = torch.from_numpy(chroma_filter_bank(sampling_rate=sampling_rate, num_frequency_bins=n_fft, tuning=0,
                                                  num_chroma=num_chroma)).float()
    chroma = torch.einsum("cf,bft->bct", filters, power)
    chroma = torch.nn.functional.normalize(chroma, p=float("inf"), dim=-2, eps=1e-6).transpose(1, 2)
    onehot = torch.zeros_like(chroma)
    onehot.scatter_(dim=-1, index=chroma.argmax(-1, keepdim=True), value=1)
    return onehot.numpy()


class MusicgenMelodyRenderer(MusicgenRenderer):
    """Render controls with a MusicGen-Melody checkpoint, conditioned on each item's reference audio.

    No probe: the melody model has no cross-attention states to blend into. ``reference_sr``
    is the rate the reference audio must come at (the checkpoint's feature-extractor rate).

    Parameters
    ----------
    model : str
        Hub id already in the local Hugging Face cache, or a local checkpoint directory
        (default: ``RenderConfig().musicgen_melody_model``).
    device, guidance_scale, do_sample, temperature, styles
        As for :class:`~aural_core.render.musicgen.MusicgenRenderer`.

    Raises
    ------
    ModelNotFoundError
        When the checkpoint (or its ``preprocessor_config.json``) is not on this machine.
    ParameterError
        When ``temperature``, ``guidance_scale`` or ``device`` is invalid.
    """

    name = "musicgen-melody"
    conditioning = "prompt+chroma"
    uses_probe = False
    uses_reference_audio = True

    def __init__(self, model: str = _DEFAULTS.musicgen_melody_model, *, device=None,
                 guidance_scale: float = _DEFAULTS.guidance_scale, do_sample: bool = _DEFAULTS.do_sample,
                 temperature: float = _DEFAULTS.temperature, styles: StyleTable | None = None):
        super().__init__(model, device=device, guidance_scale=guidance_scale, do_sample=do_sample,
                         temperature=temperature, styles=styles, probe_mix=0.0)
        self.reference_sr = int(self.chroma["sampling_rate"])

    def _load_checkpoint(self) -> None:
        from transformers import AutoTokenizer, MusicgenMelodyForConditionalGeneration

        tokenizer, model, chroma = load_local(self.model_name, what="MusicGen-Melody",
                                              setting="render.musicgen_melody_model",
                                              loaders=(AutoTokenizer, MusicgenMelodyForConditionalGeneration,
                                                       _ChromaSettings))
        self.model, self.processor, self.chroma = model.to(self.device).eval(), tokenizer, chroma

    def render_batch(self, controls: Sequence[Controls], *, seconds: float, seeds: Sequence[int],
                     reference_audio: Sequence[np.ndarray | None] | None = None) -> list[Rendered]:
        """Render every item: one ``generate`` call per sampling setting, seeded as MusicGen's.

        Parameters
        ----------
        controls : sequence of Controls
            What to render, at least one item.
        seconds : float > 0
            Length of every segment in seconds.
        seeds : sequence of int
            One seed per item (see :meth:`MusicgenRenderer.render_batch`).
        reference_audio : sequence of np.ndarray [shape=(n,)] or None, optional
            Per item, the mono source audio at :attr:`reference_sr` whose chroma conditions
            it, or ``None`` for the model's "no melody" chroma.

        Returns
        -------
        list of Rendered
            In the order of ``controls``.

        Raises
        ------
        ParameterError
            When the lengths of ``controls``, ``seeds`` and ``reference_audio`` differ, or an
            item, seed, ``seconds`` or reference signal is invalid.
        """
        controls = self._check(controls, seconds, seeds)
        if reference_audio is not None:
            reference_audio = list(reference_audio)
            if len(reference_audio) != len(controls):
                raise ParameterError(f"got {len(reference_audio)} reference signals for {len(controls)} controls; "
                                     "expected one each")
        return self._render_groups(controls, seconds, list(seeds), {"reference_audio": reference_audio})

    def _generate(self, controls: list[Controls], sampling: Sampling, n_frames: int, *, reference_audio=None):
        import torch

        inputs = self.processor([musicgen_prompt(c) for c in controls], padding=True,
                                return_tensors="pt").to(self.device)
        options = {**sampling.generate_options(), "max_new_tokens": n_frames}
        if reference_audio is not None and any(a is not None for a in reference_audio):
            silent = np.zeros(self.reference_sr, dtype=np.float32)  # reads as the "no melody" chroma
            chroma = melody_chroma([silent if a is None else a for a in reference_audio],
                                   **{k: self.chroma[k] for k in CHROMA_DEFAULTS})
            options["input_features"] = torch.from_numpy(chroma).to(self.device, dtype=self.model.dtype)
        return self.model.generate(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"], **options)


class _ChromaSettings:
    """A loader (``from_pretrained``) of the chroma settings in a checkpoint's
    ``preprocessor_config.json``, so that a missing file fails like a missing model."""

    @staticmethod
    def from_pretrained(name: str, **kwargs) -> dict:
        from transformers.feature_extraction_utils import FeatureExtractionMixin

        config, _ = FeatureExtractionMixin.get_feature_extractor_dict(name, **kwargs)
        settings = {k: config.get(k, v) for k, v in CHROMA_DEFAULTS.items()}
        for k, v in settings.items():
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or v <= 0:
                raise ValueError(f"{k}={v!r} in preprocessor_config.json must be a positive number")
        return settings
