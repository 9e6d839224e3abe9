"""Report section on one probe's LFP and current source density."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from brainobs.errors import BrainobsError
from brainobs.plot.lfp import plot_csd, plot_lfp
from brainobs.plot.style import new_figure
from brainobs.report.section import (
    Block,
    FigureBlock,
    ReportContext,
    Section,
    SectionUnavailableError,
    TextBlock,
    UnavailableBlock,
)
from brainobs.report.session_data import read_stream, unit_table

__all__ = ["LFP_CSD", "choose_lfp_probe"]


def _lfp_probes(probes: pd.DataFrame) -> pd.DataFrame:
    """Return the probes that have LFP data (all of them when the table does not say)."""
    if "has_lfp_data" not in probes.columns:
        return probes
    return probes[probes["has_lfp_data"].astype("boolean").fillna(False).to_numpy()]


def _probe_names(probes: pd.DataFrame) -> pd.Series:
    """Return each probe's name (VBN ``name``, VCN ``description``), else its id."""
    for column in ("name", "description"):
        if column in probes.columns:
            return probes[column]
    return pd.Series(probes.index, index=probes.index)


def choose_lfp_probe(session: Any, context: ReportContext) -> Any:
    """Return the probe id to show: the option, else the LFP probe with most VISp units."""
    probes = read_stream(session, "probes")
    with_lfp = _lfp_probes(probes)
    if context.options.probe_id is not None:
        if context.options.probe_id not in with_lfp.index:
            raise SectionUnavailableError(f"probe {context.options.probe_id} has no LFP data")
        return context.options.probe_id
    if with_lfp.empty:
        raise SectionUnavailableError("no probe of this session has LFP data")
    try:
        units = unit_table(session, context)
        in_visp = units[units["structure_acronym"] == "VISp"]["probe_id"].value_counts()
    except (BrainobsError, KeyError):
        in_visp = pd.Series(dtype=float)
    ranked = in_visp.reindex(with_lfp.index).fillna(0).sort_values(ascending=False, kind="stable")
    return ranked.index[0]


def _segment_start(session: Any, lfp: Any) -> float:
    """Return where the LFP segment starts: the first image change, else mid-recording."""
    time = lfp["time"]
    first, last = float(time[0]), float(time[-1])
    try:
        presentations = session.stimulus_presentations
        changes = presentations.loc[presentations["is_change"].astype("boolean").fillna(False)]
        start = float(changes["start_time"].iloc[0]) - 0.5
    except (LookupError, AttributeError, IndexError, BrainobsError):
        start = (first + last) / 2
    return start if first <= start < last else first


def _lfp_panel(session: Any, probe_id: Any, seconds: float, ax: Any) -> None:
    """Draw a ``seconds`` long LFP segment of ``probe_id`` on ``ax``."""
    try:
        lfp = session.get_lfp(probe_id)
    except (LookupError, OSError) as exc:
        raise SectionUnavailableError(f"the LFP of probe {probe_id} cannot be read: {exc}") from exc
    if lfp is None:
        raise SectionUnavailableError(f"probe {probe_id} has no LFP")
    start = _segment_start(session, lfp)
    segment = lfp.sel(time=slice(start, start + seconds))
    try:
        channels = session.get_channels(filter_by_validity=False)
    except TypeError:
        channels = session.get_channels()
    plot_lfp(segment, channels["probe_vertical_position"], ax=ax)


def build_lfp_csd(session: Any, context: ReportContext) -> Sequence[Block]:
    """Return an LFP segment by depth and the flash-evoked CSD of one probe."""
    probe_id = choose_lfp_probe(session, context)
    probes = session.probes
    names = _probe_names(probes)
    name = names[probe_id]
    figure, axes = new_figure(1, 2, figsize=(12.0, 4.0), width_ratios=(3, 2))
    _lfp_panel(session, probe_id, context.options.lfp_seconds, axes[0, 0])
    axes[0, 0].set_title(f"{name}: LFP, {context.options.lfp_seconds:g} s from the first change")
    blocks: list[Block] = [FigureBlock(figure, caption=f"LFP and CSD of {name} ({probe_id}).")]
    try:
        csd = session.get_current_source_density(probe_id)
        plot_csd(csd, ax=axes[0, 1])
        axes[0, 1].set_title(f"{name}: CSD around full-field flashes")
    except (LookupError, OSError, BrainobsError) as exc:
        axes[0, 1].set_axis_off()
        blocks.append(UnavailableBlock(f"CSD: {exc}"))
    others = [f"{names[p]} ({p})" for p in _lfp_probes(probes).index if p != probe_id]
    if others:
        text = "Other probes with LFP: " + ", ".join(others) + "; choose one with --probe ID."
        blocks.append(TextBlock(text))
    return blocks


LFP_CSD = Section(
    "lfp",
    "LFP and CSD",
    build_lfp_csd,
    intro="Local field potential along one probe and its current source density.",
)
