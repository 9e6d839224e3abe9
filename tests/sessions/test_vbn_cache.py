"""The VBN project cache over the sample release: tables, sources, filters, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from brainobs.cli.main import main
from brainobs.errors import OutdatedManifestWarning
from brainobs.sample import SampleRelease
from brainobs.storage.hashing import blake2b_file
from brainobs.vbn.cache import VisualBehaviorNeuropixelsProjectCache as Cache
from brainobs.vbn.schemas import VBN_SCHEMAS
from tests.support.s3 import publish_release

TABLES = {
    "ecephys_sessions": lambda c: c.get_ecephys_session_table(filter_abnormalities=False),
    "behavior_sessions": lambda c: c.get_behavior_session_table(),
    "probes": lambda c: c.get_probe_table(),
    "channels": lambda c: c.get_channel_table(filter_by_validity=False),
    "units": lambda c: c.get_unit_table(),
}


@pytest.fixture(scope="module")
def cache(vbn_release: SampleRelease, tmp_path_factory: pytest.TempPathFactory) -> Cache:
    return Cache.from_source(str(vbn_release.root), tmp_path_factory.mktemp("vbn_cache"))


@pytest.mark.parametrize("name", list(TABLES))
def test_tables_have_the_reference_index_and_columns(cache: Cache, name: str) -> None:
    table = TABLES[name](cache)
    schema = VBN_SCHEMAS[name]
    assert table.index.name == schema.index
    assert list(table.columns) == [c for c in schema.columns if c in table.columns]
    raw = pd.read_csv(cache.fetch_api.metadata_path(name))
    assert len(table) == len(raw)
    assert table.index.is_unique


def test_list_columns_are_lists_and_dates_are_tz_aware(cache: Cache) -> None:
    sessions = cache.get_ecephys_session_table()
    assert isinstance(sessions["structure_acronyms"].iloc[0], list)
    assert "VISp" in sessions["structure_acronyms"].iloc[0]
    assert str(sessions["date_of_acquisition"].dt.tz) == "UTC"


def test_manifest_methods(cache: Cache) -> None:
    names = cache.list_manifest_file_names()
    assert [n[-12:] for n in names] == ["_v0.4.0.json", "_v0.5.0.json"]
    assert cache.current_manifest() == cache.latest_manifest_file() == names[1]
    assert cache.compare_manifests("0.5.0", "0.5.0") == "The two manifests are equivalent"
    assert cache.compare_manifests(names[0], names[1]) == cache.compare_manifests("0.4.0", "0.5.0")
    lines = cache.compare_manifests(names[0], names[1]).splitlines()
    assert lines[:5] == ["Changes going from", names[0], "to", names[1], ""]
    assert lines[5] == "project_metadata/units.csv changed"  # metadata first, then data
    assert all(line.endswith(".nwb changed") for line in lines[6:]) and len(lines) == 7
    assert cache.latest_downloaded_manifest_file() == names[1]
    assert names[1] in cache.list_all_downloaded_manifests()
    assert len(repr(cache.manifest)) < 200 and cache.manifest.name == names[1]


def test_an_earlier_manifest_serves_its_own_files(
    vbn_release: SampleRelease, tmp_path: Path
) -> None:
    fresh = Cache.from_source(str(vbn_release.root), tmp_path / "cache")
    latest = fresh.get_unit_table()
    with pytest.warns(OutdatedManifestWarning):
        assert fresh.load_manifest("0.4.0").manifest_version == "0.4.0"
    earlier = fresh.get_unit_table()
    assert "quality" in latest.columns and "quality" not in earlier.columns
    ratio = (earlier["amplitude"] / latest["amplitude"]).round(6)
    assert set(ratio.unique()) == {1.0, 2.0}  # one recording's amplitudes were 2x off
    assert fresh.list_all_downloaded_manifests() == fresh.list_manifest_file_names()
    assert fresh.load_latest_manifest().manifest_version == "0.5.0"
    assert fresh.get_unit_table().equals(latest)


def test_construct_local_manifest_records_every_cached_file(
    vbn_release: SampleRelease, tmp_path: Path
) -> None:
    fresh = Cache.from_source(str(vbn_release.root), tmp_path / "cache")
    fresh.get_probe_table()
    record = tmp_path / "cache" / "_downloaded_data.json"
    record.unlink()
    fresh.construct_local_manifest()
    recorded = json.loads(record.read_text())
    probes_csv = fresh.fetch_api.metadata_path("probes")
    assert recorded == {str(probes_csv.absolute()): blake2b_file(probes_csv)}


def test_unit_quality_filters(cache: Cache) -> None:
    units = cache.get_unit_table()
    good = cache.get_unit_table(amplitude_cutoff_maximum=0.1, presence_ratio_minimum=0.95)
    expected = units[(units["amplitude_cutoff"] <= 0.1) & (units["presence_ratio"] >= 0.95)]
    assert good.index.equals(expected.index)
    assert 0 < len(good) < len(units)
    valid = cache.get_unit_table(filter_by_validity=True)
    assert "quality" not in valid.columns and len(valid) < len(units)


def test_channel_table_has_every_channel_unless_asked(cache: Cache) -> None:
    everything = cache.get_channel_table()
    assert "valid_data" in everything.columns
    assert everything.equals(cache.get_channel_table(filter_by_validity=False))
    valid = cache.get_channel_table(filter_by_validity=True)
    assert len(valid) == int(everything["valid_data"].sum()) < len(everything)


def test_warm_load_reads_parquet(cache: Cache) -> None:
    cache.get_unit_table()
    parquet = list((cache.fetch_api.cache_dir / ".tables").rglob("units.csv.parquet"))
    assert len(parquet) == 1


def test_static_local_and_s3_give_identical_tables(
    cache: Cache, vbn_release: SampleRelease, s3_endpoint: str, tmp_path: Path
) -> None:
    static = Cache.from_local_cache(vbn_release.root, use_static_cache=True)
    offline = Cache.from_local_cache(cache.fetch_api.cache_dir)
    publish_release(s3_endpoint, "sample-vbn", vbn_release.root)
    s3 = Cache.from_s3_cache(
        tmp_path / "s3", bucket_name_override="sample-vbn", endpoint=s3_endpoint
    )
    for name, get in TABLES.items():
        reference = get(cache)
        for other in (static, offline, s3):
            pd.testing.assert_frame_equal(get(other), reference, obj=name)


def test_sessions_command(
    cache: Cache, vbn_release: SampleRelease, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--source", str(vbn_release.root), "--cache-dir", str(cache.fetch_api.cache_dir)]
    assert main(["sessions", "vbn", *args]) == 0
    out = capsys.readouterr().out
    first = str(cache.get_ecephys_session_table().index[0])
    assert first in out and "rows x" in out
    target = tmp_path / "novel.csv"
    query = "experience_level == 'Novel'"
    assert main(["sessions", "vbn", "--filter", query, "-o", str(target), *args]) == 0
    written = pd.read_csv(target)
    assert set(written["experience_level"]) == {"Novel"}
    assert main(["sessions", "vbn", "--filter", "no_such_column > 1", *args]) == 1
    assert "no_such_column" in capsys.readouterr().err


def test_download_of_a_row_without_file_says_so(
    cache: Cache, vbn_release: SampleRelease, capsys: pytest.CaptureFixture[str]
) -> None:
    behavior = cache.get_behavior_session_table()
    inside_ecephys_file = int(behavior.index[behavior["file_id"] < 0][0])
    args = ["--source", str(vbn_release.root), "--cache-dir", str(cache.fetch_api.cache_dir)]
    assert main(["download", "vbn", str(inside_ecephys_file), *args]) == 1
    assert "has no file of its own" in capsys.readouterr().err


def test_a_pickled_cache_leaves_its_loaded_tables_behind(cache) -> None:
    import pickle

    units = cache.get_unit_table()
    assert cache._tables  # loaded once, kept for the next call
    size = len(pickle.dumps(cache))
    clone = pickle.loads(pickle.dumps(cache))
    assert clone._tables == {} and size < 100_000
    pd.testing.assert_frame_equal(clone.get_unit_table(), units)
