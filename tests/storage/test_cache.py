"""The cache over every fetcher: layout, records, manifests, de-duplication, offline use."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import pytest

from brainobs.errors import (
    CacheError,
    FileNotInCacheError,
    ManifestError,
    ManifestNotFoundError,
    OutdatedManifestWarning,
    SourceError,
)
from brainobs.storage.cache import (
    DOWNLOADED_DATA,
    LAST_USED,
    CacheMode,
    FetchAction,
    MirrorCache,
    ReleaseCache,
)
from brainobs.storage.fetchers import Fetcher
from brainobs.storage.hashing import blake2b_file
from brainobs.storage.http import HTTPFetcher
from brainobs.storage.local import LocalFetcher
from brainobs.storage.remote import RemoteObject
from tests.support.release import PROJECT, TinyRelease


def _cache(cache_dir: Path, fetcher: Fetcher) -> ReleaseCache:
    return ReleaseCache(cache_dir, PROJECT, fetcher)


def _load(cache: ReleaseCache, version: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutdatedManifestWarning)
        return cache.load_manifest(version)


def test_download_layout_matches_reference(
    fetcher: Fetcher, cache_dir: Path, tiny_release: TinyRelease
) -> None:
    cache = _cache(cache_dir, fetcher)
    if type(fetcher) is HTTPFetcher:  # plain HTTP cannot list: the version is named
        manifest = cache.load_manifest("0.2.0")
    else:
        assert cache.list_manifest_file_names()[-1].endswith("_v0.2.0.json")
        manifest = cache.load_manifest()
    assert manifest.manifest_version == "0.2.0"
    units = cache.metadata_path("units")
    assert units == cache_dir / f"{PROJECT}-0.2.0" / "project_metadata" / "units-0.2.0.csv"
    nwb = cache.data_path(1)
    assert nwb == cache_dir / f"{PROJECT}-0.2.0/behavior_ecephys_sessions/1/ecephys_session_1.nwb"
    assert nwb.read_bytes() == (tiny_release.root / manifest.data_files["1"].key).read_bytes()
    assert (cache_dir / manifest.name).is_file()
    assert (cache_dir / LAST_USED).read_text() == manifest.name
    record = json.loads((cache_dir / DOWNLOADED_DATA).read_text())
    assert record[str(nwb.absolute())] == manifest.data_files["1"].file_hash
    assert not list(cache_dir.rglob("*.part"))


def test_http_source_needs_a_version(cache_dir: Path, http_server) -> None:
    # A plain HTTP mirror cannot list, so "latest" cannot be found: the error says what to do.
    cache = ReleaseCache(cache_dir, PROJECT, HTTPFetcher(http_server.url))
    with pytest.raises(SourceError, match="--manifest"):
        cache.load_manifest()
    with pytest.raises(SourceError, match="does not exist"):
        cache.load_manifest("7.7.7")


def test_second_access_does_not_download(
    tiny_release: TinyRelease, cache_dir: Path, http_server
) -> None:
    cache = _cache(cache_dir, LocalFetcher(tiny_release.root))
    _load(cache, "0.1.0")
    path = cache.data_path(2)
    mtime = path.stat().st_mtime_ns
    assert cache.data_path(2) == path
    assert path.stat().st_mtime_ns == mtime
    assert cache.is_cached(cache.manifest.data_files["2"])


def test_identical_files_are_shared_across_versions(
    tiny_release: TinyRelease, cache_dir: Path
) -> None:
    cache = _cache(cache_dir, LocalFetcher(tiny_release.root))
    _load(cache, "0.1.0")
    old = cache.data_path(1)
    cache.load_manifest("0.2.0")
    new = cache.data_path(1)
    assert new != old
    assert new.is_symlink() and new.resolve() == old.resolve()
    assert blake2b_file(new) == cache.manifest.data_files["1"].file_hash


def test_last_used_manifest_is_reloaded_with_a_warning(
    tiny_release: TinyRelease, cache_dir: Path
) -> None:
    cache = _cache(cache_dir, LocalFetcher(tiny_release.root))
    with pytest.warns(OutdatedManifestWarning, match="0.2.0"):
        cache.load_manifest("0.1.0")
    again = _cache(cache_dir, LocalFetcher(tiny_release.root))
    with pytest.warns(OutdatedManifestWarning):
        assert again.manifest.manifest_version == "0.1.0"


def test_compare_manifests(tiny_release: TinyRelease, cache_dir: Path) -> None:
    cache = _cache(cache_dir, LocalFetcher(tiny_release.root))
    changes = cache.compare_manifests("0.1.0", "0.2.0")
    assert "project_metadata/units.csv renamed project_metadata/units-0.2.0.csv" not in changes
    assert "behavior_ecephys_sessions/3/ecephys_session_3.nwb deleted" in changes
    assert "behavior_ecephys_sessions/4/ecephys_session_4.nwb created" in changes
    assert "project_metadata/units.csv deleted" in changes


def test_unknown_manifest_version_lists_the_valid_ones(
    tiny_release: TinyRelease, cache_dir: Path
) -> None:
    cache = _cache(cache_dir, LocalFetcher(tiny_release.root))
    with pytest.raises(ManifestNotFoundError, match=r"9\.9\.9.*0\.1\.0, 0\.2\.0"):
        cache.load_manifest("9.9.9")
    assert not (cache_dir / LAST_USED).exists()


def test_unknown_file_id_says_where_ids_are(tiny_release: TinyRelease, cache_dir: Path) -> None:
    cache = _cache(cache_dir, LocalFetcher(tiny_release.root))
    cache.load_manifest()
    with pytest.raises(LookupError, match="file_id"):
        cache.data_path(123456)


def test_local_only_cache_serves_what_was_downloaded(
    tiny_release: TinyRelease, cache_dir: Path
) -> None:
    online = _cache(cache_dir, LocalFetcher(tiny_release.root))
    online.load_manifest()
    online.data_path(2)
    offline = ReleaseCache(cache_dir, PROJECT, fetcher=None)
    assert offline.manifest.manifest_version == "0.2.0"
    assert offline.data_path(2).is_file()
    with pytest.raises(FileNotInCacheError, match="brainobs download"):
        offline.data_path(4)


def test_static_cache_reads_in_place(tiny_release: TinyRelease) -> None:
    static = MirrorCache(tiny_release.root, PROJECT)
    assert static.manifest.manifest_version == "0.2.0"
    path = static.data_path(1)
    assert path == tiny_release.root / static.manifest.data_files["1"].key


def test_unrecorded_corrupt_file_is_replaced(tiny_release: TinyRelease, cache_dir: Path) -> None:
    """The reference's leftover of an interrupted download is not trusted."""
    cache = _cache(cache_dir, LocalFetcher(tiny_release.root))
    manifest = cache.load_manifest()
    path = cache.local_path(manifest.data_files["2"])
    path.parent.mkdir(parents=True)
    path.write_bytes(b"half a file")
    assert (
        cache.data_path(2).read_bytes()
        == (tiny_release.root / manifest.data_files["2"].key).read_bytes()
    )
    assert list((cache_dir / "_quarantine").rglob("ecephys_session_2.nwb"))


