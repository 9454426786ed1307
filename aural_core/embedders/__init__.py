"""Audio embedders (512-D) and taggers behind small protocols; see ``build_embedder``."""

from .base import EMBED_DIM, Embedder, Tagger
from .builders import EMBEDDERS, TAGGERS, build_embedder, build_tagger

__all__ = ["EMBED_DIM", "Embedder", "Tagger", "EMBEDDERS", "TAGGERS", "build_embedder", "build_tagger"]
