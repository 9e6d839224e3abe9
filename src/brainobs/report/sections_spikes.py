"""Report sections on spiking: responses to image changes and omissions, optotagged units."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from brainobs.analysis.optotagging import optotagging_responses, select_light_pulses
from brainobs.analysis.psth import event_aligned_raster, psth
from brainobs.plot.spikes import (
    plot_psth_by_area,
    plot_raster,
    plot_response_heatmap,
    plot_tagged_unit_responses,
)
from brainobs.plot.style import area_color, new_figure
from brainobs.report.section import (
    Block,
    FigureBlock,
    ReportContext,
    Section,
    TableBlock,
    TextBlock,
)
from brainobs.report.session_data import (
    change_times,
    good_units,
    omission_times,
    read_stream,
    spike_times_of,
    unit_table,
)

__all__ = ["CHANGE_RESPONSES", "OMISSION_RESPONSES", "OPTOTAGGING"]

_TIME = "time_relative_to_stimulus_onset"


def _good_spikes(session: Any, context: ReportContext) -> dict[Any, np.ndarray]:
    """Return the spike times of the units passing the quality thresholds."""
    units = good_units(session, context)
    return context.memo("good_spikes", lambda: spike_times_of(session, units.index))


def _rates(
    spikes: dict[Any, np.ndarray], events: np.ndarray, window: tuple[float, float], step: float
) -> xr.DataArray:
    """Return the smoothed PSTH (spikes/s) of every unit around ``events``."""
    edges = np.arange(window[0], window[1] + step / 2, step)
    return psth(spikes, events, edges, smoothing_sigma=2 * step)


def _best_unit_per_area(rates: xr.DataArray, areas: pd.Series) -> dict[str, Any]:
    """Return, per area, the unit with the largest mean rate increase after the event."""
    time = rates[_TIME].to_numpy()
    values = rates.transpose("unit_id", _TIME).to_numpy()
    after = values[:, (time >= 0) & (time < 0.25)].mean(axis=1)
    before = values[:, (time < 0)].mean(axis=1) if (time < 0).any() else 0.0
    gain = pd.Series(after - before, index=rates["unit_id"].to_numpy())
    area_of = areas.reindex(gain.index)
    return {str(area): gain[area_of == area].idxmax() for area in pd.unique(area_of.dropna())}


def _raster_figure(
    spikes: dict[Any, np.ndarray],
    events: np.ndarray,
    best: dict[str, Any],
    window: tuple[float, float],
    xlabel: str,
) -> Any:
    """Return a figure with one raster panel per area, of that area's most responsive unit."""
    ncols = min(4, len(best))
    nrows = int(np.ceil(len(best) / ncols))
    figure, axes = new_figure(nrows, ncols, figsize=(3.0 * ncols, 2.4 * nrows))
    for ax, (area, unit) in zip(axes.flat, best.items(), strict=False):
        raster = event_aligned_raster({unit: spikes[unit]}, events, window)
        plot_raster(raster, ax=ax, color=area_color(area), marker_size=3.0)
        ax.set_xlim(*window)
        ax.set_ylim(len(events) - 0.5, -0.5)
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.set_title(f"{area} · unit {unit}")
        ax.set_xlabel(xlabel)
    for ax in list(axes.flat)[len(best) :]:
        ax.set_visible(False)
    return figure


def _aligned_blocks(
    session: Any, context: ReportContext, events: np.ndarray, name: str
) -> list[Block]:
    """Return the PSTH-by-area, heat map and raster figures of responses around ``events``."""
    units = good_units(session, context)
    spikes = _good_spikes(session, context)
    window, step = context.options.spike_window, context.options.spike_bin
    rates = _rates(spikes, events, window, step)
    areas = units["structure_acronym"].astype(str)
    figure, axes = new_figure(1, 2, figsize=(12.0, 3.8))
    plot_psth_by_area(rates, areas, ax=axes[0, 0])
    axes[0, 0].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7)
    axes[0, 0].set_xlabel(f"Time from {name} (s)")
    plot_response_heatmap(rates, areas, ax=axes[0, 1])
    axes[0, 1].set_xlabel(f"Time from {name} (s)")
    shown = events[: context.options.max_raster_events]
    rasters = _raster_figure(
        spikes, shown, _best_unit_per_area(rates, areas), window, f"Time from {name} (s)"
    )
    return [
        TextBlock(f"{events.size} {name}s in the active block; {len(units)} units."),
        FigureBlock(figure, caption=f"Mean firing rate by area and per unit around {name}s."),
        FigureBlock(
            rasters,
            caption=f"Rasters of each area's most responsive unit, first {shown.size} {name}s.",
        ),
    ]


