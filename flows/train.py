"""The ``train`` flow: weak labels -> sections -> adapter, reusing the analysis cache."""

from __future__ import annotations

import json
import platform
from datetime import datetime, timezone
from importlib import metadata as importlib_metadata
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.futures import wait

from aural_core.config import load_config
from aural_core.styles import load_style_table
from storage.artifacts import ArtifactStore
from storage.atomic import write_text_atomic
from storage.frames import frames_path
from storage.manifest import manifest_path, read_manifest
from storage.sections import sections_path
from tasks.common import submit_cached
from tasks.train import build_training_set, label_file, styles_hash, train_task

from .summary import FileOutcome, RunSummary

LIBRARIES = ("torch", "numpy", "scipy", "librosa", "scikit-learn", "pyarrow", "prefect", "soundfile")


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            versions[name] = "missing"
    return versions


def training_files(cache_dir: str, manifest: str) -> list[dict]:
    """Files of the analysed input folder whose frames exist, minus any held-out eval file."""
    files = [f for f in read_manifest(cache_dir, manifest)["files"]
             if f["status"] != "failed" and frames_path(cache_dir, f["file_id"]).is_file()]
    if manifest != "eval" and manifest_path(cache_dir, "eval").is_file():
        held_out = {f["file_id"] for f in read_manifest(cache_dir, "eval")["files"]}
        files = [f for f in files if f["file_id"] not in held_out]
    return files


def label_files(cache_dir: str, files: list[dict], config) -> RunSummary:
    """Run the cached label-sections task over analysed files; outcomes per file."""
    futures = {submit_cached(label_file, output=sections_path(cache_dir, f["file_id"]), data_dir=cache_dir,
                             frames_file=str(frames_path(cache_dir, f["file_id"])), file_id=f["file_id"],
                             source=f["source"], cache_dir=cache_dir, labels=config.labels,
                             sections=config.sections): f for f in files}
    wait(list(futures))
    summary = RunSummary(stage="label")
    for fut, f in futures.items():
        fut.wait()
        summary.add(FileOutcome.from_state(f["source"], fut.state, f["file_id"]))
    get_run_logger().info(summary.one_line())
    return summary


@flow(name="train")
def train_flow(cache_dir: str = "data/cache", out_path: str = "models/adapter.pt",
               config_path: str | None = None, manifest: str = "inputs",
               show_progress: bool = True) -> dict:
    """Label and section every analysed training file, then train and publish the adapter.

    ``manifest`` names the analysed input folder (``inputs`` for ``data/inputs``).
    """
    logger = get_run_logger()
    config = load_config(config_path)
    styles = load_style_table(config.labels.styles_path)
    files = training_files(cache_dir, manifest)
    if len(files) < 2:
        raise ValueError(f"need at least 2 analysed training files in {cache_dir}, found {len(files)}")
    summary = label_files(cache_dir, files, config)
    section_files = [o.result["sections"] for o in summary.outcomes if o.result and o.result["n_sections"]]

    dataset = build_training_set(section_files, cache_dir)
    # No timestamp inside the artifact: same data, config and seed -> byte-identical adapter,
    # which the content-addressed store then keeps once.
    extra = {
        "libraries": library_versions(),
        "hyperparameters": config.train.model_dump(),
        "seeds": {"python": config.train.seed, "numpy": config.train.seed, "torch": config.train.seed,
                  "kmeans": config.sections.seed},
        "data_hash": dataset["data_hash"], "n_sections": dataset["n_sections"], "n_files": dataset["n_files"],
        "config_hash": config.config_hash(),
        "config_hashes": {k: getattr(config, k).config_hash() for k in ("features", "labels", "sections", "train")},
        "styles": styles.to_json(), "styles_hash": styles_hash(config.labels.styles_path),
    }
    out = Path(out_path)
    result = train_task(dataset["npz"], config.train, len(styles), str(out.parent / "store"), extra,
                        show_progress)
    ArtifactStore(out.parent / "store").publish(result["ref"], out)
    meta = {"created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), **extra,
            "artifact": result["ref"], "best_epoch": result["best_epoch"],
            "stopped_early": result["stopped_early"], "split": result["split"],
            "curves": [{k: r[k] for k in ("epoch", "train_loss", "val_loss")} for r in result["history"]],
            "history": result["history"], "metrics": result["metrics"]}
    write_text_atomic(out.parent / "metadata.json", json.dumps(meta, indent=2))
    val = result["metrics"]["validation"]
    create_table_artifact(key="adapter-metrics", table=[{"split": k, **v} for k, v in result["metrics"].items()],
                          description=f"Adapter {result['ref'][:19]} trained on {dataset['n_sections']} sections")
    create_markdown_artifact(key="train-summary", markdown=(
        f"# train\n{summary.one_line()}\n\n{dataset['n_sections']} sections from {dataset['n_files']} files; "
        f"best epoch {result['best_epoch']}; validation: " + ", ".join(f"{k} {v:.3f}" for k, v in val.items())))
    return {"adapter": str(out), "ref": result["ref"], "metadata": str(out.parent / "metadata.json"),
            "labels": summary.to_dict(), "dataset": dataset, "metrics": result["metrics"],
            "best_epoch": result["best_epoch"], "epochs_run": len(result["history"])}
