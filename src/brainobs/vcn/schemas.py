"""The Visual Coding Neuropixels metadata tables as data (reference/format_ecephys.md §1.2, §2.2).

The warehouse cache tree (``visual-coding-neuropixels/ecephys-cache/`` in the public bucket, or
a folder an AllenSDK install filled) holds the tables as the reference toolkit writes them: the
warehouse's RMA rows, renamed by the toolkit (``stimulus_name`` -> ``session_type``,
``use_lfp_data`` -> ``has_lfp_data``), written by ``DataFrame.to_csv`` with the index ``id``
first. The RMA service returns a record's fields in alphabetical order (upper case first), and
the toolkit appends the fields it derives (sessions: ``age_in_days``, ``sex``, ``genotype``,
``has_nwb``); channels follow the query's ``tabular`` order. The analysis metrics were stored as
Postgres ``jsonb``, which orders keys by length and then bytewise, so the metric columns of
``<session_type>_analysis_metrics.csv`` follow that order (:func:`metric_columns`); the index
is ``ecephys_unit_id``.

Reference dtypes are what ``pandas.read_csv(..., index_col="id")`` gives. brainobs differs on
``channels.ecephys_structure_id`` (nullable ``Int64``, the reference float64). Channels never
registered to the CCF carry the sentinel ``-1000`` in the three coordinate columns.
"""

from __future__ import annotations

from brainobs.tables.schemas import FLOAT, INT, NULLABLE_INT, STRING, TableSchema, column

SESSION_TYPES = ("brain_observatory_1.1", "functional_connectivity")

_SESSIONS = TableSchema(
    name="sessions",
    csv_name="sessions.csv",
    index="id",
    release="vcn",
    specs=(
        column("id", INT),
        column("date_of_acquisition", STRING),
        column("isi_experiment_id", NULLABLE_INT, FLOAT),
        column("published_at", STRING),
        column("specimen_id", INT),
        column("session_type", STRING),
        column("age_in_days", FLOAT),
        column("sex", STRING),
        column("genotype", STRING),
        column("has_nwb", "bool"),
    ),
)

_PROBES = TableSchema(
    name="probes",
    csv_name="probes.csv",
    index="id",
    release="vcn",
    specs=(
        column("id", INT),
        column("air_channel_index", INT),
        column("ecephys_session_id", INT),
        column("lfp_sampling_rate", FLOAT),
        column("lfp_temporal_subsampling_factor", FLOAT),
        column("name", STRING),
        column("phase", STRING),
        column("sampling_rate", FLOAT),
        column("surface_channel_index", INT),
        column("has_lfp_data", "bool"),
    ),
)

_CHANNELS = TableSchema(
    name="channels",
    csv_name="channels.csv",
    index="id",
    release="vcn",
    specs=(
        column("id", INT),
        column("ecephys_probe_id", INT),
        column("local_index", INT),
        column("probe_horizontal_position", INT),
        column("probe_vertical_position", INT),
        column("anterior_posterior_ccf_coordinate", FLOAT),
        column("dorsal_ventral_ccf_coordinate", FLOAT),
        column("left_right_ccf_coordinate", FLOAT),
        column("ecephys_structure_id", NULLABLE_INT, FLOAT),
        column("ecephys_structure_acronym", STRING),
    ),
)

#: units.csv columns after ``id``, in the warehouse's (alphabetical) order, with their dtypes.
UNIT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("PT_ratio", FLOAT),
    ("amplitude", FLOAT),
    ("amplitude_cutoff", FLOAT),
    ("cluster_id", INT),
    ("cumulative_drift", FLOAT),
    ("d_prime", FLOAT),
    ("duration", FLOAT),
    ("ecephys_channel_id", INT),
    ("epoch_name_quality_metrics", STRING),
    ("epoch_name_waveform_metrics", STRING),
    ("firing_rate", FLOAT),
    ("halfwidth", FLOAT),
    ("isi_violations", FLOAT),
    ("isolation_distance", FLOAT),
    ("l_ratio", FLOAT),
    ("local_index", INT),
    ("max_drift", FLOAT),
    ("nn_hit_rate", FLOAT),
    ("nn_miss_rate", FLOAT),
    ("presence_ratio", FLOAT),
    ("quality", STRING),
    ("recovery_slope", FLOAT),
    ("repolarization_slope", FLOAT),
    ("silhouette_score", FLOAT),
    ("snr", FLOAT),
    ("spread", FLOAT),
    ("velocity_above", FLOAT),
    ("velocity_below", FLOAT),
)

