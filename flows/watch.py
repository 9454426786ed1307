"""The ``watch-inputs`` flow: notice new or changed input files and retrain when they land.

Webhooks are Prefect Cloud only, so new inputs are found by polling (the deployment runs this
flow on an interval). When the input folder differs from what the last analysis recorded, it
emits an ``aural.inputs.changed`` event; the ``retrain`` deployment's trigger retrains.
"""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.events import emit_event

from aural_core.errors import InputsMissingError
from storage.layout import DATA_DIR, MODELS_DIR, REPORTS_DIR, CacheLayout, DataLayout, manifest_name
from storage.manifest import list_inputs, read_manifest

# The event this flow emits; the retrain deployment's trigger waits for it (deployments/specs.py).
INPUTS_CHANGED = "aural.inputs.changed"


def input_changes(input_dir, cache: CacheLayout) -> dict:
    """Files added, changed (same name, new content) or removed since the last analysis."""
    seen = {}
    if cache.manifest_for(input_dir).is_file():
        seen = {f["source"]: f["file_id"] for f in read_manifest(cache, manifest_name(input_dir))["files"]}
    now = {f.name: f.file_id for f in list_inputs(input_dir)}
    return {"added": sorted(set(now) - set(seen)), "removed": sorted(set(seen) - set(now)),
            "changed": sorted(n for n in set(now) & set(seen) if now[n] != seen[n])}


@flow(name="watch-inputs")
def watch_inputs_flow(data_dir: str = DATA_DIR) -> dict:
    """Emit ``INPUTS_CHANGED`` (``aural.inputs.changed``) when the training folder changed since its last analysis.

    Detection only: the ``retrain`` deployment's trigger on that event does the training, in a
    run of its own (see flows/retrain.py and deployments/specs.py).

    Args:
        data_dir: folder holding inputs/ and cache/ (as for the pipeline). Relative paths
            resolve against the working directory of the process running the flow.
    """
    logger = get_run_logger()
    layout = DataLayout.resolve(data_dir, MODELS_DIR, REPORTS_DIR)
    if not layout.inputs.is_dir():
        raise InputsMissingError(f"input folder {layout.inputs} does not exist (is the volume mounted?)")
    changes = input_changes(layout.inputs, layout.cache)
    if not any(changes.values()):
        logger.info("%s unchanged since its last analysis: nothing to do", layout.inputs)
        return {"changes": changes, "emitted": False}
    logger.info("%s changed: %s", layout.inputs, changes)
    emit_event(event=INPUTS_CHANGED, resource={"prefect.resource.id": f"aural.inputs.{layout.inputs}"},
               payload={**changes, "data_dir": str(layout.data)})
    return {"changes": changes, "emitted": True}
