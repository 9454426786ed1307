"""What every task shares: retry rules, result storage beside the data, backend instances."""

from __future__ import annotations

import contextvars
import hashlib
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from aural_core.errors import AuralError
from storage.integrity import problem
from storage.layout import CacheLayout

RETRY_DELAYS = [1, 3]
# Set while ``submit_cached`` submits a task whose outputs are all intact (its cached result
# will be used): a runner may then run it in the flow's own process (runtime/runners.py), where
# reading a cache entry costs no worker process start.
CACHE_HIT_EXPECTED: contextvars.ContextVar[bool] = contextvars.ContextVar("aural_cache_hit_expected",
                                                                          default=False)


def retry_transient(task, task_run, state) -> bool:
    """Retry only what may succeed next time: not bad input, not a vanished file."""
    exc = state.result(raise_on_failure=False)
    return not isinstance(exc, (AuralError, FileNotFoundError, ValueError))


def short_hash(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:16]


@lru_cache(maxsize=4)
def embedder_for(name: str, model: str):
    """One embedder per process and backend (a CLAP model is expensive to load)."""
    from aural_core.embedders import build_embedder

    return build_embedder(name) if name == "dsp" else build_embedder(name, model=model)


@lru_cache(maxsize=4)
def tagger_for(name: str, model: str):
    from aural_core.embedders import build_tagger

    return build_tagger(name) if name == "rules" else build_tagger(name, model=model)


def submit_cached(task, *, output: Path | Sequence[Path], cache: CacheLayout,
                  notes: list[str] | None = None, **parameters):
    """Submit a task whose cached result is the file ``output`` (or files), with results beside
    the data.

    A cached result is reused only while every output is intact: present and hashing to the
    checksum recorded when it was written (``storage.integrity``). Otherwise the cache entry is
    refreshed (recomputed, rewritten and re-recorded); a file that is there but fails the check
    is logged ("cache entry for X failed verification (...): recomputed") and the message is
    appended to ``notes`` for the run summary.
    """
    outputs = [Path(output)] if isinstance(output, (str, Path)) else [Path(p) for p in output]
    problems = {p: problem(p) for p in outputs}
    refresh = any(problems.values())
    for path, reason in problems.items():
        if reason and reason != "missing":
            message = f"cache entry for {path.name} failed verification ({reason}): recomputed"
            _log_warning(message)
            if notes is not None:
                notes.append(message)
    token = CACHE_HIT_EXPECTED.set(not any(problems.values()))
    try:
        return _with_storage(task, cache.prefect_results, refresh).submit(**parameters)
    finally:
        CACHE_HIT_EXPECTED.reset(token)


@lru_cache(maxsize=64)
def _with_storage(task, storage: Path, refresh: bool):
    """``task`` keeping its results in ``storage``: one copy per combination, reused for every
    file (building a task reads and hashes its function's source, milliseconds each time)."""
    return task.with_options(result_storage=storage, refresh_cache=refresh)


def _log_warning(message: str) -> None:
    from prefect import get_run_logger
    from prefect.exceptions import MissingContextError

    try:
        get_run_logger().warning(message)
    except MissingContextError:  # submitted outside a flow run (only in tests)
        import logging

        logging.getLogger("aural").warning(message)


def one_blas_thread():
    """Limit BLAS/OpenMP to one thread while a flow's tasks run (enter it in the flow's thread).

    The limit is process-wide, so it wraps the flow's task submissions, not each task (tasks
    entering and leaving it in parallel would race). Tasks already run one per worker and
    core, so more BLAS threads only contend; and the thread count changes float rounding, so a
    fixed count keeps features, and so adapters, bit-identical across runs. Worker processes
    (the processes and Dask runners) set the same limit when they start
    (``runtime.runners.limit_threads``).
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)
