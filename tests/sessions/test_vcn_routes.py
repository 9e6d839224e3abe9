"""Every route to the VCN release: the warehouse's RMA queries (paged), the bucket's tree on S3
(endpoint and environment override, streaming), an existing folder; and the checks that stand
in for the hashes the release does not publish (size, S3 ETag, HDF5 end of file)."""

from __future__ import annotations

import math
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from brainobs import EcephysProjectCache
from brainobs.config import TransferSettings
from brainobs.errors import BrainobsError, FileNotInCacheError, SourceError
from brainobs.storage.hdf5_eof import file_truncation_problem
from brainobs.storage.remote import RemoteObject
from brainobs.vcn.sample_release import CACHE_PREFIX, VcnSampleRelease
from brainobs.vcn.schemas import VCN_SCHEMAS
from tests.support.range_server import Fault
from tests.support.rma_server import WarehouseServer
from tests.support.s3 import publish_release

TABLES = ("sessions", "probes", "channels", "units")
PAGE = 40  # rows per RMA page: the sample's tables need several pages


@pytest.fixture(scope="module")
def warehouse(vcn_release: VcnSampleRelease) -> Iterator[WarehouseServer]:
    with WarehouseServer(vcn_release) as server:
        yield server


def _from_warehouse(server: WarehouseServer, folder: Path) -> EcephysProjectCache:
    return EcephysProjectCache.from_warehouse(
        scheme="http", host=server.host, manifest=folder / "manifest.json", page_size=PAGE
    )


def _first_session(release: VcnSampleRelease) -> tuple[int, int]:
    """Return (session id, an LFP probe id) of the first session."""
    probes = pd.read_csv(release.metadata_path("probes"), index_col="id")
    sid = int(probes["ecephys_session_id"].iloc[0])
    lfp = probes[(probes["ecephys_session_id"] == sid) & probes["has_lfp_data"]]
    return sid, int(lfp.index[0])


@pytest.mark.parametrize("name", TABLES)
def test_warehouse_tables_equal_the_release_and_are_paged(
    warehouse: WarehouseServer, vcn_release: VcnSampleRelease, tmp_path: Path, name: str
) -> None:
    cache = _from_warehouse(warehouse, tmp_path)
    warehouse.reset()
    built = cache._table(name)
    expected = pd.read_csv(vcn_release.metadata_path(name), index_col="id")
    rows = len(expected)
    model = {"sessions": "EcephysSession", "probes": "EcephysProbe",
             "channels": "EcephysChannel", "units": "EcephysUnit"}[name]  # fmt: skip
    assert warehouse.model_requests()[model] == math.ceil(rows / PAGE) > 1 or rows <= PAGE
    written = pd.read_csv(cache.tree.folder / f"{name}.csv", index_col="id")
    assert list(written.columns) == list(expected.columns)
    pd.testing.assert_frame_equal(written.sort_index(), expected.sort_index(), check_like=False)
    assert list(built.columns) == [c for c in VCN_SCHEMAS[name].columns if c != "id"]


def test_warehouse_metrics_are_unswapped(
    warehouse: WarehouseServer, vcn_release: VcnSampleRelease, tmp_path: Path
) -> None:
    cache = _from_warehouse(warehouse, tmp_path)
    bundle = warehouse.data.metric_records({"brain_observatory_1.1"}, set())[0]["data"]
    assert '"p_value_rf": false' in bundle or '"p_value_rf": true' in bundle  # served swapped
    metrics = cache.get_unit_analysis_metrics_by_session_type(
        "brain_observatory_1.1", annotate=False
    )
    name = "brain_observatory_1.1_analysis_metrics"
    expected = pd.read_csv(vcn_release.metadata_path(name), index_col="ecephys_unit_id")
    pd.testing.assert_frame_equal(
        metrics.sort_index(), expected.sort_index(), check_dtype=False, check_index_type=False
    )
    assert metrics["on_screen_rf"].dtype == bool


def test_warehouse_session_and_lfp_download_checked(
    warehouse: WarehouseServer, vcn_release: VcnSampleRelease, tmp_path: Path
) -> None:
    cache = _from_warehouse(warehouse, tmp_path)
    sid, probe = _first_session(vcn_release)
    session = cache.get_session_data(sid)
    assert session.ecephys_session_id == sid and len(session.units) > 0
    assert session.get_lfp(probe).shape[1] > 0
    local = cache.tree.folder / f"session_{sid}" / f"session_{sid}.nwb"
    assert local.read_bytes() == vcn_release.session_nwb_path(sid).read_bytes()
    assert cache.tree.is_cached(f"session_{sid}/session_{sid}.nwb")
    wkf = [q for q in warehouse.queries if "WellKnownFile" in q]
    assert any("EcephysNwb" in q and f"attachable_id$eq{sid}" in q for q in wkf)
    assert any("EcephysLfpNwb" in q and f"attachable_id$eq{probe}" in q for q in wkf)


