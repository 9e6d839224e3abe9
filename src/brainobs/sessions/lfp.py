"""LFP and CSD of one probe, from the probe's own NWB file, as lazy xarray arrays.

A VBN probe's LFP lives in ``probe_<name>_lfp.nwb`` (reference/format_ecephys.md §3.3). The
session finds that file through an :class:`LfpFiles` (paths or URLs given by the user, or the
project cache's manifest), opens it lazily and returns a DataArray that reads only the window
that is selected from it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from brainobs.errors import MissingDataError, UnknownIdError
from brainobs.nwb import NwbFile, lazy_timeseries, read_timeseries
from brainobs.types import PathOrUrl

CSD_PATH = "/processing/current_source_density/ecephys_csd"

#: Opens the LFP file of a probe id (the project cache's way of finding it).
Opener = Callable[[int], NwbFile]


@dataclass
class LfpFiles:
    """Where each probe's LFP NWB file is: given paths/URLs by probe name or id, or an opener."""

    paths: Mapping[Any, PathOrUrl] = field(default_factory=dict)
    opener: Opener | None = None
    endpoint: str | None = None
    _open: dict[int, NwbFile] = field(default_factory=dict)

    def file_of(self, probe_id: int, probe_name: str) -> NwbFile:
        """Return the (lazily opened) LFP file of a probe; raise MissingDataError if unknown."""
        if probe_id not in self._open:
            self._open[probe_id] = self._locate(probe_id, probe_name)
        return self._open[probe_id]

    def _locate(self, probe_id: int, probe_name: str) -> NwbFile:
        """Return a handle on the probe's LFP file from the paths, else the opener."""
        for key in (probe_id, probe_name, str(probe_id)):
            if key in self.paths:
                return NwbFile.open(self.paths[key], endpoint=self.endpoint)
        if self.opener is not None:
            return self.opener(probe_id)
        raise MissingDataError(
            f"No LFP file is known for probe {probe_name} ({probe_id}). Open the session with "
            "cache.get_ecephys_session(...) or pass probe_data_path_map={probe name or id: "
            "path or URL of probe_<name>_lfp.nwb} to from_nwb_path."
        )

    def close(self) -> None:
        """Close every LFP file opened so far."""
        for file in self._open.values():
            file.close()


def lfp_series_path(probe_id: int) -> str:
    """Return the path of a probe's LFP ElectricalSeries in its LFP file."""
    return f"/acquisition/probe_{probe_id}_lfp/probe_{probe_id}_lfp_data"


def lazy_lfp(file: NwbFile, probe_id: int) -> xr.DataArray:
    """Return the probe's LFP (volts) as a lazy DataArray ``LFP`` with dims (time, channel)."""
    path = lfp_series_path(probe_id)
    if not file.has(path):
        raise MissingDataError(
            f"{file.name} holds no LFP of probe {probe_id} (no {path}); is it the LFP file of "
            "another probe?"
        )
    return lazy_timeseries(file, path, dims=("time", "channel"), name="LFP")


def read_csd(file: NwbFile) -> xr.DataArray:
    """Return the probe's current source density as DataArray ``CSD`` (virtual channel x time)."""
    if not file.has(CSD_PATH):
        raise MissingDataError(f"{file.name} has no current source density ({CSD_PATH}).")
    timestamps, data = read_timeseries(file, f"{CSD_PATH}/current_source_density", scaled=False)
    positions = {}
    for axis in ("x", "y"):
        path = f"{CSD_PATH}/virtual_electrode_{axis}_positions"
        positions[axis] = file.values(path).astype(int)
    index = np.arange(data.shape[1])
    return xr.DataArray(
        np.ascontiguousarray(data.T),
        name="CSD",
        dims=("virtual_channel_index", "time"),
        coords={
            "virtual_channel_index": index,
            "time": timestamps,
            "vertical_position": (("virtual_channel_index",), positions["y"]),
            "horizontal_position": (("virtual_channel_index",), positions["x"]),
        },
    )


def probe_row(probes: pd.DataFrame, probe_id: int) -> pd.Series:
    """Return the probes-table row of ``probe_id``; raise UnknownIdError naming the valid ids."""
    try:
        return probes.loc[int(probe_id)]
    except (KeyError, TypeError, ValueError):
        raise UnknownIdError(
            f"This session has no probe {probe_id!r}; its probes are "
            f"{dict(zip(probes.index.tolist(), probes['name'], strict=True))} (see .probes)."
        ) from None


def require_lfp(probes: pd.DataFrame, probe_id: int) -> pd.Series:
    """Return the probe's row; raise MissingDataError if it was recorded without LFP."""
    row = probe_row(probes, probe_id)
    if not bool(row["has_lfp_data"]):
        with_lfp = probes.index[probes["has_lfp_data"].astype(bool)].tolist()
        raise MissingDataError(
            f"Probe {row['name']} ({probe_id}) has no LFP data (has_lfp_data is False); "
            f"the probes of this session with LFP are {with_lfp}."
        )
    return row
