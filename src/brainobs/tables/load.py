"""Read a metadata CSV into a typed DataFrame, following its :class:`TableSchema`.

The reference toolkit reads these CSVs with a bare ``pandas.read_csv`` and ``set_index`` (VBN)
or adds a few transforms (VBO). brainobs parses with explicit types through Arrow (multi-threaded)
and, by default, goes further than the reference:

* list-valued columns (``structure_acronyms``, ``abnormal_histology``, ...) become Python lists,
  where VBN's reference leaves the list repr text (``"['CA1', 'VISp']"``);
* date columns become tz-aware ``datetime64[ns, UTC]`` (VBN's reference leaves text; VBO's also
  parses to UTC);
* VBN ``units.structure_id`` is a nullable ``Int64`` (the reference gives float64);
* the column order is the schema's, deterministic (VBO's reference puts its trailing columns in
  Python set order, which changes between runs);
* an ``int64`` column that unexpectedly holds nulls loads as ``Int64`` rather than failing.

``reference_compatible=True`` returns each column with the reference toolkit's dtype instead
(text for VBN lists and dates, float64 ``structure_id``), in the file's column order, for code
that string-matches list reprs; :func:`as_reference_frame` then gives it exactly the types
``pandas.read_csv`` gives the reference (text as ``object`` with NaN, integers as ``float64``
only where they hold nulls). Missing or unknown columns and unparseable cells raise
:class:`InvalidInputError`.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from brainobs.errors import InvalidInputError
from brainobs.tables.columns import (
    FALSE_VALUES,
    NULL_VALUES,
    TRUE_VALUES,
    ColumnContext,
    to_series,
)
from brainobs.tables.schemas import TableSchema

__all__ = ["as_reference_frame", "check_columns", "read_header", "read_table", "reference_text"]

_FAST_ARROW_TYPES = {"int64": pa.int64(), "float64": pa.float64(), "bool": pa.bool_()}


def _open_text(path: Path) -> io.TextIOBase:
    """Return a text stream over ``path``, decompressing ``.gz``."""
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
    return path.open("r", encoding="utf-8-sig", newline="")


def read_header(csv_path: str | os.PathLike[str]) -> list[str]:
    """Return the column names on the first line of a CSV (``.csv`` or ``.csv.gz``)."""
    path = Path(csv_path)
    try:
        with _open_text(path) as stream:
            header = next(csv.reader(stream), None)
    except FileNotFoundError:
        raise
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InvalidInputError(f"{path}: cannot read the CSV header ({exc}).") from exc
    if not header:
        raise InvalidInputError(f"{path}: the file is empty; expected a CSV with a header line.")
    return header


def check_columns(path: Path, header: list[str], schema: TableSchema) -> None:
    """Raise InvalidInputError if ``header`` lacks a required column or has an unknown one."""
    dupes = sorted({c for c in header if header.count(c) > 1})
    missing = [c for c in schema.required_columns if c not in header]
    extra = [c for c in header if c not in schema]
    problems = []
    if dupes:
        problems.append(f"duplicate columns {dupes}")
    if missing:
        problems.append(f"missing columns {missing}")
    if extra:
        problems.append(f"unknown columns {extra}")
    if problems:
        raise InvalidInputError(
            f"{path}: not a valid {schema.name} table ({schema.release} {schema.csv_name}): "
            f"{'; '.join(problems)}. Expected the columns {list(schema.columns)} "
            f"(optional: {sorted(set(schema.known_columns) - set(schema.required_columns))})."
        )


def _arrow_types(header: list[str], schema: TableSchema, fast: bool) -> dict[str, pa.DataType]:
    """Return the Arrow type each column is parsed as (text where a converter finishes)."""
    types = {}
    for name in header:
        dtype = schema.spec(name).dtype
        types[name] = _FAST_ARROW_TYPES.get(dtype, pa.string()) if fast else pa.string()
    return types


def _read_arrow(path: Path, header: list[str], schema: TableSchema, fast: bool) -> pa.Table:
    """Return the CSV as an Arrow table with the types :func:`_arrow_types` chooses."""
    convert = pacsv.ConvertOptions(
        column_types=_arrow_types(header, schema, fast),
        null_values=list(NULL_VALUES),
        true_values=list(TRUE_VALUES),
        false_values=list(FALSE_VALUES),
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
    )
    read = pacsv.ReadOptions(use_threads=True, block_size=8 << 20)
    return pacsv.read_csv(path, read_options=read, convert_options=convert)


def _read_arrow_checked(path: Path, header: list[str], schema: TableSchema) -> pa.Table:
    """Return the Arrow table: typed fast path, else all-text (converters then pinpoint errors)."""
    try:
        return _read_arrow(path, header, schema, fast=True)
    except pa.ArrowInvalid:
        pass
    try:
        return _read_arrow(path, header, schema, fast=False)
    except pa.ArrowInvalid as exc:
        raise InvalidInputError(f"{path}: not a readable CSV ({exc}).") from exc


def output_columns(schema: TableSchema, present: list[str]) -> list[str]:
    """Return the non-index columns of ``present`` in output order."""
    ordered = [c for c in schema.output_order if c in present]
    ordered += [c for c in schema.known_columns if c in present and c not in ordered]
    return [c for c in ordered if c != schema.index]


def read_table(
    csv_path: str | os.PathLike[str],
    schema: TableSchema,
    *,
    reference_compatible: bool = False,
) -> pd.DataFrame:
    """Return the CSV as a DataFrame indexed by ``schema.index`` with the schema's dtypes."""
    path = Path(csv_path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file; download the {schema.name} table first.")
    header = read_header(path)
    check_columns(path, header, schema)
    table = _read_arrow_checked(path, header, schema)
    columns: dict[str, pd.Series] = {}
    for name in header:
        context = ColumnContext(path, schema.spec(name))
        columns[name] = to_series(table.column(name), context, reference=reference_compatible)
    df = pd.DataFrame(columns, copy=False)
    df = df.set_index(schema.index)
    if reference_compatible:  # the reference keeps the file's order
        return df[[c for c in header if c != schema.index]]
    return df[output_columns(schema, header)]


def as_reference_frame(table: pd.DataFrame, schema: TableSchema) -> pd.DataFrame:
    """Return a reference-mode table with the types ``pandas.read_csv`` gives the reference.

    Text is ``object`` with NaN for missing cells (a column with no text at all is
    ``float64`` NaN); an integer column stored as ``float64`` because it may hold nulls is
    ``int64`` when it holds none. Nullable ``Int64`` columns (the reference casts five
    session-table columns) stay as they are.
    """
    out = {name: _reference_column(table[name], schema) for name in table.columns}
    return reference_text(pd.DataFrame(out, index=table.index))


def reference_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with its text columns, index and labels as ``object`` (NaN missing).

    pandas 3 reads text as its ``str`` dtype; the reference toolkit (pandas 1.5) hands out
    ``object`` columns of Python strings with NaN for missing cells, and ``object`` labels.
    """
    text = [name for name in frame.columns if _is_text(frame[name])]
    out = frame.copy()
    for name in text:
        out[name] = _object_text(out[name])
    if _is_text(out.index):
        out.index = out.index.astype(object)
    if _is_text(out.columns):  # column labels too: pandas 3 types them as text
        out.columns = out.columns.astype(object)
    return out


def _is_text(values: pd.Series | pd.Index) -> bool:
    """Return True for a pandas text dtype (``str``/``string``; ``object`` text is left)."""
    return isinstance(values.dtype, pd.StringDtype)


def _object_text(column: pd.Series) -> pd.Series:
    """Return a text column as ``object`` with NaN for missing cells."""
    text = column.astype(object)
    return text.where(text.notna(), np.nan)


def _reference_column(column: pd.Series, schema: TableSchema) -> pd.Series:
    """Return one column with ``read_csv``'s type (see :func:`as_reference_frame`)."""
    spec = schema.spec(str(column.name)) if column.name in schema else None
    if column.dtype == object or _is_text(column):
        if column.isna().all():
            return pd.Series(np.nan, index=column.index, dtype="float64", name=column.name)
        return _object_text(column)
    integral = spec is not None and spec.dtype in ("int64", "Int64")
    if integral and column.dtype == "float64" and not column.isna().any():
        return column.astype("int64")
    return column
