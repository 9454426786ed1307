"""The ``train`` flow: weak labels -> sections -> adapter, reusing the analysis cache."""

from __future__ import annotations

import hashlib
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from aural_core.config import AuralConfig
from aural_core.errors import InputsMissingError
from aural_core.selection import PublishDecision
from runtime.runners import RunnerKind
from storage.keys import frames_file
from storage.layout import DEFAULT_ADAPTER, DEFAULT_CACHE, EVAL, CacheLayout, ModelsLayout
from storage.lineage import Lineage, publication_layout
from storage.manifest import read_manifest, resolve_manifest
from storage.models import publish_adapter
from storage.report_pages import markdown_escape
from tasks.augment import augment_files, label_copies
from tasks.common import one_blas_thread
from tasks.probe import fit_probe_task
from tasks.progress import note
from tasks.results import TrainingSet
from tasks.train import build_training_set, decide_publish, label_files, read_strong_labels, train_task

from .settings import resolve_settings
from .summary import run_with_runner


def training_files(cache: CacheLayout, manifest: str, config: AuralConfig) -> list[dict]:
    """Files of the analysed folder ``manifest`` whose frames exist for this config's feature
    settings (``storage.keys``), minus any held-out eval file."""
    files = [f for f in read_manifest(cache, manifest)["files"]
             if f["status"] != "failed" and frames_file(cache, f["file_id"], config.features).is_file()]
    if manifest != EVAL and cache.manifest(EVAL).is_file():  # the eval folder's manifest is named after it
        held_out = {f["file_id"] for f in read_manifest(cache, EVAL)["files"]}
        files = [f for f in files if f["file_id"] not in held_out]
    return files


FEW_TRAINING_FILES = 8  # below this, say plainly that the adapter has little to learn from


@flow(name="train")
def train_flow(cache_dir: str = DEFAULT_CACHE, out_path: str = DEFAULT_ADAPTER,
               config_path: str | None = None, manifest: str | None = None,
               show_progress: bool = True, config: AuralConfig | None = None,
               force_publish: bool = False, task_runner: RunnerKind = "auto", workers: int = 2,
               dask_address: str | None = None) -> dict:
    """Label and section every analysed training file, train the adapter and publish it if it
    is no worse than the published one.

    The new adapter always joins the model store (``aural models list``); it replaces
    ``adapter.pt`` only when its loss on the held-out sections is no worse than the published
    adapter's on the same sections, or when forced (``aural_core.selection``). The decision and
    both losses are logged and published as the ``adapter-publish-decision`` artifact.

    With ``config.render.probe`` on, the linear probe from section embeddings to MusicGen's
    text-encoder space is fitted on the same sections and split and stored in ``models/probes``
    (tasks/probe.py).

    With ``config.augment`` on, the files on the training side of the split also get
    transposed / time-stretched copies, each one cached task run (see tasks/augment.py),
    whose sections join the training set; validation sees original sections only.

    Args:
        cache_dir: analysis cache written by the analyze flow. Relative paths resolve against
            the working directory of the process running the flow.
        out_path: where the adapter is published; metadata.json and the model store (store/)
            go beside it. When that folder publishes the adapter of another data folder (a
            models folder shared by several), this one's goes to
            ``<folder>/lineages/<name>-<id>/adapter.pt`` (storage/lineage.py): the no-worse
            rule compares adapters of one data folder only.
        config_path: TOML or JSON settings file; empty for the defaults.
        manifest: the analysed folder to train on, by name ("inputs") or path; empty means the
            cache's only analysed folder besides "eval".
        show_progress: draw a terminal progress bar (for the CLI; off in deployments).
        config: settings as an object (a parent flow passes its own); overrides config_path.
        force_publish: publish the new adapter even when it is worse than the published one.
        task_runner: where the labelling and augmentation tasks run (threads, processes or
            dask; see runtime/runners.py), in the inner flow ``train-sections``.
        workers: threads, processes or local Dask workers (at least 1).
        dask_address: an existing Dask scheduler (tcp://host:8786) instead of a local cluster.
    """
    logger = get_run_logger()
    cache = CacheLayout(Path(cache_dir).resolve())
    config, styles = resolve_settings(config, config_path)
    name = resolve_manifest(cache, manifest)
    lineage = Lineage.of_folder(read_manifest(cache, name)["input_dir"])
    models = publication_layout(ModelsLayout.of_adapter(out_path), lineage)
    if models.root != ModelsLayout.of_adapter(out_path).root:
        logger.info("%s publishes an adapter of another data folder: the adapter for %s goes to %s",
                    ModelsLayout.of_adapter(out_path).root, lineage.folder, models.adapter)
    logger.info("train: folder %r analysed in %s -> %s", name, cache.root, models.adapter)
    files = training_files(cache, name, config)
    if len(files) < 2:
        raise InputsMissingError(f"need at least 2 analysed training files in {cache.root}, found {len(files)} "
                                 f"with feature config {config.features.config_hash()}: run `aural analyze` "
                                 "with this config first")
    input_set = {"hash": input_set_hash(files), "n_files": len(files)}
    # Only the ids and shown names travel as the inner flow's parameters (a manifest's real
    # paths may not be UTF-8, which the API refuses).
    prepared = run_with_runner(train_sections, task_runner, workers, dask_address, cache_dir=str(cache.root),
                               manifest=name, files=[{"file_id": f["file_id"], "source": f["source"]}
                                                     for f in files], config=config)
    summary, labelled = prepared["labels"], prepared["labelled"]
    augment, copies = prepared["augment"], prepared["copies"]
    section_files = [r.sections for r in labelled] + [c.sections for c in copies]

    dataset = build_training_set(section_files, str(cache.root), config.train)
    _announce_split(dataset, show_progress)
    provenance = {"lineage": lineage.to_dict(), "input_set": input_set}
    trained = train_task(dataset.npz, config, styles, dataset, str(models.store), show_progress, provenance)
    meta = trained.metadata
    decision = decide_publish(dataset.npz, trained.ref, str(models.root), force_publish)
    _record_decision(decision, trained.ref)
    if decision.publish:
        publish_adapter(models, trained.ref, {**meta, **provenance})
    # Seed section 8's probe, fitted on the same sections and split (stored in models/probes).
    probe = (fit_probe_task(dataset.npz, meta["split"]["val_files"], config, styles, str(models.root),
                            dataset.data_hash) if config.render.probe else None)
    val = meta["metrics"]["validation"]
    create_table_artifact(key="adapter-metrics", table=[{"split": k, **v} for k, v in meta["metrics"].items()],
                          description=f"Adapter {trained.ref[:19]} trained on {dataset.n_sections} sections")
    create_markdown_artifact(key="train-summary", markdown=(
        f"# train\n{summary.one_line()}\n\n{augment.one_line()}\n\n{dataset.n_sections} sections from "
        f"{dataset.n_files} files (+{dataset.n_augmented_sections} augmented); "
        f"{label_sources_line(dataset.label_sources) or 'weak labels only'}; "
        f"best epoch {meta['best_epoch']}; validation: " + ", ".join(f"{k} {v:.3f}" for k, v in val.items())))
    return {"adapter": str(models.adapter), "ref": trained.ref, "metadata": str(models.metadata),
            "lineage": lineage.to_dict(), "input_set": input_set,
            "published": decision.publish, "decision": decision.to_dict(),
            "probe": probe.to_dict() if probe else None,
            "labels": summary.to_dict(), "augment": augment.to_dict(), "dataset": dataset.to_dict(),
            "metrics": meta["metrics"],
            "best_epoch": meta["best_epoch"], "epochs_run": len(meta["history"])}


