"""What every task shares: retry rules, result storage beside the data, backend instances."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from aural_core.errors import AuralError
from storage.layout import CacheLayout

RETRY_DELAYS = [1, 3]


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


def submit_cached(task, *, output: Path, cache: CacheLayout, **parameters):
    """Submit a task whose cached result is the path ``output``, with results beside the data.

    When ``output`` is gone the cache entry is refreshed (recomputed and re-recorded), so a
    cached result never points at a missing file.
    """
    configured = task.with_options(result_storage=cache.prefect_results,
                                   refresh_cache=not Path(output).is_file())
    return configured.submit(**parameters)


def one_blas_thread():
    """Limit BLAS/OpenMP to one thread while a flow's tasks run (enter it in the flow's thread).

    The limit is process-wide, so it wraps the flow's task submissions, not each task (tasks
    entering and leaving it in parallel would race). Tasks already run two at a time on two
    cores, so more BLAS threads only contend; and the thread count changes float rounding,
    so a fixed count keeps features, and so adapters, bit-identical across runs.
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)
