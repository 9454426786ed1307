"""The demo corpus: short synthetic songs with known tempo, key, mood and sections.

Each clip is a small four-part arrangement (drums, bass, chords, melody) made by additive
synthesis (sums of decaying harmonics) and filtered noise, with an intro -> build -> release
energy arc. Every label is known by construction and written to ``truth.json`` beside the
audio, so the analysis steps can be scored on it.

By role: :mod:`.plan` (clip specs and ground truth), :mod:`.moods`, :mod:`.sounds` and
:mod:`.arranger` (synthesis), :mod:`.write` (files, through :mod:`storage.atomic`).
The corpus shares no synthesis code with the product's renderer, which it is used to
evaluate. It sits beside ``storage`` in the layers: it may import ``aural_core`` and
``storage``, never ``tasks`` or ``flows``.
"""

from .arranger import synthesize_clip
from .plan import GENERATOR, ClipSpec, plan_corpus
from .write import write_corpus

__all__ = ["ClipSpec", "plan_corpus", "synthesize_clip", "write_corpus", "GENERATOR"]
