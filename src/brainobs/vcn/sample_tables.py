"""The metadata tables and ``manifest.json`` of the sample's warehouse cache tree.

Each CSV is written as the reference toolkit writes its cache (``DataFrame.to_csv`` with the
index ``id`` first), with the columns and order of :mod:`brainobs.vcn.schemas`. ``channels.csv``
lists the channels with valid data only (as the warehouse does) and writes the coordinates of
channels outside the brain as ``-1000``; ``units.csv`` lists every unit, noise included.
``manifest.json`` is the reference's path manifest (version 0.3.0) that makes the folder a
cache ``EcephysProjectCache(manifest=...)`` opens.
"""

from __future__ import annotations

from datetime import timezone

import numpy as np
import pandas as pd

from brainobs.sample.anatomy import STRUCTURE_IDS, stripped
from brainobs.vcn.layout import CACHE_MANIFEST
from brainobs.vcn.sample_design import PUBLISHED_AT, SessionPlan
from brainobs.vcn.schemas import VCN_SCHEMAS

UNREGISTERED = -1000.0
EPOCH_NAME = "complete_session"
CCF_COLUMNS = (
    "anterior_posterior_ccf_coordinate",
    "dorsal_ventral_ccf_coordinate",
    "left_right_ccf_coordinate",
)


def manifest_json() -> str:
    """Return the text of the cache tree's ``manifest.json`` (as the reference writes it)."""
    return CACHE_MANIFEST.to_json()


def _csv_frame(name: str, table: pd.DataFrame) -> pd.DataFrame:
    """Return ``table`` with the released columns of ``name``, indexed by its index column."""
    schema = VCN_SCHEMAS[name]
    return table[schema.csv_columns].set_index(schema.index)


def sessions_table(plans: list[SessionPlan]) -> pd.DataFrame:
    """Return sessions.csv: one row per session, as the warehouse lists it."""
    rows = [
        {
            "id": p.ecephys_session_id,
            "date_of_acquisition": p.date.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "isi_experiment_id": p.isi_experiment_id,
            "published_at": PUBLISHED_AT,
            "specimen_id": p.mouse.specimen_id,
            "session_type": p.session_type,
            "age_in_days": float(p.age_in_days),
            "sex": p.mouse.sex,
            "genotype": p.mouse.genotype,
            "has_nwb": True,
        }
        for p in plans
    ]
    table = pd.DataFrame(rows)
    table["isi_experiment_id"] = table["isi_experiment_id"].astype("Int64")
    return _csv_frame("sessions", table)


def probes_table(probes: pd.DataFrame) -> pd.DataFrame:
    """Return probes.csv from the written sessions' probe rows."""
    table = probes.rename(columns={"ecephys_probe_id": "id"})
    return _csv_frame("probes", table)


def channels_table(channels: pd.DataFrame) -> pd.DataFrame:
    """Return channels.csv: valid channels, stripped acronyms, -1000 for unregistered sites."""
    table = channels[channels["valid_data"]].copy()
    table["id"] = table["ecephys_channel_id"]
    table["local_index"] = table["probe_channel_number"]
    for column in ("probe_horizontal_position", "probe_vertical_position"):
        table[column] = table[column].astype(np.int64)
    for column in CCF_COLUMNS:
        table[column] = table[column].fillna(UNREGISTERED)
    acronym = table["structure_acronym_full"].map(stripped)
    table["ecephys_structure_acronym"] = acronym
    table["ecephys_structure_id"] = acronym.map(STRUCTURE_IDS).astype("Int64")
    return _csv_frame("channels", table)


def units_table(units: pd.DataFrame) -> pd.DataFrame:
    """Return units.csv: every unit with its quality and waveform metrics."""
    renames = {"waveform_duration": "duration", "waveform_halfwidth": "halfwidth"}
    table = units.rename(columns={"unit_id": "id", **renames})
    table["epoch_name_quality_metrics"] = EPOCH_NAME
    table["epoch_name_waveform_metrics"] = EPOCH_NAME
    return _csv_frame("units", table)


def metrics_table(session_type: str, metrics: list[pd.DataFrame]) -> pd.DataFrame:
    """Return ``<session_type>_analysis_metrics.csv`` from the sessions' metric frames."""
    schema = VCN_SCHEMAS[f"{session_type}_analysis_metrics"]
    table = pd.concat(metrics) if metrics else pd.DataFrame(index=pd.Index([], name=schema.index))
    return table.reindex(columns=schema.csv_columns[1:])
