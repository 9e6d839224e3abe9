"""Local field potential and current source density of one probe, by depth.

Each function takes an xarray DataArray (as the session's ``get_lfp`` and
``get_current_source_density`` return) and an optional Axes, and returns the Axes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from brainobs.errors import InvalidInputError
from brainobs.plot.style import get_axes

__all__ = ["plot_csd", "plot_lfp"]


def _symmetric_limit(values: np.ndarray) -> float:
    """Return the 99th percentile of |values| (1 when there is nothing finite)."""
    finite = np.abs(values[np.isfinite(values)])
    limit = float(np.percentile(finite, 99)) if finite.size else 1.0
    return limit if limit > 0 else 1.0


def plot_lfp(
    lfp: xr.DataArray,
    depths: Mapping[Any, float] | pd.Series,
    ax: Any = None,
    scale: float = 1e6,
    unit: str = "µV",
) -> Any:
    """Return the Axes with an LFP segment as an image: time (s) by channel depth (µm).

    ``lfp`` has dims ``(time, channel)`` in volts; ``depths`` maps channel id to its
    vertical position on the probe (µm, ``probe_vertical_position``). Values are multiplied by
    ``scale`` (µV by default) and drawn on a diverging colour map centred on zero.
    """
    if set(lfp.dims) != {"time", "channel"}:
        raise InvalidInputError(f"lfp must have dims (time, channel), got {lfp.dims}")
    depth_of = pd.Series(depths) if not isinstance(depths, pd.Series) else depths
    channel_depth = depth_of.reindex(lfp["channel"].to_numpy()).to_numpy(dtype=float)
    if np.isnan(channel_depth).all():
        raise InvalidInputError("no channel of the LFP has a depth; pass probe_vertical_position")
    order = np.argsort(np.nan_to_num(channel_depth, nan=-np.inf))
    values = lfp.transpose("time", "channel").to_numpy()[:, order].T * scale
    time = lfp["time"].to_numpy()
    ax = get_axes(ax, figsize=(6.0, 3.5))
    limit = _symmetric_limit(values)
    image = ax.pcolormesh(
        time,
        channel_depth[order],
        values,
        cmap="RdBu_r",
        vmin=-limit,
        vmax=limit,
        shading="nearest",
        rasterized=True,
    )
    ax.figure.colorbar(image, ax=ax, label=f"LFP ({unit})")
    ax.set_xlabel("Time in session (s)")
    ax.set_ylabel("Depth along probe (µm)")
    return ax


def plot_csd(csd: xr.DataArray, ax: Any = None, unit: str | None = None) -> Any:
    """Return the Axes with a current source density: time from flash (ms) by depth (µm).

    ``csd`` has dims ``(virtual_channel_index, time)`` and, when known, a
    ``vertical_position`` coordinate (µm); sinks and sources share a diverging colour map.
    """
    if set(csd.dims) != {"virtual_channel_index", "time"}:
        raise InvalidInputError(f"csd must have dims (virtual_channel_index, time), got {csd.dims}")
    ordered = csd.transpose("virtual_channel_index", "time")
    if "vertical_position" in ordered.coords:
        depth = ordered["vertical_position"].to_numpy().astype(float)
        ylabel = "Depth along probe (µm)"
    else:
        depth = ordered["virtual_channel_index"].to_numpy().astype(float)
        ylabel = "Virtual channel (index)"
    values = ordered.to_numpy().astype(float)
    time_ms = ordered["time"].to_numpy().astype(float) * 1000.0
    ax = get_axes(ax, figsize=(4.0, 3.5))
    limit = _symmetric_limit(values)
    image = ax.pcolormesh(
        time_ms,
        depth,
        values,
        cmap="RdBu_r",
        vmin=-limit,
        vmax=limit,
        shading="nearest",
        rasterized=True,
    )
    label_unit = unit or str(csd.attrs.get("units", "V/cm²")).replace("^2", "²")
    ax.figure.colorbar(image, ax=ax, label=f"CSD ({label_unit})")
    ax.axvline(0.0, color="0.3", lw=0.8, ls="--")
    ax.set_xlabel("Time from flash onset (ms)")
    ax.set_ylabel(ylabel)
    return ax
