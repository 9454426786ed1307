"""The ``evaluate`` flow: predict controls for held-out music, render, score against a baseline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from aural_core.config import load_config
from aural_core.errors import InputsMissingError
from aural_core.embedders import EMBED_DIM
from aural_core.features import X_COLUMN
from aural_core.evaluation import baseline_controls, predicted_controls, score
from aural_core.styles import load_style_table
from storage.frames import read_frames
from storage.layout import CacheLayout, ReportsLayout, manifest_name
from storage.manifest import read_manifest
from storage.models import load_adapter, trained_file_ids
from storage.reports import EvalSection, write_reports
from storage.sections import read_sections, training_arrays
from tasks.common import one_blas_thread, submit_cached
from tasks.evaluate import render_items, render_paths, score_render

from .analyze import analyze_flow
from .summary import display_path, finish, markdown_escape, run_flow
from .train import label_files



def _render_all(items: list[dict], config, seconds: float, out_dir: str, cache: CacheLayout, tag: str) -> list[str]:
    """Render items in batches of ``render.batch_size`` (MusicGen batches prompts)."""
    futures = []
    size = max(1, config.batch_size)
    for start in range(0, len(items), size):
        batch = items[start:start + size]
        last = render_paths(out_dir, batch, config, seconds)[-1]
        futures.append(submit_cached(render_items, output=last, cache=cache, items=batch, config=config,
                                     seconds=seconds, out_dir=out_dir, label=f"{tag}-{start // size}"))
    return [p for fut in futures for p in fut.result()]


def _score_all(rows, arrays, adapter_wavs, baseline_wavs, config, cache: CacheLayout) -> list[dict]:
    """Score every render against its source section; [adapter, baseline] per section, in order."""
    task = score_render.with_options(result_storage=cache.prefect_results)
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


@flow(name="evaluate")
def evaluate_flow(input_dir: str = "data/eval", adapter: str = "models/adapter.pt",
                  report: str = "reports/eval.json", cache_dir: str = "data/cache",
                  config_path: str | None = None, show_progress: bool = True) -> dict:
    """Analyse held-out music, predict section controls, render adapter and baseline segments,
    score them and write the reports (eval.json, eval.md and index.html with audio).

    Args:
        input_dir: held-out audio folder. Relative paths resolve against the working directory
            of the process running the flow.
        adapter: adapter file written by the train flow.
        report: where eval.json goes; eval.md, index.html and audio/ go beside it.
        cache_dir: analysis and render cache (shared with the training analysis).
        config_path: TOML or JSON settings file; empty for the defaults.
        show_progress: draw a terminal progress bar (for the CLI; off in deployments).
    """
    logger = get_run_logger()
    folder, cache = Path(input_dir).resolve(), CacheLayout(Path(cache_dir).resolve())
    reports = ReportsLayout.of_report(report)
    logger.info("evaluate: %s with %s -> %s", folder, Path(adapter).resolve(), reports.root)
    config = load_config(config_path)
    styles = load_style_table(config.labels.styles_path)
    model, info = load_adapter(adapter)
    analysis, _ = run_flow(analyze_flow, input_dir=str(folder), cache_dir=str(cache.root),
                           config_path=config_path, show_progress=show_progress)
    manifest = read_manifest(cache, manifest_name(folder))
    files = [f for f in manifest["files"] if f["status"] != "failed"]
    if not files:
        raise InputsMissingError(f"no usable audio in {folder}: nothing to evaluate")
    trained_on = trained_file_ids(info)
    leaked = sorted(f["source"] for f in files if f["file_id"] in trained_on)
    if leaked:
        logger.warning("the adapter was trained on %d of these files (%s): scores are not held-out",
                       len(leaked), ", ".join(leaked))
    labelled = label_files(cache, files, config)
    table = read_sections([o.result["sections"] for o in labelled.outcomes if o.result])
    arrays = training_arrays(table)
    rows = table.to_pylist()
    pred = model.predict(arrays["X"])
    descriptors = [{k: float(x[X_COLUMN[k]]) for k in ("energy", "beat_strength")} for x in arrays["X"]]
    controls = predicted_controls(pred, styles, descriptors)
    baseline = baseline_controls(styles, config.eval)
    seeds = [section_seed(config.render.seed, row["file_id"], row["section"]) for row in rows]
    render_dir = str(cache.renders)
    seconds = config.render.seconds
    adapter_wavs = _render_all([{"controls": c.to_dict(), "seed": s} for c, s in zip(controls, seeds)],
                               config.render, seconds, render_dir, cache, "adapter")
    baseline_wavs = _render_all([{"controls": baseline.to_dict(), "seed": s} for s in seeds],
                                config.render, seconds, render_dir, cache, "baseline")

    with one_blas_thread():
        scored = _score_all(rows, arrays, adapter_wavs, baseline_wavs, config, cache)
    sections = [EvalSection(row=row, controls=controls[i], adapter=scored[2 * i], baseline=scored[2 * i + 1],
                            prediction={"emotion_prob": float(pred["emotion_prob"][i].max()),
                                        "key_prob": float(pred["key_prob"][i].max())})
                for i, row in enumerate(rows)]
    scores = score([s.adapter["match"] for s in sections], [s.baseline["match"] for s in sections],
                   [s.row["bpm"] for s in sections], [s.adapter["bpm"] for s in sections], config.eval)
    energy = {f["file_id"]: read_frames(cache.frames(f["file_id"])).select(
        ["start_s", "end_s", "energy"]).to_pylist() for f in files}
    inputs = {f["file_id"]: str(folder / f["source"]) for f in files}
    result = write_reports(reports.eval_json, sections=sections, scores=scores, baseline=baseline, energy=energy,
                           inputs=inputs, seconds=seconds, embedder=config.features.embedder,
                           renderer=config.render.renderer, failed=analysis["failed"], trained_on_eval=leaked)
    publish_eval_artifacts(result, reports)
    logger.info("match %.3f vs baseline %.3f (delta %.3f), tempo r %.3f -> %s", scores.match_score,
                scores.baseline_match_score, scores.match_delta, scores.tempo_corr,
                "PASSED" if scores.passed else "not passed")
    result["failed_inputs"] = analysis["failed"]
    return finish(result, [f["source"] for f in analysis["failed"]], f"evaluation of {folder}")


def publish_eval_artifacts(result: dict, reports: ReportsLayout) -> None:
    """The headline table and the whole report (tables and where the page with audio lies)."""
    create_table_artifact(key="eval-headline", table=[result["headline"]],
                          description="MatchScore vs baseline and TempoCorr on held-out music")
    page = Path(result["html"])
    create_markdown_artifact(key="eval-report", description="Evaluation report", markdown=(
        Path(result["markdown"]).read_text()
        + f"\n\nThe page with audio players: `{markdown_escape(display_path(page))}` (it plays the files "
          "of `audio/` beside it)."))
