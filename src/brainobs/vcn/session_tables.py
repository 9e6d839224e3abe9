"""The tables of a Visual Coding session file, as the reference's ``EcephysSession`` gives them.

Layouts: reference/format_ecephys.md §3.4; tables §4.2.1-4.2.2. Each reader reads only the
groups it needs. Probes, channels and units come from the shared ecephys readers
(:mod:`brainobs.sessions.ecephys_tables`) and are shaped here the VCN way: probes named by
``description``, channels with the warehouse's structure and CCF columns when the project
cache supplies them, units filtered, merged with their channel and probe and sorted along the
probes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from brainobs.errors import MissingDataError
from brainobs.nwb import NwbFile, read_dynamic_table, read_intervals
from brainobs.sessions import ecephys_tables as shared
from brainobs.tables.filters import filter_units
from brainobs.vcn.cache_tables import join_on

SUBJECT = "/general/subject"
RIG = "/processing/eye_tracking_rig_metadata/eye_tracking_rig_metadata"
RUNNING = "/processing/running"
#: Unit columns renamed as the reference does (§4.2.2).
UNIT_RENAMES = {
    "PT_ratio": "waveform_PT_ratio",
    "amplitude": "waveform_amplitude",
    "duration": "waveform_duration",
    "halfwidth": "waveform_halfwidth",
    "recovery_slope": "waveform_recovery_slope",
    "repolarization_slope": "waveform_repolarization_slope",
    "spread": "waveform_spread",
    "velocity_above": "waveform_velocity_above",
    "velocity_below": "waveform_velocity_below",
    "l_ratio": "L_ratio",
    "pref_images_multi_ns": "pref_image_multi_ns",
    "local_index_channel": "channel_local_index",
}
#: Probe columns renamed when merged into units.
PROBE_RENAMES = {
    "description": "probe_description",
    "sampling_rate": "probe_sampling_rate",
    "lfp_sampling_rate": "probe_lfp_sampling_rate",
    "has_lfp_data": "probe_has_lfp_data",
}
#: Metric columns the reference's public ``units`` leaves out (when a table has them).
HIDDEN_UNIT_COLUMNS = (
    "width_rf", "height_rf", "on_screen_rf", "time_to_peak_fl", "time_to_peak_rf",
    "time_to_peak_sg", "sustained_idx_fl", "time_to_peak_dg",
)  # fmt: skip
CHANNEL_COLUMNS = (
    "filtering",
    "probe_channel_number",
    "probe_horizontal_position",
    "probe_id",
    "probe_vertical_position",
    "structure_acronym",
)
CCF_COLUMNS = (
    "anterior_posterior_ccf_coordinate",
    "dorsal_ventral_ccf_coordinate",
    "left_right_ccf_coordinate",
)


def read_probes(file: NwbFile) -> pd.DataFrame:
    """Return the probes indexed by ``id``: description, location, sampling rates, LFP flag."""
    probes = shared.read_probes(file).rename(columns={"name": "description"})
    return probes[["description", "location", "sampling_rate", "lfp_sampling_rate",
                   "has_lfp_data"]]  # fmt: skip


def read_all_channels(file: NwbFile) -> pd.DataFrame:
    """Return every channel of the file indexed by ``id``, with ``valid_data`` and the file's
    CCF coordinates."""
    channels = shared.read_channels(file)
    columns = [*CHANNEL_COLUMNS, *CCF_COLUMNS, "valid_data"]
    return channels[[c for c in columns if c in channels.columns]]


def session_channels(
    channels: pd.DataFrame, external: pd.DataFrame | None, filter_by_validity: bool
) -> pd.DataFrame:
    """Return the session's channels: the warehouse's columns replacing the file's, valid only.

    ``external`` (the project cache's channels of this session: structure id and acronym and
    the three CCF coordinates) replaces the file's columns of the same names and, with the
    validity filter, keeps only the channels it lists (as the reference's cache route does;
    the warehouse lists valid channels only).
    """
    if external is not None:
        kept = channels.drop(columns=[c for c in external.columns if c in channels.columns])
        channels = kept.join(external, how="inner" if filter_by_validity else "left")
    if filter_by_validity:
        channels = channels[channels["valid_data"].to_numpy(dtype=bool)]
    return channels.drop(columns=["valid_data"])


def read_unit_columns(file: NwbFile) -> pd.DataFrame:
    """Return every unit's scalar columns indexed by ``id``, in file order, sorted by name."""
    units = read_dynamic_table(file, shared.UNITS_PATH)
    return units[sorted(units.columns)]


