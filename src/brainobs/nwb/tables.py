"""Readers for NWB DynamicTables (units, electrodes, intervals...), reading only what is asked.

A DynamicTable is a group of equal-length column datasets plus ``id``; a ragged column
``x`` stores every row's values end to end in ``x`` with row ends in ``x_index``; a
DynamicTableRegion column holds row positions into another table (its ``table`` attribute).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import h5py
import numpy as np
import pandas as pd

from brainobs.errors import InvalidInputError, MissingDataError, UnknownIdError
from brainobs.nwb.decode import decode_value, read_values
from brainobs.nwb.guards import check_index_dataset, check_lengths, check_ragged, check_read
from brainobs.nwb.handle import NwbFile
from brainobs.nwb.mapping import mapped_values
from brainobs.nwb.normalize import ColumnRules, normalize_frame
from brainobs.nwb.selection import (
    Reader,
    Rows,
    as_int64,
    byte_ranges,
    read_positions,
    read_ranges,
    row_positions,
)


@dataclass(frozen=True)
class TableLayout:
    """What one listing of a DynamicTable group says: its columns and its members."""

    columns: list[str]
    members: frozenset[str]

    def is_ragged(self, column: str) -> bool:
        """Return whether ``column`` has a ``<column>_index`` (is ragged)."""
        return f"{column}_index" in self.members


def table_layout(file: NwbFile, table: str) -> TableLayout:
    """Return the columns of ``table`` in file order (``id`` and ``*_index`` excluded)."""
    group = file.group(table)
    with file.reading(f"columns of {table}"):
        names = decode_value(group.attrs.get("colnames", []))
        members = frozenset(group.keys())
        if isinstance(names, str):
            names = [names]
        listed = [n for n in names if n in members]
        extra = sorted(
            name
            for name in members - set(listed) - {"id"}
            if not (name.endswith("_index") and name[: -len("_index")] in members)
            and isinstance(group.get(name, getlink=False), h5py.Dataset)
        )
    return TableLayout(listed + extra, members)


def table_columns(file: NwbFile, table: str) -> list[str]:
    """Return the column names of ``table`` in file order (``id`` and ``*_index`` excluded)."""
    return table_layout(file, table).columns


def is_ragged(file: NwbFile, table: str, column: str) -> bool:
    """Return whether ``column`` of ``table`` is ragged (has a ``<column>_index``)."""
    return file.has(f"{table.rstrip('/')}/{column}_index")


def n_rows(file: NwbFile, table: str) -> int:
    """Return the number of rows of ``table``."""
    return int(file.dataset(f"{table.rstrip('/')}/id").shape[0])


def read_ids(file: NwbFile, table: str, rows: Rows = None) -> np.ndarray:
    """Return the ``id`` values of ``table`` (of the selected rows), as int64."""
    dataset = file.dataset(f"{table.rstrip('/')}/id")
    positions = row_positions(dataset.shape[0], rows)
    with file.reading(f"{table}/id"):
        return as_int64(read_positions(dataset, positions, _plain_read))


def positions_of_ids(file: NwbFile, table: str, ids: Iterable[int]) -> np.ndarray:
    """Return the row positions of ``ids`` in ``table``; raise UnknownIdError for absent ones."""
    wanted = np.asarray(list(ids), dtype=np.int64)
    index = pd.Index(read_ids(file, table))
    positions = index.get_indexer(wanted)
    absent = wanted[positions < 0]
    if absent.size:
        raise UnknownIdError(
            f"{table} of {file.name} has no rows with id {absent[:10].tolist()}"
            f"{' ...' if absent.size > 10 else ''}; its ids run from {index.min()} to "
            f"{index.max()} ({len(index)} rows)."
        )
    return positions.astype(np.int64)


def _rows_of_ids(file: NwbFile, table: str, ids: Iterable[int], rows: Rows) -> np.ndarray:
    """Return the positions of ``ids``; refuse a selection by both rows and ids."""
    if rows is not None:
        raise InvalidInputError("Select rows by position (rows=) or by id (ids=), not both.")
    return positions_of_ids(file, table, ids)


def read_dynamic_table(
    file: NwbFile,
    table: str,
    columns: Sequence[str] | None = None,
    rows: Rows = None,
    *,
    ids: Iterable[int] | None = None,
    rules: ColumnRules | None = None,
    missing: str = "raise",
) -> pd.DataFrame:
    """Return ``table`` as a DataFrame indexed by ``id``, reading only the asked rows and columns.

    ``columns=None`` reads every one-value-per-row column (ragged and multi-dimensional
    columns only when named; they come back as one array per row). ``rows`` selects by
    position, ``ids`` by id. ``missing="ignore"`` leaves out named columns the file lacks.
    """
    table = table.rstrip("/")
    if ids is not None:
        rows = _rows_of_ids(file, table, ids, rows)
    layout = table_layout(file, table)
    group = file.group(table)
    with file.reading(table):
        count = int(group["id"].shape[0])
        positions = row_positions(count, rows)
        index = pd.Index(as_int64(read_positions(group["id"], positions, _plain_read)), name="id")
        names = _wanted_columns(file, table, layout, group, columns, missing)
        _check_column_lengths(file, table, layout, group, names, count)
        data = {name: _read_column(file, table, layout, name, positions) for name in names}
    frame = pd.DataFrame(data, index=index, columns=names)
    return normalize_frame(frame, rules)


def _check_column_lengths(
    file: NwbFile,
    table: str,
    layout: TableLayout,
    group: h5py.Group,
    names: Sequence[str],
    count: int,
) -> None:
    """Raise CorruptFileError if a column (or a ragged column's index) is not ``count`` long."""
    lengths = {}
    for name in names:
        dataset = group[f"{name}_index" if layout.is_ragged(name) else name]
        lengths[name] = int(dataset.shape[0]) if dataset.shape else -1
    check_lengths(lengths, count, f"{table} in {file.name}")


def _wanted_columns(
    file: NwbFile,
    table: str,
    layout: TableLayout,
    group: h5py.Group,
    columns: Sequence[str] | None,
    missing: str,
) -> list[str]:
    """Return the columns to read: the named ones that exist, else every simple column."""
    available = layout.columns
    if columns is None:
        return [
            name for name in available if not layout.is_ragged(name) and len(group[name].shape) == 1
        ]
    if isinstance(columns, str):
        columns = [columns]
    absent = [name for name in columns if name not in available]
    if absent and missing == "raise":
        raise MissingDataError(
            f"{table} of {file.name} has no column {absent}; its columns are {available}. "
            "Pass missing='ignore' to read the others."
        )
    return [name for name in columns if name in available]


def _read_column(
    file: NwbFile, table: str, layout: TableLayout, column: str, positions: slice | np.ndarray
) -> Any:
    """Return one column's values for the selected rows (a list of arrays when ragged)."""
    if layout.is_ragged(column):
        return object_column(_ragged_by_position(file, table, column, positions))
    dataset = file.h5[f"{table}/{column}"]
    values = read_positions(dataset, positions, _decoding_read(file))
    if values.ndim > 1:
        return object_column(list(values))
    return values


def object_column(items: Sequence[Any]) -> np.ndarray:
    """Return a 1-D object array holding ``items`` (arrays stay whole, one per row)."""
    column = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):
        column[i] = item
    return column


