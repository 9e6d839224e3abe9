"""One file from a source to a final path: resumable, verified, atomic, locked.

The bytes go to ``<target>.part`` in the target's folder, are hashed as they arrive, and
are renamed onto ``target`` only once their size and digest match what is expected (the
manifest's BLAKE2b, or the SHA-256 the DANDI Archive publishes), so a file at a final path is
always complete and verified. A transfer that breaks off resumes
from the bytes already on disk (also after the process was killed); transient failures are
retried with exponential backoff; a lock makes two processes or threads fetching the same
file download it once.

Every byte count is bounded: no more than the manifest's size (else the size the source
declares) is written, a source whose size disagrees with the manifest is refused before any
byte is saved, and the free space is checked before the first byte. A link planted at the
``.part`` or lock path is removed (the link, never its target) and never written through.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import queue
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TypeVar

from tqdm.auto import tqdm

from brainobs.config import TransferSettings
from brainobs.errors import (
    BrainobsError,
    CacheError,
    DownloadError,
    HashMismatchError,
    InvalidInputError,
    ManifestError,
    SourceError,
    TransientError,
)
from brainobs.storage.confine import cache_lock, is_regular_file
from brainobs.storage.fetchers import ByteStream, Fetcher
from brainobs.storage.hashing import ALGORITHMS, CHUNK_SIZE, Hasher, is_hex_digest, new_hasher
from brainobs.storage.manifest import MAX_MANIFEST_BYTES

T = TypeVar("T")

REPAIR_HINT = "Run `brainobs cache verify --repair` or fetch it again."


@dataclass(frozen=True)
class Expected:
    """What the downloaded bytes must be: a digest and, when known, the size.

    ``algorithm`` names the digest: ``"blake2b"`` (the releases' manifests), ``"sha256"``
    (what the DANDI Archive publishes for every asset) or ``"md5"`` (an S3 ETag). A source
    that publishes no digest (``file_hash=None``) is checked by size only, and ``check``
    (given the finished ``.part`` file, returning a problem or None) inspects the content
    before the file is published.
    """

    file_hash: str | None
    size: int | None = None
    algorithm: str = "blake2b"
    check: Callable[[Path], str | None] | None = None

    def __post_init__(self) -> None:
        if self.file_hash is not None and not is_hex_digest(self.file_hash, self.algorithm):
            label = ALGORITHMS.get(self.algorithm, self.algorithm)
            raise InvalidInputError(
                f"{self.file_hash!r} is not a lowercase hex {label} digest; digests brainobs "
                f"verifies: {', '.join(ALGORITHMS)}."
            )


@dataclass
class _Partial:
    """The ``.part`` file being filled, with the digest of the bytes already in it."""

    path: Path
    hasher: Hasher
    algorithm: str
    written: int = 0

    @classmethod
    def resume(cls, path: Path, algorithm: str) -> _Partial:
        """Return the state of ``path``, hashing the bytes an earlier attempt left there.

        Anything but a regular file at ``path`` (a planted link, a pipe) is removed first:
        the entry itself, never what a link points to.
        """
        _clear_odd_entry(path)
        hasher = new_hasher(algorithm)
        written = 0
        if is_regular_file(path):
            with _open_part(path, os.O_RDONLY) as handle:
                while block := handle.read(CHUNK_SIZE):
                    hasher.update(block)
                    written += len(block)
        return cls(path, hasher, algorithm, written)

    def restart(self) -> None:
        """Forget every byte written so far."""
        self.path.unlink(missing_ok=True)
        self.hasher = new_hasher(self.algorithm)
        self.written = 0

    def discard_if_empty(self) -> None:
        """Remove the ``.part`` file if no byte reached it (nothing worth resuming)."""
        if self.written == 0:
            with contextlib.suppress(OSError):
                self.path.unlink(missing_ok=True)


def _clear_odd_entry(path: Path) -> None:
    """Remove a link, pipe or device at ``path``; refuse a folder there."""
    if not (path.is_symlink() or path.exists()) or is_regular_file(path):
        return
    if path.is_dir() and not path.is_symlink():
        raise CacheError(f"{path} is a folder where brainobs keeps a partial download; remove it.")
    path.unlink()


def _open_part(path: Path, flags: int) -> BinaryIO:
    """Return ``path`` opened without following a link (unbuffered when writing)."""
    nofollow = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags | nofollow, 0o644)
    return os.fdopen(fd, "rb" if flags == os.O_RDONLY else "ab", buffering=0)


def lock_path_for(target: Path, lock_dir: Path | None = None) -> Path:
    """Return the lock file that guards downloads of ``target`` (kept in ``lock_dir``)."""
    if lock_dir is None:
        return target.with_name(f".{target.name}.lock")
    digest = hashlib.blake2b(str(target.absolute()).encode(), digest_size=10).hexdigest()
    return lock_dir / f"{target.name}.{digest}.lock"


def download_file(
    fetcher: Fetcher,
    key: str,
    target: str | Path,
    expected: Expected,
    version_id: str | None = None,
    settings: TransferSettings | None = None,
    show_progress: bool = False,
    lock_dir: Path | None = None,
) -> Path:
    """Return ``target`` after fetching ``key`` into it, verified against ``expected``.

    ``lock_dir`` holds the lock files (default: beside ``target``).
    """
    target = Path(target)
    settings = settings or TransferSettings.from_env()
    make_cache_folder(target.parent)
    if lock_dir is not None:
        make_cache_folder(lock_dir)
    with cache_lock(lock_path_for(target, lock_dir)):
        if is_regular_file(target):  # another process finished it while we waited
            return target
        partial = _Partial.resume(target.with_name(target.name + ".part"), expected.algorithm)
        for _attempt in range(2):
            try:
                _transfer_with_retries(
                    fetcher, key, version_id, partial, settings, show_progress, expected.size
                )
                problem = _check(partial, expected)
            except _SizeMismatchError as exc:  # declared before any byte was saved
                problem = str(exc)
            if problem is None:
                _publish(partial.path, target)
                return target
            partial.restart()
        raise HashMismatchError(
            f"{key} from {fetcher.describe()} failed verification twice ({problem}); "
            f"nothing was saved at {target}. The source may be serving a damaged or changed "
            "file; try again later or check the manifest version."
        )


def make_cache_folder(folder: Path) -> None:
    """Create ``folder`` (and parents); raise CacheError saying how to pick a writable one."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CacheError(
            f"Cannot create the cache folder {folder}: {exc.strerror}. Choose a writable "
            "cache with cache_dir=... or the BRAINOBS_CACHE_DIR environment variable."
        ) from exc
    if not os.access(folder, os.W_OK):
        raise CacheError(
            f"The cache folder {folder} is not writable. Choose a writable cache with "
            "cache_dir=... or the BRAINOBS_CACHE_DIR environment variable."
        )