def test_unrecorded_good_file_is_adopted_without_download(
    tiny_release: TinyRelease, cache_dir: Path
) -> None:
    """A file an AllenSDK cache holds is reused as is once its hash checks out."""
    manifest_entry = (
        _cache(cache_dir, LocalFetcher(tiny_release.root)).load_manifest().data_files["2"]
    )
    offline = ReleaseCache(cache_dir, PROJECT, fetcher=None)
    path = offline.local_path(manifest_entry)
    path.parent.mkdir(parents=True)
    path.write_bytes((tiny_release.root / manifest_entry.key).read_bytes())
    assert offline.data_path(2) == path
    assert offline.is_cached(manifest_entry)


def test_traversal_key_in_manifest_writes_nothing(tmp_path: Path, cache_dir: Path) -> None:
    bucket = tmp_path / "evil"
    folder = bucket / PROJECT / "manifests"
    folder.mkdir(parents=True)
    bad = {
        "project_name": PROJECT,
        "manifest_version": "1.0.0",
        "metadata_files": {},
        "data_files": {
            "1": {
                "url": f"https://x.s3.amazonaws.com/{PROJECT}/../../etc/passwd",
                "version_id": None,
                "file_hash": "0" * 128,
            }
        },
    }
    (folder / f"{PROJECT}_project_manifest_v1.0.0.json").write_text(json.dumps(bad))
    cache = _cache(cache_dir, LocalFetcher(bucket))
    with pytest.raises(ManifestError, match="outside the cache"):
        cache.load_manifest()
    assert not any(p.is_file() for p in cache_dir.rglob("*"))


