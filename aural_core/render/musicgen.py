# Over 350 lines: one renderer class (loading, prompting, conditioning, batching) around one model.
"""MusicGen renderer: text-conditioned generation with 🤗 transformers, from local files only.

The checkpoint (``RenderConfig.musicgen_model`` by default) is loaded from a local directory or the
local Hugging Face cache and is never downloaded at run time; a missing one raises
:class:`~aural_core.errors.ModelNotFoundError` saying how to provide it. MusicGen writes a
mix only, so the stems are approximated with :func:`~aural_core.render.balance.split_stems`,
then the renderer applies ``controls.stem_gains`` and levels the mix for the style's dynamics,
as the synth renderer does: every renderer owns its stem balance and level.

Sampling follows the style row of each item's ``style_id`` (its ``temperature``, ``top_k`` and
``guidance_scale`` where set, the constructor's values elsewhere); a batch is rendered as one
``generate`` call per distinct setting. An item may also carry a probed text-space vector
(aural_core/probe.py): its prompt's encoder states are then blended with it,
``(1 - probe_mix) * states + probe_mix * vector`` at every token, and passed to ``generate`` as
``encoder_outputs`` (with the null states classifier-free guidance needs).
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
from .conditioning import Sampling, sampling_for, validate_mix
from .levels import style_level_dbfs

__all__ = ["MusicgenRenderer", "blend_states", "musicgen_prompt"]

_DEFAULTS = RenderConfig()  # the defaults live in config.py


def musicgen_prompt(controls: Controls) -> str:
    """The text prompt for a render's controls.

    Parameters
    ----------
    controls : Controls

    Returns
    -------
    str
        ``"<style prompt>, <bpm> bpm, in <key>"``, the BPM rounded to an integer.

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
        ``save_pretrained`` checkpoint (model and processor); default:
        ``RenderConfig().musicgen_model``.
    device : str, torch.device or None
        ``None`` picks CUDA when available, else the CPU.
    guidance_scale : float
        Classifier-free guidance strength; ``<= 1`` turns guidance off. A style row's own
        ``guidance_scale`` wins.
    do_sample : bool
        Sample tokens (``True``) or decode greedily.
    temperature : float > 0
        Sampling temperature (used only when ``do_sample``); a style row's own wins.
    styles : StyleTable, optional
        The table ``controls.style_id`` indexes (default: the shipped one).
    probe_mix : float in [0, 1]
        Weight of an item's probed vector against its prompt's encoder states.

    Raises
    ------
    ModelNotFoundError
        When the checkpoint is not on this machine (raised here, not at the first render).
    ParameterError
        When ``temperature`` is not > 0, ``guidance_scale`` is not finite, ``probe_mix`` is
        outside [0, 1] or ``device`` is not a torch device.
    """

    name = "musicgen"
    conditioning = "prompt"
    uses_probe = True
    uses_reference_audio = False
    sampled = True  # token sampling, with the settings of :meth:`sampling`

    def __init__(self, model: str = _DEFAULTS.musicgen_model, *, device=None,
                 guidance_scale: float = _DEFAULTS.guidance_scale, do_sample: bool = _DEFAULTS.do_sample,
                 temperature: float = _DEFAULTS.temperature, styles: StyleTable | None = None,
                 probe_mix: float = _DEFAULTS.probe_mix):
        if not (isinstance(temperature, numbers.Real) and temperature > 0):
            raise ParameterError(f"temperature={temperature!r} must be a number > 0")
        if not isinstance(guidance_scale, numbers.Real) or not math.isfinite(guidance_scale):
            raise ParameterError(f"guidance_scale={guidance_scale!r} must be a finite number")
        self.model_name = str(model)
        self.device = pick_device(device)
        self.guidance_scale = float(guidance_scale)
        self.do_sample = bool(do_sample)
        self.temperature = float(temperature)
        self.probe_mix = validate_mix(probe_mix)
        self.styles = styles if styles is not None else load_style_table()
        self._load_checkpoint()
        codec = self.model.config.audio_encoder
        self.sr = int(codec.sampling_rate)
        self.frame_rate = float(codec.frame_rate)

    def _load_checkpoint(self) -> None:
        self.model, self.processor = _load(self.model_name, self.device)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model_name!r}, device={str(self.device)!r})"

    @property
    def text_dim(self) -> int:
        """Width of the text encoder's states: the size of a probed vector."""
        return int(self.model.config.text_encoder.hidden_size)

    def sampling(self, controls: Controls) -> Sampling:
        """The sampling settings a render is made with: its style row's, else the renderer's.

        Parameters
        ----------
        controls : Controls

        Returns
        -------
        Sampling

        Raises
        ------
        ParameterError
            When ``controls.style_id`` is not an index into the style table.
        """
        return sampling_for(self._style(controls), do_sample=self.do_sample, temperature=self.temperature,
                            guidance_scale=self.guidance_scale)

    def render(self, controls: Controls, *, seconds: float, seed: int) -> Rendered:
        """Render one segment; same inputs, same audio (on one device).

        Parameters
        ----------
        controls : Controls
        seconds : float > 0
            Length in seconds (at least 64 samples).
        seed : int

        Returns
        -------
        Rendered
            ``round(seconds * sr)`` samples at :attr:`sr`, stems split and balanced.

        Raises
        ------
        ParameterError
            When ``controls``, ``seconds`` or ``seed`` is invalid.
        """
        return self.render_batch([controls], seconds=seconds, seeds=[seed])[0]

    def render_batch(self, controls: Sequence[Controls], *, seconds: float, seeds: Sequence[int],
                     probe: Sequence[np.ndarray | None] | None = None) -> list[Rendered]:
        """Render every item of ``controls``: one ``generate`` call per sampling setting.

        ``generate`` draws from the global torch generator and takes none per row, so each
        group of items sharing a sampling setting is seeded once with the seed of its first
        item: the output is reproducible for the same (controls, seconds, seeds), and items of
        one group still differ from each other (each row samples its own tokens), but item
        ``i`` is not what ``render(controls[i], seed=seeds[i])`` gives alone.

        Parameters
        ----------
        controls : sequence of Controls
            What to render, at least one item.
        seconds : float > 0
            Length of every segment in seconds (at least 64 samples).
        seeds : sequence of int
            One seed per item.
        probe : sequence of np.ndarray [shape=(text_dim,)] or None, optional
            Per item, a probed vector to blend into its prompt's encoder states with weight
            ``probe_mix``, or ``None``.

        Returns
        -------
        list of Rendered
            In the order of ``controls``.

        Raises
        ------
        ParameterError
            When the lengths of ``controls``, ``seeds`` and ``probe`` differ, or an item, seed,
            ``seconds`` or probed vector is invalid.
        """
        controls = self._check(controls, seconds, seeds)
        if probe is not None:
            probe = list(probe)
            if len(probe) != len(controls):
                raise ParameterError(f"got {len(probe)} probe vectors for {len(controls)} controls; expected one each")
            probe = [None if v is None else self._vector(v) for v in probe]
        return self._render_groups(controls, seconds, list(seeds), {"probe": probe})

    def encode_prompts(self, texts: Sequence[str]) -> np.ndarray:
        """Mean-pooled text-encoder output of each text: the space the probe maps into.

        Parameters
        ----------
        texts : sequence of str

        Returns
        -------
        np.ndarray [shape=(len(texts), text_dim), dtype=float32]
            Mean over each text's tokens, padding excluded.
        """
        import torch

        inputs = self.processor(text=list(texts), padding=True, return_tensors="pt").to(self.device)
        with torch.inference_mode():
            states = self.model.text_encoder(input_ids=inputs["input_ids"],
                                             attention_mask=inputs["attention_mask"]).last_hidden_state
        mask = inputs["attention_mask"][..., None].to(states.dtype)
        pooled = (states * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1)
        return pooled.float().cpu().numpy()

    # -- shared by the MusicGen family ------------------------------------------------------

    def _check(self, controls, seconds, seeds) -> list[Controls]:
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
        if int(round(seconds * self.sr)) < 64:
            raise ParameterError(f"seconds={seconds!r} gives {int(round(seconds * self.sr))} samples; need at least 64")
        for c in controls:
            self._style(c)
        return controls

    def _render_groups(self, controls: list[Controls], seconds: float, seeds: list[int],
                       extras: dict[str, list | None]) -> list[Rendered]:
        """One ``generate`` call per sampling setting (in order of first appearance)."""
        import torch

        n_samples = int(round(seconds * self.sr))
        # The delay pattern costs (num_codebooks - 1) steps and the start token one more:
        # generate that many extra steps so the decoded audio covers `seconds`, then trim.
        n_frames = math.ceil(seconds * self.frame_rate) + self.model.decoder.num_codebooks - 1
        groups: dict[Sampling, list[int]] = {}
        for i, c in enumerate(controls):
            groups.setdefault(self.sampling(c), []).append(i)
        out: list[Rendered | None] = [None] * len(controls)
        for sampling, idx in groups.items():
            rows = {k: ([v[i] for i in idx] if v is not None else None) for k, v in extras.items()}
            torch.manual_seed(int(seeds[idx[0]]))
            with torch.inference_mode():
                audio = self._generate([controls[i] for i in idx], sampling, n_frames, **rows)
            audio = audio.float().mean(dim=1).cpu().numpy()  # (batch, channels, samples); stereo folds to mono
            for row, i in zip(audio, idx):
                out[i] = self._finish(row, n_samples, controls[i])
        return out

    def _generate(self, controls: list[Controls], sampling: Sampling, n_frames: int, *, probe=None):
        """The audio tensor ``generate`` returns for one group: the prompts' own encoder states,
        or, when any item carries a probed vector, states blended with it."""
        import torch

        inputs = self.processor(text=[musicgen_prompt(c) for c in controls], padding=True,
                                return_tensors="pt").to(self.device)
        options = {**sampling.generate_options(), "max_new_tokens": n_frames}
        if probe is None or all(v is None for v in probe) or self.probe_mix == 0:
            return self.model.generate(**inputs, **options)
        mask = inputs["attention_mask"]
        states = blend_states(self.model.text_encoder(input_ids=inputs["input_ids"], attention_mask=mask)
                              .last_hidden_state, probe, mix=self.probe_mix)
        if sampling.guidance_scale > 1:
            # generate adds the unconditional (null) half itself only when it runs the encoder.
            states = torch.cat([states, torch.zeros_like(states)], dim=0)
            mask = torch.cat([mask, torch.zeros_like(mask)], dim=0)
        return self.model.generate(inputs["input_ids"], encoder_outputs=(states,), attention_mask=mask, **options)

    def _vector(self, v) -> np.ndarray:
        v = np.asarray(v, dtype=np.float32)
        if v.shape != (self.text_dim,) or not np.all(np.isfinite(v)):
            raise ParameterError(f"a probed vector must be {self.text_dim} finite numbers (the text encoder of "
                                 f"{self.model_name}); got shape {v.shape}: was the probe fitted for another model?")
        return v

    def _finish(self, y: np.ndarray, n_samples: int, controls: Controls) -> Rendered:
        """Trim (or zero-pad) to ``n_samples``, split into stems, apply the controls' stem gains
        and level the mix for the style's dynamics (``style_level_dbfs``, then the peak limit)."""
        mix = np.zeros(n_samples, dtype=np.float32)
        mix[: min(n_samples, len(y))] = y[:n_samples]
        mix = np.nan_to_num(mix, nan=0.0, posinf=0.0, neginf=0.0)
        stems = split_stems(mix, sr=self.sr)
        level = style_level_dbfs(self._style(controls).dynamics)
        return apply_stem_gains(stems, controls.stem_gains or {}, sr=self.sr, target_rms_dbfs=level)

    def _style(self, controls: Controls):
        sid = controls.style_id
        if isinstance(sid, bool) or not isinstance(sid, numbers.Integral) or not 0 <= sid < len(self.styles):
            raise ParameterError(
                f"style_id={sid!r} is not an index into the style table of {len(self.styles)} styles")
        return self.styles[int(sid)]


