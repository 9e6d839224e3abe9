"""Behaviour streams around events: running speed, pupil area and lick rate.

Each function takes data and an optional Axes and returns the Axes it drew on.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from brainobs.errors import InvalidInputError
from brainobs.plot.style import get_axes

__all__ = ["plot_event_aligned_trace", "plot_lick_rate"]


def plot_event_aligned_trace(
    offsets: np.ndarray,
    samples: np.ndarray,
    ax: Any = None,
    color: str = "#1f77b4",
    ylabel: str = "Value",
    xlabel: str = "Time from change (s)",
    label: str | None = None,
) -> Any:
    """Return the Axes with the mean ± SEM over events of a signal aligned to events.

    ``samples`` is events x offsets (NaN allowed, e.g. blinks); ``offsets`` are the seconds
    relative to each event. A line at 0 marks the event.
    """
    samples = np.asarray(samples, dtype=float)
    offsets = np.asarray(offsets, dtype=float)
    if samples.ndim != 2 or samples.shape[1] != offsets.size:
        raise InvalidInputError(
            f"samples must be events x {offsets.size} offsets, got shape {samples.shape}"
        )
    ax = get_axes(ax)
    count = np.sum(np.isfinite(samples), axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        total = np.nansum(samples, axis=0)
        mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
        spread = np.sqrt(np.nansum((samples - mean) ** 2, axis=0) / np.maximum(count - 1, 1))
        sem = np.where(count > 1, spread / np.sqrt(np.maximum(count, 1)), np.nan)
    ax.fill_between(offsets, mean - sem, mean + sem, color=color, alpha=0.25, lw=0)
    n_events = int(np.any(np.isfinite(samples), axis=1).sum())
    ax.plot(offsets, mean, color=color, lw=1.5, label=label or f"mean ± SEM (n={n_events})")
    ax.axvline(0.0, color="0.5", lw=0.8, zorder=0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(loc="upper right")
    return ax


def plot_lick_rate(
    times_from_event: np.ndarray,
    n_events: int,
    window: tuple[float, float],
    bin_width: float = 0.05,
    ax: Any = None,
    color: str = "#2ca02c",
    xlabel: str = "Time from change (s)",
) -> Any:
    """Return the Axes with the lick rate (licks/s per event) in bins around the events.

    ``times_from_event`` holds every lick's time relative to its event (e.g. the
    ``time_from_event`` column of ``align_licks``); ``n_events`` is the number of events.
    """
    if n_events < 1:
        raise InvalidInputError("n_events must be at least 1")
    if not bin_width > 0:
        raise InvalidInputError(f"bin_width must be positive, got {bin_width}")
    edges = np.arange(window[0], window[1] + bin_width / 2, bin_width)
    counts, _ = np.histogram(np.asarray(times_from_event, dtype=float), bins=edges)
    ax = get_axes(ax)
    rate = counts / (n_events * bin_width)
    ax.stairs(rate, edges, fill=True, color=color, alpha=0.8, label=f"{n_events} events")
    ax.axvline(0.0, color="0.5", lw=0.8, zorder=0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("Lick rate (licks/s)")
    ax.legend(loc="upper right")
    return ax
