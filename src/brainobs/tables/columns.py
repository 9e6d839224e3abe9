"""Column converters: an Arrow column of CSV text (or of a parsed type) to a typed pandas Series.

Every converter raises :class:`~brainobs.errors.InvalidInputError` naming the file, the column,
the CSV line and the offending value, and saying what was expected.
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from brainobs.errors import InvalidInputError
from brainobs.tables.schemas import DATE, ColumnSpec

__all__ = [
    "FALSE_VALUES",
    "NULL_VALUES",
    "TRUE_VALUES",
    "UTC_NS",
    "ColumnContext",
    "to_series",
]

#: Cells read as null: pandas' default NA strings (what the reference toolkit sees as NaN).
NULL_VALUES = (
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
)  # fmt: skip
#: Spellings of booleans seen in real files (text, and float 0/1 written by pandas).
TRUE_VALUES = ("True", "TRUE", "true", "1", "1.0")
FALSE_VALUES = ("False", "FALSE", "false", "0", "0.0")
UTC_NS = pd.DatetimeTZDtype(unit="ns", tz="UTC")
_BOOL_MAP = {**dict.fromkeys(TRUE_VALUES, True), **dict.fromkeys(FALSE_VALUES, False)}


class ColumnContext:
    """Where a column came from (file and column spec), for error messages."""

    def __init__(self, path: Path, spec: ColumnSpec) -> None:
        self.path = path
        self.spec = spec

    def error(self, row: int | None, value: object, expected: str) -> InvalidInputError:
        """Return an InvalidInputError naming file, column, CSV line and value."""
        where = "" if row is None else f", line {row + 2}"
        return InvalidInputError(
            f"{self.path}: column {self.spec.name!r}{where}: cannot read {value!r} as "
            f"{self.spec.dtype}; expected {expected}. Fix or re-download the file "
            "(brainobs verifies downloads against the manifest hash)."
        )


def _first_bad(arr: pa.ChunkedArray, ok: np.ndarray) -> tuple[int, object]:
    """Return (row, value) of the first non-null cell where ``ok`` is False."""
    valid = ~np.asarray(arr.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    row = int(np.flatnonzero(valid & ~ok)[0])
    return row, arr[row].as_py()


def _numeric(
    arr: pa.ChunkedArray, ctx: ColumnContext, expected: str = "a number"
) -> pa.ChunkedArray:
    """Return ``arr`` as float64 (text is parsed); raise naming the first non-number."""
    if pa.types.is_floating(arr.type) or pa.types.is_integer(arr.type):
        return arr.cast(pa.float64())
    if pa.types.is_boolean(arr.type) or pa.types.is_null(arr.type):
        return arr.cast(pa.float64())
    try:
        return pc.cast(arr, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        ok = np.array([_is_number(v) for v in arr.to_pylist()], dtype=bool)
        row, value = _first_bad(arr, ok)
        raise ctx.error(row, value, expected) from None


def _is_number(value: object) -> bool:
    if value is None:
        return True
    try:
        float(str(value))
    except ValueError:
        return False
    return True


def _integers(arr: pa.ChunkedArray, ctx: ColumnContext) -> pa.ChunkedArray:
    """Return ``arr`` as nullable int64; integral floats (``4.0``) are accepted."""
    if pa.types.is_integer(arr.type):
        out = arr.cast(pa.int64())
    else:
        if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
            try:
                out = pc.cast(arr, pa.int64())
                return _apply_sentinel(out, ctx)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                pass
        floats = _numeric(arr, ctx, "an integer")
        values = floats.to_numpy(zero_copy_only=False)
        with np.errstate(invalid="ignore"):
            integral = np.isfinite(values) & (np.mod(values, 1) == 0) & (np.abs(values) < 2**63)
            ok = np.isnan(values) | integral
        if not ok.all():
            row, value = _first_bad(arr, ok)
            raise ctx.error(row, value, "an integer")
        out = pc.cast(floats, pa.int64())
    return _apply_sentinel(out, ctx)


def _apply_sentinel(arr: pa.ChunkedArray, ctx: ColumnContext) -> pa.ChunkedArray:
    sentinel = ctx.spec.int_null_sentinel
    if sentinel is None:
        return arr
    return pc.if_else(pc.equal(arr, sentinel), pa.scalar(None, pa.int64()), arr)


def _int_series(arr: pa.ChunkedArray, ctx: ColumnContext, dtype: str, reference: bool) -> pd.Series:
    """Return an int64 / Int64 / float64 Series for an integer column.

    An int64 column with nulls becomes Int64, or float64 (as ``read_csv`` does) for the reference.
    """
    ints = _integers(arr, ctx)
    if dtype == "float64":
        return pd.Series(ints.cast(pa.float64()).to_numpy(zero_copy_only=False), copy=False)
    if dtype == "int64" and ints.null_count == 0:
        return pd.Series(ints.to_numpy(), dtype="int64", copy=False)
    if dtype == "int64" and reference:
        return pd.Series(ints.cast(pa.float64()).to_numpy(zero_copy_only=False), copy=False)
    return pd.Series(ints.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get))


def _bool_series(arr: pa.ChunkedArray, ctx: ColumnContext) -> pd.Series:
    """Return a bool Series from real booleans, float 0/1 or True/False text."""
    if pa.types.is_boolean(arr.type) and arr.null_count == 0:
        return pd.Series(arr.to_numpy(zero_copy_only=False), dtype=bool, copy=False)
    values = arr.to_pylist()
    out = np.empty(len(values), dtype=bool)
    for i, value in enumerate(values):
        key = value if isinstance(value, str) else repr(value)
        hit = _BOOL_MAP.get(key)
        if hit is None:
            raise ctx.error(i, value, "True/False (or 1/0) in every row")
        out[i] = hit
    return pd.Series(out, dtype=bool)


def _string_series(arr: pa.ChunkedArray) -> pd.Series:
    """Return a Series of text in pandas' default string dtype (``str`` on pandas 3)."""
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = pc.cast(arr, pa.string())
    return pd.Series(arr.to_pandas())


