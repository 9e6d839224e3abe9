"""Figures of change-detection behaviour: rolling performance, lick rasters, image hit rates,
training history.

Each function takes the tables made by :mod:`brainobs.analysis.behavior` and an optional
matplotlib Axes, draws on it (or on a new styled one) and returns the Axes. matplotlib is
the optional dependency ``brainobs[plot]``; it is imported only when a figure is drawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from brainobs.analysis._validation import require_columns
from brainobs.errors import InvalidInputError
from brainobs.plot.style import get_axes

if TYPE_CHECKING:
    from matplotlib.axes import Axes

OUTCOME_COLORS: dict[str, str] = {
    "hit": "#2ca02c",
    "miss": "#7f7f7f",
    "false_alarm": "#d62728",
    "correct_reject": "#1f77b4",
    "auto_rewarded": "#9467bd",
    "aborted": "#bcbd22",
}

METRIC_LABELS: dict[str, str] = {
    "max_dprime_engaged": "d′ (max over engaged trials)",
    "max_dprime": "d′ (max over session)",
    "mean_dprime_engaged": "d′ (mean over engaged trials)",
    "mean_dprime": "d′ (mean over session)",
    "mean_hit_rate_engaged": "Hit rate (mean over engaged trials)",
    "mean_hit_rate": "Hit rate (mean over session)",
    "maximum_reward_rate": "Max reward rate (rewards/min)",
    "engaged_trial_count": "Engaged trials (count)",
}


def _require(table: pd.DataFrame, columns: Sequence[str], made_by: str) -> None:
    """Return None if ``table`` has ``columns``; raise naming the function that makes it."""
    require_columns(table, columns, "the table to plot", f"pass the output of {made_by}")


def _trial_axis(rolling: pd.DataFrame, trials: pd.DataFrame | None) -> tuple[np.ndarray, str]:
    """Return x positions for each rolling row and the matching axis label."""
    if trials is None:
        return rolling.index.to_numpy(dtype=float), "Trial number"
    _require(trials, ("start_time",), "the session's trials table")
    if len(trials) != len(rolling):
        raise InvalidInputError(
            f"trials has {len(trials)} rows but rolling has {len(rolling)}; pass the trials "
            "the rolling table was computed from."
        )
    return trials["start_time"].to_numpy(dtype=float) / 60.0, "Time in session (min)"


def _shade_epochs(ax: Axes, epochs: pd.DataFrame, trials: pd.DataFrame | None) -> None:
    """Shade the engaged epochs of an :func:`engagement_epochs` table on ``ax``."""
    _require(
        epochs,
        ("engaged", "start_time", "stop_time", "first_trial_id", "last_trial_id"),
        "brainobs.analysis.behavior.engagement_epochs",
    )
    engaged = epochs[epochs["engaged"].astype(bool)]
    if trials is None:
        edges = zip(engaged["first_trial_id"], engaged["last_trial_id"], strict=True)
    else:
        edges = zip(engaged["start_time"] / 60.0, engaged["stop_time"] / 60.0, strict=True)
    for number, (start, stop) in enumerate(edges):
        label = "engaged" if number == 0 else None
        ax.axvspan(float(start), float(stop), color="#ffe9a8", alpha=0.6, lw=0, label=label)


def plot_rolling_performance(
    rolling: pd.DataFrame,
    trials: pd.DataFrame | None = None,
    *,
    epochs: pd.DataFrame | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Return the Axes showing rolling hit and false-alarm rates, with d′ on a twin axis.

    ``rolling`` comes from ``rolling_performance``; with ``trials`` the x axis is time in
    the session (min), otherwise trial number. ``epochs`` (``engagement_epochs``) are shaded.
    """
    _require(
        rolling,
        ("hit_rate", "false_alarm_rate", "rolling_dprime"),
        "brainobs.analysis.behavior.rolling_performance",
    )
    ax = get_axes(ax, figsize=(6.0, 3.0))
    x, xlabel = _trial_axis(rolling, trials)
    if epochs is not None:
        _shade_epochs(ax, epochs, trials)
    for column, color, name in (
        ("hit_rate", OUTCOME_COLORS["hit"], "hit rate"),
        ("false_alarm_rate", OUTCOME_COLORS["false_alarm"], "FA rate"),
    ):
        values = rolling[column].to_numpy(dtype=float)
        shown = np.isfinite(values)
        ax.plot(x[shown], values[shown], color=color, lw=1.2, label=name)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("Response rate (fraction of trials)")
    twin = ax.twinx()
    dprime_values = rolling["rolling_dprime"].to_numpy(dtype=float)
    shown = np.isfinite(dprime_values)
    twin.plot(x[shown], dprime_values[shown], color="black", lw=1.0, ls="--", label="d′")
    twin.set_ylabel("Rolling d′ (z units)")
    handles, labels = ax.get_legend_handles_labels()
    twin_handles, twin_labels = twin.get_legend_handles_labels()
    ax.legend(handles + twin_handles, labels + twin_labels, loc="upper right")
    return ax


def _raster_rows(raster: pd.DataFrame, id_column: str, trials: pd.DataFrame | None) -> pd.Index:
    """Return the trial ids to draw as raster rows, top to bottom, in session order."""
    if trials is None:
        return pd.Index(pd.unique(raster[id_column]))
    _require(trials, ("change_time",), "the session's trials table")
    return trials.index[trials["change_time"].notna().to_numpy()]


