"""Identify light-responsive (optotagged) units from an optotagging table.

For every light pulse the spikes of a unit are counted in a response window after the pulse
onset and in a baseline window before it (both half-open, seconds relative to ``start_time``).
A unit is tagged when its evoked rate exceeds its baseline rate reliably across pulses:

* ``method="wilcoxon"`` (default): one-sided paired Wilcoxon signed-rank test of evoked minus
  baseline rate per pulse; tagged when ``p_value < alpha``. The windows must be equally wide
  (a rank test of rate differences from unequal windows is biased even without a response);
  the minimum p-value of k all-positive differences is 0.5**k, so sparse units cannot reach a
  small ``alpha`` by chance alone;
* ``method="zscore"``: paired z = mean(d) / (std(d) / sqrt(n)) of the per-pulse differences d;
  tagged when ``z_score >= z_threshold``.

Both also require ``rate_change > 0`` and ``response_probability >= min_response_probability``.
VBN optotagging tables hold ``pulse`` (10 ms square) and ``raised_cosine`` (1 s) stimuli at three
``level`` values; the defaults use the strongest 10 ms pulses and the windows usual for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from brainobs.analysis._validation import (
    SpikeTimes,
    as_spike_mapping,
    preview,
    relative_window,
    select_unit_ids,
    unit_spike_array,
)
from brainobs.errors import InvalidInputError, UnknownIdError

__all__ = ["OPTOTAGGING_COLUMNS", "optotagging_responses", "select_light_pulses"]

OPTOTAGGING_COLUMNS = (
    "baseline_rate",
    "evoked_rate",
    "rate_change",
    "baseline_probability",
    "response_probability",
    "z_score",
    "p_value",
    "is_tagged",
)


def _matching_rows(table: pd.DataFrame, stimulus: str) -> pd.Series:
    """Return a mask of the rows whose stimulus_name or condition equals ``stimulus``."""
    columns = [c for c in ("stimulus_name", "condition") if c in table.columns]
    if not columns:
        raise InvalidInputError(
            "optotagging table needs a 'stimulus_name' or 'condition' column "
            "(e.g. session.optotagging_table)"
        )
    mask = np.zeros(len(table), dtype=bool)
    for column in columns:
        mask |= (table[column] == stimulus).to_numpy(dtype=bool, na_value=False)
    if not mask.any():
        known = pd.unique(pd.concat([table[c] for c in columns]).dropna())
        raise UnknownIdError(
            f"no optotagging rows with stimulus_name or condition {stimulus!r}; the table has "
            f"{preview(known, limit=10)}"
        )
    return pd.Series(mask, index=table.index)


def select_light_pulses(
    optotagging_table: pd.DataFrame,
    stimulus: str = "pulse",
    level: float | Literal["max"] | None = "max",
) -> pd.DataFrame:
    """Return the rows of one light stimulus at one level (``"max"``: the strongest; None: all)."""
    if not isinstance(optotagging_table, pd.DataFrame) or optotagging_table.empty:
        raise InvalidInputError("optotagging_table must be a non-empty DataFrame")
    if "start_time" not in optotagging_table.columns:
        raise InvalidInputError("optotagging_table has no 'start_time' column")
    rows: pd.DataFrame = optotagging_table[_matching_rows(optotagging_table, stimulus).to_numpy()]
    if level is None:
        return rows
    if "level" not in rows.columns:
        raise InvalidInputError("optotagging_table has no 'level' column; pass level=None")
    levels = pd.to_numeric(rows["level"], errors="coerce")
    wanted = float(levels.max()) if level == "max" else float(level)
    chosen: pd.DataFrame = rows[np.isclose(levels.to_numpy(dtype=np.float64), wanted)]
    if chosen.empty:
        raise UnknownIdError(
            f"no {stimulus!r} rows at level {level!r}; levels present are "
            f"{preview(sorted(levels.dropna().unique()))}"
        )
    return chosen


def _check_equal_widths(
    method: str, response: tuple[float, float], baseline: tuple[float, float]
) -> None:
    """Raise unless the Wilcoxon test is given equally wide response and baseline windows."""
    widths = (response[1] - response[0], baseline[1] - baseline[0])
    if method == "wilcoxon" and not np.isclose(widths[0], widths[1], rtol=1e-9, atol=1e-12):
        raise InvalidInputError(
            f"response and baseline windows are {widths[0]:g} s and {widths[1]:g} s wide; the "
            "Wilcoxon test needs equal widths (or use method='zscore')"
        )


def _window_counts(spikes: np.ndarray, onsets: np.ndarray, window: tuple[float, float]) -> Any:
    """Return the spikes in ``[onset + window[0], onset + window[1])`` for each onset."""
    first = np.searchsorted(spikes, onsets + window[0], side="left")
    return np.searchsorted(spikes, onsets + window[1], side="left") - first


def _paired_z(differences: np.ndarray) -> float:
    """Return mean / standard error of ``differences`` (0 when all are equal to zero)."""
    mean = float(differences.mean())
    spread = float(differences.std(ddof=1)) if differences.size > 1 else 0.0
    if spread == 0.0:
        return 0.0 if mean == 0.0 else float(np.sign(mean) * np.inf)
    return mean / (spread / float(np.sqrt(differences.size)))


def _wilcoxon_greater(differences: np.ndarray) -> float:
    """Return the one-sided Wilcoxon signed-rank p-value that differences are above zero."""
    from scipy.stats import wilcoxon

    if not np.any(differences != 0):
        return 1.0
    return float(wilcoxon(differences, zero_method="wilcox", alternative="greater").pvalue)


def _unit_row(
    spikes: np.ndarray,
    onsets: np.ndarray,
    response: tuple[float, float],
    baseline: tuple[float, float],
) -> list[float]:
    """Return the statistics of one unit (before thresholding) in OPTOTAGGING_COLUMNS order."""
    evoked = _window_counts(spikes, onsets, response)
    before = _window_counts(spikes, onsets, baseline)
    evoked_rate = evoked / (response[1] - response[0])
    baseline_rate = before / (baseline[1] - baseline[0])
    differences = evoked_rate - baseline_rate
    return [
        float(baseline_rate.mean()),
        float(evoked_rate.mean()),
        float(differences.mean()),
        float(np.mean(before > 0)),
        float(np.mean(evoked > 0)),
        _paired_z(differences),
        _wilcoxon_greater(differences),
    ]


def _tagged(
    frame: pd.DataFrame, method: str, alpha: float, z_threshold: float, min_probability: float
) -> pd.Series:
    """Return True for units with a significant, positive and reliable light response."""
    significant = (
        frame["p_value"] < alpha if method == "wilcoxon" else frame["z_score"] >= z_threshold
    )
    reliable = frame["response_probability"] >= min_probability
    return (significant & (frame["rate_change"] > 0) & reliable).astype(bool)


def optotagging_responses(
    spike_times: SpikeTimes,
    optotagging_table: pd.DataFrame,
    unit_ids: ArrayLike | None = None,
    stimulus: str = "pulse",
    level: float | Literal["max"] | None = "max",
    response_window: Sequence[float] = (0.001, 0.009),
    baseline_window: Sequence[float] = (-0.010, -0.002),
    method: Literal["wilcoxon", "zscore"] = "wilcoxon",
    alpha: float = 0.001,
    z_threshold: float = 3.0,
    min_response_probability: float = 0.0,
) -> pd.DataFrame:
    """Return light-response statistics and an ``is_tagged`` flag per unit (index ``unit_id``).

    Columns: ``baseline_rate`` and ``evoked_rate`` (mean spikes/s in the windows),
    ``rate_change`` (their difference), ``baseline_probability`` and ``response_probability``
    (fraction of pulses with at least one spike in the window), ``z_score`` (paired z of the
    per-pulse rate differences), ``p_value`` (one-sided paired Wilcoxon) and ``is_tagged``.
    """
    if method not in ("wilcoxon", "zscore"):
        raise InvalidInputError(f"method={method!r}; use 'wilcoxon' or 'zscore'")
    pulses = select_light_pulses(optotagging_table, stimulus, level)
    onsets = pd.to_numeric(pulses["start_time"], errors="coerce").to_numpy(dtype=np.float64)
    if not np.all(np.isfinite(onsets)):
        raise InvalidInputError("optotagging start_time has missing values; drop those rows")
    response, baseline = relative_window(response_window), relative_window(baseline_window)
    _check_equal_widths(method, response, baseline)
    spikes = as_spike_mapping(spike_times)
    ids = select_unit_ids(spikes, unit_ids)
    rows = [_unit_row(unit_spike_array(spikes, u), onsets, response, baseline) for u in ids]
    frame: pd.DataFrame = pd.DataFrame(
        rows, columns=list(OPTOTAGGING_COLUMNS[:-1]), index=pd.Index(ids, name="unit_id")
    )
    frame["is_tagged"] = _tagged(frame, method, alpha, z_threshold, min_response_probability)
    frame.attrs.update(stimulus=stimulus, level=level, n_pulses=int(onsets.size), method=method)
    return frame
