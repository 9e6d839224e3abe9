"""Checks and column readers for a change-detection trials table.

The trials table is the one a behavior session's ``trials`` property returns (index
``trials_id``; columns such as ``start_time``, ``change_time``, ``lick_times``, ``hit``...).
Readers here accept the variations real files show: flags stored as bool, as nullable
``boolean`` or as float 0/1, and ``lick_times`` cells holding arrays, lists or nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from brainobs.analysis._validation import require_columns
from brainobs.errors import InvalidInputError

OUTCOMES: tuple[str, ...] = (
    "hit",
    "miss",
    "false_alarm",
    "correct_reject",
    "auto_rewarded",
    "aborted",
)
"""The six mutually exclusive trial outcomes, in the order :func:`trial_outcome` tests them."""

_MAX_ROWS_SHOWN = 5


def _rows_text(labels: Iterable[object]) -> str:
    """Return the first few row labels as text, with a count of the rest."""
    labels = list(labels)
    shown = ", ".join(str(label) for label in labels[:_MAX_ROWS_SHOWN])
    rest = len(labels) - _MAX_ROWS_SHOWN
    return shown + (f" and {rest} more" if rest > 0 else "")


def require_session_table(table: Any, columns: Iterable[str], what: str = "trials") -> None:
    """Return None if ``table`` (a session's ``what`` table) has ``columns``; raise otherwise."""
    fix = f"pass the table of a behavior session's `{what}` property, or add the column(s)"
    require_columns(table, columns, f"the {what} table", fix)


def check_start_times(trials: pd.DataFrame) -> np.ndarray:
    """Return ``trials.start_time`` as float64 after checking it is finite and ascending."""
    start = pd.to_numeric(trials["start_time"], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(start)
    if bad.any():
        raise InvalidInputError(
            f"trials.start_time is missing or not a finite number in rows "
            f"{_rows_text(trials.index[bad])}; drop those rows or fill in their start times."
        )
    earlier = np.flatnonzero(np.diff(start) < 0) + 1
    if earlier.size:
        raise InvalidInputError(
            f"trials.start_time is out of order: row(s) {_rows_text(trials.index[earlier])} start "
            "before the row above them. Sort the table with trials.sort_values('start_time') "
            "(trials must be in the order they were run)."
        )
    return start


def validate_trials(trials: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """Return the checked start times of ``trials`` after checking it holds ``columns``."""
    require_session_table(trials, columns)
    if trials.empty:
        raise InvalidInputError(
            "trials table has no rows; behaviour metrics need at least one trial."
        )
    if "start_time" in columns:
        return check_start_times(trials)
    return np.empty(0)


def flag(trials: pd.DataFrame, name: str) -> np.ndarray:
    """Return column ``name`` as a numpy bool array (bool, nullable boolean or 0/1 floats)."""
    column = trials[name]
    if column.dtype == bool:
        return column.to_numpy(dtype=bool)
    numbers = pd.to_numeric(column, errors="coerce")
    values = numbers.to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isin(values, (0.0, 1.0))
    if bad.any():
        raise InvalidInputError(
            f"trials.{name} must hold True/False (or 0/1) but rows {_rows_text(trials.index[bad])} "
            f"hold {trials[name][bad].head(3).tolist()}; fill missing flags with False."
        )
    return values.astype(bool)


def times(trials: pd.DataFrame, name: str) -> np.ndarray:
    """Return column ``name`` as float64 seconds, missing values (None, pd.NA) as NaN."""
    try:
        return pd.to_numeric(trials[name], errors="raise").to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"trials.{name} must hold times in seconds (numbers or NaN): {exc}"
        ) from exc


def _as_lick_array(cell: object, label: object) -> np.ndarray:
    """Return one ``lick_times`` cell as a 1-D float array (None or NaN read as no licks)."""
    if cell is None or (isinstance(cell, float) and np.isnan(cell)):
        return np.empty(0)
    try:
        return np.asarray(cell, dtype=float).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"trials.lick_times in row {label} is {cell!r}; each cell must be a sequence of "
            "lick times in seconds (an empty list for no licks)."
        ) from exc


def flat_lick_times(trials: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Return (row position, lick time) arrays flattening ``trials.lick_times`` in table order."""
    arrays = [
        _as_lick_array(cell, label)
        for cell, label in zip(trials["lick_times"].tolist(), trials.index, strict=True)
    ]
    counts = np.fromiter((a.size for a in arrays), dtype=np.int64, count=len(arrays))
    rows = np.repeat(np.arange(len(arrays)), counts)
    licks = np.concatenate(arrays) if arrays else np.empty(0)
    return rows, licks.astype(float, copy=False)


def trial_outcome(trials: pd.DataFrame) -> pd.Series:
    """Return each trial's outcome (hit, miss, false_alarm, correct_reject, auto_rewarded, aborted).

    The six flags must be mutually exclusive, as the reference toolkit requires; a row with
    none or several of them set raises :class:`~brainobs.errors.InvalidInputError`.
    """
    validate_trials(trials, OUTCOMES)
    flags = np.column_stack([flag(trials, name) for name in OUTCOMES])
    bad = flags.sum(axis=1) != 1
    if bad.any():
        raise InvalidInputError(
            f"trials rows {_rows_text(trials.index[bad])} have {flags[bad][0].sum()} of the flags "
            f"{list(OUTCOMES)} set; exactly one must be True per trial. Check the table "
            "was not edited by hand."
        )
    labels = np.asarray(OUTCOMES, dtype=object)[flags.argmax(axis=1)]
    dtype = pd.CategoricalDtype(list(OUTCOMES))
    outcome: pd.Series = pd.Series(
        pd.Categorical(labels, dtype=dtype), index=trials.index, name="outcome"
    )
    return outcome
