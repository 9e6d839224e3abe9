"""BLAKE2b digests as the releases' manifests record them (hashlib defaults: 64-byte digest)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Protocol

CHUNK_SIZE = 1 << 20


class Hasher(Protocol):
    """The part of a hashlib object brainobs uses."""

    def update(self, data: bytes | bytearray | memoryview, /) -> None: ...

    def hexdigest(self) -> str: ...


def _openssl_blake2b() -> Hasher | None:
    try:
        return hashlib.new("blake2b512")
    except ValueError:  # OpenSSL built without BLAKE2
        return None


def new_hasher() -> Hasher:
    """Return an empty BLAKE2b-512 hasher (the manifests' digest).

    OpenSSL's implementation is preferred: it gives the same digest as ``hashlib.blake2b()``
    and runs about twice as fast, which matters because hashing runs beside every download.
    """
    return _openssl_blake2b() or hashlib.blake2b()


def blake2b_file(path: str | Path, chunk_size: int = CHUNK_SIZE) -> str:
    """Return the hex BLAKE2b digest of the file at ``path``."""
    hasher = new_hasher()
    update_from_file(hasher, path, chunk_size=chunk_size)
    return hasher.hexdigest()


def update_from_file(hasher: Hasher, path: str | Path, chunk_size: int = CHUNK_SIZE) -> int:
    """Feed the bytes of ``path`` into ``hasher``; return how many bytes were read."""
    total = 0
    with Path(path).open("rb") as handle:
        buffer = bytearray(chunk_size)
        view = memoryview(buffer)
        while n := handle.readinto(buffer):
            hasher.update(view[:n])
            total += n
    return total
