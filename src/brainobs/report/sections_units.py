"""Report sections about the session itself and its units: metadata, areas, unit quality."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from brainobs.plot.style import new_figure
from brainobs.plot.units import plot_metric_distribution, plot_unit_counts
from brainobs.report.section import (
    Block,
    FigureBlock,
    ReportContext,
    Section,
    SectionUnavailableError,
    TableBlock,
    TextBlock,
)
from brainobs.report.session_data import passes_quality, read_stream, unit_table

__all__ = ["METADATA", "QUALITY_METRICS", "UNITS_BY_AREA"]

_METADATA_ORDER = (
    "ecephys_session_id",
    "behavior_session_id",
    "session_type",
    "date_of_acquisition",
    "mouse_id",
    "full_genotype",
    "cre_line",
    "sex",
    "age_in_days",
    "equipment_name",
    "project_code",
    "stimulus_frame_rate",
)


def _metadata_table(metadata: dict[str, Any]) -> pd.DataFrame:
    """Return the metadata as a two-column table, the usual keys first."""
    keys = [k for k in _METADATA_ORDER if k in metadata]
    keys += sorted(k for k in metadata if k not in keys)
    values = [_text(metadata[k]) for k in keys]
    return pd.DataFrame({"value": values}, index=pd.Index(keys, name="field"))


def _text(value: Any) -> str:
    """Return a metadata value as short text."""
    if isinstance(value, float) and np.isnan(value):
        return ""
    if isinstance(value, (list, tuple, set)):
        return ", ".join(str(v) for v in value)
    text = str(value)
    return text if len(text) < 120 else text[:117] + "..."


def _size_of(session: Any, name: str) -> int | None:
    """Return the number of rows of a session table, None when the session has none."""
    try:
        value = getattr(session, name)
        value = value() if callable(value) else value
    except (LookupError, AttributeError, OSError):
        return None
    return None if value is None else len(value)


def build_metadata(session: Any, context: ReportContext) -> Sequence[Block]:
    """Return the metadata table and the sizes of the session's main tables."""
    metadata = dict(read_stream(session, "metadata"))
    sizes = {
        "units": _size_of(session, "get_units"),
        "probes": _size_of(session, "probes"),
        "stimulus presentations": _size_of(session, "stimulus_presentations"),
        "trials": _size_of(session, "trials"),
        "licks": _size_of(session, "licks"),
        "rewards": _size_of(session, "rewards"),
    }
    counts = pd.DataFrame(
        {"rows": [v for v in sizes.values() if v is not None]},
        index=pd.Index([k for k, v in sizes.items() if v is not None], name="table"),
    )
    blocks: list[Block] = [TableBlock(_metadata_table(metadata), caption="Session metadata")]
    if not counts.empty:
        blocks.append(TableBlock(counts, caption="What the session holds"))
    return blocks


def _area_order(units: pd.DataFrame) -> list[str]:
    """Return the areas of ``units`` from the shallowest probe position down, per probe."""
    areas = units.dropna(subset=["structure_acronym"])
    if "probe_vertical_position" in areas.columns:
        areas = areas.sort_values("probe_vertical_position", ascending=False)
    return [str(a) for a in pd.unique(areas["structure_acronym"])]


def build_units_by_area(session: Any, context: ReportContext) -> Sequence[Block]:
    """Return the units-per-area bar chart (all and passing units) and a probe x area table."""
    units = unit_table(session, context)
    located = units[units["structure_acronym"].notna()]
    if located.empty:
        raise SectionUnavailableError("no unit has a brain area (peak channel without CCF label)")
    passing = passes_quality(located, context)
    order = _area_order(located)
    counts = pd.DataFrame(
        {
            "all units": located["structure_acronym"].value_counts(),
            "passing quality thresholds": located.loc[passing, "structure_acronym"].value_counts(),
        }
    ).reindex(order, fill_value=0)
    figure, axes = new_figure(1, 1, figsize=(max(5.0, 0.55 * len(order) + 2.0), 3.2))
    plot_unit_counts(counts.fillna(0), ax=axes[0, 0])
    probe_column = "probe_name" if "probe_name" in located.columns else "probe_id"
    table = pd.crosstab(located[probe_column], located["structure_acronym"])
    table = table.reindex(columns=[a for a in order if a in table.columns])
    note = (
        f"{len(units)} units, {len(located)} in a brain area, {int(passing.sum())} pass "
        "the quality thresholds."
    )
    return [
        TextBlock(note),
        FigureBlock(figure, caption="Units per brain area (peak channel's CCF area)."),
        TableBlock(table, caption="Units per probe and area (all units)"),
    ]


def _thresholds(context: ReportContext) -> list[tuple[str, float, str]]:
    """Return (metric, threshold, side kept) of the report's quality thresholds."""
    options = context.options
    return [
        ("amplitude_cutoff", options.amplitude_cutoff_maximum, "below"),
        ("presence_ratio", options.presence_ratio_minimum, "above"),
        ("isi_violations", options.isi_violations_maximum, "below"),
    ]


def build_quality_metrics(session: Any, context: ReportContext) -> Sequence[Block]:
    """Return histograms of the three unit-quality metrics with their thresholds marked."""
    units = unit_table(session, context)
    present = [t for t in _thresholds(context) if t[0] in units.columns]
    if not present:
        raise SectionUnavailableError("the units table has no quality-metric columns")
    figure, axes = new_figure(1, len(present), figsize=(4.0 * len(present), 3.0))
    for ax, (metric, threshold, keep) in zip(axes[0], present, strict=True):
        values = pd.to_numeric(units[metric], errors="coerce").rename(metric)
        if metric == "isi_violations":
            values = values.clip(upper=max(2.0, threshold * 2))
        plot_metric_distribution(values, threshold, keep=keep, ax=ax)  # type: ignore[arg-type]
    marked = ", ".join(
        f"{metric} {'≤' if keep == 'below' else '≥'} {threshold:g}"
        for metric, threshold, keep in present
    )
    caption = (
        f"Distributions over all units; dashed lines mark the thresholds ({marked}). "
        "ISI violations above 2 are drawn at 2."
    )
    return [FigureBlock(figure, caption=caption)]


METADATA = Section("metadata", "Session", build_metadata)
UNITS_BY_AREA = Section(
    "units",
    "Units per area",
    build_units_by_area,
    intro="Where the units are: counts per brain area, all and passing the quality thresholds.",
)
QUALITY_METRICS = Section(
    "quality",
    "Unit quality metrics",
    build_quality_metrics,
    intro="Spike-sorting quality metrics; later sections use only units passing all three.",
)
