"""The ``evaluate`` flow: predict controls for held-out music, render, score against a baseline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from prefect import flow, get_run_logger
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact

from aural_core.config import load_config
from aural_core.embedders import EMBED_DIM
from aural_core.features import X_COLUMN
from aural_core.evaluation import baseline_controls, predicted_controls, score
from aural_core.styles import load_style_table
from storage.frames import frames_path, read_frames
from storage.manifest import read_manifest
from storage.models import load_adapter
from storage.reports import EvalSection, write_reports
from storage.sections import read_sections, training_arrays
from tasks.common import one_blas_thread, result_storage_for, submit_cached
from tasks.evaluate import render_items, render_paths, score_render

from .analyze import analyze_flow
from .train import label_files



def _render_all(items: list[dict], config, seconds: float, out_dir: str, cache_dir: str, tag: str) -> list[str]:
    """Render items in batches of ``render.batch_size`` (MusicGen batches prompts)."""
    futures = []
    size = max(1, config.batch_size)
    for start in range(0, len(items), size):
        batch = items[start:start + size]
        last = render_paths(out_dir, batch, config, seconds)[-1]
        futures.append(submit_cached(render_items, output=last, data_dir=cache_dir, items=batch, config=config,
                                     seconds=seconds, out_dir=out_dir, label=f"{tag}-{start // size}"))
    return [p for fut in futures for p in fut.result()]


def _score_all(rows, arrays, adapter_wavs, baseline_wavs, config, cache_dir: str) -> list[dict]:
    """Score every render against its source section; [adapter, baseline] per section, in order."""
    task = score_render.with_options(result_storage=result_storage_for(cache_dir))
    futures = []
    for i, row in enumerate(rows):
        source = (arrays["X"][i, :EMBED_DIM]).tolist()
        for kind, wav in (("adapter", adapter_wavs[i]), ("baseline", baseline_wavs[i])):
            futures.append(task.submit(wav, source, config.features, config.labels,
                                       label=f"{row['source']}-{row['section']}-{kind}"))
    return [f.result() for f in futures]


def section_seed(base: int, file_id: str, section: str) -> int:
    """A render seed that belongs to the section itself, not to its position in a list."""
    import hashlib

    return base + int(hashlib.sha256(f"{file_id}:{section}".encode()).hexdigest()[:6], 16)


def _trained_files(adapter_info: dict) -> set[str]:
    """File ids the adapter was trained or validated on (from the metadata inside it)."""
    import json

    split = json.loads(adapter_info.get("metadata", "{}")).get("split", {})
    return set(split.get("train_files", [])) | set(split.get("val_files", []))


@flow(name="evaluate")
def evaluate_flow(input_dir: str = "data/eval", adapter: str = "models/adapter.pt",
                  report: str = "reports/eval.json", cache_dir: str = "data/cache",
                  config_path: str | None = None, show_progress: bool = True) -> dict:
    """Analyse held-out inputs, predict section controls, render adapter and baseline segments,
    score them and write ``reports/eval.json``, ``eval.md`` and ``index.html``."""
    logger = get_run_logger()
    config = load_config(config_path)
    styles = load_style_table(config.labels.styles_path)
    model, info = load_adapter(adapter)
    analysis = analyze_flow(input_dir=input_dir, cache_dir=cache_dir, config_path=config_path,
                            show_progress=show_progress)
    manifest = read_manifest(cache_dir, Path(input_dir).resolve().name)
    files = [f for f in manifest["files"] if f["status"] != "failed"]
    if not files:
        raise ValueError(f"no usable audio in {input_dir}: nothing to evaluate")
    trained_on = _trained_files(info)
    leaked = sorted(f["source"] for f in files if f["file_id"] in trained_on)
    if leaked:
        logger.warning("the adapter was trained on %d of these files (%s): scores are not held-out",
                       len(leaked), ", ".join(leaked))
    labelled = label_files(cache_dir, files, config)
    table = read_sections([o.result["sections"] for o in labelled.outcomes if o.result])
    arrays = training_arrays(table)
    rows = table.to_pylist()
    pred = model.predict(arrays["X"])
    descriptors = [{k: float(x[X_COLUMN[k]]) for k in ("energy", "beat_strength")} for x in arrays["X"]]
    controls = predicted_controls(pred, styles, descriptors)
    baseline = baseline_controls(styles, config.eval)
    seeds = [section_seed(config.render.seed, row["file_id"], row["section"]) for row in rows]
    render_dir = str(Path(cache_dir) / "renders")
    seconds = config.render.seconds
    adapter_wavs = _render_all([{"controls": c.to_dict(), "seed": s} for c, s in zip(controls, seeds)],
                               config.render, seconds, render_dir, cache_dir, "adapter")
    baseline_wavs = _render_all([{"controls": baseline.to_dict(), "seed": s} for s in seeds],
                                config.render, seconds, render_dir, cache_dir, "baseline")

    with one_blas_thread():
        scored = _score_all(rows, arrays, adapter_wavs, baseline_wavs, config, cache_dir)
    sections = [EvalSection(row=row, controls=controls[i], adapter=scored[2 * i], baseline=scored[2 * i + 1],
                            prediction={"emotion_prob": float(pred["emotion_prob"][i].max()),
                                        "key_prob": float(pred["key_prob"][i].max())})
                for i, row in enumerate(rows)]
    scores = score([s.adapter["match"] for s in sections], [s.baseline["match"] for s in sections],
                   [s.row["bpm"] for s in sections], [s.adapter["bpm"] for s in sections], config.eval)
    energy = {f["file_id"]: read_frames(frames_path(cache_dir, f["file_id"])).select(
        ["start_s", "end_s", "energy"]).to_pylist() for f in files}
    inputs = {f["file_id"]: str(Path(input_dir) / f["source"]) for f in files}
    result = write_reports(report, sections=sections, scores=scores, baseline=baseline, energy=energy,
                           inputs=inputs, seconds=seconds, embedder=config.features.embedder,
                           renderer=config.render.renderer, failed=analysis["failed"], trained_on_eval=leaked)
    create_table_artifact(key="eval-headline", table=[result["headline"]],
                          description="MatchScore vs baseline and TempoCorr on held-out music")
    create_markdown_artifact(key="eval-report", markdown=Path(result["markdown"]).read_text(),
                             description="Evaluation report")
    create_link_artifact(key="eval-html", link=Path(result["html"]).resolve().as_uri(),
                         link_text="HTML report with audio players")
    logger.info("match %.3f vs baseline %.3f (delta %.3f), tempo r %.3f -> %s", scores.match_score,
                scores.baseline_match_score, scores.match_delta, scores.tempo_corr,
                "PASSED" if scores.passed else "not passed")
    return result
