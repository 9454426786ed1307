"""The ``evaluate`` flow: predict controls for held-out music, render, score against a baseline."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from aural_core.config import AuralConfig
from aural_core.embedders import EMBED_DIM
from aural_core.errors import InputsMissingError, ParameterError
from aural_core.evaluation import (
    CorpusPrior,
    predicted_controls,
    reference_controls,
    section_descriptors,
    section_seed,
    shuffled_partners,
)
from aural_core.probe import r2_score
from aural_core.render import renderer_class, uses
from aural_core.render.conditioning import describe_render
from aural_core.scoring import score
from runtime.runners import RunnerKind
from storage.frames import read_frames
from storage.keys import frames_file
from storage.layout import (
    DEFAULT_ADAPTER,
    DEFAULT_CACHE,
    DEFAULT_EVAL_INPUTS,
    DEFAULT_REPORT,
    CacheLayout,
    ModelsLayout,
    ReportsLayout,
    manifest_name,
)
from storage.manifest import read_manifest
from storage.models import describe_adapter, load_published, trained_file_ids
from storage.probe_store import find_probe
from storage.report import AdapterReport
from storage.report_pages import markdown_escape
from storage.reports import EvalSection
from storage.sections import read_sections, training_arrays
from tasks.common import one_blas_thread
from tasks.evaluate import ESTIMATOR_VERSION, estimate_sources, render_all, score_all, write_report
from tasks.probe import probe_lookup
from tasks.results import ReportFiles
from tasks.train import label_files, read_strong_labels

from .analyze import analyze_flow
from .settings import resolve_settings
from .summary import display_path, finish, run_flow, run_with_runner


@flow(name="evaluate")
def evaluate_flow(input_dir: str = DEFAULT_EVAL_INPUTS, adapter: str = DEFAULT_ADAPTER,
                  report: str = DEFAULT_REPORT, cache_dir: str = DEFAULT_CACHE,
                  config_path: str | None = None, show_progress: bool = True,
                  config: AuralConfig | None = None, task_runner: RunnerKind = "auto", workers: int = 2,
                  dask_address: str | None = None, publication: dict | None = None) -> dict:
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
            processes or dask; see runtime/runners.py). The work runs in the inner flow
            ``evaluate-sections``.
        workers: threads, processes or local Dask workers (at least 1).
        dask_address: an existing Dask scheduler (tcp://host:8786) instead of a local cluster.
        publication: how this adapter came to be evaluated, from the pipeline run that trained
            it: ``{"status": "published by this run" | "kept from an earlier run", "reason"}``;
            empty for an adapter evaluated on its own. The report names the adapter either way.
    """
    runner = {"task_runner": task_runner, "workers": workers, "dask_address": dask_address}
    return run_with_runner(evaluate_sections, **runner, input_dir=input_dir, adapter=adapter, report=report,
                           cache_dir=cache_dir, config_path=config_path, show_progress=show_progress,
                           config=config, analysis_runner=runner, publication=publication)