def read_ragged(
    file: NwbFile,
    table: str,
    column: str,
    rows: Rows = None,
    *,
    ids: Iterable[int] | None = None,
) -> dict[int, np.ndarray]:
    """Return ``{id: values}`` of a ragged column, reading only the selected rows' slices.

    Each value is 1-D (``spike_times``) or 2-D (``waveform_mean``: channels x samples).
    Rows that are next to each other in the file are read with one read, and their values
    are views into it.
    """
    table = table.rstrip("/")
    if not is_ragged(file, table, column):
        raise MissingDataError(
            f"{table}/{column} in {file.name} is not a ragged column (no {column}_index); "
            "read it with read_dynamic_table."
        )
    if ids is not None:
        wanted = np.asarray(list(ids), dtype=np.int64)
        found = _rows_of_ids(file, table, wanted, rows)
        in_file_order = np.argsort(found, kind="stable")
        positions, row_ids = as_slice(found[in_file_order]), wanted[in_file_order]
    else:
        positions = as_slice(row_positions(n_rows(file, table), rows))
        row_ids = read_ids(file, table, positions)
    values = _ragged_by_position(file, table, column, positions)
    return dict(zip(row_ids.tolist(), values, strict=True))


def as_slice(positions: slice | np.ndarray) -> slice | np.ndarray:
    """Return ``positions`` as a slice when they are consecutive and increasing."""
    if isinstance(positions, slice) or positions.size == 0:
        return positions
    start = int(positions[0])
    if positions[-1] - start == positions.size - 1 and bool(np.all(np.diff(positions) == 1)):
        return slice(start, start + positions.size)
    return positions


