"""Is an HDF5 file whole? Its superblock's end-of-file address against the bytes there are.

Every HDF5 file starts (after an optional user block of 512, 1024, 2048... bytes) with a
superblock that records the file's end-of-file address: how many bytes the file holds (the
user block included). HDF5 itself refuses a file shorter than that ("truncated file"), but
only when the file is opened; checking the few bytes of the superblock first catches a
cut-short download before anything trusts or reads it, locally or by byte ranges, without
hashing gigabytes.

Superblock layouts (HDF5 File Format Specification, section II.A): versions 0 and 1 store the
size of offsets at byte 13 and the base, free-space and end-of-file addresses from byte 24
(version 0) or 28 (version 1); versions 2 and 3 store the size of offsets at byte 9 and the
base, superblock-extension and end-of-file addresses from byte 12. Addresses are little-endian;
an address of all 1 bits is "undefined".
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

SIGNATURE = b"\x89HDF\r\n\x1a\n"
#: Bytes read at a candidate superblock: enough for any version's first three addresses.
_HEAD = 64
#: Offsets a superblock may start at (0, then user blocks of 512 bytes times a power of two).
_MAX_USER_BLOCK = 1 << 24
_ADDRESS_START = {0: 24, 1: 28, 2: 12, 3: 12}
_OFFSET_SIZE_AT = {0: 13, 1: 13, 2: 9, 3: 9}

#: Reads bytes ``[start, stop)`` of a file (local or remote).
ReadRange = Callable[[int, int], bytes]


def _candidates(size: int) -> list[int]:
    """Return where a superblock may start in a file of ``size`` bytes."""
    offsets, at = [0], 512
    while at < min(size, _MAX_USER_BLOCK):
        offsets.append(at)
        at *= 2
    return offsets


def end_of_file(head: bytes) -> int | None:
    """Return the end-of-file address a superblock records: the size the file must have.

    ``head`` starts at the signature. The address counts the user block too: HDF5 refuses a
    file when ``size < stored end of file`` (``H5F__super_read``). None when the version is
    unknown or the address undefined.
    """
    version = head[8] if len(head) > 8 else -1
    if version not in _ADDRESS_START:
        return None
    width = head[_OFFSET_SIZE_AT[version]]
    start = _ADDRESS_START[version]
    if width not in (2, 4, 8) or len(head) < start + 3 * width:
        return None
    eof = int.from_bytes(head[start + 2 * width : start + 3 * width], "little")
    return None if eof == (1 << (8 * width)) - 1 else eof


def truncation_problem(read: ReadRange, size: int) -> str | None:
    """Return why an HDF5 file of ``size`` bytes is not whole, or None when it is.

    A file shorter than its superblock's end-of-file address, or without an HDF5 signature
    where one may be, is not whole.
    """
    if size < len(SIGNATURE):
        return f"it holds {size} bytes, too few for an HDF5 file"
    for offset in _candidates(size):
        head = read(offset, min(offset + _HEAD, size))
        if not head.startswith(SIGNATURE):
            continue
        expected = end_of_file(head)
        if expected is None:
            return None  # a superblock this check cannot read: leave it to HDF5
        if size < expected:
            return (
                f"it holds {size:,} bytes but its HDF5 superblock says it ends at byte "
                f"{expected:,} (a truncated download)"
            )
        return None
    return "it has no HDF5 signature (it is not an HDF5 file, or its start is damaged)"


def file_truncation_problem(path: str | Path) -> str | None:
    """Return why the local HDF5 file at ``path`` is not whole, or None when it is."""
    path = Path(path)
    with path.open("rb") as handle:

        def read(start: int, stop: int) -> bytes:
            handle.seek(start)
            return handle.read(stop - start)

        return truncation_problem(read, path.stat().st_size)
