"""One lock per folder: ``fcntl.flock`` on a lock file, shared by processes and threads.

Nested use in one thread is allowed (a publish inside a gc holds the same lock); other threads
of the process wait on a ``threading.RLock``, other processes on the ``flock``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator
from pathlib import Path

_GUARD = threading.Lock()
_HELD: dict[str, list] = {}  # path -> [RLock, fd or None, depth]


@contextlib.contextmanager
def folder_lock(lock_file: str | Path) -> Iterator[Path]:
    """Hold the exclusive lock of ``lock_file`` (created when missing) for the ``with`` block."""
    path = Path(lock_file).resolve()
    key = str(path)
    with _GUARD:
        entry = _HELD.setdefault(key, [threading.RLock(), None, 0])
    rlock = entry[0]
    with rlock:
        if entry[2] == 0:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            except BaseException:
                os.close(fd)
                raise
            entry[1] = fd
        entry[2] += 1
        try:
            yield path
        finally:
            entry[2] -= 1
            if entry[2] == 0:
                fd, entry[1] = entry[1], None
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
