"""The metadata tables of VBN and VBO as data: file name, index, ordered columns and dtypes.

Each :class:`TableSchema` lists the columns of one released CSV in file order, *including the
index column*, with two dtypes per column:

``dtype``
    what brainobs returns after loading (list-valued columns become real Python lists, dates
    become tz-aware UTC datetimes, id counters become nullable ``Int64``);
``reference_dtype``
    what the reference toolkit (AllenSDK 2.16.2) returns for the same column: VBN never parses
    list reprs or dates (they stay ``string``), VBO parses both.

Dtype names: ``int64``, ``Int64`` (nullable), ``float64``, ``string``, ``bool``, ``list[str]``,
``list[int]``, ``list[float]``, ``datetime64[ns, UTC]``. A list-valued column is written to the
CSV as a Python list repr (``"['CA1', 'VISp']"``); a date as ``2020-08-19 14:47:08.574000+00:00``.

A writer of sample releases uses ``VBN_SCHEMAS["units"].csv_columns`` for the header; a reader
uses :func:`brainobs.tables.load.read_table`. This module is data only and its API is stable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = [
    "DATE",
    "DTYPES",
    "SCHEMA_VERSION",
    "VBN_SCHEMAS",
    "VBO_METADATA_COLUMN_ORDER",
    "VBO_SCHEMAS",
    "ColumnSpec",
    "TableSchema",
]

#: Bumped whenever a schema or a load-time transform changes; keys the Parquet cache.
SCHEMA_VERSION = 1

DATE = "datetime64[ns, UTC]"
#: Every dtype name a column may have.
DTYPES = frozenset(
    {"int64", "Int64", "float64", "string", "bool", "list[str]", "list[int]", "list[float]", DATE}
)


@dataclass(frozen=True)
class ColumnSpec:
    """One column: its name, its dtype after loading, and the reference toolkit's dtype."""

    name: str
    dtype: str
    reference_dtype: str = ""
    required: bool = True
    in_release: bool = True
    int_null_sentinel: int | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if not self.reference_dtype:
            object.__setattr__(self, "reference_dtype", self.dtype)
        for dt in (self.dtype, self.reference_dtype):
            if dt not in DTYPES:
                raise ValueError(f"column {self.name!r}: unknown dtype {dt!r}")

    @property
    def is_list(self) -> bool:
        """Return True when the CSV cell holds a Python list repr."""
        return self.dtype.startswith("list[")

    @property
    def is_date(self) -> bool:
        """Return True when the column holds timestamps."""
        return self.dtype == DATE


