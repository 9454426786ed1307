"""The set-up of a worker process (process pool, Dask worker): one BLAS thread, the command's
handling of a lost server and of Prefect's console lines, and death with the command.

Apart from ``runners`` so that ``dask_runner`` (imported only by Dask runs) and ``runners``
both use it without importing each other.
"""

from __future__ import annotations

import os

# Libraries that read these when they load; ``threadpool_limits`` covers those already loaded.
_ONE_THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


def limit_threads() -> None:
    """One BLAS/OpenMP/numba thread in this (worker) process, for good.

    A worker runs one task at a time per core, so more threads only contend; and the thread
    count changes float rounding, so features match the threads runner's bit for bit.
    """
    for name in _ONE_THREAD_ENV:
        os.environ[name] = "1"
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)


def worker_process_setup(command_pid: int | None = None) -> None:
    """A worker process: one thread, its command's handling of a lost server and of Prefect's
    console lines (runtime/prefect_offline.py, console_hygiene.py) and, given the command's
    pid, death with the command (Linux ``PR_SET_PDEATHSIG``, as the CLI's temporary server
    does), so that a killed ``aural analyze`` leaves no worker behind."""
    limit_threads()
    if command_pid is not None:
        from .local_server import die_with_parent

        die_with_parent(command_pid)
    from .console_hygiene import quiet_console_if_asked
    from .prefect_offline import install_in_worker

    install_in_worker()
    quiet_console_if_asked()
