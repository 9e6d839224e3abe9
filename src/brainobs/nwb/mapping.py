"""Large contiguous datasets of local files, read as memory maps instead of copies.

A session's spike times are one contiguous, uncompressed float64 dataset of up to a few GB.
Reading it copies every byte from the page cache into fresh memory that the system must first
zero; mapping the same bytes costs neither: pages are shared with the page cache, found when
first touched, and evictable under memory pressure (and shared between processes that map
the same file, e.g. Dask workers on one machine). The arrays are private copy-on-write maps:
writable like a read, and a write never reaches the file.

Only what HDF5 would read as the same bytes is mapped: a local file on a POSIX system (on
Windows a mapped file cannot be deleted, so clearing the cache would fail), a contiguous dataset
with no filters or external storage, a plain numeric dtype in the machine's byte order, and
byte positions inside the file (a damaged file declaring more data than it holds gets h5py's
read and its error, not a crash on first touch). Everything else is read as before.
``BRAINOBS_MAP_FILES=0`` turns mapping off.

The one hazard of a map is a file shortened in place while mapped: touching a page past its new
end kills the process (SIGBUS). brainobs never writes a cached file in place (downloads land
under a temporary name and are renamed), and a deleted or replaced file stays readable through
the map.
"""

from __future__ import annotations

import mmap
import os

import h5py
import numpy as np

from brainobs import config

#: Selections smaller than this are read: a read of a few pages costs less than a map.
MAP_AT_LEAST = 1 << 20


def mapped_values(dataset: h5py.Dataset, selection: slice) -> np.ndarray | None:
    """Return rows ``selection`` of ``dataset`` as a copy-on-write map of its file.

    Returns None when the rows cannot be mapped as they are (see the module docstring) or are
    fewer than :data:`MAP_AT_LEAST` bytes: the caller reads them instead.
    """
    if not config.map_files():
        return None
    row = _mappable_row_bytes(dataset)
    start, stop, step = selection.indices(dataset.shape[0] if dataset.shape else 0)
    if row is None or step != 1 or stop <= start or (stop - start) * row < MAP_AT_LEAST:
        return None
    offset = dataset.id.get_offset()
    if offset is None:
        return None
    first, last = offset + start * row, offset + stop * row
    region = _map_region(dataset.file, first, last)
    if region is None:
        return None
    count = (last - first) // dataset.dtype.itemsize
    values = np.frombuffer(region, dataset.dtype, count, first % mmap.ALLOCATIONGRANULARITY)
    return values.reshape((stop - start, *dataset.shape[1:]))


def _map_region(file: h5py.File, first: int, last: int) -> mmap.mmap | None:
    """Return a copy-on-write map of the open file's bytes from ``first`` (rounded down to the
    system's map granularity) to ``last``; None when they are not all in the file or the
    file system cannot map files.

    The map is made from the descriptor HDF5 reads through, not by opening the path again: a
    file replaced at the same path since it was opened is never mapped in its place.
    """
    aligned = first - first % mmap.ALLOCATIONGRANULARITY
    try:
        descriptor = file.id.get_vfd_handle()
        if last > os.fstat(descriptor).st_size:
            return None
        return mmap.mmap(descriptor, last - aligned, offset=aligned, access=mmap.ACCESS_COPY)
    except (OSError, ValueError, TypeError):
        return None


def _mappable_row_bytes(dataset: h5py.Dataset) -> int | None:
    """Return the bytes of one row when the dataset's storage is its values as they are, in a
    file HDF5 reads through a plain descriptor (its default driver, sec2: a local file)."""
    dtype = dataset.dtype
    if os.name != "posix" or dataset.file.driver != "sec2":
        return None
    if not dataset.shape or dataset.chunks is not None:
        return None
    if dataset.external or dtype.kind not in "iuf" or not dtype.isnative:
        return None
    if dataset.id.get_create_plist().get_nfilters() > 0:
        return None
    return int(dtype.itemsize * np.prod(dataset.shape[1:], dtype=np.int64))
