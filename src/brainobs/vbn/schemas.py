"""The five VBN metadata tables as data (release v0.5.0; reference/format_ecephys.md §2.1)."""

from __future__ import annotations

from brainobs.tables.schemas import (
    DATE,
    FLOAT,
    INT,
    NULLABLE_INT,
    STRING,
    TableSchema,
    column,
)

_VBN_FILE_PATH = column("file_path", STRING, required=False, in_release=False)

_VBN_ECEPHYS_SESSIONS = TableSchema(
    name="ecephys_sessions",
    csv_name="ecephys_sessions.csv",
    index="ecephys_session_id",
    release="vbn",
    specs=(
        column("ecephys_session_id", NULLABLE_INT),
        column("behavior_session_id", INT),
        column("date_of_acquisition", DATE, STRING),
        column("equipment_name", STRING),
        column("session_type", STRING),
        column("mouse_id", INT),
        column("genotype", STRING),
        column("sex", STRING),
        column("project_code", STRING),
        column("age_in_days", INT),
        column("unit_count", NULLABLE_INT),
        column("probe_count", NULLABLE_INT),
        column("channel_count", NULLABLE_INT),
        column("structure_acronyms", "list[str]", STRING),
        column("image_set", STRING),
        column("prior_exposures_to_image_set", NULLABLE_INT),
        column("session_number", INT),
        column("experience_level", STRING),
        column("prior_exposures_to_omissions", INT),
        column("file_id", INT),
        column("abnormal_histology", "list[str]", STRING),
        column("abnormal_activity", "list[float]", STRING),
        _VBN_FILE_PATH,
    ),
)

_VBN_BEHAVIOR_SESSIONS = TableSchema(
    name="behavior_sessions",
    csv_name="behavior_sessions.csv",
    index="behavior_session_id",
    release="vbn",
    specs=(
        column("behavior_session_id", INT),
        column("equipment_name", STRING),
        column("genotype", STRING),
        column("mouse_id", INT),
        column("sex", STRING),
        column("age_in_days", INT),
        column("session_number", INT),
        column("prior_exposures_to_session_type", INT),
        column("prior_exposures_to_image_set", NULLABLE_INT),
        column("prior_exposures_to_omissions", INT),
        column("ecephys_session_id", NULLABLE_INT),
        column("date_of_acquisition", DATE, STRING),
        column("session_type", STRING),
        column("image_set", STRING),
        column("file_id", INT),
        _VBN_FILE_PATH,
    ),
)

_VBN_PROBES = TableSchema(
    name="probes",
    csv_name="probes.csv",
    index="ecephys_probe_id",
    release="vbn",
    specs=(
        column("ecephys_probe_id", INT),
        column("ecephys_session_id", INT),
        column("name", STRING),
        column("sampling_rate", FLOAT),
        column("lfp_sampling_rate", FLOAT),
        column("phase", FLOAT),
        column("has_lfp_data", "bool"),
        column("unit_count", INT),
        column("channel_count", INT),
        column("structure_acronyms", "list[str]", STRING),
        column("file_id", INT),
        _VBN_FILE_PATH,
    ),
)

_VBN_CHANNELS = TableSchema(
    name="channels",
    csv_name="channels.csv",
    index="ecephys_channel_id",
    release="vbn",
    specs=(
        column("ecephys_channel_id", INT),
        column("ecephys_probe_id", INT),
        column("ecephys_session_id", INT),
        column("probe_channel_number", INT),
        column("probe_vertical_position", FLOAT),
        column("probe_horizontal_position", FLOAT),
        column("anterior_posterior_ccf_coordinate", FLOAT),
        column("dorsal_ventral_ccf_coordinate", FLOAT),
        column("left_right_ccf_coordinate", FLOAT),
        column("structure_acronym", STRING),
        column("unit_count", INT),
        column("valid_data", "bool"),
    ),
)

_UNIT_FLOATS_A = (
    "amplitude_cutoff",
    "anterior_posterior_ccf_coordinate",
    "dorsal_ventral_ccf_coordinate",
    "left_right_ccf_coordinate",
    "cumulative_drift",
    "d_prime",
)
_UNIT_FLOATS_B = ("firing_rate", "isi_violations", "isolation_distance", "l_ratio")
_UNIT_FLOATS_C = (
    "max_drift",
    "nn_hit_rate",
    "nn_miss_rate",
    "presence_ratio",
    "probe_horizontal_position",
    "probe_vertical_position",
    "silhouette_score",
    "snr",
)
_UNIT_WAVEFORM = (
    "amplitude",
    "waveform_duration",
    "waveform_halfwidth",
    "PT_ratio",
    "recovery_slope",
    "repolarization_slope",
    "spread",
    "velocity_above",
    "velocity_below",
)

_VBN_UNITS = TableSchema(
    name="units",
    csv_name="units.csv",
    index="unit_id",
    release="vbn",
    specs=(
        column("unit_id", INT),
        column("ecephys_channel_id", INT),
        column("ecephys_probe_id", INT),
        column("ecephys_session_id", INT),
        *(column(n, FLOAT) for n in _UNIT_FLOATS_A),
        column("structure_acronym", STRING),
        column("structure_id", NULLABLE_INT, FLOAT),
        *(column(n, FLOAT) for n in _UNIT_FLOATS_B),
        column("local_index", INT),
        *(column(n, FLOAT) for n in _UNIT_FLOATS_C),
        column("quality", STRING, required=False),  # v0.5.0+ only
        column("valid_data", "bool"),
        *(column(n, FLOAT) for n in _UNIT_WAVEFORM),
    ),
)

#: The five VBN metadata tables, keyed by metadata name (the CSV's stem).
VBN_SCHEMAS: dict[str, TableSchema] = {
    s.name: s
    for s in (_VBN_ECEPHYS_SESSIONS, _VBN_BEHAVIOR_SESSIONS, _VBN_PROBES, _VBN_CHANNELS, _VBN_UNITS)
}
