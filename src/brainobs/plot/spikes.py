"""Spike plots: event-aligned raster, PSTH by brain area, optotagged-unit responses.

Each function takes data (the outputs of :mod:`brainobs.analysis.psth` and
:mod:`brainobs.analysis.optotagging`) and an optional Axes, and returns the Axes it drew on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from brainobs.errors import InvalidInputError
from brainobs.plot.style import area_color, get_axes

__all__ = [
    "plot_psth_by_area",
    "plot_raster",
    "plot_response_heatmap",
    "plot_tagged_unit_responses",
]

_TIME = "time_relative_to_stimulus_onset"


def plot_raster(
    raster: pd.DataFrame,
    ax: Any = None,
    color: str = "black",
    marker_size: float = 2.0,
) -> Any:
    """Return the Axes with a raster of a long-format frame from ``event_aligned_raster``.

    One row per (unit, event) pair, units stacked one after another; with a single unit the
    rows are its events.
    """
    needed = {"event_index", "unit_id", "time_relative_to_event"}
    if not needed.issubset(raster.columns):
        raise InvalidInputError(
            f"raster needs columns {sorted(needed)} (the output of event_aligned_raster)"
        )
    ax = get_axes(ax)
    pairs = raster[["unit_id", "event_index"]]
    row = pairs.groupby(["unit_id", "event_index"], sort=False).ngroup().to_numpy()
    ax.scatter(
        raster["time_relative_to_event"], row, s=marker_size, c=color, marker="|", linewidths=0.8
    )
    ax.axvline(0.0, color="0.6", linewidth=0.8, zorder=0)
    single_unit = raster["unit_id"].nunique() <= 1
    ax.set_xlabel("Time from event (s)")
    ax.set_ylabel("Event" if single_unit else "Unit x event")
    return ax


def _area_series(unit_areas: Mapping[Any, str] | pd.Series) -> pd.Series:
    """Return ``unit_areas`` as a Series unit_id -> area acronym."""
    return unit_areas if isinstance(unit_areas, pd.Series) else pd.Series(dict(unit_areas))


def plot_psth_by_area(
    rates: xr.DataArray,
    unit_areas: Mapping[Any, str] | pd.Series,
    ax: Any = None,
    areas: list[str] | None = None,
) -> Any:
    """Return the Axes with the mean PSTH (spikes/s) of each area's units, one line per area.

    ``rates`` is the output of ``psth`` (dims time x unit_id); ``unit_areas`` maps unit id to
    area acronym (e.g. ``units["structure_acronym"]``). Units without an area are skipped.
    """
    if set(rates.dims) != {_TIME, "unit_id"}:
        raise InvalidInputError(f"rates must have dims ({_TIME}, unit_id), e.g. psth(...)")
    area_of = _area_series(unit_areas).reindex(rates["unit_id"].to_numpy())
    order = areas if areas is not None else list(pd.unique(area_of.dropna()))
    ax = get_axes(ax)
    time = rates[_TIME].to_numpy()
    values = rates.transpose(_TIME, "unit_id").to_numpy()
    for area in order:
        members = (area_of == area).to_numpy()
        if not members.any():
            continue
        label = f"{area} (n={int(members.sum())})"
        ax.plot(time, values[:, members].mean(axis=1), color=area_color(area), label=label)
    ax.set_xlabel("Time from stimulus onset (s)")
    ax.set_ylabel("Firing rate (spikes/s)")
    ax.legend(loc="upper right")
    return ax


def plot_tagged_unit_responses(
    rates: xr.DataArray,
    tagging: pd.DataFrame,
    ax: Any = None,
    pulse_duration: float = 0.01,
    tagged_color: str = "#1f77b4",
) -> Any:
    """Return the Axes with light-aligned PSTHs: each tagged unit, tagged mean, untagged mean.

    ``rates`` is ``psth`` aligned to light onsets (dims time x unit_id); ``tagging`` is the
    output of ``optotagging_responses`` (its ``is_tagged`` column). The light is shaded.
    """
    if "is_tagged" not in tagging.columns:
        raise InvalidInputError("tagging needs an 'is_tagged' column (optotagging_responses)")
    if set(rates.dims) != {_TIME, "unit_id"}:
        raise InvalidInputError(f"rates must have dims ({_TIME}, unit_id), e.g. psth(...)")
    ax = get_axes(ax)
    time = rates[_TIME].to_numpy()
    values = rates.transpose(_TIME, "unit_id").to_numpy()
    tagged = tagging["is_tagged"].reindex(rates["unit_id"].to_numpy()).fillna(False)
    mask = tagged.to_numpy(dtype=bool)
    ax.axvspan(0.0, pulse_duration, color="#9ecae1", alpha=0.4, linewidth=0, label="light")
    for column in np.flatnonzero(mask):
        ax.plot(time, values[:, column], color=tagged_color, alpha=0.25, linewidth=0.6)
    if mask.any():
        label = f"tagged mean (n={int(mask.sum())})"
        ax.plot(time, values[:, mask].mean(axis=1), color=tagged_color, linewidth=2, label=label)
    if (~mask).any():
        label = f"untagged mean (n={int((~mask).sum())})"
        ax.plot(time, values[:, ~mask].mean(axis=1), color="0.4", linewidth=2, label=label)
    ax.set_xlabel("Time from light onset (s)")
    ax.set_ylabel("Firing rate (spikes/s)")
    ax.legend(loc="upper right")
    return ax


def _baseline_z(values: np.ndarray, before: np.ndarray) -> np.ndarray:
    """Return each row of ``values`` z-scored to its ``before`` columns (SD 0 counts as 1)."""
    spread = values[:, before].std(axis=1, keepdims=True)
    centred = values - values[:, before].mean(axis=1, keepdims=True)
    return np.asarray(centred / np.where(spread > 0, spread, 1.0))


def _mark_area_rows(ax: Any, sorted_areas: np.ndarray, x: float) -> None:
    """Draw a coloured bar and the acronym beside each area's block of heat-map rows."""
    for area in pd.unique(sorted_areas):
        rows = np.flatnonzero(sorted_areas == area)
        ax.axhspan(rows[0] - 0.5, rows[-1] + 0.5, xmin=0, xmax=0.02, color=area_color(area))
        ax.text(x, rows.mean(), f" {area}", va="center", fontsize=7)


