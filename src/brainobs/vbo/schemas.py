"""The four VBO metadata tables as data (release v1.1.0; reference/format_ophys_behavior.md §2)."""

from __future__ import annotations

from brainobs.tables.schemas import (
    DATE,
    INT,
    NULLABLE_INT,
    STRING,
    TableSchema,
    column,
)

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

_VBO_FILE_PATH = column("file_path", STRING, required=False, in_release=False)
_VBO_SUBJECT = (
    column("mouse_id", STRING),
    column("indicator", STRING),
    column("full_genotype", STRING),
    column("driver_line", "list[str]"),
    column("cre_line", STRING),
    column("reporter_line", STRING),
    column("sex", STRING),
    column("age_in_days", NULLABLE_INT),
)
_VBO_SESSION_TYPE = (
    column("project_code", STRING),
    column("session_type", STRING),
    column("session_number", NULLABLE_INT),
    column("image_set", STRING),
    column("behavior_type", STRING),
)
_VBO_EXPOSURES = (
    column("experience_level", STRING),
    column("prior_exposures_to_session_type", NULLABLE_INT),
    column("prior_exposures_to_image_set", NULLABLE_INT),
    column("prior_exposures_to_omissions", NULLABLE_INT),
    column("date_of_acquisition", DATE),
    column("equipment_name", STRING),
)
_VBO_TRIAL_COUNTS = tuple(
    column(f"{kind}_count", NULLABLE_INT, INT, required=False)
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
        column("behavior_session_id", INT),
        column("ophys_session_id", NULLABLE_INT),
        column("ophys_container_id", "list[int]"),
        *_VBO_SUBJECT,
        *_VBO_SESSION_TYPE,
        *_VBO_EXPOSURES,
        column("imaging_plane_group_count", NULLABLE_INT),
        column("num_depths_per_area", NULLABLE_INT),
        column("num_targeted_structures", NULLABLE_INT),
        column("ophys_experiment_id", "list[int]"),
        *_VBO_TRIAL_COUNTS,
        column("file_id", INT),
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
        column("ophys_session_id", NULLABLE_INT),
        column("behavior_session_id", INT),
        column("ophys_container_id", "list[int]"),
        *_VBO_SUBJECT,
        *_VBO_SESSION_TYPE,
        *_VBO_EXPOSURES,
        column("num_targeted_structures", NULLABLE_INT),
        column("imaging_plane_group_count", NULLABLE_INT),
        column("ophys_experiment_id", "list[int]"),
        column("num_depths_per_area", NULLABLE_INT),
    ),
)

_VBO_OPHYS_EXPERIMENTS = TableSchema(
    name="ophys_experiment_table",
    csv_name="ophys_experiment_table.csv",
    index="ophys_experiment_id",
    release="vbo",
    output_order=VBO_METADATA_COLUMN_ORDER,
    specs=(
        column("ophys_experiment_id", INT),
        column("behavior_session_id", INT),
        column("ophys_session_id", NULLABLE_INT),
        column("ophys_container_id", INT),
        *_VBO_SUBJECT,
        column("imaging_depth", INT),
        column("targeted_structure", STRING),
        column("targeted_imaging_depth", INT),
        column("imaging_plane_group", NULLABLE_INT),
        *_VBO_SESSION_TYPE,
        column("passive", "bool"),
        *_VBO_EXPOSURES,
        column("published_at", STRING, required=False),
        column("isi_experiment_id", NULLABLE_INT, INT, required=False),
        column("file_id", INT),
        _VBO_FILE_PATH,
    ),
)

_VBO_OPHYS_CELLS = TableSchema(
    name="ophys_cells_table",
    csv_name="ophys_cells_table.csv",
    index="cell_roi_id",
    release="vbo",
    specs=(
        column("cell_roi_id", INT),
        column("cell_specimen_id", NULLABLE_INT),
        column("ophys_experiment_id", INT),
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
