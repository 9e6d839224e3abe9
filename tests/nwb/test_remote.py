"""The block cache and the remote file object h5py reads through."""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import h5py
import numpy as np
import pytest

from brainobs.config import TransferSettings
from brainobs.errors import DownloadError, InvalidInputError, SourceError, TransientError
from brainobs.storage.fetchers import Fetcher
from brainobs.storage.http import HTTPFetcher
from brainobs.storage.local import LocalFetcher
from brainobs.storage.remote import BlockCache, BlockCacheOptions, RemoteFile
from brainobs.storage.s3 import S3Fetcher
from brainobs.storage.sources import remote_object_for_url
from tests.nwb.conftest import FAST
from tests.nwb.nwb_files import SessionTruth
from tests.support.range_server import Fault, RangeServer

DATA = bytes(range(256)) * 40  # 10,240 bytes
BIG = BlockCacheOptions(block_size=1 << 16)


class Recorder:
    """A fetch function over DATA that records every range asked for."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def __call__(self, start: int, stop: int) -> bytes:
        self.calls.append((start, stop))
        return DATA[start:stop]


def test_block_cache_returns_exact_bytes_and_reuses_blocks() -> None:
    fetch = Recorder()
    cache = BlockCache(fetch, len(DATA), block_size=1000, cache_size=10_000, max_readahead=0)
    assert cache.read(10, 20) == DATA[10:20]
    assert cache.read(500, 999) == DATA[500:999]
    assert fetch.calls == [(0, 1000)]
    assert cache.read(1500, 4200) == DATA[1500:4200]
    assert fetch.calls[1:] == [(1500, 4200)]  # a bulk read: exactly its bytes, one request
    assert cache.read(2000, 2500) == DATA[2000:2500]  # its whole blocks were kept
    assert cache.read(4100, 4300) == DATA[4100:4300]
    assert fetch.calls[2:] == [(4000, 5000)]  # a small read: the block around it
    assert cache.read(10_000, 20_000) == DATA[10_000:]
    assert cache.read(20_000, 20_010) == b""


def test_block_cache_fetches_only_missing_runs() -> None:
    fetch = Recorder()
    cache = BlockCache(fetch, len(DATA), block_size=1000, cache_size=10_000, max_readahead=0)
    cache.read(2000, 2001)
    fetch.calls.clear()
    assert cache.read(0, 5000) == DATA[:5000]
    assert fetch.calls == [(0, 2000), (3000, 5000)]


def test_block_cache_evicts_least_recently_used() -> None:
    fetch = Recorder()
    cache = BlockCache(fetch, len(DATA), block_size=1000, cache_size=2000, max_readahead=0)
    cache.read(0, 1)
    cache.read(1000, 1001)
    cache.read(0, 1)  # block 0 is now the most recent
    cache.read(2000, 2001)  # evicts block 1
    fetch.calls.clear()
    cache.read(0, 1)
    assert fetch.calls == []
    cache.read(1000, 1001)
    assert fetch.calls == [(1000, 2000)]


def test_block_cache_reads_ahead_on_sequential_access() -> None:
    fetch = Recorder()
    cache = BlockCache(fetch, len(DATA), block_size=1000, cache_size=10_000, max_readahead=4000)
    for start in range(0, 6000, 1000):
        assert cache.read(start, start + 1000) == DATA[start : start + 1000]
    assert len(fetch.calls) < 6
    assert fetch.calls[0] == (0, 1000)


def test_block_cache_keeps_only_the_tail_of_a_long_run() -> None:
    fetch = Recorder()
    cache = BlockCache(fetch, len(DATA), block_size=1000, cache_size=2000, max_readahead=0)
    assert cache.read(0, 9500) == DATA[:9500]
    assert fetch.calls == [(0, 9500)]
    fetch.calls.clear()
    assert cache.read(7000, 9000) == DATA[7000:9000]  # the last two whole blocks stayed
    assert fetch.calls == []
    assert cache.read(8500, 9700) == DATA[8500:9700]  # block 8 cached, the rest exact
    assert fetch.calls == [(9000, 9700)]
    assert cache.read(0, 10) == DATA[:10]
    assert fetch.calls[1:] == [(0, 1000)]


def test_block_cache_bulk_read_to_the_end_keeps_the_short_last_block() -> None:
    fetch = Recorder()
    cache = BlockCache(fetch, len(DATA), block_size=1000, cache_size=3000, max_readahead=0)
    assert cache.read(8200, 20_000) == DATA[8200:]
    assert fetch.calls == [(8200, len(DATA))]
    assert cache.read(10_100, 10_240) == DATA[10_100:] and cache.read(9000, 9100)
    assert len(fetch.calls) == 1


def test_block_cache_rejects_bad_block_size() -> None:
    with pytest.raises(InvalidInputError):
        BlockCache(Recorder(), 10, block_size=0)


def _local_remote(tmp_path: Path, block_cache: BlockCacheOptions) -> RemoteFile:
    (tmp_path / "blob.bin").write_bytes(DATA)
    return RemoteFile(LocalFetcher(tmp_path), "blob.bin", block_cache=block_cache)


def test_remote_file_behaves_like_a_binary_file(tmp_path: Path) -> None:
    remote = _local_remote(tmp_path, BlockCacheOptions(block_size=512))
    reader = io.BufferedReader(remote)
    assert remote.size == len(DATA)
    assert reader.read(5) == DATA[:5]
    assert reader.seek(-10, io.SEEK_END) == len(DATA) - 10
    assert reader.read() == DATA[-10:]
    assert reader.read() == b""
    remote.seek(100)
    remote.seek(20, io.SEEK_CUR)
    assert remote.tell() == 120
    assert remote.read(3) == DATA[120:123]
    with pytest.raises(ValueError):
        remote.seek(-1)
    assert remote.readable() and remote.seekable() and not remote.writable()
    assert remote.bytes_transferred == remote.stats.bytes_transferred > 0


class FlakyFetcher(LocalFetcher):
    """A LocalFetcher whose first ``failures`` range reads fail or come back short."""

    def __init__(self, root: Path, failures: int, short: bool = False) -> None:
        super().__init__(root)
        self.failures = failures
        self.short = short

    def read_range(self, key: str, start: int, stop: int, version_id: str | None = None) -> bytes:
        data = super().read_range(key, start, stop, version_id)
        if self.failures > 0:
            self.failures -= 1
            if self.short:
                return data[:-1]
            raise TransientError("connection dropped")
        return data


@pytest.mark.parametrize("short", [False, True])
def test_remote_file_retries_transient_failures(tmp_path: Path, short: bool) -> None:
    (tmp_path / "blob.bin").write_bytes(DATA)
    remote = RemoteFile(FlakyFetcher(tmp_path, 2, short), "blob.bin", settings=FAST)
    assert remote.read(100) == DATA[:100]
    assert remote.stats.requests == 1


def test_remote_file_gives_up_after_the_retries(tmp_path: Path) -> None:
    (tmp_path / "blob.bin").write_bytes(DATA)
    remote = RemoteFile(FlakyFetcher(tmp_path, 10), "blob.bin", settings=FAST)
    with pytest.raises(DownloadError, match="after 3 attempts"):
        remote.read(100)


def test_h5py_over_http_matches_local_reads(session: SessionTruth, server: RangeServer) -> None:
    remote = RemoteFile(HTTPFetcher(server.url, settings=FAST), "session.nwb", block_cache=BIG)
    with h5py.File(remote, "r") as over_http, h5py.File(session.path, "r") as local:
        for path in ("units/spike_times", "units/waveform_mean", "processing/running/speed/data"):
            np.testing.assert_array_equal(over_http[path][100:5000], local[path][100:5000])
        assert over_http["identifier"][()] == local["identifier"][()]
    assert 0 < remote.bytes_transferred < session.path.stat().st_size


def test_h5py_over_http_survives_a_dropped_connection(
    session: SessionTruth, server: RangeServer
) -> None:
    remote = RemoteFile(HTTPFetcher(server.url, settings=FAST), "session.nwb", block_cache=BIG)
    with h5py.File(remote, "r") as h5:
        server.inject("session.nwb", Fault("status", status=503))
        np.testing.assert_array_equal(h5["units/spike_times"][:10], session.spike_times[0][:10])
        assert server.state.next_fault("session.nwb") is None  # the 503 was met and retried


def test_missing_remote_object_is_a_source_error(server: RangeServer) -> None:
    with pytest.raises(SourceError):
        RemoteFile(HTTPFetcher(server.url, settings=FAST), "absent.nwb")


def _fetcher_and_key(url: str, **kwargs: str) -> tuple[Fetcher, str]:
    remote = remote_object_for_url(url, **kwargs)
    return remote.fetcher, remote.key


def test_remote_object_for_url_understands_s3_and_https() -> None:
    fetcher, key = _fetcher_and_key("s3://my-bucket/a/b%20c.nwb", endpoint="http://127.0.0.1:9")
    assert isinstance(fetcher, S3Fetcher) and key == "a/b c.nwb"
    assert fetcher.url_of(key) == "http://127.0.0.1:9/my-bucket/a/b%20c.nwb"
    fetcher, key = _fetcher_and_key("https://host.org/dir/file.nwb")
    assert (
        isinstance(fetcher, HTTPFetcher) and fetcher.url_of(key) == "https://host.org/dir/file.nwb"
    )
    fetcher, key = _fetcher_and_key("https://host.org/assets/123/download/")
    assert isinstance(fetcher, HTTPFetcher)
    assert fetcher.url_of(key) == "https://host.org/assets/123/download/"
    signed = "https://host.org/f.nwb?X-Sig=abc&Expires=1"
    fetcher, key = _fetcher_and_key(signed)
    assert isinstance(fetcher, HTTPFetcher) and fetcher.url_of(key) == signed
    for bad in ("s3://bucket-only", "ftp://host/file", "https://"):
        with pytest.raises(InvalidInputError):
            remote_object_for_url(bad)


def test_fetchers_pickle_to_equivalent_fetchers(tmp_path: Path) -> None:
    settings = TransferSettings(retries=1)
    fetchers: list[Fetcher] = [
        LocalFetcher(tmp_path),
        HTTPFetcher("https://host.org/base", settings=settings),
        S3Fetcher("bucket", region="us-east-1", settings=settings),
        S3Fetcher("bucket", endpoint="http://127.0.0.1:9"),
        remote_object_for_url("https://host.org/f.nwb?sig=1").fetcher,
    ]
    for fetcher in fetchers:
        rebuilt = pickle.loads(pickle.dumps(fetcher))
        assert type(rebuilt) is type(fetcher)
        assert rebuilt.describe() == fetcher.describe()
        assert repr(rebuilt) == repr(fetcher)
        if isinstance(fetcher, (HTTPFetcher, S3Fetcher)):
            assert isinstance(rebuilt, (HTTPFetcher, S3Fetcher))
            assert rebuilt.url_of("k") == fetcher.url_of("k")


def test_remote_object_for_url_reads_over_http(session: SessionTruth, server: RangeServer) -> None:
    remote = remote_object_for_url(f"{server.url}/session.nwb", settings=FAST).open(BIG)
    assert remote.size == session.path.stat().st_size
    assert remote.read(8) == session.path.read_bytes()[:8]
