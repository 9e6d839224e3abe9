"""A probe's LFP with invalid intervals masked, still lazy.

The reference's ``get_lfp(probe_id, mask_invalid_intervals=True)`` reads the whole series
(~4.6 GB for a real probe), then copies it once more to set the samples inside invalid
intervals (``start <= t <= stop``, tagged ``all_probes`` or the probe's name) to NaN. Here the
mask is applied to what is read: the array stays lazy, and selecting a window reads and masks
that window only.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from xarray.backends import BackendArray
from xarray.core import indexing


class MaskedTimeArray(BackendArray):
    """A lazily indexed (time, ...) array whose values at masked times read as NaN."""

    def __init__(self, source: Any, masked: np.ndarray) -> None:
        self.source = source
        self.masked = masked
        self.shape = tuple(source.shape)
        kind = np.dtype(source.dtype)
        self.dtype = kind if kind.kind == "f" else np.dtype(np.float64)

    def __getitem__(self, key: indexing.ExplicitIndexer) -> Any:
        return indexing.explicit_indexing_adapter(
            key, self.shape, indexing.IndexingSupport.OUTER_1VECTOR, self._read
        )

    def _read(self, key: tuple[Any, ...]) -> np.ndarray:
        """Return the values at an outer index, NaN at masked times."""
        values = np.asarray(self.source.oindex[indexing.OuterIndexer(key)], dtype=self.dtype)
        hidden = self.masked[key[0]] if key else self.masked
        if np.ndim(hidden) == 0:
            return np.full_like(values, np.nan) if hidden else values
        if hidden.any():
            values = values.copy()
            values[np.asarray(hidden, dtype=bool)] = np.nan
        return values


def masked_times(times: np.ndarray, intervals: pd.DataFrame) -> np.ndarray:
    """Return True at the times inside any ``[start_time, stop_time]`` of ``intervals``."""
    masked = np.zeros(len(times), dtype=bool)
    for start, stop in zip(intervals["start_time"], intervals["stop_time"], strict=True):
        lo = np.searchsorted(times, start, side="left")
        hi = np.searchsorted(times, stop, side="right")
        masked[lo:hi] = True
    return masked


def mask_lfp(lfp: xr.DataArray, intervals: pd.DataFrame) -> xr.DataArray:
    """Return ``lfp`` (lazy, dims ``time, channel``) with samples in ``intervals`` as NaN."""
    times = np.asarray(lfp["time"].values)
    masked = masked_times(times, intervals)
    if not masked.any():
        return lfp
    source = indexing.as_indexable(lfp.variable._data)  # the lazily indexed array
    backend = MaskedTimeArray(source, masked)
    variable = xr.Variable(lfp.dims, indexing.LazilyIndexedArray(backend), attrs=lfp.attrs)
    return xr.DataArray(variable, coords=lfp.coords, name=lfp.name)
