"""Atomic writes: a file appears at its path complete, or not at all.

Every writer in brainobs that replaces a file others may read (manifests, the download record,
Parquet tables, reports, exported tables) goes through :func:`atomic_write`: the bytes go to a
temporary file in the same folder, which is renamed onto the path only when the writer finished
without error, and removed otherwise. A full disk, a read-only place or a missing permission is
a :class:`~brainobs.errors.CacheError` naming the path (and no temporary file is left).
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from brainobs.errors import CacheError

#: Write failures that are about the place, not the writer: reported as CacheError.
_PLACE_ERRORS = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM}
)


def _place_error(target: Path, exc: OSError) -> CacheError:
    """Return the error for a write to ``target`` that the disk or folder refused."""
    what = "the disk is full" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else exc.strerror
    return CacheError(
        f"Cannot write {target}: {what}. Free some space or choose a writable folder "
        "(for the cache: cache_dir=... or BRAINOBS_CACHE_DIR); nothing was changed there."
    )


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str]) -> Iterator[IO[bytes]]:
    """Yield a binary file to write; it replaces ``path`` when the block ends without error."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise _place_error(target, exc) from exc
    try:
        with os.fdopen(fd, "wb") as stream:
            yield stream
        Path(tmp).replace(target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            Path(tmp).unlink()
        if isinstance(exc, OSError) and exc.errno in _PLACE_ERRORS:
            raise _place_error(target, exc) from exc
        raise


def write_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_write(path) as stream:
        stream.write(data)
