"""VBO's dataset-wide summaries: one row per cell of every experiment, one per experiment.

Declared in the VBO release (``summaries="brainobs.vbo.summary:SUMMARIES"``) and computed by
:func:`brainobs.summarize` (``brainobs summarize vbo``) into two tables:

``cells``
    per (cell, experiment): the cell's ids, its container, line, area and depth, the session's
    experience level and type, and its mean dF/F responses in the change-detection block
    (:meth:`~brainobs.vbo.experiment.BehaviorOphysExperiment.get_cell_responses`: 0-0.5 s
    after onset minus the 0.25 s before): ``change``, ``repeat`` (repeated images),
    ``omission``, ``image`` (every image flash), ``preferred_image`` and its response.
    Grouped by ``cell_specimen_id`` it follows cells across sessions (familiar versus novel);
    :func:`brainobs.analysis.ophys_summary.population_summary` summarises it by line and depth.
``experiments``
    per experiment: its ids, mouse, line, area, depth, session type, experience level, rig,
    date and the file's hash; cell count, frame rate and frames; change and omission counts;
    the population's mean responses per condition; the task metrics of
    ``get_performance_metrics()``.

:data:`VERSION` names the windows and formulas; changing it recomputes every experiment.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from brainobs.analysis.performance import METRIC_ORDER
from brainobs.summaries.spec import SessionSummary, SessionTask, SummarySet, SummaryTable
from brainobs.vbo.responses import task_presentations

if TYPE_CHECKING:
    from pandas.api.typing import NaTType

#: Names the computation; bump it when a window or formula changes.
VERSION = "1"
#: Experiment-table columns that travel with each experiment's task.
METADATA_COLUMNS = (
    "file_id", "ophys_session_id", "ophys_container_id", "behavior_session_id", "mouse_id",
    "cre_line", "targeted_structure", "imaging_depth", "session_type", "experience_level",
    "equipment_name", "project_code", "date_of_acquisition",
)  # fmt: skip
CONDITIONS = ("change", "repeat", "omission", "image")

CELL_COLUMNS: tuple[tuple[str, str], ...] = (
    ("ophys_experiment_id", "int64"),
    ("cell_specimen_id", "int64"),
    ("cell_roi_id", "int64"),
    ("ophys_container_id", "int64"),
    ("cre_line", "string"),
    ("targeted_structure", "string"),
    ("imaging_depth", "int64"),
    ("session_type", "string"),
    ("experience_level", "string"),
    *((name, "float64") for name in CONDITIONS),
    ("preferred_image", "string"),
    ("preferred_response", "float64"),
)


def _metric_type(name: str) -> str:
    """Return the column type of a performance metric (counts are integers)."""
    return "int64" if name.endswith("_count") else "float64"


EXPERIMENT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("ophys_experiment_id", "int64"),
    ("ophys_session_id", "int64"),
    ("ophys_container_id", "int64"),
    ("behavior_session_id", "int64"),
    ("mouse_id", "string"),
    ("cre_line", "string"),
    ("targeted_structure", "string"),
    ("imaging_depth", "int64"),
    ("session_type", "string"),
    ("experience_level", "string"),
    ("equipment_name", "string"),
    ("project_code", "string"),
    ("date_of_acquisition", "timestamp"),
    ("file_hash", "string"),
    ("cell_count", "int64"),
    ("ophys_frame_rate", "float64"),
    ("frame_count", "int64"),
    ("change_count", "int64"),
    ("omission_count", "int64"),
    *((f"mean_{name}_response", "float64") for name in CONDITIONS),
    *((name, _metric_type(name)) for name in METRIC_ORDER),
)


def experiments_with_files(cache: Any) -> pd.DataFrame:
    """Return the experiments (each has its file), with their metadata columns."""
    return cache.get_ophys_experiment_table().reindex(columns=list(METADATA_COLUMNS))


def summarize_experiment(cache: Any, task: SessionTask) -> SessionSummary:
    """Return the ``cells`` and ``experiments`` rows of one experiment (opened here)."""
    experiment = cache.get_behavior_ophys_experiment(task.session_id, stream=task.stream)
    try:
        flashes = task_presentations(experiment.stimulus_presentations)
        responses = experiment.get_cell_responses("dff", flashes)
        cells = cell_rows(task, responses, experiment.get_cell_table()["cell_roi_id"])
        row = experiment_row(experiment, task, flashes, responses)
        remote = experiment.nwb_file.remote
        bytes_read = None if remote is None else int(remote.bytes_transferred)
    finally:
        experiment.close()
    return SessionSummary({"cells": cells, "experiments": row}, bytes_read)


def cell_rows(task: SessionTask, responses: pd.DataFrame, roi_ids: pd.Series) -> pd.DataFrame:
    """Return the ``cells`` rows of one experiment (cells without a specimen id left out)."""
    meta = task.metadata
    table = responses.reset_index()
    table = table[table["cell_specimen_id"].notna()]
    table.insert(0, "ophys_experiment_id", task.session_id)
    table.insert(2, "cell_roi_id", roi_ids.reindex(table["cell_specimen_id"]).to_numpy())
    for name in ("ophys_container_id", "cre_line", "targeted_structure", "imaging_depth",
                 "session_type", "experience_level"):  # fmt: skip
        table[name] = meta.get(name)
    table["preferred_image"] = table["preferred_image"].astype(object)
    return table[[name for name, _ in CELL_COLUMNS]]


def experiment_row(
    experiment: Any, task: SessionTask, flashes: pd.DataFrame, responses: pd.DataFrame
) -> pd.DataFrame:
    """Return the one-row ``experiments`` table of an experiment."""
    meta = task.metadata
    row: dict[str, Any] = {name: meta.get(name) for name, _ in EXPERIMENT_COLUMNS if name in meta}
    row["ophys_experiment_id"] = task.session_id
    row["mouse_id"] = None if meta.get("mouse_id") is None else str(meta["mouse_id"])
    row["date_of_acquisition"] = _utc(meta.get("date_of_acquisition"))
    row["file_hash"] = task.file_hash
    row["cell_count"] = len(responses)
    row["ophys_frame_rate"] = float(experiment.metadata["ophys_frame_rate"])
    row["frame_count"] = len(experiment.ophys_timestamps)
    for name, column in (("change_count", "is_change"), ("omission_count", "omitted")):
        row[name] = int(flashes[column].astype("boolean").fillna(False).sum())
    for name in CONDITIONS:
        values = responses[name].to_numpy(dtype=float)
        finite = values[np.isfinite(values)]
        row[f"mean_{name}_response"] = float(finite.mean()) if finite.size else np.nan
    metrics = experiment.get_performance_metrics()
    row.update({name: metrics[name] for name in METRIC_ORDER})
    return pd.DataFrame([row])


def _utc(value: Any) -> pd.Timestamp | NaTType:
    """Return a date as a UTC timestamp (naive dates are taken as UTC), NaT when missing."""
    if value is None:
        return pd.NaT
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


SUMMARIES = SummarySet(
    release="vbo",
    version=VERSION,
    session_column="ophys_experiment_id",
    tables=(
        SummaryTable("cells", "one row per cell of every experiment", CELL_COLUMNS),
        SummaryTable("experiments", "one row per experiment (imaging plane)", EXPERIMENT_COLUMNS),
    ),
    sessions=experiments_with_files,
    compute=summarize_experiment,
    description="Visual Behavior 2-photon cells and experiments, every experiment.",
)
