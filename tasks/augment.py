"""Training-time augmentation as cached Prefect tasks: one task run per (file, transform)."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from prefect import get_run_logger, task
from prefect.cache_policies import CacheKeyFnPolicy
from prefect.futures import wait

from aural_core.audio import load_audio
from aural_core.augment import Transform, augment_sections, plan_transforms, transform_signal
from aural_core.config import AuralConfig, FeatureConfig, LabelConfig
from aural_core.errors import AudioError, InputsMissingError, ParameterError
from aural_core.features import analyze_signal, extractor_fingerprint
from aural_core.sections import LABELS_VERSION
from aural_core.training import split_files
from storage.artifacts import sha256_file
from storage.frames import frame_arrays, frames_table, read_frames, write_frames
from storage.integrity import record_checksum, recorded_checksum
from storage.keys import augmented_sections_file, frames_key
from storage.layout import CacheLayout
from storage.manifest import file_id as content_id
from storage.manifest import read_manifest, source_path
from storage.sections import read_labelled_sections, sections_table, write_sections

from .analyze import frames_metadata
from .common import RETRY_DELAYS, embedder_for, retry_transient, short_hash, submit_cached, tagger_for
from .outcomes import FileOutcome, RunSummary
from .results import AugmentedCopy, LabelledFile

# Bump when ``transform_signal`` changes what a transform does to the audio.
AUGMENT_VERSION = "1"


def augment_cache_key(context, p) -> str:
    """Key = (file content, transform, feature config, extractor version, output location)."""
    t: Transform = p["transform"]
    out = CacheLayout(Path(p["cache_dir"])).augmented_frames(p["file_id"], t.slug,
                                                             frames_key(p["file_id"], p["config"]))
    return "augment-" + short_hash(p["file_id"], t.semitones, repr(float(t.rate)), p["config"].config_hash(),
                                   extractor_fingerprint(), AUGMENT_VERSION, out.resolve())


@task(
    name="augment-frames",
    task_run_name="augment-{source}-{transform.slug}",
    cache_policy=CacheKeyFnPolicy(cache_key_fn=augment_cache_key),
    persist_result=True,
    retries=2,
    retry_delay_seconds=RETRY_DELAYS,
    retry_condition_fn=retry_transient,
)
def augment_frames(path: str, source: str, file_id: str, transform: Transform, cache_dir: str,
                   config: FeatureConfig) -> AugmentedCopy:
    """Transform one training file's audio, analyse it again, write the copy's frames Parquet."""
    started = time.perf_counter()
    if content_id(path) != file_id:
        raise AudioError(path, f"changed since it was analysed as {file_id}: run `aural analyze` again")
    y = load_audio(path, sr=config.sample_rate)
    try:
        features = analyze_signal(transform_signal(y, sr=config.sample_rate, transform=transform),
                                  sr=config.sample_rate, config=config,
                                  embedder=embedder_for(config.embedder, config.clap_model),
                                  tagger=tagger_for(config.tagger, config.clap_model))
    except ParameterError as exc:
        raise AudioError(path, f"{transform.slug}: {exc}") from exc
    meta = {**frames_metadata(config), "aural.augment_transform": transform.slug,
            "aural.augment_semitones": transform.semitones, "aural.augment_rate": transform.rate,
            "aural.augment_version": AUGMENT_VERSION}
    out = write_frames(CacheLayout(Path(cache_dir)).augmented_frames(file_id, transform.slug,
                                                                     frames_key(file_id, config)),
                       frames_table(features, file_id=file_id, source=source, metadata=meta))
    record_checksum(out)
    return AugmentedCopy(file_id=file_id, source=source, transform=transform.slug, semitones=transform.semitones,
                         rate=transform.rate, frames=str(Path(out)), n_frames=len(features),
                         compute_seconds=round(time.perf_counter() - started, 3))


def augment_files(cache: CacheLayout, manifest: str, files: list[LabelledFile], config: AuralConfig
                  ) -> tuple[RunSummary, list[AugmentedCopy]]:
    """Augment the training side of ``files`` (the originals' sections).

    The split is the one training will make (``split_files`` on the same file ids, fraction
    and seed), so files that will validate are never transformed. Returns the outcomes (one
    per file and transform) and the copies that are ready, each with its file's sections path.
    """
    summary = RunSummary(stage="augment")
    if not config.augment.enabled or not files:
        return summary, []
    train_side, _ = split_files(np.array([f.file_id for f in files]), val_fraction=config.train.val_fraction,
                                seed=config.train.seed)
    listing = read_manifest(cache, manifest)
    futures = {}
    for f in (f for f, on_train in zip(files, train_side) if on_train):
        try:
            path = str(source_path(listing, f.source))
        except (InputsMissingError, OSError) as exc:  # a moved input spoils its copies only
            summary.add(FileOutcome(f.source, "failed", f.file_id, error=str(exc)))
            continue
        for t in plan_transforms(f.file_id, config.augment):
            out = cache.augmented_frames(f.file_id, t.slug, frames_key(f.file_id, config.features))
            fut = submit_cached(augment_frames, output=out, cache=cache,
                                path=path, source=f.source, file_id=f.file_id, transform=t,
                                cache_dir=str(cache.root), config=config.features)
            futures[fut] = (f, t)
    wait(list(futures))
    ready = []
    for fut, (f, t) in futures.items():
        fut.wait()
        outcome = FileOutcome.from_state(f"{f.source} {t.slug}", fut.state, f.file_id, record=AugmentedCopy)
        summary.add(outcome)
        if outcome.result:
            ready.append(replace(outcome.result, sections=f.sections))
    logger = get_run_logger()
    for o in summary.failed:
        logger.warning("augmentation skipped: %s: %s", o.source, o.error)
    logger.info(summary.one_line())
    return summary, sorted(ready, key=lambda r: (r.source, r.transform))


def copy_sections_cache_key(context, p) -> str:
    """Key = the output file (named by transform and the original's sections key) and the
    recorded checksums of both inputs: the original's sections and the copy's frames."""
    inputs = (recorded_checksum(p[k]) or sha256_file(p[k]) for k in ("sections", "frames"))
    return "copy-sections-" + short_hash(Path(p["out_path"]).resolve(), *inputs)


@task(name="label-copy", task_run_name="sections-{source}-{transform}",
      cache_policy=CacheKeyFnPolicy(cache_key_fn=copy_sections_cache_key), persist_result=True)
def label_copy(sections: str, frames: str, file_id: str, source: str, transform: str, semitones: int, rate: float,
               out_path: str, labels: LabelConfig) -> LabelledFile:
    """The sections of one copy (its original's, moved onto the copy's frames with their labels
    transformed: ``aural_core.augment.augment_sections``) -> a sections Parquet at ``out_path``,
    read by training like any original's."""
    rows = augment_sections(read_labelled_sections(sections), frame_arrays(read_frames(frames)),
                            transform=Transform(semitones, rate), labels=labels)
    meta = {"aural.augment_transform": transform, "aural.augment_version": AUGMENT_VERSION,
            "aural.labels_version": LABELS_VERSION}
    out = write_sections(out_path, sections_table(rows, file_id=file_id, source=source, metadata=meta))
    record_checksum(out)
    return LabelledFile(file_id=file_id, source=source, transform=transform, sections=str(out),
                        n_sections=len(rows))


def label_copies(cache: CacheLayout, copies: list[AugmentedCopy], labels: LabelConfig
                 ) -> tuple[RunSummary, list[LabelledFile]]:
    """Sections of every ready copy (``augment_files``), each a cached task run; returns the
    outcomes and the copies' section files that are ready."""
    summary, futures = RunSummary(stage="copy-sections"), {}
    for c in copies:
        out = augmented_sections_file(cache, c.sections, c.transform)
        fut = submit_cached(label_copy, output=out, cache=cache, sections=c.sections, frames=c.frames,
                            file_id=c.file_id, source=c.source, transform=c.transform,
                            semitones=c.semitones, rate=c.rate, out_path=str(out), labels=labels)
        futures[fut] = c
    wait(list(futures))
    ready = []
    for fut, c in futures.items():
        fut.wait()
        outcome = FileOutcome.from_state(f"{c.source} {c.transform}", fut.state, c.file_id, record=LabelledFile)
        summary.add(outcome)
        if outcome.result:
            ready.append(outcome.result)
    for o in summary.failed:
        get_run_logger().warning("augmented sections skipped: %s: %s", o.source, o.error)
    return summary, ready
