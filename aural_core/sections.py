"""Sections (seed section 4c): up to three contiguous segments of a clip in time order.

The seed's "intro / build / release via k-means on energy" clusters frames by energy, which
gives clusters, not sections (a 2 s fade at the end became the "intro", a section could be 29
scattered spans). Here the clip is cut into at most ``n_sections`` consecutive segments that
minimise the within-segment energy variance, the k-means objective, under the contiguity
constraint: the exact 1-D optimal partition (dynamic programming over cut points, O(k n^2)).
Every segment lasts at least ``min_section_seconds``; a clip too short for three gets fewer
(at least one, the whole clip). Names follow time order: intro, build, release.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .config import LabelConfig, SectionConfig
from .errors import ParameterError
from .labels import (
    emotion_label,
    fold_bpm,
    key_label_frames,
    known_key,
    pitch_class_histogram,
    resolve_style,
    style_label,
    tempo_label,
)
from .strong_labels import FIELDS, StrongLabels
from .tempo import tracker_tempo
from .vocab import EMOTIONS

SECTION_NAMES = ("intro", "build", "release")
# Bump when labelling or sectioning changes its output: part of every sections cache key.
# 2: sections carry beat_strength; 3: the heads' evidence, strong labels, and key labels with
# Albrecht-Shanahan profiles, context weight 3 and a dominant margin; 4: the evidence carries the
# beat tracker's tempo; 5: tempo candidates include the periodicity's maxima, scored on the
# profile rescaled over the BPM range (tempo.periodicity_contrast)
LABELS_VERSION = "5"
_DEFAULTS = SectionConfig()  # the defaults live in config.py
_LABELS = LabelConfig()


@dataclass(frozen=True)
class Section:
    """One section of a clip: its name and its frames (``section_frames``)."""

    name: str
    frames: np.ndarray               # frame indices, ascending and consecutive
    spans: list[tuple[int, int]]     # [(first, last)]: one run of frames


def section_frames(energy: np.ndarray, *, start_s: np.ndarray, end_s: np.ndarray,
                   n_sections: int = _DEFAULTS.n_sections,
                   min_section_seconds: float = _DEFAULTS.min_section_seconds) -> list[Section]:
    """Cut frames into at most ``n_sections`` consecutive sections of >= ``min_section_seconds``.

    Parameters
    ----------
    energy : np.ndarray [shape=(n,)]
        Frame energy (0..1).
    start_s, end_s : np.ndarray [shape=(n,)]
        Frame bounds in seconds (ascending, consecutive).
    n_sections : int >= 1
    min_section_seconds : float >= 0
        Shortest section (seconds); a clip too short for ``n_sections`` of them gets fewer.

    Returns
    -------
    list[Section]
        In time order, covering every frame exactly once.

    Raises
    ------
    ParameterError
        When ``n_sections`` is not a positive integer or ``min_section_seconds`` is negative or not finite.
    """
    if isinstance(n_sections, bool) or not isinstance(n_sections, int) or n_sections < 1:
        raise ParameterError(f"n_sections={n_sections!r} must be a positive integer")
    if not np.isfinite(min_section_seconds) or min_section_seconds < 0:
        raise ParameterError(f"min_section_seconds={min_section_seconds!r} must be >= 0")
    energy = np.asarray(energy, dtype=float)
    n = len(energy)
    if n == 0:
        return []
    start_s, end_s = np.asarray(start_s, float), np.asarray(end_s, float)
    cuts = _optimal_cuts(energy, start_s, end_s, min(n_sections, len(SECTION_NAMES)), min_section_seconds)
    bounds = list(zip([0, *cuts], [*cuts, n]))
    return [Section(name, np.arange(a, b), [(a, b - 1)]) for name, (a, b) in zip(SECTION_NAMES, bounds)]


def _optimal_cuts(energy: np.ndarray, start_s: np.ndarray, end_s: np.ndarray, k_max: int,
                  min_seconds: float) -> list[int]:
    """Cut points (frame indices) of the least-variance partition with the most segments that fit."""
    n = len(energy)
    c1 = np.concatenate([[0.0], np.cumsum(energy)])
    c2 = np.concatenate([[0.0], np.cumsum(energy ** 2)])

    def sse(a: int, b: int) -> float:  # frames [a, b)
        s = c1[b] - c1[a]
        return float(c2[b] - c2[a] - s * s / (b - a))

    def long_enough(a: int, b: int) -> bool:
        return end_s[b - 1] - start_s[a] >= min_seconds - 1e-9

    for k in range(k_max, 1, -1):
        # best[j][i]: least cost of frames [0, i) in j segments; back[j][i]: where the last one starts
        best = np.full((k + 1, n + 1), np.inf)
        back = np.zeros((k + 1, n + 1), dtype=int)
        best[0][0] = 0.0
        for j in range(1, k + 1):
            for i in range(1, n + 1):
                for a in range(j - 1, i):
                    if np.isfinite(best[j - 1][a]) and long_enough(a, i):
                        cost = best[j - 1][a] + sse(a, i)
                        if cost < best[j][i] - 1e-12:
                            best[j][i], back[j][i] = cost, a
        if np.isfinite(best[k][n]):
            cuts, i = [], n
            for j in range(k, 0, -1):
                i = back[j][i]
                cuts.append(i)
            return sorted(cuts[:-1])  # drop the leading 0
    return []


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
    chroma_cqt: np.ndarray      # (n, 12) the key estimator's pitch classes
    tempo_acf_fine: np.ndarray  # (n, 97) the tempo estimator's periodicity profile
    percussive_share: np.ndarray
    onset_rate: np.ndarray


@dataclass(frozen=True)
class SectionEvidence:
    """What the key and tempo heads read of a section (``aural_core.heads``), beside x."""

    chroma: np.ndarray              # (12,) energy-weighted tuning-corrected CQT chroma, sums to 1
    context_chroma: np.ndarray      # (12,) the same over the whole file
    opening_chroma: np.ndarray      # (12,) the file's first audible frame (2 s), sums to 1
    closing_chroma: np.ndarray      # (12,) its last audible frame
    tempo_periodicity: np.ndarray   # (97,) energy-weighted mean of the frames' tempo_acf_fine
    percussive_share: float
    onset_rate: float               # onsets per second
    tracker_bpm: float              # the beat tracker's tempo (tempo.tracker_tempo); NaN: none


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
    evidence: SectionEvidence
    # Where each label came from: "weak", or "tag" / "sidecar" (aural_core.strong_labels).
    label_source: dict[str, str] = field(default_factory=lambda: dict.fromkeys(FIELDS, "weak"))
    # "" for the file's own audio; a transposed / time-stretched copy's Transform.slug (augment.py).
    transform: str = ""


AUDIBLE_FRACTION = 0.1  # of the median frame energy: quieter frames before and after the music are lead-in and tail


def edge_chroma(chroma: np.ndarray, energy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pitch classes of a file's first and of its last audible frame.

    Where music starts and ends says much of its key (tonal pieces open and close on the tonic
    chord), and the whole file's histogram hides both. Audible: at least ``AUDIBLE_FRACTION``
    of the median frame energy, so leading silence or a fading tail is skipped.

    Parameters
    ----------
    chroma : np.ndarray [shape=(n, 12)]
        The file's frames' CQT chroma.
    energy : np.ndarray [shape=(n,)]
        Their energy.

    Returns
    -------
    opening, closing : np.ndarray [shape=(12,)]
        Each sums to 1 (all zero for a silent frame).
    """
    audible = np.flatnonzero(energy >= AUDIBLE_FRACTION * np.median(energy))
    first, last = (audible[0], audible[-1]) if len(audible) else (0, len(energy) - 1)
    return tuple(pitch_class_histogram(chroma[[i]]).astype(np.float32) for i in (first, last))


