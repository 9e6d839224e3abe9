"""The analysis metrics of the sample release, computed from the simulated spikes.

The released ``<session_type>_analysis_metrics.csv`` tables were computed by the reference
toolkit's stimulus-analysis classes from each session's spikes; the sample does the same from
its own spikes with the formulas of reference/format_ecephys.md §5.4 (one table per session
type, one row per unit, including noise units), so the values are what an analysis of the
files gives, not the simulation's ground truth. Where the reference is wrong the sample's
pipeline is right, and where the released tables have a quirk the sample keeps it:

* ``pref_image_ns`` holds the ``stimulus_condition_id`` of the preferred scene, as released
  (ids numbered by first appearance over the whole session's presentation table, §5.3);
* ``p_value_rf`` is the p-value and ``on_screen_rf`` the boolean (the released table had them
  swapped; the reference swaps them back when it downloads);
* ``f1_f0_dg`` counts ``floor(tf * 2 s)`` cycles (the reference uses 1.9985 s, one cycle short);
* the receptive-field p-value draws ``RF_SHUFFLES`` (200) seeded bootstrap resamples (the
  reference: 1000 unseeded ones);
* ``c50_dg`` fits the contrast conditions at the preferred orientation modulo 180 deg (the
  reference looks for the preferred direction, absent from the contrast stimulus for half the
  directions, and gives NaN there), starting the fit from the data (slope -2, the observed
  minimum and maximum, the median contrast) where the reference starts from all ones.

The per-stimulus formulas live in :mod:`brainobs.vcn.sample_metric_formulas`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from brainobs.vcn import sample_metric_formulas as f
from brainobs.vcn.sample_schedule import Schedule
from brainobs.vcn.sample_stimuli import PARAMETERS, STIMULI
from brainobs.vcn.schemas import STIMULI_BY_SESSION_TYPE, metric_columns


@dataclass(frozen=True)
class MetricStimulus:
    """How the metrics of one stimulus key (``dg``...) read the presentations."""

    key: str
    names: tuple[str, ...]
    duration: float
    params: tuple[str, ...]
    blank: Callable[[pd.DataFrame], np.ndarray] | None = None


METRIC_STIMULI: dict[str, MetricStimulus] = {
    s.key: s
    for s in (
        MetricStimulus("dg", ("drifting_gratings", "drifting_gratings_75_repeats"), 2.0,
                       ("orientation", "temporal_frequency"),
                       lambda c: c["temporal_frequency"].isna().to_numpy()),
        MetricStimulus("sg", ("static_gratings",), 0.25,
                       ("orientation", "spatial_frequency", "phase"),
                       lambda c: c["spatial_frequency"].isna().to_numpy()),
        MetricStimulus("ns", ("natural_scenes",), 0.25, ("frame",),
                       lambda c: (c["frame"] < 0).to_numpy()),
        MetricStimulus("fl", ("flashes",), 0.25, ("color",)),
        MetricStimulus("rf", ("gabors",), 0.25, ("x_position", "y_position", "orientation")),
        MetricStimulus("dm", ("dot_motion",), 1.0, ("Dir", "Speed")),
    )
}  # fmt: skip


@dataclass
class StimulusTable:
    """The presentations of one stimulus with their conditions and running speeds."""

    spec: MetricStimulus
    starts: np.ndarray
    stops: np.ndarray
    codes: np.ndarray
    conditions: pd.DataFrame
    is_blank: np.ndarray
    speeds: np.ndarray
    condition_ids: np.ndarray

    @classmethod
    def build(
        cls, spec: MetricStimulus, schedule: Schedule, running: tuple[np.ndarray, np.ndarray]
    ) -> StimulusTable | None:
        """Return the table of ``spec`` in ``schedule`` (None when the session lacks it)."""
        name = next((n for n in spec.names if n in set(schedule.presentations.stimulus_name)), "")
        if not name:
            return None
        rows = _with_constants(name, schedule.of(name))
        keys = rows[list(spec.params)].fillna(-1e9)
        conditions, codes = _factorize(keys)
        conditions = conditions.replace(-1e9, np.nan)
        blank = spec.blank(conditions) if spec.blank else np.zeros(len(conditions), bool)
        ids = session_condition_ids(schedule.presentations)[rows.index.to_numpy()]
        first = pd.Series(ids).groupby(codes).first().to_numpy()
        starts, stops = rows["start_time"].to_numpy(), rows["stop_time"].to_numpy()
        speeds = presentation_speeds(starts, stops, *running)
        return cls(spec, starts, stops, codes, conditions, blank, speeds, first)


def _with_constants(name: str, rows: pd.DataFrame) -> pd.DataFrame:
    """Return ``rows`` with the stimulus's constant numeric parameters filled in."""
    rows = rows.copy()
    for column, value in STIMULI[name].constants:
        if column in PARAMETERS and not isinstance(value, str) and rows[column].isna().all():
            rows[column] = float(value)
    return rows


