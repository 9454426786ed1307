"""How a flow run ends (Completed, or Failed with its result when files failed), how it runs its
inner flows, and what it shows in the Prefect UI beside its artifacts."""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

from prefect.states import Failed

from aural_core.errors import FilesFailedError
from runtime.runners import RunnerKind, make_runner, no_heartbeats
from runtime.termination import raise_if_terminated
from storage.names import display_name


def display_path(path: Path) -> str:
    """``path`` relative to the working directory when inside it (the project folder of a
    deployment run), else absolute: what a user looking at the UI can find."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(Path(path).resolve())


def artifact_key(*parts: str) -> str:
    """A valid Prefect artifact key (lowercase letters, digits, dashes) from ``parts``."""
    slug = "-".join(re.sub(r"[^a-z0-9]+", "-", p.lower()).strip("-") for p in parts if p)
    return re.sub(r"-{2,}", "-", slug).strip("-") or "aural"


def artifact_link(key: str) -> str:
    """A Markdown link to the artifact ``key`` in the Prefect UI (just the key when no UI URL is known)."""
    from prefect.settings import PREFECT_UI_URL

    ui = PREFECT_UI_URL.value()
    return f"[{key}]({ui.rstrip('/')}/artifacts/key/{key})" if ui else f"`{key}`"


def finish(result: dict, failures: list[str], what: str):
    """A flow's return value: ``result``, or a ``Failed`` state carrying it when files failed.

    Prefect then marks the run Failed, which an operator can filter and alert on, while the
    finished work stays readable: ``state.result(raise_on_failure=False).result``.
    """
    if not failures:
        return result
    # The state message travels to the API as JSON: a non-UTF-8 name would not encode.
    shown = ", ".join(display_name(f) for f in failures[:5])
    shown += f" and {len(failures) - 5} more" if len(failures) > 5 else ""
    error = FilesFailedError(display_name(f"{what}: {len(failures)} file(s) failed ({shown})"), result=result)
    return Failed(message=str(error), data=error)


def run_flow(flow, **parameters) -> tuple[dict, FilesFailedError | None]:
    """Run a flow (or subflow) that may end ``Failed`` with a result (see ``finish``).

    Returns its result and the partial-failure error, if any; any other failure is raised, and
    so is a SIGTERM the flow engine swallowed (``runtime.termination``): the next stage must
    not start.
    """
    state = flow(**parameters, return_state=True)
    raise_if_terminated()
    value = state.result(raise_on_failure=False)
    if isinstance(value, FilesFailedError):
        return value.result, value
    if isinstance(value, BaseException):
        raise value
    if state.is_failed():  # failed without an exception (e.g. crashed): say so
        raise RuntimeError(f"{flow.name} run ended {state.name}: {state.message}")
    return value, None


def run_with_runner(inner, task_runner: RunnerKind, workers: int, dask_address: str | None, **parameters):
    """Run the flow ``inner`` with the task runner of these settings (runtime/runners.py); its
    result, or its ``Failed`` state when files failed (see ``finish``), becomes the caller's.

    Outside a deployment run the inner run sends no heartbeats of its own: the calling run's
    heartbeats already say that the process lives, and each heartbeat thread holds a flow's end
    up to a second (half of a cached re-run's overhead on a running server). A deployment's
    inner runs do send them, so that the automation that crashes silent runs
    (runtime/automations.py) marks them Crashed too when their process dies.
    """
    runner = make_runner(task_runner, workers, dask_address)
    # A worker or `serve` names the flow run it starts a process for in PREFECT__FLOW_RUN_ID.
    in_deployment = bool(os.environ.get("PREFECT__FLOW_RUN_ID"))
    with contextlib.nullcontext() if in_deployment else no_heartbeats():
        value, failed = run_flow(inner.with_options(task_runner=runner), **parameters)
    return value if failed is None else Failed(message=str(failed), data=failed)
