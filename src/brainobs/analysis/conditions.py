"""Stimulus conditions and conditionwise spike statistics (reference §5.2, §5.3).

Differences from the reference (AllenSDK ``EcephysSession``), all deliberate:

* ``stimulus_condition_ids`` compares values by *meaning* by default
  (``value_equality="numeric"``): ``0``, ``0.0``, ``"0.0"`` and ``False`` are one value, and
  NaN, None, ``""`` and ``"null"`` are all "missing" and equal to each other. The reference uses
  Python equality after filling missing values with ``"null"``, so ``0.08`` and ``"0.08"`` give
  two conditions (its literal parsing of phase/size/spatial_frequency is a no-op).
  ``value_equality="python"`` reproduces the reference. Floats are compared exactly.
* ``conditionwise_spike_statistics`` counts spikes in ``[start, stop)`` windows (reference
  ``(start, stop]``; ``edges="reference"`` gives that), handles unsorted and overlapping
  presentations, reports every requested unit (with ``unit_ids=None``: every unit in
  ``spike_times``, including silent ones, which the reference drops), and orders rows by unit
  (in the order given) then condition id.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Collection, Hashable, Iterable, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from brainobs.analysis._validation import (
    EdgeMode,
    SpikeTimes,
    as_spike_mapping,
    check_edge_mode,
    presentation_windows,
    preview,
    select_unit_ids,
    unit_spike_array,
)
from brainobs.analysis.binning import Closed, Side
from brainobs.errors import InvalidInputError, UnknownIdError

__all__ = [
    "NON_STIMULUS_PARAMETERS",
    "conditionwise_spike_statistics",
    "select_presentations",
    "stimulus_condition_ids",
]

#: Columns that describe timing or bookkeeping, not the stimulus (ignored by default).
NON_STIMULUS_PARAMETERS: tuple[str, ...] = (
    "start_time",
    "stop_time",
    "end_time",
    "duration",
    "stimulus_block",
    "stimulus_condition_id",
)

_MISSING_STRINGS = frozenset({"", "null", "nan", "NaN", "None", "<NA>"})


class _Missing:
    """The single 'missing value' used as a condition key (NaN, None, '' and 'null')."""

    def __repr__(self) -> str:
        """Return a readable name for debugging."""
        return "<missing>"


_MISSING = _Missing()


def _is_missing(value: Any) -> bool:
    """Return True for None, NaN, pd.NA and NaT."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float | np.floating) and math.isnan(value)


def _hashable(value: Any) -> Any:
    """Return ``value`` made hashable (lists and arrays become tuples)."""
    if isinstance(value, list | tuple | np.ndarray):
        return tuple(_hashable(v) for v in value)
    return value


def _numeric_key(value: Any) -> Any:
    """Return the key under which ``value`` is compared in numeric equality mode."""
    if isinstance(value, tuple):
        return tuple(_numeric_key(v) for v in value)
    if _is_missing(value):
        return _MISSING
    if isinstance(value, str):
        text = value.strip()
        if text in _MISSING_STRINGS:
            return _MISSING
        try:
            return float(text)
        except ValueError:
            return text
    if isinstance(value, bool | np.bool_ | numbers.Real):
        return float(value)
    return value


def _python_key(value: Any) -> Any:
    """Return the key of ``value`` in reference mode: itself, or "null" when missing/empty."""
    if isinstance(value, tuple):
        return tuple(_python_key(v) for v in value)
    if _is_missing(value) or (isinstance(value, str) and value == ""):
        return "null"
    return value


def _column_codes(values: pd.Series, equality: str) -> np.ndarray:
    """Return integer codes of ``values`` that are equal exactly when the keys are equal."""
    try:
        codes, uniques = pd.factorize(values, use_na_sentinel=False)
    except TypeError:  # unhashable cells such as lists
        codes, uniques = pd.factorize(values.map(_hashable), use_na_sentinel=False)
    key_of = _numeric_key if equality == "numeric" else _python_key
    key_codes: dict[Any, int] = {}
    mapping = np.array(
        [key_codes.setdefault(key_of(_hashable(u)), len(key_codes)) for u in uniques],
        dtype=np.int64,
    )
    return mapping[codes] if mapping.size else np.zeros(len(values), dtype=np.int64)