def ragged_bounds(
    file: NwbFile, table: str, column: str, positions: slice | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return the start and stop of each selected row's values in the ragged data."""
    index = file.dataset(f"{table}/{column}_index")
    check_index_dataset(index, n_rows(file, table), f"{table} of {file.name}")
    with file.reading(f"{table}/{column}_index"):
        if isinstance(positions, slice):
            start, stop = positions.start, positions.stop
            lo = max(start - 1, 0)
            ends = as_int64(index[lo:stop])
            before = ends[:-1] if start > 0 else np.concatenate([[0], ends[:-1]])
            return before[: stop - start], ends[start - lo :]
        stops = as_int64(read_positions(index, positions, _plain_read))
        previous = read_positions(index, np.maximum(positions - 1, 0), _plain_read)
        starts = np.where(positions > 0, as_int64(previous), 0)
    return starts, stops


def _ragged_by_position(
    file: NwbFile, table: str, column: str, positions: slice | np.ndarray
) -> list[np.ndarray]:
    """Return the ragged values of the selected rows, in row order."""
    if file.has(f"{table}/{column}_index_index"):
        raise InvalidInputError(
            f"{table}/{column} in {file.name} is doubly ragged, which brainobs does not read."
        )
    starts, stops = ragged_bounds(file, table, column, positions)
    data = file.dataset(f"{table}/{column}")
    _check_ragged_rows(file, f"{table}/{column}", data, starts, stops)
    read = _mapped(_planned(file, _decoding_read(file)))
    with file.reading(f"{table}/{column}"):
        if isinstance(positions, slice) and len(starts):
            values = read(data, slice(int(starts[0]), int(stops[-1])))
            cuts = [*(starts - starts[0]).tolist(), int(stops[-1] - starts[0])]
            return [values[a:b] for a, b in itertools.pairwise(cuts)]
        return read_ranges(data, starts, stops, read)


def _mapped(read: Reader) -> Reader:
    """Return ``read`` that maps large contiguous selections of a local file instead of copying
    them (:mod:`brainobs.nwb.mapping`); other selections and files are read as before."""

    def mapped(dataset: h5py.Dataset, selection: slice) -> np.ndarray:
        values = mapped_values(dataset, selection)
        return read(dataset, selection) if values is None else values

    return mapped


def _planned(file: NwbFile, read: Reader) -> Reader:
    """Return ``read`` that, on a remote file, first fetches exactly the bytes it will need.

    HDF5 reads a chunked dataset chunk by chunk; fetched through the block cache, the
    read-ahead would overshoot the selection. The planned byte ranges are pinned for the
    read and dropped after it.
    """
    remote = file.remote
    if remote is None:
        return read

    def planned(dataset: h5py.Dataset, selection: slice) -> np.ndarray:
        ranges = byte_ranges(dataset, [(selection.start, selection.stop)])
        if not ranges:
            return read(dataset, selection)
        remote.pin(ranges)
        try:
            return read(dataset, selection)
        finally:
            remote.unpin()

    return planned


def _check_ragged_rows(
    file: NwbFile, path: str, data: h5py.Dataset, starts: np.ndarray, stops: np.ndarray
) -> None:
    """Raise unless every selected row's ``[start, stop)`` lies in ``data``, in order."""
    row_items = int(np.prod(data.shape[1:], dtype=np.int64)) if data.shape else 1
    with file.reading(path):
        check_ragged(
            starts,
            stops,
            int(data.shape[0]),
            data.dtype.itemsize * row_items,
            f"{path} in {file.name}",
        )


def read_region(file: NwbFile, path: str) -> tuple[str, np.ndarray]:
    """Return the target table path and the row positions of a DynamicTableRegion dataset."""
    dataset = file.dataset(path)
    target = file.attrs(path).get("table")
    if not isinstance(target, str):
        raise MissingDataError(f"{path} in {file.name} is not a DynamicTableRegion.")
    with file.reading(path):
        check_read(dataset)
        positions = as_int64(dataset[()])
    return target, positions


def read_region_ids(file: NwbFile, path: str) -> np.ndarray:
    """Return the ids of the rows a DynamicTableRegion dataset points to, in its order."""
    target, positions = read_region(file, path)
    return read_ids(file, target, positions) if positions.size else positions


def _plain_read(dataset: h5py.Dataset, selection: slice) -> np.ndarray:
    """Return ``dataset[selection]`` as stored (after the budget check)."""
    check_read(dataset, selection)
    return np.asarray(dataset[selection])


def _decoding_read(file: NwbFile) -> Reader:
    """Return a reader that decodes text and references of ``file``'s datasets."""

    def read(dataset: h5py.Dataset, selection: slice) -> np.ndarray:
        return read_values(dataset, selection, file.ref_name)

    return read
