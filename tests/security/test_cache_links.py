"""The cache never reads, writes, moves or deletes through a link that leaves it, and removes only
what it made.

Each test plants a link (or a user file) where the cache works, runs the cache operation, and
checks three things: the operation holds or fails with one brainobs error; the file outside
the cache is byte-for-byte and time-for-time untouched; nothing is written outside the cache.
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from brainobs.cli.main import main
from brainobs.errors import CacheError
from brainobs.storage import confine
from brainobs.storage.cache import FetchAction, ReleaseCache
from brainobs.storage.download import lock_path_for
from brainobs.storage.hashing import blake2b_file
from brainobs.storage.inventory import cache_inventory, clear_cache
from brainobs.storage.local import LocalFetcher
from brainobs.storage.manifest import FileEntry
from brainobs.storage.records import (
    DOWNLOADED_DATA,
    LAST_USED,
    LOCKS,
    QUARANTINE,
    quarantine_file,
    read_downloaded_data,
)
from brainobs.storage.verify import verify_cache
from tests.support.release import PROJECT, TinyRelease

pytestmark = pytest.mark.filterwarnings("ignore::brainobs.errors.OutdatedManifestWarning")


class Outside:
    """A user's file outside the cache, with a fingerprint to prove it was not touched."""

    def __init__(self, path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.path = path
        self.data = data
        self.stat = path.stat()

    def untouched(self) -> bool:
        now = self.path.stat()
        return (
            self.path.read_bytes() == self.data
            and now.st_mtime_ns == self.stat.st_mtime_ns
            and now.st_ino == self.stat.st_ino
        )


def _cache(tiny_release: TinyRelease, root: Path, version: str = "0.1.0") -> ReleaseCache:
    cache = ReleaseCache(root, PROJECT, LocalFetcher(tiny_release.root))
    cache.load_manifest(version)
    return cache


def _entry(cache: ReleaseCache, file_id: str = "2") -> FileEntry:
    return cache.manifest.data_files[file_id]


def _files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*")}


@pytest.fixture
def outside(tmp_path: Path) -> Outside:
    return Outside(tmp_path / "home" / "thesis.txt", b"my only copy\n" * 3077)


def test_a_link_out_at_a_cached_file_is_set_aside_as_a_link(
    tiny_release: TinyRelease, tmp_path: Path, outside: Outside
) -> None:
    cache = _cache(tiny_release, tmp_path / "cache")
    entry = _entry(cache)
    path = cache.fetch(entry)
    good = path.read_bytes()
    path.unlink()
    path.symlink_to(outside.path)  # recorded as verified, same place: must still not be trusted
    assert cache.plan(entry) is FetchAction.SET_ASIDE
    assert cache.fetch(entry) == path
    assert not path.is_symlink() and path.read_bytes() == good
    assert outside.untouched()
    moved = [p for p in (cache.cache_dir / QUARANTINE).rglob("*") if p.is_symlink()]
    assert [p.readlink() for p in moved] == [outside.path]


def test_verify_repair_moves_the_link_not_its_target(
    tiny_release: TinyRelease, tmp_path: Path, outside: Outside
) -> None:
    root = tmp_path / "cache"
    cache = _cache(tiny_release, root)
    path = cache.fetch(_entry(cache))
    path.unlink()
    path.symlink_to(outside.path)
    results = verify_cache(root, repair=False)
    [bad] = [r for r in results if r.path == path]
    assert bad.status == "corrupt" and "link leading out of the cache" in bad.detail
    fixed = verify_cache(root, repair=True, cache_for=lambda m: _cache(tiny_release, root))
    [repaired] = [r for r in fixed if r.path == path]
    assert repaired.status == "repaired"
    assert outside.untouched() and not path.is_symlink()
    assert blake2b_file(path) == _entry(cache).file_hash


@pytest.mark.skipif(not Path("/dev/shm").is_dir(), reason="needs a second file system")
def test_verify_repair_of_a_link_to_another_file_system(
    tiny_release: TinyRelease, tmp_path: Path
) -> None:
    """The issue's `Invalid cross-device link`: the link target lives on another device."""
    other = Path("/dev/shm") / f"brainobs-test-{os.getpid()}-{tmp_path.name}"
    if Path("/dev/shm").stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("/dev/shm is on the same file system here")
    try:
        outside = Outside(other / "data.nwb", b"x" * 40_000)
        root = tmp_path / "cache"
        cache = _cache(tiny_release, root)
        path = cache.fetch(_entry(cache))
        path.unlink()
        path.symlink_to(outside.path)
        results = verify_cache(root, repair=True, cache_for=lambda m: _cache(tiny_release, root))
        assert {r.status for r in results if r.path == path} == {"repaired"}
        assert outside.untouched()
    finally:
        for p in sorted(other.rglob("*"), reverse=True):
            p.unlink()
        other.rmdir()


@pytest.mark.parametrize("kind", ["file", "link"])
def test_quarantine_across_file_systems_copies_the_entry(
    kind: str, tmp_path: Path, outside: Outside, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "cache"
    path = root / f"{PROJECT}-0.1.0" / "f.nwb"
    path.parent.mkdir(parents=True)
    if kind == "file":
        path.write_bytes(b"damaged")
    else:
        path.symlink_to(outside.path)
    real_rename = Path.rename

    def cross_device(self: Path, target: Path) -> Path:
        if self == path:
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        return real_rename(self, target)

    monkeypatch.setattr(Path, "rename", cross_device)
    moved = quarantine_file(root, path)
    assert not path.exists() and not path.is_symlink()
    if kind == "file":
        assert moved.read_bytes() == b"damaged"
    else:
        assert moved.is_symlink() and moved.readlink() == outside.path
    assert outside.untouched()


def test_quarantine_refuses_a_path_outside_the_cache(tmp_path: Path, outside: Outside) -> None:
    root = tmp_path / "cache"
    (root / f"{PROJECT}-0.1.0").mkdir(parents=True)
    (root / "escape").symlink_to(outside.path.parent)
    with pytest.raises(CacheError, match="moves only its own files"):
        quarantine_file(root, root / "escape" / outside.path.name)
    assert outside.untouched()


def test_a_link_planted_at_the_part_path_is_not_written_through(
    tiny_release: TinyRelease, tmp_path: Path, outside: Outside
) -> None:
    cache = _cache(tiny_release, tmp_path / "cache")
    entry = _entry(cache)
    path = cache.local_path(entry)
    path.parent.mkdir(parents=True)
    path.with_name(path.name + ".part").symlink_to(outside.path)
    cache.fetch(entry)
    assert blake2b_file(path) == entry.file_hash and outside.untouched()


def test_a_link_planted_at_the_lock_path_is_not_followed(
    tiny_release: TinyRelease, tmp_path: Path, outside: Outside
) -> None:
    root = tmp_path / "cache"
    cache = _cache(tiny_release, root)
    entry = _entry(cache)
    lock = lock_path_for(cache.local_path(entry), root / LOCKS)
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.symlink_to(outside.path)
    records_lock = root / LOCKS / f"{DOWNLOADED_DATA}.lock"
    records_lock.unlink(missing_ok=True)
    records_lock.symlink_to(outside.path)
    cache.fetch(entry)
    assert outside.untouched()


def test_a_folder_leading_out_stops_the_fetch(
    tiny_release: TinyRelease, tmp_path: Path, outside: Outside
) -> None:
    root = tmp_path / "cache"
    cache = _cache(tiny_release, root)
    entry = _entry(cache)
    version = root / cache.manifest.cache_folder
    version.symlink_to(outside.path.parent, target_is_directory=True)
    before = _files_under(outside.path.parent)
    with pytest.raises(CacheError, match="leads out of the cache") as info:
        cache.fetch(entry)
    assert "\n" not in str(info.value)
    assert _files_under(outside.path.parent) == before and outside.untouched()


def test_a_record_never_points_out_of_the_cache(tiny_release: TinyRelease, tmp_path: Path) -> None:
    """A doctored record naming an outside copy with the right hash is not linked to."""
    root = tmp_path / "cache"
    cache = _cache(tiny_release, root, "0.2.0")
    entry = _entry(cache)
    copy = Outside(
        tmp_path / "elsewhere" / "copy.nwb", (tiny_release.root / entry.key).read_bytes()
    )
    (root / DOWNLOADED_DATA).write_text(json.dumps({str(copy.path): entry.file_hash}))
    assert cache.plan(entry) is FetchAction.DOWNLOAD
    path = cache.fetch(entry)
    assert not path.is_symlink() and blake2b_file(path) == entry.file_hash
    assert copy.untouched()


@pytest.mark.parametrize("name", [DOWNLOADED_DATA, LAST_USED])
def test_bookkeeping_files_that_are_links_are_not_read(
    tiny_release: TinyRelease, tmp_path: Path, name: str
) -> None:
    """A record linked to an endless device is ignored, not read until memory runs out."""
    root = tmp_path / "cache"
    _cache(tiny_release, root)
    (root / name).unlink(missing_ok=True)
    (root / name).symlink_to("/dev/zero")
    cache = ReleaseCache(root, PROJECT, LocalFetcher(tiny_release.root))
    expected = "0.2.0" if name == LAST_USED else "0.1.0"  # unreadable last-used: the latest
    assert cache.load_last_manifest().manifest_version == expected
    assert read_downloaded_data(root) == {} or name == LAST_USED


def test_a_cached_manifest_that_is_a_link_out_is_not_read(
    tiny_release: TinyRelease, tmp_path: Path, outside: Outside
) -> None:
    root = tmp_path / "cache"
    cache = _cache(tiny_release, root)
    name = cache.manifest.name
    (root / name).unlink()
    (root / name).symlink_to(outside.path)
    with pytest.raises(CacheError, match="link leading out of the cache"):
        ReleaseCache(root, PROJECT).load_manifest("0.1.0")
    # with a source, the link is replaced by a fresh copy (the link, not its target)
    assert _cache(tiny_release, root).manifest.manifest_version == "0.1.0"
    assert not (root / name).is_symlink() and outside.untouched()


def _fill_cache_with_user_files(
    tiny_release: TinyRelease, root: Path, outside: Outside
) -> dict[str, Path]:
    cache = _cache(tiny_release, root)
    for entry in cache.manifest.entries().values():
        cache.fetch(entry)
    cache.load_manifest("0.2.0")
    for entry in cache.manifest.entries().values():
        cache.fetch(entry)
    version = root / f"{PROJECT}-0.1.0"
    user = {
        "top": root / "my_notes.txt",
        "in_version": version / "behavior_ecephys_sessions" / "my_analysis.csv",
        "folder": root / "my_project" / "figure.png",
        "link": version / "link_to_thesis",
    }
    for key, path in user.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if key == "link":
            path.symlink_to(outside.path)
        else:
            path.write_bytes(key.encode())
    # a manifest-listed file replaced by a link out: removed as a link, target untouched
    listed = version / "behavior_ecephys_sessions" / "3" / "ecephys_session_3.nwb"
    listed.unlink()
    listed.symlink_to(outside.path)
    return user


def test_clear_removes_only_what_the_cache_made(
    tiny_release: TinyRelease, tmp_path: Path, outside: Outside
) -> None:
    root = tmp_path / "cache"
    user = _fill_cache_with_user_files(tiny_release, root, outside)
    result = clear_cache(root, None)
    assert result.removed > 8
    for key, path in user.items():
        assert path.is_symlink() if key == "link" else path.read_bytes() == key.encode()
    assert outside.untouched()
    left = {p.relative_to(root).as_posix() for p in root.rglob("*") if not p.is_dir()}
    assert left == {
        f"{PROJECT}-0.1.0/behavior_ecephys_sessions/my_analysis.csv",
        f"{PROJECT}-0.1.0/link_to_thesis",
        "my_notes.txt",
        "my_project/figure.png",
    }
    assert {p.name for p in result.kept} == {"my_analysis.csv", "link_to_thesis"}


def test_clear_one_release_keeps_the_others_and_the_record_consistent(
    tiny_release: TinyRelease, tmp_path: Path, outside: Outside
) -> None:
    root = tmp_path / "cache"
    user = _fill_cache_with_user_files(tiny_release, root, outside)
    other = root / "other-project-1.0.0" / "data.nwb"
    other.parent.mkdir()
    other.write_bytes(b"not brainobs's")
    clear_cache(root, PROJECT)
    assert other.read_bytes() == b"not brainobs's" and outside.untouched()
    assert all(p.exists() or p.is_symlink() for p in user.values())
    assert read_downloaded_data(root) == {}
    assert cache_inventory(root) == []


def test_cache_clear_command_says_what_it_kept(
    tiny_release: TinyRelease, tmp_path: Path, outside: Outside, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "cache"
    _fill_cache_with_user_files(tiny_release, root, outside)
    assert main(["cache", "clear", "--yes", "--cache-dir", str(root)]) == 0
    out = capsys.readouterr().out
    assert "Removed" in out and "Kept 2 entries brainobs did not make" in out
    assert (root / "my_notes.txt").exists() and outside.untouched()


def test_inventory_does_not_count_files_outside_the_cache(
    tiny_release: TinyRelease, tmp_path: Path, outside: Outside
) -> None:
    root = tmp_path / "cache"
    cache = _cache(tiny_release, root)
    path = cache.fetch(_entry(cache))
    [before] = [r for r in cache_inventory(root) if r.manifest.endswith("0.1.0.json")]
    path.unlink()
    path.symlink_to(outside.path)
    [after] = [r for r in cache_inventory(root) if r.manifest.endswith("0.1.0.json")]
    assert after.files == before.files - 1


def test_leads_out_follows_every_link(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    (root / "a").mkdir(parents=True)
    (root / "inside").symlink_to(root / "a")
    (root / "out").symlink_to(tmp_path)
    (root / "loop").symlink_to(root / "loop")
    assert not confine.leads_out(root, root / "inside" / "x")
    assert confine.leads_out(root, root / "out" / "x")
    assert confine.leads_out(root, root / "loop")
    assert not confine.leads_out(root, root / "a" / ".." / "a" / "x")