_UNITS = TableSchema(
    name="units",
    csv_name="units.csv",
    index="id",
    release="vcn",
    specs=(column("id", INT), *(column(n, dt) for n, dt in UNIT_COLUMNS)),
)

#: Stimulus suffix -> the metrics computed for it (reference/format_ecephys.md §2.2.2, §5.4).
#: ``pref_images_multi_ns`` keeps the released spelling (sessions rename it on merge).
METRICS_BY_STIMULUS: dict[str, tuple[str, ...]] = {
    "dg": (
        "pref_ori_dg", "pref_ori_multi_dg", "pref_tf_dg", "pref_tf_multi_dg", "c50_dg",
        "f1_f0_dg", "mod_idx_dg", "g_osi_dg", "g_dsi_dg", "firing_rate_dg", "fano_dg",
        "lifetime_sparseness_dg", "run_pval_dg", "run_mod_dg",
    ),
    "sg": (
        "pref_sf_sg", "pref_sf_multi_sg", "pref_ori_sg", "pref_ori_multi_sg", "pref_phase_sg",
        "pref_phase_multi_sg", "g_osi_sg", "time_to_peak_sg", "firing_rate_sg", "fano_sg",
        "lifetime_sparseness_sg", "run_pval_sg", "run_mod_sg",
    ),
    "ns": (
        "pref_image_ns", "pref_images_multi_ns", "image_selectivity_ns", "firing_rate_ns",
        "fano_ns", "time_to_peak_ns", "lifetime_sparseness_ns", "run_pval_ns", "run_mod_ns",
    ),
    "fl": (
        "on_off_ratio_fl", "sustained_idx_fl", "firing_rate_fl", "time_to_peak_fl", "fano_fl",
        "lifetime_sparseness_fl", "run_pval_fl", "run_mod_fl",
    ),
    "rf": (
        "azimuth_rf", "elevation_rf", "width_rf", "height_rf", "area_rf", "p_value_rf",
        "on_screen_rf", "firing_rate_rf", "fano_rf", "time_to_peak_rf",
        "lifetime_sparseness_rf", "run_pval_rf", "run_mod_rf",
    ),
    "dm": (
        "pref_speed_dm", "pref_speed_multi_dm", "pref_dir_dm", "pref_dir_multi_dm",
        "firing_rate_dm", "fano_dm", "time_to_peak_dm", "lifetime_sparseness_dm", "run_mod_dm",
        "run_pval_dm",
    ),
}  # fmt: skip

#: The stimuli each session type's metrics table covers (57 and 45 metric columns).
STIMULI_BY_SESSION_TYPE: dict[str, tuple[str, ...]] = {
    "brain_observatory_1.1": ("dg", "sg", "ns", "fl", "rf"),
    "functional_connectivity": ("dg", "fl", "rf", "dm"),
}
#: Metric columns holding booleans (the others are float64).
BOOLEAN_METRICS = frozenset(
    name for names in METRICS_BY_STIMULUS.values() for name in names if "_multi_" in name
) | {"on_screen_rf"}


def metric_columns(session_type: str) -> tuple[str, ...]:
    """Return the metric columns of ``session_type``'s table in file (jsonb key) order."""
    names = [n for s in STIMULI_BY_SESSION_TYPE[session_type] for n in METRICS_BY_STIMULUS[s]]
    return tuple(sorted(names, key=lambda n: (len(n.encode()), n.encode())))


def _metrics_schema(session_type: str) -> TableSchema:
    """Return the schema of ``<session_type>_analysis_metrics.csv``."""
    specs = [column("ecephys_unit_id", INT)]
    specs += [
        column(n, "bool" if n in BOOLEAN_METRICS else FLOAT) for n in metric_columns(session_type)
    ]
    return TableSchema(
        name=f"{session_type}_analysis_metrics",
        csv_name=f"{session_type}_analysis_metrics.csv",
        index="ecephys_unit_id",
        release="vcn",
        specs=tuple(specs),
    )


#: The VCN tables of the warehouse cache tree, keyed by the CSV's stem.
VCN_SCHEMAS: dict[str, TableSchema] = {
    s.name: s
    for s in (
        _SESSIONS,
        _PROBES,
        _CHANNELS,
        _UNITS,
        *(_metrics_schema(t) for t in SESSION_TYPES),
    )
}
