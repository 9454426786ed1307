"""The whole pipeline in one flow: analyze -> train -> evaluate (demo corpus only when asked)."""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from aural_core.config import AuralConfig
from aural_core.errors import InputsMissingError
from runtime.runners import RunnerKind, check_runner
from runtime.termination import raise_if_terminated
from storage.layout import DATA_DIR, DataLayout
from storage.manifest import holds_audio, no_audio_message
from storage.report import AdapterReport
from storage.report_pages import markdown_escape

from .analyze import analyze_flow
from .demo import demo_flow
from .evaluate import evaluate_flow
from .settings import resolve_settings
from .summary import artifact_key, artifact_link, display_path, finish, run_flow
from .train import train_flow


@flow(name="pipeline")
def pipeline_flow(data_dir: str = DATA_DIR, models_dir: str | None = None, reports_dir: str | None = None,
                  config_path: str | None = None, demo_if_empty: bool = False,
                  show_progress: bool = True, config: AuralConfig | None = None,
                  force_publish: bool = False, task_runner: RunnerKind = "auto", workers: int = 2,
                  dask_address: str | None = None) -> dict:
    """Analyse the training and held-out music, train the adapter and evaluate it.

    A run in which any input file failed still trains and evaluates on the others, then ends
    Failed (filter on it, or alert with an automation on "prefect.flow-run.Failed").

    Args:
        data_dir: folder holding inputs/ (training audio), eval/ (held-out audio) and cache/.
            Relative paths resolve against the working directory of the process running the
            flow (for a deployment: the folder its pull step sets, see prefect.yaml).
        models_dir: where adapter.pt, metadata.json and the model store go; empty: models/
            for the default data folder, <data_dir>/models for any other (each data folder
            trains and publishes its own adapter; a models folder shared by several keeps one
            published adapter per data folder, see storage/lineage.py).
        reports_dir: where eval.json, eval.md and index.html go; empty: reports/ for the default
            data folder, <data_dir>/reports for any other.
        config_path: TOML or JSON settings file; empty for the defaults.
        demo_if_empty: write the synthetic demo corpus when inputs/ holds no audio. Off by
            default: an empty or missing inputs folder (an unmounted volume, a typo) fails.
        show_progress: draw terminal progress bars (for the CLI; off in deployments).
        config: settings as a typed object (the Run form's fields); overrides config_path.
        force_publish: publish the new adapter even when it is worse than the published one
            (by default it replaces the published adapter only when no worse, see the train flow).
        task_runner: where every stage's per-file tasks run: threads, processes or dask
            (see runtime/runners.py).
        workers: threads, processes or local Dask workers (at least 1).
        dask_address: an existing Dask scheduler (tcp://host:8786) instead of a local cluster;
            its workers need this code and environment and data/ at the same absolute path.
    """
    logger = get_run_logger()
    check_runner(task_runner, workers, dask_address)  # before any stage starts
    runner = {"task_runner": task_runner, "workers": workers, "dask_address": dask_address}
    layout = DataLayout.resolve(data_dir, models_dir, reports_dir)
    config = resolve_settings(config, config_path)[0]  # read once; the stages get the object
    logger.info("pipeline: %s", layout.describe())
    result: dict = {}
    if not holds_audio(layout.inputs):
        if not demo_if_empty:
            raise InputsMissingError(no_audio_message(layout.inputs, layout.data))
        logger.warning("%s holds no audio: writing the demo corpus into %s", layout.inputs, layout.data)
        result["demo"] = demo_flow(out_dir=str(layout.data))
    cache = str(layout.cache.root)
    result["analyze"], analysis_failed = run_flow(
        analyze_flow, input_dir=str(layout.inputs), cache_dir=cache, config=config,
        show_progress=show_progress, **runner)
    result["train"] = train_flow(cache_dir=cache, out_path=str(layout.models.adapter), config=config,
                                 manifest=str(layout.inputs), show_progress=show_progress,
                                 force_publish=force_publish, **runner)
    raise_if_terminated()  # a SIGTERM the train flow's engine swallowed stops the pipeline here
    train = result["train"]
    publication = {"status": "published by this run" if train["published"] else "kept from an earlier run",
                   "reason": train["decision"]["reason"] if train["published"] else
                   f"this run's adapter {train['ref'][:19]} was not published: {train['decision']['reason']}"}
    result["eval"], eval_failed = run_flow(
        evaluate_flow, input_dir=str(layout.eval), adapter=train["adapter"],
        report=str(layout.reports.eval_json), cache_dir=cache, config=config,
        show_progress=show_progress, publication=publication, **runner)
    failures = [f["source"] for f in result["analyze"]["failed"]] + [
        f["source"] for f in result["eval"].get("failed_inputs", [])]
    result["failed_files"] = failures
    _publish_summary(result, layout)
    return finish(result, failures, "pipeline")


def _publish_summary(result: dict, layout: DataLayout) -> None:
    """The run's own artifact: whether the adapter helped, headline table, stage outcomes, where the reports are."""
    h = result["eval"]["headline"]
    analysed = result["analyze"]
    lines = [
        "# Aural Architect pipeline", "", f"**{markdown_escape(result['eval']['verdict'])}**", "",
        "| MatchScore | baseline | delta | TempoCorr | BPM MAE | sections | passed | passed_ci |",
        "|---|---|---|---|---|---|---|---|",
        f"| {h['match_score']} | {h['baseline_match_score']} | {h['match_delta']} | {h['tempo_corr']} "
        f"| {h['bpm_mae']} | {h['n_sections']} | {h['passed']} | {h['passed_ci']} |", "",
        f"- analysis of inputs: {len(analysed['computed'])} computed, {len(analysed['cached'])} cached, "
        f"{len(analysed['failed'])} failed ({artifact_link(artifact_key('analyze', layout.inputs.name))}, "
        f"held-out: {artifact_link(artifact_key('analyze', layout.eval.name))})",
        f"- adapter scored: `{markdown_escape(display_path(result['train']['adapter']))}`, "
        f"{markdown_escape(AdapterReport(**result['eval']['adapter']).one_line())} "
        f"({artifact_link('train-summary')}, {artifact_link('adapter-metrics')}, "
        f"{artifact_link('adapter-publish-decision')})",
        f"- evaluation: `{markdown_escape(display_path(layout.reports.eval_json))}` and the page "
        f"`{markdown_escape(display_path(layout.reports.index_html))}` "
        f"({artifact_link('eval-headline')}, {artifact_link('eval-report')})",
    ]
    for f in analysed["failed"]:
        lines.append(f"- failed: {markdown_escape(f['source'])}: {markdown_escape(f['error'] or '')}")
    create_markdown_artifact(key="pipeline-summary", markdown="\n".join(lines),
                             description="Headline scores and where each stage's results are")
