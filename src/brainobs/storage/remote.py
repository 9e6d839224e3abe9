"""A seekable, read-only file object over byte ranges of a remote object, for h5py.

``h5py.File(RemoteFile(...), "r")`` reads an NWB file on S3 or an HTTPS server by byte
ranges: only the blocks HDF5 asks for travel. A small LRU cache of fixed-size blocks keeps the
many small metadata reads HDF5 makes cheap; missing neighbouring blocks are fetched in one
request, and a run of sequential reads (a chunked dataset read in order) grows a read-ahead.
A read of a block or more that does not continue the previous one (a contiguous dataset read
in one piece) is fetched exactly, with no rounding to blocks.
Every byte fetched is counted (:attr:`RemoteFile.bytes_transferred`).
"""

from __future__ import annotations

import io
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from brainobs.config import TransferSettings
from brainobs.errors import DownloadError, InvalidInputError, TransientError
from brainobs.storage.fetchers import Fetcher

T = TypeVar("T")

DEFAULT_BLOCK_SIZE = 512 << 10  # 512 KiB
DEFAULT_CACHE_SIZE = 64 << 20  # 64 MiB of blocks kept per open file
DEFAULT_MAX_READAHEAD = 16 << 20


@dataclass(frozen=True)
class BlockCacheOptions:
    """How a remote file is read: block size, blocks kept, and the largest read-ahead (bytes)."""

    block_size: int = DEFAULT_BLOCK_SIZE
    cache_size: int = DEFAULT_CACHE_SIZE
    max_readahead: int = DEFAULT_MAX_READAHEAD


