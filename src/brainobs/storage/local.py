"""A fetcher over a local folder laid out like the bucket (a mirror, a mount, a sample)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from brainobs.errors import SourceError


class _FileStream:
    """A stream over an open local file."""

    def __init__(self, path: Path, start: int) -> None:
        self._handle = path.open("rb")
        self._handle.seek(start)
        self._offset = start
        self._size = path.stat().st_size

    @property
    def offset(self) -> int:
        return self._offset

    @property
    def total_size(self) -> int | None:
        return self._size

    def chunks(self, chunk_size: int) -> Iterator[bytes]:
        while block := self._handle.read(chunk_size):
            yield block

    def close(self) -> None:
        self._handle.close()


#: Where a folder keeps older versions of its objects: ``<root>/.versions/<version id>/<key>``
#: (S3 keeps every version of a key; the folder holds the current one at ``<root>/<key>``).
VERSIONS = ".versions"
_VERSION_ID = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]*$")


class LocalFetcher:
    """Serves ``<root>/<key>``, or an older version of it kept under ``<root>/.versions/``.

    A version id that the folder does not keep is served by the current file, so a plain
    mirror (one version of each key) works with any manifest that lists its files.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser().resolve()

    def __repr__(self) -> str:
        return f"LocalFetcher({str(self.root)!r})"

    def describe(self) -> str:
        """Return a short description of the source."""
        return f"local folder {self.root}"

    def path_of(self, key: str) -> Path:
        """Return the path of ``key`` below the root; refuse keys that leave it."""
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root):
            raise SourceError(f"Key {key!r} points outside {self.root}.")
        return path

    def _existing(self, key: str, version_id: str | None = None) -> Path:
        if version_id is not None and _VERSION_ID.match(version_id):
            older = self.path_of(f"{VERSIONS}/{version_id}/{key}")
            if older.is_file():
                return older
        path = self.path_of(key)
        if not path.is_file():
            raise SourceError(f"{key!r} is not in {self.describe()} (looked for {path}).")
        return path

    def size(self, key: str, version_id: str | None = None) -> int:
        """Return the size in bytes of ``key`` (of its version ``version_id``)."""
        return self._existing(key, version_id).stat().st_size

    def open(self, key: str, version_id: str | None = None, start: int = 0) -> _FileStream:
        """Return a stream of ``key`` (of its version ``version_id``) from byte ``start``."""
        return _FileStream(self._existing(key, version_id), start)

    def read_range(self, key: str, start: int, stop: int, version_id: str | None = None) -> bytes:
        """Return bytes ``[start, stop)`` of ``key`` (of its version ``version_id``)."""
        path = self._existing(key, version_id)
        stop = min(stop, path.stat().st_size)
        with path.open("rb") as handle:
            handle.seek(start)
            return handle.read(max(0, stop - start))

    def list_keys(self, prefix: str) -> list[str]:
        """Return every key under ``prefix``, sorted."""
        base = self.path_of(prefix.rstrip("/")) if prefix.strip("/") else self.root
        if base.is_file():
            return [prefix]
        if not base.is_dir():
            return []
        keys = (p.relative_to(self.root).as_posix() for p in base.rglob("*") if p.is_file())
        return sorted(k for k in keys if k.startswith(prefix) and not k.startswith(VERSIONS))