def _factorize(keys: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Return the distinct rows of ``keys`` (sorted) and each row's code into them."""
    grouped = keys.groupby(list(keys.columns), sort=True)
    codes = grouped.ngroup().to_numpy()
    conditions = grouped.size().reset_index()[list(keys.columns)]
    return conditions, codes


def session_condition_ids(presentations: pd.DataFrame) -> np.ndarray:
    """Return each presentation's ``stimulus_condition_id`` as the reference numbers them.

    Conditions are numbered by first appearance, in time order, of the distinct (stimulus
    name, parameters) tuples (reference/format_ecephys.md §5.3); a stimulus's constant
    parameters are the same on all its rows, so its varying ones tell its conditions apart.
    """
    keys = presentations[["stimulus_name", *PARAMETERS]].fillna(-1e9)
    codes = keys.groupby(list(keys.columns), sort=False).ngroup().to_numpy()
    first_seen = pd.Series(np.arange(len(codes))).groupby(codes).min().sort_values()
    order = np.empty(len(first_seen), dtype=np.int64)
    order[first_seen.index.to_numpy()] = np.arange(len(first_seen))
    return order[codes]


def presentation_speeds(
    starts: np.ndarray, stops: np.ndarray, times: np.ndarray, speed: np.ndarray
) -> np.ndarray:
    """Return the mean running speed of samples starting in [start, stop) (NaN if none)."""
    cumulative = np.r_[0.0, np.cumsum(speed)]
    first = np.searchsorted(times, starts, side="left")
    last = np.searchsorted(times, stops, side="left")
    with np.errstate(invalid="ignore", divide="ignore"):
        return (cumulative[last] - cumulative[first]) / (last - first)


def session_metrics(
    session_type: str,
    schedule: Schedule,
    running: tuple[np.ndarray, np.ndarray],
    unit_ids: np.ndarray,
    spikes_of: Callable[[int], np.ndarray],
    seed: int,
) -> pd.DataFrame:
    """Return the metrics of every unit of one session, indexed by ``ecephys_unit_id``."""
    tables = {
        key: StimulusTable.build(METRIC_STIMULI[key], schedule, running)
        for key in STIMULI_BY_SESSION_TYPE[session_type]
    }
    contrast = _contrast_table(schedule, running)
    rows = []
    for row, unit_id in enumerate(unit_ids):
        spikes = spikes_of(row)
        values: dict[str, float | bool] = {}
        for table in tables.values():
            if table is not None:
                values |= f.stimulus_metrics(table, spikes, contrast, seed + int(unit_id))
        rows.append(values)
    frame = pd.DataFrame(rows, index=pd.Index(unit_ids, name="ecephys_unit_id"))
    return frame.reindex(columns=list(metric_columns(session_type)))


def _contrast_table(
    schedule: Schedule, running: tuple[np.ndarray, np.ndarray]
) -> StimulusTable | None:
    """Return the contrast-tuning gratings (functional connectivity sessions) or None."""
    spec = MetricStimulus("dg", ("drifting_gratings_contrast",), 0.5, ("orientation", "contrast"))
    return StimulusTable.build(spec, schedule, running)
