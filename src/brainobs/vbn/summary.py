"""VBN's dataset-wide summaries: one row per unit and one per ecephys session, every session.

Declared in the VBN release (``summaries="brainobs.vbn.summary:SUMMARIES"``) and computed by
:func:`brainobs.summarize` (``brainobs summarize vbn``) into two tables:

``units``
    per unit: probe, area (peak channel's ``structure_acronym``) and depth; quality metrics and
    ``passes_qc`` (:data:`~brainobs.vbn.summary_units.QC_THRESHOLDS`); firing rate over each
    kind of stimulus block (``rate_active``, ``rate_passive``, ``rate_spontaneous``,
    ``rate_gabors``, ``rate_flashes``); responses in the active block (spikes/s above the
    0.25 s before onset): ``image_response`` to repeated images, ``change_response`` to image
    changes, ``omission_response`` after omitted flashes; ``change_modulation`` and
    ``novelty_modulation``, (a - b) / (a + b) of the response rates to changes versus
    repeats and novel versus familiar images (NaN in sessions without novel images); the
    light response to the 10 ms optotagging pulses and ``is_tagged``.
``sessions``
    per ecephys session: mouse, genotype, session type, image set, experience level, date,
    abnormality flag and the file's hash; unit counts; the task metrics of
    ``get_performance_metrics()``; engagement (fraction of engaged trials, seconds engaged);
    running (mean speed and fraction of time above 5 cm/s in the active and passive blocks).

Windows and thresholds are constants of :mod:`brainobs.vbn.summary_units` and this module;
:data:`VERSION` names them, so changing one recomputes every session.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from brainobs.analysis.performance import METRIC_ORDER, engagement_epochs
from brainobs.sessions.behavior_tables import metrics_trials
from brainobs.summaries.spec import SessionSummary, SessionTask, SummarySet, SummaryTable
from brainobs.vbn.summary_units import UNIT_COLUMNS, flag, stimulus_blocks, unit_table

if TYPE_CHECKING:
    from pandas.api.typing import NaTType

#: Names the computation; bump it when a window, threshold or formula changes.
VERSION = "1"
#: Running faster than this (cm/s) counts as running.
RUNNING_THRESHOLD = 5.0
#: Metadata columns of the ecephys session table that travel with each session's task.
METADATA_COLUMNS = (
    "file_id", "behavior_session_id", "mouse_id", "genotype", "sex", "age_in_days",
    "session_type", "image_set", "experience_level", "session_number",
    "prior_exposures_to_image_set", "equipment_name", "date_of_acquisition",
    "abnormal_histology", "abnormal_activity",
)  # fmt: skip


def _metric_type(name: str) -> str:
    """Return the column type of a performance metric (counts are integers)."""
    return "int64" if name.endswith("_count") else "float64"


SESSION_COLUMNS: tuple[tuple[str, str], ...] = (
    ("ecephys_session_id", "int64"),
    ("behavior_session_id", "int64"),
    ("mouse_id", "int64"),
    ("genotype", "string"),
    ("sex", "string"),
    ("age_in_days", "float64"),
    ("session_type", "string"),
    ("image_set", "string"),
    ("experience_level", "string"),
    ("session_number", "int64"),
    ("prior_exposures_to_image_set", "float64"),
    ("equipment_name", "string"),
    ("date_of_acquisition", "timestamp"),
    ("abnormal", "bool"),
    ("file_hash", "string"),
    ("unit_count", "int64"),
    ("qc_unit_count", "int64"),
    ("tagged_unit_count", "int64"),
    ("areas", "string"),
    ("change_count", "int64"),
    ("omission_count", "int64"),
    *((name, _metric_type(name)) for name in METRIC_ORDER),
    ("engaged_fraction", "float64"),
    ("engaged_duration", "float64"),
    ("running_speed_active", "float64"),
    ("running_speed_passive", "float64"),
    ("running_fraction_active", "float64"),
    ("running_fraction_passive", "float64"),
)


def sessions_with_files(cache: Any) -> pd.DataFrame:
    """Return the ecephys sessions that have a data file, with their metadata columns."""
    table = cache.get_ecephys_session_table(filter_abnormalities=False)
    table = table[pd.to_numeric(table["file_id"], errors="coerce").fillna(-1) >= 0]
    return table.reindex(columns=list(METADATA_COLUMNS))


def summarize_ecephys_session(cache: Any, task: SessionTask) -> SessionSummary:
    """Return the ``units`` and ``sessions`` rows of one ecephys session (opened here)."""
    session = cache.get_ecephys_session(task.session_id, stream=task.stream)
    try:
        blocks = stimulus_blocks(session.stimulus_presentations)
        units = unit_table(session, blocks)
        sessions = session_row(session, task, blocks, units)
        remote = session.nwb_file.remote
        bytes_read = None if remote is None else int(remote.bytes_transferred)
    finally:
        session.close()
    return SessionSummary({"units": units, "sessions": sessions}, bytes_read)


def session_row(
    session: Any, task: SessionTask, blocks: pd.DataFrame, units: pd.DataFrame
) -> pd.DataFrame:
    """Return the one-row ``sessions`` table of a session."""
    row: dict[str, Any] = _metadata_values(task)
    row.update(_unit_counts(units))
    presentations = session.stimulus_presentations
    active = flag(presentations, "active")
    row["change_count"] = int((active & flag(presentations, "is_change")).sum())
    row["omission_count"] = int((active & flag(presentations, "omitted")).sum())
    metrics = session.get_performance_metrics()
    row.update({name: metrics[name] for name in METRIC_ORDER})
    row.update(_engagement(session, metrics))
    row.update(_running(session.running_speed, blocks))
    return pd.DataFrame([row])


def _metadata_values(task: SessionTask) -> dict[str, Any]:
    """Return the session's metadata columns, typed as the table declares them."""
    meta = task.metadata
    row = {
        name: meta.get(name)
        for name in ("genotype", "sex", "session_type", "image_set", "experience_level")
    }
    row.update(
        behavior_session_id=_int(meta.get("behavior_session_id")),
        mouse_id=_int(meta.get("mouse_id")),
        age_in_days=_float(meta.get("age_in_days")),
        session_number=_int(meta.get("session_number")),
        prior_exposures_to_image_set=_float(meta.get("prior_exposures_to_image_set")),
        equipment_name=meta.get("equipment_name"),
        date_of_acquisition=_utc(meta.get("date_of_acquisition")),
        abnormal=bool(meta.get("abnormal_histology")) or bool(meta.get("abnormal_activity")),
        file_hash=task.file_hash,
    )
    return row


