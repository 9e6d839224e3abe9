"""Row filters on the metadata tables, as pure functions (the input is never modified).

They follow the reference toolkit (AllenSDK 2.16.2), with one deliberate fix
(reference/format_ecephys.md §7 item 16) in :func:`filter_units`:

* **A threshold of 0 is a threshold.** The reference writes ``units[m <= (maximum or np.inf)]``,
  so ``amplitude_cutoff_maximum=0`` (or ``presence_ratio_minimum=0``) silently means "no filter".
  brainobs keeps ``amplitude_cutoff <= 0``. Only ``None`` and ±inf disable a filter.
* **NaN metrics are dropped only by that metric's own active filter.** The reference compares
  every unit with every threshold (``NaN <= inf`` is False), so a unit with a NaN metric is
  dropped even when all thresholds are disabled. brainobs drops a NaN-metric unit only when the
  filter on that metric is active (a NaN cannot be shown to pass it).

Other semantics are the reference's: ``filter_by_validity`` keeps units whose peak channel has
``valid_data`` and whose ``quality == "good"``, then drops the ``quality`` column (VBN
``get_units``); ``filter_out_of_brain_units`` keeps units with a ``structure_acronym``.
VBN defaults differ by method (§7 item 22): channels filter by validity by default, units do not.

:func:`filter_expression` keeps the rows matching a filter written in brainobs's expression
language (:mod:`brainobs.tables.expressions`: parsed and checked, never run as code) and/or
keyword filters.
"""

from __future__ import annotations

import math
from typing import TypedDict

import numpy as np
import pandas as pd

from brainobs.analysis._validation import require_columns
from brainobs.errors import InvalidInputError
from brainobs.tables.expression_eval import Table, evaluate
from brainobs.tables.expressions import (
    And,
    Column,
    Compare,
    InList,
    IsNull,
    Literal,
    Node,
    Not,
    parse,
)

__all__ = [
    "UnitThresholds",
    "filter_abnormal_sessions",
    "filter_expression",
    "filter_units",
    "filter_valid_channels",
    "row_mask",
]


class UnitThresholds(TypedDict):
    """The three quality thresholds of :func:`filter_units`, as keyword arguments."""

    amplitude_cutoff_maximum: float | None
    presence_ratio_minimum: float | None
    isi_violations_maximum: float | None


def _require(df: pd.DataFrame, columns: list[str], what: str) -> None:
    """Raise InvalidInputError if ``df`` lacks any of ``columns`` (``what`` needs them)."""
    fix = "pass the table brainobs loaded, unmodified"
    require_columns(df, columns, f"the table given to {what}", fix)


def _is_null(values: pd.Series) -> np.ndarray:
    """Return a bool array: True where a cell is null (None, NaN, NA, NaT)."""
    return np.asarray(values.isna(), dtype=bool)


def _as_bool(values: pd.Series) -> np.ndarray:
    """Return a bool array from a column of booleans, 0/1 floats or True/False text."""
    if pd.api.types.is_bool_dtype(values.dtype) and not values.hasnans:
        return values.to_numpy(dtype=bool)
    lookup = {"true": True, "1": True, "1.0": True}
    return np.array([lookup.get(str(v).strip().lower(), False) for v in values], dtype=bool)


def filter_abnormal_sessions(df: pd.DataFrame) -> pd.DataFrame:
    """Return the sessions with neither abnormal histology nor abnormal activity (both null)."""
    _require(df, ["abnormal_histology", "abnormal_activity"], "filter_abnormal_sessions")
    keep = _is_null(df["abnormal_histology"]) & _is_null(df["abnormal_activity"])
    return df.loc[keep]


def filter_valid_channels(df: pd.DataFrame, *, drop_column: bool = True) -> pd.DataFrame:
    """Return the channels with ``valid_data`` true, without that column (as the reference)."""
    _require(df, ["valid_data"], "filter_valid_channels")
    out = df.loc[_as_bool(df["valid_data"])]
    return out.drop(columns=["valid_data"]) if drop_column else out


def _threshold_mask(
    values: pd.Series, threshold: float | None, keep_below: bool, name: str
) -> np.ndarray:
    """Return the rows kept by one metric threshold (all rows when the threshold is off)."""
    if threshold is None:
        return np.ones(len(values), dtype=bool)
    try:
        limit = float(threshold)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{name} must be a number or None, not {threshold!r}.") from None
    if math.isnan(limit):
        raise InvalidInputError(f"{name} is NaN; pass a number, or None for no filter.")
    if math.isinf(limit):
        return np.ones(len(values), dtype=bool)
    metric = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        return metric <= limit if keep_below else metric >= limit


