"""Data the report sections derive from a session, memoised in the report context.

Every function takes the session (any object with the AllenSDK session API) and the
:class:`~brainobs.report.section.ReportContext`, and returns a table or arrays computed once
per report. A stream the session does not have raises
:class:`~brainobs.report.section.SectionUnavailableError` with the reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from brainobs.report.section import ReportContext, SectionUnavailableError

__all__ = [
    "aligned_samples",
    "change_times",
    "good_units",
    "omission_times",
    "read_stream",
    "spike_times_of",
    "unit_table",
]


def read_stream(session: Any, name: str) -> Any:
    """Return ``session.<name>`` (calling it when it is a method); raise if it is missing."""
    try:
        value = getattr(session, name)
        value = value() if callable(value) else value
    except (LookupError, AttributeError, OSError, KeyError) as exc:
        raise SectionUnavailableError(f"this session has no {name} ({_reason(exc)})") from exc
    if value is None or (isinstance(value, pd.DataFrame) and value.empty):
        raise SectionUnavailableError(f"this session's {name} is empty")
    return value


def _reason(exc: BaseException) -> str:
    """Return an exception as one short line."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) < 200 else text[:197] + "..."


def _channels(session: Any) -> pd.DataFrame:
    """Return every channel of the session, valid or not."""
    try:
        return session.get_channels(filter_by_validity=False)
    except TypeError:
        return session.get_channels()


def _build_unit_table(session: Any) -> pd.DataFrame:
    """Return the units joined with their peak channel's area, probe and depth."""
    units = read_stream(session, "get_units")
    channels = _channels(session)
    wanted = ["structure_acronym", "probe_id", "probe_vertical_position"]
    located = channels[[c for c in wanted if c in channels.columns]]
    table = units.drop(columns=[c for c in wanted if c in units.columns]).join(
        located, on="peak_channel_id"
    )
    probes = getattr(session, "probes", None)
    if isinstance(probes, pd.DataFrame) and "name" in probes.columns and "probe_id" in table:
        table["probe_name"] = table["probe_id"].map(probes["name"])
    table["structure_acronym"] = table["structure_acronym"].astype(object)
    return table


def unit_table(session: Any, context: ReportContext) -> pd.DataFrame:
    """Return every unit with ``structure_acronym``, ``probe_id`` and depth columns."""
    return context.memo("unit_table", lambda: _build_unit_table(session))


def passes_quality(units: pd.DataFrame, context: ReportContext) -> pd.Series:
    """Return True for the units that pass the report's quality thresholds (NaN fails)."""
    options = context.options
    checks = {
        "amplitude_cutoff": lambda v: v <= options.amplitude_cutoff_maximum,
        "presence_ratio": lambda v: v >= options.presence_ratio_minimum,
        "isi_violations": lambda v: v <= options.isi_violations_maximum,
    }
    keep = pd.Series(True, index=units.index)
    for column, check in checks.items():
        if column in units.columns:
            keep &= check(pd.to_numeric(units[column], errors="coerce")).fillna(False)
    return keep


def good_units(session: Any, context: ReportContext) -> pd.DataFrame:
    """Return the units in a brain area that pass the quality thresholds."""

    def compute() -> pd.DataFrame:
        units = unit_table(session, context)
        in_area = units["structure_acronym"].notna() & (units["structure_acronym"] != "root")
        chosen = units[passes_quality(units, context) & in_area]
        if chosen.empty:
            raise SectionUnavailableError("no unit in a brain area passes the quality thresholds")
        return chosen

    return context.memo("good_units", compute)


def spike_times_of(session: Any, unit_ids: Iterable[Any]) -> dict[Any, np.ndarray]:
    """Return the spike times of ``unit_ids``, reading only those units when the session can."""
    reader = getattr(session, "get_spike_times", None)
    if callable(reader):
        return dict(reader(list(unit_ids)))
    everything = read_stream(session, "spike_times")
    return {unit: everything[unit] for unit in unit_ids}


def _active_flag(presentations: pd.DataFrame) -> np.ndarray:
    """Return True for presentations of the active behaviour block (all when unknown)."""
    if "active" not in presentations.columns:
        return np.ones(len(presentations), dtype=bool)
    return presentations["active"].astype("boolean").fillna(False).to_numpy(dtype=bool)


def _flagged_times(session: Any, context: ReportContext, column: str) -> np.ndarray:
    """Return the start times of active-block presentations where ``column`` is True."""
    presentations = context.memo(
        "stimulus_presentations", lambda: read_stream(session, "stimulus_presentations")
    )
    if column not in presentations.columns:
        raise SectionUnavailableError(f"stimulus_presentations has no {column!r} column")
    flag = presentations[column].astype("boolean").fillna(False).to_numpy(dtype=bool)
    times = presentations["start_time"].to_numpy(dtype=float)[flag & _active_flag(presentations)]
    if times.size == 0:
        raise SectionUnavailableError(f"no active-block presentation has {column} set")
    return times


def change_times(session: Any, context: ReportContext) -> np.ndarray:
    """Return the start times (s) of image changes in the active behaviour block."""
    return context.memo("change_times", lambda: _flagged_times(session, context, "is_change"))


def omission_times(session: Any, context: ReportContext) -> np.ndarray:
    """Return the start times (s) of omitted flashes in the active behaviour block."""
    return context.memo("omission_times", lambda: _flagged_times(session, context, "omitted"))


def aligned_samples(
    timestamps: np.ndarray, values: np.ndarray, events: np.ndarray, offsets: np.ndarray
) -> np.ndarray:
    """Return ``values`` at ``events + offsets`` (events x offsets), nearest sample in time.

    A position more than 1.5 median sample intervals from every sample (a gap, or outside
    the recording) is NaN, as are NaN samples (e.g. blinks).
    """
    timestamps = np.asarray(timestamps, dtype=float)
    values = np.asarray(values, dtype=float)
    if timestamps.size < 2:
        return np.full((events.size, offsets.size), np.nan)
    wanted = events[:, None] + offsets[None, :]
    right = np.clip(np.searchsorted(timestamps, wanted), 1, timestamps.size - 1)
    left = right - 1
    nearest = np.where(
        np.abs(timestamps[left] - wanted) <= np.abs(timestamps[right] - wanted), left, right
    )
    result = values[nearest]
    tolerance = 1.5 * float(np.median(np.diff(timestamps)))
    result[np.abs(timestamps[nearest] - wanted) > tolerance] = np.nan
    return result
