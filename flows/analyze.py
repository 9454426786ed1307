"""The ``analyze`` flow: map the cached per-file extraction task over an input folder."""

from __future__ import annotations

from pathlib import Path

import soundfile as sf
from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.futures import as_completed
from prefect.task_runners import ThreadPoolTaskRunner

from aural_core.config import load_config
from storage.manifest import list_inputs, write_manifest
from tasks.analyze import submit_extract
from tasks.common import one_blas_thread

from tasks.progress import FileProgress
from .summary import FileOutcome, RunSummary


def _duration(path: Path) -> float:
    try:
        return float(sf.info(str(path)).duration)
    except Exception:  # unreadable files are reported by their own task
        return 0.0


@flow(name="analyze", task_runner=ThreadPoolTaskRunner(max_workers=2), log_prints=True)
def analyze_flow(input_dir: str = "data/inputs", cache_dir: str = "data/cache",
                 config_path: str | None = None, show_progress: bool = True) -> dict:
    """Extract per-frame features of every audio file in ``input_dir`` into ``cache_dir/frames``.

    Each file is one cached task run (key: file content, feature config, extractor version);
    a bad file fails its own task and every other file still finishes.
    """
    logger = get_run_logger()
    config = load_config(config_path).features
    files = list_inputs(input_dir)
    logger.info("analyze: %d audio files in %s (config %s)", len(files), input_dir, config.config_hash())
    summary = RunSummary(stage="analyze")
    with one_blas_thread():
        _run_tasks(files, cache_dir, config, summary, show_progress)
    write_manifest(cache_dir, input_dir, [
        {"source": o.source, "file_id": o.file_id, "status": o.status} for o in summary.outcomes])
    for outcome in summary.failed:
        logger.error("failed: %s", outcome.error)
    create_markdown_artifact(key="analyze-summary", markdown=summary.markdown(),
                             description="Per-file analysis outcome")
    logger.info(summary.one_line())
    return summary.to_dict()


def _run_tasks(files, cache_dir: str, config, summary: RunSummary, show_progress: bool) -> None:
    """Submit one extraction per file; record each outcome as it finishes."""
    futures = {}
    for item in files:
        if item.file_id is None:
            summary.add(FileOutcome(item.name, "failed", error=f"{item.path}: {item.error}"))
            continue
        fut = submit_extract(path=str(item.path), source=item.name, file_id=item.file_id,
                          cache_dir=str(cache_dir), config=config)
        futures[fut] = item
    durations = {item.name: _duration(item.path) for item in futures.values()}
    with FileProgress("analyze", sum(durations.values()), len(futures), show_progress) as bar:
        for fut in as_completed(list(futures)):
            item = futures[fut]
            fut.wait()  # sets the in-memory final state (``state`` alone asks the API, which may lag)
            summary.add(FileOutcome.from_state(item.name, fut.state, item.file_id))
            bar.advance(durations[item.name])
