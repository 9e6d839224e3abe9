"""The four VBO metadata CSVs of a simulated release, in the released columns and value styles.

The derived columns follow the release's rules (reference/format_ophys_behavior.md §2.2):
session number, image set, behavior type and experience level from the session type; the
``prior_exposures_*`` counters from each mouse's sessions in date order; the plane-group count
from the released experiments of a session; the targeted depth as the truncated mean depth of a
container. The value styles are the real CSVs': ids that may be missing are written as floats
(``951410079.0``), lists as Python list reprs, dates with ``+00:00`` in the behavior table and
without it in the imaging tables.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from brainobs.analysis.performance import engaged_trials, reward_rate
from brainobs.sample.plans import BehaviorSessionPlan
from brainobs.vbo.sample_design import LINES, Cohort, ExperimentPlan
from brainobs.vbo.schemas import VBO_SCHEMAS

#: (num_targeted_structures, num_depths_per_area) of each project code.
PROJECT_GEOMETRY = {
    "VisualBehavior": (1, 1), "VisualBehaviorTask1B": (1, 1),
    "VisualBehaviorMultiscope": (2, 4), "VisualBehaviorMultiscope4areasx2d": (4, 2),
}  # fmt: skip
PUBLISHED_AT = "2021-03-25"
TRIAL_COUNT_COLUMNS = {
    "trial_count": None, "go_trial_count": "go", "catch_trial_count": "catch",
    "hit_trial_count": "hit", "miss_trial_count": "miss",
    "false_alarm_trial_count": "false_alarm", "correct_reject_trial_count": "correct_reject",
}  # fmt: skip


def session_number(session_type: str) -> float:
    """Return the number after ``OPHYS_`` (NaN for training sessions)."""
    match = re.search(r"OPHYS_(\d+)", session_type)
    return float(match.group(1)) if match else np.nan


def image_set_name(session_type: str) -> str | None:
    """Return ``images_X`` or ``gratings`` (the session tables' image_set)."""
    tokens = session_type.split("_")
    if len(tokens) > 3 and tokens[2] == "images":
        return f"images_{tokens[3]}"
    return "gratings" if len(tokens) > 2 and tokens[2] == "gratings" else None


def experience_level(session_type: str, number: float, prior_image_set: float) -> str:
    """Return the release's experience level of a session."""
    if session_type.startswith("TRAINING"):
        return "Training"
    if number in (0, 1, 2, 3):
        return "Familiar"
    if number in (4, 5, 6):
        return "Novel 1" if prior_image_set == 0 else "Novel >1"
    return "None"


def session_rows(cohort: Cohort) -> pd.DataFrame:
    """Return one row per behavior session with every column the three tables share."""
    rows = [_subject_columns(plan) for plan in cohort.behavior_sessions]
    table = pd.DataFrame(rows).sort_values(["mouse_id", "date"], kind="stable")
    table["prior_exposures_to_session_type"] = table.groupby(
        ["mouse_id", "session_type"]
    ).cumcount()
    letter = table["session_type"].str.extract(r".*images_(\w)", expand=False)
    exposures = table.groupby(["mouse_id", letter]).cumcount().astype(float)
    table["prior_exposures_to_image_set"] = exposures.where(letter.notna(), np.nan)
    omissions = (table["session_type"].str.contains("ophys", case=False)
                 & ~table["session_type"].str.contains("habituation")).astype(int)  # fmt: skip
    table["prior_exposures_to_omissions"] = (
        omissions.groupby(table["mouse_id"]).cumsum() - omissions
    )
    table["experience_level"] = [
        experience_level(t, n, p) for t, n, p in zip(
            table["session_type"], table["session_number"], table["prior_exposures_to_image_set"],
            strict=True)
    ]  # fmt: skip
    return table.set_index("behavior_session_id", drop=False)


def _subject_columns(plan: BehaviorSessionPlan) -> dict[str, Any]:
    """Return the subject and session-type columns of one behavior session."""
    mouse = plan.mouse
    line = next(v for v in LINES.values() if v.cre_line == mouse.cre_line)
    stype = plan.session_type
    return {
        "behavior_session_id": plan.behavior_session_id, "mouse_id": mouse.mouse_id,
        "indicator": line.indicator, "full_genotype": mouse.genotype,
        "driver_line": str(list(line.driver_lines)), "cre_line": line.cre_line,
        "reporter_line": line.reporter_line, "sex": mouse.sex, "age_in_days": plan.age_in_days,
        "project_code": plan.project_code, "session_type": stype,
        "session_number": session_number(stype), "image_set": image_set_name(stype),
        "behavior_type": "passive_viewing" if "passive" in stype and "OPHYS" in stype
        else "active_behavior",
        "date": plan.date, "equipment_name": plan.equipment_name, "file_id": plan.file_id,
    }  # fmt: skip


def behavior_session_table(
    cohort: Cohort, rows: pd.DataFrame, trials: dict[int, pd.DataFrame]
) -> pd.DataFrame:
    """Return behavior_session_table.csv: behavior-only sessions first, then imaging ones."""
    table = rows.copy()
    table["date_of_acquisition"] = table["date"].map(_utc_text)
    by_behavior = {s.behavior.behavior_session_id: s for s in cohort.ophys_sessions}
    sessions = [by_behavior.get(i) for i in table["behavior_session_id"]]
    imaging = {
        "ophys_session_id": lambda s: s.ophys_session_id,
        "ophys_container_id": lambda s: _ids(s, "container"),
        "ophys_experiment_id": lambda s: _ids(s, "experiment"),
        "imaging_plane_group_count": _group_count,
        "num_targeted_structures": lambda s: PROJECT_GEOMETRY[s.project.code][0],
        "num_depths_per_area": lambda s: PROJECT_GEOMETRY[s.project.code][1],
    }
    for column, value in imaging.items():
        table[column] = [np.nan if s is None else value(s) for s in sessions]
    counts = pd.DataFrame([_trial_counts(trials[i]) for i in table["behavior_session_id"]],
                          index=table.index)  # fmt: skip
    table = pd.concat([table, counts], axis=1)
    table["_imaging"] = [s is not None for s in sessions]
    table = table.sort_values(["_imaging", "mouse_id", "date"], kind="stable")
    return table[VBO_SCHEMAS["behavior_session_table"].csv_columns]


def ophys_session_table(cohort: Cohort, rows: pd.DataFrame) -> pd.DataFrame:
    """Return ophys_session_table.csv: one row per imaging session."""
    out = []
    for session in cohort.ophys_sessions:
        row = rows.loc[session.behavior.behavior_session_id].to_dict()
        code = session.project.code
        row |= {
            "ophys_session_id": session.ophys_session_id,
            "date_of_acquisition": _naive_text(row["date"]),
            "ophys_container_id": _ids(session, "container"),
            "ophys_experiment_id": _ids(session, "experiment"),
            "num_targeted_structures": PROJECT_GEOMETRY[code][0],
            "num_depths_per_area": PROJECT_GEOMETRY[code][1],
            "imaging_plane_group_count": _group_count(session),
        }
        out.append(row)
    table = pd.DataFrame(out)
    table["session_number"] = table["session_number"].astype(np.int64)
    table["prior_exposures_to_image_set"] = table["prior_exposures_to_image_set"].astype(np.int64)
    return table[VBO_SCHEMAS["ophys_session_table"].csv_columns]


def ophys_experiment_table(cohort: Cohort, rows: pd.DataFrame) -> pd.DataFrame:
    """Return ophys_experiment_table.csv: one row per released imaging plane."""
    depths = targeted_depths(cohort)
    out = []
    for session in cohort.ophys_sessions:
        base = rows.loc[session.behavior.behavior_session_id].to_dict()
        for experiment in session.experiments:
            out.append(base | _experiment_columns(session.ophys_session_id, experiment, depths))
    table = pd.DataFrame(out)
    table["session_number"] = table["session_number"].astype(np.int64)
    table["prior_exposures_to_image_set"] = table["prior_exposures_to_image_set"].astype(np.int64)
    table["passive"] = table["session_number"].isin([2, 5])
    table["image_set"] = table["session_type"].map(lambda t: t[15] if len(t) > 15 else "N/A")
    table["date_of_acquisition"] = table["date"].map(_naive_text)
    return table[VBO_SCHEMAS["ophys_experiment_table"].csv_columns]


def _experiment_columns(
    ophys_session_id: int, experiment: ExperimentPlan, depths: dict[int, int]
) -> dict[str, Any]:
    """Return the plane's own columns of the experiment table."""
    container = experiment.container
    group = experiment.plane.group
    return {
        "ophys_experiment_id": experiment.ophys_experiment_id,
        "ophys_session_id": ophys_session_id,
        "ophys_container_id": container.ophys_container_id,
        "imaging_depth": experiment.imaging_depth,
        "targeted_structure": experiment.plane.structure,
        "targeted_imaging_depth": depths[container.ophys_container_id],
        "imaging_plane_group": float(group) if group >= 0 else np.nan,
        "published_at": PUBLISHED_AT,
        "isi_experiment_id": isi_experiment_id(container.mouse.mouse_id),
        "file_id": experiment.file_id,
    }


def ophys_cells_table(cells: list[pd.DataFrame]) -> pd.DataFrame:
    """Return ophys_cells_table.csv from the ROIs of every written experiment."""
    table = pd.concat(cells, ignore_index=True)
    return table[VBO_SCHEMAS["ophys_cells_table"].csv_columns]


def targeted_depths(cohort: Cohort) -> dict[int, int]:
    """Return each container's targeted depth: the truncated mean depth of its experiments."""
    depths: dict[int, list[int]] = {}
    for experiment in cohort.experiments:
        depths.setdefault(experiment.container.ophys_container_id, []).append(
            experiment.imaging_depth
        )
    return {cid: int(np.mean(values)) for cid, values in depths.items()}


def isi_experiment_id(mouse_id: int) -> int:
    """Return the id of the mouse's intrinsic-signal (area mapping) experiment."""
    return 700_000_000 + (mouse_id * 7919) % 100_000_000


def _ids(session: Any, kind: str) -> str:
    """Return the sorted container or experiment ids of a session as a list repr."""
    if kind == "container":
        ids = {e.container.ophys_container_id for e in session.experiments}
    else:
        ids = {e.ophys_experiment_id for e in session.experiments}
    return str(sorted(ids))


def _group_count(session: Any) -> float:
    """Return the number of plane groups among the released planes (NaN if single plane)."""
    if not session.project.is_multiplane:
        return np.nan
    return float(len({e.plane.group for e in session.experiments}))


def _trial_counts(trials: pd.DataFrame) -> dict[str, int]:
    """Return the trial counts of the release's behavior table for one session."""
    counts = {name: int(trials[column].sum()) if column else len(trials)
              for name, column in TRIAL_COUNT_COLUMNS.items()}  # fmt: skip
    engaged = engaged_trials(reward_rate(trials)) if len(trials) else pd.Series(dtype=bool)
    counts["engaged_trial_count"] = int(engaged.sum())
    return counts


def _utc_text(when: Any) -> str:
    """Return a date as the behavior table stores it (``2019-09-20 09:59:38.837000+00:00``)."""
    return str(when.strftime("%Y-%m-%d %H:%M:%S.%f+00:00"))


def _naive_text(when: Any) -> str:
    """Return a date as the imaging tables store it (``2019-09-20 09:59:38.837000``)."""
    return str(when.strftime("%Y-%m-%d %H:%M:%S.%f"))
