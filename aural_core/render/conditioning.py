"""What a render was conditioned on and sampled with: the labels and settings reports show.

Pure functions of the config and the style table, used by the MusicGen renderers to drive
``generate`` and by the evaluation to report each render, so the two cannot disagree.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from ..errors import ParameterError
from ..styles import Style

__all__ = ["Sampling", "sampling_for", "conditioning_label", "describe_render", "validate_mix"]


@dataclass(frozen=True)
class Sampling:
    """Sampling settings of one ``generate`` call (hashable: sections are grouped by them).

    ``top_k`` None leaves the checkpoint's own ``generation_config.top_k`` in force.
    """

    do_sample: bool
    temperature: float
    guidance_scale: float
    top_k: int | None = None

    def generate_options(self) -> dict:
        """Keyword arguments for ``generate``.

        Returns
        -------
        dict
            ``do_sample`` and ``guidance_scale``; ``temperature`` and ``top_k`` (when set)
            only when sampling.
        """
        options = {"do_sample": self.do_sample, "guidance_scale": self.guidance_scale}
        if self.do_sample:
            options["temperature"] = self.temperature
            if self.top_k is not None:
                options["top_k"] = self.top_k
        return options

    def to_dict(self) -> dict:
        """The settings as plain types, for reports.

        Returns
        -------
        dict
            ``do_sample``, ``temperature``, ``guidance_scale`` and ``top_k``.
        """
        return asdict(self)


def sampling_for(style: Style, *, do_sample: bool, temperature: float, guidance_scale: float) -> Sampling:
    """The sampling settings of a style: its own temperature, top-k and guidance where set.

    Parameters
    ----------
    style : Style
        The style row; its ``top_k`` is used as is (None: the checkpoint's own).
    do_sample : bool
        Sample tokens or decode greedily.
    temperature : float
        Used where the row sets none.
    guidance_scale : float
        Used where the row sets none.

    Returns
    -------
    Sampling
    """
    return Sampling(do_sample=bool(do_sample),
                    temperature=float(style.temperature if style.temperature is not None else temperature),
                    guidance_scale=float(style.guidance_scale if style.guidance_scale is not None
                                         else guidance_scale),
                    top_k=style.top_k)


def validate_mix(mix) -> float:
    """Check a probe mix weight.

    Parameters
    ----------
    mix : float
        Weight of the probed vector against the prompt's encoder states.

    Returns
    -------
    float
        ``mix`` as a float.

    Raises
    ------
    ParameterError
        When ``mix`` is not a number in [0, 1]; the message quotes it as ``probe_mix``.
    """
    if isinstance(mix, bool) or not isinstance(mix, (int, float)) or not (math.isfinite(mix) and 0 <= mix <= 1):
        raise ParameterError(f"probe_mix={mix!r} must be a number in [0, 1]")
    return float(mix)


def conditioning_label(base: str, *, probe: bool, mix: float) -> str:
    """The label of what a render is conditioned on, as reports show it.

    Parameters
    ----------
    base : str
        What the renderer conditions on without a probe (``"prompt"``, ``"controls"`` ...).
    probe : bool
        Whether the render carries a probed vector.
    mix : float in [0, 1]
        Weight of the probed vector.

    Returns
    -------
    str
        ``base`` without a probed vector (or at ``mix`` 0); ``"probe"`` for the probed vector
        alone (``mix`` 1); ``"mix:<mix>"`` for a blend.

    Raises
    ------
    ParameterError
        When ``mix`` is not a number in [0, 1].

    Examples
    --------
    >>> conditioning_label("prompt", probe=True, mix=0.5)
    'mix:0.5'
    """
    mix = validate_mix(mix)
    if not probe or mix == 0:
        return base
    return "probe" if mix == 1 else f"mix:{mix:g}"


def describe_render(renderer: type, controls, styles, *, probed: bool, probe_mix: float, do_sample: bool,
                    temperature: float, guidance_scale: float) -> dict:
    """What a render is conditioned on and sampled with, as reports show it.

    The sampling settings are those the renderer itself derives (:func:`sampling_for` of the
    controls' style row).

    Parameters
    ----------
    renderer : type
        The renderer class (its ``conditioning``, ``uses_probe`` and ``sampled`` attributes).
    controls : Controls
        The render's controls.
    styles : StyleTable
        The table ``controls.style_id`` indexes.
    probed : bool
        Whether the render carries a probed vector (counts only for a renderer that
        ``uses_probe``).
    probe_mix : float in [0, 1]
    do_sample : bool
    temperature : float
    guidance_scale : float
        The ``[render]`` settings (see ``RenderConfig``).

    Returns
    -------
    dict
        ``{"conditioning": str, "sampling": dict or None}`` (None: the renderer does not sample).

    Raises
    ------
    ParameterError
        When ``probe_mix`` is not a number in [0, 1].
    """
    base = getattr(renderer, "conditioning", "prompt")
    label = conditioning_label(base, probe=probed and getattr(renderer, "uses_probe", False), mix=probe_mix)
    sampling = None
    if getattr(renderer, "sampled", False):
        sampling = sampling_for(styles[controls.style_id], do_sample=do_sample, temperature=temperature,
                                guidance_scale=guidance_scale).to_dict()
    return {"conditioning": label, "sampling": sampling}
