"""Training-time augmentation as cached Prefect tasks: one task run per (file, transform)."""

from __future__ import annotations

import time
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
from aural_core.training import split_files
from storage.frames import frame_arrays, frames_table, read_frames, write_frames
from storage.integrity import record_checksum
from storage.keys import frames_key
from storage.layout import CacheLayout
from storage.manifest import file_id as content_id
from storage.manifest import read_manifest, source_path
from storage.sections import read_labelled_sections, sections_table, training_arrays

from .analyze import frames_metadata
from .common import RETRY_DELAYS, embedder_for, retry_transient, short_hash, submit_cached, tagger_for
from .outcomes import FileOutcome, RunSummary

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
                   config: FeatureConfig) -> dict:
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
    return {"file_id": file_id, "source": source, "transform": transform.slug, "semitones": transform.semitones,
            "rate": transform.rate, "frames": str(Path(out)), "n_frames": len(features),
            "compute_seconds": round(time.perf_counter() - started, 3)}


def augment_files(cache: CacheLayout, manifest: str, files: list[dict], config: AuralConfig
                  ) -> tuple[RunSummary, list[dict]]:
    """Augment the training side of ``files`` (dicts with file_id, source, sections).

    The split is the one training will make (``split_files`` on the same file ids, fraction
    and seed), so files that will validate are never transformed. Returns the outcomes (one
    per file and transform) and the copies that are ready, each with its file's sections path.
    """
    summary = RunSummary(stage="augment")
    if not config.augment.enabled or not files:
        return summary, []
    train_side, _ = split_files(np.array([f["file_id"] for f in files]), val_fraction=config.train.val_fraction,
                                seed=config.train.seed)
    listing = read_manifest(cache, manifest)
    futures = {}
    for f in (f for f, on_train in zip(files, train_side) if on_train):
        try:
            path = str(source_path(listing, f["source"]))
        except (InputsMissingError, OSError) as exc:  # a moved input spoils its copies only
            summary.add(FileOutcome(f["source"], "failed", f["file_id"], error=str(exc)))
            continue
        for t in plan_transforms(f["file_id"], config.augment):
            out = cache.augmented_frames(f["file_id"], t.slug, frames_key(f["file_id"], config.features))
            fut = submit_cached(augment_frames, output=out, cache=cache,
                                path=path, source=f["source"], file_id=f["file_id"], transform=t,
                                cache_dir=str(cache.root), config=config.features)
            futures[fut] = (f, t)
    wait(list(futures))
    ready = []
    for fut, (f, t) in futures.items():
        fut.wait()
        outcome = FileOutcome.from_state(f"{f['source']} {t.slug}", fut.state, f["file_id"])
        summary.add(outcome)
        if outcome.result:
            ready.append({**outcome.result, "sections": f["sections"]})
    logger = get_run_logger()
    for o in summary.failed:
        logger.warning("augmentation skipped: %s: %s", o.source, o.error)
    logger.info(summary.one_line())
    return summary, sorted(ready, key=lambda r: (r["source"], r["transform"]))


def augmented_arrays(copies: list[dict], labels: LabelConfig) -> dict[str, np.ndarray] | None:
    """Training arrays of every copy's sections (original labels transformed), or None."""
    tables = []
    for c in copies:
        rows = augment_sections(read_labelled_sections(c["sections"]), frame_arrays(read_frames(c["frames"])),
                                transform=Transform(c["semitones"], c["rate"]), labels=labels)
        arrays = training_arrays(sections_table(rows, file_id=c["file_id"], source=c["source"], metadata={}))
        arrays["transform"] = np.array([c["transform"]] * len(rows))
        tables.append(arrays)
    if not tables:
        return None
    return {k: np.concatenate([t[k] for t in tables]) for k in tables[0]}
