"""Every byte count is bounded by what the manifest or the source declares.

A misbehaving server (tests/security/hostile_server.py) sends more than the manifest size,
an endless manifest, or whole files to ranged reads; the fault-injecting server of the storage
tests fails manifest requests; a disk is full before the first byte. Each case holds or gives
one brainobs error, and leaves no file a later run would trust.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from brainobs.config import TransferSettings
from brainobs.errors import (
    CacheError,
    DownloadError,
    HashMismatchError,
    ManifestError,
    SourceError,
    TransientError,
)
from brainobs.nwb import NwbFile
from brainobs.releases import VBN
from brainobs.storage import atomic as atomic_module
from brainobs.storage import download as download_module
from brainobs.storage.cache import ReleaseCache
from brainobs.storage.download import Expected, download_file
from brainobs.storage.hashing import blake2b_file
from brainobs.storage.http import HTTPFetcher
from brainobs.storage.local import LocalFetcher
from brainobs.storage.remote import RemoteFile
from brainobs.storage.s3 import S3Fetcher
from tests.security.hostile_server import HostileServer
from tests.support.range_server import Fault, RangeServer
from tests.support.release import PROJECT, TinyRelease
from tests.support.s3 import publish_release, s3_client

FAST = TransferSettings(connect_timeout=2.0, read_timeout=2.0, retries=2, backoff_initial=0.01)

pytestmark = pytest.mark.filterwarnings("ignore::brainobs.errors.OutdatedManifestWarning")


@pytest.fixture
def small(tiny_release: TinyRelease) -> tuple[str, Expected, bytes]:
    entry = tiny_release.manifests["0.1.0"].data_files["2"]
    return (
        entry.key,
        Expected(entry.file_hash, entry.size),
        (tiny_release.root / entry.key).read_bytes(),
    )


def _largest_write(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record how far every .part file grows."""
    sizes: list[int] = []
    real = download_module._append

    def append(handle, block, partial):  # type: ignore[no-untyped-def]
        real(handle, block, partial)
        sizes.append(partial.written + len(block))

    monkeypatch.setattr(download_module, "_append", append)
    return sizes


def test_a_server_sending_more_than_the_manifest_size_cannot_grow_the_file(
    tiny_release: TinyRelease, small, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key, expected, data = small
    sizes = _largest_write(monkeypatch)
    with HostileServer(tiny_release.root, "oversend", extra=64 << 20) as server:
        target = download_file(HTTPFetcher(server.url, FAST), key, tmp_path / "f.nwb", expected)
    assert target.read_bytes() == data and max(sizes) <= len(data)
    assert not target.with_name("f.nwb.part").exists()


def test_without_any_declared_size_nothing_is_downloaded(
    tiny_release: TinyRelease, small, tmp_path: Path
) -> None:
    key, expected, _ = small
    no_size = Expected(expected.file_hash)
    with (
        HostileServer(tiny_release.root, "nolength") as server,
        pytest.raises(SourceError, match="does not say how big"),
    ):
        download_file(HTTPFetcher(server.url, FAST), key, tmp_path / "f.nwb", no_size)
    assert not (tmp_path / "f.nwb").exists() and not (tmp_path / "f.nwb.part").exists()


def test_a_declared_size_other_than_the_manifest_is_refused_before_any_byte(
    tiny_release: TinyRelease, small, tmp_path: Path
) -> None:
    key, expected, _ = small
    with HostileServer(tiny_release.root, "bigger", extra=10 << 30) as server:
        with pytest.raises(HashMismatchError, match="declares 10737458240 bytes instead of 40000"):
            download_file(HTTPFetcher(server.url, FAST), key, tmp_path / "f.nwb", expected)
        assert len(server.requests) == 2  # verified twice, as any mismatch
    assert not (tmp_path / "f.nwb").exists() and not (tmp_path / "f.nwb.part").exists()


def test_an_endless_manifest_is_cut_off(tiny_release: TinyRelease, tmp_path: Path) -> None:
    with HostileServer(tiny_release.root, "endless") as server:
        cache = ReleaseCache(tmp_path / "cache", PROJECT, HTTPFetcher(server.url, FAST))
        with pytest.raises(ManifestError, match="larger than 67,108,864 bytes"):
            cache.load_manifest("0.1.0")
        assert server.bytes_sent < 200 << 20
    assert not any(p.name.endswith(".json") for p in (tmp_path / "cache").iterdir())


def _hdf5_file(folder: Path) -> Path:
    path = folder / f"{PROJECT}/data.nwb"
    path.parent.mkdir(parents=True)
    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=np.arange(400_000, dtype=np.float64))
    return path


