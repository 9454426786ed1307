"""The ``retrain`` flow: the whole pipeline, once per distinct set of inputs and settings.

Run by the ``retrain`` deployment when ``watch-inputs`` emits ``aural.inputs.changed`` (an
automation: a ``DeploymentEventTrigger``), and by the nightly cron. Idempotent: a run whose
inputs and settings were already trained on (``storage.training_log``) does nothing, and the
deployments allow one run at a time (later triggers wait), so two triggers for one change train
once. Training publishes only an adapter no worse than the published one (see flows/train.py).
"""

from __future__ import annotations

from prefect import flow, get_run_logger

from aural_core.config import AuralConfig
from aural_core.errors import InputsMissingError
from aural_core.styles import style_table_hash
from runtime.runners import RunnerKind, check_runner
from storage.layout import DATA_DIR, DataLayout
from storage.locking import folder_lock
from storage.manifest import list_inputs
from storage.strong_labels import sidecar_fingerprint
from storage.training_log import TrainingLog, inputs_key

from .pipeline import pipeline_flow
from .settings import resolve_settings
from .summary import finish, run_flow

RETRAIN_LOCK = ".retrain.lock"


@flow(name="retrain")
def retrain_flow(data_dir: str = DATA_DIR, models_dir: str | None = None, reports_dir: str | None = None,
                 config_path: str | None = None, config: AuralConfig | None = None,
                 force_publish: bool = False, task_runner: RunnerKind = "auto", workers: int = 2,
                 dask_address: str | None = None) -> dict:
    """Retrain on the training folder unless exactly these inputs and settings were trained on.

    Args:
        data_dir: folder holding inputs/, eval/ and cache/ (as for the pipeline). Relative paths
            resolve against the working directory of the process running the flow.
        models_dir: where the retrained adapter goes (published only if no worse); empty: as
            for the pipeline (models/ for the default data folder, <data_dir>/models otherwise).
        reports_dir: where the evaluation reports go; empty: as for the pipeline.
        config_path: TOML or JSON settings file; empty for the defaults.
        config: settings as a typed object (the Run form's fields); overrides config_path.
        force_publish: publish the new adapter even when it is worse than the published one.
        task_runner, workers, dask_address: where the per-file tasks run (as for the pipeline;
            runtime/runners.py).
    """
    logger = get_run_logger()
    check_runner(task_runner, workers, dask_address)  # before taking the lock
    layout = DataLayout.resolve(data_dir, models_dir, reports_dir)
    config, styles = resolve_settings(config, config_path)
    if not layout.inputs.is_dir():
        raise InputsMissingError(f"input folder {layout.inputs} does not exist (is the volume mounted?)")
    # A changed labels.csv is a changed input set: its strong labels change what trains.
    key = inputs_key(list_inputs(layout.inputs), config.config_hash(), style_table_hash(styles),
                     sidecar_fingerprint(layout.inputs))
    # One retrain per models folder at a time, across deployments and machines sharing it: a
    # second trigger waits here, then finds the first one's record and skips.
    with folder_lock(layout.models.root / RETRAIN_LOCK):
        log = TrainingLog(layout.models)
        seen = log.entry(key)
        if seen is not None:
            logger.info("%s: these inputs and settings were trained on at %s (adapter %s): nothing to do",
                        layout.inputs, seen["at"], seen.get("ref", "?")[:19])
            return {"skipped": True, "inputs_key": key, "trained": seen}
        result, _ = run_flow(pipeline_flow, data_dir=str(layout.data), models_dir=str(layout.models_root),
                             reports_dir=str(layout.reports_root), config=config, force_publish=force_publish,
                             show_progress=False, task_runner=task_runner, workers=workers,
                             dask_address=dask_address)
        train = result["train"]
        log.record(key, ref=train["ref"], published=train["published"], reason=train["decision"]["reason"])
    result.update(skipped=False, inputs_key=key)
    return finish(result, result["failed_files"], "retrain")
