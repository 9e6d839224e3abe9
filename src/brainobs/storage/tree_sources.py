"""Where the files of a warehouse-layout cache come from, and what marks one incomplete.

A :class:`TreeSource` serves the files of a warehouse tree (:mod:`brainobs.storage.tree_cache`):
as bytes at a key of some fetcher (:meth:`TreeSource.locate`, with the size and MD5 the source
reports), or built from the source's answers (:meth:`TreeSource.build`: a release service's
tables). :class:`BucketSource` is a tree stored in a bucket; release homes provide others.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from brainobs.storage.fetchers import Fetcher
from brainobs.storage.hdf5_eof import file_truncation_problem
from brainobs.storage.s3 import S3Fetcher


@dataclass(frozen=True)
class RemoteEntry:
    """Where a file of the tree is at a source, and what the source says about it."""

    fetcher: Fetcher
    key: str
    size: int | None = None
    md5: str | None = None
    sha256: str | None = None

    @property
    def digest(self) -> tuple[str | None, str]:
        """Return (the strongest digest the source publishes, its algorithm)."""
        return (self.sha256, "sha256") if self.sha256 else (self.md5, "md5")

    def describe(self) -> str:
        """Return the key and the source, for messages."""
        return f"{self.key} ({self.fetcher.describe()})"


class TreeSource(Protocol):
    """Where the files of a warehouse tree come from."""

    def describe(self) -> str:
        """Return a short description of the source, for messages."""
        ...

    def locate(self, relative: str) -> RemoteEntry | None:
        """Return where the file at ``relative`` is served as bytes (None: it is built)."""
        ...

    def build(self, relative: str) -> bytes | None:
        """Return the content of a file the source derives (a table from queries), or None."""
        ...


class BucketSource:
    """A warehouse tree stored under ``prefix`` of a bucket: S3, an HTTP mirror or a folder.

    On S3 the tree is listed once, which gives every object's size and ETag; other sources
    report sizes one request at a time.
    """

    def __init__(self, fetcher: Fetcher, prefix: str) -> None:
        self.fetcher = fetcher
        self.prefix = prefix.strip("/")
        self._listing: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return f"BucketSource({self.fetcher!r}, {self.prefix!r})"

    def describe(self) -> str:
        """Return the bucket and the prefix of the tree."""
        return f"{self.fetcher.describe()} ({self.prefix}/)"

    def _objects(self) -> dict[str, Any]:
        """Return key -> listing entry of the tree (empty where the source cannot list)."""
        if self._listing is None:
            fetcher = self.fetcher
            self._listing = (
                dict(fetcher.list_objects(self.prefix + "/"))
                if isinstance(fetcher, S3Fetcher)
                else {}
            )
        return self._listing

    def locate(self, relative: str) -> RemoteEntry | None:
        """Return the object of ``relative`` with the size (and MD5) the bucket reports."""
        key = f"{self.prefix}/{relative}"
        listed = self._objects().get(key)
        if listed is not None:
            return RemoteEntry(self.fetcher, key, listed.size, listed.md5)
        return RemoteEntry(self.fetcher, key, self.fetcher.size(key))

    def build(self, relative: str) -> bytes | None:
        """Return None: a bucket serves every file as bytes."""
        return None


def content_problem(path: Path, name: str | None = None) -> str | None:
    """Return why the file at ``path`` is visibly incomplete, or None (NWB/HDF5 and CSV).

    ``name`` is the file's final name when ``path`` is its partial download.
    """
    suffix = Path(name).suffix if name is not None else path.suffix
    if suffix in (".nwb", ".h5", ".hdf5"):
        return file_truncation_problem(path)
    if suffix == ".csv":
        size = path.stat().st_size
        with path.open("rb") as handle:
            handle.seek(max(size - 1, 0))
            last = handle.read(1)
        return None if size and last == b"\n" else "it does not end with a complete line"
    return None
