"""Labelling, sectioning and training tasks."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
from prefect import get_run_logger, task
from prefect.cache_policies import CacheKeyFnPolicy
from prefect.futures import wait

from aural_core.config import AuralConfig, LabelConfig, SectionConfig, TrainConfig
from aural_core.evaluation import CorpusPrior
from aural_core.sections import LABELS_VERSION, label_sections
from aural_core.selection import PublishDecision, decide
from aural_core.strong_labels import StrongLabels
from aural_core.styles import StyleTable, style_table_hash
from aural_core.training import split_summary, train_adapter
from storage.artifacts import ArtifactIntegrityError, ArtifactStore, sha256_file
from storage.frames import frame_arrays, read_frames
from storage.integrity import record_checksum, recorded_checksum
from storage.keys import frames_file, sections_file
from storage.layout import CacheLayout, ModelsLayout
from storage.manifest import read_manifest
from storage.models import load_adapter, load_published, model_store, save_adapter, training_metadata
from storage.sections import (
    label_source_counts,
    read_npz,
    read_sections,
    sections_table,
    training_arrays,
    write_npz,
    write_sections,
)
from storage.strong_labels import strong_labels_for

from .common import short_hash, submit_cached
from .outcomes import FileOutcome, RunSummary
from .results import LabelledFile, TrainedAdapter, TrainingSet


def sections_cache_key(context, p) -> str:
    """Key = the output file (named by frames key, label + section config, style table, versions)
    and the frames file's recorded checksum (a recomputed frames file re-labels)."""
    frames = p["frames_file"]
    return "sections-" + short_hash(Path(p["out_path"]).resolve(), recorded_checksum(frames) or sha256_file(frames))


@task(name="label-sections", task_run_name="sections-{source}",
      cache_policy=CacheKeyFnPolicy(cache_key_fn=sections_cache_key), persist_result=True)
def label_file(frames_file: str, file_id: str, source: str, out_path: str,
               labels: LabelConfig, sections: SectionConfig, styles: StyleTable,
               strong: StrongLabels | None = None) -> LabelledFile:
    """Labels (weak, or ``strong`` where given) and sections of one file -> its sections Parquet
    at ``out_path`` (``storage.keys.sections_file``)."""
    rows = label_sections(frame_arrays(read_frames(frames_file)), labels=labels, sections=sections,
                          styles=styles, strong=strong)
    if len(rows) < sections.n_sections:
        get_run_logger().info("%s: %.0f s of audio -> %d section(s) of at least %g s (at most %d)",
                              source, rows[-1].end_s if rows else 0.0, len(rows), sections.min_section_seconds,
                              sections.n_sections)
    meta = {"aural.labels_config_hash": labels.config_hash(), "aural.styles_hash": style_table_hash(styles),
            "aural.sections_config_hash": sections.config_hash(), "aural.labels_version": LABELS_VERSION}
    out = write_sections(out_path, sections_table(rows, file_id=file_id, source=source, metadata=meta))
    record_checksum(out)
    return LabelledFile(file_id=file_id, source=source, sections=str(out), n_sections=len(rows))


@task(name="build-training-set")
def build_training_set(section_files: list[str], cache_dir: str, train: TrainConfig | None = None
                       ) -> TrainingSet:
    """All sections -> ``<cache>/sections.npz`` (X, the evidence, y_*, file ids); returns its
    path, hash and what it holds.

    ``section_files``: the originals' sections and those of their augmented copies
    (``tasks.augment.label_copies``), one list: a copy's sections carry its original's file id
    and its ``transform`` ("" for an original; the ``augmented`` array marks them). The corpus
    prior, ``n_sections`` and the label sources count the originals only. ``split``: how many
    files and sections will train and validate (``aural_core.training.split_summary``).
    """
    table = read_sections(section_files)
    arrays = training_arrays(table)
    own = ~arrays["augmented"]
    prior = CorpusPrior.from_labels(emotion_ids=arrays["y_emotion"][own], bpm=arrays["y_bpm"][own],
                                    key_ids=arrays["y_key_full"][own], style_ids=arrays["y_style"][own])
    path = write_npz(CacheLayout(Path(cache_dir)).sections_npz, arrays)
    copies: dict[str, list[str]] = {}
    for file_id, transform in sorted(set(zip(arrays["file_id"][~own].tolist(), arrays["transform"][~own].tolist()))):
        copies.setdefault(file_id, []).append(transform)
    train = train or TrainConfig()
    split = split_summary(arrays["file_id"], val_fraction=train.val_fraction, seed=train.seed,
                          augmented=arrays["augmented"])
    return TrainingSet(npz=str(path), data_hash=sha256_file(path)[:16], n_sections=int(own.sum()), split=split,
                       label_sources=label_source_counts(table),
                       n_files=int(len(set(arrays["file_id"].tolist()))), prior=prior.to_dict(),
                       n_augmented_sections=int((~own).sum()), augmented_copies=copies)


