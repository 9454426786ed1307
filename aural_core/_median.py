"""A sorted-window running median, compiled with numba (as librosa's own kernels are).

Each step removes the value leaving the window and inserts the one entering it into a sorted
buffer: O(size) per output instead of a selection per window (``scipy.ndimage``'s rank filter).
The compiled code is cached next to this module; ``make install`` compiles it once.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def sliding_median_rows(padded: np.ndarray, size: int) -> np.ndarray:  # pragma: no cover - compiled
    """Median of each ``size``-long window along the rows of ``padded``.

    Parameters
    ----------
    padded : np.ndarray [shape=(rows, n + size - 1)]
        Finite values, already padded at both ends by the caller.
    size : int >= 1
        Window length in columns.

    Returns
    -------
    np.ndarray [shape=(rows, n), dtype=padded.dtype]
        Column ``j`` is the median of ``padded[:, j:j + size]`` (the upper median for even ``size``).
    """
    rows, width = padded.shape
    n = width - size + 1
    out = np.empty((rows, n), dtype=padded.dtype)
    window = np.empty(size, dtype=padded.dtype)
    mid = size // 2
    for r in range(rows):
        for i in range(size):
            window[i] = padded[r, i]
        window.sort()
        out[r, 0] = window[mid]
        for j in range(1, n):
            leaving, entering = padded[r, j - 1], padded[r, j + size - 1]
            # find the leaving value (present: it entered earlier), then shift to make room
            k = 0
            while k < size - 1 and window[k] != leaving:  # (finite input: always found)
                k += 1
            if entering >= leaving:
                while k + 1 < size and window[k + 1] < entering:
                    window[k] = window[k + 1]
                    k += 1
            else:
                while k > 0 and window[k - 1] > entering:
                    window[k] = window[k - 1]
                    k -= 1
            window[k] = entering
            out[r, j] = window[mid]
    return out
