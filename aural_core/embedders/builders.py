"""Embedder and tagger backends by name (the backends themselves never import this module)."""

from __future__ import annotations

from ..registry import build
from .base import Embedder, Tagger

__all__ = ["EMBEDDERS", "TAGGERS", "build_embedder", "build_tagger"]

# name -> "module:attribute", imported on first use (see ``aural_core.registry``).
EMBEDDERS: dict[str, str] = {
    "dsp": "aural_core.embedders.dsp:DspEmbedder",
    "clap": "aural_core.embedders.clap:ClapEmbedder.from_pretrained",
}
TAGGERS: dict[str, str] = {
    "rules": "aural_core.embedders.rules:RuleTagger",
    "clap": "aural_core.embedders.clap:ClapTagger.from_pretrained",
}


def build_embedder(name: str, **options) -> Embedder:
    """Build an embedder backend by name.

    Parameters
    ----------
    name : str
        ``"dsp"`` (offline default) or ``"clap"`` (transformers, a local checkpoint).
    **options
        Keyword arguments of the backend: ``reference_path`` for ``dsp``; ``model`` (hub id or
        directory, default ``FeatureConfig().clap_model``), ``device`` and ``batch_size`` for
        ``clap``.

    Returns
    -------
    Embedder

    Raises
    ------
    ParameterError
        When ``name`` is unknown; the message lists the known names.
    ModelNotFoundError
        When the ``clap`` checkpoint is not on this machine.
    """
    return build(EMBEDDERS, name, role="embedder", **options)


def build_tagger(name: str, **options) -> Tagger:
    """Build a tagger backend by name.

    Parameters
    ----------
    name : str
        ``"rules"`` (offline default) or ``"clap"`` (text-audio similarity).
    **options
        Keyword arguments of the backend, as for :func:`build_embedder` (``rules`` takes none).

    Returns
    -------
    Tagger

    Raises
    ------
    ParameterError
        When ``name`` is unknown; the message lists the known names.
    ModelNotFoundError
        When the ``clap`` checkpoint is not on this machine.
    """
    return build(TAGGERS, name, role="tagger", **options)
