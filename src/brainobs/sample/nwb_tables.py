"""Bulk construction of NWB interval tables (presentations, trials, optotagging).

pynwb's row-by-row ``add_interval`` is slow; these helpers build the columns at once, with the
storage conventions of the released files: one ``<stimulus_name>_presentations`` table per
stimulus, all-NaN columns dropped, nullable booleans as float 0/1/NaN, NaN in text columns as
``"N/A"``, ``tags`` and a ``timeseries`` reference into the stimulus frame times.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

DESCRIPTIONS = {
    "start_time": "Start time of epoch, in seconds",
    "stop_time": "Stop time of epoch, in seconds",
    "stimulus_name": "Name of stimulus",
    "stimulus_block": "Index of contiguous presentations of one stimulus type",
    "orientation": "Orientation of stimulus",
    "spatial_frequency": "Spatial frequency of stimulus",
    "phase": "Phase of grating stimulus",
}


def storable(series: pd.Series) -> np.ndarray:
    """Return a column as the released files store it (see the module docstring)."""
    values = series.to_numpy()
    if series.dtype == object:
        non_null = series.dropna()
        if len(non_null) and all(isinstance(v, (bool, np.bool_)) for v in non_null):
            if len(non_null) == len(series):
                return np.asarray(values, dtype=bool)
            return np.asarray(series.map(lambda v: np.nan if v is None else float(v)), dtype=float)
        return np.asarray(series.map(lambda v: "N/A" if _is_missing(v) else str(v)), dtype=object)
    if pd.api.types.is_bool_dtype(series.dtype):
        return np.asarray(values, dtype=bool)
    return np.asarray(values)


def _is_missing(value: Any) -> bool:
    """Return True for None and float NaN."""
    return value is None or (isinstance(value, float) and np.isnan(value))


def interval_table(
    name: str,
    description: str,
    table: pd.DataFrame,
    *,
    tags: str | None = None,
    timeseries: Any = None,
    column_description: str = "No description",
    ragged: tuple[str, ...] = (),
    descriptions: dict[str, str] | None = None,
    reference_rows: tuple[np.ndarray, np.ndarray] | None = None,
    ids: np.ndarray | None = None,
    index_dtype: type | None = None,
) -> Any:
    """Return a TimeIntervals built column-wise from ``table`` (start_time, stop_time, ...).

    ``descriptions`` adds column descriptions to :data:`DESCRIPTIONS`; ``reference_rows``
    gives the (first sample, sample count) of each row in ``timeseries`` (by default taken
    from the table's ``start_frame`` and ``end_frame``). ``ids`` are the row ids as an array
    (hdmf converts its default, a list, one element at a time: slow for long tables).
    ``index_dtype`` stores the ``*_index`` columns with that integer type (hdmf otherwise
    narrows them to the smallest unsigned type that fits).
    """
    from hdmf.common import VectorData, VectorIndex
    from pynwb.epoch import TimeIntervals

    described = DESCRIPTIONS | (descriptions or {})
    n = len(table)
    columns: list[Any] = [
        VectorData(name=c, description=described[c], data=table[c].to_numpy(dtype=float))
        for c in ("start_time", "stop_time")
    ]
    if tags is not None:
        tag_data = VectorData(name="tags", description="user-defined tags", data=[tags] * n)
        columns += [
            tag_data,
            VectorIndex(
                name="tags_index", data=index_data(np.arange(1, n + 1), index_dtype),
                target=tag_data,
            ),
        ]  # fmt: skip
    if timeseries is not None:
        columns += _timeseries_columns(table, timeseries, reference_rows, index_dtype)
    for column in table.columns.drop(["start_time", "stop_time"]):
        desc = described.get(column, column_description.replace("<col>", column))
        if column in ragged:
            columns += _ragged_column(column, desc, table[column])
            continue
        columns.append(VectorData(name=column, description=desc, data=storable(table[column])))
    if ids is None:
        return TimeIntervals(name=name, description=description, columns=columns)
    return TimeIntervals(name=name, description=description, columns=columns, id=ids)


def _ragged_column(name: str, description: str, values: pd.Series) -> list[Any]:
    """Return the VectorData and VectorIndex of a column of arrays."""
    from hdmf.common import VectorData, VectorIndex

    arrays = [np.asarray(v, dtype=float) for v in values]
    flat = np.concatenate(arrays) if arrays else np.zeros(0)
    data = VectorData(name=name, description=description, data=flat)
    ends = np.cumsum([len(a) for a in arrays]).astype(np.int64)
    return [data, VectorIndex(name=f"{name}_index", data=ends, target=data)]


def index_data(ends: np.ndarray, dtype: type | None) -> Any:
    """Return the ends of a ragged column, kept as ``dtype`` when one is given."""
    if dtype is None:
        return ends
    from hdmf.backends.hdf5 import H5DataIO

    return H5DataIO(np.asarray(ends, dtype=dtype))


def _timeseries_columns(
    table: pd.DataFrame,
    timeseries: Any,
    rows: tuple[np.ndarray, np.ndarray] | None,
    index_dtype: type | None = None,
) -> list[Any]:
    """Return the ``timeseries`` reference column (frames start..end of each row)."""
    from hdmf.common import VectorIndex
    from pynwb.base import TimeSeriesReference, TimeSeriesReferenceVectorData

    if rows is not None:
        start, end = np.asarray(rows[0]), np.asarray(rows[0]) + np.asarray(rows[1])
    else:
        start = table["start_frame"].to_numpy() if "start_frame" in table else np.arange(len(table))
        end = table["end_frame"].to_numpy() if "end_frame" in table else start + 1
    refs = [
        TimeSeriesReference(int(s), int(max(e - s, 1)), timeseries)
        for s, e in zip(start, end, strict=True)
    ]
    data = TimeSeriesReferenceVectorData(
        name="timeseries", description="index into a TimeSeries object", data=refs
    )
    ends = index_data(np.arange(1, len(refs) + 1), index_dtype)
    index = VectorIndex(name="timeseries_index", data=ends, target=data)
    return [data, index]


def presentation_tables(presentations: pd.DataFrame, timeseries: Any) -> list[Any]:
    """Return one TimeIntervals per stimulus name, all-NaN columns dropped."""
    tables = []
    for stimulus, rows in presentations.groupby("stimulus_name", sort=False):
        rows = rows.dropna(axis=1, how="all")
        rows = rows.loc[:, [c for c in rows.columns if not _all_missing(rows[c])]]
        tables.append(
            interval_table(
                f"{stimulus}_presentations",
                f"Presentation times and stimuli details for '{stimulus}' stimuli. \n"
                "Note: image_name references control_description in stimulus/templates",
                rows,
                tags="stimulus_time_interval",
                timeseries=timeseries,
            )
        )
    return tables


def _all_missing(series: pd.Series) -> bool:
    """Return True when every value is None/NaN."""
    return bool(series.map(_is_missing).all()) if series.dtype == object else False
