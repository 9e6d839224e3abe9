"""The fetcher interface: how bytes of a release's objects are read from a source.

A fetcher serves the objects of one bucket by key (``visual-behavior-neuropixels/...``).
Three implementations share this interface and one conformance test suite:
:class:`~brainobs.storage.local.LocalFetcher` (a folder laid out like the bucket),
:class:`~brainobs.storage.http.HTTPFetcher` (any HTTPS server with Range support) and
:class:`~brainobs.storage.s3.S3Fetcher` (anonymous S3 protocol, AWS or a mirror).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, runtime_checkable


class ByteStream(Protocol):
    """An open transfer of one object from some offset to its end."""

    @property
    def offset(self) -> int:
        """Return the position in the object of the first byte this stream yields."""
        ...

    @property
    def total_size(self) -> int | None:
        """Return the size of the whole object, when the source says it."""
        ...

    def chunks(self, chunk_size: int) -> Iterator[bytes]:
        """Yield the bytes, in order, in pieces of at most ``chunk_size``."""
        ...

    def close(self) -> None:
        """Release the connection or file handle."""
        ...


@runtime_checkable
class Fetcher(Protocol):
    """Reads objects of one bucket by key; every error is a brainobs error.

    Transient failures (dropped connections, stalls, 5xx answers) raise
    :class:`~brainobs.errors.TransientError`; permanent ones (missing key, refused)
    raise :class:`~brainobs.errors.SourceError`.
    """

    def describe(self) -> str:
        """Return a short human description of the source (for messages)."""
        ...

    def size(self, key: str, version_id: str | None = None) -> int:
        """Return the size in bytes of object ``key``."""
        ...

    def open(self, key: str, version_id: str | None = None, start: int = 0) -> ByteStream:
        """Return a stream of object ``key`` from byte ``start`` to its end."""
        ...

    def read_range(self, key: str, start: int, stop: int, version_id: str | None = None) -> bytes:
        """Return bytes ``[start, stop)`` of object ``key``."""
        ...

    def list_keys(self, prefix: str) -> list[str]:
        """Return every key under ``prefix``, sorted."""
        ...
