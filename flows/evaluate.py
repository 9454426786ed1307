"""The ``evaluate`` flow: predict controls for held-out music, render, score against a baseline."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from aural_core.config import AuralConfig
from aural_core.embedders import EMBED_DIM
from aural_core.errors import InputsMissingError
from aural_core.evaluation import CorpusPrior, predicted_controls, reference_controls, section_descriptors, section_seed
from aural_core.scoring import score
from storage.frames import read_frames
from storage.keys import frames_file
from storage.layout import CacheLayout, ReportsLayout, manifest_name
from storage.manifest import read_manifest
from storage.models import load_published, trained_file_ids
from storage.report_pages import markdown_escape
from storage.reports import EvalSection
from storage.sections import read_sections, training_arrays
from tasks.common import one_blas_thread
from tasks.evaluate import ESTIMATOR_VERSION, estimate_sources, render_all, score_all, write_report
from tasks.train import label_files

from .analyze import analyze_flow
from .runners import RunnerKind, run_with_runner
from .settings import resolve_settings
from .summary import display_path, finish, run_flow


@flow(name="evaluate")
def evaluate_flow(input_dir: str = "data/eval", adapter: str = "models/adapter.pt",
                  report: str = "reports/eval.json", cache_dir: str = "data/cache",
                  config_path: str | None = None, show_progress: bool = True,
                  config: AuralConfig | None = None, task_runner: RunnerKind = "threads", workers: int = 2,
                  dask_address: str | None = None) -> dict:
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
        config: settings as an object (a parent flow passes its own); overrides config_path.
        task_runner: where the analysis, labelling, render and scoring tasks run (threads,
            processes or dask; see flows/runners.py). The work runs in the inner flow
            ``evaluate-sections``.
        workers: threads, processes or local Dask workers (at least 1).
        dask_address: an existing Dask scheduler (tcp://host:8786) instead of a local cluster.
    """
    runner = {"task_runner": task_runner, "workers": workers, "dask_address": dask_address}
    return run_with_runner(evaluate_sections, **runner, input_dir=input_dir, adapter=adapter, report=report,
                           cache_dir=cache_dir, config_path=config_path, show_progress=show_progress,
                           config=config, analysis_runner=runner)


