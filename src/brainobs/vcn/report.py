"""The report of a Visual Coding session: the sections, in page order.

Shared sections (session, units per area, unit quality, LFP and CSD) and three of Visual
Coding's own, computed from the spikes of the units the session's default filters keep:
direction tuning curves (drifting gratings), receptive-field maps on the gabor grid, and
responses to full-field flashes by area.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from brainobs.analysis.psth import psth
from brainobs.plot.spikes import plot_psth_by_area
from brainobs.plot.style import new_figure
from brainobs.plot.tuning import plot_direction_tuning, plot_metric_by_area, plot_receptive_field
from brainobs.report.section import (
    Block,
    FigureBlock,
    ReportContext,
    Section,
    SectionUnavailableError,
    TableBlock,
    TextBlock,
)
from brainobs.report.sections_lfp import LFP_CSD
from brainobs.report.sections_units import METADATA, QUALITY_METRICS, UNITS_BY_AREA

#: The stimulus types of the tuning sections (dot motion and movies are left out).
TUNED = ("dg", "rf", "fl")
MAX_CURVES = 6
MAX_FIELDS = 12


def _units(session: Any) -> pd.DataFrame:
    """Return the session's units (default filters) with an area column; raise if none."""
    units = session.units
    if units.empty:
        raise SectionUnavailableError("no unit passes the session's quality filters")
    area = "ecephys_structure_acronym" if "ecephys_structure_acronym" in units else (
        "structure_acronym")  # fmt: skip
    return units.assign(area=units[area].astype(object))


def tuning_table(session: Any, context: ReportContext) -> pd.DataFrame:
    """Return the tuning metrics of the session's units (computed once per report)."""

    def compute() -> pd.DataFrame:
        names = set(session.stimulus_names)
        wanted = [k for k, n in (("dg", "drifting_gratings"), ("rf", "gabors"),
                                 ("fl", "flashes")) if n in names]  # fmt: skip
        if "drifting_gratings_75_repeats" in names and "dg" not in wanted:
            wanted.append("dg")
        if not wanted:
            raise SectionUnavailableError("the session shows no gratings, gabors or flashes")
        return session.get_tuning_metrics(stimuli=wanted, unit_ids=_units(session).index)

    return context.memo("vcn_tuning", compute)


def _direction_responses(session: Any, units: list[int], metrics: pd.DataFrame) -> pd.DataFrame:
    """Return each unit's mean spike count per direction at its preferred TF (DG)."""
    name = next(n for n in ("drifting_gratings", "drifting_gratings_75_repeats")
                if n in session.stimulus_names)  # fmt: skip
    table = session.get_stimulus_table(name)
    table = table[table["orientation"] != "null"]
    stats = session.conditionwise_spike_statistics(table.index, units).reset_index()
    conditions = session.stimulus_conditions[["orientation", "temporal_frequency"]]
    stats = stats.join(conditions, on="stimulus_condition_id")
    curves = {}
    for unit in units:
        preferred = stats["temporal_frequency"] == metrics.loc[unit, "pref_tf_dg"]
        mine = stats[(stats["unit_id"] == unit) & preferred]
        curves[unit] = mine.groupby(mine["orientation"].astype(float))["spike_mean"].mean()
    return pd.DataFrame(curves)


def build_tuning_curves(session: Any, context: ReportContext) -> Sequence[Block]:
    """Return the most direction-selective units' tuning curves and OSI/DSI by area."""
    metrics = tuning_table(session, context)
    if "g_dsi_dg" not in metrics or metrics["g_dsi_dg"].isna().all():
        raise SectionUnavailableError("the session shows no drifting gratings")
    units = _units(session)
    selective = metrics["g_osi_dg"].dropna().sort_values(ascending=False)
    chosen = [int(u) for u in selective.index[:MAX_CURVES]]
    figure, axes = new_figure(1, 3, figsize=(14.0, 3.4))
    curves = _direction_responses(session, chosen, metrics)
    curves.columns = [f"{u} ({units['area'].loc[u]})" for u in curves.columns]
    plot_direction_tuning(curves, ax=axes[0, 0])
    axes[0, 0].set_ylabel("Mean spike count (2 s)")
    for ax, column, label in ((axes[0, 1], "g_osi_dg", "global OSI"),
                              (axes[0, 2], "g_dsi_dg", "global DSI")):  # fmt: skip
        plot_metric_by_area(metrics[column].rename(label), units["area"], ax=ax)
    summary = metrics[["pref_ori_dg", "pref_tf_dg", "g_osi_dg", "g_dsi_dg"]].join(
        units["area"]).groupby("area").median()  # fmt: skip
    return [
        FigureBlock(figure, caption=(
            f"Left: direction tuning at the preferred temporal frequency of the {len(chosen)} "
            "most orientation-selective units. Middle, right: global orientation and direction "
            "selectivity by area (bars: medians).")),
        TableBlock(summary, caption="Median tuning by area (drifting gratings)"),
    ]  # fmt: skip


