"""The ``analyze`` flow: map the cached per-file extraction task over an input folder."""

from __future__ import annotations

from pathlib import Path

import soundfile as sf
from prefect import flow, get_run_logger
from prefect.futures import as_completed

from aural_core.audio import AUDIO_EXTENSIONS
from aural_core.config import AuralConfig
from aural_core.errors import InputsMissingError
from runtime.runners import RunnerKind, auto_runner
from storage.integrity import problem
from storage.keys import frames_key
from storage.layout import DEFAULT_CACHE, DEFAULT_INPUTS, CacheLayout, manifest_name
from storage.manifest import list_inputs, read_manifest, write_manifest
from tasks.analyze import submit_extract
from tasks.common import one_blas_thread
from tasks.outcomes import FileOutcome, RunSummary
from tasks.progress import FileProgress
from tasks.results import AnalysedFile

from .settings import resolve_settings
from .summary import artifact_key, finish, run_with_runner


def _duration(path: Path) -> float:
    try:
        return float(sf.info(str(path)).duration)
    except Exception:  # unreadable files are reported by their own task
        return 0.0


@flow(name="analyze", log_prints=True)
def analyze_flow(input_dir: str = DEFAULT_INPUTS, cache_dir: str = DEFAULT_CACHE,
                 config_path: str | None = None, show_progress: bool = True,
                 config: AuralConfig | None = None, task_runner: RunnerKind = "auto", workers: int = 2,
                 dask_address: str | None = None) -> dict:
    """Extract per-frame features of every audio file of a folder into Parquet frames.

    Each file is one cached task run (key: file content, feature config, extractor version); a
    bad file fails its own task and every other file still finishes. A run in which any file
    failed ends Failed, with the per-file summary kept as its result and as artifacts. The
    files are analysed in the inner flow ``analyze-files``, which runs with the chosen runner.

    Args:
        input_dir: folder of audio files (WAV, FLAC, OGG, MP3), searched recursively. Relative
            paths resolve against the working directory of the process running the flow.
        cache_dir: analysis cache; frames go to its frames/ folder, the run's file list to manifests/.
        config_path: TOML or JSON settings file; empty for the defaults.
        show_progress: draw a terminal progress bar (for the CLI; off in deployments).
        config: settings as an object (a parent flow passes its own); overrides config_path.
        task_runner: where the per-file tasks run: threads of this process, worker processes
            of this machine, or a Dask cluster (see runtime/runners.py); "auto": processes when
            the files not yet in the cache last long enough to pay for their start.
        workers: threads, processes or local Dask workers (at least 1).
        dask_address: an existing Dask scheduler (tcp://host:8786) instead of a local cluster;
            its workers need this code and environment and the cache folder at the same path.
    """
    if task_runner == "auto":
        task_runner = auto_runner(_audio_to_analyse(input_dir, cache_dir, config_path, config))
        get_run_logger().info("analyze: task runner %s (auto)", task_runner)
    return run_with_runner(analyze_files, task_runner, workers, dask_address, input_dir=input_dir,
                           cache_dir=cache_dir, config_path=config_path, show_progress=show_progress,
                           config=config)


def folder_audio_seconds(folder: str | Path, *, skip: frozenset[str] = frozenset()) -> float:
    """Seconds of audio under ``folder`` by the files' headers (nothing decoded or hashed),
    leaving out the files whose path relative to the folder is in ``skip``."""
    folder = Path(folder)
    if not folder.is_dir():
        return 0.0
    return sum(_duration(p) for p in folder.rglob("*")
               if p.suffix.lower() in AUDIO_EXTENSIONS and p.relative_to(folder).as_posix() not in skip)


