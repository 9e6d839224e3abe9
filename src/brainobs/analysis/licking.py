"""Licks aligned to events: a long-format lick raster around stimulus changes or any times."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from brainobs.analysis.trials_table import (
    flat_lick_times,
    times,
    trial_outcome,
    validate_trials,
)
from brainobs.errors import InvalidInputError

RASTER_COLUMNS: tuple[str, ...] = ("event_time", "lick_time", "time_from_event")


def _check_window(window: tuple[float, float]) -> tuple[float, float]:
    """Return ``window`` as two floats after checking that start < stop."""
    try:
        start, stop = (float(edge) for edge in window)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"window must be a pair (start, stop) in seconds, got {window!r}."
        ) from exc
    if not start < stop:
        raise InvalidInputError(
            f"window start ({start}) must be before its stop ({stop}); e.g. window=(-1.0, 3.0)."
        )
    return start, stop


def lick_timestamps(licks: pd.DataFrame | Sequence[float] | np.ndarray) -> np.ndarray:
    """Return sorted, finite lick times (s) from a licks table (``timestamps``) or an array."""
    if isinstance(licks, pd.DataFrame):
        if "timestamps" not in licks.columns:
            raise InvalidInputError(
                f"licks table has no `timestamps` column (columns: {list(licks.columns)}); pass "
                "the session's `licks` table or an array of lick times in seconds."
            )
        values = licks["timestamps"].to_numpy(dtype=float, na_value=np.nan)
    else:
        values = np.asarray(licks, dtype=float).reshape(-1)
    return np.sort(values[np.isfinite(values)])


def align_licks(
    licks: pd.DataFrame | Sequence[float] | np.ndarray,
    event_times: pd.Series | Sequence[float] | np.ndarray,
    *,
    window: tuple[float, float] = (-1.0, 3.0),
) -> pd.DataFrame:
    """Return every lick within ``window`` (s) of each event, one row per (event, lick).

    Columns: the event label (the index name of ``event_times``, else ``event``),
    ``event_time``, ``lick_time`` and ``time_from_event`` (s); a lick is kept when
    ``start <= lick - event < stop``. Events with a NaN time are skipped.
    """
    start, stop = _check_window(window)
    lick_times = lick_timestamps(licks)
    events = event_times if isinstance(event_times, pd.Series) else pd.Series(event_times)
    label = events.index.name or "event"
    event_values = pd.to_numeric(events, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    keep = np.isfinite(event_values)
    event_values, labels = event_values[keep], events.index.to_numpy()[keep]
    first = np.searchsorted(lick_times, event_values + start, side="left")
    counts = np.searchsorted(lick_times, event_values + stop, side="left") - first
    which = np.repeat(np.arange(event_values.size), counts)
    offset = np.arange(which.size) - np.repeat(np.cumsum(counts) - counts, counts)
    lick = lick_times[first[which] + offset]
    relative = lick - event_values[which]
    inside = (relative >= start) & (relative < stop)
    frame: pd.DataFrame = pd.DataFrame(
        {
            label: labels[which][inside],
            "event_time": event_values[which][inside],
            "lick_time": lick[inside],
            "time_from_event": relative[inside],
        }
    )
    return frame


def change_lick_raster(
    trials: pd.DataFrame,
    licks: pd.DataFrame | Sequence[float] | np.ndarray | None = None,
    *,
    window: tuple[float, float] = (-1.0, 3.0),
) -> pd.DataFrame:
    """Return licks aligned to each trial's ``change_time``, one row per (trial, lick).

    Columns: ``trials_id`` (or the trials index name), ``change_time``, ``outcome`` (hit, miss,
    false_alarm, correct_reject, auto_rewarded), ``lick_time`` and ``time_from_change`` (s).
    ``licks`` is the session's licks table or an array of times; without it the trials'
    own ``lick_times`` are used, which hold only licks inside each trial.
    """
    validate_trials(trials, ("change_time", "lick_times"))
    outcome = trial_outcome(trials)
    if licks is None:
        _, licks = flat_lick_times(trials)
    change = times(trials, "change_time")
    aligned = align_licks(licks, change, window=window)
    position = aligned["event"].to_numpy()
    frame: pd.DataFrame = pd.DataFrame(
        {
            trials.index.name or "trials_id": trials.index.to_numpy()[position],
            "change_time": aligned["event_time"].to_numpy(),
            "outcome": outcome.array[position],
            "lick_time": aligned["lick_time"].to_numpy(),
            "time_from_change": aligned["time_from_event"].to_numpy(),
        }
    )
    return frame
