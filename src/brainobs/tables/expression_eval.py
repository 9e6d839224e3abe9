"""Check a parsed filter against a table, then evaluate it with vectorised numpy/pandas.

Each column is classified once (number, bool, text, date, list or other), every node is checked
against those kinds before any value is compared, and evaluation turns each node into a boolean
row mask. Nulls never satisfy a comparison (``!=`` included); ``not`` inverts the mask.
"""

from __future__ import annotations

import difflib
import operator
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from brainobs.tables.expressions import (
    And,
    Between,
    Column,
    Compare,
    ExpressionError,
    InList,
    IsNull,
    Literal,
    Node,
    Not,
    Or,
    TextMatch,
    Truthy,
)

__all__ = ["ColumnValues", "Table", "columns_of", "evaluate"]

_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_INT64 = np.iinfo(np.int64)
try:
    _TEXT: Any = pd.StringDtype("pyarrow")
except ImportError:  # pragma: no cover - pyarrow is a dependency
    _TEXT = pd.StringDtype()
_ORDERED = {"number", "text", "date"}
_EXAMPLES = {
    "number": "a number, e.g. 2.5",
    "text": "quoted text, e.g. 'VISp'",
    "bool": "true or false",
    "date": "a quoted date, e.g. '2020-06-01'",
}


@dataclass
class ColumnValues:
    """One column as a plain array, with a mask of its non-null cells and its kind."""

    name: str
    kind: str  # number, bool, text, date, list, other
    values: Any  # a numpy array; text: a pandas string Series (Arrow-backed, vectorised)
    valid: np.ndarray


