"""Readers for TimeIntervals tables: trials, invalid times, and stimulus presentations.

A session stores one ``/intervals/<stimulus_name>_presentations`` table per stimulus; the
presentations a user sees are all of them together, in time order.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from brainobs.errors import MissingDataError
from brainobs.nwb.handle import NwbFile
from brainobs.nwb.normalize import ColumnRules, normalize_frame
from brainobs.nwb.selection import Rows
from brainobs.nwb.tables import read_dynamic_table, table_columns

PRESENTATIONS_SUFFIX = "_presentations"


def intervals_path(name: str) -> str:
    """Return the path of TimeIntervals ``name`` (a bare name lives under ``/intervals``)."""
    return name.rstrip("/") if name.startswith("/") else f"/intervals/{name}"


def read_intervals(
    file: NwbFile,
    name: str,
    columns: Sequence[str] | None = None,
    rows: Rows = None,
    *,
    rules: ColumnRules | None = None,
    missing: str = "raise",
) -> pd.DataFrame:
    """Return TimeIntervals ``name`` (``"trials"`` or a path) indexed by ``id``.

    Ragged columns (``tags``, ``timeseries``, ``lick_times``) are read only when named.
    """
    path = intervals_path(name)
    if not file.has(path):
        raise MissingDataError(
            f"{file.name} has no intervals table {path}; it has {file.keys('/intervals')}."
        )
    return read_dynamic_table(file, path, columns, rows, rules=rules, missing=missing)


def presentation_table_names(file: NwbFile) -> list[str]:
    """Return the names of the ``/intervals/*_presentations`` tables, sorted."""
    return sorted(name for name in file.keys("/intervals") if name.endswith(PRESENTATIONS_SUFFIX))


def read_presentations(
    file: NwbFile,
    columns: Sequence[str] | None = None,
    *,
    tables: Sequence[str] | None = None,
    rules: ColumnRules | None = None,
    name_column: str | None = None,
) -> pd.DataFrame:
    """Return every ``*_presentations`` table (or the named ``tables``) in one frame.

    Rows are sorted by ``start_time`` (ties keep table order) and indexed by ``id``; a column
    one table lacks is missing (NaN) in its rows. ``name_column``, when given, holds the table
    a row came from, without the ``_presentations`` suffix. Rules apply after concatenation,
    so a boolean column absent from some tables comes back as ``"boolean"`` with ``<NA>``.
    """
    names = presentation_table_names(file) if tables is None else list(tables)
    if not names:
        raise MissingDataError(f"{file.name} has no /intervals/*_presentations tables.")
    if columns is not None:
        _check_some_table_has(file, names, columns)
    frames = [_one_presentation_table(file, name, columns, name_column) for name in names]
    frame = pd.concat([f for f in frames if len(f)] or frames[:1], sort=False)
    frame = frame.sort_values("start_time", kind="stable") if "start_time" in frame else frame
    return normalize_frame(frame, rules)


def _one_presentation_table(
    file: NwbFile, name: str, columns: Sequence[str] | None, name_column: str | None
) -> pd.DataFrame:
    """Return one presentations table, with the table name column when asked."""
    frame = read_intervals(file, name, columns, missing="ignore")
    if name_column is not None:
        frame[name_column] = name.removesuffix(PRESENTATIONS_SUFFIX)
    return frame


def _check_some_table_has(file: NwbFile, names: Sequence[str], columns: Sequence[str]) -> None:
    """Raise MissingDataError for a column that no presentations table has."""
    found: set[str] = set()
    for name in names:
        found.update(table_columns(file, intervals_path(name)))
    absent = [column for column in columns if column not in found]
    if absent:
        raise MissingDataError(
            f"No presentations table of {file.name} has column {absent}; "
            f"the columns are {sorted(found)}."
        )
