"""Give columns one meaning whatever way a file stored them.

Released files store a boolean column as real booleans in some files and as float 0/1 (NaN
for missing) in others, and an integer column with ``-99`` for "no value". Which columns mean
what is the caller's knowledge (the table schemas), so it is passed in as :class:`ColumnRules`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import pandas as pd

from brainobs.errors import InvalidInputError

_TRUE = frozenset({True, "True", "true", "1", "1.0"})  # True == 1 == 1.0
_FALSE = frozenset({False, "False", "false", "0", "0.0"})


@dataclass(frozen=True)
class ColumnRules:
    """Which columns are booleans and which integers use ``int_null`` for missing values.

    Boolean columns come back as ``bool`` (``"boolean"`` with ``<NA>`` when values are
    missing); null-coded integer columns as ``int64`` (``"Int64"`` with ``<NA>`` when the
    null code occurs).
    """

    bool_columns: Collection[str] = ()
    null_int_columns: Collection[str] = ()
    int_null: int = -99


def normalize_frame(frame: pd.DataFrame, rules: ColumnRules | None) -> pd.DataFrame:
    """Return ``frame`` with the rules applied to the columns it has."""
    if rules is None:
        return frame
    for name in rules.bool_columns:
        if name in frame.columns:
            frame[name] = to_bool(frame[name], name)
    for name in rules.null_int_columns:
        if name in frame.columns:
            frame[name] = to_nullable_int(frame[name], rules.int_null)
    return frame


def to_bool(series: pd.Series, name: str = "") -> pd.Series:
    """Return ``series`` (bool, 0/1 numbers or text, NaN for missing) as a boolean column."""
    if series.dtype == bool:
        return series
    missing = series.isna().to_numpy()
    if series.dtype.kind in "iuf":
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        truth = values == 1
        _check_bool_values(values[~missing & ~truth & (values != 0)], name)
    else:
        truth = _truth_of_objects(series.to_numpy(dtype=object), missing, name)
    if missing.any():
        cells = truth.astype(object)
        cells[missing] = None
        return pd.Series(pd.array(cells, dtype="boolean"), index=series.index)
    return pd.Series(truth, index=series.index)


def to_nullable_int(series: pd.Series, null: int) -> pd.Series:
    """Return an integer column with ``null`` (and NaN) as ``<NA>``; other columns unchanged."""
    if series.dtype.kind not in "iuf":
        return series
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    missing = np.isnan(values) | (values == null)
    kept = values[~missing]
    if not np.all(kept == np.round(kept)):
        return series.mask(series == null)
    if not missing.any():
        return series.astype(np.int64)
    integers = np.where(missing, 0, values).astype(np.int64)
    return pd.Series(pd.arrays.IntegerArray(integers, missing), index=series.index)


def _truth_of_objects(values: np.ndarray, missing: np.ndarray, name: str) -> np.ndarray:
    """Return which of ``values`` (bool, number or text objects) are true."""
    truth = np.zeros(len(values), dtype=bool)
    for i, value in enumerate(values):
        if missing[i]:
            continue
        if value in _TRUE:
            truth[i] = True
        elif value not in _FALSE:
            _check_bool_values(np.array([value], dtype=object), name)
    return truth


def _check_bool_values(bad: np.ndarray, name: str) -> None:
    """Raise if ``bad`` (values that are neither true nor false) is not empty."""
    if len(bad):
        raise InvalidInputError(
            f"Column {name!r} should hold booleans (or 0/1), but holds {bad[0]!r}; "
            "leave it out of bool_columns to read it as stored."
        )