def filter_session_units(
    units: pd.DataFrame,
    channels: pd.DataFrame,
    filter_by_validity: bool,
    filter_out_of_brain_units: bool,
    thresholds: dict[str, float | None],
) -> pd.DataFrame:
    """Return the units passing the session filters (§2.2.1), ``quality`` dropped by validity.

    ``channels`` are the file's channels (with ``valid_data`` and ``structure_acronym``): a
    unit needs a valid peak channel (validity) inside the brain (out-of-brain filter).
    """
    if filter_by_validity or filter_out_of_brain_units:
        allowed = np.ones(len(channels), dtype=bool)
        if filter_by_validity:
            allowed &= channels["valid_data"].to_numpy(dtype=bool)
        if filter_out_of_brain_units:
            allowed &= channels["structure_acronym"].notna().to_numpy()
        units = units[units["peak_channel_id"].isin(channels.index[allowed])]
    return filter_units(units, filter_by_validity=filter_by_validity, **thresholds)  # type: ignore[arg-type]


def merge_units(units: pd.DataFrame, channels: pd.DataFrame, probes: pd.DataFrame) -> pd.DataFrame:
    """Return ``units`` joined with their peak channel and probe, renamed and sorted (§4.2.2).

    Rows are sorted by probe description, then vertical and horizontal position (a stable
    sort: ties keep file order).
    """
    table = join_on(units, channels, "peak_channel_id", ("_unit", "_channel"))
    table = join_on(table, probes, "probe_id", ("_unit", "_probe"))
    table = table.rename(columns={**UNIT_RENAMES, **PROBE_RENAMES})
    table.index = table.index.astype(np.int64).rename("unit_id")
    order = ["probe_description", "probe_vertical_position", "probe_horizontal_position"]
    return table.sort_values(order, kind="stable")


def public_units(units: pd.DataFrame) -> pd.DataFrame:
    """Return the units as the public property shows them (a few metric columns hidden)."""
    return units.drop(columns=[c for c in HIDDEN_UNIT_COLUMNS if c in units.columns])


def read_running_speed(file: NwbFile) -> pd.DataFrame:
    """Return the running speed: ``start_time, end_time, velocity`` (cm/s) per interval."""
    speed = f"{RUNNING}/running_speed"
    if not file.has(speed):
        raise MissingDataError(f"{file.name} has no running speed ({speed}).")
    return pd.DataFrame(
        {
            "start_time": file.values(f"{speed}/timestamps").astype(np.float64),
            "end_time": file.values(f"{RUNNING}/running_speed_end_times/timestamps"),
            "velocity": file.values(f"{speed}/data").astype(np.float64),
        }
    )


def read_invalid_times(file: NwbFile) -> pd.DataFrame:
    """Return the invalid intervals ``start_time, stop_time, tags`` (empty when none)."""
    if not file.has("/intervals/invalid_times"):
        empty = {"start_time": np.zeros(0), "stop_time": np.zeros(0), "tags": []}
        return pd.DataFrame(empty, index=pd.Index([], dtype=np.int64, name="id"))
    table = read_intervals(file, "invalid_times", ["start_time", "stop_time", "tags"])
    table["tags"] = [[str(t) for t in tags] for tags in table["tags"]]
    table.index = table.index.astype(np.int64)
    return table


def invalid_intervals_tagged(invalid: pd.DataFrame, tags: list[str]) -> pd.DataFrame:
    """Return the invalid intervals carrying any of ``tags``."""
    if invalid.empty:
        return invalid
    wanted = set(tags)
    return invalid[[bool(wanted.intersection(row)) for row in invalid["tags"]]]


def read_metadata(file: NwbFile) -> dict[str, Any]:
    """Return the subject and session metadata the reference's ``get_metadata`` gives."""
    attrs = file.attrs(SUBJECT)

    def text(name: str) -> Any:
        path = f"{SUBJECT}/{name}"
        return file.scalar(path) if file.has(path) else None

    notes = "/general/stimulus"
    return {
        "specimen_name": attrs.get("specimen_name"),
        "age_in_days": attrs.get("age_in_days"),
        "full_genotype": text("genotype"),
        "strain": text("strain"),
        "sex": text("sex"),
        "stimulus_name": file.scalar(notes) if file.has(notes) else None,
        "subject_id": text("subject_id"),
        "age": text("age"),
        "species": text("species"),
    }


def read_session_start_time(file: NwbFile) -> datetime:
    """Return the session start time (timezone-aware)."""
    return datetime.fromisoformat(str(file.scalar("/session_start_time")))


def read_rig_metadata(file: NwbFile) -> dict[str, Any] | None:
    """Return ``{"geometry": DataFrame (x, y, z), "equipment": name}``; None when absent."""
    if not file.has(RIG):
        return None
    geometry = {}
    for name in ("monitor_position", "camera_position", "led_position", "monitor_rotation",
                 "camera_rotation"):  # fmt: skip
        unit = file.attrs(f"{RIG}/{name}").get("unit", "")
        geometry[f"{name}_{unit}"] = file.values(f"{RIG}/{name}")
    table = pd.DataFrame(geometry, index=pd.Index(["x", "y", "z"]))
    return {"geometry": table, "equipment": file.attrs(RIG).get("equipment")}