def section_evidence(frames: FrameArrays, *, rows: np.ndarray, weights: np.ndarray, context: np.ndarray,
                     edges: tuple[np.ndarray, np.ndarray],
                     min_beat_strength: float = _LABELS.min_beat_strength) -> SectionEvidence:
    """The heads' evidence of the frames ``rows``, weighted as the weak labels weigh them.

    Parameters
    ----------
    frames : FrameArrays
        The file's frames (``n`` of them).
    rows : np.ndarray [shape=(m,), dtype=int]
        Indices of the section's frames.
    weights : np.ndarray [shape=(n,)]
        Weight of every frame of the file (energy + 1e-3 in ``label_sections``).
    context : np.ndarray [shape=(12,)]
        The whole file's pitch-class histogram.
    edges : tuple of np.ndarray [shape=(12,)]
        The file's opening and closing chroma (``edge_chroma``).
    min_beat_strength : float
        Frames with weaker beats do not count towards the tracker's tempo (the labeller's
        ``LabelConfig.min_beat_strength``).

    Returns
    -------
    SectionEvidence
        Weighted chroma and periodicity of the rows, the context and edges, the weighted percussive
        share and onset rate, and the tracker's tempo the weak tempo label starts from.
    """
    w = weights[rows]
    opening, closing = edges
    periodicity = (frames.tempo_acf_fine[rows] * w[:, None]).sum(axis=0) / w.sum()
    return SectionEvidence(
        chroma=pitch_class_histogram(frames.chroma_cqt[rows], weights=w).astype(np.float32),
        context_chroma=np.asarray(context, dtype=np.float32),
        opening_chroma=opening, closing_chroma=closing,
        tempo_periodicity=periodicity.astype(np.float32),
        percussive_share=float(np.average(frames.percussive_share[rows], weights=w)),
        onset_rate=float(np.average(frames.onset_rate[rows], weights=w)),
        tracker_bpm=tracker_tempo(frames.tempo_bpm[rows], frames.beat_strength[rows], periodicity,
                                  min_beat_strength=min_beat_strength))