def input_set_hash(files: list[dict]) -> str:
    """16 hex characters naming the set of training files (their content ids, in any order)."""
    return hashlib.sha256("\n".join(sorted(f["file_id"] for f in files)).encode()).hexdigest()[:16]


def _announce_split(dataset: TrainingSet, show_progress: bool) -> None:
    """Say before training how many files and sections train and validate, and warn when there
    are too few to learn from or one file validates alone."""
    split, logger = dataset.split, get_run_logger()
    augmented = split["n_augmented_train_sections"]
    text = (f"training on {_count(split['n_train_files'], 'file')} ({_count(split['n_train_sections'], 'section')}"
            + (f", +{augmented} augmented" if augmented else "")
            + f"), validating on {_count(split['n_val_files'], 'held-out file')} "
              f"({_count(split['n_val_sections'], 'section')})")
    strong = label_sources_line(dataset.label_sources)
    text += f"; {strong}" if strong else ""
    logger.info(text)
    if show_progress:
        note(text)
    if split["n_train_files"] < FEW_TRAINING_FILES:
        logger.warning("only %s train: an adapter learns little from so few; a dozen or more files in the "
                       "training folder give it something to learn", _count(split["n_train_files"], "file"))
    if split["n_val_files"] < 2:
        logger.warning("only one file validates: early stopping and the publish decision rest on that one piece")


def label_sources_line(counts: dict[str, dict[str, int]]) -> str:
    """E.g. "strong labels: bpm 40 sidecar, key 38 tag + 2 sidecar" ("" when every label is weak)."""
    parts = [f"{name} " + " + ".join(f"{n} {origin}" for origin, n in sorted(by.items()) if origin != "weak")
             for name, by in counts.items() if any(origin != "weak" for origin in by)]
    return "strong labels: " + ", ".join(parts) if parts else ""


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _record_decision(decision: PublishDecision, ref: str) -> None:
    """Log the publish decision and keep it as an artifact of the run, with both losses."""
    text = decision.one_line()
    get_run_logger().info("adapter %s %s", ref[:19], text)
    create_markdown_artifact(key="adapter-publish-decision", description=text, markdown=(
        f"# Publish decision\n\nAdapter `{ref[:19]}…` **{'published' if decision.publish else 'not published'}**"
        f": {markdown_escape(decision.reason)}.\n\n| | held-out loss |\n|---|---|\n"
        f"| new | {_loss(decision.candidate_loss)} |\n| published | {_loss(decision.published_loss)} |\n\n"
        f"{decision.n_sections} held-out sections. Every version stays in the store: "
        "`aural models list`, `aural models promote REF`."))


def _loss(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f}"


@flow(name="train-sections")
def train_sections(cache_dir: str, manifest: str, files: list[dict], config: AuralConfig) -> dict:
    """Labels and sections of the training ``files`` ({"file_id", "source"}), then the
    augmented copies of those on the training side and their sections (a sections file per
    copy, like an original's), with the task runner ``train_flow`` chose."""
    cache = CacheLayout(Path(cache_dir))
    styles = resolve_settings(config, None)[1]
    strong = read_strong_labels(cache, manifest, {f["file_id"] for f in files}, styles)
    summary = label_files(cache, files, config, styles, strong)
    labelled = [o.result for o in summary.outcomes if o.result and o.result.n_sections]
    with one_blas_thread():
        augment, ready = augment_files(cache, manifest, labelled, config)
    _, copies = label_copies(cache, ready, config.labels)
    return {"labels": summary, "labelled": labelled, "augment": augment, "copies": copies}
