"""Readers for the behaviour streams of a VBN/VBO NWB file, shaped like the reference toolkit's.

Each function takes an :class:`~brainobs.nwb.NwbFile` and reads only the groups it needs.
Paths, columns and dtypes follow reference/format_ophys_behavior.md §3.1 and §4.2 and
reference/format_ecephys.md §3.2 and §4.1.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import numpy as np
import pandas as pd

from brainobs.errors import MissingDataError
from brainobs.nwb import ColumnRules, NwbFile, read_fields, read_intervals, table_columns
from brainobs.nwb.timeseries import read_timeseries

TRIALS_PATH = "/intervals/trials"
#: Trials columns that are True/False (stored as booleans or as float 0/1).
TRIAL_BOOL_COLUMNS = (
    "is_change",
    "go",
    "catch",
    "hit",
    "false_alarm",
    "miss",
    "correct_reject",
    "aborted",
    "auto_rewarded",
)
#: Ragged or bookkeeping trials columns the reference drops on read.
TRIAL_DROPPED_COLUMNS = ("lick_events", "tags", "timeseries")
#: The integer "no value" code of ``change_frame`` and the presentations' integer columns.
INT_FILL = -99

LICKS_PATH = "/processing/licking/licks"
REWARDS_PATH = "/processing/rewards"
RUNNING_PATH = "/processing/running"
STIMULUS_TIMESTAMPS_PATH = "/processing/stimulus/timestamps"
TEMPLATES_PATH = "/stimulus/templates"


def lab_meta_path(file: NwbFile, name: str) -> str:
    """Return the path of lab-metadata group ``name`` (``/general/<name>`` in pynwb files)."""
    for path in (f"/general/{name}", f"/general/lab_meta_data/{name}"):
        if file.has(path):
            return path
    raise MissingDataError(
        f"{file.name} has no /general/{name} group; it is not a Visual Behavior session file."
    )


def read_trials(file: NwbFile) -> pd.DataFrame:
    """Return the trials table indexed by ``trials_id`` (``lick_times`` as one array per trial)."""
    columns = [c for c in table_columns(file, TRIALS_PATH) if c not in TRIAL_DROPPED_COLUMNS]
    trials = read_intervals(
        file, TRIALS_PATH, columns, rules=ColumnRules(bool_columns=TRIAL_BOOL_COLUMNS)
    )
    trials = trials.rename(columns={"stimulus_change": "is_change"})
    if "change_frame" in trials.columns:
        trials["change_frame"] = fill_int(trials["change_frame"])
    trials.index = trials.index.rename("trials_id").astype(np.int64)
    return trials


def fill_int(series: pd.Series) -> pd.Series:
    """Return an integer column with missing values as -99 (the reference's int fill)."""
    if series.dtype.kind in "iu":
        return series.astype(np.int64)
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return pd.Series(
        np.where(np.isnan(values), INT_FILL, values).astype(np.int64), index=series.index
    )


def metrics_trials(trials: pd.DataFrame) -> pd.DataFrame:
    """Return trials with a ``change_time`` column (VBN ecephys files store it without delay)."""
    if "change_time" in trials.columns or "change_time_no_display_delay" not in trials.columns:
        return trials
    return trials.rename(columns={"change_time_no_display_delay": "change_time"})


def response_window_start(task_parameters: dict[str, Any]) -> float:
    """Return the start of the response window (s) from the task parameters (0.15 if absent)."""
    window = task_parameters.get("response_window_sec")
    return float(window[0]) if window is not None and len(window) else 0.15


def read_licks(file: NwbFile) -> pd.DataFrame:
    """Return the licks (``timestamps`` s, ``frame``); empty when the file has no licks."""
    if not file.has(LICKS_PATH):
        return pd.DataFrame({"timestamps": np.zeros(0, np.float64), "frame": np.zeros(0, np.int64)})
    timestamps, frames = read_timeseries(file, LICKS_PATH, scaled=False)
    return pd.DataFrame({"timestamps": timestamps, "frame": frames.astype(np.int64)})


def read_rewards(file: NwbFile) -> pd.DataFrame:
    """Return the rewards (``volume`` mL, ``timestamps`` s, ``auto_rewarded``); empty if none."""
    if not file.has(f"{REWARDS_PATH}/volume"):
        return pd.DataFrame(
            {
                "volume": np.zeros(0, np.float64),
                "timestamps": np.zeros(0, np.float64),
                "auto_rewarded": np.zeros(0, bool),
            }
        )
    timestamps, volume = read_timeseries(file, f"{REWARDS_PATH}/volume", scaled=False)
    auto = file.values(f"{REWARDS_PATH}/autorewarded/data").astype(bool)
    return pd.DataFrame(
        {"volume": volume.astype(np.float64), "timestamps": timestamps, "auto_rewarded": auto}
    )


def read_running_speed(file: NwbFile, filtered: bool = True) -> pd.DataFrame:
    """Return the running speed (``timestamps`` s, ``speed`` cm/s), filtered or raw."""
    name = "speed" if filtered else "speed_unfiltered"
    timestamps, speed = read_timeseries(file, f"{RUNNING_PATH}/{name}", scaled=False)
    return pd.DataFrame({"timestamps": timestamps, "speed": speed.astype(np.float64)})


def read_stimulus_timestamps(file: NwbFile) -> np.ndarray:
    """Return the display frame times (s, without the monitor delay)."""
    timestamps, _ = read_timeseries(file, STIMULUS_TIMESTAMPS_PATH, start=None, scaled=False)
    return timestamps


def read_stimulus_templates(file: NwbFile) -> pd.DataFrame:
    """Return the image templates indexed by ``image_name``: ``unwarped`` and ``warped`` arrays."""
    names = file.keys(TEMPLATES_PATH)
    if not names:
        raise MissingDataError(
            f"{file.name} has no stimulus templates ({TEMPLATES_PATH} is empty or absent)."
        )
    frames = [_one_template(file, f"{TEMPLATES_PATH}/{name}") for name in names]
    return pd.concat(frames) if len(frames) > 1 else frames[0]


def _one_template(file: NwbFile, path: str) -> pd.DataFrame:
    """Return one StimulusTemplate group as rows of (unwarped, warped) images."""
    names = [str(n) for n in file.values(f"{path}/control_description", text=True)]
    warped = file.values(f"{path}/data")
    unwarped = file.values(f"{path}/unwarped")
    return pd.DataFrame(
        {"unwarped": list(unwarped), "warped": list(warped)},
        index=pd.Index(names, name="image_name"),
    )


def read_task_parameters(file: NwbFile) -> dict[str, Any]:
    """Return the task parameters, keys sorted, list fields as floats, with ``image_set``."""
    fields = read_fields(file, lab_meta_path(file, "task_parameters"))
    for name in ("blank_duration_sec", "response_window_sec"):
        if name in fields:
            fields[name] = [float(v) for v in np.atleast_1d(np.asarray(fields[name]))]
    if "n_stimulus_frames" in fields:
        fields["n_stimulus_frames"] = int(fields["n_stimulus_frames"])
    fields.setdefault("stimulus_name", None)
    fields["image_set"] = image_set_of(str(fields.get("session_type", "")))
    return {name: fields[name] for name in sorted(fields)}


def image_set_of(session_type: str) -> str | None:
    """Return ``images_X`` (or ``gratings``) parsed from a session type, else None."""
    match = re.search(r"images_[A-Z]", session_type)
    if match:
        return match.group(0)
    return "gratings" if "gratings" in session_type else None


def read_behavior_metadata(file: NwbFile) -> dict[str, Any]:
    """Return the session metadata dict with the reference toolkit's keys, in its order."""
    meta = read_fields(file, lab_meta_path(file, "metadata"))
    subject = read_fields(file, "/general/subject")
    genotype = str(subject.get("genotype", ""))
    driver = subject.get("driver_line")
    reporter = subject.get("reporter_line")
    return {
        "equipment_name": meta.get("equipment_name"),
        "sex": subject.get("sex"),
        "age_in_days": age_in_days(subject.get("age")),
        "stimulus_frame_rate": float(meta["stimulus_frame_rate"]),
        "session_type": meta.get("session_type"),
        "date_of_acquisition": pd.Timestamp(file.scalar("/session_start_time")).tz_convert("UTC"),
        "reporter_line": None if reporter in (None, "None") else reporter,
        "cre_line": genotype.split(";")[0].replace("/wt", "") if ";" in genotype else None,
        "behavior_session_uuid": _uuid(meta.get("behavior_session_uuid")),
        "driver_line": sorted(str(d) for d in np.atleast_1d(driver))
        if driver is not None
        else None,
        "mouse_id": str(subject.get("subject_id")),
        "project_code": meta.get("project_code"),
        "full_genotype": genotype,
        "behavior_session_id": int(meta["behavior_session_id"]),
    }


def age_in_days(age: Any) -> int | None:
    """Return the days of an ISO 8601 age code like ``P82D`` (None when it is not one)."""
    match = re.fullmatch(r"P(\d+)D", str(age or ""))
    return int(match.group(1)) if match else None


def _uuid(text: Any) -> uuid.UUID | None:
    """Return ``text`` as a UUID (None when absent or not a UUID)."""
    try:
        return uuid.UUID(str(text))
    except ValueError:
        return None
