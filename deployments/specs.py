"""The deployments, declared once: ``aural-serve`` serves them and ``prefect.yaml`` registers
the same set for a work pool (a test checks that prefect.yaml declares every one).

Served deployments carry the ``-served`` suffix so that ``prefect deploy`` never takes over a
served deployment (or the other way round): both can live on one server.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flows.watch import INPUTS_CHANGED
from storage.layout import (
    ADAPTER_FILE,
    CACHE,
    DATA_DIR,
    EVAL,
    EVAL_JSON,
    INPUTS,
    MODELS_DIR,
    RENDER,
    RENDERS,
    REPORTS_DIR,
)

SERVED_SUFFIX = "-served"
RETRAIN_CRON = "0 3 * * *"
POLL_MINUTES = 10.0


@dataclass(frozen=True)
class DeploymentSpec:
    name: str
    entrypoint: str                 # "module/path.py:flow_function", as prefect.yaml writes it
    parameters: dict
    description: str
    cron: str | None = None
    interval_minutes: float | None = None
    tags: tuple[str, ...] = field(default=("aural",))
    # An automation runs the deployment when this event arrives (resource ids matching trigger_match).
    trigger_event: str | None = None
    trigger_match: str = "aural.inputs.*"
    # At most this many runs at once; later ones wait (ENQUEUE), visible as AwaitingConcurrencySlot.
    concurrency_limit: int | None = None

    @property
    def served_name(self) -> str:
        return self.name + SERVED_SUFFIX


def deployment_specs(*, data_dir: str = DATA_DIR, models_dir: str = MODELS_DIR, reports_dir: str = REPORTS_DIR,
                     retrain_cron: str = RETRAIN_CRON, poll_minutes: float = POLL_MINUTES) -> list[DeploymentSpec]:
    """Every deployment with its parameters; relative folders resolve against the working
    directory of the process that runs the flow (aural-serve's, or the worker's pull step)."""
    run = {"data_dir": data_dir, "models_dir": models_dir, "reports_dir": reports_dir, "show_progress": False}
    retrain = {k: v for k, v in run.items() if k != "show_progress"}
    cache, adapter = f"{data_dir}/{CACHE}", f"{models_dir}/{ADAPTER_FILE}"
    return [
        DeploymentSpec("aural-run", "flows/pipeline.py:pipeline_flow", run,
                       "The whole pipeline on demand: analyze, train, evaluate.", concurrency_limit=1),
        DeploymentSpec("retrain", "flows/retrain.py:retrain_flow", retrain,
                       "Retrains when watch-inputs reports new or changed inputs (an automation on "
                       f"{INPUTS_CHANGED}); once per input set, publishing only a no-worse adapter.",
                       trigger_event=INPUTS_CHANGED, concurrency_limit=1),
        DeploymentSpec("nightly-retrain", "flows/retrain.py:retrain_flow", retrain,
                       "The same retrain every night (cron, in the configured timezone) when inputs changed.",
                       cron=retrain_cron, concurrency_limit=1),
        DeploymentSpec("on-new-inputs", "flows/watch.py:watch_inputs_flow", {"data_dir": data_dir},
                       f"Polls the training folder; emits {INPUTS_CHANGED} when files were added or changed.",
                       interval_minutes=poll_minutes),
        DeploymentSpec("analyze", "flows/analyze.py:analyze_flow",
                       {"input_dir": f"{data_dir}/{INPUTS}", "cache_dir": cache, "show_progress": False},
                       "Feature extraction of the training folder."),
        DeploymentSpec("train", "flows/train.py:train_flow",
                       {"cache_dir": cache, "out_path": adapter, "show_progress": False},
                       "Weak labels, sections and adapter training from the analysis cache."),
        DeploymentSpec("evaluate", "flows/evaluate.py:evaluate_flow",
                       {"input_dir": f"{data_dir}/{EVAL}", "adapter": adapter,
                        "report": f"{reports_dir}/{EVAL_JSON}", "cache_dir": cache, "show_progress": False},
                       "Render and score the held-out folder with the published adapter."),
        DeploymentSpec("render", "flows/render.py:render_piece_flow",
                       {"input_path": f"{data_dir}/{RENDER}", "adapter": adapter,
                        "out_dir": f"{reports_dir}/{RENDERS}", "cache_dir": cache, "show_progress": False},
                       "Whole-piece renders of every file in the render folder, in one run (GPU work "
                       "batched and held to the `gpu` concurrency limit); a WAV and a cue sheet per file."),
    ]
