"""The evaluation report folder: ``eval.json``, ``eval.md``, ``index.html`` and the audio they play.

:func:`write_reports` turns scored sections into an :class:`~storage.report.EvalReport` (the
contract, :mod:`storage.report`), writes the audio (:mod:`storage.report_audio`) and the two
readable views (:mod:`storage.report_pages`).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from aural_core.controls import Controls
from aural_core.scoring import METRICS, Scores

from .atomic import write_text_atomic
from .layout import ReportsLayout
from .report import EvalReport, SectionReport, write_eval_json
from .report_audio import write_section_audio
from .report_pages import render_html, render_markdown
from .report_verdict import verdict


@dataclass
class EvalSection:
    """One scored section, as the evaluate flow hands it over."""

    row: dict                          # the section's row of the sections contract (weak labels, spans ...)
    seconds: float                     # length of the source excerpt and of every render
    controls: dict[str, Controls | None]   # by kind (adapter, fixed, prior, shuffled, oracle)
    scored: dict[str, dict | None]     # by kind: what tasks.evaluate.score_render returned
    source_estimate: dict              # the independent estimator's reading of the source excerpt
    prediction: dict                   # head confidences
    # by kind: {"conditioning", "sampling"} (aural_core.render.conditioning.describe_render)
    settings: dict[str, dict] = field(default_factory=dict)


def write_reports(report: str | Path, *, sections: list[EvalSection], scores: Scores, baseline: Controls,
                  prior, energy: dict[str, list[dict]], inputs: dict[str, str], seconds: float, embedder: str,
                  renderer: str, estimator: str, controls_source: dict, failed: list,
                  trained_on_eval: list | None = None, ci_level: float = 0.95, probe: dict | None = None,
                  adapter: dict | None = None) -> dict:
    """Write eval.json, eval.md, index.html and the audio they play.

    Parameters
    ----------
    report : str or Path
        Path of ``eval.json``; the other files go beside it.
    sections : list of EvalSection
    scores : aural_core.scoring.Scores
    baseline, prior
        The fixed baseline's controls and the corpus prior (or None).
    energy : dict
        ``{file_id: frames}`` for the energy curves (see :func:`~storage.report_pages.render_html`).
    inputs : dict
        ``{file_id: path}`` of every input file, for the source excerpts.
    seconds, embedder, renderer, estimator, controls_source : run settings shown in the report.
    failed : list of dict
        ``{"source", "error"}`` per input the analysis could not use.
    trained_on_eval : list of str, optional
        Files the adapter was trained on although they are in the evaluation set.
    probe : dict, optional
        The linear probe's figures (:class:`~storage.report.ProbeReport`), when render.probe is on.
    adapter : dict, optional
        The adapter scored (:class:`~storage.report.AdapterReport`).

    Returns
    -------
    paths : dict
        ``{"report", "markdown", "html"}`` paths, ``"headline"``, the headline figures, and
        ``"verdict"``, whether the adapter helped in one line (:func:`~storage.report_verdict.verdict`).
    """
    layout = ReportsLayout.of_report(report)
    rows = []
    for s in sections:
        renders = {kind: r["path"] for kind, r in s.scored.items() if r}
        audio = write_section_audio(layout.root, f"{s.row['file_id']}-{s.row['section']}",
                                    source=inputs[s.row["file_id"]], spans=s.row["spans"], seconds=s.seconds,
                                    renders={("baseline" if k == "fixed" else k): p for k, p in renders.items()})
        rows.append(_section_report(s, audio, layout.root, inputs[s.row["file_id"]]))
    bpm_mae = float(np.mean([abs(s.controls["adapter"].bpm - s.row["bpm"]) for s in sections]))
    body = EvalReport(
        match_score=_finite(scores.match_score), baseline_match_score=_finite(scores.baseline_match_score),
        match_delta=_finite(scores.match_delta), tempo_corr=_finite(scores.tempo_corr),
        targets=scores.targets, passed=scores.passed, passed_ci=scores.passed_ci, n_sections=len(sections),
        n_files=len({s.row["file_id"] for s in sections}), embedder=embedder, renderer=renderer,
        seconds=seconds, bpm_mae=round(bpm_mae, 3), agreement=_agreement(sections),
        baseline_controls=baseline.to_dict(), estimator=estimator, controls_source=controls_source,
        prior=prior.to_dict() if prior else None, ci_level=ci_level,
        attributes={k: {m: _finite(v) for m, v in a.items()} for k, a in scores.attributes.items()},
        differences={ref: {m: {"delta": _finite(d.delta), "ci_low": _finite(d.ci_low), "ci_high": _finite(d.ci_high)}
                           for m, d in metrics.items()} for ref, metrics in scores.differences.items()},
        failed_inputs=failed, trained_on_eval_files=trained_on_eval or [], sections=rows, probe=probe,
        # like every path of the report, relative to its folder: a copied or moved report folder
        # with its models beside it reads the same, byte for byte
        adapter={**adapter, "file": _relative(adapter["file"], layout.root)} if adapter else None)
    write_eval_json(report, body)
    markdown = write_text_atomic(layout.eval_md, render_markdown(body))
    page = write_text_atomic(layout.index_html, render_html(body, energy))
    return {"report": str(report), "markdown": str(markdown), "html": str(page), "headline": body.headline(),
            "verdict": verdict(body)}


def _relative(path: str | Path, root: Path) -> str:
    return os.path.relpath(Path(path).resolve(), root)


def _section_report(s: EvalSection, audio: dict[str, str], root: Path, source: str) -> SectionReport:
    r = s.row
    adapter, fixed = s.scored["adapter"], s.scored["fixed"]
    renders = {}
    for kind, scored in s.scored.items():
        if not scored:
            continue
        renders[kind] = {"file": _relative(scored["path"], root), "controls": s.controls[kind].to_dict(),
                         "tracker_bpm": _finite(scored["bpm"]), "independent": scored["independent"],
                         **{m: _finite(scored[m]) for m in METRICS}, **s.settings.get(kind, {})}
    return SectionReport(
        file_id=r["file_id"], source=r["source"], section=r["section"], start_s=r["start_s"],
        end_s=r["end_s"], spans=r["spans"], predicted=s.controls["adapter"].to_dict(), confidence=s.prediction,
        weak_labels={**{k: r[k] for k in ("emotion", "bpm", "key", "key_full", "style_id")},
                     "label_source": r.get("label_source")},
        reference_bpm=_finite(r["bpm"]), rendered_bpm=_finite(adapter["bpm"]),
        baseline_rendered_bpm=_finite(fixed["bpm"]), match=_finite(adapter["match"]),
        baseline_match=_finite(fixed["match"]), audio=audio, seconds=s.seconds,
        source_file=_relative(source, root),
        source_estimate={"bpm": s.source_estimate["bpm"], "key": s.source_estimate["key"]}, renders=renders)


def _finite(x: float | None) -> float | None:
    """Rounded to 4 places; None for a score that could not be measured (JSON has no NaN)."""
    return None if x is None or not math.isfinite(x) else round(float(x), 4)


def _agreement(sections: list[EvalSection]) -> dict:
    n = len(sections)
    return {
        "emotion": round(sum(s.controls["adapter"].emotion == s.row["emotion"] for s in sections) / n, 4),
        "key": round(sum(s.controls["adapter"].key == s.row["key_full"] for s in sections) / n, 4),
        "style": round(sum(s.controls["adapter"].style_id == s.row["style_id"] for s in sections) / n, 4),
    }
