"""Seed section 6 and issue 10: the controls each render gets, and the references it is judged by.

Every held-out section is rendered five times, each with the same renderer, seed and length:

- ``adapter``: the adapter's predictions (``ControlsConfig`` may take key and BPM from the
  section's own measurement instead);
- ``fixed``: the seed's baseline, fixed controls (``EvalConfig.baseline_prompt``, ``baseline_bpm``,
  ``baseline_key``, neutral stem gains, the style row nearest the middle of brightness, density
  and dynamics);
- ``prior``: the training corpus's prior, constant controls (its most frequent emotion, style and
  key, its median BPM): what any adapter gets for free from knowing the corpus;
- ``shuffled``: the adapter's controls of a section of *another* file: what the adapter carries
  that is specific to the section, beyond suiting the corpus;
- ``oracle``: the section's own weak labels (its full 24-key estimate, BPM, emotion, style):
  the ceiling the adapter's controls could reach.

The scores live in :mod:`aural_core.scoring`.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from .config import ControlsConfig, EvalConfig
from .controls import STEMS, Controls, check_bpm
from .render.balance import stem_gains_for
from .styles import StyleTable
from .vocab import EMOTIONS, KEYS_FULL

KINDS = ("adapter", "fixed", "prior", "shuffled", "oracle")
REFERENCES = KINDS[1:]


def section_seed(base: int, file_id: str, section: str) -> int:
    """A render seed that belongs to the section itself, not to its position in a list."""
    return base + int(hashlib.sha256(f"{file_id}:{section}".encode()).hexdigest()[:6], 16)


def section_descriptors(section: Mapping[str, float]) -> dict[str, float]:
    """What the stem balancer reads of a source section (its row of the sections contract)."""
    return {k: float(section[k]) for k in ("energy", "beat_strength")}


def predicted_controls(pred: dict[str, np.ndarray], styles: StyleTable, descriptors: list[dict[str, float]],
                       *, sections: Sequence[Mapping] | None = None,
                       source: ControlsConfig | None = None) -> list[Controls]:
    """Controls for each section from ``Adapter.predict`` output and measured descriptors.

    The key is the key head's 24-key prediction (``pred["key_full"]``). With
    ``source.key == "measured"`` (or ``bpm``) the section's own ``key_full`` (``bpm``) from
    ``sections`` is used instead. Stem gains come from the stem balancer (emotion, style and
    the section's descriptors).
    """
    source = source or ControlsConfig()
    out = []
    for i, desc in enumerate(descriptors):
        emotion = EMOTIONS[int(pred["emotion"][i])]
        style = styles[int(pred["style"][i])]
        key = KEYS_FULL[int(pred["key_full"][i])] if source.key == "adapter" else sections[i]["key_full"]
        bpm = float(pred["bpm"][i]) if source.bpm == "adapter" else float(sections[i]["bpm"])
        out.append(Controls(
            emotion=emotion, bpm=round(bpm, 1), key=key, style_id=style.id, style_prompt=style.prompt,
            stem_gains=stem_gains_for(emotion, style, section_descriptors=desc),
        ))
    return out


def baseline_controls(styles: StyleTable, config: EvalConfig) -> Controls:
    """Fixed controls of the seed's no-adapter baseline (see the module docstring)."""
    middle = min(styles.styles, key=lambda s: ((s.brightness - 0.5) ** 2 + (s.density - 0.5) ** 2
                                                + (s.dynamics - 0.5) ** 2, s.id))
    return Controls(emotion=middle.emotion, bpm=config.baseline_bpm, key=config.baseline_key,
                    style_id=middle.id, style_prompt=config.baseline_prompt,
                    stem_gains={s: 1.0 for s in STEMS})


@dataclass(frozen=True)
class CorpusPrior:
    """The training corpus's most frequent labels and median tempo (ties: the lower id)."""

    emotion: str
    bpm: float
    key: str          # one of the 24 keys the adapter predicts
    style_id: int

    @classmethod
    def from_labels(cls, *, emotion_ids, bpm, key_ids, style_ids) -> CorpusPrior:
        def mode(ids) -> int:
            counts = Counter(int(i) for i in ids)
            return min(counts, key=lambda i: (-counts[i], i))

        return cls(emotion=EMOTIONS[mode(emotion_ids)], bpm=round(float(np.median(bpm)), 1),
                   key=KEYS_FULL[mode(key_ids)], style_id=mode(style_ids))

    def to_dict(self) -> dict:
        return asdict(self)

    def controls(self, styles: StyleTable) -> Controls:
        style = styles[self.style_id]
        return Controls(emotion=self.emotion, bpm=self.bpm, key=self.key, style_id=style.id,
                        style_prompt=style.prompt, stem_gains=stem_gains_for(self.emotion, style))


def oracle_controls(section: Mapping, styles: StyleTable) -> Controls:
    """The section's own weak labels as controls (the full 24-key estimate, not the 14 classes)."""
    style = styles[int(section["style_id"])]
    return Controls(emotion=section["emotion"], bpm=round(float(section["bpm"]), 1), key=section["key_full"],
                    style_id=style.id, style_prompt=style.prompt,
                    stem_gains=stem_gains_for(section["emotion"], style,
                                              section_descriptors=section_descriptors(section)))


def shuffled_partners(file_ids: Sequence[str]) -> list[int | None]:
    """For each section, the index of a section of another file (a fixed, seedless derangement):
    start half-way round the list and take the first section whose file differs. ``None``
    when every section comes from one file."""
    n = len(file_ids)
    out: list[int | None] = []
    for i in range(n):
        partner = next((j % n for j in range(i + n // 2, i + n // 2 + n) if file_ids[j % n] != file_ids[i]), None)
        out.append(partner)
    return out


def reference_controls(sections: Sequence[Mapping], adapter: Sequence[Controls], styles: StyleTable,
                       config: EvalConfig, prior: CorpusPrior | None, *,
                       bpm_range: tuple[float, float] | None = None) -> dict[str, list[Controls | None]]:
    """Controls of every kind (``KINDS``) for every section; ``None`` where a kind cannot be
    made (no prior recorded with the adapter, or a single file to shuffle across).

    Parameters
    ----------
    sections : sequence of mapping
        The sections' rows of the sections contract (labels, ``file_id``, descriptors).
    adapter : sequence of Controls
        The adapter's controls of each section (``predicted_controls``).
    styles : StyleTable
    config : EvalConfig
        The fixed baseline's settings.
    prior : CorpusPrior or None
        The training corpus's prior (None: no ``prior`` kind).
    bpm_range : (float, float), optional
        The labels' tempo range: every control's BPM is checked against it, here where the
        controls are made (``controls.check_bpm``).

    Returns
    -------
    dict
        ``{kind: [Controls or None per section]}`` for every kind of ``KINDS``.

    Raises
    ------
    ParameterError
        A control's BPM lies outside ``bpm_range``.
    """
    fixed = baseline_controls(styles, config)
    partners = shuffled_partners([s["file_id"] for s in sections])
    prior_controls = prior.controls(styles) if prior else None
    kinds = {
        "adapter": list(adapter),
        "fixed": [fixed] * len(sections),
        "prior": [prior_controls] * len(sections),
        "shuffled": [adapter[j] if j is not None else None for j in partners],
        "oracle": [oracle_controls(s, styles) for s in sections],
    }
    if bpm_range is not None:
        for kind, controls in kinds.items():
            for c in controls:
                if c is not None:
                    check_bpm(c.bpm, bpm_range=bpm_range, name=f"{kind} bpm")
    return kinds