@flow(name="evaluate-sections")
def evaluate_sections(input_dir: str, adapter: str, report: str, cache_dir: str, config_path: str | None = None,
                      show_progress: bool = True, config: AuralConfig | None = None,
                      analysis_runner: dict | None = None) -> dict:
    """The body of ``evaluate_flow``, run with the task runner its parameters chose;
    ``analysis_runner`` passes the same choice on to the analysis of the held-out folder."""
    logger = get_run_logger()
    folder, cache = Path(input_dir).resolve(), CacheLayout(Path(cache_dir).resolve())
    reports = ReportsLayout.of_report(report)
    logger.info("evaluate: %s with %s -> %s", folder, Path(adapter).resolve(), reports.root)
    config, styles = resolve_settings(config, config_path)
    model, info = load_published(adapter)  # checked against the hash in metadata.json
    analysis, _ = run_flow(analyze_flow, input_dir=str(folder), cache_dir=str(cache.root), config=config,
                           show_progress=show_progress, **(analysis_runner or {}))
    files = [f for f in read_manifest(cache, manifest_name(folder))["files"] if f["status"] != "failed"]
    if not files:
        raise InputsMissingError(f"no usable audio in {folder}: nothing to evaluate")
    leaked = sorted(f["source"] for f in files if f["file_id"] in trained_file_ids(info))
    if leaked:
        logger.warning("the adapter was trained on %d of these files (%s): scores are not held-out",
                       len(leaked), ", ".join(leaked))
    labelled = label_files(cache, files, config, styles)
    table = read_sections([o.result["sections"] for o in labelled.outcomes if o.result])
    rows, x = table.to_pylist(), training_arrays(table)["X"]
    pred = model.predict(x)
    adapter_controls = predicted_controls(pred, styles, [section_descriptors(r) for r in rows], sections=rows,
                                          source=config.controls)
    prior = CorpusPrior(**info["prior"]) if info.get("prior") else None
    if prior is None:
        logger.warning("%s records no corpus prior (trained before it was recorded): no prior reference", adapter)
    controls = reference_controls(rows, adapter_controls, styles, config.eval, prior)
    # Each section renders (and its source is read) over its own length, capped: a 9 s section is
    # not scored against 15 s of audio.
    lengths = [round(min(r["end_s"] - r["start_s"], config.render.seconds), 2) for r in rows]
    seeds = [section_seed(config.render.seed, r["file_id"], r["section"]) for r in rows]
    renders = {}
    for kind, kind_controls in controls.items():
        todo = [i for i, c in enumerate(kind_controls) if c is not None]
        paths = render_all([{"controls": kind_controls[i].to_dict(), "seed": seeds[i], "seconds": lengths[i]}
                            for i in todo], config.render, styles, cache, kind)
        renders[kind] = dict(zip(todo, paths))
    sources = {f["file_id"]: str(folder / f.get("path", f["source"])) for f in files}
    with one_blas_thread():
        estimates = estimate_sources([{"path": sources[r["file_id"]], "file_id": r["file_id"], "start_s": r["start_s"],
                                       "seconds": lengths[i], "label": f"{r['source']}-{r['section']}"}
                                      for i, r in enumerate(rows)], cache)
        jobs = [(renders[kind][i], x[i, :EMBED_DIM].tolist(), estimates[i], f"{r['source']}-{r['section']}-{kind}")
                for kind in controls for i, r in enumerate(rows) if i in renders[kind]]
        scored_list = score_all(jobs, config.features, config.labels, cache)
    scored = {kind: [None] * len(rows) for kind in controls}
    it = iter(scored_list)
    for kind in controls:
        for i in range(len(rows)):
            if i in renders[kind]:
                scored[kind][i] = next(it)
    scores = score({k: v for k, v in scored.items() if any(v)}, file_ids=[r["file_id"] for r in rows],
                   reference_bpm=[r["bpm"] for r in rows], rendered_bpm=[s["bpm"] for s in scored["adapter"]],
                   config=config.eval, seed=config.render.seed)
    sections = [EvalSection(row=r, seconds=lengths[i], controls={k: controls[k][i] for k in controls},
                            scored={k: scored[k][i] for k in controls}, source_estimate=estimates[i],
                            prediction={"emotion_prob": float(pred["emotion_prob"][i].max()),
                                        "key_prob": float(pred["key_prob"][i].max())})
                for i, r in enumerate(rows)]
    energy = {f["file_id"]: read_frames(frames_file(cache, f["file_id"], config.features)).select(
        ["start_s", "end_s", "energy"]).to_pylist() for f in files}
    result = write_report(str(reports.eval_json), sections=sections, scores=scores,
                          baseline=controls["fixed"][0], prior=prior, energy=energy, inputs=sources,
                          seconds=config.render.seconds, embedder=config.features.embedder,
                          renderer=config.render.renderer, estimator=ESTIMATOR_VERSION,
                          controls_source=config.controls.model_dump(), ci_level=config.eval.ci_level,
                          failed=analysis["failed"],
                          trained_on_eval=leaked)
    publish_eval_artifacts(result)
    verdict = ("PASSED" if scores.passed else "not passed") + (" (also at the CI's bound)" if scores.passed_ci else "")
    logger.info("match %.3f vs fixed baseline %.3f (delta %.3f), tempo r %.3f -> %s", scores.match_score,
                scores.baseline_match_score, scores.match_delta, scores.tempo_corr, verdict)
    result["failed_inputs"] = analysis["failed"]
    return finish(result, [f["source"] for f in analysis["failed"]], f"evaluation of {folder}")


def publish_eval_artifacts(result: dict) -> None:
    """The headline table and the whole report (tables and where the page with audio lies)."""
    create_table_artifact(key="eval-headline", table=[result["headline"]],
                          description="MatchScore vs baseline and TempoCorr on held-out music")
    create_markdown_artifact(key="eval-report", description="Evaluation report", markdown=(
        Path(result["markdown"]).read_text()
        + f"\n\nThe page with audio players: `{markdown_escape(display_path(Path(result['html'])))}` (it plays "
          "the files of `audio/` beside it)."))
