"""Stimulus-aligned spike counts and spike times (the reference's presentationwise API).

Pure functions: they take spike times (a dict unit_id -> sorted float64 array of seconds) and a
presentations table (``start_time`` and ``stop_time`` or ``end_time`` columns, indexed by
presentation id) and return xarray/pandas objects with the reference toolkit's names.

Differences from the reference (AllenSDK ``EcephysSession``), all deliberate:

* Bins are half-open, ``[lo, hi)``, so a spike exactly on an interior edge is counted once. The
  reference counts it in both bins (``lo <= t <= hi``); ``edges="reference"`` reproduces that.
* Presentations may be in any time order and may overlap; every window is counted exactly (a spike
  inside two overlapping windows counts in both). The reference's ``presentationwise_spike_times``
  silently mis-assigns spikes in both cases; it uses ``(start, stop]`` windows, brainobs
  ``[start, stop)`` (``edges="reference"`` gives ``(start, stop]``).
* Empty results keep the same columns as non-empty ones.
* Counts are computed in one pass over groups of units: one search of the window bounds per
  unit, then the spikes inside windows in vectorised batches (temporaries grow with a batch,
  not with the output). The output is zero-filled in one sequential pass and each non-empty
  cell is written once; the array is stored unit-major: ``.data`` is a transposed view of a
  ``(unit, presentation, time)`` C-ordered buffer. Use ``np.ascontiguousarray(result.data)``
  if C order is needed.
* ``output="dask"`` gives the same counts as a Dask array computed in blocks of units, for
  requests larger than memory; a dense request that would not fit raises
  :class:`~brainobs.errors.OutputTooLargeError` with the sizes.
* Counts that do not fit ``dtype`` raise an error instead of wrapping around.
* With numba installed (``pip install 'brainobs[fast]'``) dense counts come from a compiled
  kernel (:mod:`brainobs.analysis._count_kernel`) that gives the same counts in one pass over
  the output; ``BRAINOBS_KERNELS=numpy`` turns it off.
"""

from __future__ import annotations

import os
import warnings
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cache
from typing import Any, Literal, TypeAlias

import numpy as np
import pandas as pd
import xarray as xr
from numpy.typing import ArrayLike, DTypeLike

from brainobs.analysis._validation import (
    EdgeMode,
    SpikeTimes,
    UnitSpikes,
    as_spike_mapping,
    check_dense_fits,
    check_edge_mode,
    presentation_onsets,
    presentation_windows,
    select_unit_ids,
    unit_groups,
    validate_bin_edges,
)
from brainobs.analysis.binning import (
    Closed,
    WindowBinner,
    build_time_domain,
    group_size,
    window_members,
)
from brainobs.errors import InvalidInputError

__all__ = ["presentationwise_spike_counts", "presentationwise_spike_times"]

#: The kinds of counts array: one in-memory array, or Dask blocks of units computed on demand.
Output: TypeAlias = Literal["dense", "dask"]
#: Bytes of counts per Dask block (whole units).
DASK_BLOCK_BYTES = 64 << 20

SPIKE_TIME_COLUMNS = (
    "stimulus_presentation_id",
    "unit_id",
    "time_since_stimulus_presentation_onset",
)


def _output_dtype(binarize: bool, dtype: DTypeLike | None) -> np.dtype[Any]:
    """Return the dtype of the counts array (uint16, or uint8 when binarizing, unless given)."""
    if dtype is None:
        return np.dtype(np.uint8 if binarize else np.uint16)
    return np.dtype(dtype)


def _warn_large_bins(bin_edges: np.ndarray, threshold: float) -> None:
    """Warn (as the reference does) when binarizing bins wider than ``threshold`` seconds."""
    widest = float(np.max(np.diff(bin_edges)))
    if widest > threshold:
        warnings.warn(
            f"binarize=True with bins up to {widest:.5f} s wide: a bin holding several spikes "
            f"reads as 1. Binarize only bins <= {threshold} s wide.",
            UserWarning,
            stacklevel=3,
        )


def zeroed(shape: tuple[int, ...], dtype: np.dtype[Any]) -> np.ndarray:
    """Return a zero array of ``shape`` whose pages are already in memory.

    ``np.zeros`` hands out untouched pages that the counts then fault in, scattered; on the
    benchmark machine that first touch cost 2-5 s of system time for a 1.8 GiB output, where
    one sequential fill costs 0.2-0.4 s. With the fill, a first call costs what later ones do.
    """
    out = np.empty(shape, dtype)
    out.fill(0)
    return out