def test_a_server_ignoring_range_is_found_once(tmp_path: Path) -> None:
    path = _hdf5_file(tmp_path)
    key = path.relative_to(tmp_path).as_posix()
    with HostileServer(tmp_path, "norange") as server:
        remote = RemoteFile(HTTPFetcher(server.url, FAST), key, size=path.stat().st_size)
        for start in (0, 1 << 20, 2 << 20):
            remote.seek(start)
            with pytest.raises(SourceError, match="ignores Range requests") as info:
                remote.read(100)
            assert "--stream" in str(info.value)
        assert len(server.requests) == 1  # learnt once; no re-download per block
        nwb = NwbFile.from_fetcher(HTTPFetcher(server.url, FAST), key, size=path.stat().st_size)
        with pytest.raises(SourceError, match="ignores Range requests"):
            _ = nwb.h5


def test_a_whole_file_answer_to_a_whole_file_range_is_fine(tmp_path: Path) -> None:
    path = _hdf5_file(tmp_path)
    key = path.relative_to(tmp_path).as_posix()
    size = path.stat().st_size
    with HostileServer(tmp_path, "norange") as server:
        fetcher = HTTPFetcher(server.url, FAST)
        assert fetcher.read_range(key, 0, size) == path.read_bytes()


def test_the_manifest_is_fetched_with_retries(tiny_release: TinyRelease, tmp_path: Path) -> None:
    name = tiny_release.manifests["0.1.0"].name
    key = f"{PROJECT}/manifests/{name}"
    with RangeServer(tiny_release.root) as server:
        server.inject(key, Fault("status", status=503), Fault("drop", after=100))
        cache = ReleaseCache(tmp_path / "c", PROJECT, HTTPFetcher(server.url, FAST))
        assert cache.load_manifest("0.1.0").manifest_version == "0.1.0"
        assert [k for k, _ in server.state.requests].count(key) == 3
        server.inject(key, Fault("status", status=503, times=10))
        (tmp_path / "c" / name).unlink()
        with pytest.raises(TransientError) as info:
            ReleaseCache(tmp_path / "c", PROJECT, HTTPFetcher(server.url, FAST)).load_manifest(
                "0.1.0"
            )
    message = str(info.value)
    assert "Gave up after 3 attempts" in message and "will retry" not in message


def _manifests_only(tiny_release: TinyRelease, root: Path) -> Path:
    shutil.copytree(tiny_release.root / PROJECT / "manifests", root / PROJECT / "manifests")
    folder = root / PROJECT / "manifests"
    (folder / "README.json").write_text('{"about": "not a manifest"}')
    (folder / "notes.txt").write_text("hello")
    (folder / f"{PROJECT}_project_manifest_vlatest.json").write_text("{}")
    (folder / "other_project_manifest_v9.0.0.json").write_text("{}")
    return root


def test_files_under_manifests_that_are_not_manifests_are_ignored(
    tiny_release: TinyRelease, tmp_path: Path
) -> None:
    source = _manifests_only(tiny_release, tmp_path / "bucket")
    cache = ReleaseCache(tmp_path / "cache", PROJECT, LocalFetcher(source))
    assert cache.list_manifest_file_names() == [m.name for m in tiny_release.manifests.values()]
    assert cache.load_manifest().manifest_version == "0.2.0"


def test_a_stray_file_in_a_mirror_manifest_folder_is_ignored(
    tiny_release: TinyRelease, tmp_path: Path
) -> None:
    from brainobs.storage.cache import MirrorCache

    mirror = _manifests_only(tiny_release, tmp_path / "mirror")
    assert MirrorCache(mirror, PROJECT).load_manifest().manifest_version == "0.2.0"


def test_a_stray_file_in_an_s3_manifest_folder_is_ignored(
    tiny_release: TinyRelease, s3_endpoint: str, tmp_path: Path
) -> None:
    source = tmp_path / "bucket"
    shutil.copytree(tiny_release.root / PROJECT / "manifests", source / PROJECT / "manifests")
    publish_release(s3_endpoint, "brainobs-stray-readme", source)
    for name in ("README.json", f"{PROJECT}_project_manifest_vlatest.json"):
        s3_client(s3_endpoint).put_object(
            Bucket="brainobs-stray-readme", Key=f"{PROJECT}/manifests/{name}", Body=b"{}"
        )
    fetcher = S3Fetcher("brainobs-stray-readme", endpoint=s3_endpoint, settings=FAST)
    cache = ReleaseCache(tmp_path / "cache", VBN.project_name, fetcher)
    assert cache.load_manifest().manifest_version == "0.2.0"