def build_receptive_fields(session: Any, context: ReportContext) -> Sequence[Block]:
    """Return the receptive-field maps of the units with the most significant fields."""
    metrics = tuning_table(session, context)
    if "p_value_rf" not in metrics or metrics["p_value_rf"].isna().all():
        raise SectionUnavailableError("the session shows no gabors")
    significant = metrics[metrics["p_value_rf"] < 0.01]
    if significant.empty:
        raise SectionUnavailableError("no unit has a significant receptive field (p < 0.01)")
    order = significant.sort_values(["p_value_rf", "area_rf"], ascending=[True, False])
    chosen = [int(u) for u in order.index[:MAX_FIELDS]]
    maps = session.get_receptive_fields(chosen)
    units = _units(session)
    columns = 4
    rows = int(np.ceil(len(chosen) / columns))
    figure, axes = new_figure(rows, columns, figsize=(3.0 * columns, 2.8 * rows))
    for position, ax in enumerate(axes.flat):
        if position >= len(chosen):
            ax.set_axis_off()
            continue
        unit = chosen[position]
        plot_receptive_field(maps.sel(unit_id=unit), ax=ax,
                             title=f"{unit} ({units['area'].loc[unit]})")  # fmt: skip
    note = (f"{len(significant)} of {len(metrics)} units have a significant receptive field "
            "(p < 0.01, chi-square against 1000 seeded bootstrap resamples).")  # fmt: skip
    table = significant[["azimuth_rf", "elevation_rf", "area_rf", "p_value_rf"]].join(
        units["area"]).groupby("area").median()  # fmt: skip
    return [
        TextBlock(note),
        FigureBlock(
            figure,
            caption="Spike counts in the first 250 ms of each gabor, summed "
            "per grid position (9 x 9, 10° apart).",
        ),
        TableBlock(table, caption="Median receptive-field position and area by brain area"),
    ]


def build_flash_responses(session: Any, context: ReportContext) -> Sequence[Block]:
    """Return the mean response to ON and OFF full-field flashes of each area's units."""
    if "flashes" not in session.stimulus_names:
        raise SectionUnavailableError("the session shows no flashes")
    flashes = session.get_stimulus_table("flashes")
    units = _units(session)
    spikes = session.get_spike_times(units.index)
    edges = np.arange(-0.1, 0.4001, 0.01)
    figure, axes = new_figure(1, 2, figsize=(11.0, 3.4))
    for ax, color, label in ((axes[0, 0], 1.0, "ON (white)"), (axes[0, 1], -1.0, "OFF (black)")):
        events = flashes[flashes["color"].astype(float) == color]["start_time"].to_numpy()
        if not events.size:
            ax.set_axis_off()
            continue
        rates = psth(spikes, events, edges, smoothing_sigma=0.01)
        plot_psth_by_area(rates, units["area"], ax=ax)
        ax.set_title(f"{label} flashes (n={events.size})")
    metrics = tuning_table(session, context)
    ratio = metrics.get("on_off_ratio_fl")
    blocks: list[Block] = [FigureBlock(figure, caption=(
        "Mean firing rate of each area's units around 250 ms full-field flashes."))]  # fmt: skip
    if ratio is not None and ratio.notna().any():
        table = pd.DataFrame({"on_off_ratio_fl": ratio, "area": units["area"]})
        blocks.append(TableBlock(table.groupby("area").median(),
                                 caption="Median ON/OFF response ratio by area"))  # fmt: skip
    return blocks


TUNING_CURVES = Section(
    "tuning", "Direction tuning", build_tuning_curves,
    intro="Responses to drifting gratings: tuning curves and selectivity by area.",
)  # fmt: skip
RECEPTIVE_FIELDS = Section(
    "receptive_fields", "Receptive fields", build_receptive_fields,
    intro="Where on the screen units respond: gabor patches on a 9 x 9 grid.",
)  # fmt: skip
FLASH_RESPONSES = Section(
    "flashes", "Flash responses", build_flash_responses,
    intro="Responses to full-field ON and OFF flashes, averaged by area.",
)  # fmt: skip

#: Report kind ``vcn_ecephys`` (declared in :data:`brainobs.releases.VCN`).
ECEPHYS_SECTIONS: tuple[Section, ...] = (
    METADATA,
    UNITS_BY_AREA,
    QUALITY_METRICS,
    TUNING_CURVES,
    RECEPTIVE_FIELDS,
    FLASH_RESPONSES,
    LFP_CSD,
)
