"""One file from a source to a final path: resumable, verified, atomic, locked.

The bytes go to ``<target>.part`` in the target's folder, are hashed as they arrive, and
are renamed onto ``target`` only once their size and digest match what is expected (the
manifest's BLAKE2b, or the SHA-256 the DANDI Archive publishes), so a file at a final path is
always complete and verified. A transfer that breaks off resumes
from the bytes already on disk (also after the process was killed); transient failures are
retried with exponential backoff; a lock makes two processes or threads fetching the same
file download it once.
"""

from __future__ import annotations

import errno
import hashlib
import os
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from filelock import FileLock
from tqdm.auto import tqdm

from brainobs.config import TransferSettings
from brainobs.errors import (
    CacheError,
    DownloadError,
    HashMismatchError,
    InvalidInputError,
    TransientError,
)
from brainobs.storage.fetchers import Fetcher
from brainobs.storage.hashing import ALGORITHMS, Hasher, is_hex_digest, new_hasher, update_from_file

REPAIR_HINT = "Run `brainobs cache verify --repair` or fetch it again."


@dataclass(frozen=True)
class Expected:
    """What the downloaded bytes must be: a digest and, when known, the size.

    ``algorithm`` names the digest: ``"blake2b"`` (the releases' manifests) or ``"sha256"``
    (what the DANDI Archive publishes for every asset).
    """

    file_hash: str
    size: int | None = None
    algorithm: str = "blake2b"

    def __post_init__(self) -> None:
        if not is_hex_digest(self.file_hash, self.algorithm):
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
        """Return the state of ``path``, hashing the bytes an earlier attempt left there."""
        hasher = new_hasher(algorithm)
        written = update_from_file(hasher, path) if path.is_file() else 0
        return cls(path, hasher, algorithm, written)

    def restart(self) -> None:
        """Forget every byte written so far."""
        self.path.unlink(missing_ok=True)
        self.hasher = new_hasher(self.algorithm)
        self.written = 0


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
    with FileLock(str(lock_path_for(target, lock_dir))):
        if target.is_file():  # another process finished it while we waited
            return target
        partial = _Partial.resume(target.with_name(target.name + ".part"), expected.algorithm)
        for _attempt in range(2):
            _transfer_with_retries(fetcher, key, version_id, partial, settings, show_progress)
            problem = _check(partial, expected)
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
) -> None:
    """Fill ``partial`` to the end of the object, resuming after transient failures."""
    for attempt in range(settings.retries + 1):
        try:
            _transfer(fetcher, key, version_id, partial, settings, show_progress)
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
) -> None:
    """Append the rest of the object to ``partial`` in one request."""
    stream = fetcher.open(key, version_id=version_id, start=partial.written)
    try:
        if stream.offset != partial.written:  # the source ignored the range: start over
            partial.restart()
        bar = tqdm(
            total=stream.total_size,
            initial=partial.written,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=key.rsplit("/", 1)[-1],
            disable=not show_progress,
            leave=False,
        )
        with (
            bar,
            partial.path.open("ab") as handle,
            _HashingThread(partial.hasher) as hasher,
            _Flusher(handle) as flusher,
        ):
            for block in stream.chunks(settings.chunk_size):
                _append(handle, block, partial)
                hasher.feed(block)
                flusher.wrote(len(block))
                partial.written += len(block)
                bar.update(len(block))
    finally:
        stream.close()


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
        what = "The disk is full" if exc.errno == errno.ENOSPC else f"Writing failed ({exc})"
        raise DownloadError(
            f"{what} while saving {partial.path.name[:-5]} ({partial.written} bytes written to "
            f"{partial.path}). Free some space and run the same command again: the download "
            "resumes from there."
        ) from exc


def _write_block(handle: BinaryIO, block: bytes) -> None:
    """Write ``block`` to ``handle`` (a seam for tests that simulate a failing disk)."""
    handle.write(block)


def _check(partial: _Partial, expected: Expected) -> str | None:
    """Return why the finished ``partial`` is not the expected file, or None if it is."""
    if expected.size is not None and partial.written != expected.size:
        return f"{partial.written} bytes instead of {expected.size}"
    digest = partial.hasher.hexdigest()
    if digest != expected.file_hash:
        label = ALGORITHMS[expected.algorithm]
        return f"{label} {digest[:12]}... instead of {expected.file_hash[:12]}..."
    return None


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