# --- a full disk -----------------------------------------------------------------------------
def test_a_disk_without_room_fails_before_the_first_byte(
    tiny_release: TinyRelease, small, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key, expected, _ = small
    full = shutil._ntuple_diskusage(total=10**9, used=10**9 - 100, free=100)  # type: ignore[attr-defined]
    monkeypatch.setattr(download_module.shutil, "disk_usage", lambda path: full)
    with pytest.raises(DownloadError, match="has 100 bytes free") as info:
        download_file(LocalFetcher(tiny_release.root), key, tmp_path / "f.nwb", expected)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "f.nwb").exists() and not (tmp_path / "f.nwb.part").exists()


@pytest.mark.parametrize("where", ["write", "sync"])
def test_a_full_disk_at_the_first_byte_leaves_no_empty_part_file(
    where: str, tiny_release: TinyRelease, small, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key, expected, data = small

    def no_space(*args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    if where == "write":
        monkeypatch.setattr(download_module, "_write_block", no_space)
    else:
        monkeypatch.setattr(download_module.os, "fsync", no_space)
    with pytest.raises(DownloadError, match="The disk is full") as info:
        download_file(LocalFetcher(tiny_release.root), key, tmp_path / "f.nwb", expected)
    assert "Errno" not in str(info.value)
    part = tmp_path / "f.nwb.part"
    assert not (tmp_path / "f.nwb").exists()
    assert not part.exists() or part.stat().st_size > 0  # bytes worth resuming, or nothing
    monkeypatch.undo()
    download_file(LocalFetcher(tiny_release.root), key, tmp_path / "f.nwb", expected)
    assert (tmp_path / "f.nwb").read_bytes() == data


def test_a_full_disk_when_saving_a_manifest_is_a_cache_error(
    tiny_release: TinyRelease, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache_dir = tmp_path / "cache"
    cache = ReleaseCache(cache_dir, PROJECT, LocalFetcher(tiny_release.root))
    monkeypatch.setattr(atomic_module, "os", _FullDiskOs())
    with pytest.raises(CacheError, match="the disk is full") as info:
        cache.load_manifest("0.1.0")
    assert "\n" not in str(info.value) and "Errno" not in str(info.value)
    assert [p.name for p in cache_dir.iterdir() if p.is_file()] == []  # no temp file left


class _FullDiskOs:
    """The ``os`` module as seen by a writer on a full disk: every write fails."""

    def __getattr__(self, name: str) -> object:
        return getattr(os, name)

    @staticmethod
    def fdopen(fd: int, *args: object, **kwargs: object) -> _FullDiskFile:
        return _FullDiskFile(fd)


class _FullDiskFile:
    def __init__(self, fd: int) -> None:
        self.fd = fd

    def __enter__(self) -> _FullDiskFile:
        return self

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)

    def write(self, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")


def test_downloaded_file_is_verified_after_a_truncated_oversend(
    tiny_release: TinyRelease, small, tmp_path: Path
) -> None:
    """The first manifest-size bytes of an oversending server are hashed like any download."""
    key, expected, data = small
    with HostileServer(tiny_release.root, "oversend", extra=1 << 20) as server:
        path = download_file(HTTPFetcher(server.url, FAST), key, tmp_path / "g.nwb", expected)
    assert blake2b_file(path) == expected.file_hash and path.stat().st_size == len(data)


_KEEPS_THE_ERROR = """
import sys
from brainobs.errors import SourceError
from brainobs.nwb import NwbFile
from brainobs.storage.local import LocalFetcher

class Refusing(LocalFetcher):
    def read_range(self, key, start, stop, version_id=None):
        raise SourceError("refused")

KEPT = []
try:
    NwbFile.from_fetcher(Refusing(sys.argv[1]), "f.h5", size=4096).h5
except SourceError as exc:
    KEPT.append(exc)  # as IPython keeps the last error until the kernel exits
"""


def test_a_failed_remote_open_does_not_crash_the_interpreter_at_exit(tmp_path: Path) -> None:
    """HDF5 must not free h5py's file-object driver after Python has shut down."""
    (tmp_path / "f.h5").write_bytes(b"\\0" * 4096)
    done = subprocess.run(
        [sys.executable, "-c", _KEEPS_THE_ERROR, str(tmp_path)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