def build_change_responses(session: Any, context: ReportContext) -> Sequence[Block]:
    """Return the responses of the good units to image changes, by area."""
    return _aligned_blocks(session, context, change_times(session, context), "image change")


def build_omission_responses(session: Any, context: ReportContext) -> Sequence[Block]:
    """Return the responses of the good units around omitted flashes, by area."""
    return _aligned_blocks(session, context, omission_times(session, context), "omission")


def _tagging_counts(tagging: pd.DataFrame, areas: pd.Series) -> pd.DataFrame:
    """Return per area the number of units tested and tagged."""
    area_of = areas.reindex(tagging.index)
    table = pd.DataFrame(
        {
            "units tested": area_of.value_counts(),
            "tagged": area_of[tagging["is_tagged"].to_numpy(dtype=bool)].value_counts(),
        }
    ).fillna(0)
    return table.astype(int).rename_axis("area")


def _units_in_areas(session: Any, context: ReportContext) -> pd.DataFrame:
    """Return every unit whose peak channel is in a brain area (quality filters off)."""
    units = unit_table(session, context)
    return units[units["structure_acronym"].notna() & (units["structure_acronym"] != "root")]


def build_optotagging(session: Any, context: ReportContext) -> Sequence[Block]:
    """Return light-pulse PSTHs of tagged and untagged units and tagged units per area.

    Every unit in a brain area is tested (a tagged interneuron often fails the quality
    thresholds), on the 10 ms pulses of every light level.
    """
    table = read_stream(session, "optotagging_table")
    units = _units_in_areas(session, context)
    spikes = spike_times_of(session, units.index)
    tagging = optotagging_responses(spikes, table, level=None)
    pulses = select_light_pulses(table, level=None)
    edges = np.arange(-0.01, 0.0301, 0.001)
    rates = psth(spikes, pulses["start_time"].to_numpy(dtype=float), edges)
    duration = (
        float(pd.to_numeric(pulses["duration"], errors="coerce").median())
        if "duration" in pulses.columns
        else np.nan
    )
    figure, axes = new_figure(1, 1, figsize=(6.0, 3.4))
    plot_tagged_unit_responses(
        rates, tagging, ax=axes[0, 0], pulse_duration=duration if np.isfinite(duration) else 0.01
    )
    metadata = getattr(session, "metadata", {}) or {}
    genotype = metadata.get("full_genotype", metadata.get("genotype", "unknown genotype"))
    tagged = int(tagging["is_tagged"].sum())
    note = (
        f"{tagged} of {len(tagging)} units in a brain area (quality filters off) follow the "
        f"{len(pulses)} 10 ms light pulses (one-sided paired Wilcoxon, p < 0.001); "
        f"genotype: {genotype}."
    )
    areas = units["structure_acronym"].astype(str)
    return [
        TextBlock(note),
        FigureBlock(figure, caption="Firing around light onset: tagged units and means."),
        TableBlock(_tagging_counts(tagging, areas), caption="Optotagged units per area"),
    ]


CHANGE_RESPONSES = Section(
    "changes",
    "Responses to image changes",
    build_change_responses,
    intro="Good units around image changes in the active block: area means, every unit, "
    "and a raster of each area's most responsive unit.",
)
OMISSION_RESPONSES = Section(
    "omissions",
    "Responses around omitted flashes",
    build_omission_responses,
    intro="The same views around omitted flashes (the expected flash is at 0 s).",
)
OPTOTAGGING = Section(
    "optotagging",
    "Optotagged units",
    build_optotagging,
    intro="Units driven by the light pulses at the end of the session (Cre-expressing "
    "cell types in Sst and Vip mice).",
)