def plot_response_heatmap(
    rates: xr.DataArray,
    unit_areas: Mapping[Any, str] | pd.Series,
    ax: Any = None,
    baseline: tuple[float, float] = (-0.25, 0.0),
) -> Any:
    """Return the Axes with every unit's PSTH as a row, z-scored to its baseline, by area.

    ``rates`` comes from ``psth`` (dims time x unit_id); rows are grouped by area (in the
    order the areas first appear in ``unit_areas``) and each group is sorted by peak
    response. A coloured bar on the left marks the areas.
    """
    if set(rates.dims) != {_TIME, "unit_id"}:
        raise InvalidInputError(f"rates must have dims ({_TIME}, unit_id), e.g. psth(...)")
    time = rates[_TIME].to_numpy()
    before = (time >= baseline[0]) & (time < baseline[1])
    if not before.any():
        raise InvalidInputError(f"no bin of rates falls in the baseline window {baseline}")
    scaled = _baseline_z(rates.transpose("unit_id", _TIME).to_numpy().astype(float), before)
    area_of = _area_series(unit_areas).reindex(rates["unit_id"].to_numpy()).fillna("?")
    order = np.lexsort((-scaled[:, ~before].max(axis=1, initial=0.0), pd.factorize(area_of)[0]))
    ax = get_axes(ax, figsize=(4.0, 4.0))
    step = float(np.median(np.diff(time))) if time.size > 1 else 1.0
    extent = (time[0] - step / 2, time[-1] + step / 2, len(order) - 0.5, -0.5)
    image = ax.imshow(
        scaled[order],
        aspect="auto",
        cmap="RdBu_r",
        vmin=-5,
        vmax=5,
        extent=extent,
        interpolation="nearest",
    )
    ax.figure.colorbar(image, ax=ax, label="Response (z vs baseline)")
    _mark_area_rows(ax, area_of.to_numpy()[order], float(time[0]))
    ax.axvline(0.0, color="0.3", lw=0.8)
    ax.set_xlabel("Time from stimulus onset (s)")
    ax.set_ylabel("Unit (grouped by area)")
    return ax