def _date_series(arr: pa.ChunkedArray, ctx: ColumnContext) -> pd.Series:
    """Return tz-aware UTC timestamps; naive text is taken as UTC."""
    if pa.types.is_timestamp(arr.type):
        series = pd.Series(arr.to_pandas())
        series = series.dt.tz_localize("UTC") if series.dt.tz is None else series
        return series.dt.tz_convert("UTC").astype(UTC_NS)
    text = _string_series(arr)
    try:
        return pd.to_datetime(text, utc=True, format="ISO8601").astype(UTC_NS)
    except (ValueError, TypeError):
        for row, value in enumerate(text):
            try:
                pd.to_datetime(value, utc=True, format="ISO8601")
            except (ValueError, TypeError):
                raise ctx.error(row, value, "an ISO 8601 timestamp") from None
        raise


_ELEMENT_TYPES: dict[str, type] = {"list[str]": str, "list[int]": int, "list[float]": float}


def _parse_list(text: str, element: type) -> list[object]:
    """Return the Python list a list-repr cell holds, elements coerced to ``element``."""
    value = ast.literal_eval(text)
    if isinstance(value, (tuple, np.ndarray)):
        value = list(value)
    if not isinstance(value, list):
        value = [value]
    if element is str:
        return [str(v) for v in value]
    if element is int:
        if not all(float(v) == int(v) for v in value):
            raise ValueError("not integers")
        return [int(v) for v in value]
    return [float(v) for v in value]


def _list_series(arr: pa.ChunkedArray, ctx: ColumnContext) -> pd.Series:
    """Return an object Series of Python lists (None where null); repeated cells parse once."""
    element = _ELEMENT_TYPES[ctx.spec.dtype]
    parsed: dict[object, list[object]] = {}
    out: list[list[object] | None] = []
    for row, cell in enumerate(arr.to_pylist()):
        if cell is None:
            out.append(None)
            continue
        if isinstance(cell, list):
            out.append([element(v) for v in cell])
            continue
        if cell not in parsed:
            try:
                parsed[cell] = _parse_list(cell, element)
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                raise ctx.error(row, cell, f"a Python list repr of {element.__name__}") from None
        out.append(list(parsed[cell]))
    return pd.Series(out, dtype=object)


def to_series(arr: pa.ChunkedArray, ctx: ColumnContext, *, reference: bool = False) -> pd.Series:
    """Return ``arr`` as a Series of the column's dtype (its reference dtype if ``reference``)."""
    dtype = ctx.spec.reference_dtype if reference else ctx.spec.dtype
    if dtype in ("int64", "Int64"):
        return _int_series(arr, ctx, dtype, reference)
    if dtype == "float64":
        if ctx.spec.dtype in ("int64", "Int64"):
            return _int_series(arr, ctx, dtype, reference)
        values = _numeric(arr, ctx).to_numpy(zero_copy_only=False)
        return pd.Series(values, dtype="float64", copy=False)
    if dtype == "bool":
        return _bool_series(arr, ctx)
    if dtype == DATE:
        return _date_series(arr, ctx)
    if dtype in _ELEMENT_TYPES:
        return _list_series(arr, ctx)
    return _string_series(arr)
