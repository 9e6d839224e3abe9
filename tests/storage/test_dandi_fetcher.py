"""The DANDI fetcher against the loopback archive: listing, paging, caching, bad input.

(The fetcher also runs the shared conformance and fault-injection suites: conftest.py.)
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Iterator
from pathlib import Path

import pytest

from brainobs.config import TransferSettings
from brainobs.errors import (
    HashMismatchError,
    InvalidInputError,
    SourceError,
    TransientError,
    UnknownIdError,
)
from brainobs.sample.dandiset import PUBLISHED_VERSION, SampleDandiset, dandi_etag, write_dandiset
from brainobs.storage.dandi import (
    API_ENV,
    DEFAULT_API,
    DandiAsset,
    DandiFetcher,
    DandiListing,
    dandi_api,
)
from brainobs.storage.dandi_cache import parse_asset_path
from brainobs.storage.download import download_file
from tests.support.dandi_server import DandiServer
from tests.support.range_server import Fault

FAST = TransferSettings(connect_timeout=2.0, read_timeout=2.0, retries=2, backoff_initial=0.01)
DANDISET = "000123"
N_ASSETS = 7


def _files(folder: Path) -> dict[str, Path]:
    folder.mkdir()
    files = {}
    for i in range(N_ASSETS):
        path = folder / f"file{i}.nwb"
        path.write_bytes(hashlib.blake2b(str(i).encode()).digest() * (100 + 37 * i))
        files[f"sub-{i % 3}/sub-{i % 3}_ses-{i}_ecephys.nwb"] = path
    return files


@pytest.fixture
def dandiset(tmp_path: Path) -> SampleDandiset:
    """A fresh small dandiset (tests may change it): draft and one published version."""
    return write_dandiset(_files(tmp_path / "src"), tmp_path / "archive", DANDISET)


@pytest.fixture
def server(dandiset: SampleDandiset) -> Iterator[DandiServer]:
    with DandiServer(dandiset.root) as running:
        yield running


def _fetcher(server: DandiServer, version: str | None = "draft", **kwargs) -> DandiFetcher:
    return DandiFetcher(DANDISET, version, api=server.api_url, settings=FAST, **kwargs)


# --- the API address ---------------------------------------------------------------------------
def test_api_address_from_argument_environment_or_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(API_ENV, raising=False)
    assert dandi_api() == DEFAULT_API == "https://api.dandiarchive.org/api"
    monkeypatch.setenv(API_ENV, "http://127.0.0.1:9/api/")
    assert dandi_api() == "http://127.0.0.1:9/api"
    assert dandi_api("https://mirror.example.org/api") == "https://mirror.example.org/api"


@pytest.mark.parametrize(
    "bad",
    ["ftp://example.org/api", "api.dandiarchive.org", "https://", "https://h/api?x=1",
     "https://user:secret@h/api", "file:///tmp/api"],
)  # fmt: skip
def test_bad_api_addresses_are_refused(bad: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InvalidInputError, match=r"api\.dandiarchive\.org/api"):
        dandi_api(bad)
    monkeypatch.setenv(API_ENV, bad)
    with pytest.raises(InvalidInputError, match=API_ENV):
        dandi_api()


@pytest.mark.parametrize(
    ("dandiset", "version", "match"),
    [("713", "draft", "six digits"), ("000713", "latest", "0.240702.1725"),
     ("000713", "0.24.1", "published version")],
)  # fmt: skip
def test_malformed_ids_are_refused_before_any_request(
    dandiset: str, version: str, match: str
) -> None:
    with pytest.raises(InvalidInputError, match=match):
        DandiFetcher(dandiset, version, api="http://127.0.0.1:9/api")


# --- listing ---------------------------------------------------------------------------------
def test_listing_follows_every_page(server: DandiServer, dandiset: SampleDandiset) -> None:
    fetcher = _fetcher(server)
    fetcher.client.page_size = 2
    expected = sorted(a["path"] for a in dandiset.version_record("draft")["assets"])
    assert fetcher.list_keys("") == expected and len(expected) == N_ASSETS
    assert len(server.api_requests("/assets/")) == 4  # ceil(7 / 2) pages
    assert fetcher.list_keys("sub-1/") == [p for p in expected if p.startswith("sub-1/")]


def test_assets_carry_the_published_digest_and_size(
    server: DandiServer, dandiset: SampleDandiset, tmp_path: Path
) -> None:
    fetcher = _fetcher(server)
    for path, file in _files(tmp_path / "again").items():
        expected = fetcher.expected(path)
        assert expected.algorithm == "sha256"
        assert expected.file_hash == hashlib.sha256(file.read_bytes()).hexdigest()
        assert expected.size == fetcher.size(path) == file.stat().st_size
    entry = dandiset.asset_entry("draft", path)
    assert entry["metadata"]["digest"]["dandi:dandi-etag"] == dandi_etag(file)
    assert (
        dandi_etag(file) == hashlib.md5(hashlib.md5(file.read_bytes()).digest()).hexdigest() + "-1"
    )


def test_latest_published_version_is_the_default(server: DandiServer) -> None:
    fetcher = _fetcher(server, version=None)
    assert "latest published" in fetcher.describe()
    assert len(fetcher.list_keys("")) == N_ASSETS
    assert fetcher.version == PUBLISHED_VERSION
    assert server.api_requests()[0] == f"api/dandisets/{DANDISET}/"


def test_a_published_listing_is_fetched_once_per_version(
    server: DandiServer, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    first = _fetcher(server, PUBLISHED_VERSION, cache_dir=cache)
    assert len(first.list_keys("")) == N_ASSETS
    used = len(server.api_requests())
    again = _fetcher(server, PUBLISHED_VERSION, cache_dir=cache)
    assert again.list_keys("") == first.list_keys("")
    assert len(server.api_requests()) == used, "a published version never changes: no request"
    stored = list((cache / "dandi" / "listings").rglob(f"{PUBLISHED_VERSION}.json"))
    assert len(stored) == 1


def test_the_draft_listing_is_refreshed_when_the_draft_changed(
    server: DandiServer, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    path = "sub-0/sub-0_ses-3_ecephys.nwb"
    old = _fetcher(server, cache_dir=cache).expected(path)
    unchanged = _fetcher(server, cache_dir=cache)
    unchanged.list_keys("")
    assert (
        server.api_requests("/assets/").count(f"api/dandisets/{DANDISET}/versions/draft/assets/")
        == 1
    )
    new_bytes = b"a new upload of the same path" * 1000
    server.replace_draft_asset(DANDISET, path, new_bytes)
    refreshed = _fetcher(server, cache_dir=cache)
    expected = refreshed.expected(path)
    assert expected.file_hash == hashlib.sha256(new_bytes).hexdigest() != old.file_hash
    assert len(server.api_requests("versions/draft/assets/")) == 2
    target = tmp_path / "new.nwb"
    download_file(refreshed, path, target, expected, settings=FAST)
    assert target.read_bytes() == new_bytes


def test_a_stale_listing_in_memory_never_yields_wrong_bytes(
    server: DandiServer, tmp_path: Path
) -> None:
    """A fetcher listed before the draft changed still reads the blob its listing names."""
    path = "sub-1/sub-1_ses-4_ecephys.nwb"
    stale = _fetcher(server)
    expected = stale.expected(path)
    server.replace_draft_asset(DANDISET, path, b"replaced" * 999)
    target = tmp_path / "f.nwb"
    download_file(stale, path, target, expected, settings=FAST)
    assert hashlib.sha256(target.read_bytes()).hexdigest() == expected.file_hash


def test_a_wrong_published_digest_is_never_saved(server: DandiServer, tmp_path: Path) -> None:
    path = "sub-2/sub-2_ses-5_ecephys.nwb"
    server.set_draft_digest(DANDISET, path, "0" * 64)
    fetcher = _fetcher(server)
    target = tmp_path / "f.nwb"
    with pytest.raises(HashMismatchError, match="SHA-256"):
        download_file(fetcher, path, target, fetcher.expected(path), settings=FAST)
    assert not target.exists() and not target.with_name("f.nwb.part").exists()


def test_transient_api_failures_are_retried(server: DandiServer) -> None:
    key = f"api/dandisets/{DANDISET}/versions/draft/assets/"
    server.inject(key, Fault("status", status=503), Fault("drop"))
    assert len(_fetcher(server).list_keys("")) == N_ASSETS
    assert server.api_requests("/assets/").count(key) == 3


def test_api_failing_every_time_says_so(server: DandiServer) -> None:
    key = f"api/dandisets/{DANDISET}/versions/draft/info/"
    server.inject(key, Fault("status", status=502, times=10))
    with pytest.raises(TransientError, match="502"):
        _fetcher(server).list_keys("")


def test_redirect_only_archives_are_read_through_the_download_endpoint(
    dandiset: SampleDandiset, tmp_path: Path
) -> None:
    path = "sub-0/sub-0_ses-0_ecephys.nwb"
    data = _files(tmp_path / "again")[path].read_bytes()
    with DandiServer(dandiset.root, redirect_only=True) as server:
        fetcher = _fetcher(server)
        url = fetcher.content_url(fetcher.asset(path))
        assert url.endswith(f"/api/assets/{fetcher.asset(path).asset_id}/download/")
        assert fetcher.read_range(path, 5, 50) == data[5:50]
        assert [k for k, _ in server.state.requests if k.startswith("blobs/")]


def test_the_fetcher_pickles_with_its_listing(server: DandiServer, tmp_path: Path) -> None:
    fetcher = _fetcher(server)
    path = fetcher.list_keys("")[0]
    clone = pickle.loads(pickle.dumps(fetcher))
    before = len(server.api_requests())
    assert clone.read_range(path, 0, 16) == fetcher.read_range(path, 0, 16)
    assert len(server.api_requests()) == before


# --- bad input -------------------------------------------------------------------------------
def test_unknown_dandiset_is_a_clear_error(server: DandiServer) -> None:
    with pytest.raises(UnknownIdError, match=r"Dandiset 000999 is not on .*dandiset/000999"):
        DandiFetcher("000999", "draft", api=server.api_url, settings=FAST).list_keys("")


def test_unknown_version_lists_the_versions(server: DandiServer) -> None:
    with pytest.raises(
        UnknownIdError, match=rf"no version '0.999999.9999'.*draft, {PUBLISHED_VERSION}"
    ):
        _fetcher(server, "0.999999.9999").list_keys("")


def test_unknown_asset_path_is_a_source_error_naming_it(server: DandiServer) -> None:
    with pytest.raises(SourceError, match=r"sub-9/nothing\.nwb"):
        _fetcher(server).open("sub-9/nothing.nwb")


def test_an_asset_without_a_published_digest_cannot_be_verified(
    server: DandiServer,
) -> None:
    path = "sub-0/sub-0_ses-6_ecephys.nwb"
    fetcher = _fetcher(server)
    listing = fetcher.listing
    asset = listing.assets[path]
    fetcher._listing = DandiListing(  # as the archive lists it before digesting an upload
        listing.dandiset, listing.version, listing.modified,
        {**listing.assets, path: DandiAsset(asset.asset_id, path, asset.size, None)},
    )  # fmt: skip
    with pytest.raises(SourceError, match="has not published a SHA-256"):
        fetcher.expected(path)


@pytest.mark.parametrize("path", ["/etc/passwd", "../x.nwb", "a/../../x.nwb", "a//b.nwb", ""])
def test_unsafe_asset_paths_are_refused(path: str) -> None:
    item = {"asset_id": "4c5b0c2e-3f4a-4d5b-8c6d-7e8f9a0b1c2d", "path": path, "size": 1,
            "blob": "x", "metadata": {"digest": {}}}  # fmt: skip
    with pytest.raises(SourceError, match="unsafe path"):
        DandiAsset.from_api(item, "test")


# --- path conventions --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "subject", "session", "probe", "modalities"),
    [
        ("sub-533537/sub-533537_ses-20200807T125042_image.nwb", "533537", "20200807T125042",
         None, ("image",)),
        ("sub-533537/sub-533537_ses-20201007T210141.nwb", "533537", "20201007T210141", None, ()),
        ("sub-533537/sub-533537_ses-None_probe-1055328904_ecephys.nwb", "533537", "None",
         "1055328904", ("ecephys",)),
        ("sub-730756767/sub-730756767_ses-757970808_probe-769322852_ecephys.nwb", "730756767",
         "757970808", "769322852", ("ecephys",)),
        ("sub-1/sub-1_ses-2_ecephys+image.nwb", "1", "2", None, ("ecephys", "image")),
    ],
)  # fmt: skip
def test_asset_paths_parse_by_dandi_conventions(
    path: str, subject: str, session: str, probe: str | None, modalities: tuple[str, ...]
) -> None:
    name = parse_asset_path(path)
    assert name is not None
    assert (name.subject, name.session, name.probe, name.modalities) == (
        subject, session, probe, modalities,
    )  # fmt: skip


@pytest.mark.parametrize(
    "path",
    ["dandiset.yaml", "sub-1/sub-2_ses-1.nwb", "sub-1/sub-1_ses-1.json", "a/sub-1/sub-1.nwb",
     "sub-1/ses-1_sub-1.nwb", "sub-1/sub-1_ses-1_ses-2.nwb"],
)  # fmt: skip
def test_paths_off_the_conventions_are_not_parsed(path: str) -> None:
    assert parse_asset_path(path) is None
