"""read_table on the real VBN rows and the real VBO tables."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from brainobs.tables import read_table
from brainobs.vbn.schemas import VBN_SCHEMAS
from brainobs.vbo.schemas import VBO_SCHEMAS

UTC_NS = pd.DatetimeTZDtype("ns", "UTC")


def _is_text(series: pd.Series) -> bool:
    """Return True for text columns: ``str`` on pandas 3, object of str on pandas 2."""
    values = series.dropna()
    return pd.api.types.is_string_dtype(series.dtype) and all(isinstance(v, str) for v in values)


def _check_dtype(series: pd.Series, dtype: str) -> None:
    """Assert ``series`` has the schema dtype ``dtype`` (text is version-dependent)."""
    if dtype == "string":
        assert _is_text(series), (series.name, series.dtype)
    elif dtype.startswith("list["):
        assert series.dtype == object
        assert all(v is None or isinstance(v, list) for v in series), series.name
    else:
        assert str(series.dtype) == str(pd.api.types.pandas_dtype(dtype)), (series.name, dtype)


def test_vbn_behavior_sessions_real_rows(vbn_real: Path) -> None:
    schema = VBN_SCHEMAS["behavior_sessions"]
    df = read_table(vbn_real / "vbn_behavior_sessions_mouse533537.csv", schema)
    assert df.shape == (42, 14)
    assert df.index.name == "behavior_session_id" and df.index.dtype == "int64"
    assert list(df.columns) == list(schema.columns[1:])
    for name in df.columns:
        _check_dtype(df[name], schema.spec(name).dtype)
    assert df["date_of_acquisition"].dtype == UTC_NS
    first = df.iloc[0]
    assert first["date_of_acquisition"] == pd.Timestamp("2020-08-07 12:50:42.917", tz="UTC")
    assert first["ecephys_session_id"] is pd.NA and first["prior_exposures_to_image_set"] is pd.NA
    assert pd.isna(first["image_set"]) and (df["mouse_id"] == 533537).all()
    with_ephys = df["ecephys_session_id"].notna()
    assert with_ephys.sum() == 12 and (df.loc[with_ephys, "equipment_name"].str[:2] == "NP").all()
    assert df.index[df["file_id"] == -999].tolist() == [1055253879, 1055431030]  # in ecephys NWB


def test_vbn_behavior_sessions_reference_mode_keeps_text(vbn_real: Path) -> None:
    schema = VBN_SCHEMAS["behavior_sessions"]
    path = vbn_real / "vbn_behavior_sessions_mouse533537.csv"
    df = read_table(path, schema, reference_compatible=True)
    assert _is_text(df["date_of_acquisition"])
    assert df["date_of_acquisition"].iloc[0] == "2020-08-07 12:50:42.917000+00:00"
    assert df["ecephys_session_id"].dtype == "Int64"


def test_vbn_channels_real_rows(vbn_real: Path) -> None:
    schema = VBN_SCHEMAS["channels"]
    df = read_table(vbn_real / "vbn_channels_head5.csv", schema)
    assert df.shape == (5, 11) and df.index[0] == 1049365509
    for name in df.columns:
        _check_dtype(df[name], schema.spec(name).dtype)
    assert df["valid_data"].all() and df["unit_count"].tolist() == [0, 5, 0, 5, 7]
    assert df["probe_horizontal_position"].tolist() == [43.0, 11.0, 59.0, 27.0, 43.0]


# (file, index, index dtype, shape the reference returns: reference/format_ophys_behavior.md §2.1)
VBO_CASES = [
    ("behavior_session_table", "behavior_session_id", "int64", (4787, 27)),
    ("ophys_session_table", "ophys_session_id", "Int64", (704, 25)),
    ("ophys_experiment_table", "ophys_experiment_id", "int64", (1941, 29)),
    ("ophys_cells_table", "cell_roi_id", "int64", (133135, 2)),
]


@pytest.mark.parametrize(("name", "index", "index_dtype", "shape"), VBO_CASES)
def test_vbo_real_tables(
    vbo_real: Path, name: str, index: str, index_dtype: str, shape: tuple[int, int]
) -> None:
    schema = VBO_SCHEMAS[name]
    df = read_table(vbo_real / f"{name}.csv.gz", schema)
    assert df.shape == shape
    assert df.index.name == index and str(df.index.dtype) == index_dtype
    assert df.index.is_unique
    for column in df.columns:
        _check_dtype(df[column], schema.spec(column).dtype)
    leading = [c for c in schema.output_order if c in df.columns]
    assert list(df.columns[: len(leading)]) == leading


def test_vbo_documented_transforms(vbo_real: Path) -> None:
    schema = VBO_SCHEMAS["ophys_session_table"]
    df = read_table(vbo_real / "ophys_session_table.csv.gz", schema)
    row = df.loc[951410079]
    assert row["mouse_id"] == "457841"  # string, as the reference reads it
    assert row["driver_line"] == ["Sst-IRES-Cre"]
    assert row["ophys_experiment_id"][:2] == [951980471, 951980473]
    assert all(isinstance(v, int) for v in row["ophys_container_id"])
    assert df["date_of_acquisition"].dtype == UTC_NS  # naive text taken as UTC
    assert row["date_of_acquisition"] == pd.Timestamp("2019-09-20 09:59:38.837", tz="UTC")
    assert df["imaging_plane_group_count"].isna().sum() == 438  # single-plane sessions


def test_vbo_behavior_table_nulls_and_lists(vbo_real: Path) -> None:
    schema = VBO_SCHEMAS["behavior_session_table"]
    df = read_table(vbo_real / "behavior_session_table.csv.gz", schema)
    behavior_only = df["ophys_session_id"].isna()
    assert behavior_only.sum() == 4083
    assert df.loc[behavior_only, "ophys_experiment_id"].isna().all()
    assert df.loc[~behavior_only, "ophys_experiment_id"].map(len).min() >= 1
    assert df["session_number"].dtype == "Int64" and df["session_number"].isna().sum() == 3412
    assert df["mouse_id"].nunique() == 107


def test_vbo_experiment_and_cells_types(vbo_real: Path) -> None:
    exp = read_table(
        vbo_real / "ophys_experiment_table.csv.gz", VBO_SCHEMAS["ophys_experiment_table"]
    )
    assert exp["passive"].dtype == bool and exp["passive"].sum() == 578
    assert exp["imaging_plane_group"].dtype == "Int64"
    assert set(exp["image_set"]) == {"A", "B", "G", "H"}
    cells = read_table(vbo_real / "ophys_cells_table.csv.gz", VBO_SCHEMAS["ophys_cells_table"])
    assert cells["cell_specimen_id"].nunique() == 50482
    assert set(cells["ophys_experiment_id"]) <= set(exp.index)


def test_vbo_reference_mode_equals_default_except_order(vbo_real: Path) -> None:
    schema = VBO_SCHEMAS["ophys_experiment_table"]
    path = vbo_real / "ophys_experiment_table.csv.gz"
    pd.testing.assert_frame_equal(
        read_table(path, schema), read_table(path, schema, reference_compatible=True)
    )
