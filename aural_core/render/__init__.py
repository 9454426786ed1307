"""Renderers: controls in, multi-stem audio out; plus the stem balancer.

``build_renderer("synth")`` gives the procedural :class:`SynthRenderer`;
``build_renderer("musicgen")`` and ``build_renderer("musicgen-melody")`` import their backends lazily.
"""

from .balance import NEUTRAL_GAINS, apply_stem_gains, split_stems, stem_gains_for, stem_share
from .base import RENDERERS, Rendered, Renderer, build_renderer, renderer_class, uses
from .synth import MOODS, Mood, SynthRenderer

__all__ = [
    "Rendered", "Renderer", "RENDERERS", "build_renderer", "renderer_class", "uses",
    "SynthRenderer", "Mood", "MOODS",
    "NEUTRAL_GAINS", "stem_gains_for", "split_stems", "apply_stem_gains", "stem_share",
]