class BlockCache:
    """LRU cache of fixed-size blocks of one object, filled through ``fetch(start, stop)``."""

    def __init__(
        self,
        fetch: Callable[[int, int], bytes],
        size: int,
        block_size: int = DEFAULT_BLOCK_SIZE,
        cache_size: int = DEFAULT_CACHE_SIZE,
        max_readahead: int = DEFAULT_MAX_READAHEAD,
    ) -> None:
        if block_size <= 0:
            raise InvalidInputError(f"block_size must be positive, not {block_size}.")
        self._fetch = fetch
        self.size = size
        self.block_size = block_size
        self.max_blocks = max(1, cache_size // block_size)
        self.max_readahead_blocks = max(0, max_readahead // block_size)
        self._blocks: OrderedDict[int, bytes] = OrderedDict()
        self._pinned: list[tuple[int, bytes]] = []  # planned reads, fetched exactly
        self._last_stop = -1
        self._run_start = 0  # where the current run of back-to-back reads began
        self._streak = 0  # bytes of that run before the current read
        self._lock = threading.Lock()

    def read(self, start: int, stop: int) -> bytes:
        """Return bytes ``[start, stop)`` (clipped to the object), from cache or fetched."""
        out = bytearray(max(0, min(stop, self.size) - start))
        return bytes(out[: self.read_into(start, memoryview(out))])

    def read_into(self, start: int, out: memoryview) -> int:
        """Copy bytes from ``start`` into ``out``; return how many (fewer at the end)."""
        stop = min(start + len(out), self.size)
        if stop <= start:
            return 0
        first, last = start // self.block_size, (stop - 1) // self.block_size
        with self._lock:
            if self._from_pinned(start, stop, out):
                return stop - start
            sequential = start == self._last_stop
            if not sequential:
                self._run_start = start
            self._streak, self._last_stop = start - self._run_start, stop
            if stop - start >= self.block_size and not sequential:
                return self._read_exact(start, stop, out)
            blocks = self._gather(first, last)
        written = 0
        for index in range(first, last + 1):
            block_start = index * self.block_size
            a = max(start, block_start) - block_start
            b = min(stop, block_start + self.block_size) - block_start
            out[written : written + b - a] = blocks[index][a:b]
            written += b - a
        return written

    def pin(self, ranges: list[tuple[int, int]]) -> None:
        """Fetch each byte range exactly (one request each) and serve reads inside it from memory.

        A reader that knows which bytes it needs (the chunks of a planned dataset read) pins
        them first, so that HDF5's reads cost exactly those bytes; :meth:`unpin` drops them.
        """
        pinned = []
        for start, stop in ranges:
            stop = min(stop, self.size)
            if stop > start:
                pinned.append((start, self._fetch(start, stop)))
        with self._lock:
            self._pinned = sorted(pinned, key=lambda item: item[0])

    def unpin(self) -> None:
        """Drop the pinned ranges."""
        with self._lock:
            self._pinned = []

    def _from_pinned(self, start: int, stop: int, out: memoryview) -> bool:
        """Copy ``[start, stop)`` from a pinned range holding all of it; return whether one did."""
        for origin, data in self._pinned:
            if origin <= start and stop <= origin + len(data):
                out[: stop - start] = memoryview(data)[start - origin : stop - origin]
                return True
        return False

    def _read_exact(self, start: int, stop: int, out: memoryview) -> int:
        """Copy ``[start, stop)`` into ``out``: cached blocks as they are, the rest fetched exactly.

        A dataset read in one piece (spike times of a run of units) costs its own bytes only,
        not a rounding to blocks; the whole blocks at the end of a fetched piece are cached.
        """
        size = self.block_size
        first, last = start // size, (stop - 1) // size
        for run_first, run_last, cached in _segments(first, last, self._blocks):
            a, b = max(start, run_first * size), min(stop, (run_last + 1) * size)
            if cached:
                for index in range(run_first, run_last + 1):
                    self._blocks.move_to_end(index)
                    lo, hi = max(a, index * size), min(b, (index + 1) * size)
                    out[lo - start : hi - start] = self._blocks[index][
                        lo - index * size : hi - index * size
                    ]
                continue
            data = self._fetch(a, b)
            out[a - start : b - start] = data
            self._keep_whole_blocks(a, b, data)
        return stop - start

    def _keep_whole_blocks(self, a: int, b: int, data: bytes) -> None:
        """Cache the last whole blocks of the fetched bytes ``[a, b)`` (at most the cache)."""
        size = self.block_size
        first, end = -(-a // size), min(b, self.size) // size
        if min(b, self.size) == self.size:
            end = -(-self.size // size)  # the object's last, short block is whole too
        for index in range(max(first, end - self.max_blocks), end):
            lo = index * size
            self._blocks[index] = bytes(data[lo - a : min(lo + size, self.size) - a])
        while len(self._blocks) > self.max_blocks:
            self._blocks.popitem(last=False)

    def _gather(self, first: int, last: int) -> dict[int, bytes | memoryview]:
        """Return blocks ``first..last``, fetching each missing run in one request."""
        found: dict[int, bytes | memoryview] = {}
        missing: list[int] = []
        for index in range(first, last + 1):
            block = self._blocks.get(index)
            if block is None:
                missing.append(index)
            else:
                self._blocks.move_to_end(index)
                found[index] = block
        for run_first, run_last in _runs(missing):
            if run_last == last:
                run_last = self._extend_readahead(run_last)
            found.update(self._fetch_run(run_first, run_last))
        return found

    def _extend_readahead(self, run_last: int) -> int:
        """Return the last block to fetch, with read-ahead added on sequential reading.

        A reader that has just read N bytes back to back (a chunked dataset read in order)
        gets up to N more, capped by ``max_readahead``; scattered metadata reads get none.
        """
        ahead = min(self.max_readahead_blocks, self._streak // self.block_size)
        n_blocks = -(-self.size // self.block_size)
        limit = min(n_blocks - 1, run_last + ahead)
        while run_last < limit and run_last + 1 not in self._blocks:
            run_last += 1
        return run_last

    def _fetch_run(self, first: int, last: int) -> dict[int, memoryview]:
        """Return blocks ``first..last`` fetched in one request; cache the last of them.

        A run longer than the cache keeps only its last blocks (what a sequential reader
        asks for next), copied out so that the run's buffer is not held alive.
        """
        start = first * self.block_size
        stop = min(self.size, (last + 1) * self.block_size)
        data = memoryview(self._fetch(start, stop))
        size = self.block_size
        blocks = {
            i: data[(i - first) * size : (i - first + 1) * size] for i in range(first, last + 1)
        }
        for index in range(max(first, last + 1 - self.max_blocks), last + 1):
            self._blocks[index] = bytes(blocks[index])
        while len(self._blocks) > self.max_blocks:
            self._blocks.popitem(last=False)
        return blocks

    def clear(self) -> None:
        """Drop every cached block."""
        with self._lock:
            self._blocks.clear()


def _segments(
    first: int, last: int, cached: OrderedDict[int, bytes]
) -> list[tuple[int, int, bool]]:
    """Return the runs of blocks ``first..last`` as (first, last, whether cached) triples."""
    segments: list[tuple[int, int, bool]] = []
    for index in range(first, last + 1):
        hit = index in cached
        if segments and segments[-1][2] == hit:
            segments[-1] = (segments[-1][0], index, hit)
        else:
            segments.append((index, index, hit))
    return segments


def _runs(indices: list[int]) -> list[tuple[int, int]]:
    """Return the consecutive runs of sorted ``indices`` as (first, last) pairs."""
    runs: list[tuple[int, int]] = []
    for index in indices:
        if runs and runs[-1][1] == index - 1:
            runs[-1] = (runs[-1][0], index)
        else:
            runs.append((index, index))
    return runs


@dataclass
class TransferStats:
    """Bytes and requests a :class:`RemoteFile` has fetched from its source."""

    bytes_transferred: int = 0
    requests: int = 0
    ranges: list[tuple[int, int]] = field(default_factory=list)

    def record(self, start: int, stop: int) -> None:
        """Count one fetched range."""
        self.bytes_transferred += stop - start
        self.requests += 1
        self.ranges.append((start, stop))


class RemoteFile(io.RawIOBase):
    """A read-only, seekable file over object ``key`` of ``fetcher``, read by byte ranges.

    Transient failures are retried with the backoff of ``settings``; a range the source
    answers short is retried as well. Pass ``size`` when it is known (from a manifest) to
    save one request; ``block_cache`` sets the block size and how many blocks are kept.
    """

    def __init__(
        self,
        fetcher: Fetcher,
        key: str,
        version_id: str | None = None,
        *,
        size: int | None = None,
        block_cache: BlockCacheOptions | None = None,
        settings: TransferSettings | None = None,
    ) -> None:
        super().__init__()
        self.fetcher = fetcher
        self.key = key
        self.version_id = version_id
        self.settings = settings or _settings_of(fetcher)
        self.stats = TransferStats()
        self.last_error: Exception | None = None
        if size is None:
            size = self._with_retries(lambda: fetcher.size(key, version_id))
        self._size: int = size
        options = block_cache or BlockCacheOptions()
        self._cache = BlockCache(
            self._fetch, self._size, options.block_size, options.cache_size, options.max_readahead
        )
        self._position = 0

    def __repr__(self) -> str:
        return f"RemoteFile({self.fetcher!r}, {self.key!r})"

    @property
    def name(self) -> str:
        """Return a description of the object for messages."""
        return f"{self.key} on {self.fetcher.describe()}"

    @property
    def size(self) -> int:
        """Return the object's size in bytes."""
        return self._size

    @property
    def bytes_transferred(self) -> int:
        """Return how many bytes have been fetched from the source so far."""
        return self.stats.bytes_transferred

    def reset_stats(self) -> None:
        """Zero the transfer counters (the block cache is kept)."""
        self.stats = TransferStats()

    def clear_cache(self) -> None:
        """Drop the cached blocks, so that the next reads fetch again."""
        self._cache.clear()

    def pin(self, ranges: list[tuple[int, int]]) -> None:
        """Fetch the byte ranges a planned read needs, exactly, and serve reads from them."""
        self._cache.pin(ranges)

    def unpin(self) -> None:
        """Drop the ranges :meth:`pin` fetched."""
        self._cache.unpin()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def writable(self) -> bool:
        return False

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            position = offset
        elif whence == io.SEEK_CUR:
            position = self._position + offset
        elif whence == io.SEEK_END:
            position = self._size + offset
        else:
            raise ValueError(f"whence must be 0, 1 or 2, not {whence}")
        if position < 0:
            raise ValueError(f"negative seek position {position}")
        self._position = position
        return position

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        count = self._cache.read_into(self._position, view)
        self._position += count
        return count

    def _fetch(self, start: int, stop: int) -> bytes:
        """Return bytes ``[start, stop)`` from the source, retrying transient failures."""

        def attempt() -> bytes:
            data = self.fetcher.read_range(self.key, start, stop, self.version_id)
            if len(data) != stop - start:
                raise TransientError(
                    f"{self.name} answered {len(data)} bytes for range {start}-{stop} "
                    f"({stop - start} expected)."
                )
            return data

        try:
            data = self._with_retries(attempt)
        except Exception as exc:
            self.last_error = exc  # h5py may report it only as a generic HDF5 read error
            raise
        self.stats.record(start, stop)
        return data

    def _with_retries(self, call: Callable[[], T]) -> T:
        """Return ``call()``, retried with backoff while it raises TransientError."""
        retries = self.settings.retries
        for attempt in range(retries + 1):
            try:
                return call()
            except TransientError as exc:
                if attempt == retries:
                    raise DownloadError(
                        f"Reading {self.name} failed after {attempt + 1} attempts: {exc}. "
                        "Check the connection (or raise BRAINOBS_RETRIES) and try again."
                    ) from exc
                time.sleep(self.settings.backoff(attempt + 1))
        raise AssertionError("unreachable")  # pragma: no cover


def _settings_of(fetcher: Fetcher) -> TransferSettings:
    """Return the transfer settings a fetcher was built with, else those of the environment."""
    transport = getattr(fetcher, "transport", None)
    settings = getattr(transport, "settings", None)
    return settings if isinstance(settings, TransferSettings) else TransferSettings.from_env()


@dataclass(frozen=True)
class RemoteObject:
    """One object of a source, to be read by byte ranges; pickles with its fetcher.

    ``size`` (from a manifest, when known) saves a request when the object is opened.
    """

    fetcher: Fetcher
    key: str
    version_id: str | None = None
    size: int | None = None

    def describe(self) -> str:
        """Return the key and the source, for messages."""
        return f"{self.key} ({self.fetcher.describe()})"

    def open(
        self, block_cache: BlockCacheOptions | None = None, settings: TransferSettings | None = None
    ) -> RemoteFile:
        """Return a seekable file over the object, read by byte ranges."""
        return RemoteFile(
            self.fetcher,
            self.key,
            self.version_id,
            size=self.size,
            block_cache=block_cache,
            settings=settings,
        )
