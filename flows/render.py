"""The ``render-piece`` flow: whole inputs rendered as intro -> build -> release at one tempo."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger
from prefect.artifacts import create_table_artifact
from prefect.task_runners import ThreadPoolTaskRunner

from aural_core.config import AuralConfig
from aural_core.errors import InputsMissingError
from aural_core.evaluation import predicted_controls, section_descriptors
from storage.layout import DEFAULT_ADAPTER, DEFAULT_CACHE, DEFAULT_RENDER_INPUTS, DEFAULT_RENDERS, CacheLayout
from storage.manifest import InputFile, file_id, list_inputs
from storage.models import load_published
from storage.names import display_name
from storage.pieces import piece_paths, piece_stems
from storage.sections import read_sections, training_arrays
from tasks.common import one_blas_thread, submit_cached
from tasks.evaluate import render_all
from tasks.outcomes import FileOutcome, RunSummary
from tasks.render import assemble_piece, gpu_slot, piece_plan, plan_items
from tasks.results import PieceFiles
from tasks.train import label_files

from .analyze import _run_tasks as analyse_files  # the analyze flow's cached per-file extraction
from .settings import resolve_settings
from .summary import artifact_key, display_path, finish


def _inputs(source: Path) -> list[InputFile]:
    if source.is_file():
        return [InputFile(source, file_id(source))]
    if not source.is_dir():
        raise InputsMissingError(f"{source} does not exist: give an audio file or a folder of them")
    files = list_inputs(source)
    if not files:
        raise InputsMissingError(f"input folder {source} holds no audio files (.wav .flac .ogg .opus .mp3)")
    return files


@flow(name="render-piece", task_runner=ThreadPoolTaskRunner(max_workers=2))
def render_piece_flow(input_path: str = DEFAULT_RENDER_INPUTS, adapter: str = DEFAULT_ADAPTER,
                      out_dir: str = DEFAULT_RENDERS, cache_dir: str = DEFAULT_CACHE,
                      config_path: str | None = None, show_progress: bool = True,
                      config: AuralConfig | None = None) -> dict:
    """Render whole inputs as intro -> build -> release at one tempo: one WAV and a cue sheet
    (JSON and .cue) per input.

    Each input is analysed (the cached analysis task), sectioned and given controls per section
    by the published adapter; the piece's tempo is the median of its sections' (with
    ``[controls] bpm = "measured"``, of their measured tempi). Every section renders at that
    tempo, its render is trimmed to its first beat (time-stretched first when the renderer
    missed the tempo) and the sections, as long in bars as in the source, cross-fade over one
    bar at the bar lines. The sections of all inputs render together, batched by length (one
    MusicGen ``generate`` per batch), inside one slot of the global concurrency limit ``gpu``
    (created with one slot when missing). Files that fail do so alone; the run then ends Failed.

    Args:
        input_path: an audio file, or a folder whose audio files (searched recursively) are all
            rendered in this run. Relative paths resolve against the working directory of the
            process running the flow.
        adapter: the published adapter (checked against its metadata.json).
        out_dir: where <name>.wav, <name>.json and <name>.cue go.
        cache_dir: analysis and render cache (shared with the other flows).
        config_path: TOML or JSON settings file; empty for the defaults.
        show_progress: draw a terminal progress bar (for the CLI; off in deployments).
        config: settings as an object; overrides config_path.
    """
    logger = get_run_logger()
    source, cache, out = Path(input_path).resolve(), CacheLayout(Path(cache_dir).resolve()), Path(out_dir).resolve()
    config, styles = resolve_settings(config, config_path)
    model, _ = load_published(adapter)
    files = _inputs(source)
    logger.info("render: %d input(s) from %s with %s -> %s", len(files), source, Path(adapter).resolve(), out)
    analysis = RunSummary(stage="analyze")
    with one_blas_thread():
        analyse_files(files, cache, config.features, analysis, show_progress)
    labelled = label_files(cache, [{"file_id": o.file_id, "source": o.source} for o in analysis.outcomes
                                   if o.status != "failed"], config, styles)
    summary = RunSummary(stage=f"render {source.name}")
    for outcome in analysis.failed + labelled.failed:
        summary.add(outcome)
    done = [o for o in labelled.outcomes if o.status != "failed"]
    plans = []
    if done:
        table = read_sections([o.result.sections for o in done])
        rows = table.to_pylist()
        controls = predicted_controls(model.predict(training_arrays(table)), styles,
                                      [section_descriptors(r) for r in rows], sections=rows, source=config.controls)
        for fid in dict.fromkeys(r["file_id"] for r in rows):
            mine = [i for i, r in enumerate(rows) if r["file_id"] == fid]
            plans.append(piece_plan([rows[i] for i in mine], [controls[i] for i in mine], config))
    items = [item for plan in plans for item in plan_items(plan)]
    order = sorted(range(len(items)), key=lambda i: items[i]["seconds"])  # one length, one render_batch call
    renders = [None] * len(items)
    if items:
        with gpu_slot():
            for i, path in zip(order, render_all([items[i] for i in order], config.render, styles, cache, "piece")):
                renders[i] = path
    futures, start = [], 0
    for plan, stem in zip(plans, piece_stems([(p["title"], p["file_id"]) for p in plans])):
        paths = piece_paths(out, stem)
        mine = renders[start:start + len(plan["sections"])]
        start += len(plan["sections"])
        futures.append((plan, submit_cached(assemble_piece, output=list(paths.values()), cache=cache, renders=mine,
                                            plan=plan, paths={k: str(p) for k, p in paths.items()}, label=stem)))
    for plan, fut in futures:
        fut.wait()
        summary.add(FileOutcome.from_state(plan["title"], fut.state, plan["file_id"], record=PieceFiles))
    for o in summary.failed:
        logger.error("failed: %s", o.error)
    _publish(summary, source)
    logger.info(summary.one_line())
    return finish(summary.to_dict(), [o.source for o in summary.failed], f"render of {source}")


def _publish(summary: RunSummary, source: Path) -> None:
    """One table row per input: its piece, tempo and length, or why it failed."""
    rows = [{"file": display_name(o.source), "status": o.status,
             "piece": display_name(display_path(Path(o.result.wav))) if o.result else "",
             "bpm": o.result.bpm if o.result else None, "bars": o.result.bars if o.result else None,
             "reason": display_name(o.error or "")} for o in summary.outcomes]
    create_table_artifact(key=artifact_key("render", source.name), table=rows,
                          description=display_name(f"Whole-piece renders of {source}"))