@task(name="train-adapter")
def train_task(npz: str, config: AuralConfig, styles: StyleTable, dataset: TrainingSet, store_dir: str,
               show_progress: bool = False, provenance: dict | None = None) -> TrainedAdapter:
    """Train the adapter on ``sections.npz``; store it; return its artifact ref and metadata.

    ``provenance`` (the lineage and input set, ``storage.lineage``) goes into the store's record
    of the adapter, not into the adapter file: the same data and seed give the same bytes in
    any folder."""
    logger = get_run_logger()
    arrays = read_npz(npz)
    from .progress import EpochProgress

    with EpochProgress(config.train.epochs, enabled=show_progress) as bar:
        def on_epoch(row: dict) -> None:
            bar.update(row)
            logger.info("epoch %d: train %.4f val %.4f", row["epoch"], row["train_loss"], row["val_loss"])

        result = train_adapter(arrays, n_styles=len(styles), config=config.train, labels=config.labels,
                               on_epoch=on_epoch)
        bar.finish(result.stop_reason)
    logger.info("training %s (best epochs: %s)", result.stop_reason,
                ", ".join(f"{h} {e}" for h, e in result.best_epochs.items()))
    for head, what in result.split.get("key_tempo_heads", {}).items():
        logger.info("%s head: %s", head, what)
    report = {"history": result.history, "best_epoch": result.best_epoch, "best_epochs": result.best_epochs,
              "stopped_early": result.stopped_early, "metrics": result.metrics, "split": result.split}
    metadata = training_metadata(config=config, styles=styles, styles_hash=style_table_hash(styles),
                                 dataset=dataset.to_dict(), report=report)
    # A staging name of its own: two trainings into one models folder must not share a file.
    staging = Path(store_dir) / f".staging-{uuid.uuid4().hex}.pt"
    try:
        save_adapter(staging, result.model, metadata=metadata)
        ref = ArtifactStore(store_dir).put(staging, name="adapter",
                                           meta={"data_hash": dataset.data_hash, **(provenance or {})})
    finally:
        staging.unlink(missing_ok=True)
    return TrainedAdapter(ref=ref, metadata=metadata)


@task(name="decide-publish")
def decide_publish(npz: str, ref: str, models_root: str, force: bool = False) -> PublishDecision:
    """Whether the stored adapter ``ref`` replaces the published one: its loss and the published
    model's on the same held-out sections of ``npz`` (``aural_core.selection``)."""
    models = ModelsLayout(Path(models_root))
    candidate, candidate_meta = load_adapter(model_store(models).get(ref))
    published = published_meta = None
    if models.adapter.is_file():
        try:
            published, published_meta = load_published(models)
        except ArtifactIntegrityError as exc:  # a damaged published model is no bar to replace
            return PublishDecision(True, f"the published adapter is unusable ({exc})")
    arrays = read_npz(npz)
    val_mask = np.isin(arrays["file_id"], candidate_meta["split"]["val_files"]) & ~arrays["augmented"]
    return decide(candidate, candidate_meta, published, published_meta, arrays, val_mask, force=force)


def read_strong_labels(cache: CacheLayout, manifest: str, file_ids: set[str], styles: StyleTable
                       ) -> dict[str, StrongLabels]:
    """Strong labels (tags, ``labels.csv``) of the files ``file_ids`` of the analysed folder
    ``manifest``; each value that cannot be used is a warning in the run's log."""
    listing = read_manifest(cache, manifest)
    entries = [f for f in listing["files"] if f["file_id"] in file_ids]
    labels, warnings = strong_labels_for(listing["input_dir"], entries, styles)
    logger = get_run_logger()
    for line in warnings:
        logger.warning(line)
    return labels


def label_files(cache: CacheLayout, files: list[dict], config, styles,
                strong: dict[str, StrongLabels] | None = None) -> RunSummary:
    """Run the cached label-sections task over analysed files; outcomes per file. ``strong``:
    the files' strong labels by content id (``storage.strong_labels.strong_labels_for``)."""
    futures, notes, strong = {}, {}, strong or {}
    for f in files:
        known = strong.get(f["file_id"])
        out = sections_file(cache, f["file_id"], config.features, config.labels, config.sections, styles,
                            known.fingerprint() if known else "")
        notes[f["source"]] = []
        fut = submit_cached(label_file, output=out, cache=cache, notes=notes[f["source"]],
                            frames_file=str(frames_file(cache, f["file_id"], config.features)),
                            file_id=f["file_id"], source=f["source"], out_path=str(out), labels=config.labels,
                            sections=config.sections, styles=styles, strong=known)
        futures[fut] = f
    wait(list(futures))
    summary = RunSummary(stage="label")
    for fut, f in futures.items():
        fut.wait()
        summary.add(FileOutcome.from_state(f["source"], fut.state, f["file_id"],
                                           note="; ".join(notes[f["source"]]) or None, record=LabelledFile))
    get_run_logger().info(summary.one_line())
    return summary