def _transfer_with_retries(
    fetcher: Fetcher,
    key: str,
    version_id: str | None,
    partial: _Partial,
    settings: TransferSettings,
    show_progress: bool,
    size: int | None = None,
) -> None:
    """Fill ``partial`` to the end of the object, resuming after transient failures."""
    for attempt in range(settings.retries + 1):
        try:
            _transfer(fetcher, key, version_id, partial, settings, show_progress, size)
            return
        except TransientError as exc:
            if attempt == settings.retries:
                raise TransientError(
                    f"Gave up on {key} after {attempt + 1} attempts: {exc}. "
                    f"{partial.written} bytes are kept in {partial.path}; run the same "
                    "command again to resume."
                ) from exc
            time.sleep(settings.backoff(attempt + 1))


def _transfer(
    fetcher: Fetcher,
    key: str,
    version_id: str | None,
    partial: _Partial,
    settings: TransferSettings,
    show_progress: bool,
    size: int | None = None,
) -> None:
    """Append the rest of the object to ``partial`` in one request (at most ``size`` bytes)."""
    stream = fetcher.open(key, version_id=version_id, start=partial.written)
    try:
        if stream.offset != partial.written:  # the source ignored the range: start over
            partial.restart()
        limit = _byte_limit(stream, key, fetcher, size)
        if partial.written > limit:  # left by an earlier, longer download: start over
            partial.restart()
            raise TransientError(f"{partial.path} was longer than {key}; starting over.")
        _check_free_space(partial, limit)
        try:
            _receive(stream, partial, settings, limit, _bar(stream, partial, key, show_progress))
        finally:
            partial.discard_if_empty()
    finally:
        stream.close()


