"""Offline tagger: documented rules over DSP descriptors onto the tag vocabulary.

Each descriptor is first mapped to a bounded "trait" in [-1, 1]; each tag scores a weighted
sum of traits (table ``TAG_RULES``). The top-5 tags of a frame are its tags, and the emotion
bins of those tags give the 5-D multi-hot (see ``aural_core.features``).

Traits (tanh of a centred, scaled descriptor):
  major   +1 major .. -1 minor        (key-profile correlation difference)
  bright  spectral centroid above / below 1.5 kHz
  fast    local tempo above / below 110 BPM (0 without beats)
  loud    frame level above / below -22 dBFS
  dense   onset rate above / below 4 onsets/s
  beat    beat strength above / below 0.4
  low     share of power below 200 Hz above / below 0.3
  harsh   spectral flatness above / below 0.05 (noise, distortion)
  clash   semitone-neighbour chroma energy (dissonance) above / below typical
"""

from __future__ import annotations

import numpy as np

from ..descriptors import describe_frames
from ..spectral import SpectralAnalysis
from ..vocab import TAG_NAMES

TRAITS = ("major", "bright", "fast", "loud", "dense", "beat", "low", "harsh", "clash")

TAG_RULES: dict[str, dict[str, float]] = {
    "Happy music": {"major": 1.0, "bright": 0.5, "fast": 0.4},
    "Pop music": {"major": 0.6, "beat": 0.6, "loud": 0.3},
    "Funk": {"beat": 0.7, "low": 0.4, "major": 0.3, "dense": 0.2},
    "Ukulele": {"major": 0.7, "bright": 0.4, "loud": -0.4},
    "Glockenspiel": {"bright": 1.0, "major": 0.5, "low": -0.5},
    "Disco": {"beat": 0.6, "fast": 0.4, "major": 0.5},
    "Tender music": {"loud": -0.8, "dense": -0.5, "major": 0.3},
    "Ambient music": {"beat": -0.8, "dense": -0.6, "loud": -0.3},
    "New-age music": {"beat": -0.5, "bright": 0.2, "major": 0.4, "dense": -0.5},
    "Lullaby": {"fast": -0.8, "loud": -0.6, "major": 0.3},
    "Piano": {"harsh": -0.6, "dense": -0.2, "beat": -0.4},
    "Acoustic guitar": {"harsh": -0.4, "loud": -0.4, "low": -0.3},
    "Angry music": {"loud": 0.6, "harsh": 0.5, "major": -0.5, "fast": 0.3},
    "Heavy metal": {"harsh": 0.8, "loud": 0.6, "fast": 0.3},
    "Distortion": {"harsh": 1.0, "bright": 0.4},
    "Exciting music": {"fast": 0.6, "loud": 0.5, "clash": 0.4},
    "Drum roll": {"dense": 0.8, "beat": -0.2, "clash": 0.2},
    "Punk rock": {"fast": 0.8, "harsh": 0.5, "loud": 0.3},
    "Sad music": {"major": -1.0, "fast": -0.5, "bright": -0.3},
    "Scary music": {"clash": 0.8, "major": -0.6, "bright": -0.3},
    "Drone": {"dense": -0.8, "low": 0.5, "beat": -0.5},
    "Bass guitar": {"low": 0.9, "bright": -0.3},
    "Cello": {"low": 0.5, "bright": -0.6, "harsh": -0.3},
    "Dark ambient": {"bright": -0.8, "major": -0.5, "beat": -0.5},
    "Electronic dance music": {"beat": 0.7, "fast": 0.5, "loud": 0.4},
    "Drum and bass": {"fast": 0.9, "dense": 0.7, "low": 0.3},
    "Techno": {"beat": 0.9, "fast": 0.3, "major": -0.2},
    "Hi-hat": {"dense": 0.7, "bright": 0.6},
    "Drum kit": {"beat": 0.6, "dense": 0.5},
    "Jazz": {"dense": 0.6, "clash": 0.4, "beat": 0.2},
}


def traits(desc: dict[str, np.ndarray]) -> np.ndarray:
    """Map descriptors to bounded traits (see the module docstring).

    Parameters
    ----------
    desc : dict of str to np.ndarray
        :func:`~aural_core.descriptors.describe_frames` output.

    Returns
    -------
    np.ndarray [shape=(n_frames, len(TRAITS))]
        In [-1, 1], columns in ``TRAITS`` order.
    """
    tempo = np.nan_to_num(desc["tempo_bpm"], nan=110.0)
    cols = {
        "major": np.tanh(desc["mode"] / 0.15),
        "bright": np.tanh((desc["centroid_oct"] - np.log2(1.5)) / 0.6),
        "fast": np.tanh((tempo - 110.0) / 25.0),
        "loud": np.tanh((desc["level_db"] + 22.0) / 8.0),
        "dense": np.tanh((desc["onset_rate"] - 4.0) / 2.0),
        "beat": np.tanh((desc["beat_strength"] - 0.4) / 0.25),
        "low": np.tanh((desc["low_share"] - 0.3) / 0.15),
        "harsh": np.tanh((desc["flatness"] - 0.05) / 0.05),
        "clash": np.tanh((desc["dissonance"] - 0.25) / 0.1),
    }
    return np.stack([cols[t] for t in TRAITS], axis=1)


_RULE_MATRIX = np.array([[TAG_RULES[tag].get(t, 0.0) for t in TRAITS] for tag in TAG_NAMES])


class RuleTagger:
    """Scores tags with ``TAG_RULES`` over descriptor traits."""

    name = "rules"

    def tag_scores(self, analysis: SpectralAnalysis, bounds: np.ndarray) -> np.ndarray:
        """Score every frame against every tag: the traits weighted by each tag's rule.

        Parameters
        ----------
        analysis : SpectralAnalysis
            The file's shared analyses.
        bounds : np.ndarray [shape=(n_frames, 2)]
            Sample ``[start, end)`` of each frame.

        Returns
        -------
        np.ndarray [shape=(n_frames, len(TAG_NAMES))]
            In [-1, 1]: each rule's weighted sum divided by its total absolute weight.
        """
        desc = describe_frames(analysis, bounds)
        scores = traits(desc) @ _RULE_MATRIX.T
        # Normalise by each rule's total weight so wide rules do not win by size alone.
        return scores / np.abs(_RULE_MATRIX).sum(axis=1)
