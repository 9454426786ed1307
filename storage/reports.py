"""Evaluation reports: ``eval.json`` (the contract), ``eval.md`` and ``index.html`` with audio."""

from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from aural_core.audio import load_audio
from aural_core.controls import Controls
from aural_core.evaluation import Scores

from .atomic import atomic_path, write_text_atomic

REPORT_SCHEMA_VERSION = "1"
AUDIO_SR = 22050


@dataclass
class EvalSection:
    row: dict            # the section's row of the sections contract (weak labels, spans ...)
    controls: Controls   # predicted controls
    adapter: dict        # {"path", "match", "bpm"} of the adapter render
    baseline: dict       # the same for the baseline render
    prediction: dict     # head confidences


def _finite(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), 4)


def _write_ogg(path: Path, y: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        sf.write(tmp, y, AUDIO_SR, format="OGG", subtype="VORBIS")


def _source_excerpt(path: str, spans: list, seconds: float) -> np.ndarray:
    """The section's audio (its spans in order), at most ``seconds`` long."""
    y = load_audio(path, sr=AUDIO_SR)
    parts, total = [], 0
    for start, end in spans:
        part = y[int(start * AUDIO_SR): int(end * AUDIO_SR)][: int(seconds * AUDIO_SR) - total]
        parts.append(part)
        total += len(part)
    return np.concatenate(parts) if parts else np.zeros(1, np.float32)


def _agreement(sections: list[EvalSection]) -> dict:
    n = len(sections)
    return {
        "emotion": round(sum(s.controls.emotion == s.row["emotion"] for s in sections) / n, 4),
        "key": round(sum(s.controls.key == s.row["key"] for s in sections) / n, 4),
        "style": round(sum(s.controls.style_id == s.row["style_id"] for s in sections) / n, 4),
    }


def write_reports(report: str | Path, *, sections: list[EvalSection], scores: Scores, baseline: Controls,
                  energy: dict[str, list[dict]], inputs: dict[str, str], seconds: float, embedder: str,
                  renderer: str, failed: list, trained_on_eval: list | None = None) -> dict:
    """Write eval.json, eval.md, index.html and the audio they play; returns their paths."""
    report = Path(report)
    out_dir = report.parent
    audio_dir = out_dir / "audio"
    rows = []
    for i, s in enumerate(sections):
        r = s.row
        stem = f"{r['file_id']}-{r['section']}"
        _write_ogg(audio_dir / f"{stem}-source.ogg", _source_excerpt(inputs[r["file_id"]], r["spans"], seconds))
        for kind in ("adapter", "baseline"):
            _write_ogg(audio_dir / f"{stem}-{kind}.ogg", load_audio(getattr(s, kind)["path"], sr=AUDIO_SR))
        rows.append({
            "file_id": r["file_id"], "source": r["source"], "section": r["section"],
            "start_s": r["start_s"], "end_s": r["end_s"], "spans": r["spans"],
            "predicted": s.controls.to_dict(), "confidence": s.prediction,
            "weak_labels": {k: r[k] for k in ("emotion", "bpm", "key", "key_full", "style_id")},
            "reference_bpm": _finite(r["bpm"]), "rendered_bpm": _finite(s.adapter["bpm"]),
            "baseline_rendered_bpm": _finite(s.baseline["bpm"]),
            "match": _finite(s.adapter["match"]), "baseline_match": _finite(s.baseline["match"]),
            "audio": {k: f"audio/{stem}-{k}.ogg" for k in ("source", "adapter", "baseline")},
        })
    bpm_mae = float(np.mean([abs(s.controls.bpm - s.row["bpm"]) for s in sections]))
    body = {
        "schema_version": REPORT_SCHEMA_VERSION,
        "match_score": _finite(scores.match_score), "baseline_match_score": _finite(scores.baseline_match_score),
        "match_delta": _finite(scores.match_delta), "tempo_corr": _finite(scores.tempo_corr),
        "targets": scores.targets, "passed": scores.passed, "n_sections": len(sections),
        "n_files": len({s.row["file_id"] for s in sections}), "embedder": embedder, "renderer": renderer,
        "seconds": seconds, "bpm_mae": round(bpm_mae, 3), "agreement": _agreement(sections),
        "baseline_controls": baseline.to_dict(), "failed_inputs": failed,
        "trained_on_eval_files": trained_on_eval or [], "sections": rows,
    }
    write_text_atomic(report, json.dumps(body, indent=2))
    headline = {k: body[k] for k in ("match_score", "baseline_match_score", "match_delta", "tempo_corr",
                                     "bpm_mae", "n_sections", "passed")}
    md = out_dir / "eval.md"
    write_text_atomic(md, _markdown(body))
    page = out_dir / "index.html"
    write_text_atomic(page, _html(body, energy))
    return {"report": str(report), "markdown": str(md), "html": str(page), "headline": headline}


def _markdown(body: dict) -> str:
    t = body["targets"]
    lines = [
        "# Aural Architect evaluation", "",
        f"{body['n_sections']} sections of {body['n_files']} held-out files; embedder `{body['embedder']}`, "
        f"renderer `{body['renderer']}`, {body['seconds']:g} s renders.", "",
        "| metric | value | target |", "|---|---|---|",
        f"| MatchScore | {body['match_score']} | ≥ baseline + {t['match_delta_min']} |",
        f"| baseline MatchScore | {body['baseline_match_score']} | |",
        f"| match delta | {body['match_delta']} | ≥ {t['match_delta_min']} |",
        f"| TempoCorr | {body['tempo_corr']} | ≥ {t['tempo_corr_min']} |",
        f"| adapter BPM MAE | {body['bpm_mae']} | |",
        f"| agreement with weak labels (emotion / key / style) | {body['agreement']['emotion']} / "
        f"{body['agreement']['key']} / {body['agreement']['style']} | |",
        f"| **passed** | **{body['passed']}** | |", "",
        "| file | section | emotion | BPM (ref → rendered) | key | style | match | baseline |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in body["sections"]:
        p = r["predicted"]
        lines.append(f"| {r['source']} | {r['section']} | {p['emotion']} | {r['reference_bpm']} → {r['rendered_bpm']} "
                     f"| {p['key']} | {p['style_id']}: {p['style_prompt']} | {r['match']} | {r['baseline_match']} |")
    return "\n".join(lines) + "\n"


_COLORS = {"intro": "#8ecae6", "build": "#ffb703", "release": "#fb8500"}


def _energy_svg(frames: list[dict], sections: list[dict], width: int = 520, height: int = 90) -> str:
    """Energy per frame as a polyline over shaded section spans."""
    end = max(f["end_s"] for f in frames) or 1.0
    x = lambda t: 4 + (width - 8) * t / end  # noqa: E731
    y = lambda e: height - 4 - (height - 8) * e  # noqa: E731
    shapes = []
    for r in sections:
        for a, b in r["spans"]:
            shapes.append(f'<rect x="{x(a):.1f}" y="0" width="{x(b) - x(a):.1f}" height="{height}" '
                          f'fill="{_COLORS.get(r["section"], "#ccc")}" opacity="0.35"><title>{r["section"]}</title></rect>')
    pts = " ".join(f"{x((f['start_s'] + f['end_s']) / 2):.1f},{y(f['energy']):.1f}" for f in frames)
    return (f'<svg width="{width}" height="{height}" role="img" aria-label="energy curve">{"".join(shapes)}'
            f'<polyline points="{pts}" fill="none" stroke="#023047" stroke-width="2"/></svg>')


def _bars(match: float | None, baseline: float | None) -> str:
    def bar(v, color, label):
        w = max(0.0, min(1.0, v or 0.0)) * 120
        return (f'<div class="bar"><span>{label}</span><i style="width:{w:.0f}px;background:{color}"></i>'
                f'<b>{v}</b></div>')
    return bar(match, "#219ebc", "adapter") + bar(baseline, "#adb5bd", "baseline")


def _html(body: dict, energy: dict[str, list[dict]]) -> str:
    esc = html.escape
    by_file: dict[str, list[dict]] = {}
    for r in body["sections"]:
        by_file.setdefault(r["file_id"], []).append(r)
    verdict = "passed" if body["passed"] else "not passed"
    parts = [f"""<!doctype html><html><head><meta charset="utf-8"><title>Aural Architect evaluation</title>
<style>body{{font-family:system-ui,sans-serif;margin:24px;color:#111}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}}.bar{{display:flex;align-items:center;gap:6px;font-size:12px}}
.bar span{{width:56px}}.bar i{{display:inline-block;height:10px}}.bar b{{font-weight:600}}audio{{width:165px;height:32px}}
td.controls{{min-width:240px;max-width:340px}}.legend span{{padding:0 6px;margin-right:4px}}
.passed{{color:#2a9d8f}}.failed{{color:#e76f51}}</style></head><body>
<h1>Aural Architect evaluation</h1>
<p>{body['n_sections']} sections of {body['n_files']} held-out files · embedder <code>{esc(body['embedder'])}</code>
· renderer <code>{esc(body['renderer'])}</code> · {body['seconds']:g} s renders</p>
<table><tr><th>MatchScore</th><th>baseline</th><th>delta (≥ {body['targets']['match_delta_min']})</th>
<th>TempoCorr (≥ {body['targets']['tempo_corr_min']})</th><th>BPM MAE</th><th>result</th></tr>
<tr><td>{body['match_score']}</td><td>{body['baseline_match_score']}</td><td>{body['match_delta']}</td>
<td>{body['tempo_corr']}</td><td>{body['bpm_mae']}</td>
<td class="{'passed' if body['passed'] else 'failed'}"><b>{verdict}</b></td></tr></table>"""]
    for file_id, rows in by_file.items():
        legend = "".join(f'<span style="background:{c}">{n}</span>' for n, c in _COLORS.items())
        parts.append(f"<h2>{esc(rows[0]['source'])}</h2>{_energy_svg(energy[file_id], rows)}"
                     f'<p class="legend"><small>frame energy (0–1) over time; sections: {legend}</small></p>')
        parts.append("<table><tr><th>section</th><th>predicted controls</th><th>match vs baseline</th>"
                     "<th>source</th><th>adapter render</th><th>baseline render</th></tr>")
        for r in rows:
            p = r["predicted"]
            gains = ", ".join(f"{k} {v:.2f}" for k, v in p["stem_gains"].items())
            players = "".join(f'<td><audio controls preload="none" src="{esc(r["audio"][k])}"></audio></td>'
                              for k in ("source", "adapter", "baseline"))
            parts.append(
                f"<tr><td>{r['section']}<br><small>{r['start_s']:.0f}–{r['end_s']:.0f} s</small></td>"
                f"<td class=\"controls\">{esc(p['emotion'])} · {p['bpm']:.0f} BPM (ref {r['reference_bpm']}, rendered {r['rendered_bpm']})"
                f" · {esc(p['key'])}<br><small>{esc(p['style_prompt'])}</small><br><small>gains: {gains}</small></td>"
                f"<td>{_bars(r['match'], r['baseline_match'])}</td>{players}</tr>")
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts)
