"""Independent agreement: judge renders with estimators that neither made the labels nor drive
the renderer (issue 10, item 4).

- :mod:`.estimate`: tempo, key and a timbre descriptor read by essentia
  (:func:`estimate_attributes` -> :class:`IndependentEstimate`);
- :mod:`.scores`: per-attribute agreement (:func:`tempo_agreement`, :func:`key_agreement`,
  :func:`timbre_similarity`);
- :mod:`.stats`: file-level bootstrap intervals (:func:`bootstrap_ci`, :func:`paired_summary`).

Importing this package does not import essentia; the first :func:`estimate_attributes` does.
"""

from .estimate import (
    KEY_PROFILE,
    TEMPO_METHOD,
    TIMBRE_FEATURES,
    EssentiaMissingError,
    IndependentEstimate,
    estimate_attributes,
)
from .scores import key_agreement, tempo_agreement, timbre_similarity, to_mir_eval_key
from .stats import bootstrap_ci, paired_summary

__all__ = [
    "KEY_PROFILE",
    "TEMPO_METHOD",
    "TIMBRE_FEATURES",
    "EssentiaMissingError",
    "IndependentEstimate",
    "bootstrap_ci",
    "estimate_attributes",
    "key_agreement",
    "paired_summary",
    "tempo_agreement",
    "timbre_similarity",
    "to_mir_eval_key",
]
