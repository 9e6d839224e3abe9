"""Unit-population figures: units per brain area and quality-metric distributions.

Each function takes data and an optional Axes and returns the Axes it drew on.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from brainobs.errors import InvalidInputError
from brainobs.plot.style import area_color, get_axes

__all__ = ["QUALITY_METRIC_LABELS", "plot_metric_distribution", "plot_unit_counts"]

QUALITY_METRIC_LABELS: dict[str, str] = {
    "amplitude_cutoff": "Amplitude cutoff (fraction of spikes missed)",
    "presence_ratio": "Presence ratio (fraction of session)",
    "isi_violations": "ISI violations (contamination ratio)",
    "firing_rate": "Firing rate (spikes/s)",
    "snr": "SNR (peak / noise)",
}


def plot_unit_counts(counts: pd.DataFrame | pd.Series, ax: Any = None) -> Any:
    """Return the Axes with a bar per brain area of the number of units.

    ``counts`` is indexed by area acronym; a Series draws one bar per area in the area's
    colour, a DataFrame one group of bars per area with one bar per column (the first
    column in the area colour, the next ones lighter), e.g. all units and passing units.
    """
    table = counts.to_frame("units") if isinstance(counts, pd.Series) else counts
    if table.empty:
        raise InvalidInputError("counts is empty; pass units per area, e.g. value_counts()")
    ax = get_axes(ax, figsize=(max(4.0, 0.5 * len(table) + 1.5), 3.0))
    positions = np.arange(len(table))
    width = 0.8 / table.shape[1]
    colors = [area_color(str(area)) for area in table.index]
    for number, column in enumerate(table.columns):
        alpha = 1.0 if number == 0 else max(0.25, 0.55 - 0.15 * (number - 1))
        ax.bar(
            positions + (number - (table.shape[1] - 1) / 2) * width,
            table[column].to_numpy(dtype=float),
            width=width,
            color=colors,
            alpha=alpha,
            edgecolor="0.3" if number else "none",
            linewidth=0.5,
            label=str(column),
        )
    ax.set_xticks(positions)
    ax.set_xticklabels([str(area) for area in table.index], rotation=45, ha="right")
    ax.set_xlabel("Brain area (CCF acronym)")
    ax.set_ylabel("Units (count)")
    if table.shape[1] > 1:
        ax.legend(loc="upper right")
    return ax


def _split_at_threshold(
    ax: Any, data: np.ndarray, edges: np.ndarray, threshold: float, keep: str
) -> None:
    """Draw kept and rejected values in two colours, the threshold line and fraction kept."""
    kept = data <= threshold if keep == "below" else data >= threshold
    ax.hist(data[kept], bins=edges, color="#4c72b0", label="kept")
    ax.hist(data[~kept], bins=edges, color="#d62728", alpha=0.7, label="rejected")
    fraction = float(kept.mean()) if data.size else float("nan")
    sign = "≤" if keep == "below" else "≥"
    ax.axvline(threshold, color="black", ls="--", lw=1.0)
    ax.text(
        threshold,
        0.98,
        f" {sign} {threshold:g}: {fraction:.0%} kept ",
        transform=ax.get_xaxis_transform(),
        va="top",
        ha="left" if keep == "below" else "right",
        fontsize=8,
    )


def plot_metric_distribution(
    values: pd.Series | np.ndarray,
    threshold: float | None = None,
    keep: Literal["below", "above"] = "below",
    ax: Any = None,
    label: str | None = None,
    bins: int = 40,
) -> Any:
    """Return the Axes with a histogram of a quality metric and its threshold marked.

    Units on the rejected side of ``threshold`` (above it with ``keep="below"``) are drawn in
    red and the line is labelled with the fraction of units kept. NaN values are not drawn.
    """
    if keep not in ("below", "above"):
        raise InvalidInputError(f"keep must be 'below' or 'above', got {keep!r}")
    name = values.name if isinstance(values, pd.Series) else None
    data = np.asarray(values, dtype=float)
    data = data[np.isfinite(data)]
    ax = get_axes(ax)
    edges = np.histogram_bin_edges(data if data.size else np.zeros(1), bins=bins)
    if threshold is None:
        ax.hist(data, bins=edges, color="#4c72b0")
    else:
        _split_at_threshold(ax, data, edges, threshold, keep)
    ax.set_xlabel(label or QUALITY_METRIC_LABELS.get(str(name), str(name or "value")))
    ax.set_ylabel("Units (count)")
    return ax
