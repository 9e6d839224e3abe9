"""Digests of downloaded files: BLAKE2b as the releases' manifests record them (hashlib
defaults: 64-byte digest), SHA-256 as the DANDI Archive publishes it for every asset, and MD5
as S3 reports it (the ETag of an object uploaded in one part)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Protocol

from brainobs.errors import InvalidInputError

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


#: The digests brainobs verifies, by name, with the label messages use.
ALGORITHMS = {"blake2b": "BLAKE2b", "sha256": "SHA-256", "md5": "MD5"}
_HEX_LENGTHS = {"blake2b": 128, "sha256": 64, "md5": 32}


def new_hasher(algorithm: str = "blake2b") -> Hasher:
    """Return an empty hasher of ``algorithm`` (``"blake2b"``: the manifests' BLAKE2b-512).

    OpenSSL's BLAKE2b is preferred: it gives the same digest as ``hashlib.blake2b()`` and runs
    about twice as fast, which matters because hashing runs beside every download.
    """
    if algorithm == "sha256":
        return hashlib.sha256()
    if algorithm == "md5":  # an integrity check against S3's ETag, not a security measure
        return hashlib.md5(usedforsecurity=False)
    if algorithm != "blake2b":
        raise InvalidInputError(
            f"Unknown digest {algorithm!r}; brainobs verifies {', '.join(ALGORITHMS)}."
        )
    return _openssl_blake2b() or hashlib.blake2b()


def is_hex_digest(text: str, algorithm: str) -> bool:
    """Return whether ``text`` is a lowercase hex digest of ``algorithm``'s length."""
    length = _HEX_LENGTHS.get(algorithm)
    return length is not None and len(text) == length and all(c in "0123456789abcdef" for c in text)


def file_digest(path: str | Path, algorithm: str = "blake2b") -> str:
    """Return the hex ``algorithm`` digest of the file at ``path``."""
    hasher = new_hasher(algorithm)
    update_from_file(hasher, path)
    return hasher.hexdigest()


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
