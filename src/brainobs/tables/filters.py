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
"""

from __future__ import annotations

import math
from typing import TypedDict

import numpy as np
import pandas as pd

from brainobs.errors import InvalidInputError

__all__ = [
    "VCN_DEFAULT_UNIT_FILTERS",
    "UnitThresholds",
    "filter_abnormal_sessions",
    "filter_expression",
    "filter_units",
    "filter_valid_channels",
]


class UnitThresholds(TypedDict):
    """The three quality thresholds of :func:`filter_units`, as keyword arguments."""

    amplitude_cutoff_maximum: float | None
    presence_ratio_minimum: float | None
    isi_violations_maximum: float | None


#: VCN's (EcephysProjectCache) default quality thresholds (reference/format_ecephys.md §2.2.1).
VCN_DEFAULT_UNIT_FILTERS: UnitThresholds = {
    "amplitude_cutoff_maximum": 0.1,
    "presence_ratio_minimum": 0.95,
    "isi_violations_maximum": 0.5,
}


def _require(df: pd.DataFrame, columns: list[str], what: str) -> None:
    """Raise InvalidInputError if ``df`` lacks any of ``columns``."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InvalidInputError(
            f"{what} needs the columns {missing}, which this table lacks "
            f"(it has {list(df.columns)}); pass the table brainobs loaded, unmodified."
        )


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


def filter_expression(df: pd.DataFrame, expr: str) -> pd.DataFrame:
    """Return the rows matching a :meth:`DataFrame.query` expression (for the CLI)."""
    if not isinstance(expr, str) or not expr.strip():
        raise InvalidInputError(
            f"the filter expression is empty ({expr!r}); pass e.g. \"structure_acronym == 'VISp'\"."
        )
    try:
        out = df.query(expr, engine="python")
    except Exception as exc:  # query raises many types: SyntaxError, UndefinedVariableError...
        raise InvalidInputError(
            f"cannot apply the filter expression {expr!r}: {type(exc).__name__}: {exc}. "
            f"Use pandas query syntax with these columns: {list(df.columns)} "
            f"(index {df.index.name!r}); quote text values and wrap odd column names in backticks."
        ) from exc
    if not isinstance(out, pd.DataFrame):
        raise InvalidInputError(f"the filter expression {expr!r} did not select rows.")
    return out