def test_truncated_warehouse_download_is_never_published(
    warehouse: WarehouseServer, vcn_release: VcnSampleRelease, tmp_path: Path
) -> None:
    """A server cutting the file short and lying about its length: the HDF5 end-of-file check
    refuses it, and nothing is left at the final path."""
    cache = _from_warehouse(warehouse, tmp_path)
    sid, _ = _first_session(vcn_release)
    key = f"{CACHE_PREFIX}/session_{sid}/session_{sid}.nwb"
    relative = f"session_{sid}/session_{sid}.nwb"
    remote = cache.tree.source.locate(relative)  # the size is asked before the faults
    cache.tree.source._located[relative] = type(remote)(remote.fetcher, remote.key, None)
    warehouse.inject(key, Fault("truncate", times=2, after=100_000))
    with pytest.raises(BrainobsError, match="truncated download"):
        cache.get_session_data(sid)
    assert not (cache.tree.folder / relative).exists()
    session = cache.get_session_data(sid)  # the server behaves again
    assert session.num_units > 0


def test_interrupted_download_resumes_and_only_a_whole_file_is_trusted(
    warehouse: WarehouseServer, vcn_release: VcnSampleRelease, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("BRAINOBS_RETRIES", "0")
    cache = _from_warehouse(warehouse, tmp_path)
    cache.tree.settings = TransferSettings.from_env()
    sid, _ = _first_session(vcn_release)
    relative = f"session_{sid}/session_{sid}.nwb"
    cache.tree.source.locate(relative)  # asks the size first (a ranged GET of one byte)
    warehouse.inject(f"{CACHE_PREFIX}/{relative}", Fault("drop", after=300_000))
    with pytest.raises(BrainobsError):
        cache.tree.fetch(relative)
    part = cache.tree.folder / (relative + ".part")
    assert not (cache.tree.folder / relative).exists() and part.stat().st_size == 300_000
    warehouse.reset()
    cache.tree.fetch(relative)
    assert (cache.tree.folder / relative).read_bytes() == vcn_release.session_nwb_path(
        sid
    ).read_bytes()
    requests = [r for k, r in warehouse.state.requests if k.endswith(relative)]
    assert "bytes=300000-" in requests  # resumed, not restarted


# --- the bucket's tree on S3 ---------------------------------------------------------------
@pytest.fixture(scope="module")
def s3_tree(vcn_release: VcnSampleRelease, s3_endpoint: str) -> str:
    """The moto endpoint with the sample in the release's own bucket name."""
    publish_release(s3_endpoint, "allen-brain-observatory", vcn_release.root)
    return s3_endpoint


def test_s3_route_with_endpoint_and_environment(
    s3_tree: str, vcn_release: VcnSampleRelease, tmp_path: Path, monkeypatch
) -> None:
    cache = EcephysProjectCache.from_s3_cache(tmp_path / "a", endpoint=s3_tree)
    assert len(cache.get_units()) > 0
    record = cache.tree.record()
    assert record["units.csv"]["md5"] == vcn_release.files()[f"{CACHE_PREFIX}/units.csv"]["md5"]
    monkeypatch.setenv("BRAINOBS_S3_ENDPOINT", s3_tree)
    again = EcephysProjectCache.from_s3_cache(tmp_path / "b")
    assert again.get_session_table().equals(cache.get_session_table())


def test_s3_stream_reads_byte_ranges(
    s3_tree: str, vcn_release: VcnSampleRelease, tmp_path: Path
) -> None:
    cache = EcephysProjectCache.from_s3_cache(tmp_path, endpoint=s3_tree)
    sid, probe = _first_session(vcn_release)
    session = cache.get_session_data(sid, stream=True)
    assert isinstance(session._file.source.remote, RemoteObject)
    spikes = session.get_spike_times(session.units.index[:2])
    lfp = session.get_lfp(probe).isel(time=slice(0, 100)).values
    assert len(spikes) == 2 and lfp.shape[0] == 100
    assert not (cache.tree.folder / f"session_{sid}" / f"session_{sid}.nwb").exists()
    transferred = session._file.bytes_transferred
    assert 0 < transferred < vcn_release.session_nwb_path(sid).stat().st_size


def test_s3_etag_md5_catches_a_changed_copy(
    s3_tree: str, vcn_release: VcnSampleRelease, tmp_path: Path
) -> None:
    cache = EcephysProjectCache.from_s3_cache(tmp_path, endpoint=s3_tree)
    path = cache.tree.fetch("probes.csv")
    body = bytearray(path.read_bytes())
    body[-3] = ord("9") if body[-3] != ord("9") else ord("8")  # same size, other bytes
    path.write_bytes(bytes(body))
    (cache.tree.folder / ".brainobs-verified.json").unlink()
    assert "MD5" in str(cache.tree.check("probes.csv").problem)
    cache.tree.fetch("probes.csv")  # moved aside, fetched again
    assert path.read_bytes() == vcn_release.metadata_path("probes").read_bytes()
    assert list((cache.tree.folder / "_quarantine").rglob("probes.csv"))


# --- existing folders and the end-of-file check ---------------------------------------------
def _copy_tree(release: VcnSampleRelease, folder: Path) -> Path:
    shutil.copytree(release.cache_dir, folder)
    return folder / "manifest.json"


def test_fixed_cache_reads_an_existing_folder_offline(
    vcn_release: VcnSampleRelease, tmp_path: Path
) -> None:
    manifest = _copy_tree(vcn_release, tmp_path / "tree")
    cache = EcephysProjectCache.fixed(manifest=manifest)
    assert cache.tree.source is None and len(cache.get_units()) > 0
    sid, _ = _first_session(vcn_release)
    assert cache.get_session_data(sid).num_units > 0
    assert f"session_{sid}/session_{sid}.nwb" in cache.tree.record()  # checked, then recorded
    same = EcephysProjectCache.from_local_cache(tmp_path / "tree")
    assert same.tree.folder == cache.tree.folder


def test_truncated_nwb_is_found_before_it_is_read(
    vcn_release: VcnSampleRelease, tmp_path: Path
) -> None:
    manifest = _copy_tree(vcn_release, tmp_path / "tree")
    sid, _ = _first_session(vcn_release)
    path = manifest.parent / f"session_{sid}" / f"session_{sid}.nwb"
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) - 4096])
    assert "superblock says it ends at byte" in str(file_truncation_problem(path))
    cache = EcephysProjectCache.fixed(manifest=manifest)
    with pytest.raises(FileNotInCacheError):
        cache.get_session_data(sid)
    moved = list((manifest.parent / "_quarantine").rglob(path.name))
    assert len(moved) == 1 and moved[0].stat().st_size == len(whole) - 4096