def test_corrupt_manifest_json_writes_nothing(tmp_path: Path, cache_dir: Path) -> None:
    bucket = tmp_path / "bad"
    folder = bucket / PROJECT / "manifests"
    folder.mkdir(parents=True)
    (folder / f"{PROJECT}_project_manifest_v1.0.0.json").write_text('{"project_name": ')
    cache = _cache(cache_dir, LocalFetcher(bucket))
    with pytest.raises(ManifestError, match="not valid JSON"):
        cache.load_manifest()
    assert not any(p.is_file() for p in cache_dir.rglob("*"))


def test_read_only_cache_dir_is_a_clear_error(
    tiny_release: TinyRelease, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    locked = tmp_path / "ro"
    locked.mkdir()
    locked.chmod(0o500)
    real_access = os.access
    # CI runs as root, which ignores permission bits: report the folder as read-only.
    monkeypatch.setattr(
        os, "access", lambda p, m: False if Path(p) == locked else real_access(p, m)
    )
    with pytest.raises(CacheError, match=r"not writable.*BRAINOBS_CACHE_DIR"):
        _cache(locked, LocalFetcher(tiny_release.root))
    assert list(locked.iterdir()) == []


def test_cache_dir_that_is_a_file_is_a_clear_error(
    tiny_release: TinyRelease, tmp_path: Path
) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    with pytest.raises(CacheError, match="BRAINOBS_CACHE_DIR"):
        _cache(not_a_dir / "cache", LocalFetcher(tiny_release.root))


def test_plan_names_what_fetch_will_do(tiny_release: TinyRelease, cache_dir: Path) -> None:
    cache = _cache(cache_dir, LocalFetcher(tiny_release.root))
    assert cache.mode is CacheMode.DOWNLOAD
    old = _load(cache, "0.1.0")
    entry = old.data_files["1"]
    assert cache.plan(entry) is FetchAction.DOWNLOAD
    cache.fetch(entry)
    assert cache.plan(entry) is FetchAction.REUSE
    new = cache.load_manifest("0.2.0")
    assert cache.plan(new.data_files["1"]) is FetchAction.LINK  # same bytes, other version
    offline = ReleaseCache(cache_dir, PROJECT)
    assert offline.mode is CacheMode.OFFLINE
    assert offline.plan(new.data_files["4"]) is FetchAction.MISSING
    unrecorded = cache.local_path(new.data_files["2"])
    unrecorded.parent.mkdir(parents=True, exist_ok=True)
    unrecorded.write_bytes(b"left by someone else")
    assert cache.plan(new.data_files["2"]) is FetchAction.VERIFY
    assert not any(cache_dir.rglob("_quarantine"))  # planning reads and writes nothing


def test_mirror_cache_plans_in_place(tiny_release: TinyRelease) -> None:
    mirror = MirrorCache(tiny_release.root, PROJECT)
    assert mirror.mode is CacheMode.MIRROR
    manifest = mirror.manifest
    assert mirror.plan(manifest.data_files["1"]) is FetchAction.IN_PLACE
    assert mirror.is_cached(manifest.data_files["1"])
    (tiny_release.root / manifest.data_files["1"].key).rename(tiny_release.root / "moved")
    try:
        assert mirror.plan(manifest.data_files["1"]) is FetchAction.MISSING
        with pytest.raises(FileNotInCacheError, match="mirror"):
            mirror.data_path(1)
    finally:
        (tiny_release.root / "moved").rename(tiny_release.root / manifest.data_files["1"].key)


def test_open_data_streams_only_what_is_not_cached(
    tiny_release: TinyRelease, cache_dir: Path
) -> None:
    cache = _cache(cache_dir, LocalFetcher(tiny_release.root))
    cache.load_manifest()
    remote = cache.open_data(2, stream=True)
    assert isinstance(remote, RemoteObject) and remote.key.endswith("ecephys_session_2.nwb")
    assert remote.size == cache.manifest.data_files["2"].size
    local = cache.data_path(2)
    assert cache.open_data(2, stream=True) == local  # a verified copy wins over the network
    assert cache.open_data(2) == local
