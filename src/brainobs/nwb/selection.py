"""Row selections, and reading a set of ranges of a dataset with as few HDF5 reads as possible.

HDF5 point selections are slow and, on a remote file, every read may be a request: a set of
wanted rows or ragged ranges is turned into sorted runs, runs closer than a gap are merged,
and each merged run is read with one slice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import h5py
import numpy as np

from brainobs.errors import InvalidInputError

Rows = slice | Sequence[int] | np.ndarray | None
#: Reads one run of rows of a dataset (``read(dataset, slice)``), decoding as needed.
Reader = Callable[[h5py.Dataset, slice], np.ndarray]

#: Ranges closer than this many bytes are read together (one read instead of two).
MAX_GAP_BYTES = 1 << 20


def row_positions(n_rows: int, rows: Rows) -> slice | np.ndarray:
    """Return ``rows`` (None, a slice, positions or a boolean mask) as a slice or positions."""
    if rows is None:
        return slice(0, n_rows)
    if isinstance(rows, slice):
        start, stop, step = rows.indices(n_rows)
        return slice(start, stop) if step == 1 else np.arange(start, stop, step)
    positions = np.asarray(rows)
    if positions.dtype == bool:
        if positions.shape != (n_rows,):
            raise InvalidInputError(
                f"A boolean row mask must have one value per row ({n_rows}), not {positions.shape}."
            )
        return np.flatnonzero(positions)
    if positions.size == 0:
        return np.zeros(0, dtype=np.int64)
    if positions.dtype.kind not in "iu":
        raise InvalidInputError(f"Rows must be integer positions, not {positions.dtype} values.")
    positions = positions.astype(np.int64).reshape(-1)
    positions = np.where(positions < 0, positions + n_rows, positions)
    bad = positions[(positions < 0) | (positions >= n_rows)]
    if bad.size:
        raise InvalidInputError(
            f"Row positions {bad[:5].tolist()} are outside the table's {n_rows} rows."
        )
    return positions


def merged_runs(starts: np.ndarray, stops: np.ndarray, max_gap: int) -> list[tuple[int, int]]:
    """Return ``[start, stop)`` runs covering the ranges; ranges ``max_gap`` apart or less merge."""
    order = np.argsort(starts, kind="stable")
    runs: list[tuple[int, int]] = []
    for start, stop in zip(starts[order].tolist(), stops[order].tolist(), strict=True):
        if stop <= start:
            continue
        if runs and start - runs[-1][1] <= max_gap:
            runs[-1] = (runs[-1][0], max(runs[-1][1], stop))
        else:
            runs.append((start, stop))
    return runs


def gap_elements(dataset: h5py.Dataset) -> int:
    """Return how many elements (rows) of ``dataset`` fit in :data:`MAX_GAP_BYTES`."""
    row_bytes = dataset.dtype.itemsize * int(np.prod(dataset.shape[1:], dtype=np.int64))
    return max(1, MAX_GAP_BYTES // max(1, row_bytes))


def read_positions(
    dataset: h5py.Dataset,
    positions: slice | np.ndarray,
    read: Callable[[h5py.Dataset, slice], np.ndarray],
) -> np.ndarray:
    """Return the rows of ``dataset`` at ``positions``, in their order, via merged slices.

    ``read(dataset, slice)`` does the actual (decoding) read of one run.
    """
    if isinstance(positions, slice):
        return read(dataset, positions)
    if positions.size == 0:
        return read(dataset, slice(0, 0))
    wanted, inverse = np.unique(positions, return_inverse=True)
    runs = merged_runs(wanted, wanted + 1, gap_elements(dataset))
    parts = [read(dataset, slice(a, b)) for a, b in runs]
    run_starts = np.array([a for a, _ in runs])
    run_offsets = np.concatenate([[0], np.cumsum([b - a for a, b in runs])[:-1]])
    which = np.searchsorted(run_starts, wanted, side="right") - 1
    combined = parts[0] if len(parts) == 1 else np.concatenate(parts)
    picked = combined[run_offsets[which] + (wanted - run_starts[which])]
    return np.asarray(picked[inverse.reshape(-1)])


def read_ranges(
    dataset: h5py.Dataset,
    starts: np.ndarray,
    stops: np.ndarray,
    read: Callable[[h5py.Dataset, slice], np.ndarray],
) -> list[np.ndarray]:
    """Return ``dataset[start:stop]`` for each range, reading merged runs once each."""
    runs = merged_runs(starts, stops, gap_elements(dataset))
    if not runs:
        empty = read(dataset, slice(0, 0))
        return [empty for _ in starts]
    parts = [read(dataset, slice(a, b)) for a, b in runs]
    run_starts = np.array([a for a, _ in runs])
    which = np.searchsorted(run_starts, starts, side="right") - 1
    out: list[np.ndarray] = []
    for start, stop, run in zip(starts.tolist(), stops.tolist(), which.tolist(), strict=True):
        if stop <= start:
            out.append(parts[0][0:0])
            continue
        offset = start - int(run_starts[run])
        out.append(parts[run][offset : offset + stop - start])
    return out


def as_int64(values: Any) -> np.ndarray:
    """Return ``values`` as int64 (index datasets come in every width from uint8 up)."""
    return np.asarray(values).astype(np.int64, copy=False)


def byte_ranges(dataset: h5py.Dataset, runs: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Return the file byte ranges HDF5 reads for rows ``[a, b)`` of each run, merged.

    Contiguous data: the rows' own bytes. Chunked data split along rows only: the rows' bytes
    inside each uncompressed chunk, or whole chunks when filters (compression) are on. Empty
    when the layout is not one of those (the reads then go through the block cache).
    """
    row = dataset.dtype.itemsize * int(np.prod(dataset.shape[1:], dtype=np.int64))
    if dataset.chunks is None:
        offset = dataset.id.get_offset()
        return (
            []
            if offset is None
            else _merged([(offset + a * row, offset + b * row) for a, b in runs])
        )
    if tuple(dataset.chunks[1:]) != tuple(dataset.shape[1:]):
        return []
    filtered = dataset.id.get_create_plist().get_nfilters() > 0
    size, tail = dataset.chunks[0], (0,) * (len(dataset.shape) - 1)
    ranges = []
    for a, b in runs:
        for chunk in range(a // size, (b - 1) // size + 1):
            info = dataset.id.get_chunk_info_by_coord((chunk * size, *tail))
            if info.byte_offset is None:
                continue
            if filtered:
                ranges.append((info.byte_offset, info.byte_offset + info.size))
                continue
            lo, hi = max(a, chunk * size) - chunk * size, min(b, (chunk + 1) * size) - chunk * size
            ranges.append((info.byte_offset + lo * row, info.byte_offset + hi * row))
    return _merged(ranges)


def _merged(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Return byte ranges sorted, with touching or overlapping ones joined."""
    out: list[tuple[int, int]] = []
    for start, stop in sorted(ranges):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], stop))
        else:
            out.append((start, stop))
    return out
