"""Lazy xarray arrays over big HDF5 datasets (LFP, CSD, dF/F traces).

:class:`H5BackendArray` is an xarray backend array: wrapped in xarray's lazily indexed
array, a DataArray built on it reads from the file only when values are needed, and then only
the selected part (``lfp.sel(time=slice(t0, t1)).values`` reads that window). It holds an
:class:`~brainobs.nwb.handle.NwbFile`, so it pickles (to Dask workers) as the file's location.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr
from xarray.backends import BackendArray
from xarray.core import indexing

from brainobs.nwb.guards import check_read
from brainobs.nwb.handle import NwbFile
from brainobs.nwb.tables import read_region_ids
from brainobs.nwb.timeseries import read_timestamps, timeseries_info


class H5BackendArray(BackendArray):
    """An xarray backend array reading ``path`` of ``file`` on demand (optionally scaled)."""

    def __init__(self, file: NwbFile, path: str, scale: float = 1.0, offset: float = 0.0):
        dataset = file.dataset(path)
        self.file = file
        self.path = path
        self.shape = tuple(int(n) for n in dataset.shape)
        self.scale = scale
        self.offset = offset
        scaled = (scale != 1.0 or offset != 0.0) and dataset.dtype.kind != "f"
        self.dtype = np.dtype(np.float64) if scaled else dataset.dtype
        self.reads = 0

    def __getitem__(self, key: indexing.ExplicitIndexer) -> Any:
        return indexing.explicit_indexing_adapter(
            key, self.shape, indexing.IndexingSupport.OUTER_1VECTOR, self._read
        )

    def _read(self, key: tuple[Any, ...]) -> np.ndarray:
        """Return the values at an outer index of slices, integers and one sorted vector."""
        self.reads += 1
        shape = _result_shape(key, self.shape)
        if 0 in shape:  # h5py cannot select nothing (an empty slice beside a vector fails)
            return np.empty(shape, dtype=self.dtype)
        with self.file.reading(self.path):
            dataset = self.file.dataset(self.path)
            check_read(dataset, key)
            values = np.asarray(dataset[key])
        if self.scale != 1.0 or self.offset != 0.0:
            values = (values * self.scale + self.offset).astype(self.dtype, copy=False)
        return values


def _result_shape(key: tuple[Any, ...], shape: tuple[int, ...]) -> tuple[int, ...]:
    """Return the shape an outer index gives on an array of ``shape``."""
    out: list[int] = []
    for k, n in zip(key, shape, strict=False):
        if isinstance(k, slice):
            out.append(len(range(*k.indices(n))))
        elif isinstance(k, np.ndarray):
            out.append(k.size)
    return tuple(out) + tuple(shape[len(key) :])


def lazy_dataarray(
    file: NwbFile,
    dataset_path: str,
    dims: Sequence[Hashable],
    coords: Mapping[Hashable, Any] | None = None,
    name: Hashable | None = None,
    attrs: Mapping[str, Any] | None = None,
    *,
    scale: float = 1.0,
    offset: float = 0.0,
) -> xr.DataArray:
    """Return a DataArray over ``dataset_path`` that reads only what is selected from it."""
    backend = H5BackendArray(file, dataset_path, scale=scale, offset=offset)
    variable = xr.Variable(
        tuple(dims), indexing.LazilyIndexedArray(backend), attrs=dict(attrs or {})
    )
    return xr.DataArray(variable, coords=coords, name=name)


def lazy_timeseries(
    file: NwbFile,
    path: str,
    dims: Sequence[Hashable] = ("time", "channel"),
    coords: Mapping[Hashable, Any] | None = None,
    name: Hashable | None = None,
) -> xr.DataArray:
    """Return a TimeSeries (an LFP ElectricalSeries...) as a lazy DataArray.

    The ``time`` coordinate is read (or computed from the rate); for an ElectricalSeries the
    second coordinate is the ids of its ``electrodes`` rows (the channel ids). Data values
    are scaled by the ``conversion`` and ``offset`` attributes.
    """
    info = timeseries_info(file, path)
    all_coords: dict[Hashable, Any] = {dims[0]: read_timestamps(file, info)}
    electrodes = f"{info.path}/electrodes"
    if len(dims) > 1 and file.has(electrodes):
        all_coords[dims[1]] = read_region_ids(file, electrodes)
    all_coords.update(coords or {})
    attrs = {"unit": info.unit, "description": info.description, "nwb_path": info.path}
    return lazy_dataarray(
        file,
        f"{info.path}/data",
        dims,
        all_coords,
        name=name,
        attrs={k: v for k, v in attrs.items() if v is not None},
        scale=info.conversion,
        offset=info.offset,
    )
