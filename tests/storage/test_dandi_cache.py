"""VBN from the loopback DANDI archive: the sample laid out as dandiset 000713, sessions opened
from it (downloaded and streamed) equal the same sessions from the S3 route, files shared
between the routes, and bad input."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd
import pytest

from brainobs import releases
from brainobs.errors import HashMismatchError, InvalidInputError, UnknownIdError
from brainobs.releases import VBN, VCN
from brainobs.sample import SampleRelease
from brainobs.sample.dandiset import SampleDandiset, write_dandiset, write_sample_dandiset
from brainobs.storage.cache import FetchAction
from brainobs.storage.dandi import DandiAsset, DandiListing
from brainobs.storage.dandi_cache import DandiReleaseCache, dandiset_versions, open_dandi_cache
from brainobs.storage.local import LocalFetcher
from brainobs.storage.sources import make_fetcher, make_release_cache
from brainobs.vbn.cache import VisualBehaviorNeuropixelsProjectCache as Cache
from brainobs.vbn.dandi import VBN_ON_DANDI
from tests.support.dandi_server import DandiServer
from tests.support.s3 import publish_release

BUCKET = "vbn-dandi"  # moto keeps buckets process-wide: this module's own
REAL = Path(__file__).resolve().parents[1] / "data" / "real"


@pytest.fixture(scope="module")
def vbn_dandiset(
    vbn_release: SampleRelease, tmp_path_factory: pytest.TempPathFactory
) -> SampleDandiset:
    """The sample's NWB files laid out as dandiset 000713 (not changed by tests)."""
    (dandiset,) = write_sample_dandiset("vbn", vbn_release, tmp_path_factory.mktemp("dandi"))
    return dandiset


@pytest.fixture(scope="module")
def archive(vbn_dandiset: SampleDandiset) -> Iterator[DandiServer]:
    with DandiServer(vbn_dandiset.root) as server:
        yield server


@pytest.fixture(scope="module")
def bucket(vbn_release: SampleRelease, s3_endpoint: str) -> str:
    """The moto endpoint, with the sample release in bucket ``vbn-dandi``."""
    publish_release(s3_endpoint, BUCKET, vbn_release.root)
    return s3_endpoint


def _from_dandi(
    cache_dir: Path, server: DandiServer, metadata: str, endpoint: str | None = None
) -> Cache:
    return Cache.from_dandi(cache_dir, "draft", metadata_source=metadata, endpoint=endpoint,
                            api=server.api_url, show_progress=False)  # fmt: skip


def _from_s3(cache_dir: Path, endpoint: str) -> Cache:
    return Cache.from_s3_cache(cache_dir, bucket_name_override=BUCKET, endpoint=endpoint,
                               show_progress=False)  # fmt: skip


def _session_ids(cache: Cache) -> tuple[int, int, int]:
    """Return an ecephys session with LFP, one of its LFP probes, and a behavior-only session."""
    probes = cache.get_probe_table()
    with_lfp = probes[probes["file_id"] >= 0]
    behavior = cache.get_behavior_session_table()
    behavior_only = behavior[behavior["file_id"] >= 0].index[-1]
    return int(with_lfp["ecephys_session_id"].iloc[0]), int(with_lfp.index[0]), int(behavior_only)


# --- the mapping ---------------------------------------------------------------------------------
def test_every_sample_file_is_found_on_the_sample_dandiset(
    vbn_release: SampleRelease, archive: DandiServer, tmp_path: Path
) -> None:
    cache = _from_dandi(tmp_path, archive, str(vbn_release.root)).fetch_api
    assert isinstance(cache, DandiReleaseCache)
    located = {fid: loc.path for fid, loc in cache.locations().items()}
    placed = VBN_ON_DANDI.asset_paths(vbn_release.metadata_path)
    assert set(located) == set(vbn_release.manifest.data_files) == set(placed)
    assert located == {fid: path for fid, (_, path) in placed.items()}
    assert len(set(located.values())) == len(located)