def _bar(stream: ByteStream, partial: _Partial, key: str, show: bool) -> tqdm:
    """Return the progress bar of one transfer."""
    return tqdm(
        total=stream.total_size,
        initial=partial.written,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc=key.rsplit("/", 1)[-1],
        disable=not show,
        leave=False,
    )


def _receive(
    stream: ByteStream,
    partial: _Partial,
    settings: TransferSettings,
    limit: int,
    bar: tqdm,
) -> None:
    """Write the stream's blocks to ``partial`` until its end or ``limit`` bytes in all."""
    try:
        handle = _open_part(partial.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        with bar, handle, _HashingThread(partial.hasher) as hasher, _Flusher(handle) as flusher:
            for block in stream.chunks(settings.chunk_size):
                room = limit - partial.written
                if len(block) > room:  # more than declared: keep what fits, drop the rest
                    block = block[:room]
                _append(handle, block, partial)
                hasher.feed(block)
                flusher.wrote(len(block))
                partial.written += len(block)
                bar.update(len(block))
                if partial.written >= limit:
                    break
    except BrainobsError:
        raise
    except OSError as exc:  # opening, syncing or closing the .part file failed
        raise _disk_error(exc, partial) from exc


class _SizeMismatchError(Exception):
    """The source declares another size than the manifest (a failed verification)."""


def _byte_limit(stream: ByteStream, key: str, fetcher: Fetcher, size: int | None) -> int:
    """Return how many bytes the object may have: the manifest's size, else the source's."""
    declared = stream.total_size
    if size is not None and declared is not None and declared != size:
        raise _SizeMismatchError(f"the source declares {declared} bytes instead of {size}")
    limit = size if size is not None else declared
    if limit is None:
        raise SourceError(
            f"{fetcher.describe()} does not say how big {key} is and the manifest gives no "
            "size, so the download has no bound; brainobs does not download it. Use a source "
            "that sends Content-Length (S3 and static file servers do)."
        )
    return limit


def _check_free_space(partial: _Partial, limit: int) -> None:
    """Raise DownloadError before the first byte if the disk cannot hold the rest."""
    needed = limit - partial.written
    try:
        free = shutil.disk_usage(partial.path.parent).free
    except OSError:
        return
    if needed > free:
        partial.discard_if_empty()
        raise DownloadError(
            f"The disk holding {partial.path.parent} has {free:,} bytes free; "
            f"{partial.path.name[:-5]} needs {needed:,} more. Free some space (or choose "
            "another cache with cache_dir=... / BRAINOBS_CACHE_DIR) and run the same "
            "command again."
        )


_datasync = getattr(os, "fdatasync", os.fsync)  # macOS has no fdatasync


class _Flusher:
    """Pushes written bytes to disk in a background thread while the transfer goes on.

    The verified file must be on disk before it is renamed into place (else a crash could
    leave a renamed but empty file). Syncing every ``every`` bytes as they arrive overlaps
    the disk's work with the network's, so the final fsync only waits for the tail.
    """

    def __init__(self, handle: BinaryIO, every: int = 64 << 20) -> None:
        self._handle = handle
        self._every = every
        self._pending = 0
        self._wake = threading.Event()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="brainobs-sync", daemon=True)

    def _run(self) -> None:
        while self._wake.wait() and not self._stop:
            self._wake.clear()
            _datasync(self._handle.fileno())

    def wrote(self, n: int) -> None:
        """Count ``n`` more bytes written; wake the syncing thread every ``every`` bytes."""
        self._pending += n
        if self._pending >= self._every:
            self._pending = 0
            self._handle.flush()
            self._wake.set()

    def __enter__(self) -> _Flusher:
        self._thread.start()
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self._stop = True
        self._wake.set()
        self._thread.join()
        if exc_type is None:
            self._handle.flush()
            os.fsync(self._handle.fileno())