@dataclass(frozen=True)
class TableSchema:
    """One metadata table: names, index column and ordered column specs (index included)."""

    name: str
    csv_name: str
    index: str
    specs: tuple[ColumnSpec, ...]
    release: str
    output_order: tuple[str, ...] = ()
    _by_name: Mapping[str, ColumnSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_name = {s.name: s for s in self.specs}
        if len(by_name) != len(self.specs):
            raise ValueError(f"table {self.name!r}: duplicate column names")
        if self.index not in by_name:
            raise ValueError(f"table {self.name!r}: index {self.index!r} is not a column")
        object.__setattr__(self, "_by_name", MappingProxyType(by_name))

    @property
    def columns(self) -> tuple[str, ...]:
        """Return the released CSV's column names in file order, index first."""
        return tuple(s.name for s in self.specs if s.in_release)

    @property
    def csv_columns(self) -> list[str]:
        """Return the header a writer should emit (same as :attr:`columns`, as a list)."""
        return list(self.columns)

    @property
    def known_columns(self) -> tuple[str, ...]:
        """Return every column a real file may have, including optional non-release ones."""
        return tuple(s.name for s in self.specs)

    @property
    def required_columns(self) -> tuple[str, ...]:
        """Return the columns a file must have to load."""
        return tuple(s.name for s in self.specs if s.required)

    @property
    def dtypes(self) -> dict[str, str]:
        """Return column name -> brainobs dtype after loading, for every known column."""
        return {s.name: s.dtype for s in self.specs}

    @property
    def reference_dtypes(self) -> dict[str, str]:
        """Return column name -> the reference toolkit's dtype after loading."""
        return {s.name: s.reference_dtype for s in self.specs}

    @property
    def list_columns(self) -> tuple[str, ...]:
        """Return the list-valued columns (Python list reprs in the CSV)."""
        return tuple(s.name for s in self.specs if s.is_list)

    @property
    def date_columns(self) -> tuple[str, ...]:
        """Return the timestamp columns."""
        return tuple(s.name for s in self.specs if s.is_date)

    @property
    def nullable_int_columns(self) -> tuple[str, ...]:
        """Return the columns that load as pandas nullable ``Int64``."""
        return tuple(s.name for s in self.specs if s.dtype == "Int64")

    def spec(self, name: str) -> ColumnSpec:
        """Return the spec of column ``name`` (KeyError naming the table if unknown)."""
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"table {self.name!r} has no column {name!r}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._by_name


def _c(
    name: str, dtype: str, ref: str = "", *, required: bool = True, in_release: bool = True
) -> ColumnSpec:
    return ColumnSpec(name, dtype, ref, required=required, in_release=in_release)


_S = "string"
_F = "float64"
_I = "int64"
_NI = "Int64"

# --------------------------------------------------------------------------------------------
# VBN (visual-behavior-neuropixels), release v0.5.0; see reference/format_ecephys.md §2.1
# --------------------------------------------------------------------------------------------
_VBN_FILE_PATH = _c("file_path", _S, required=False, in_release=False)

_VBN_ECEPHYS_SESSIONS = TableSchema(
    name="ecephys_sessions",
    csv_name="ecephys_sessions.csv",
    index="ecephys_session_id",
    release="vbn",
    specs=(
        _c("ecephys_session_id", _NI),
        _c("behavior_session_id", _I),
        _c("date_of_acquisition", DATE, _S),
        _c("equipment_name", _S),
        _c("session_type", _S),
        _c("mouse_id", _I),
        _c("genotype", _S),
        _c("sex", _S),
        _c("project_code", _S),
        _c("age_in_days", _I),
        _c("unit_count", _NI),
        _c("probe_count", _NI),
        _c("channel_count", _NI),
        _c("structure_acronyms", "list[str]", _S),
        _c("image_set", _S),
        _c("prior_exposures_to_image_set", _NI),
        _c("session_number", _I),
        _c("experience_level", _S),
        _c("prior_exposures_to_omissions", _I),
        _c("file_id", _I),
        _c("abnormal_histology", "list[str]", _S),
        _c("abnormal_activity", "list[float]", _S),
        _VBN_FILE_PATH,
    ),
)

_VBN_BEHAVIOR_SESSIONS = TableSchema(
    name="behavior_sessions",
    csv_name="behavior_sessions.csv",
    index="behavior_session_id",
    release="vbn",
    specs=(
        _c("behavior_session_id", _I),
        _c("equipment_name", _S),
        _c("genotype", _S),
        _c("mouse_id", _I),
        _c("sex", _S),
        _c("age_in_days", _I),
        _c("session_number", _I),
        _c("prior_exposures_to_session_type", _I),
        _c("prior_exposures_to_image_set", _NI),
        _c("prior_exposures_to_omissions", _I),
        _c("ecephys_session_id", _NI),
        _c("date_of_acquisition", DATE, _S),
        _c("session_type", _S),
        _c("image_set", _S),
        _c("file_id", _I),
        _VBN_FILE_PATH,
    ),
)

_VBN_PROBES = TableSchema(
    name="probes",
    csv_name="probes.csv",
    index="ecephys_probe_id",
    release="vbn",
    specs=(
        _c("ecephys_probe_id", _I),
        _c("ecephys_session_id", _I),
        _c("name", _S),
        _c("sampling_rate", _F),
        _c("lfp_sampling_rate", _F),
        _c("phase", _F),
        _c("has_lfp_data", "bool"),
        _c("unit_count", _I),
        _c("channel_count", _I),
        _c("structure_acronyms", "list[str]", _S),
        _c("file_id", _I),
        _VBN_FILE_PATH,
    ),
)

_VBN_CHANNELS = TableSchema(
    name="channels",
    csv_name="channels.csv",
    index="ecephys_channel_id",
    release="vbn",
    specs=(
        _c("ecephys_channel_id", _I),
        _c("ecephys_probe_id", _I),
        _c("ecephys_session_id", _I),
        _c("probe_channel_number", _I),
        _c("probe_vertical_position", _F),
        _c("probe_horizontal_position", _F),
        _c("anterior_posterior_ccf_coordinate", _F),
        _c("dorsal_ventral_ccf_coordinate", _F),
        _c("left_right_ccf_coordinate", _F),
        _c("structure_acronym", _S),
        _c("unit_count", _I),
        _c("valid_data", "bool"),
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
        _c("unit_id", _I),
        _c("ecephys_channel_id", _I),
        _c("ecephys_probe_id", _I),
        _c("ecephys_session_id", _I),
        *(_c(n, _F) for n in _UNIT_FLOATS_A),
        _c("structure_acronym", _S),
        _c("structure_id", _NI, _F),
        *(_c(n, _F) for n in _UNIT_FLOATS_B),
        _c("local_index", _I),
        *(_c(n, _F) for n in _UNIT_FLOATS_C),
        _c("quality", _S, required=False),  # v0.5.0+ only
        _c("valid_data", "bool"),
        *(_c(n, _F) for n in _UNIT_WAVEFORM),
    ),
)

#: The five VBN metadata tables, keyed by metadata name (the CSV's stem).
VBN_SCHEMAS: dict[str, TableSchema] = {
    s.name: s
    for s in (_VBN_ECEPHYS_SESSIONS, _VBN_BEHAVIOR_SESSIONS, _VBN_PROBES, _VBN_CHANNELS, _VBN_UNITS)
}

# --------------------------------------------------------------------------------------------
# VBO (visual-behavior-ophys), release v1.1.0; see reference/format_ophys_behavior.md §2
# File order follows the real CSVs shipped with AllenSDK 2.16.2 ("test CSVs"); columns only in
# those (file_path) are optional and not in the release; columns only in the release
# (trial counts, published_at, isi_experiment_id) are optional.
# --------------------------------------------------------------------------------------------
#: The reference reorders VBO tables: these come first (when present), the rest follow.
VBO_METADATA_COLUMN_ORDER = (
    "behavior_session_id", "ophys_session_id", "ophys_container_id", "mouse_id", "indicator",
    "full_genotype", "driver_line", "cre_line", "reporter_line", "sex", "age_in_days",
    "imaging_depth", "targeted_structure", "targeted_imaging_depth", "imaging_plane_group_count",
    "imaging_plane_group", "project_code", "session_type", "session_number", "image_set",
    "behavior_type", "passive", "experience_level", "prior_exposures_to_session_type",
    "prior_exposures_to_image_set", "prior_exposures_to_omissions", "date_of_acquisition",
    "equipment_name", "num_depths_per_area", "ophys_experiment_id", "num_targeted_structures",
    "published_at", "isi_experiment_id",
)  # fmt: skip

_VBO_FILE_PATH = _c("file_path", _S, required=False, in_release=False)
_VBO_SUBJECT = (
    _c("mouse_id", _S),
    _c("indicator", _S),
    _c("full_genotype", _S),
    _c("driver_line", "list[str]"),
    _c("cre_line", _S),
    _c("reporter_line", _S),
    _c("sex", _S),
    _c("age_in_days", _NI),
)
_VBO_SESSION_TYPE = (
    _c("project_code", _S),
    _c("session_type", _S),
    _c("session_number", _NI),
    _c("image_set", _S),
    _c("behavior_type", _S),
)
_VBO_EXPOSURES = (
    _c("experience_level", _S),
    _c("prior_exposures_to_session_type", _NI),
    _c("prior_exposures_to_image_set", _NI),
    _c("prior_exposures_to_omissions", _NI),
    _c("date_of_acquisition", DATE),
    _c("equipment_name", _S),
)
_VBO_TRIAL_COUNTS = tuple(
    _c(f"{kind}_count", _NI, _I, required=False)
    for kind in (
        "trial", "go_trial", "catch_trial", "hit_trial", "miss_trial",
        "false_alarm_trial", "correct_reject_trial", "engaged_trial",
    )
)  # fmt: skip

_VBO_BEHAVIOR_SESSIONS = TableSchema(
    name="behavior_session_table",
    csv_name="behavior_session_table.csv",
    index="behavior_session_id",
    release="vbo",
    output_order=VBO_METADATA_COLUMN_ORDER,
    specs=(
        _c("behavior_session_id", _I),
        _c("ophys_session_id", _NI),
        _c("ophys_container_id", "list[int]"),
        *_VBO_SUBJECT,
        *_VBO_SESSION_TYPE,
        *_VBO_EXPOSURES,
        _c("imaging_plane_group_count", _NI),
        _c("num_depths_per_area", _NI),
        _c("num_targeted_structures", _NI),
        _c("ophys_experiment_id", "list[int]"),
        *_VBO_TRIAL_COUNTS,
        _c("file_id", _I),
        _VBO_FILE_PATH,
    ),
)

_VBO_OPHYS_SESSIONS = TableSchema(
    name="ophys_session_table",
    csv_name="ophys_session_table.csv",
    index="ophys_session_id",
    release="vbo",
    output_order=VBO_METADATA_COLUMN_ORDER,
    specs=(
        _c("ophys_session_id", _NI),
        _c("behavior_session_id", _I),
        _c("ophys_container_id", "list[int]"),
        *_VBO_SUBJECT,
        *_VBO_SESSION_TYPE,
        *_VBO_EXPOSURES,
        _c("num_targeted_structures", _NI),
        _c("imaging_plane_group_count", _NI),
        _c("ophys_experiment_id", "list[int]"),
        _c("num_depths_per_area", _NI),
    ),
)

_VBO_OPHYS_EXPERIMENTS = TableSchema(
    name="ophys_experiment_table",
    csv_name="ophys_experiment_table.csv",
    index="ophys_experiment_id",
    release="vbo",
    output_order=VBO_METADATA_COLUMN_ORDER,
    specs=(
        _c("ophys_experiment_id", _I),
        _c("behavior_session_id", _I),
        _c("ophys_session_id", _NI),
        _c("ophys_container_id", _I),
        *_VBO_SUBJECT,
        _c("imaging_depth", _I),
        _c("targeted_structure", _S),
        _c("targeted_imaging_depth", _I),
        _c("imaging_plane_group", _NI),
        *_VBO_SESSION_TYPE,
        _c("passive", "bool"),
        *_VBO_EXPOSURES,
        _c("published_at", _S, required=False),
        _c("isi_experiment_id", _NI, _I, required=False),
        _c("file_id", _I),
        _VBO_FILE_PATH,
    ),
)

_VBO_OPHYS_CELLS = TableSchema(
    name="ophys_cells_table",
    csv_name="ophys_cells_table.csv",
    index="cell_roi_id",
    release="vbo",
    specs=(
        _c("cell_roi_id", _I),
        _c("cell_specimen_id", _NI),
        _c("ophys_experiment_id", _I),
    ),
)

#: The four VBO metadata tables, keyed by metadata name (the CSV's stem).
VBO_SCHEMAS: dict[str, TableSchema] = {
    s.name: s
    for s in (
        _VBO_BEHAVIOR_SESSIONS,
        _VBO_OPHYS_SESSIONS,
        _VBO_OPHYS_EXPERIMENTS,
        _VBO_OPHYS_CELLS,
    )
}
