"""The compiled kernel for stimulus-aligned counts (numba; ``pip install 'brainobs[fast]'``).

Imported only when counts are asked for and numba is installed: see
:func:`brainobs.analysis.alignment.compiled_counts`. The numpy path
(:func:`brainobs.analysis.alignment.count_into`) is exact and vectorised, but it materialises
one entry per spike in several temporaries and fills the whole output before counting. This
kernel walks each unit's spikes once, window by window in start order, and adds each spike to
its cell of an output of fresh zero pages: no temporaries, no fill, and only the cells that hold
spikes are written, unit after unit, so pages are first touched in order. It releases the GIL,
so groups of units are counted on all cores. It assigns bins by the same rule against the same
absolute edges (the last edge ``<= t``), so both give identical counts: tests/analysis/
test_alignment.py runs every counts test with each.

Compiled code is cached on disk by numba: only the first use after an install compiles (about a
second per output dtype).
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: Returned by :func:`count_group` when every count fitted the output's dtype.
FITTED = -1


@njit(cache=True, nogil=True)
def _gallop(flat: np.ndarray, low: int, high: int, value: float) -> int:
    """Return the first index in ``[low, high)`` of sorted ``flat`` holding ``>= value``.

    Searches outward from ``low`` (the previous window's answer), so that windows in start
    order cost the log of the spikes between them, not of the whole train.
    """
    step = 1
    while low + step < high and flat[low + step - 1] < value:
        step *= 2
    begin = low + step // 2
    end = min(low + step, high)
    while begin < end:
        middle = (begin + end) // 2
        if flat[middle] < value:
            begin = middle + 1
        else:
            end = middle
    return begin


@njit(cache=True, nogil=True)
def _bin_near(edges: np.ndarray, base: int, t: float, guess: int, last: int) -> int:
    """Return the last ``j <= last`` with ``edges[base + j] <= t``, searched from ``guess``."""
    j = min(max(guess, 0), last)
    while j > 0 and t < edges[base + j]:
        j -= 1
    while j < last and t >= edges[base + j + 1]:
        j += 1
    return j


@njit(cache=True, nogil=True)
def _bin_bisect(edges: np.ndarray, base: int, t: float, last: int) -> int:
    """Return the last ``j <= last`` with ``edges[base + j] <= t`` by binary search."""
    low, high = 0, last
    while low < high:
        middle = (low + high + 1) // 2
        if edges[base + middle] <= t:
            low = middle
        else:
            high = middle - 1
    return low


@njit(cache=True, nogil=True)
def _add(cells: np.ndarray, cell: int, binarize: bool, limit: float) -> bool:
    """Count one spike in ``cells[cell]``; return False when the count would not fit."""
    if binarize:
        cells[cell] = 1
        return True
    if cells[cell] >= limit:
        return False
    cells[cell] += 1
    return True


@njit(cache=True, nogil=True)
def _count_unit(
    flat: np.ndarray,
    cursor: int,
    end: int,
    domain: np.ndarray,
    order: np.ndarray,
    inverse_step: float,
    both: bool,
    binarize: bool,
    limit: float,
    cells: np.ndarray,
) -> bool:
    """Count the spikes ``flat[cursor:end]`` into ``cells`` (windows x bins, flat).

    Returns False when a count would not fit (``limit``).
    """
    n_windows, n_edges = domain.shape
    last = n_edges - 2  # the last bin
    edges = domain.reshape(-1)
    for k in range(n_windows):
        window = order[k]
        base = window * n_edges
        low, high = edges[base], edges[base + last + 1]
        cursor = _gallop(flat, cursor, end, low)
        target = window * (last + 1)
        i = cursor
        while i < end:
            t = flat[i]
            if t > high or (t == high and not both):
                break
            if inverse_step > 0.0:
                j = _bin_near(edges, base, t, np.intp((t - low) * inverse_step), last)
            else:
                j = _bin_bisect(edges, base, t, last)
            if not _add(cells, target + j, binarize, limit):
                return False
            on_edge = both and j > 0 and t == edges[base + j]
            if on_edge and not _add(cells, target + j - 1, binarize, limit):
                return False
            i += 1
    return True


@njit(cache=True, nogil=True)
def count_group(
    flat: np.ndarray,
    starts: np.ndarray,
    stops: np.ndarray,
    domain: np.ndarray,
    order: np.ndarray,
    inverse_step: float,
    both: bool,
    binarize: bool,
    limit: float,
    out: np.ndarray,
) -> int:
    """Count unit ``u``'s spikes ``flat[starts[u]:stops[u]]`` into the zeros ``out[u]``.

    ``out`` is (units, windows, bins); ``domain`` holds each window's absolute edges and
    ``order`` visits windows by start time. A window (and each bin) is ``[lo, hi)``; with
    ``both`` it is ``[lo, hi]`` and a spike on an interior edge also counts in the bin below.
    ``inverse_step > 0`` says every bin is that inverse width apart (used as a guess, checked
    against the edges). Returns :data:`FITTED`, or the position of the first unit with a count
    above ``limit``.
    """
    for unit in range(starts.size):
        cells = out[unit].reshape(-1)
        end = stops[unit]
        if not _count_unit(
            flat, starts[unit], end, domain, order, inverse_step, both, binarize, limit, cells
        ):
            return unit
    return FITTED
