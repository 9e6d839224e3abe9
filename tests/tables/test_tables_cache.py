"""The Parquet cache: warm equals cold, stale and corrupt caches are rebuilt, writes are atomic."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest

import brainobs.tables.cache as cache_module
from brainobs.tables import cache_path, load_table_cached, read_table
from brainobs.vbn.schemas import VBN_SCHEMAS
from brainobs.vbo.schemas import VBO_SCHEMAS


@pytest.fixture
def vbo_sessions(tmp_path: Path, vbo_real: Path) -> Path:
    """Return a writable copy of the real VBO ophys_session_table (lists, dates, Int64 index)."""
    target = tmp_path / "ophys_session_table.csv.gz"
    shutil.copyfile(vbo_real / "ophys_session_table.csv.gz", target)
    return target


def _assert_same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a, b)
    assert a.dtypes.to_dict() == b.dtypes.to_dict() and a.index.dtype == b.index.dtype


@pytest.mark.parametrize("reference_compatible", [False, True])
def test_warm_equals_cold_with_lists_dates_nullable_ints(
    vbo_sessions: Path, reference_compatible: bool
) -> None:
    schema = VBO_SCHEMAS["ophys_session_table"]
    cold = load_table_cached(vbo_sessions, schema, reference_compatible=reference_compatible)
    target = cache_path(vbo_sessions, reference_compatible=reference_compatible)
    assert target.is_file() and target.parent == vbo_sessions.parent
    warm = load_table_cached(vbo_sessions, schema, reference_compatible=reference_compatible)
    _assert_same(cold, warm)
    assert warm.index.dtype == "Int64"
    assert isinstance(warm["ophys_experiment_id"].iloc[0], list)
    assert isinstance(warm["driver_line"].iloc[0][0], str)
    assert warm["date_of_acquisition"].dtype == pd.DatetimeTZDtype("ns", "UTC")
    assert warm["imaging_plane_group_count"].dtype == "Int64"


def test_warm_load_reads_parquet_not_csv(
    vbo_sessions: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    schema = VBO_SCHEMAS["ophys_session_table"]
    load_table_cached(vbo_sessions, schema)

    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("the CSV was parsed on a warm load")

    monkeypatch.setattr(cache_module, "read_table", fail)
    assert len(load_table_cached(vbo_sessions, schema)) == 704


def test_vbn_sessions_with_null_lists(tmp_path: Path) -> None:
    schema = VBN_SCHEMAS["ecephys_sessions"]
    header = ",".join(schema.columns)
    base = {c: "1" for c in schema.columns}
    base |= {"date_of_acquisition": "2020-08-19 14:47:08+00:00", "structure_acronyms": "[]"}
    rows = [
        {**base, "ecephys_session_id": "1", "abnormal_histology": "", "abnormal_activity": ""},
        {**base, "ecephys_session_id": "2", "abnormal_histology": "\"['Thalamus']\""},
    ]
    csv = tmp_path / "ecephys_sessions.csv"
    csv.write_text(header + "\n" + "\n".join(",".join(r[c] for c in schema.columns) for r in rows))
    cold = load_table_cached(csv, schema, tmp_path / "cache")
    warm = load_table_cached(csv, schema, tmp_path / "cache")
    _assert_same(cold, warm)
    assert warm.loc[1, "abnormal_histology"] is None and warm.loc[1, "structure_acronyms"] == []
    assert warm.loc[2, "abnormal_histology"] == ["Thalamus"]
    assert (tmp_path / "cache" / "ecephys_sessions.csv.parquet").is_file()


def test_rebuilt_when_the_csv_changes(units_csv: Path) -> None:
    schema = VBN_SCHEMAS["units"]
    first = load_table_cached(units_csv, schema)
    frame = pd.read_csv(units_csv).head(10)
    frame.to_csv(units_csv, index=False)
    stat = units_csv.stat()
    os.utime(units_csv, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    second = load_table_cached(units_csv, schema)
    assert len(first) == 40 and len(second) == 10
    _assert_same(second, read_table(units_csv, schema))


def test_corrupt_parquet_is_rebuilt(units_csv: Path) -> None:
    schema = VBN_SCHEMAS["units"]
    cold = load_table_cached(units_csv, schema)
    target = cache_path(units_csv)
    data = target.read_bytes()
    target.write_bytes(data[: len(data) // 2])  # truncated: footer (and key) gone
    _assert_same(cold, load_table_cached(units_csv, schema))
    assert pq.read_table(target).num_rows == 40  # rewritten whole


@pytest.mark.parametrize("column", ["snr", "local_index", "structure_acronym"])
def test_parquet_with_matching_key_but_damaged_body_is_rebuilt(
    units_csv: Path, column: str
) -> None:
    schema = VBN_SCHEMAS["units"]
    cold = load_table_cached(units_csv, schema)
    target = cache_path(units_csv)
    meta = pq.ParquetFile(target).metadata
    names = [meta.schema.column(i).name for i in range(meta.num_columns)]
    chunk = meta.row_group(0).column(names.index(column))
    data = bytearray(target.read_bytes())
    at = chunk.data_page_offset + chunk.total_compressed_size // 2
    data[at : at + 8] = bytes(b ^ 0x5A for b in data[at : at + 8])  # footer (key) intact
    target.write_bytes(bytes(data))
    assert cache_module._stored_key(target) == cache_module.cache_key(units_csv, schema)
    with pytest.raises(Exception):  # noqa: B017 - pyarrow raises OSError or ArrowInvalid
        pq.read_table(target, page_checksum_verification=True)
    _assert_same(cold, load_table_cached(units_csv, schema))
    pq.read_table(target, page_checksum_verification=True)  # rewritten whole


def test_other_schema_or_version_does_not_reuse(
    units_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    schema = VBN_SCHEMAS["units"]
    load_table_cached(units_csv, schema)
    key = cache_module.cache_key(units_csv, schema)
    monkeypatch.setattr(cache_module, "SCHEMA_VERSION", 999)
    assert cache_module.cache_key(units_csv, schema) != key
    calls: list[int] = []
    real = cache_module.read_table

    def counting(*args: Any, **kwargs: Any) -> pd.DataFrame:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(cache_module, "read_table", counting)
    load_table_cached(units_csv, schema)
    assert calls == [1]


def test_no_temporary_files_left_and_unwritable_cache_is_not_fatal(
    units_csv: Path, tmp_path: Path
) -> None:
    schema = VBN_SCHEMAS["units"]
    load_table_cached(units_csv, schema)
    assert sorted(p.name for p in units_csv.parent.iterdir()) == ["units.csv", "units.csv.parquet"]
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("a file where the cache folder should be")
    df = load_table_cached(units_csv, schema, blocker / "cache")
    assert len(df) == 40


def test_failed_write_leaves_no_partial_file(
    units_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(cache_module.pq, "write_table", crash)
    df = load_table_cached(units_csv, VBN_SCHEMAS["units"])
    assert len(df) == 40
    assert sorted(p.name for p in units_csv.parent.iterdir()) == ["units.csv"]