def _utc(value: Any) -> pd.Timestamp | NaTType:
    """Return a date as a UTC timestamp (naive dates are taken as UTC), NaT when missing."""
    if value is None:
        return pd.NaT
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _int(value: Any) -> int | None:
    """Return ``value`` as an int, None when missing."""
    return None if value is None else int(value)


def _float(value: Any) -> float:
    """Return ``value`` as a float, NaN when missing."""
    return np.nan if value is None else float(value)


def _unit_counts(units: pd.DataFrame) -> dict[str, Any]:
    """Return the session's unit counts and the areas its units are in."""
    areas = units["structure_acronym"].dropna().astype(str)
    return {
        "unit_count": len(units),
        "qc_unit_count": int(units["passes_qc"].sum()),
        "tagged_unit_count": int(units["is_tagged"].fillna(False).sum()),
        "areas": ",".join(sorted(set(areas) - {"root"})),
    }


def _engagement(session: Any, metrics: dict[str, Any]) -> dict[str, float]:
    """Return the fraction of trials engaged and the seconds spent in engaged runs."""
    trials = metrics_trials(session.trials)
    if len(trials) == 0:
        return {"engaged_fraction": np.nan, "engaged_duration": 0.0}
    epochs = engagement_epochs(trials, rate=pd.Series(session.get_reward_rate()))
    return {
        "engaged_fraction": metrics["engaged_trial_count"] / len(trials),
        "engaged_duration": float(epochs.loc[epochs["engaged"], "duration"].sum()),
    }


def _running(running: pd.DataFrame, blocks: pd.DataFrame) -> dict[str, float]:
    """Return the mean running speed (cm/s) and the fraction of time running, per block kind."""
    times = running["timestamps"].to_numpy(dtype=float)
    speed = running["speed"].to_numpy(dtype=float)
    out = {}
    for kind in ("active", "passive"):
        inside = np.zeros(times.size, dtype=bool)
        for start, stop in blocks.loc[blocks["kind"] == kind, ["start_time", "stop_time"]].values:
            inside |= (times >= start) & (times < stop)
        values = speed[inside & np.isfinite(speed)]
        out[f"running_speed_{kind}"] = float(values.mean()) if values.size else np.nan
        out[f"running_fraction_{kind}"] = (
            float(np.mean(values > RUNNING_THRESHOLD)) if values.size else np.nan
        )
    return out


SUMMARIES = SummarySet(
    release="vbn",
    version=VERSION,
    session_column="ecephys_session_id",
    tables=(
        SummaryTable("units", "one row per unit of every ecephys session", UNIT_COLUMNS),
        SummaryTable("sessions", "one row per ecephys session", SESSION_COLUMNS),
    ),
    sessions=sessions_with_files,
    compute=summarize_ecephys_session,
    description="Visual Behavior Neuropixels units and sessions, every ecephys session.",
)
