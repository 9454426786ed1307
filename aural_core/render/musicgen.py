"""MusicGen renderer: text-conditioned generation with 🤗 transformers, from local files only.

The checkpoint (``RenderConfig.musicgen_model`` by default) is loaded from a local directory or the
local Hugging Face cache and is never downloaded at run time; a missing one raises
:class:`~aural_core.errors.ModelNotFoundError` saying how to provide it. MusicGen writes a
mix only, so the stems are approximated with :func:`~aural_core.render.balance.split_stems`,
then the renderer applies ``controls.stem_gains`` and levels the mix for the style's dynamics,
as the synth renderer does: every renderer owns its stem balance and level.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np

from ..config import RenderConfig
from ..controls import Controls
from ..errors import ParameterError
from ..hub import load_local, pick_device
from ..styles import StyleTable, load_style_table
from .balance import apply_stem_gains, split_stems
from .base import Rendered
from .levels import style_level_dbfs

__all__ = ["MusicgenRenderer", "musicgen_prompt"]

_DEFAULTS = RenderConfig()  # the defaults live in config.py


def musicgen_prompt(controls: Controls) -> str:
    """The text prompt for ``controls``: ``"<style prompt>, <bpm> bpm, in <key>"``.

    Examples
    --------
    >>> musicgen_prompt(Controls("calm", 89.6, "F# minor", 2, "calm ambient piano"))
    'calm ambient piano, 90 bpm, in F# minor'
    """
    return f"{controls.style_prompt}, {round(controls.bpm)} bpm, in {controls.key}"


class MusicgenRenderer:
    """Render :class:`~aural_core.controls.Controls` with a MusicGen checkpoint.

    Parameters
    ----------
    model : str
        Hub id already in the local Hugging Face cache, or a local directory holding a
        ``save_pretrained`` checkpoint (model and processor).
    device : str, torch.device or None
        ``None`` picks CUDA when available, else the CPU.
    guidance_scale : float
        Classifier-free guidance strength; ``<= 1`` turns guidance off.
    do_sample : bool
        Sample tokens (``True``) or decode greedily.
    temperature : float > 0
        Sampling temperature (used only when ``do_sample``).

    Raises
    ------
    ModelNotFoundError
        When the checkpoint is not on this machine (raised here, not at the first render).
    """

    name = "musicgen"

    def __init__(self, model: str = _DEFAULTS.musicgen_model, *, device=None,
                 guidance_scale: float = _DEFAULTS.guidance_scale, do_sample: bool = _DEFAULTS.do_sample,
                 temperature: float = _DEFAULTS.temperature, styles: StyleTable | None = None):
        if not (isinstance(temperature, numbers.Real) and temperature > 0):
            raise ParameterError(f"temperature={temperature!r} must be a number > 0")
        if not isinstance(guidance_scale, numbers.Real) or not math.isfinite(guidance_scale):
            raise ParameterError(f"guidance_scale={guidance_scale!r} must be a finite number")
        self.model_name = str(model)
        self.device = pick_device(device)
        self.guidance_scale = float(guidance_scale)
        self.do_sample = bool(do_sample)
        self.temperature = float(temperature)
        self.styles = styles if styles is not None else load_style_table()
        self.model, self.processor = _load(self.model_name, self.device)
        codec = self.model.config.audio_encoder
        self.sr = int(codec.sampling_rate)
        self.frame_rate = float(codec.frame_rate)

    def __repr__(self) -> str:
        return f"MusicgenRenderer(model={self.model_name!r}, device={str(self.device)!r})"

    def render(self, controls: Controls, *, seconds: float, seed: int) -> Rendered:
        """Render ``seconds`` of audio for ``controls``; same inputs, same audio (on one device)."""
        return self.render_batch([controls], seconds=seconds, seeds=[seed])[0]

    def render_batch(self, controls: Sequence[Controls], *, seconds: float,
                     seeds: Sequence[int]) -> list[Rendered]:
        """Render every item of ``controls`` in one ``generate`` call.

        ``generate`` draws from the global torch generator and takes none per row, so the
        batch is seeded once with ``seeds[0]``: the output is reproducible for the same
        (controls, seconds, seeds[0]), and items of one batch still differ from each other
        (each row samples its own tokens), but item ``i`` is not what ``render(controls[i],
        seed=seeds[i])`` gives alone. ``seeds`` must still have one seed per item.
        """
        import torch

        controls = list(controls)
        seeds = list(seeds)
        if not controls:
            raise ParameterError("controls is empty; render_batch needs at least one item")
        if len(seeds) != len(controls):
            raise ParameterError(
                f"got {len(seeds)} seeds for {len(controls)} controls; expected one each")
        for s in seeds:
            if isinstance(s, bool) or not isinstance(s, numbers.Integral):
                raise ParameterError(f"seed={s!r} must be an integer")
        if not (isinstance(seconds, numbers.Real) and math.isfinite(seconds) and seconds > 0):
            raise ParameterError(f"seconds={seconds!r} must be a finite number > 0")
        n_samples = int(round(seconds * self.sr))
        if n_samples < 64:
            raise ParameterError(f"seconds={seconds!r} gives {n_samples} samples; need at least 64")

        inputs = self.processor(text=[musicgen_prompt(c) for c in controls], padding=True,
                                return_tensors="pt").to(self.device)
        # The delay pattern costs (num_codebooks - 1) steps and the start token one more:
        # generate that many extra steps so the decoded audio covers `seconds`, then trim.
        n_frames = math.ceil(seconds * self.frame_rate) + self.model.decoder.num_codebooks - 1
        options = {"do_sample": self.do_sample, "guidance_scale": self.guidance_scale,
                   "max_new_tokens": n_frames}
        if self.do_sample:
            options["temperature"] = self.temperature
        torch.manual_seed(int(seeds[0]))
        with torch.inference_mode():
            audio = self.model.generate(**inputs, **options)  # (batch, channels, samples)
        audio = audio.float().mean(dim=1).cpu().numpy()  # a stereo checkpoint folds to mono
        return [self._finish(row, n_samples, c) for row, c in zip(audio, controls)]

    def _finish(self, y: np.ndarray, n_samples: int, controls: Controls) -> Rendered:
        """Trim (or zero-pad) to ``n_samples``, split into stems, apply the controls' stem gains
        and level the mix for the style's dynamics (``style_level_dbfs``, then the peak limit)."""
        mix = np.zeros(n_samples, dtype=np.float32)
        mix[: min(n_samples, len(y))] = y[:n_samples]
        mix = np.nan_to_num(mix, nan=0.0, posinf=0.0, neginf=0.0)
        stems = split_stems(mix, self.sr)
        level = style_level_dbfs(self._style(controls).dynamics)
        return apply_stem_gains(stems, controls.stem_gains or {}, sr=self.sr, target_rms_dbfs=level)

    def _style(self, controls: Controls):
        sid = controls.style_id
        if isinstance(sid, bool) or not isinstance(sid, numbers.Integral) or not 0 <= sid < len(self.styles):
            raise ParameterError(
                f"style_id={sid!r} is not an index into the style table of {len(self.styles)} styles")
        return self.styles[int(sid)]


def _load(name: str, device):
    """Model and processor from local files only; ModelNotFoundError when they are absent."""
    from transformers import AutoProcessor, MusicgenForConditionalGeneration

    processor, model = load_local(name, what="MusicGen", setting="render.musicgen_model",
                                  loaders=(AutoProcessor, MusicgenForConditionalGeneration))
    return model.to(device).eval(), processor