@flow(name="evaluate-sections")
def evaluate_sections(input_dir: str, adapter: str, report: str, cache_dir: str, config_path: str | None = None,
                      show_progress: bool = True, config: AuralConfig | None = None,
                      analysis_runner: dict | None = None, publication: dict | None = None) -> dict:
    """The body of ``evaluate_flow``, run with the task runner its parameters chose;
    ``analysis_runner`` passes the same choice on to the analysis of the held-out folder."""
    logger = get_run_logger()
    folder, cache = Path(input_dir).resolve(), CacheLayout(Path(cache_dir).resolve())
    reports = ReportsLayout.of_report(report)
    logger.info("evaluate: %s with %s -> %s", folder, Path(adapter).resolve(), reports.root)
    config, styles = resolve_settings(config, config_path)
    model, info = load_published(adapter)  # checked against the hash in metadata.json
    scored_adapter = _adapter_report(adapter, info, publication)
    logger.info("adapter: %s", AdapterReport(**scored_adapter).one_line())
    analysis, _ = run_flow(analyze_flow, input_dir=str(folder), cache_dir=str(cache.root), config=config,
                           show_progress=show_progress, **(analysis_runner or {}))
    files = [f for f in read_manifest(cache, manifest_name(folder))["files"] if f["status"] != "failed"]
    if not files:
        raise InputsMissingError(f"no usable audio in {folder}: nothing to evaluate")
    if len(files) < 2:
        logger.warning("%s holds one usable file: the file-level intervals need at least 2 held-out files "
                       "and read n/a", folder)
    leaked = sorted(f["source"] for f in files if f["file_id"] in trained_file_ids(info))
    if leaked:
        logger.warning("the adapter was trained on %d of these files (%s): scores are not held-out",
                       len(leaked), ", ".join(leaked))
    strong = read_strong_labels(cache, manifest_name(folder), {f["file_id"] for f in files}, styles)
    labelled = label_files(cache, files, config, styles, strong)
    table = read_sections([o.result.sections for o in labelled.outcomes if o.result])
    rows, arrays = table.to_pylist(), training_arrays(table)
    x, pred = arrays["X"], model.predict(arrays)
    adapter_controls = predicted_controls(pred, styles, [section_descriptors(r) for r in rows], sections=rows,
                                          source=config.controls)
    prior = CorpusPrior(**info["prior"]) if info.get("prior") else None
    if prior is None:
        logger.warning("%s records no corpus prior (trained before it was recorded): no prior reference", adapter)
    controls = reference_controls(rows, adapter_controls, styles, config=config.eval, prior=prior,
                                  bpm_range=(config.labels.bpm_min, config.labels.bpm_max))
    # Each section renders (and its source is read) over its own length, capped: a 9 s section is
    # not scored against 15 s of audio.
    lengths = [round(min(r["end_s"] - r["start_s"], config.render.seconds), 2) for r in rows]
    seeds = [section_seed(config.render.seed, r["file_id"], r["section"]) for r in rows]
    sources = {f["file_id"]: str(folder / f.get("path", f["source"])) for f in files}
    probe_report, probed = evaluate_probe(config, styles, info, ModelsLayout.of_adapter(adapter), x, rows)
    items = render_inputs(config, controls, rows, seeds, lengths, sources, probed)
    renders = {}
    for kind, kind_items in items.items():
        todo = [i for i, it in enumerate(kind_items) if it is not None]
        paths = render_all([kind_items[i] for i in todo], config.render, styles, cache, kind)
        renders[kind] = dict(zip(todo, paths))
    renderer = renderer_class(config.render.renderer)
    settings = {kind: [describe_render(renderer, controls[kind][i], styles, probed="probe" in it,
                                       probe_mix=config.render.probe_mix, do_sample=config.render.do_sample,
                                       temperature=config.render.temperature,
                                       guidance_scale=config.render.guidance_scale) if it else None
                       for i, it in enumerate(kind_items)] for kind, kind_items in items.items()}
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
                                        "key_prob": float(pred["key_full_prob"][i].max()),
                                        "bpm_prob": float(pred["bpm_prob"][i])},
                            settings={k: settings[k][i] for k in controls if settings[k][i]})
                for i, r in enumerate(rows)]
    energy = {f["file_id"]: read_frames(frames_file(cache, f["file_id"], config.features)).select(
        ["start_s", "end_s", "energy"]).to_pylist() for f in files}
    written = write_report(str(reports.eval_json), sections=sections, scores=scores,
                          baseline=controls["fixed"][0], prior=prior, energy=energy, inputs=sources,
                          seconds=config.render.seconds, embedder=config.features.embedder,
                          renderer=config.render.renderer, estimator=ESTIMATOR_VERSION,
                          controls_source=config.controls.model_dump(), ci_level=config.eval.ci_level,
                          failed=analysis["failed"],
                          trained_on_eval=leaked, probe=probe_report, adapter=scored_adapter)
    publish_eval_artifacts(written)
    logger.info("%s (match %.3f vs fixed baseline %.3f, tempo r %.3f; passed %s, passed_ci %s)", written.verdict,
                scores.match_score, scores.baseline_match_score, scores.tempo_corr, scores.passed, scores.passed_ci)
    result = {**written.to_dict(), "failed_inputs": analysis["failed"], "adapter": scored_adapter}
    return finish(result, [f["source"] for f in analysis["failed"]], f"evaluation of {folder}")


