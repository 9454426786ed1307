"""Sections (seed section 4c): k-means on frame energy -> intro / build / release.

Clusters are named in order of mean energy (quietest = intro). A section may span several
runs of frames; its spans are recorded. Clips with fewer frames than sections give fewer
sections (as do clips whose frames share fewer distinct energies), named from the quietest
upwards: one section is "intro", two are "intro" and "build".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.cluster import KMeans

from .config import SectionConfig
from .errors import ParameterError
from .labels import bpm_label, emotion_label, key_label, pitch_class_histogram, style_label
from .vocab import EMOTIONS

SECTION_NAMES = ("intro", "build", "release")
_DEFAULTS = SectionConfig()  # the defaults live in config.py


@dataclass(frozen=True)
class Section:
    name: str
    frames: np.ndarray               # frame indices, ascending
    spans: list[tuple[int, int]]     # runs of consecutive frames [first, last]


def section_frames(energy: np.ndarray, *, n_sections: int = _DEFAULTS.n_sections,
                   seed: int = _DEFAULTS.seed) -> list[Section]:
    """Group frames into up to ``n_sections`` energy clusters, ordered by mean energy."""
    if isinstance(n_sections, bool) or not isinstance(n_sections, int) or n_sections < 1:
        raise ParameterError(f"n_sections={n_sections!r} must be a positive integer")
    energy = np.asarray(energy, dtype=float)
    n = len(energy)
    if n == 0:
        return []
    k = min(n_sections, n, len(SECTION_NAMES), len(np.unique(energy)))
    if k == 1:
        groups = np.zeros(n, dtype=int)
    else:
        groups = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(energy[:, None])
    means = {g: energy[groups == g].mean() for g in np.unique(groups)}
    order = sorted(means, key=lambda g: (means[g], g))
    names = SECTION_NAMES[: len(order)]
    sections = []
    for name, g in zip(names, order):
        idx = np.flatnonzero(groups == g)
        sections.append(Section(name, idx, _runs(idx)))
    return sections


def _runs(idx: np.ndarray) -> list[tuple[int, int]]:
    if len(idx) == 0:
        return []
    breaks = np.flatnonzero(np.diff(idx) > 1)
    starts = np.concatenate([[idx[0]], idx[breaks + 1]])
    ends = np.concatenate([idx[breaks], [idx[-1]]])
    return [(int(a), int(b)) for a, b in zip(starts, ends)]


@dataclass(frozen=True)
class FrameArrays:
    """What labelling needs from one file's frames (read from the frames Parquet)."""

    x: np.ndarray               # (n, 521)
    start_s: np.ndarray
    end_s: np.ndarray
    energy: np.ndarray
    beat_strength: np.ndarray
    tempo_bpm: np.ndarray
    chroma: np.ndarray          # (n, 12)
    top_tags: list[list[str]]


@dataclass(frozen=True)
class LabelledSection:
    """One row of the sections contract."""

    section: str
    start_s: float
    end_s: float
    spans: list[tuple[float, float]]
    n_frames: int
    x: np.ndarray               # (521,) mean of the section's x_t
    energy: float
    beat_strength: float
    emotion: str
    emotion_id: int
    bpm: float
    key: str
    key_id: int
    key_full: str
    key_confidence: float
    style_id: int
    style_prompt: str


def label_sections(frames: FrameArrays, *, labels, sections, styles) -> list[LabelledSection]:
    """Sections of one file with their weak labels (``labels``/``sections`` are config parts)."""
    weights = frames.energy + 1e-3  # louder frames say more about the key; silence still counts
    file_histogram = pitch_class_histogram(frames.chroma, weights)
    out = []
    for sec in section_frames(frames.energy, n_sections=sections.n_sections, seed=sections.seed):
        i = sec.frames
        emotion = emotion_label([frames.top_tags[j] for j in i])
        energy = float(frames.energy[i].mean())
        key = key_label(pitch_class_histogram(frames.chroma[i], weights[i]), labels, file_histogram)
        style_id = style_label(emotion, energy, styles, labels)
        out.append(LabelledSection(
            section=sec.name, start_s=float(frames.start_s[i].min()), end_s=float(frames.end_s[i].max()),
            spans=[(float(frames.start_s[a]), float(frames.end_s[b])) for a, b in sec.spans],
            n_frames=len(i), x=frames.x[i].mean(axis=0).astype(np.float32), energy=energy,
            beat_strength=float(frames.beat_strength[i].mean()),
            emotion=emotion, emotion_id=EMOTIONS.index(emotion),
            bpm=bpm_label(frames.tempo_bpm[i], frames.beat_strength[i], labels),
            key=key.key, key_id=key.key_id, key_full=key.key_full, key_confidence=key.confidence,
            style_id=style_id, style_prompt=styles[style_id].prompt,
        ))
    return out
