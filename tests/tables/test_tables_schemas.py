"""The schemas agree with the reference documentation and the VBN metadata writer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from brainobs.tables import ColumnSpec, TableSchema
from brainobs.tables.schemas import DTYPES
from brainobs.vbn.schemas import VBN_SCHEMAS
from brainobs.vbo.schemas import VBO_SCHEMAS

VBN_REAL = Path(__file__).resolve().parents[1] / "data" / "real" / "vbn_tables"

# reference/format_ecephys.md §2.1: the dtype of every column after the reference loads it.
REFERENCE_VBN_DTYPES = {
    "ecephys_sessions": {
        "ecephys_session_id": "Int64", "behavior_session_id": "int64",
        "date_of_acquisition": "string", "equipment_name": "string", "session_type": "string",
        "mouse_id": "int64", "genotype": "string", "sex": "string", "project_code": "string",
        "age_in_days": "int64", "unit_count": "Int64", "probe_count": "Int64",
        "channel_count": "Int64", "structure_acronyms": "string", "image_set": "string",
        "prior_exposures_to_image_set": "Int64", "session_number": "int64",
        "experience_level": "string", "prior_exposures_to_omissions": "int64",
        "file_id": "int64", "abnormal_histology": "string", "abnormal_activity": "string",
    },
    "behavior_sessions": {
        "behavior_session_id": "int64", "equipment_name": "string", "genotype": "string",
        "mouse_id": "int64", "sex": "string", "age_in_days": "int64", "session_number": "int64",
        "prior_exposures_to_session_type": "int64", "prior_exposures_to_image_set": "Int64",
        "prior_exposures_to_omissions": "int64", "ecephys_session_id": "Int64",
        "date_of_acquisition": "string", "session_type": "string", "image_set": "string",
        "file_id": "int64",
    },
}  # fmt: skip


def test_every_schema_is_consistent() -> None:
    for schema in [*VBN_SCHEMAS.values(), *VBO_SCHEMAS.values()]:
        assert isinstance(schema, TableSchema)
        assert schema.columns[0] == schema.index, schema.name
        assert schema.csv_columns == list(schema.columns)
        assert set(schema.dtypes.values()) <= DTYPES
        assert set(schema.required_columns) <= set(schema.known_columns)
        assert schema.csv_name == f"{schema.name}.csv"


def test_vbn_tables_match_the_metadata_writer_columns() -> None:
    lookup = json.loads((VBN_REAL / "vbn_metadata_column_lookup.json").read_text())
    assert set(lookup) == {s.csv_name for s in VBN_SCHEMAS.values()}
    for schema in VBN_SCHEMAS.values():
        expected = set(lookup[schema.csv_name]) - {"file_path"}
        if schema.name == "ecephys_sessions":  # abnormalities are added after the writer
            expected |= {"abnormal_histology", "abnormal_activity"}
        assert set(schema.columns) == expected, schema.name


def test_vbn_file_order_and_counts() -> None:
    units = VBN_SCHEMAS["units"].csv_columns
    assert units[:4] == ["unit_id", "ecephys_channel_id", "ecephys_probe_id", "ecephys_session_id"]
    assert units[-1] == "velocity_below" and "quality" in units
    assert len(units) == 1 + 35  # v0.4.0 printed 34 columns; v0.5.0 adds quality
    assert len(VBN_SCHEMAS["ecephys_sessions"].columns) == 1 + 21
    assert len(VBN_SCHEMAS["behavior_sessions"].columns) == 1 + 14
    assert "quality" not in VBN_SCHEMAS["units"].required_columns
    channels_header = (VBN_REAL / "vbn_channels_head5.csv").read_text().splitlines()[0]
    assert VBN_SCHEMAS["channels"].csv_columns == channels_header.split(",")


@pytest.mark.parametrize("table", sorted(REFERENCE_VBN_DTYPES))
def test_reference_dtypes_match_the_documentation(table: str) -> None:
    schema = VBN_SCHEMAS[table]
    known = {k: v for k, v in schema.reference_dtypes.items() if k in schema.columns}
    assert known == REFERENCE_VBN_DTYPES[table]


def test_list_and_date_columns() -> None:
    sessions = VBN_SCHEMAS["ecephys_sessions"]
    assert sessions.list_columns == (
        "structure_acronyms",
        "abnormal_histology",
        "abnormal_activity",
    )
    assert sessions.date_columns == ("date_of_acquisition",)
    assert VBN_SCHEMAS["probes"].list_columns == ("structure_acronyms",)
    assert VBO_SCHEMAS["ophys_session_table"].list_columns == (
        "ophys_container_id",
        "driver_line",
        "ophys_experiment_id",
    )
    assert VBO_SCHEMAS["ophys_cells_table"].nullable_int_columns == ("cell_specimen_id",)


def test_spec_lookup_and_validation() -> None:
    units = VBN_SCHEMAS["units"]
    assert units.spec("structure_id") == ColumnSpec("structure_id", "Int64", "float64")
    assert "snr" in units and "nope" not in units
    with pytest.raises(KeyError, match=r"units.*nope"):
        units.spec("nope")
    with pytest.raises(ValueError, match="unknown dtype"):
        ColumnSpec("x", "int32")
    with pytest.raises(ValueError, match="index"):
        TableSchema("t", "t.csv", "id", (ColumnSpec("a", "int64"),), "vbn")
