"""Seed section 6: controls from adapter predictions, the baseline, and the scores.

- MatchScore: mean over sections of the cosine similarity between the rendered segment's
  embedding (mean of its frames' embeddings) and its source section's (mean of the section's
  frames), both from the analysis embedder.
- baseline: the same renderer with fixed controls (``EvalConfig.baseline_prompt``,
  ``baseline_bpm`` and ``baseline_key``, neutral stem gains, the style-table row nearest the
  middle of brightness/density/dynamics).
- TempoCorr: Pearson r between each section's reference tempo (beat tracker on the input) and
  the tempo the same beat tracker measures on its render.
Targets: MatchScore >= baseline + ``EvalConfig.match_margin`` and TempoCorr >=
``EvalConfig.min_tempo_corr``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .config import EvalConfig
from .controls import STEMS, Controls
from .render.balance import stem_gains_for
from .styles import StyleTable
from .vocab import EMOTIONS, KEYS_14


def predicted_controls(pred: dict[str, np.ndarray], styles: StyleTable,
                       descriptors: list[dict[str, float]]) -> list[Controls]:
    """Controls for each section from ``Adapter.predict`` output and measured descriptors.

    The key head predicts one of 14 natural-root keys, which is a valid full key name.
    Stem gains come from the stem balancer (emotion, style and the section's descriptors).
    """
    out = []
    for i, desc in enumerate(descriptors):
        emotion = EMOTIONS[int(pred["emotion"][i])]
        style = styles[int(pred["style"][i])]
        out.append(Controls(
            emotion=emotion, bpm=float(round(pred["bpm"][i], 1)), key=KEYS_14[int(pred["key"][i])],
            style_id=style.id, style_prompt=style.prompt,
            stem_gains=stem_gains_for(emotion, style, section_descriptors=desc),
        ))
    return out


def section_seed(base: int, file_id: str, section: str) -> int:
    """A render seed that belongs to the section itself, not to its position in a list."""
    return base + int(hashlib.sha256(f"{file_id}:{section}".encode()).hexdigest()[:6], 16)


def section_descriptors(section: Mapping[str, float]) -> dict[str, float]:
    """What the stem balancer reads of a source section (its row of the sections contract)."""
    return {k: float(section[k]) for k in ("energy", "beat_strength")}


def baseline_controls(styles: StyleTable, config: EvalConfig) -> Controls:
    """Fixed controls of the no-adapter baseline (see the module docstring)."""
    middle = min(styles.styles, key=lambda s: ((s.brightness - 0.5) ** 2 + (s.density - 0.5) ** 2
                                                + (s.dynamics - 0.5) ** 2, s.id))
    return Controls(emotion=middle.emotion, bpm=config.baseline_bpm, key=config.baseline_key,
                    style_id=middle.id, style_prompt=config.baseline_prompt,
                    stem_gains={s: 1.0 for s in STEMS})


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson r; NaN when either side is constant (no correlation can be measured)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) < 2 or np.std(x) == 0 or np.std(y) == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])


@dataclass(frozen=True)
class Scores:
    match_score: float
    baseline_match_score: float
    match_delta: float
    tempo_corr: float
    passed: bool
    targets: dict


def score(match: list[float], baseline: list[float], ref_bpm: list[float], rendered_bpm: list[float],
          config: EvalConfig) -> Scores:
    m, b = float(np.mean(match)), float(np.mean(baseline))
    r = pearson(np.array(ref_bpm), np.array(rendered_bpm))
    passed = bool(m >= b + config.match_margin and np.isfinite(r) and r >= config.min_tempo_corr)
    return Scores(m, b, m - b, r, passed,
                  {"match_delta_min": config.match_margin, "tempo_corr_min": config.min_tempo_corr})
