"""Report sections on behaviour: running, pupil and licks around changes; task performance."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from brainobs.analysis.licking import align_licks, change_lick_raster
from brainobs.analysis.performance import engagement_epochs
from brainobs.errors import BrainobsError
from brainobs.plot.behavior import plot_lick_raster, plot_rolling_performance
from brainobs.plot.streams import plot_event_aligned_trace, plot_lick_rate
from brainobs.plot.style import new_figure
from brainobs.report.section import (
    Block,
    FigureBlock,
    ReportContext,
    Section,
    SectionUnavailableError,
    TableBlock,
    UnavailableBlock,
)
from brainobs.report.session_data import aligned_samples, change_times, read_stream

__all__ = ["BEHAVIOR_AROUND_CHANGES", "TASK_PERFORMANCE"]

_STEP = 1.0 / 60.0


def _running_panel(session: Any, events: np.ndarray, offsets: np.ndarray, ax: Any) -> None:
    """Draw the running speed around ``events`` on ``ax``."""
    running = read_stream(session, "running_speed")
    samples = aligned_samples(
        running["timestamps"].to_numpy(), running["speed"].to_numpy(), events, offsets
    )
    plot_event_aligned_trace(
        offsets, samples, ax=ax, color="#8c564b", ylabel="Running speed (cm/s)"
    )


def _pupil_panel(session: Any, events: np.ndarray, offsets: np.ndarray, ax: Any) -> None:
    """Draw the pupil area (blinks removed) around ``events`` on ``ax``."""
    eye = read_stream(session, "eye_tracking")
    area = pd.to_numeric(eye["pupil_area"], errors="coerce").to_numpy(dtype=float)
    if "likely_blink" in eye.columns:
        area = np.where(eye["likely_blink"].astype("boolean").fillna(True), np.nan, area)
    samples = aligned_samples(eye["timestamps"].to_numpy(), area, events, offsets)
    plot_event_aligned_trace(offsets, samples, ax=ax, color="#9467bd", ylabel="Pupil area (px²)")


def _lick_panel(session: Any, events: np.ndarray, offsets: np.ndarray, ax: Any) -> None:
    """Draw the lick rate around ``events`` on ``ax``."""
    licks = read_stream(session, "licks")
    window = (float(offsets[0]), float(offsets[-1]))
    aligned = align_licks(licks, events, window=window)
    plot_lick_rate(aligned["time_from_event"].to_numpy(), events.size, window, ax=ax)


_PANELS: tuple[tuple[str, Callable[[Any, np.ndarray, np.ndarray, Any], None]], ...] = (
    ("running speed", _running_panel),
    ("pupil area", _pupil_panel),
    ("licks", _lick_panel),
)


def build_behavior_around_changes(session: Any, context: ReportContext) -> Sequence[Block]:
    """Return running speed, pupil area and lick rate around image changes, side by side."""
    events = change_times(session, context)
    start, stop = context.options.behavior_window
    offsets = np.arange(start, stop + _STEP / 2, _STEP)
    figure, axes = new_figure(1, len(_PANELS), figsize=(4.0 * len(_PANELS), 3.0))
    missing: list[str] = []
    for ax, (name, draw) in zip(axes[0], _PANELS, strict=True):
        try:
            draw(session, events, offsets, ax)
        except (SectionUnavailableError, BrainobsError, KeyError) as exc:
            missing.append(f"{name}: {exc}")
            ax.text(
                0.5,
                0.5,
                f"{name}\nnot available",
                ha="center",
                va="center",
                transform=ax.transAxes,
                color="#7a2323",
            )
            ax.set_axis_off()
    if len(missing) == len(_PANELS):
        raise SectionUnavailableError("; ".join(missing))
    blocks: list[Block] = [
        FigureBlock(figure, caption=f"Around {events.size} image changes in the active block.")
    ]
    blocks += [UnavailableBlock(reason) for reason in missing]
    return blocks


def _with_change_time(trials: pd.DataFrame) -> pd.DataFrame:
    """Return ``trials`` with a ``change_time`` column (VBN names it without the delay)."""
    if "change_time" in trials.columns or "change_time_no_display_delay" not in trials.columns:
        return trials
    return trials.assign(change_time=trials["change_time_no_display_delay"])


def _metrics_table(session: Any) -> pd.DataFrame:
    """Return the session's performance metrics as a two-column table."""
    metrics = read_stream(session, "get_performance_metrics")
    return pd.DataFrame(
        {"value": [float(v) for v in metrics.values()]},
        index=pd.Index(list(metrics), name="metric"),
    )


def build_task_performance(session: Any, context: ReportContext) -> Sequence[Block]:
    """Return rolling hit/false-alarm rates and d′, the metrics table and the lick raster."""
    trials = _with_change_time(read_stream(session, "trials"))
    rolling = read_stream(session, "get_rolling_performance_df")
    try:
        epochs = engagement_epochs(trials, rate=rolling["reward_rate"])
    except BrainobsError:
        epochs = None
    figure, axes = new_figure(1, 2, figsize=(12.0, 4.0), width_ratios=(3, 2))
    plot_rolling_performance(rolling, trials, epochs=epochs, ax=axes[0, 0])
    blocks: list[Block] = [
        FigureBlock(figure, caption="Rolling performance (left), licks (right).")
    ]
    try:
        raster = change_lick_raster(trials, read_stream(session, "licks"))
        plot_lick_raster(raster, trials, ax=axes[0, 1])
    except (SectionUnavailableError, BrainobsError) as exc:
        axes[0, 1].set_axis_off()
        blocks.append(UnavailableBlock(f"lick raster: {exc}"))
    try:
        blocks.append(TableBlock(_metrics_table(session), caption="Performance metrics"))
    except (SectionUnavailableError, BrainobsError) as exc:
        blocks.append(UnavailableBlock(f"performance metrics: {exc}"))
    return blocks


BEHAVIOR_AROUND_CHANGES = Section(
    "behavior",
    "Running, pupil and licks around changes",
    build_behavior_around_changes,
    intro="Mean ± SEM over the image changes of the active block.",
)
TASK_PERFORMANCE = Section(
    "performance",
    "Task performance",
    build_task_performance,
    intro="Hit and false-alarm rates over a trailing window of 100 trials, d′, engaged "
    "epochs (reward rate above 2/min, shaded) and licks around each change.",
)
