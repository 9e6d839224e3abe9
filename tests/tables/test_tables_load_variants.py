"""read_table on written tables: round trips, real-file variations and clear errors."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brainobs.errors import InvalidInputError
from brainobs.tables import ColumnSpec, TableSchema, read_table
from brainobs.vbn.schemas import VBN_SCHEMAS

UNITS = VBN_SCHEMAS["units"]
SESSIONS = VBN_SCHEMAS["ecephys_sessions"]


def _write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    lines = [",".join(header), *(",".join(row) for row in rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_written_units_round_trip(tmp_path: Path, units_frame: Callable[..., pd.DataFrame]) -> None:
    frame = units_frame()
    path = tmp_path / "units.csv"
    frame.to_csv(path, index=False)
    df = read_table(path, UNITS)
    expected = frame.set_index("unit_id")
    expected["structure_id"] = expected["structure_id"].astype("Int64")
    pd.testing.assert_frame_equal(df, expected, check_dtype=False)
    assert df["structure_id"].dtype == "Int64" and df["valid_data"].dtype == bool
    ref = read_table(path, UNITS, reference_compatible=True)
    assert ref["structure_id"].dtype == "float64"


def test_units_without_quality_load(
    tmp_path: Path, units_frame: Callable[..., pd.DataFrame]
) -> None:
    path = tmp_path / "units.csv"
    units_frame().drop(columns="quality").to_csv(path, index=False)  # release v0.4.0
    assert "quality" not in read_table(path, UNITS).columns


def test_gzipped_csv(tmp_path: Path, units_frame: Callable[..., pd.DataFrame]) -> None:
    frame = units_frame()
    with gzip.open(tmp_path / "units.csv.gz", "wt") as stream:
        frame.to_csv(stream, index=False)
    assert len(read_table(tmp_path / "units.csv.gz", UNITS)) == len(frame)


def _session_row(**overrides: str) -> list[str]:
    values = {name: "1" for name in SESSIONS.columns}
    values.update(
        date_of_acquisition="2020-08-19 14:47:08.574000+00:00",
        structure_acronyms="\"['CA1', 'DG-mo']\"",
        abnormal_histology="",
        abnormal_activity="",
    )
    values.update(overrides)
    return [values[name] for name in SESSIONS.columns]


def test_list_and_date_parsing(tmp_path: Path) -> None:
    rows = [
        _session_row(ecephys_session_id="1"),
        _session_row(
            ecephys_session_id="2",
            unit_count="",
            abnormal_histology="\"['Thalamus']\"",
            abnormal_activity="[8899]",
            date_of_acquisition="2020-08-20 10:00:00",
        ),
    ]
    path = _write(tmp_path / "ecephys_sessions.csv", list(SESSIONS.columns), rows)
    df = read_table(path, SESSIONS)
    assert df.index.dtype == "Int64"
    assert df.loc[1, "structure_acronyms"] == ["CA1", "DG-mo"]
    assert df.loc[1, "abnormal_histology"] is None and df.loc[2, "abnormal_activity"] == [8899.0]
    assert df.loc[2, "unit_count"] is pd.NA
    assert df["date_of_acquisition"].tolist() == [
        pd.Timestamp("2020-08-19 14:47:08.574", tz="UTC"),
        pd.Timestamp("2020-08-20 10:00", tz="UTC"),
    ]
    ref = read_table(path, SESSIONS, reference_compatible=True)
    assert ref.loc[1, "structure_acronyms"] == "['CA1', 'DG-mo']"
    assert ref.loc[2, "date_of_acquisition"] == "2020-08-20 10:00:00"


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        (["True", "False"], [True, False]),
        (["1.0", "0.0"], [True, False]),
        (["1", "0"], [True, False]),
        (["true", "FALSE"], [True, False]),
    ],
)
def test_boolean_spellings(tmp_path: Path, cells: list[str], expected: list[bool]) -> None:
    schema = VBN_SCHEMAS["channels"]
    rows = [[str(i), *(["1"] * 10), cell] for i, cell in enumerate(cells)]
    path = _write(tmp_path / "channels.csv", list(schema.columns), rows)
    assert read_table(path, schema)["valid_data"].tolist() == expected


def test_integer_variants_and_sentinel(tmp_path: Path) -> None:
    schema = TableSchema(
        "t",
        "t.csv",
        "id",
        (
            ColumnSpec("id", "int64"),
            ColumnSpec("count", "Int64", int_null_sentinel=-99),
            ColumnSpec("n", "int64"),
        ),
        "vbn",
    )
    path = _write(tmp_path / "t.csv", ["id", "count", "n"], [["1", "4.0", "7"], ["2", "-99", ""]])
    df = read_table(path, schema)
    assert df["count"].tolist() == [4, pd.NA] and df["count"].dtype == "Int64"
    assert df["n"].dtype == "Int64"  # an int64 column with a null loads as nullable


def test_missing_and_unknown_columns(
    tmp_path: Path, units_frame: Callable[..., pd.DataFrame]
) -> None:
    frame = units_frame().drop(columns=["snr"]).assign(bogus=1)
    path = tmp_path / "units.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(InvalidInputError) as info:
        read_table(path, UNITS)
    message = str(info.value)
    assert str(path) in message and "missing columns ['snr']" in message
    assert "unknown columns ['bogus']" in message and "Expected the columns" in message


@pytest.mark.parametrize(
    ("column", "bad", "expected"),
    [
        ("local_index", "abc", "an integer"),
        ("local_index", "3.5", "an integer"),
        ("snr", "high", "a number"),
        ("valid_data", "maybe", "True/False"),
        ("valid_data", "", "True/False"),
    ],
)
def test_garbage_cells(
    tmp_path: Path,
    units_frame: Callable[..., pd.DataFrame],
    column: str,
    bad: str,
    expected: str,
) -> None:
    frame = units_frame().astype({column: object})
    frame.loc[5, column] = bad
    path = tmp_path / "units.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(InvalidInputError) as info:
        read_table(path, UNITS)
    message = str(info.value)
    assert str(path) in message and repr(column) in message and expected in message
    assert "line 7" in message  # header is line 1, row 5 is line 7


def test_bad_list_and_date_cells(tmp_path: Path) -> None:
    rows = [_session_row(ecephys_session_id="1", structure_acronyms="[CA1")]
    path = _write(tmp_path / "s.csv", list(SESSIONS.columns), rows)
    with pytest.raises(InvalidInputError, match=r"'structure_acronyms', line 2.*list repr"):
        read_table(path, SESSIONS)
    rows = [_session_row(ecephys_session_id="1", date_of_acquisition="yesterday")]
    path = _write(tmp_path / "s.csv", list(SESSIONS.columns), rows)
    with pytest.raises(InvalidInputError, match=r"'date_of_acquisition', line 2.*ISO 8601"):
        read_table(path, SESSIONS)


def test_empty_and_missing_files(tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(InvalidInputError, match="empty"):
        read_table(tmp_path / "empty.csv", UNITS)
    with pytest.raises(FileNotFoundError, match="units"):
        read_table(tmp_path / "absent.csv", UNITS)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    values=st.lists(st.one_of(st.none(), st.integers(-(2**53), 2**53)), min_size=1, max_size=20),
    acronyms=st.lists(
        st.lists(st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ-abc0123'\" ,", max_size=6), max_size=3),
        min_size=1,
        max_size=20,
    ),
)
def test_nullable_ints_and_lists_round_trip(
    tmp_path: Path, values: list[int | None], acronyms: list[list[str]]
) -> None:
    n = min(len(values), len(acronyms))
    schema = TableSchema(
        "p",
        "p.csv",
        "id",
        (
            ColumnSpec("id", "int64"),
            ColumnSpec("count", "Int64"),
            ColumnSpec("names", "list[str]", "string"),
        ),
        "vbn",
    )
    frame = pd.DataFrame(
        {
            "id": np.arange(n),
            "count": pd.array(values[:n], dtype="Int64"),
            "names": [repr(a) for a in acronyms[:n]],
        }
    )
    path = tmp_path / "p.csv"
    frame.to_csv(path, index=False)
    df = read_table(path, schema)
    assert df["count"].tolist() == frame["count"].tolist()
    assert df["names"].tolist() == acronyms[:n]


def test_header_only_bom_and_crlf(tmp_path: Path) -> None:
    schema = VBN_SCHEMAS["probes"]
    path = tmp_path / "probes.csv"
    path.write_text(",".join(schema.columns) + "\n")
    empty = read_table(path, schema)
    assert empty.shape == (0, 10) and empty["structure_acronyms"].dtype == object
    row = "1,2,probeA,30000.0,2500.0,1.0,False,5,384,\"['CA1', 'VISp']\",-999"
    path.write_bytes(("\ufeff" + ",".join(schema.columns) + "\r\n" + row + "\r\n").encode())
    df = read_table(path, schema)
    assert df.loc[1, "structure_acronyms"] == ["CA1", "VISp"] and not df.loc[1, "has_lfp_data"]
    assert df.loc[1, "file_id"] == -999