def _classify(series: pd.Series) -> str:
    """Return the kind of ``series``: number, bool, text, date, list or other."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_numeric_dtype(dtype):
        return "number"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "date"
    if pd.api.types.is_string_dtype(dtype) and not pd.api.types.is_object_dtype(dtype):
        return "text"
    if isinstance(dtype, pd.CategoricalDtype):
        return _classify(pd.Series(dtype.categories))
    present = series[series.notna()] if len(series) else series
    kinds = {type(v) for v in present.tolist()}
    if kinds <= {str}:
        return "text"
    if kinds <= {bool, np.bool_}:
        return "bool"
    if kinds <= {list, tuple, np.ndarray}:
        return "list"
    return "other"


def _plain(series: pd.Series, kind: str) -> tuple[Any, np.ndarray]:
    """Return ``(values, valid)``: the column as a plain array and its non-null mask."""
    valid = np.asarray(series.notna(), dtype=bool)
    if kind == "number":
        integer = pd.api.types.is_integer_dtype(series.dtype)
        target, fill = ("int64", 0) if integer else ("float64", np.nan)
        return series.to_numpy(dtype=target, na_value=fill), valid
    if kind == "bool":
        return np.asarray(series.astype(object).where(series.notna(), False), dtype=bool), valid
    if kind == "date":
        if isinstance(series.dtype, pd.DatetimeTZDtype):
            series = series.dt.tz_convert("UTC").dt.tz_localize(None)
        return series.to_numpy(), valid
    if kind == "text":
        return series.astype(_TEXT), valid
    return np.asarray(series.astype(object), dtype=object), valid


class Table:
    """The columns (and named index levels) of a DataFrame, classified on first use."""

    def __init__(self, frame: pd.DataFrame, text: str | None) -> None:
        self.frame = frame
        self.text = text
        self._cache: dict[str, ColumnValues] = {}
        self.names: dict[str, Hashable] = {}
        for level in frame.index.names:
            if level is not None:
                self.names[str(level)] = level
        for name in frame.columns:
            self.names[str(name)] = name

    def error(self, problem: str, pos: int | None) -> ExpressionError:
        """Return an error pointing at ``pos`` in the expression (or naming a keyword)."""
        if self.text is None or pos is None:
            return ExpressionError(f"filter: {problem}.")
        where = f"at character {pos + 1}"
        return ExpressionError(f"filter {self.text!r} {where}: {problem}.", self.text, pos)

    def column(self, ref: Column) -> ColumnValues:
        """Return the values of column ``ref``; raise naming the columns there are."""
        found = self._cache.get(ref.name)
        if found is not None:
            return found
        if ref.name not in self.names:
            raise self.error(self._unknown(ref.name), ref.pos)
        label = self.names[ref.name]
        if label in self.frame.columns:
            series = self.frame[label]
            if isinstance(series, pd.DataFrame):
                raise self.error(f"the table has several columns named {ref.name!r}", ref.pos)
        else:
            level = self.frame.index.names.index(label)  # a name may be any hashable
            series = pd.Series(self.frame.index.get_level_values(level))
        series = series.reset_index(drop=True)
        kind = _classify(series)
        values, valid = _plain(series, kind)
        self._cache[ref.name] = ColumnValues(ref.name, kind, values, valid)
        return self._cache[ref.name]

    def _unknown(self, name: str) -> str:
        close = difflib.get_close_matches(name, list(self.names), n=3)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        shown = list(self.names)[:40]
        more = " ..." if len(self.names) > 40 else ""
        return f"there is no column {name!r} ({hint}the columns are {shown}{more})"


# --- literals --------------------------------------------------------------------------------
def _literal_value(table: Table, column: ColumnValues, literal: Literal) -> Any:
    """Return ``literal`` as a value comparable with ``column``; raise on a kind mismatch."""
    kind = literal.kind
    if column.kind == "date" and kind == "text":
        return _date_value(table, column, literal)
    if column.kind == kind or (column.kind == "other" and kind != "bool"):
        value = literal.value
        if isinstance(value, int) and not isinstance(value, bool):
            return value if _INT64.min <= value <= _INT64.max else float(value)
        return literal.value
    expected = _EXAMPLES.get(column.kind, "nothing but `is null` tests")
    raise table.error(
        f"{column.name!r} holds {column.kind} values but {literal.value!r} is "
        f"{'text' if kind == 'text' else 'a ' + kind}; compare it with {expected}",
        literal.pos,
    )


def _date_value(table: Table, column: ColumnValues, literal: Literal) -> np.datetime64:
    """Return the date text of ``literal`` as a UTC datetime64."""
    try:
        stamp = pd.Timestamp(str(literal.value))
    except (ValueError, TypeError, OverflowError):
        stamp = pd.NaT
    if stamp is pd.NaT:
        raise table.error(
            f"{literal.value!r} is not a date or time ({column.name!r} holds dates; "
            "write e.g. '2020-06-01' or '2020-06-01 14:30')",
            literal.pos,
        )
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return np.datetime64(stamp.to_datetime64())


# --- evaluation ------------------------------------------------------------------------------
def columns_of(node: Node) -> list[Column]:
    """Return every column ``node`` refers to, in the order they appear."""
    if isinstance(node, (And, Or)):
        return [ref for item in node.items for ref in columns_of(item)]
    if isinstance(node, Not):
        return columns_of(node.item)
    if isinstance(node, Compare):
        return [node.left] + ([node.right] if isinstance(node.right, Column) else [])
    return [node.column]


def evaluate(node: Node, table: Table) -> np.ndarray:
    """Return the boolean row mask of ``node`` on ``table`` (every name is checked first)."""
    for ref in columns_of(node):
        table.column(ref)
    return _mask(node, table)


def _mask(node: Node, table: Table) -> np.ndarray:
    """Return the boolean row mask of ``node``."""
    if isinstance(node, And):
        return np.logical_and.reduce([_mask(item, table) for item in node.items])
    if isinstance(node, Or):
        return np.logical_or.reduce([_mask(item, table) for item in node.items])
    if isinstance(node, Not):
        return ~_mask(node.item, table)
    handler = _HANDLERS[type(node)]
    return handler(node, table)


def _compare(node: Compare, table: Table) -> np.ndarray:
    left = table.column(node.left)
    if node.op not in ("==", "!=") and left.kind not in _ORDERED:
        raise table.error(
            f"{left.name!r} holds {left.kind} values, which have no order; use == or !=", node.pos
        )
    if left.kind == "list":
        raise table.error(
            f"{left.name!r} holds lists: test membership with `{left.name} contains ...`",
            node.pos,
        )
    if isinstance(node.right, Column):
        right = table.column(node.right)
        if right.kind != left.kind or left.kind == "other":
            raise table.error(
                f"{left.name!r} ({left.kind}) and {right.name!r} ({right.kind}) cannot be compared",
                node.pos,
            )
        return _apply(node.op, left.values, right.values) & left.valid & right.valid
    value = _literal_value(table, left, node.right)
    return _apply(node.op, left.values, value) & left.valid


def _apply(op: str, left: Any, right: Any) -> np.ndarray:
    """Return ``left op right`` elementwise as a bool array (a null gives False)."""
    with np.errstate(invalid="ignore"):
        return _as_mask(_OPS[op](left, right))


def _as_mask(result: Any) -> np.ndarray:
    """Return a comparison's result as a numpy bool array, nulls as False."""
    if isinstance(result, pd.Series):
        return result.to_numpy(dtype=bool, na_value=False)
    return np.asarray(result, dtype=bool)