def _adapter_report(adapter: str, info: dict, publication: dict | None) -> dict:
    """The report's ``adapter`` entry (``storage.report.AdapterReport``)."""
    described = describe_adapter(adapter, info)
    published = described.pop("published")
    status = (publication or {}).get("status") or ("published" if published else "file")
    return {**described, "publication": status, "reason": (publication or {}).get("reason")}


def evaluate_probe(config: AuralConfig, styles, info: dict, models: ModelsLayout, x, rows: list[dict]):
    """With ``render.probe`` on: the stored probe of the published adapter's training set, its R²
    on these held-out sections (targets: their weak style's prompt states) and the probed vector
    of each section; ``(None, None)`` when off. A renderer that uses the probe cannot go without
    one (``ParameterError``); any other gets the figures when one is stored, else a warning."""
    if not config.render.probe:
        return None, None
    logger = get_run_logger()
    stored = find_probe(models, probe_lookup(config, styles, str(info.get("data_hash"))))
    used = uses(config.render.renderer, "probe")
    if stored is None:
        message = (f"render.probe is on but {models.probes} holds no probe for the published adapter's training "
                   f"set (data hash {info.get('data_hash')}) and text encoder {config.render.musicgen_model!r}: "
                   "train with this config (render.probe = true and that checkpoint present)")
        if used:
            raise ParameterError(message)
        logger.warning(message)
        return None, None
    vectors = stored.probe.predict(x[:, :EMBED_DIM])
    r2 = r2_score(stored.style_targets[[int(r["style_id"]) for r in rows]], vectors)
    meta = stored.metadata
    logger.info("probe %s: R² %s on %d held-out sections (validation %s); %s", stored.ref[:19],
                "n/a" if r2 is None else f"{r2:.3f}", len(rows), meta.get("r2_validation"),
                f"renders conditioned with mix {config.render.probe_mix:g}" if used
                else f"not used by the {config.render.renderer} renderer")
    report = {"ref": stored.ref, "text_model": meta.get("text_model", config.render.musicgen_model),
              "alpha": float(stored.probe.alpha), "r2_validation": meta.get("r2_validation"),
              "n_validation": meta.get("n_validation"), "r2_eval": None if r2 is None else round(r2, 4),
              "n_eval": len(rows), "mix": config.render.probe_mix, "used_for_renders": used}
    return report, (vectors if used else None)


def render_inputs(config: AuralConfig, controls: dict, rows: list[dict], seeds: list[int], lengths: list[float],
                  sources: dict[str, str], probed) -> dict[str, list[dict | None]]:
    """The render items of every kind and section (None where a kind has no controls).

    The adapter's renders carry their section's probed vector and the shuffled ones their
    partner's (both are the adapter's conditioning); the references (fixed, prior, oracle)
    render from their prompt alone. A renderer that reads the source (musicgen-melody) gets
    each section's own excerpt for every kind, so the kinds differ only in their controls.
    """
    partners = shuffled_partners([r["file_id"] for r in rows])
    reference = uses(config.render.renderer, "reference_audio")
    items: dict[str, list[dict | None]] = {}
    for kind, kind_controls in controls.items():
        items[kind] = []
        for i, c in enumerate(kind_controls):
            if c is None:
                items[kind].append(None)
                continue
            it = {"controls": c.to_dict(), "seed": seeds[i], "seconds": lengths[i]}
            source = {"adapter": i, "shuffled": partners[i]}.get(kind)
            if probed is not None and source is not None:
                it["probe"] = probed[source].tolist()
            if reference:
                r = rows[i]
                it["reference"] = {"path": sources[r["file_id"]], "file_id": r["file_id"],
                                   "start_s": float(r["start_s"]), "seconds": lengths[i]}
            items[kind].append(it)
    return items


def publish_eval_artifacts(result: ReportFiles) -> None:
    """The headline table (its description: whether the adapter helped, in one line) and the whole
    report (it opens with that line; tables and where the page with audio lies)."""
    create_table_artifact(key="eval-headline", table=[result.headline], description=result.verdict)
    create_markdown_artifact(key="eval-report", description="Evaluation report", markdown=(
        Path(result.markdown).read_text()
        + f"\n\nThe page with audio players: `{markdown_escape(display_path(Path(result.html)))}` (it plays "
          "the files of `audio/` beside it)."))
