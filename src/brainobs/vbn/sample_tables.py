"""The five VBN metadata CSVs of a simulated release, in the released column order."""

from __future__ import annotations

import numpy as np
import pandas as pd

from brainobs.sample.anatomy import STRUCTURE_IDS, stripped
from brainobs.sample.nwb_behavior import PROJECT_CODE, date_text
from brainobs.vbn.sample_design import Cohort
from brainobs.vbn.schemas import VBN_SCHEMAS


def behavior_sessions_table(cohort: Cohort) -> pd.DataFrame:
    """Return behavior_sessions.csv: one row per behavior session, history counters included.

    Mice listed with their recording days only count their unlisted training sessions in
    ``session_number`` and ``prior_exposures_to_image_set``.
    """
    rows = []
    for plan in sorted(cohort.behavior_sessions, key=lambda p: (p.mouse.mouse_id, p.date)):
        rows.append({
            "behavior_session_id": plan.behavior_session_id,
            "equipment_name": plan.equipment_name, "genotype": plan.mouse.genotype,
            "mouse_id": plan.mouse.mouse_id, "sex": plan.mouse.sex,
            "age_in_days": plan.age_in_days, "session_number": plan.session_number,
            "ecephys_session_id": plan.ecephys_session_id, "date": plan.date,
            "date_of_acquisition": date_text(plan.date), "session_type": plan.session_type,
            "image_set": plan.image_set, "file_id": plan.file_id,
            "_unlisted": plan.unlisted_sessions,
            "_unlisted_set": plan.unlisted_image_set_exposures,
        })  # fmt: skip
    table = pd.DataFrame(rows)
    by_mouse = table.groupby("mouse_id", sort=False)
    table["prior_exposures_to_session_type"] = table.groupby(
        ["mouse_id", "session_type"]
    ).cumcount()
    exposures = table.groupby(["mouse_id", "image_set"]).cumcount() + table["_unlisted_set"]
    table["prior_exposures_to_image_set"] = exposures.astype("Int64").where(
        table["image_set"].notna(), pd.NA
    )
    ephys = table["session_type"].str.contains("ephys", case=False).astype(int)
    table["prior_exposures_to_omissions"] = ephys.groupby(table["mouse_id"]).cumsum() - ephys
    table["session_number"] = by_mouse.cumcount() + 1 + table["_unlisted"]
    table["ecephys_session_id"] = table["ecephys_session_id"].astype("Int64")
    return table[VBN_SCHEMAS["behavior_sessions"].csv_columns]


def ecephys_sessions_table(
    cohort: Cohort, behavior: pd.DataFrame, probes: pd.DataFrame, channels: pd.DataFrame
) -> pd.DataFrame:
    """Return ecephys_sessions.csv, with counts from the probe, channel and unit tables."""
    rows = []
    indexed = behavior.set_index("behavior_session_id")
    acronyms = channels.groupby("ecephys_session_id")["_full_acronym"].agg(
        lambda a: str(sorted(a.dropna().unique()))
    )
    channel_counts = channels.groupby("ecephys_session_id").size()
    probe_groups = probes.groupby("ecephys_session_id")
    unit_counts, probe_counts = probe_groups["unit_count"].sum(), probe_groups.size()
    for plan in cohort.ecephys_sessions:
        b, sid = plan.behavior, plan.ecephys_session_id
        info = indexed.loc[b.behavior_session_id]
        prior = info["prior_exposures_to_image_set"]
        rows.append({
            "ecephys_session_id": sid, "behavior_session_id": b.behavior_session_id,
            "date_of_acquisition": date_text(b.date), "equipment_name": b.equipment_name,
            "session_type": b.session_type, "mouse_id": b.mouse.mouse_id,
            "genotype": b.mouse.genotype, "sex": b.mouse.sex, "project_code": PROJECT_CODE,
            "age_in_days": b.age_in_days, "unit_count": int(unit_counts[sid]),
            "probe_count": int(probe_counts[sid]), "channel_count": int(channel_counts[sid]),
            "structure_acronyms": acronyms[sid],
            "image_set": b.image_set, "prior_exposures_to_image_set": prior,
            "session_number": plan.session_number,
            "experience_level": "Novel" if pd.isna(prior) or prior == 0 else "Familiar",
            "prior_exposures_to_omissions": int(info["prior_exposures_to_omissions"]),
            "file_id": plan.file_id,
            "abnormal_histology": plan.abnormal_histology or np.nan,
            "abnormal_activity": plan.abnormal_activity or np.nan,
        })  # fmt: skip
    table = pd.DataFrame(rows)
    for column in ("ecephys_session_id", "unit_count", "probe_count", "channel_count"):
        table[column] = table[column].astype("Int64")
    table["prior_exposures_to_image_set"] = table["prior_exposures_to_image_set"].astype("Int64")
    return table[VBN_SCHEMAS["ecephys_sessions"].csv_columns]


def channels_table(channels: pd.DataFrame, units: pd.DataFrame) -> pd.DataFrame:
    """Return channels.csv rows (stripped acronyms, unit counts per peak channel)."""
    counts = units["ecephys_channel_id"].value_counts()
    table = channels.copy()
    table["structure_acronym"] = table["structure_acronym_full"].map(stripped)
    table["unit_count"] = table["ecephys_channel_id"].map(counts).fillna(0).astype(np.int64)
    return table


def units_table(units: pd.DataFrame, channels: pd.DataFrame) -> pd.DataFrame:
    """Return units.csv rows: metrics plus the peak channel's position and CCF coordinates."""
    peak = channels.set_index("ecephys_channel_id")
    table = units.copy()
    for column in (
        "anterior_posterior_ccf_coordinate", "dorsal_ventral_ccf_coordinate",
        "left_right_ccf_coordinate", "probe_horizontal_position", "probe_vertical_position",
        "valid_data", "ecephys_session_id",
    ):  # fmt: skip
        table[column] = table["ecephys_channel_id"].map(peak[column]).to_numpy()
    table["structure_id"] = table["structure_acronym"].map(STRUCTURE_IDS).astype("Int64")
    return table


def to_csv_frame(name: str, table: pd.DataFrame) -> pd.DataFrame:
    """Return ``table`` restricted to and ordered by the released columns of ``name``."""
    return table[VBN_SCHEMAS[name].csv_columns]
