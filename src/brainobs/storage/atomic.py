"""Atomic writes: a file appears at its path complete, or not at all.

Every writer in brainobs that replaces a file others may read (manifests, the download record,
Parquet tables, reports, exported tables) goes through :func:`atomic_write`: the bytes go to a
temporary file in the same folder, which is renamed onto the path only when the writer finished
without error, and removed otherwise.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str]) -> Iterator[IO[bytes]]:
    """Yield a binary file to write; it replaces ``path`` when the block ends without error."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as stream:
            yield stream
        Path(tmp).replace(target)
    except BaseException:
        with contextlib.suppress(OSError):
            Path(tmp).unlink()
        raise


def write_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_write(path) as stream:
        stream.write(data)