def _first_occurrence_ids(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (id per row, first row of each id) numbering distinct rows by first occurrence."""
    _, first, inverse = np.unique(codes, axis=0, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return rank[inverse.reshape(-1)], first[order]


def stimulus_condition_ids(
    presentations: pd.DataFrame,
    ignore_columns: Iterable[Hashable] = NON_STIMULUS_PARAMETERS,
    value_equality: Literal["numeric", "python"] = "numeric",
) -> tuple[pd.Series, pd.DataFrame]:
    """Return (condition id per presentation, table of distinct conditions).

    The condition of a presentation is the tuple of its values in every column except
    ``ignore_columns``; the first occurrence of each distinct tuple (in row order) gets the next
    id from 0. The second result is indexed by ``stimulus_condition_id`` and holds each
    condition's values as first seen. For VBN tables consider also ignoring bookkeeping columns
    such as ``start_frame, end_frame, trials_id, flashes_since_change``.
    """
    if not isinstance(presentations, pd.DataFrame) or presentations.empty:
        raise InvalidInputError("presentations must be a non-empty DataFrame")
    if value_equality not in ("numeric", "python"):
        raise InvalidInputError(
            f"value_equality={value_equality!r}; use 'numeric' (default) or 'python'"
        )
    ignored = set(ignore_columns)
    columns = [c for c in presentations.columns if c not in ignored]
    codes = np.zeros((len(presentations), max(len(columns), 1)), dtype=np.int64)
    for position, column in enumerate(columns):
        codes[:, position] = _column_codes(presentations[column], value_equality)
    ids, first_rows = _first_occurrence_ids(codes)
    conditions = presentations.iloc[first_rows][columns].copy()
    conditions.index = pd.RangeIndex(first_rows.size, name="stimulus_condition_id")
    series = pd.Series(ids.astype(np.int64), index=presentations.index)
    return series.rename("stimulus_condition_id"), conditions


def select_presentations(
    presentations: pd.DataFrame,
    stimulus_names: str | Collection[str] | None = None,
    presentation_ids: ArrayLike | None = None,
) -> pd.DataFrame:
    """Return the presentations with the given stimulus names and/or ids (in table order)."""
    if not isinstance(presentations, pd.DataFrame):
        raise InvalidInputError("presentations must be a pandas DataFrame")
    selected = presentations
    if stimulus_names is not None:
        names = [stimulus_names] if isinstance(stimulus_names, str) else list(stimulus_names)
        if "stimulus_name" not in presentations.columns:
            raise InvalidInputError("presentations have no 'stimulus_name' column to filter on")
        known = pd.unique(presentations["stimulus_name"].dropna())
        unknown = [n for n in names if n not in set(known)]
        if unknown:
            raise UnknownIdError(
                f"stimulus names not in presentations: {preview(unknown)}; known names are "
                f"{preview(known, limit=20)}"
            )
        selected = selected[selected["stimulus_name"].isin(names)]
    if presentation_ids is not None:
        wanted = np.atleast_1d(np.asarray(presentation_ids))
        missing = wanted[~np.isin(wanted, presentations.index.to_numpy())]
        if missing.size:
            raise UnknownIdError(
                f"presentation ids not in presentations: {preview(missing.tolist())}; ids run "
                f"from {presentations.index.min()} to {presentations.index.max()}"
            )
        selected = selected[selected.index.isin(wanted)]
    return selected


def _condition_codes(
    presentations: pd.DataFrame, ignore_columns: Iterable[Hashable]
) -> tuple[np.ndarray, np.ndarray]:
    """Return (code per presentation, sorted condition ids) from stimulus_condition_id."""
    if "stimulus_condition_id" in presentations.columns:
        ids = presentations["stimulus_condition_id"]
        if ids.isna().any():
            raise InvalidInputError(
                "stimulus_condition_id has missing values; drop those presentations first"
            )
    else:
        ids, _ = stimulus_condition_ids(presentations, ignore_columns)
    codes, uniques = pd.factorize(ids, sort=True)
    return codes, np.asarray(uniques)


def _window_counts(
    spikes: np.ndarray, start: np.ndarray, stop: np.ndarray, closed: Closed
) -> np.ndarray:
    """Return the number of spikes in each window (``[start, stop)`` or ``(start, stop]``)."""
    side: Side = "left" if closed == "left" else "right"
    return np.searchsorted(spikes, stop, side=side) - np.searchsorted(spikes, start, side=side)


def _group_statistics(values: np.ndarray, codes: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Return rows (sum, mean, std ddof=1, sem) of ``values`` grouped by ``codes``."""
    total = np.bincount(codes, weights=values, minlength=sizes.size)
    mean = total / sizes
    squares = np.bincount(codes, weights=(values - mean[codes]) ** 2, minlength=sizes.size)
    with np.errstate(invalid="ignore", divide="ignore"):
        std = np.where(sizes > 1, np.sqrt(squares / (sizes - 1)), np.nan)
    return np.stack((total, mean, std, std / np.sqrt(sizes)))


def _statistics_frame(
    stats: np.ndarray,
    unit_ids: Sequence[Any],
    conditions: np.ndarray,
    sizes: np.ndarray,
    use_rates: bool,
) -> pd.DataFrame:
    """Return the conditionwise frame from stats shaped (unit, statistic, condition)."""
    index = pd.MultiIndex.from_product(
        [pd.Index(np.asarray(unit_ids)), pd.Index(conditions)],
        names=["unit_id", "stimulus_condition_id"],
    )
    columns: dict[str, np.ndarray] = {}
    if not use_rates:
        columns["spike_count"] = np.rint(stats[:, 0, :].reshape(-1)).astype(np.int64)
    columns["stimulus_presentation_count"] = np.tile(sizes, len(unit_ids)).astype(np.int64)
    for position, name in enumerate(("spike_mean", "spike_std", "spike_sem"), start=1):
        columns[name] = stats[:, position, :].reshape(-1)
    frame: pd.DataFrame = pd.DataFrame(columns, index=index)
    return frame


def conditionwise_spike_statistics(
    spike_times: SpikeTimes,
    presentations: pd.DataFrame,
    unit_ids: ArrayLike | None = None,
    use_rates: bool = False,
    edges: EdgeMode = "half_open",
    ignore_columns: Iterable[Hashable] = NON_STIMULUS_PARAMETERS,
) -> pd.DataFrame:
    """Return spike statistics per (unit_id, stimulus_condition_id) over the presentations.

    Columns: ``spike_count`` (total over the condition's presentations; omitted with
    ``use_rates``), ``stimulus_presentation_count`` (N), ``spike_mean``, ``spike_std`` (ddof 1,
    NaN when N = 1) and ``spike_sem`` (std / sqrt(N)) of the per-presentation counts, or of the
    rates count / (stop - start) in spikes/s with ``use_rates``. Conditions come from the
    ``stimulus_condition_id`` column, or from :func:`stimulus_condition_ids` when it is absent.
    """
    start, stop = presentation_windows(presentations)
    closed: Closed = "right" if check_edge_mode(edges) == "reference" else "left"
    spikes = as_spike_mapping(spike_times)
    ids = select_unit_ids(spikes, unit_ids)
    codes, conditions = _condition_codes(presentations, ignore_columns)
    sizes = np.bincount(codes, minlength=conditions.size).astype(np.float64)
    duration = stop - start
    if use_rates and np.any(duration <= 0):
        raise InvalidInputError(
            "use_rates=True needs presentations longer than 0 s; drop zero-length rows"
        )
    stats = np.empty((len(ids), 4, conditions.size))
    for position, unit_id in enumerate(ids):
        counts = _window_counts(unit_spike_array(spikes, unit_id), start, stop, closed)
        values = counts / duration if use_rates else counts.astype(np.float64)
        stats[position] = _group_statistics(values, codes, sizes)
    return _statistics_frame(stats, ids, conditions, sizes, use_rates)
