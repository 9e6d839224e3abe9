"""BLAKE2b digests as the releases' manifests record them (hashlib defaults: 64-byte digest)."""

from __future__ import annotations

import hashlib
from pathlib import Path

CHUNK_SIZE = 1 << 20


def new_hasher() -> hashlib.blake2b:
    """Return an empty BLAKE2b hasher with the manifests' parameters."""
    return hashlib.blake2b()


def blake2b_file(path: str | Path, chunk_size: int = CHUNK_SIZE) -> str:
    """Return the hex BLAKE2b digest of the file at ``path``."""
    hasher = new_hasher()
    update_from_file(hasher, path, chunk_size=chunk_size)
    return hasher.hexdigest()


def update_from_file(
    hasher: hashlib.blake2b, path: str | Path, chunk_size: int = CHUNK_SIZE
) -> int:
    """Feed the bytes of ``path`` into ``hasher``; return how many bytes were read."""
    total = 0
    with Path(path).open("rb") as handle:
        buffer = bytearray(chunk_size)
        view = memoryview(buffer)
        while n := handle.readinto(buffer):
            hasher.update(view[:n])
            total += n
    return total
