"""The evaluation report folder: ``eval.json``, ``eval.md``, ``index.html`` and the audio they play.

:func:`write_reports` turns scored sections into an :class:`~storage.report.EvalReport` (the
contract, :mod:`storage.report`), writes the audio (:mod:`storage.report_audio`) and the two
readable views (:mod:`storage.report_pages`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aural_core.controls import Controls
from aural_core.evaluation import Scores

from .atomic import write_text_atomic
from .report import EvalReport, SectionReport, write_eval_json
from .report_audio import write_section_audio
from .report_pages import render_html, render_markdown


@dataclass
class EvalSection:
    """One scored section, as the evaluate flow hands it over."""

    row: dict            # the section's row of the sections contract (weak labels, spans ...)
    controls: Controls   # predicted controls
    adapter: dict        # {"path", "match", "bpm"} of the adapter render
    baseline: dict       # the same for the baseline render
    prediction: dict     # head confidences


def write_reports(report: str | Path, *, sections: list[EvalSection], scores: Scores, baseline: Controls,
                  energy: dict[str, list[dict]], inputs: dict[str, str], seconds: float, embedder: str,
                  renderer: str, failed: list, trained_on_eval: list | None = None) -> dict:
    """Write eval.json, eval.md, index.html and the audio they play.

    Parameters
    ----------
    report : str or Path
        Path of ``eval.json``; the other files go beside it.
    sections : list of EvalSection
    scores, baseline
        The run's scores and the baseline's controls.
    energy : dict
        ``{file_id: frames}`` for the energy curves (see :func:`~storage.report_pages.render_html`).
    inputs : dict
        ``{file_id: path}`` of every input file, for the source excerpts.
    seconds, embedder, renderer : run settings shown in the report.
    failed : list of dict
        ``{"source", "error"}`` per input the analysis could not use.
    trained_on_eval : list of str, optional
        Files the adapter was trained on although they are in the evaluation set.

    Returns
    -------
    paths : dict
        ``{"report", "markdown", "html"}`` paths and ``"headline"``, the headline figures.
    """
    report = Path(report)
    out_dir = report.parent
    rows = []
    for s in sections:
        audio = write_section_audio(out_dir, f"{s.row['file_id']}-{s.row['section']}",
                                    source=inputs[s.row["file_id"]], spans=s.row["spans"], seconds=seconds,
                                    adapter=s.adapter["path"], baseline=s.baseline["path"])
        rows.append(_section_report(s, audio))
    bpm_mae = float(np.mean([abs(s.controls.bpm - s.row["bpm"]) for s in sections]))
    body = EvalReport(
        match_score=_finite(scores.match_score), baseline_match_score=_finite(scores.baseline_match_score),
        match_delta=_finite(scores.match_delta), tempo_corr=_finite(scores.tempo_corr),
        targets=scores.targets, passed=scores.passed, n_sections=len(sections),
        n_files=len({s.row["file_id"] for s in sections}), embedder=embedder, renderer=renderer,
        seconds=seconds, bpm_mae=round(bpm_mae, 3),
        agreement=_agreement(sections), baseline_controls=baseline.to_dict(), failed_inputs=failed,
        trained_on_eval_files=trained_on_eval or [], sections=rows)
    write_eval_json(report, body)
    markdown = write_text_atomic(out_dir / "eval.md", render_markdown(body))
    page = write_text_atomic(out_dir / "index.html", render_html(body, energy))
    return {"report": str(report), "markdown": str(markdown), "html": str(page), "headline": body.headline()}


def _section_report(s: EvalSection, audio: dict[str, str]) -> SectionReport:
    r = s.row
    return SectionReport(
        file_id=r["file_id"], source=r["source"], section=r["section"], start_s=r["start_s"],
        end_s=r["end_s"], spans=r["spans"], predicted=s.controls.to_dict(), confidence=s.prediction,
        weak_labels={k: r[k] for k in ("emotion", "bpm", "key", "key_full", "style_id")},
        reference_bpm=_finite(r["bpm"]), rendered_bpm=_finite(s.adapter["bpm"]),
        baseline_rendered_bpm=_finite(s.baseline["bpm"]), match=_finite(s.adapter["match"]),
        baseline_match=_finite(s.baseline["match"]), audio=audio)


def _finite(x: float | None) -> float | None:
    """Rounded to 4 places; None for a score that could not be measured (JSON has no NaN)."""
    return None if x is None or not math.isfinite(x) else round(float(x), 4)


def _agreement(sections: list[EvalSection]) -> dict:
    n = len(sections)
    return {
        "emotion": round(sum(s.controls.emotion == s.row["emotion"] for s in sections) / n, 4),
        "key": round(sum(s.controls.key == s.row["key"] for s in sections) / n, 4),
        "style": round(sum(s.controls.style_id == s.row["style_id"] for s in sections) / n, 4),
    }