def blend_states(states, vectors: Sequence[np.ndarray | None], *, mix: float):
    """Blend probed vectors into text-encoder states, token by token.

    At ``mix`` 1 every token carries the vector, which cross-attention reads as the vector alone.

    Parameters
    ----------
    states : torch.Tensor [shape=(batch, tokens, width)]
        The prompts' encoder states.
    vectors : sequence of np.ndarray [shape=(width,)] or None
        One per row; rows with ``None`` keep their states.
    mix : float in [0, 1]
        Weight of the vector.

    Returns
    -------
    torch.Tensor [shape=(batch, tokens, width)]
        ``(1 - mix) * states[i] + mix * vectors[i]`` at every token of each row with a vector;
        a new tensor (``states`` is not changed).
    """
    import torch

    out = states.clone()
    for i, v in enumerate(vectors):
        if v is not None:
            vec = torch.as_tensor(np.asarray(v), dtype=states.dtype, device=states.device)
            out[i] = (1 - mix) * states[i] + mix * vec
    return out


def _load(name: str, device):
    """Model and processor from local files only; ModelNotFoundError when they are absent."""
    from transformers import AutoProcessor, MusicgenForConditionalGeneration

    processor, model = load_local(name, what="MusicGen", setting="render.musicgen_model",
                                  loaders=(AutoProcessor, MusicgenForConditionalGeneration))
    return model.to(device).eval(), processor
