"""Where a flow's per-file tasks run, chosen per run: threads, processes or Dask.

A flow cannot change its own task runner once it runs, so each flow that maps per-file work
takes the choice as parameters (``task_runner``, ``workers``, ``dask_address``; a deployment
run passes them like any other) and runs that work as an inner flow given the runner built
here (flows/summary.py ``run_with_runner``).

Every runner keeps the cached-task contract: task parameters and results pickle, and results
and caches live under the cache folder (``CacheLayout.prefect_results``), which workers on
other machines must see at the same absolute path. (Prefect is imported where used: the
CLI checks these settings before it starts a server.)
"""

from __future__ import annotations

import contextlib
import functools
import os
import socket
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from aural_core.errors import ParameterError

from .memory import tune_memory
from .workers import worker_process_setup

if TYPE_CHECKING:
    from prefect.task_runners import TaskRunner

RunnerKind = Literal["auto", "threads", "processes", "dask"]
RUNNER_KINDS: tuple[str, ...] = ("auto", "threads", "processes", "dask")
# Worker processes take ~2 s to start (Python, Prefect and librosa imported anew), then analyse
# faster than threads: no GIL, and their own allocator settings (runtime/memory.py). Measured on
# 2 cores (benchmarks/results/analyze.json, ``runners``): 20.4 s vs 23.5 s for 64 min of audio,
# 7.4 s vs 5.4 s for two demo clips; they pay off from about 25 minutes of audio.
PROCESSES_FROM_AUDIO_S = 1500.0
CONNECT_TIMEOUT_S = 5.0


def _address(dask_address: str | None) -> str | None:
    return (dask_address or "").strip() or None  # a form's empty field means none


def check_runner(kind: str, workers: int, dask_address: str | None) -> None:
    """Raise ``ParameterError`` (one line, quoting the value) for settings no runner can take."""
    dask_address = _address(dask_address)
    if kind not in RUNNER_KINDS:
        raise ParameterError(f"task_runner={kind!r} must be one of {', '.join(RUNNER_KINDS)}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ParameterError(f"workers={workers!r} must be a whole number of at least 1")
    if dask_address is not None and kind != "dask":
        raise ParameterError(f"dask_address={dask_address!r} needs task_runner='dask' (got {kind!r})")
    if dask_address is not None:
        _check_reachable(dask_address)


def _check_reachable(address: str) -> None:
    """A scheduler that cannot be reached fails here, in a line naming it (Dask itself would
    retry for 30 s and then raise a multi-line timeout)."""
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host = port = None
    if not host or not port:
        raise ParameterError(f"dask_address={address!r} is not a scheduler address like tcp://host:8786")
    if parts.scheme not in ("tcp", "tls"):
        return  # other transports (ucx, inproc) are left to Dask
    try:
        socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        raise ParameterError(f"dask scheduler {address} is not reachable ({reason})") from None


def auto_runner(audio_to_analyse_s: float) -> RunnerKind:
    """What ``"auto"`` means for a run that analyses ``audio_to_analyse_s`` seconds of audio
    (files already in the cache not counted): processes from ``PROCESSES_FROM_AUDIO_S`` on."""
    return "processes" if audio_to_analyse_s >= PROCESSES_FROM_AUDIO_S else "threads"


def make_runner(kind: RunnerKind = "auto", workers: int = 2, dask_address: str | None = None) -> TaskRunner:
    """The task runner for a run's settings (checked first, see ``check_runner``).

    ``workers`` is the number of threads, processes or local Dask workers (one thread each);
    with ``dask_address`` the existing cluster's own workers run the tasks. ``"auto"`` here is
    threads: a flow that analyses audio resolves it first (``auto_runner``).
    """
    dask_address = _address(dask_address)
    check_runner(kind, workers, dask_address)
    kind = "threads" if kind == "auto" else kind
    tune_memory(workers_are_processes=kind != "threads" and not dask_address)
    from prefect.task_runners import ThreadPoolTaskRunner

    if kind == "threads":
        return ThreadPoolTaskRunner(max_workers=workers)
    if kind == "processes":
        return _process_pool_runner()(max_workers=workers, initializer=worker_process_setup,
                                      initargs=(os.getpid(),))
    # Dask logs every worker start and stop at INFO; read when Dask is first imported, and by
    # the local cluster's worker processes, which inherit it.
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")
    from .dask_runner import OneThreadDaskTaskRunner

    if dask_address:
        return OneThreadDaskTaskRunner(address=dask_address)
    return OneThreadDaskTaskRunner(cluster_kwargs={"n_workers": workers, "threads_per_worker": 1,
                                                   "processes": True, "dashboard_address": None})


@functools.cache  # one class: Prefect duplicates a runner by its type
def _process_pool_runner() -> type:
    """Prefect's process-pool runner, its event forwarder running in the caller's context, and
    cache hits run in the flow's own process.

    The runner forwards its worker processes' events from a thread of its own, which starts
    with an empty ``contextvars`` context: Prefect's settings there fall back to those read
    at import, before a command chose its server, and that thread would start a temporary
    server of its own (10 s) and send the task runs' events there. Prefect's own heartbeat
    thread runs in a copy of the caller's context for the same reason; so does this one.

    A task whose outputs are intact (``tasks.common.CACHE_HIT_EXPECTED``) only reads its cache
    entry: it runs in a thread of the flow's process, like the threads runner's tasks. The pool
    starts its worker processes on the first task sent to it (a second or more each: Python,
    Prefect and the analysis imported anew), so a fully cached run starts none.
    """
    import contextvars

    from prefect.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner

    class ContextProcessPoolTaskRunner(ProcessPoolTaskRunner):
        def __enter__(self):
            self._forwarder_context = contextvars.copy_context()
            self._in_process = ThreadPoolTaskRunner(max_workers=self._max_workers).__enter__()
            return super().__enter__()

        def __exit__(self, *exc_info):
            try:
                super().__exit__(*exc_info)
            finally:
                self._in_process.__exit__(*exc_info)

        def submit(self, task, parameters, wait_for=None, dependencies=None):
            from tasks.common import CACHE_HIT_EXPECTED  # here: the class travels to the workers by value

            if CACHE_HIT_EXPECTED.get():
                return self._in_process.submit(task, parameters, wait_for, dependencies)
            return super().submit(task, parameters, wait_for, dependencies)

        def _forward_subprocess_messages(self) -> None:
            context = getattr(self, "_forwarder_context", None) or contextvars.copy_context()
            return context.run(super()._forward_subprocess_messages)

    return ContextProcessPoolTaskRunner


@contextlib.contextmanager
def no_heartbeats():
    """Prefect's current settings with flow heartbeats off, for the ``with`` block. A plain
    copy: ``temporary_settings`` re-reads the environment and profiles (0.2 s each time), and
    the heartbeat interval is a lone number no other setting derives from."""
    import prefect.context

    context = prefect.context.get_settings_context()
    flows = context.settings.flows.model_copy(update={"heartbeat_frequency": None})
    with prefect.context.SettingsContext(profile=context.profile,
                                         settings=context.settings.model_copy(update={"flows": flows})):
        yield
