"""How the analysing processes allocate memory: fresh pages are the analysis's costliest syscall.

Each file makes many large, short-lived arrays (STFTs, CQTs, HPSS masks: 10-200 MB for a long
file). By default numpy asks the kernel for transparent huge pages on every array over 4 MB
(``madvise``) and glibc hands arrays over 128 KB-32 MB back to the kernel when they are freed,
so the next array faults in fresh pages that the kernel must zero, 2 MB at a time. Measured on
the real-music set, one core (benchmarks/results/analyze.json): 11-14 s of the 35 s were
kernel time; without the huge-page advice 3.5 s; with the worker allocator settings below too,
1.7 s, and the extraction ran 1.37x faster at the same peak memory of one process.

The user's own ``NUMPY_MADVISE_HUGEPAGE`` or ``GLIBC_TUNABLES`` always win.
"""

from __future__ import annotations

import os
import sys

HUGEPAGE_ENV = "NUMPY_MADVISE_HUGEPAGE"
TUNABLES_ENV = "GLIBC_TUNABLES"
# Arrays up to 64 MB come from the heap and up to 128 MB of freed heap is kept for the next
# array instead of being returned and faulted in again. Keeping more (256/512 MB) ran 7 % faster
# but held two workers near their peaks at once: 2.7 GB for the command's process tree on the
# real-music set instead of 2.3 GB. glibc reads these only when a process starts, so they reach
# the worker processes, not the process that sets them.
WORKER_MALLOC_TUNABLES = "glibc.malloc.mmap_threshold=67108864:glibc.malloc.trim_threshold=134217728"


def tune_memory(*, workers_are_processes: bool) -> None:
    """No huge-page advice in this process; with ``workers_are_processes``, the worker processes
    started from now on get the same and the allocator settings above (through the environment
    they inherit)."""
    os.environ.setdefault(HUGEPAGE_ENV, "0")
    numpy = sys.modules.get("numpy")
    if numpy is not None:  # numpy reads the variable only when it is imported
        numpy._core.multiarray._set_madvise_hugepage(int(os.environ[HUGEPAGE_ENV]))
    if workers_are_processes:
        os.environ.setdefault(TUNABLES_ENV, WORKER_MALLOC_TUNABLES)