def _in_list(node: InList, table: Table) -> np.ndarray:
    column = table.column(node.column)
    if column.kind == "list":
        raise table.error(
            f"{column.name!r} holds lists: test membership with `{column.name} contains ...`",
            node.pos,
        )
    values = [_literal_value(table, column, item) for item in node.values]
    mask = _as_mask(pd.Series(column.values).isin(values)) & column.valid
    return ~mask & column.valid if node.negated else mask


def _between(node: Between, table: Table) -> np.ndarray:
    column = table.column(node.column)
    if column.kind not in _ORDERED:
        raise table.error(
            f"{column.name!r} holds {column.kind} values, which have no order", node.pos
        )
    low = _literal_value(table, column, node.low)
    high = _literal_value(table, column, node.high)
    inside = _apply(">=", column.values, low) & _apply("<=", column.values, high)
    return (~inside if node.negated else inside) & column.valid


def _text_match(node: TextMatch, table: Table) -> np.ndarray:
    column = table.column(node.column)
    if column.kind == "list" and node.op == "contains":
        mask = _list_contains(column, node.pattern.value)
    elif column.kind == "text":
        if node.pattern.kind != "text":
            raise table.error(f"{node.op} takes quoted text, e.g. 'Sst'", node.pattern.pos)
        strings = column.values.str
        pattern = str(node.pattern.value)
        if node.op == "contains":
            found = strings.contains(pattern, regex=False)
        elif node.op == "startswith":
            found = strings.startswith(pattern)
        else:
            found = strings.endswith(pattern)
        mask = _as_mask(found)
    else:
        raise table.error(
            f"{node.op} works on text columns (and contains on list columns); "
            f"{column.name!r} holds {column.kind} values",
            node.pos,
        )
    return (~mask if node.negated else mask) & column.valid


def _list_contains(column: ColumnValues, member: Any) -> np.ndarray:
    """Return which rows' lists hold ``member`` (one vectorised comparison over all items)."""
    items = pd.Series(list(column.values), dtype=object).explode()
    hits = np.asarray(items.astype(object) == member, dtype=bool)
    mask = np.zeros(len(column.values), dtype=bool)
    mask[np.asarray(items.index)[hits]] = True
    return mask


def _is_null(node: IsNull, table: Table) -> np.ndarray:
    column = table.column(node.column)
    return column.valid.copy() if node.negated else ~column.valid


def _truthy(node: Truthy, table: Table) -> np.ndarray:
    column = table.column(node.column)
    if column.kind != "bool":
        raise table.error(
            f"{column.name!r} holds {column.kind} values, not true/false: compare it "
            f"(e.g. `{column.name} == ...`)",
            node.column.pos,
        )
    return column.values & column.valid


_HANDLERS: dict[type, Callable[[Any, Table], np.ndarray]] = {
    Compare: _compare,
    InList: _in_list,
    Between: _between,
    TextMatch: _text_match,
    IsNull: _is_null,
    Truthy: _truthy,
}
