"""Crafted HDF5 files for the hostile-input tests: small on disk, hostile in what they declare."""

from __future__ import annotations

import zlib
from pathlib import Path

import h5py
import numpy as np


def skeleton(path: Path) -> h5py.File:
    """Return a new file open for writing with the parts every NWB file has."""
    f = h5py.File(path, "w")
    f.attrs["nwb_version"] = "2.5.0"
    f["identifier"] = "hostile"
    f.create_group("general")
    return f


def units_table(
    f: h5py.File, index: np.ndarray, n_values: int, index_dtype: str = "int64"
) -> np.ndarray:
    """Write ``/units`` with ``len(index)`` rows and a ragged spike_times; return the data."""
    group = f.create_group("units")
    group.attrs["colnames"] = np.array(["spike_times", "quality"], dtype=object)
    group["id"] = np.arange(len(index), dtype=np.int64) + 100
    data = np.arange(n_values, dtype=np.float64) * 0.5
    group["spike_times"] = data
    group["spike_times_index"] = np.asarray(index).astype(index_dtype)
    group.create_dataset("quality", data=np.array(["good"] * len(index), dtype=object))
    return data


def regular_series(f: h5py.File, name: str, **dataset: object) -> str:
    """Write a TimeSeries with a regular clock whose data is ``create_dataset(**dataset)``."""
    group = f.create_group(f"acquisition/{name}")
    group.create_dataset("data", **dataset)  # type: ignore[arg-type]
    group["starting_time"] = 0.0
    group["starting_time"].attrs["rate"] = 1000.0
    return f"acquisition/{name}"


def gzip_bomb(f: h5py.File, name: str, chunk: int = 1 << 22, n_chunks: int = 64) -> str:
    """Write a TimeSeries of ``chunk * n_chunks`` float64 zeros, each chunk gzip-compressed
    once and written raw: gigabytes declared, a few kilobytes stored."""
    path = regular_series(
        f,
        name,
        shape=(chunk * n_chunks,),
        dtype="f8",
        chunks=(chunk,),
        compression="gzip",
    )
    compressed = zlib.compress(bytes(chunk * 8), 9)
    dataset = f[f"{path}/data"]
    for i in range(n_chunks):
        dataset.id.write_direct_chunk((i * chunk,), compressed)
    return path