def _run_counts(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (cell, count) of each run of equal values in the sorted ``cells``."""
    change = np.flatnonzero(cells[1:] != cells[:-1])
    change += 1
    starts = np.empty(change.size + 1, dtype=np.intp)
    starts[0] = 0
    starts[1:] = change
    counts = np.diff(starts, append=cells.size)
    return cells[starts], counts


def _largest_count(dtype: np.dtype[Any]) -> float:
    """Return the largest count ``dtype`` holds (inf for floats)."""
    return float(np.iinfo(dtype).max) if dtype.kind in "iu" else np.inf


def count_into(
    counts: np.ndarray,
    spikes: Mapping[Any, Any],
    unit_ids: list[Any],
    binner: WindowBinner,
    binarize: bool,
) -> np.ndarray:
    """Return ``counts`` (units, windows, bins; zeros) with the units' spikes counted in place.

    Each cell is written once (its count, or 1 with ``binarize``); reference mode's few extra
    edge counts are added after.
    """
    flat = counts.reshape(-1)
    per_unit = binner.n_windows * binner.n_bins
    limit = _largest_count(counts.dtype)
    for position, group in unit_groups(spikes, unit_ids, group_size(binner.n_windows)):
        target = flat[position * per_unit : (position + group.n_units) * per_unit]
        for pairs, first, lengths in binner.pairs(group):
            cells, extra = binner.cells(group.flat, pairs, first, lengths)
            if binarize:
                target[cells] = 1
                target[extra] = 1
                continue
            cells, number = _run_counts(cells)
            if extra.size:
                cells, number = _merge_counts(cells, number, extra)
            if number.max() > limit:
                unit = unit_ids[position + int(cells[int(np.argmax(number))]) // per_unit]
                raise InvalidInputError(
                    f"unit {unit!r} has {int(number.max())} spikes in one bin, more than "
                    f"dtype {counts.dtype} holds ({int(limit)}); pass dtype=np.uint32"
                )
            target[cells] = number.astype(counts.dtype, copy=False)
    return counts


@cache
def compiled_counts() -> Callable[..., int] | None:
    """Return the compiled counts kernel; None without numba, or with ``BRAINOBS_KERNELS=numpy``."""
    if os.environ.get("BRAINOBS_KERNELS", "").strip().lower() == "numpy":
        return None
    try:
        from brainobs.analysis._count_kernel import count_group
    except ImportError:  # numba is an optional extra: brainobs[fast]
        return None
    return count_group


def dense_counts(
    shape: tuple[int, int, int],
    dtype: np.dtype[Any],
    spikes: Mapping[Any, Any],
    unit_ids: list[Any],
    binner: WindowBinner,
    binarize: bool,
    threads: int | None = None,
) -> np.ndarray:
    """Return the (unit, window, bin) counts of ``unit_ids`` as one array of ``dtype``.

    With the compiled kernel, groups of units are counted on ``threads`` threads (default:
    the cores this process may use); the numpy path runs on one.
    """
    kernel = compiled_counts()
    if kernel is None:
        return count_into(zeroed(shape, dtype), spikes, unit_ids, binner, binarize)
    # Fresh zero pages from the system: the kernel writes only the cells that hold spikes,
    # unit after unit, so pages are first touched in order (no scattered faults, no fill).
    counts = np.zeros(shape, dtype)
    limit = _largest_count(dtype)
    both = binner.closed == "both"

    def count(position: int, group: UnitSpikes) -> None:
        failed = kernel(
            group.flat, group.starts, group.stops, binner.domain, binner.search.order,
            binner.inverse_step, both, binarize, limit, counts[position : position + group.n_units],
        )  # fmt: skip
        if failed >= 0:
            raise InvalidInputError(
                f"unit {unit_ids[position + failed]!r} has more spikes in one bin than dtype "
                f"{dtype} holds ({int(limit)}); pass dtype=np.uint32"
            )

    groups = unit_groups(spikes, unit_ids, group_size(binner.n_windows))
    run_in_threads(count, groups, threads or usable_cores())
    return counts


def usable_cores() -> int:
    """Return how many cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def run_in_threads(
    work: Callable[[int, UnitSpikes], None],
    groups: Iterator[tuple[int, UnitSpikes]],
    threads: int,
) -> None:
    """Call ``work(position, group)`` for every group, on up to ``threads`` threads.

    The kernel releases the GIL. Groups are taken from the iterator as threads free up (at most
    two per thread wait), so copied groups do not pile up in memory; the first error is raised.
    """
    if threads <= 1:
        for position, group in groups:
            work(position, group)
        return
    with ThreadPoolExecutor(threads) as pool:
        pending: deque[Future[None]] = deque()
        for position, group in groups:
            if len(pending) >= 2 * threads:
                pending.popleft().result()
            pending.append(pool.submit(work, position, group))
        for future in pending:
            future.result()


def _merge_counts(
    cells: np.ndarray, number: np.ndarray, extra: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return (cell, count) with one more count for each cell in ``extra``."""
    merged = np.concatenate((cells, extra))
    weights = np.concatenate((number, np.ones(extra.size, dtype=number.dtype)))
    unique, inverse = np.unique(merged, return_inverse=True)
    return unique, np.bincount(inverse, weights=weights).astype(np.intp)


def presentationwise_spike_counts(
    spike_times: SpikeTimes,
    presentations: pd.DataFrame,
    bin_edges: ArrayLike,
    unit_ids: ArrayLike | None = None,
    binarize: bool = False,
    dtype: DTypeLike | None = None,
    time_domain_callback: Callable[[np.ndarray], np.ndarray] | None = None,
    edges: EdgeMode = "half_open",
    large_bin_size_threshold: float = 0.001,
    output: Output = "dense",
) -> xr.DataArray:
    """Return spike counts per presentation, time bin and unit as a DataArray ``spike_counts``.

    ``bin_edges`` are seconds relative to each presentation's ``start_time``; the window of
    presentation ``p`` has absolute edges ``start_time[p] + bin_edges`` (then
    ``time_domain_callback(domain)`` if given, which must keep the shape and keep every row
    strictly increasing). Bins are ``[lo, hi)``; ``edges="reference"`` is the AllenSDK
    compatibility mode, where each bin is ``[lo, hi]`` and a spike on an interior edge counts
    twice. Dims are ``(stimulus_presentation_id, time_relative_to_stimulus_onset, unit_id)``;
    the time coordinate holds bin centres. Values are uint16 (uint8 with ``binarize``) unless
    ``dtype`` is given. Presentations may be unsorted and overlapping.

    ``output="dense"`` fills one in-memory array (an
    :class:`~brainobs.errors.OutputTooLargeError` says so up front when it would not fit);
    ``output="dask"`` returns a Dask-backed array computed in blocks of units when asked
    (``.sum(...)``, ``.compute()``, ``.sel(...)``), for requests larger than memory (needs
    ``pip install 'brainobs[parallel]'``).
    """
    relative = validate_bin_edges(bin_edges)
    onsets = presentation_onsets(presentations)
    mode = check_edge_mode(edges)
    spikes = as_spike_mapping(spike_times)
    ids = select_unit_ids(spikes, unit_ids)
    if binarize:
        _warn_large_bins(relative, large_bin_size_threshold)
    domain = build_time_domain(onsets, relative, time_domain_callback)
    closed: Closed = "both" if mode == "reference" else "left"
    binner = WindowBinner(domain, relative if time_domain_callback is None else None, closed)
    kind = _output_dtype(binarize, dtype)
    if check_output(output) == "dask":
        data: Any = dask_counts(spikes, ids, binner, kind, binarize)
    else:
        shape = (len(ids), onsets.size, relative.size - 1)
        check_dense_fits(shape, kind)
        data = dense_counts(shape, kind, spikes, ids, binner, binarize)
    return _counts_array(data, presentations.index, relative, ids)


def check_output(output: str) -> Output:
    """Return ``output`` after checking it names a known kind of result array."""
    if output not in ("dense", "dask"):
        raise InvalidInputError(
            f"output={output!r} is not known; use 'dense' (one in-memory array) or 'dask' "
            "(computed in blocks of units on demand)"
        )
    return output  # type: ignore[return-value]


def _dense_block(
    spikes: Mapping[Any, Any],
    unit_ids: list[Any],
    binner: WindowBinner,
    dtype: np.dtype[Any],
    binarize: bool,
) -> np.ndarray:
    """Return the (unit, presentation, bin) counts of ``unit_ids`` as one array."""
    shape = (len(unit_ids), binner.n_windows, binner.n_bins)
    return dense_counts(shape, dtype, spikes, unit_ids, binner, binarize, threads=1)


def dask_counts(
    spikes: Mapping[Any, Any],
    unit_ids: list[Any],
    binner: WindowBinner,
    dtype: np.dtype[Any],
    binarize: bool,
) -> Any:
    """Return the (unit, presentation, bin) counts as a Dask array of blocks of units."""
    try:
        import dask
        import dask.array as da
    except ImportError as exc:
        raise InvalidInputError(
            "output='dask' needs Dask: pip install 'brainobs[parallel]'"
        ) from exc
    per_unit = binner.n_windows * binner.n_bins * dtype.itemsize
    step = max(1, DASK_BLOCK_BYTES // max(1, per_unit))
    blocks = []
    for start in range(0, len(unit_ids), step):
        chunk = unit_ids[start : start + step]
        part = {unit: spikes[unit] for unit in chunk}
        delayed = dask.delayed(_dense_block, pure=True)(part, chunk, binner, dtype, binarize)
        shape = (len(chunk), binner.n_windows, binner.n_bins)
        blocks.append(da.from_delayed(delayed, shape=shape, dtype=dtype))
    return da.concatenate(blocks, axis=0)


def labelled(
    data: Any, name: str, dims: tuple[str, ...], coords: dict[str, np.ndarray]
) -> xr.DataArray:
    """Return ``data`` as a DataArray with one coordinate per dim, wrapping it without a copy.

    Numeric coordinates and an in-memory array go through xarray's fast path: its general
    path looks for duck-array types on first use, which imports Dask (seconds) when it is
    installed, and would make the first call of a process cost far more than later ones.
    """
    numeric = all(np.asarray(c).dtype.kind in "iufb" for c in coords.values())
    if not numeric or not isinstance(data, np.ndarray):
        return xr.DataArray(data, name=name, dims=dims, coords=coords)
    variable = xr.Variable(dims, data, fastpath=True)
    indexes = {dim: pd.Index(np.asarray(coords[dim]), name=dim) for dim in dims}
    return xr.DataArray(variable, coords=indexes, name=name)


def _counts_array(
    data: Any, presentation_ids: pd.Index, relative: np.ndarray, unit_ids: list[Any]
) -> xr.DataArray:
    """Return the (unit, presentation, bin) buffer as the reference's ``spike_counts`` array."""
    return labelled(
        data.transpose(1, 2, 0),
        "spike_counts",
        ("stimulus_presentation_id", "time_relative_to_stimulus_onset", "unit_id"),
        {
            "stimulus_presentation_id": presentation_ids.to_numpy(),
            "time_relative_to_stimulus_onset": relative[:-1] + np.diff(relative) / 2,
            "unit_id": np.asarray(unit_ids),
        },
    )


def presentationwise_spike_times(
    spike_times: SpikeTimes,
    presentations: pd.DataFrame,
    unit_ids: ArrayLike | None = None,
    edges: EdgeMode = "half_open",
) -> pd.DataFrame:
    """Return one row per (spike, presentation window) containing it, indexed by ``spike_time``.

    Columns are ``stimulus_presentation_id, unit_id, time_since_stimulus_presentation_onset``
    (spike time minus the presentation's ``start_time``); rows are sorted by spike time (ties
    keep unit order, then presentation order). Windows are ``[start_time, stop_time)``;
    ``edges="reference"`` uses the AllenSDK's ``(start_time, stop_time]``. Presentations may be
    unsorted and overlapping: a spike inside two windows appears once per window. With no
    spikes in any window the result is empty but has the same columns and dtypes.
    """
    start, stop = presentation_windows(presentations)
    closed: Closed = "right" if check_edge_mode(edges) == "reference" else "left"
    spikes = as_spike_mapping(spike_times)
    ids = select_unit_ids(spikes, unit_ids)
    units, rows, times = window_members(spikes, ids, start, stop, closed)
    order = np.argsort(times, kind="stable")
    times, rows = times[order], rows[order]
    frame: pd.DataFrame = pd.DataFrame(
        {
            "stimulus_presentation_id": presentations.index.to_numpy()[rows],
            "unit_id": np.asarray(ids)[units[order]],
            "time_since_stimulus_presentation_onset": times - start[rows],
        },
        index=pd.Index(times, name="spike_time"),
    )
    return frame