def test_existing_folder_filled_from_a_source_repairs_a_truncated_file(
    vcn_release: VcnSampleRelease, tmp_path: Path
) -> None:
    manifest = _copy_tree(vcn_release, tmp_path / "tree")
    sid, _ = _first_session(vcn_release)
    path = manifest.parent / f"session_{sid}" / f"session_{sid}.nwb"
    path.write_bytes(path.read_bytes()[:50_000])
    results = EcephysProjectCache.fixed(manifest=manifest).tree.verify()
    bad = [r for r in results if r.status == "corrupt"]
    assert [r.path for r in bad] == [path] and "truncated" in bad[0].detail
    from brainobs.storage.local import LocalFetcher
    from brainobs.storage.tree_sources import BucketSource

    source = BucketSource(LocalFetcher(vcn_release.root), CACHE_PREFIX)
    cache = EcephysProjectCache(source, manifest=manifest)
    repaired = cache.tree.verify(repair=True)
    assert [r.status for r in repaired if r.path == path] == ["repaired"]
    assert path.read_bytes() == vcn_release.session_nwb_path(sid).read_bytes()


def test_a_stream_of_a_truncated_remote_file_is_refused(
    vcn_release: VcnSampleRelease, tmp_path: Path
) -> None:
    bucket = tmp_path / "bucket"
    shutil.copytree(
        vcn_release.root / "visual-coding-neuropixels", bucket / "visual-coding-neuropixels"
    )
    sid, _ = _first_session(vcn_release)
    nwb = bucket / CACHE_PREFIX / f"session_{sid}" / f"session_{sid}.nwb"
    nwb.write_bytes(nwb.read_bytes()[:-10])
    cache = EcephysProjectCache.from_source(str(bucket), tmp_path / "cache")
    with pytest.raises(SourceError, match="not whole"):
        cache.get_session_data(sid, stream=True)
    assert np.isfinite(cache.get_session_table()["unit_count"]).all()