def _real_tables(folder: Path) -> dict[str, Path]:
    """Mouse 533537's real behavior_sessions rows, and ecephys/probe rows built from them.

    The ecephys rows take their dates from the behavior rows of the same sessions; their file
    ids and the probes' file ids are made up (the real tables are not in tests/data).
    """
    behavior = pd.read_csv(REAL / "vbn_tables" / "vbn_behavior_sessions_mouse533537.csv")
    recorded = behavior[behavior["file_id"] < 0]
    ecephys = pd.DataFrame({
        "ecephys_session_id": recorded["ecephys_session_id"].astype(int).to_numpy(),
        "mouse_id": 533537,
        "date_of_acquisition": recorded["date_of_acquisition"].to_numpy(),
        "file_id": [9001, 9002],
    })  # fmt: skip
    paths = (REAL / "dandi" / "dandiset_000713_sub-533537_paths.txt").read_text().split()
    probe_ids = sorted(int(p.split("_probe-")[1].split("_")[0]) for p in paths if "_probe-" in p)
    probes = pd.DataFrame({
        "ecephys_probe_id": probe_ids,
        "ecephys_session_id": [ecephys["ecephys_session_id"][i // 6] for i in range(12)],
        "file_id": range(9101, 9113),
    })  # fmt: skip
    out = {"behavior_sessions": REAL / "vbn_tables" / "vbn_behavior_sessions_mouse533537.csv"}
    for name, table in (("ecephys_sessions", ecephys), ("probes", probes)):
        out[name] = folder / f"{name}.csv"
        table.to_csv(out[name], index=False)
    return out


def test_vbn_mapping_names_files_as_the_real_dandiset_does(tmp_path: Path) -> None:
    """Mouse 533537 of the real release against its real asset paths in 000713."""
    tables = _real_tables(tmp_path)
    paths = (REAL / "dandi" / "dandiset_000713_sub-533537_paths.txt").read_text().split()
    assets = {p: DandiAsset(f"{i:08d}-0000-4000-8000-000000000000", p, 1, "0" * 64)
              for i, p in enumerate(paths)}  # fmt: skip
    listing = DandiListing("000713", "0.240702.1725", "", assets)
    located = VBN_ON_DANDI.locate(tables.__getitem__, {"000713": listing})
    assert len(located) == 54 and all(loc.path for loc in located.values())
    assert sorted(loc.path for loc in located.values()) == sorted(paths)  # type: ignore[type-var]
    # behavior session 1041490591 (file 2232), acquired 2020-08-07 12:50:42.917 UTC
    assert located["2232"].path == "sub-533537/sub-533537_ses-20200807T125042_image.nwb"
    # ecephys session 1055221968, acquired 2020-10-07 14:01:41.373 UTC
    assert located["9001"].path == "sub-533537/sub-533537_ses-20201007T210141.nwb"
    assert (
        located["9001"].what == "ecephys session 1055221968 (mouse 533537, 2020-10-07 14:01:41 UTC)"
    )
    named = {path for _, path in VBN_ON_DANDI.asset_paths(tables.__getitem__).values()}
    assert named == set(paths), "the sample is laid out under the real names"


# --- sessions, downloaded and streamed, equal the S3 route -------------------------------------
def _assert_same_ecephys(a, b, probe_id: int) -> None:  # type: ignore[no-untyped-def]
    pd.testing.assert_frame_equal(a.get_units(), b.get_units())
    assert a.spike_times.keys() == b.spike_times.keys()
    for unit, times in a.spike_times.items():
        np.testing.assert_array_equal(times, b.spike_times[unit])
    pd.testing.assert_frame_equal(a.trials, b.trials)
    pd.testing.assert_frame_equal(a.stimulus_presentations, b.stimulus_presentations)
    pd.testing.assert_frame_equal(a.optotagging_table, b.optotagging_table)
    lfp_a, lfp_b = a.get_lfp(probe_id), b.get_lfp(probe_id)
    np.testing.assert_array_equal(lfp_a.values, lfp_b.values)
    np.testing.assert_array_equal(lfp_a["time"].values, lfp_b["time"].values)


@pytest.mark.parametrize("stream", [False, True], ids=["downloaded", "streamed"])
def test_sessions_from_dandi_equal_the_s3_route(
    stream: bool, archive: DandiServer, bucket: str, tmp_path: Path
) -> None:
    from_dandi = _from_dandi(tmp_path / "dandi", archive, f"s3://{BUCKET}", bucket)
    from_s3 = _from_s3(tmp_path / "s3", bucket)
    session_id, probe_id, behavior_id = _session_ids(from_s3)
    archive.reset()
    _assert_same_ecephys(
        from_dandi.get_ecephys_session(session_id, stream=stream),
        from_s3.get_ecephys_session(session_id, stream=stream),
        probe_id,
    )
    pd.testing.assert_frame_equal(
        from_dandi.get_behavior_session(behavior_id, stream=stream).trials,
        from_s3.get_behavior_session(behavior_id, stream=stream).trials,
    )
    blob_reads = [r for k, r in archive.state.requests if k.startswith("blobs/")]
    stored = list((tmp_path / "dandi" / "dandi" / "sha256").rglob("*.nwb"))
    if stream:
        assert stored == [] and blob_reads and all(r and r.startswith("bytes=") for r in blob_reads)
    else:
        assert len(stored) == 3 and len(blob_reads) == 3  # session, LFP, behavior-only


def test_a_dandi_download_is_reused_by_the_bucket_route(
    archive: DandiServer, bucket: str, tmp_path: Path
) -> None:
    from_dandi = _from_dandi(tmp_path, archive, f"s3://{BUCKET}", bucket)
    session_id, _, _ = _session_ids(from_dandi)
    file_id = from_dandi.get_ecephys_session_table().loc[session_id, "file_id"]
    stored = from_dandi.fetch_api.data_path(file_id)
    assert stored.parent.parent.name == "sha256"
    from_s3 = _from_s3(tmp_path, bucket)
    entry = from_s3.fetch_api.manifest.data_file(file_id)
    assert from_s3.fetch_api.plan(entry) is FetchAction.REUSE
    assert from_s3.fetch_api.fetch(entry).stat().st_ino == stored.stat().st_ino


def test_a_bucket_download_is_reused_by_the_dandi_route(
    archive: DandiServer, bucket: str, tmp_path: Path
) -> None:
    from_s3 = _from_s3(tmp_path, bucket)
    session_id, _, _ = _session_ids(from_s3)
    file_id = from_s3.get_ecephys_session_table().loc[session_id, "file_id"]
    local = from_s3.fetch_api.data_path(file_id)
    archive.reset()
    from_dandi = _from_dandi(tmp_path, archive, f"s3://{BUCKET}", bucket)
    stored = from_dandi.fetch_api.data_path(file_id)
    assert stored != local and stored.stat().st_ino == local.stat().st_ino
    assert not [k for k, _ in archive.state.requests if k.startswith("blobs/")], "no download"


# --- a changing or broken archive ----------------------------------------------------------------
@pytest.fixture
def own_archive(vbn_release: SampleRelease, tmp_path: Path) -> Iterator[DandiServer]:
    """A dandiset of the sample that a test may change, served on its own port."""
    (dandiset,) = write_sample_dandiset("vbn", vbn_release, tmp_path / "archive")
    with DandiServer(dandiset.root) as server:
        yield server


def test_a_wrong_digest_is_never_cached(
    vbn_release: SampleRelease, own_archive: DandiServer, tmp_path: Path
) -> None:
    sessions = pd.read_csv(vbn_release.metadata_path("ecephys_sessions"), index_col=0)
    session_id = int(sessions.index[0])
    _, path = VBN_ON_DANDI.asset_paths(vbn_release.metadata_path)[
        str(sessions.loc[session_id, "file_id"])
    ]
    right = hashlib.sha256(vbn_release.data_path(sessions.loc[session_id, "file_id"]).read_bytes())
    own_archive.set_draft_digest("000713", path, hashlib.sha256(b"other").hexdigest())
    cache = _from_dandi(tmp_path / "c", own_archive, str(vbn_release.root))
    with pytest.raises(HashMismatchError, match="SHA-256"):
        cache.get_ecephys_session(session_id)
    nwb = [p for p in (tmp_path / "c").rglob("*") if p.suffix in (".nwb", ".part")]
    assert nwb == [], "nothing of the damaged download is kept"
    own_archive.set_draft_digest("000713", path, right.hexdigest())
    fresh = _from_dandi(tmp_path / "c", own_archive, str(vbn_release.root))
    assert len(fresh.get_ecephys_session(session_id).get_units()) > 0


def test_a_draft_changed_under_a_cached_listing_is_listed_again(
    vbn_release: SampleRelease, own_archive: DandiServer, tmp_path: Path
) -> None:
    cache = _from_dandi(tmp_path, own_archive, str(vbn_release.root)).fetch_api
    assert isinstance(cache, DandiReleaseCache)
    # two behavior-only files (small): the first asset is replaced by the second's bytes
    files = cache.locations().items()
    behavior = sorted(fid for fid, loc in files if (loc.path or "").endswith("_image.nwb"))
    first, other = cache.location(behavior[0]), cache.location(behavior[1])
    assert first.path and other.path
    before = cache.data_path(behavior[0]).read_bytes()
    new_bytes = vbn_release.data_path(other.file_id).read_bytes()
    own_archive.replace_draft_asset("000713", first.path, new_bytes)
    again = _from_dandi(tmp_path, own_archive, str(vbn_release.root)).fetch_api
    assert again.data_path(behavior[0]).read_bytes() == new_bytes != before
    assert len(own_archive.api_requests("versions/draft/assets/")) == 2


def test_a_session_without_an_asset_says_what_was_sought(
    vbn_release: SampleRelease, tmp_path: Path
) -> None:
    placed = VBN_ON_DANDI.asset_paths(vbn_release.metadata_path)
    sessions = pd.read_csv(vbn_release.metadata_path("ecephys_sessions"), index_col=0)
    missing_session = int(sessions.index[0])
    missing_file = str(int(sessions.loc[missing_session, "file_id"]))
    files = {path: vbn_release.data_path(fid) for fid, (_, path) in placed.items()
             if fid != missing_file}  # fmt: skip
    dandiset = write_dandiset(files, tmp_path / "archive", "000713")
    with DandiServer(dandiset.root) as server:
        cache = _from_dandi(tmp_path / "c", server, str(vbn_release.root))
        mouse = sessions.loc[missing_session, "mouse_id"]
        with pytest.raises(UnknownIdError, match=rf"ecephys session {missing_session} \(mouse "
                           rf"{mouse}.*has no asset in DANDI dandiset 000713 draft.*"
                           rf"sub-{mouse}/sub-{mouse}_ses-\d{{8}}T\d{{6}}\*\.nwb"):  # fmt: skip
            cache.get_ecephys_session(missing_session)
        with pytest.raises(UnknownIdError, match="no ecephys session with id 12345"):
            cache.get_ecephys_session(12345)


def test_an_unknown_dandiset_version_is_a_clear_error(
    vbn_release: SampleRelease, archive: DandiServer, tmp_path: Path
) -> None:
    cache = Cache.from_dandi(tmp_path, "0.111111.1111", metadata_source=str(vbn_release.root),
                             api=archive.api_url, show_progress=False)  # fmt: skip
    session_id = int(cache.get_ecephys_session_table().index[0])
    with pytest.raises(UnknownIdError, match=r"no version '0.111111.1111'.*draft, 0.240702.1725"):
        cache.get_ecephys_session(session_id)


# --- choosing the source -------------------------------------------------------------------------
def test_dandi_cannot_stand_in_for_the_bucket() -> None:
    with pytest.raises(InvalidInputError, match="manifests and metadata tables"):
        make_fetcher(VBN, "dandi")
    with pytest.raises(InvalidInputError, match="DANDI source only"):
        make_release_cache(VBN, "s3", Path("/nonexistent"), dandiset_version="draft")
    with pytest.raises(InvalidInputError, match="DANDI source only"):
        Cache.from_source("s3", Path("/nonexistent"), dandiset_version="draft")


def test_a_release_without_a_dandi_mapping_says_so(tmp_path: Path) -> None:
    unmapped = dataclasses.replace(VBN, dandi_mapping=None)
    with pytest.raises(InvalidInputError, match="cannot read Visual Behavior Neuropixels from"):
        open_dandi_cache(unmapped, tmp_path, LocalFetcher(tmp_path))
    with pytest.raises(InvalidInputError, match="warehouse layout"):
        open_dandi_cache(VCN, tmp_path, LocalFetcher(tmp_path))


@pytest.mark.parametrize(
    ("dandisets", "text", "expected"),
    [(("000713",), None, {"000713": None}),
     (("000713",), "0.240702.1725", {"000713": "0.240702.1725"}),
     (("000021", "000022"), "draft", {"000021": "draft", "000022": "draft"}),
     (("000021", "000022"), "000022=0.200101.0101", {"000021": None, "000022": "0.200101.0101"})],
)  # fmt: skip
def test_dandiset_versions(dandisets: tuple[str, ...], text: str | None, expected: dict) -> None:
    assert dandiset_versions(dandisets, text) == expected


@pytest.mark.parametrize("text", ["0.240702.1725", "000713=draft", "000021=latest"])
def test_ambiguous_or_unknown_dandiset_versions_are_refused(text: str) -> None:
    with pytest.raises(InvalidInputError):
        dandiset_versions(("000021", "000022"), text)


def test_download_command_from_dandi(
    vbn_release: SampleRelease, archive: DandiServer, bucket: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from brainobs.cli.main import main

    on_moto = dataclasses.replace(VBN, bucket=BUCKET)
    monkeypatch.setattr(
        releases, "RELEASES", MappingProxyType({**releases.RELEASES, "vbn": on_moto})
    )
    monkeypatch.setenv("BRAINOBS_DANDI_API", archive.api_url)
    probes = pd.read_csv(vbn_release.metadata_path("probes"))
    session_id = str(probes.loc[probes["file_id"] >= 0, "ecephys_session_id"].iloc[0])  # has LFP
    args = ["download", "vbn", session_id, "--source", "dandi", "--dandiset-version", "draft",
            "--endpoint", bucket, "--cache-dir", str(tmp_path)]  # fmt: skip
    assert main(args) == 0
    stored = sorted(p.name for p in (tmp_path / "dandi" / "sha256").rglob("*.nwb"))
    lfp = probes[(probes["ecephys_session_id"] == int(session_id)) & (probes["file_id"] >= 0)]
    assert len(stored) == 1 + len(lfp) and any("_probe-" in name for name in stored)


def test_sample_command_lays_the_sample_out_as_a_dandiset(
    vbn_release: SampleRelease, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from brainobs.cli.main import main

    assert main(["sample", "vbn", "--out", str(vbn_release.root), "--dandi", str(tmp_path)]) == 0
    assert "dandiset 000713 (draft, 0.240702.1725)" in capsys.readouterr().out
    record = SampleDandiset(tmp_path, "000713", ("draft",)).version_record("draft")
    assert record["asset_count"] == len(vbn_release.manifest.data_files)
    for asset in record["assets"]:
        blob = tmp_path / "blobs" / asset["blob"][:3] / asset["blob"][3:6] / asset["blob"]
        digest = asset["metadata"]["digest"]["dandi:sha2-256"]
        assert hashlib.sha256(blob.read_bytes()).hexdigest() == digest


def test_cache_verify_info_and_clear_cover_the_dandi_store(
    vbn_release: SampleRelease, archive: DandiServer, tmp_path: Path
) -> None:
    from brainobs.storage.inventory import cache_inventory, clear_cache
    from brainobs.storage.records import DANDI_STORE
    from brainobs.storage.verify import verify_cache

    cache = _from_dandi(tmp_path, archive, str(vbn_release.root))
    _, _, behavior_only = _session_ids(cache)
    cache.get_behavior_session(behavior_only).close()
    (stored,) = (tmp_path / DANDI_STORE).rglob("*.nwb")
    assert [(r.path, r.status) for r in verify_cache(tmp_path) if r.manifest == "DANDI"] == [
        (stored, "ok")
    ]
    (row,) = [r for r in cache_inventory(tmp_path) if r.project == "dandi"]
    assert row.files == 1 and row.bytes == stored.stat().st_size
    good = stored.read_bytes()
    stored.write_bytes(good[:-1] + bytes([good[-1] ^ 1]))
    (bad,) = [r for r in verify_cache(tmp_path) if r.manifest == "DANDI"]
    assert bad.status == "corrupt" and "SHA-256" in bad.detail
    (fixed,) = [r for r in verify_cache(tmp_path, repair=True) if r.manifest == "DANDI"]
    assert fixed.status == "repaired" and not stored.exists()
    again = _from_dandi(tmp_path, archive, str(vbn_release.root))
    again.get_behavior_session(behavior_only).close()
    assert stored.read_bytes() == good  # downloaded again, verified
    assert clear_cache(tmp_path).removed >= 1
    assert not (tmp_path / DANDI_STORE).exists() and not (tmp_path / "dandi").exists()