def _audio_to_analyse(input_dir: str, cache_dir: str, config_path: str | None, config: AuralConfig | None) -> float:
    """Seconds of audio in the folder that the cache's manifest of it does not list as analysed
    with intact frames of these settings (0 for a missing folder: the inner flow says so).

    An estimate that reads no audio and hashes nothing (the analysis lists and hashes the files
    itself, once): a file changed in place since the last run counts as analysed, which only
    costs the runner choice some speed.
    """
    folder = Path(input_dir).resolve()
    if not folder.is_dir():
        return 0.0
    cache, features = CacheLayout(Path(cache_dir).resolve()), resolve_settings(config, config_path)[0].features
    try:
        rows = read_manifest(cache, manifest_name(folder))["files"]
    except (InputsMissingError, OSError, ValueError, KeyError):
        rows = []
    done = frozenset(row["path"] for row in rows if row.get("frames") and row.get("file_id")
                     and row.get("frames_key") == frames_key(row["file_id"], features)
                     and problem(cache.root / row["frames"]) is None)
    return folder_audio_seconds(folder, skip=done)


@flow(name="analyze-files", log_prints=True)
def analyze_files(input_dir: str, cache_dir: str, config_path: str | None = None, show_progress: bool = True,
                  config: AuralConfig | None = None) -> dict:
    """The body of ``analyze_flow``, run with the task runner its parameters chose."""
    logger = get_run_logger()
    folder, cache = Path(input_dir).resolve(), CacheLayout(Path(cache_dir).resolve())
    config = resolve_settings(config, config_path)[0].features
    if not folder.is_dir():
        raise InputsMissingError(f"input folder {folder} does not exist")
    files = list_inputs(folder)
    if not files:
        raise InputsMissingError(f"input folder {folder} holds no audio files (.wav .flac .ogg .opus .mp3)")
    logger.info("analyze: %d audio files in %s -> %s (feature config %s)", len(files), folder, cache.root,
                config.config_hash())
    summary = RunSummary(stage=f"analyze {manifest_name(folder)}")
    with one_blas_thread():
        _run_tasks(files, cache, config, summary, show_progress)
    paths = {item.name: item.path.relative_to(folder).as_posix() for item in files}
    write_manifest(cache, folder, [_manifest_row(o, paths[o.source], cache, config) for o in summary.outcomes])
    for outcome in summary.failed:
        logger.error("failed: %s", outcome.error)
    summary.publish(artifact_key("analyze", manifest_name(folder)), f"Analysis of {folder}")
    logger.info(summary.one_line())
    return finish(summary.to_dict(), [o.source for o in summary.failed], f"analysis of {folder}")


def _manifest_row(outcome: FileOutcome, path: str, cache: CacheLayout, config) -> dict:
    """One manifest row; an analysed file names its frames (the key its config gives)."""
    row = {"source": outcome.source, "path": path, "file_id": outcome.file_id, "status": outcome.status}
    if outcome.status != "failed":
        key = frames_key(outcome.file_id, config)
        row.update(frames=cache.frames(outcome.file_id, key).relative_to(cache.root).as_posix(), frames_key=key)
    return row


def _run_tasks(files, cache: CacheLayout, config, summary: RunSummary, show_progress: bool) -> None:
    """Submit one extraction per file, longest first (so that no long file starts last while
    the other workers idle); record each outcome as it finishes."""
    futures, notes = {}, {}
    for item in files:
        if item.file_id is None:
            summary.add(FileOutcome(item.name, "failed", error=f"{item.name}: {item.error}"))
    readable = [item for item in files if item.file_id is not None]
    durations = {item.path: _duration(item.path) for item in readable}
    for item in sorted(readable, key=lambda item: -durations[item.path]):
        notes[item.name] = []
        fut = submit_extract(path=str(item.path), source=item.name, file_id=item.file_id, cache=cache,
                             config=config, notes=notes[item.name])
        futures[fut] = item
    with FileProgress("analyze", sum(durations.values()), len(futures), show_progress) as bar:
        for fut in as_completed(list(futures)):
            item = futures[fut]
            fut.wait()  # sets the in-memory final state (``state`` alone asks the API, which may lag)
            summary.add(FileOutcome.from_state(item.name, fut.state, item.file_id,
                                               note="; ".join(notes[item.name]) or None, record=AnalysedFile))
            bar.advance(durations[item.path])
