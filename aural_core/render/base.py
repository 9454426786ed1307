"""What every renderer returns and promises, and the factory that picks one by name.

A renderer turns :class:`~aural_core.controls.Controls` into audio. The result is a
:class:`Rendered`: a mono float32 mix plus the stems it is the sum of, so that a stem balance
can be applied (or measured) afterwards without rendering again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from ..controls import Controls
from ..errors import ParameterError
from ..registry import build, resolve

__all__ = ["Rendered", "Renderer", "RENDERERS", "build_renderer", "renderer_class", "uses"]


@dataclass(frozen=True, eq=False)
class Rendered:
    """One rendered segment.

    Parameters
    ----------
    mix : np.ndarray [shape=(n,), dtype=float32]
        The mono mix.
    stems : dict[str, np.ndarray]
        Stem name -> mono signal of the same length as ``mix``; the stems sum to ``mix``
        (up to float32 rounding).
    sr : int
        Sampling rate of ``mix`` and of every stem.
    """

    mix: np.ndarray
    stems: dict[str, np.ndarray]
    sr: int

    def __post_init__(self) -> None:
        if not isinstance(self.mix, np.ndarray) or self.mix.ndim != 1:
            raise ParameterError(
                f"mix must be a 1-D numpy array, got {type(self.mix).__name__} "
                f"with shape {getattr(self.mix, 'shape', None)}"
            )
        if int(self.sr) != self.sr or self.sr <= 0:
            raise ParameterError(f"sr={self.sr!r} must be a positive integer")
        for name, stem in self.stems.items():
            if not isinstance(stem, np.ndarray) or stem.shape != self.mix.shape:
                raise ParameterError(
                    f"stem {name!r} has shape {getattr(stem, 'shape', None)}; "
                    f"expected {self.mix.shape} like the mix"
                )


@runtime_checkable
class Renderer(Protocol):
    """Anything that renders :class:`Controls` to :class:`Rendered` audio at a fixed ``sr``.

    Optional class attributes say what else a backend takes (``render_batch`` keywords a
    caller passes only where declared): ``uses_probe`` (``probe=``, one probed text-space
    vector or None per item, aural_core/probe.py), ``uses_reference_audio``
    (``reference_audio=``, the source section's mono audio at the renderer's ``reference_sr``
    per item) and ``conditioning``, what a render is conditioned on by default ("controls",
    "prompt", "prompt+chroma"), as reports show it.
    """

    name: str
    sr: int

    def render(self, controls: Controls, *, seconds: float, seed: int) -> Rendered:
        """Render one segment; the same ``controls``, ``seconds`` and ``seed`` give identical arrays.

        Parameters
        ----------
        controls : Controls
            What to render.
        seconds : float > 0
            Length of the segment in seconds.
        seed : int
            Seed of every random choice.

        Returns
        -------
        Rendered
            ``round(seconds * sr)`` samples at ``sr``.
        """
        ...

    def render_batch(
        self, controls: Sequence[Controls], *, seconds: float, seeds: Sequence[int]
    ) -> list[Rendered]:
        """Render several segments of one length.

        Parameters
        ----------
        controls : sequence of Controls
            What to render, one item each.
        seconds : float > 0
            Length of every segment in seconds.
        seeds : sequence of int
            One seed per item: ``seeds[i]`` goes with ``controls[i]``.

        Returns
        -------
        list of Rendered
            In the order of ``controls``.
        """
        ...


# name -> "module:attribute", imported on first use (see ``aural_core.registry``).
RENDERERS: dict[str, str] = {
    "synth": "aural_core.render.synth:SynthRenderer",
    "musicgen": "aural_core.render.musicgen:MusicgenRenderer",
    "musicgen-melody": "aural_core.render.melody:MusicgenMelodyRenderer",
}


def build_renderer(name: str, **options) -> Renderer:
    """Build a renderer by name.

    Parameters
    ----------
    name : str
        ``"synth"`` (the procedural :class:`~aural_core.render.synth.SynthRenderer`),
        ``"musicgen"`` or ``"musicgen-melody"`` (their modules are imported lazily).
    **options
        Keyword arguments of the renderer's constructor.

    Returns
    -------
    Renderer

    Raises
    ------
    ParameterError
        When ``name`` is unknown; the message lists the known names.
    ModelNotFoundError
        When a MusicGen checkpoint is not on this machine.
    """
    return build(RENDERERS, name, role="renderer", **options)


def renderer_class(name: str) -> type:
    """The class of a renderer, imported but not built (no weights load).

    Parameters
    ----------
    name : str
        A key of ``RENDERERS``.

    Returns
    -------
    type

    Raises
    ------
    ParameterError
        When ``name`` is unknown; the message lists the known names.
    """
    return resolve(RENDERERS, name, role="renderer")


def uses(name: str, what: str) -> bool:
    """Whether a renderer takes an optional input, by its class attribute ``uses_<what>``.

    Parameters
    ----------
    name : str
        A key of ``RENDERERS``.
    what : str
        ``"probe"`` or ``"reference_audio"``.

    Returns
    -------
    bool
        False when the class does not declare it.

    Raises
    ------
    ParameterError
        When ``name`` is unknown.
    """
    return bool(getattr(renderer_class(name), f"uses_{what}", False))
