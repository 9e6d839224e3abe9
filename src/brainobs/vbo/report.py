"""The report of a VBO experiment (one imaging plane): the sections, in page order.

The field of view with the cells' outlines, the cells' dF/F around image changes and
omissions, their responses per image, then the shared behaviour sections.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from brainobs.plot.ophys import (
    plot_aligned_heatmap,
    plot_fov_with_rois,
    plot_image_response_heatmap,
)
from brainobs.plot.streams import plot_event_aligned_trace
from brainobs.plot.style import new_figure
from brainobs.report.section import (
    Block,
    FigureBlock,
    ReportContext,
    Section,
    SectionUnavailableError,
    TableBlock,
    TextBlock,
)
from brainobs.report.sections_behavior import BEHAVIOR_AROUND_CHANGES, TASK_PERFORMANCE
from brainobs.report.sections_units import METADATA
from brainobs.report.session_data import read_stream
from brainobs.vbo.responses import task_presentations

#: Seconds around each change or omission shown in the heat maps.
EVENT_WINDOW = (-1.0, 1.5)


def _require(session: Any, name: str) -> Any:
    """Return ``session.<name>``; raise SectionUnavailableError when it has none."""
    if not hasattr(session, name):
        raise SectionUnavailableError(f"a {type(session).__name__} has no {name} (no imaging)")
    return getattr(session, name)


def build_field_of_view(session: Any, context: ReportContext) -> Sequence[Block]:
    """Return the max projection with the cells' outlines beside the average projection."""
    maximum = read_stream(session, "max_projection")
    average = read_stream(session, "average_projection")
    masks = _require(session, "get_roi_masks")().to_numpy()
    metadata = dict(read_stream(session, "metadata"))
    figure, axes = new_figure(1, 2, figsize=(9.0, 4.6))
    plot_fov_with_rois(np.asarray(maximum), masks, ax=axes[0, 0],
                       title=f"Max projection, {len(masks)} cells")  # fmt: skip
    plot_fov_with_rois(np.asarray(average), None, ax=axes[0, 1], title="Average projection")
    pixel_um = float(maximum.spacing[0]) * 1000.0
    note = (
        f"{len(masks)} cells in a {masks.shape[2]} x {masks.shape[1]} px field of view "
        f"({pixel_um:.2f} µm/px) in {metadata.get('targeted_structure')} at "
        f"{metadata.get('imaging_depth')} µm, imaged at {metadata.get('ophys_frame_rate'):g} Hz "
        f"({metadata.get('indicator')}, {metadata.get('cre_line')})."
    )
    return [TextBlock(note), FigureBlock(figure, caption="Cell outlines on the max projection.")]


def _flashes(session: Any, context: ReportContext) -> pd.DataFrame:
    """Return the change-detection flashes of the session (memoised)."""
    return context.memo(
        "vbo_flashes",
        lambda: task_presentations(read_stream(session, "stimulus_presentations")),
    )


def _mean_aligned(session: Any, context: ReportContext, column: str) -> xr.DataArray:
    """Return each cell's mean dF/F around the flashes where ``column`` is True (cell x time)."""
    flashes = _flashes(session, context)
    chosen = flashes[flashes[column].astype("boolean").fillna(False).to_numpy(dtype=bool)]
    if chosen.empty:
        raise SectionUnavailableError(f"no change-detection flash has {column} set")
    aligned = _require(session, "get_aligned_traces")("dff", chosen, EVENT_WINDOW)
    return aligned.mean("stimulus_presentations_id").transpose("cell_specimen_id", "time")


def build_aligned_dff(session: Any, context: ReportContext) -> Sequence[Block]:
    """Return heat maps of each cell's mean dF/F around changes and omissions, and the
    population means."""
    events = {"changes": "is_change", "omissions": "omitted"}
    figure, axes = new_figure(2, 2, figsize=(10.0, 7.0), height_ratios=(3, 2))
    counts = {}
    for k, (label, column) in enumerate(events.items()):
        mean = _mean_aligned(session, context, column)
        time = mean["time"].to_numpy()
        flashes = _flashes(session, context)
        counts[label] = int(flashes[column].astype("boolean").fillna(False).sum())
        plot_aligned_heatmap(mean.to_numpy(), time, ax=axes[0, k],
                             title=f"dF/F around {counts[label]} {label}",
                             xlabel=f"Time from {label[:-1]} (s)")  # fmt: skip
        plot_event_aligned_trace(
            time,
            mean.to_numpy(),
            ax=axes[1, k],
            color="#d62728",
            ylabel="Mean dF/F",
            xlabel=f"Time from {label[:-1]} (s)",
            label=f"mean ± SEM over {mean.sizes['cell_specimen_id']} cells",
        )
    caption = "Rows: cells, each the mean over events; bottom: the mean over cells."
    return [FigureBlock(figure, caption=caption)]


def build_image_responses(session: Any, context: ReportContext) -> Sequence[Block]:
    """Return each cell's mean response per image and the population's per condition."""
    flashes = _flashes(session, context)
    per_image = _require(session, "get_image_responses")("dff", flashes)
    conditions = session.get_change_omission_responses("dff", flashes)
    figure, axes = new_figure(1, 1, figsize=(6.0, 4.5))
    plot_image_response_heatmap(per_image, ax=axes[0, 0], title="Mean response per image")
    preferred = per_image.fillna(-np.inf).idxmax(axis=1).value_counts()
    table = pd.DataFrame(
        {
            "mean response (dF/F)": per_image.mean(axis=0),
            "cells preferring it": preferred.reindex(per_image.columns, fill_value=0),
        }
    )
    summary = conditions.agg(["mean", "sem"]).T
    summary.index.name = "condition"
    return [
        FigureBlock(figure, caption="Mean dF/F 0-0.5 s after each flash minus 0.25 s before."),
        TableBlock(table, caption="Per image, over cells"),
        TableBlock(summary, caption="Per condition: mean and SEM over cells"),
    ]


FIELD_OF_VIEW = Section(
    "fov",
    "Field of view and cells",
    build_field_of_view,
    intro="The imaging plane: its projections and the outlines of the segmented cells.",
)
ALIGNED_DFF = Section(
    "aligned_dff",
    "dF/F around image changes and omissions",
    build_aligned_dff,
    intro="Every cell's dF/F around the image changes and the omitted flashes of the "
    "change-detection block.",
)
IMAGE_RESPONSES = Section(
    "image_responses",
    "Responses per image",
    build_image_responses,
    intro="Mean response of each cell to each image shown, and per condition (change, "
    "repeated image, omission).",
)

#: Report kind ``vbo_ophys`` (declared in :data:`brainobs.releases.VBO`).
OPHYS_SECTIONS: tuple[Section, ...] = (
    METADATA,
    FIELD_OF_VIEW,
    ALIGNED_DFF,
    IMAGE_RESPONSES,
    BEHAVIOR_AROUND_CHANGES,
    TASK_PERFORMANCE,
)