def plot_lick_raster(
    raster: pd.DataFrame,
    trials: pd.DataFrame | None = None,
    *,
    response_window: tuple[float, float] | None = (0.15, 0.75),
    ax: Axes | None = None,
) -> Axes:
    """Return the Axes showing licks aligned to changes, one row per trial, coloured by outcome.

    ``raster`` comes from ``change_lick_raster``. With ``trials`` every change trial gets a
    row (misses without licks stay empty); ``response_window`` (s) is shaded.
    """
    _require(
        raster, ("time_from_change", "outcome"), "brainobs.analysis.behavior.change_lick_raster"
    )
    id_column = raster.columns[0]
    rows = _raster_rows(raster, id_column, trials)
    ax = get_axes(ax, figsize=(4.0, 5.0))
    if response_window is not None:
        ax.axvspan(*response_window, color="#dddddd", lw=0, label="response window")
    ax.axvline(0.0, color="black", lw=0.8)
    y = rows.get_indexer(pd.Index(raster[id_column]))
    outcome = raster["outcome"].astype(str).to_numpy()
    for name, color in OUTCOME_COLORS.items():
        chosen = (outcome == name) & (y >= 0)
        if chosen.any():
            ax.scatter(
                raster["time_from_change"].to_numpy()[chosen],
                y[chosen],
                marker="|",
                s=12,
                color=color,
                label=name.replace("_", " "),
            )
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlabel("Time from change (s)")
    ax.set_ylabel("Change trial (session order)")
    ax.legend(loc="lower right", markerscale=1.5)
    return ax


def plot_hit_rate_by_image(table: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Return the Axes with a bar of hit rate per change image and its false-alarm rate."""
    _require(
        table, ("hit_rate", "false_alarm_rate"), "brainobs.analysis.behavior.hit_rate_by_image"
    )
    if isinstance(table.index, pd.MultiIndex):
        raise InvalidInputError(
            "plot_hit_rate_by_image takes the per-image table (hit_rate_by_image); for image "
            "pairs use plot_response_matrix."
        )
    ax = get_axes(ax, figsize=(max(3.0, 0.45 * len(table) + 1.5), 3.0))
    positions = np.arange(len(table))
    ax.bar(
        positions,
        table["hit_rate"].to_numpy(dtype=float),
        color=OUTCOME_COLORS["hit"],
        width=0.7,
        label="hit rate (go trials)",
    )
    ax.plot(
        positions,
        table["false_alarm_rate"].to_numpy(dtype=float),
        "o",
        color=OUTCOME_COLORS["false_alarm"],
        label="FA rate (catch trials)",
    )
    ax.set_xticks(positions)
    ax.set_xticklabels([str(name) for name in table.index], rotation=45, ha="right")
    ax.set_ylim(0.0, 1.0)
    ax.set_xlabel("Change image")
    ax.set_ylabel("Response rate (fraction of trials)")
    ax.legend(loc="upper right")
    return ax


def plot_response_matrix(table: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Return the Axes with a heat map of response rate per (initial, change) image pair.

    Off-diagonal cells are hit rates of go trials; diagonal cells are false-alarm rates of
    catch trials. ``table`` comes from ``hit_rate_by_image_pair``.
    """
    _require(
        table, ("hit_rate", "false_alarm_rate"), "brainobs.analysis.behavior.hit_rate_by_image_pair"
    )
    if table.index.nlevels != 2:
        raise InvalidInputError(
            "plot_response_matrix takes the per-pair table of hit_rate_by_image_pair."
        )
    rate = table["hit_rate"].fillna(table["false_alarm_rate"]).unstack()
    images = sorted(set(rate.index) | set(rate.columns), key=str)
    matrix = rate.reindex(index=images, columns=images).to_numpy(dtype=float)
    ax = get_axes(ax, figsize=(4.5, 4.0))
    image = ax.imshow(matrix, vmin=0.0, vmax=1.0, cmap="magma", origin="upper")
    ax.figure.colorbar(image, ax=ax, label="Response rate (fraction of trials)")
    ax.set_xticks(np.arange(len(images)))
    ax.set_xticklabels([str(name) for name in images], rotation=90)
    ax.set_yticks(np.arange(len(images)))
    ax.set_yticklabels([str(name) for name in images])
    ax.set_xlabel("Change image")
    ax.set_ylabel("Initial image")
    return ax


def _history_x(history: pd.DataFrame) -> tuple[np.ndarray, str]:
    """Return days since the first session (or session order) and the axis label."""
    if "date_of_acquisition" not in history.columns:
        return np.arange(len(history), dtype=float), "Session (order)"
    dates = pd.to_datetime(history["date_of_acquisition"], utc=True, format="ISO8601")
    days = (dates - dates.min()).dt.total_seconds().to_numpy() / 86400.0
    return days, "Days since first session (d)"


def plot_training_history(
    history: pd.DataFrame, *, metric: str = "max_dprime_engaged", ax: Axes | None = None
) -> Axes:
    """Return the Axes with one session metric (d′ by default) over days, coloured by stage."""
    _require(history, (metric,), "brainobs.analysis.behavior.training_history")
    ax = get_axes(ax, figsize=(6.0, 3.0))
    x, xlabel = _history_x(history)
    values = history[metric].to_numpy(dtype=float)
    order = np.argsort(x, kind="stable")
    ax.plot(x[order], values[order], color="#bbbbbb", lw=1.0, zorder=1)
    stages: Any = (
        history["stage"] if "stage" in history.columns else pd.Series("all", history.index)
    )
    for stage in pd.unique(stages.to_numpy()):
        chosen = (stages == stage).to_numpy()
        ax.scatter(x[chosen], values[chosen], s=18, zorder=2, label=str(stage))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(METRIC_LABELS.get(metric, metric))
    ax.legend(title="stage", loc="best")
    return ax