def filter_units(
    df: pd.DataFrame,
    filter_by_validity: bool = False,
    amplitude_cutoff_maximum: float | None = None,
    presence_ratio_minimum: float | None = None,
    isi_violations_maximum: float | None = None,
    *,
    filter_out_of_brain_units: bool = False,
) -> pd.DataFrame:
    """Return the units passing the quality filters (reference semantics, 0/NaN fixed)."""
    keep = np.ones(len(df), dtype=bool)
    if filter_out_of_brain_units:
        _require(df, ["structure_acronym"], "filter_out_of_brain_units")
        keep &= ~_is_null(df["structure_acronym"])
    if filter_by_validity:
        _require(df, ["quality"], "filter_by_validity")
        keep &= np.asarray(df["quality"].astype(object) == "good", dtype=bool)
        if "valid_data" in df.columns:
            keep &= _as_bool(df["valid_data"])
    thresholds = (
        ("amplitude_cutoff", amplitude_cutoff_maximum, True, "amplitude_cutoff_maximum"),
        ("presence_ratio", presence_ratio_minimum, False, "presence_ratio_minimum"),
        ("isi_violations", isi_violations_maximum, True, "isi_violations_maximum"),
    )
    for column, threshold, keep_below, name in thresholds:
        if threshold is None:
            continue
        _require(df, [column], name)
        keep &= _threshold_mask(df[column], threshold, keep_below, name)
    out = df.loc[keep]
    if filter_by_validity:
        out = out.drop(columns=["quality"])
    return out


def filter_expression(
    df: pd.DataFrame, expression: str | None = None, /, **columns: object
) -> pd.DataFrame:
    """Return the rows matching a filter expression and/or keyword filters (all must hold).

    ``expression`` is in brainobs's filter language (:mod:`brainobs.tables.expressions`), e.g.
    ``"structure_acronym == 'VISp' and snr > 2"`` or ``"genotype contains 'Sst'"``: it is
    parsed and checked against the table, never run as code. Keyword filters name a column:
    a value keeps equal rows, a list/tuple/set keeps rows equal to one of its values, a
    ``slice(low, high)`` keeps ``low <= value <= high`` (either end None for open), ``None``
    keeps null rows. Index levels with a name count as columns.
    """
    return df.loc[row_mask(df, expression, **columns)]


def row_mask(df: pd.DataFrame, expression: str | None = None, /, **columns: object) -> np.ndarray:
    """Return the boolean mask of the rows :func:`filter_expression` keeps."""
    nodes: list[Node] = []
    if expression is not None or not columns:
        nodes.append(parse(expression))  # type: ignore[arg-type]
    nodes += [keyword_node(name, value) for name, value in columns.items()]
    node = nodes[0] if len(nodes) == 1 else And(tuple(nodes))
    return evaluate(node, Table(df, expression))


def keyword_node(name: str, value: object) -> Node:
    """Return the filter node of keyword filter ``name=value``."""
    column = Column(name)
    if value is None:
        return IsNull(column)
    if isinstance(value, slice):
        return _range_node(column, value)
    if isinstance(value, (list, tuple, set, frozenset, np.ndarray, pd.Index, pd.Series)):
        items = tuple(_keyword_literal(name, v) for v in value)
        if not items:
            raise InvalidInputError(f"filter {name}=[]: an empty list keeps no rows; drop it.")
        return InList(column, items)
    return Compare(column, "==", _keyword_literal(name, value))


def _range_node(column: Column, bounds: slice) -> Node:
    """Return ``low <= column <= high`` for ``slice(low, high)`` (open ends when None)."""
    if bounds.step is not None:
        raise InvalidInputError(f"filter {column.name}=slice(...): a range has no step.")
    parts: list[Node] = []
    if bounds.start is not None:
        parts.append(Compare(column, ">=", _keyword_literal(column.name, bounds.start)))
    if bounds.stop is not None:
        parts.append(Compare(column, "<=", _keyword_literal(column.name, bounds.stop)))
    if not parts:
        return Not(IsNull(column))
    return parts[0] if len(parts) == 1 else And(tuple(parts))


def _keyword_literal(name: str, value: object) -> Literal:
    """Return ``value`` of keyword filter ``name`` as a literal (numbers, text, booleans)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, pd.Timestamp):
        value = value.isoformat()
    if isinstance(value, float) and math.isnan(value):
        raise InvalidInputError(f"filter {name}=nan: to keep null rows pass {name}=None.")
    if not isinstance(value, (bool, int, float, str)):
        raise InvalidInputError(
            f"filter {name}={value!r}: a keyword filter takes a number, text, a boolean, None, "
            "a list of values or a slice(low, high)."
        )
    return Literal(value)