def label_sections(frames: FrameArrays, *, labels, sections, styles,
                   strong: StrongLabels | None = None) -> list[LabelledSection]:
    """Sections of one file with their labels.

    Labels are weak (``aural_core.labels``) except the fields ``strong`` gives, which replace
    them in every section (their ``label_source`` says so); a strong style names a row of
    ``styles`` by id or prompt (one that names none stays weak).

    Parameters
    ----------
    frames : FrameArrays
        The file's frames, as analysis wrote them.
    labels : LabelConfig
        BPM range, key and style settings of the weak labels.
    sections : SectionConfig
        ``n_sections`` and ``min_section_seconds`` (``section_frames``).
    styles : StyleTable
        The style table the style labels index.
    strong : StrongLabels, optional
        What is known of the file; None for weak labels only.

    Returns
    -------
    list of LabelledSection
        In time order (intro, build, release; fewer for a short clip).
    """
    weights = frames.energy + 1e-3  # louder frames say more about the key; silence still counts
    file_histogram = pitch_class_histogram(frames.chroma_cqt, weights=weights)
    edges = edge_chroma(frames.chroma_cqt, frames.energy)
    strong = strong or StrongLabels()
    strong_style = resolve_style(strong.style, table=styles) if strong.style is not None else None
    sources = {f: strong.source.get(f, "weak") if getattr(strong, f) is not None else "weak" for f in FIELDS}
    if strong_style is None:
        sources["style"] = "weak"
    out = []
    for sec in section_frames(frames.energy, start_s=frames.start_s, end_s=frames.end_s,
                              n_sections=sections.n_sections, min_section_seconds=sections.min_section_seconds):
        i = sec.frames
        emotion = strong.emotion or emotion_label([frames.top_tags[j] for j in i])
        energy = float(frames.energy[i].mean())
        key = (known_key(strong.key) if strong.key else
               key_label_frames(frames.chroma_cqt[i], weights=weights[i], context=file_histogram, config=labels))
        bpm = (fold_bpm(strong.bpm, lo=labels.bpm_min, hi=labels.bpm_max) if strong.bpm is not None else
               tempo_label(tempo_bpm=frames.tempo_bpm[i], beat_strength=frames.beat_strength[i],
                           acf=frames.tempo_acf_fine[i], percussive_share=frames.percussive_share[i],
                           onset_rate=frames.onset_rate[i], weights=weights[i], config=labels)[0])
        style_id = (strong_style if strong_style is not None else
                    style_label(emotion, energy, table=styles, config=labels))
        out.append(LabelledSection(
            section=sec.name, start_s=float(frames.start_s[i].min()), end_s=float(frames.end_s[i].max()),
            spans=[(float(frames.start_s[a]), float(frames.end_s[b])) for a, b in sec.spans],
            n_frames=len(i), x=frames.x[i].mean(axis=0).astype(np.float32), energy=energy,
            beat_strength=float(frames.beat_strength[i].mean()),
            emotion=emotion, emotion_id=EMOTIONS.index(emotion),
            bpm=bpm,
            key=key.key, key_id=key.key_id, key_full=key.key_full, key_confidence=key.confidence,
            style_id=style_id, style_prompt=styles[style_id].prompt,
            evidence=section_evidence(frames, rows=i, weights=weights, context=file_histogram, edges=edges,
                                      min_beat_strength=labels.min_beat_strength),
            label_source=dict(sources),
        ))
    return out
