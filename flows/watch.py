"""The ``watch-inputs`` flow: notice new or changed input files and retrain when they land.

Webhooks are Prefect Cloud only, so new inputs are found by polling (the deployment runs this
flow on an interval). When the input folder differs from what the last analysis recorded, it
emits an ``aural.inputs.changed`` event (for automations) and runs the whole pipeline.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger
from prefect.events import emit_event

from storage.manifest import list_inputs, manifest_path, read_manifest

from .pipeline import pipeline_flow


def input_changes(input_dir: str, cache_dir: str) -> dict:
    """Files added, changed (same name, new content) or removed since the last analysis."""
    name = Path(input_dir).resolve().name
    seen = {}
    if manifest_path(cache_dir, name).is_file():
        seen = {f["source"]: f["file_id"] for f in read_manifest(cache_dir, name)["files"]}
    now = {f.name: f.file_id for f in list_inputs(input_dir)}
    return {"added": sorted(set(now) - set(seen)), "removed": sorted(set(seen) - set(now)),
            "changed": sorted(n for n in set(now) & set(seen) if now[n] != seen[n])}


@flow(name="watch-inputs")
def watch_inputs_flow(data_dir: str = "data", models_dir: str = "models", reports_dir: str = "reports",
                      config_path: str | None = None, run_pipeline: bool = True) -> dict:
    """Retrain (the whole pipeline) when ``data_dir/inputs`` changed since its last analysis."""
    logger = get_run_logger()
    changes = input_changes(str(Path(data_dir) / "inputs"), str(Path(data_dir) / "cache"))
    if not any(changes.values()):
        logger.info("inputs unchanged: nothing to do")
        return {"changes": changes, "ran": False}
    logger.info("inputs changed: %s", changes)
    emit_event(event="aural.inputs.changed", resource={"prefect.resource.id": f"aural.inputs.{Path(data_dir).resolve()}"},
               payload=changes)
    if run_pipeline:
        pipeline_flow(data_dir=data_dir, models_dir=models_dir, reports_dir=reports_dir,
                      config_path=config_path, show_progress=False)
    return {"changes": changes, "ran": run_pipeline}