class _HashingThread:
    """Hashes blocks in a second thread while the first receives and writes the next ones.

    hashlib releases the GIL on large buffers, so on two cores hashing overlaps the network
    and the disk instead of adding to them. The hasher has seen every fed block on exit.
    """

    _DONE = None

    def __init__(self, hasher: Hasher, depth: int = 8) -> None:
        self._hasher = hasher
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=depth)
        self._thread = threading.Thread(target=self._run, name="brainobs-hash", daemon=True)

    def _run(self) -> None:
        while (block := self._queue.get()) is not self._DONE:
            self._hasher.update(block)

    def feed(self, block: bytes) -> None:
        """Queue ``block`` for hashing (blocks while the queue is full)."""
        if block:
            self._queue.put(block)

    def __enter__(self) -> _HashingThread:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._queue.put(self._DONE)
        self._thread.join()


def _append(handle: BinaryIO, block: bytes, partial: _Partial) -> None:
    """Write ``block``; turn a failing disk into an error that says what to do."""
    try:
        _write_block(handle, block)
    except OSError as exc:
        raise _disk_error(exc, partial) from exc


def _disk_error(exc: OSError, partial: _Partial) -> DownloadError:
    """Return the error for a write to ``partial`` that failed with ``exc``."""
    what = "The disk is full" if exc.errno == errno.ENOSPC else f"Writing failed ({exc.strerror})"
    kept = (
        f"{partial.written} bytes are kept in {partial.path}: the download resumes from there"
        if partial.written
        else "nothing was kept"
    )
    return DownloadError(
        f"{what} while saving {partial.path.name[:-5]}; {kept}. Free some space and run the "
        "same command again."
    )


def _write_block(handle: BinaryIO, block: bytes) -> None:
    """Write all of ``block`` to ``handle`` (a seam for tests that simulate a failing disk)."""
    view = memoryview(block)
    while view:
        written = handle.write(view)
        if not written:
            raise OSError(errno.EIO, "the disk accepted no bytes")
        view = view[written:]


def _check(partial: _Partial, expected: Expected) -> str | None:
    """Return why the finished ``partial`` is not the expected file, or None if it is."""
    if expected.size is not None and partial.written != expected.size:
        return f"{partial.written} bytes instead of {expected.size}"
    digest = partial.hasher.hexdigest()
    if expected.file_hash is not None and digest != expected.file_hash:
        label = ALGORITHMS[expected.algorithm]
        return f"{label} {digest[:12]}... instead of {expected.file_hash[:12]}..."
    return expected.check(partial.path) if expected.check is not None else None


def _publish(part: Path, target: Path) -> None:
    """Atomically move the verified ``part`` onto ``target`` and persist the rename."""
    part.replace(target)
    try:
        fd = os.open(target.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_object(
    fetcher: Fetcher,
    key: str,
    settings: TransferSettings | None = None,
    limit: int = MAX_MANIFEST_BYTES,
) -> bytes:
    """Return the whole object ``key`` (a manifest), retried like a download, at most ``limit``.

    Raises ManifestError when the source sends more than ``limit`` bytes.
    """
    settings = settings or TransferSettings.from_env()

    def attempt() -> bytes:
        stream = fetcher.open(key)
        try:
            declared = stream.total_size
            if declared is not None and declared > limit:
                raise _too_big(fetcher, key, limit)
            body = bytearray()
            for block in stream.chunks(1 << 20):
                body += block
                if len(body) > limit:
                    raise _too_big(fetcher, key, limit)
            return bytes(body)
        finally:
            stream.close()

    return with_retries(attempt, settings)


def _too_big(fetcher: Fetcher, key: str, limit: int) -> ManifestError:
    return ManifestError(
        f"{key} from {fetcher.describe()} is larger than {limit:,} bytes, which no manifest "
        "is; the source is not serving a manifest there. Check the source address."
    )


def with_retries(call: Callable[[], T], settings: TransferSettings) -> T:
    """Return ``call()``, retried with backoff while it raises TransientError."""
    for attempt in range(settings.retries + 1):
        try:
            return call()
        except TransientError as exc:
            if attempt == settings.retries:
                raise TransientError(
                    f"Gave up after {attempt + 1} attempts: {exc} Check the connection (or "
                    "raise BRAINOBS_RETRIES) and run the same command again."
                ) from exc
            time.sleep(settings.backoff(attempt + 1))
    raise AssertionError("unreachable")  # pragma: no cover
