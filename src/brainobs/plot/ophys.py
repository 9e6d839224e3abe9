"""2-photon plots: the field of view with ROI outlines, event-aligned dF/F heat maps, image
responses.

Each function takes data (arrays, the outputs of :mod:`brainobs.analysis.ophys`) and an
optional Axes, and returns the Axes it drew on.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from brainobs.errors import InvalidInputError
from brainobs.plot.style import get_axes

__all__ = [
    "plot_aligned_heatmap",
    "plot_fov_with_rois",
    "plot_image_response_heatmap",
    "roi_outlines",
]

ROI_COLOR = (1.0, 0.35, 0.1)


def roi_outlines(masks: np.ndarray) -> np.ndarray:
    """Return a boolean image that is True on the edge pixels of any mask (ROI x y x x)."""
    masks = np.asarray(masks, dtype=bool)
    if masks.ndim != 3:
        raise InvalidInputError(f"masks must be ROI x height x width, got shape {masks.shape}")
    from scipy.ndimage import binary_erosion

    edges = np.zeros(masks.shape[1:], dtype=bool)
    for mask in masks:  # one mask at a time: no ROI x FOV temporary
        edges |= mask & ~binary_erosion(mask)
    return edges


def plot_fov_with_rois(
    image: np.ndarray,
    masks: np.ndarray | None = None,
    ax: Any = None,
    title: str = "",
    color: tuple[float, float, float] = ROI_COLOR,
) -> Any:
    """Return the Axes with a field-of-view image (grey) and the outlines of ``masks`` on it."""
    data = np.asarray(image, dtype=float)
    if data.ndim != 2:
        raise InvalidInputError(f"image must be 2-D, got shape {data.shape}")
    ax = get_axes(ax, figsize=(4.0, 4.0))
    low, high = np.nanpercentile(data, [1.0, 99.7]) if data.size else (0.0, 1.0)
    ax.imshow(data, cmap="gray", vmin=low, vmax=max(high, low + 1e-9), interpolation="nearest")
    if masks is not None and len(masks):
        edges = roi_outlines(masks)
        if edges.shape != data.shape:
            raise InvalidInputError(f"masks are {edges.shape}, the image is {data.shape}")
        overlay = np.zeros((*edges.shape, 4))
        overlay[edges] = (*color, 0.9)
        ax.imshow(overlay, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)
    return ax


def plot_aligned_heatmap(
    mean_traces: np.ndarray,
    time: np.ndarray,
    ax: Any = None,
    title: str = "",
    order: np.ndarray | None = None,
    vmax: float | None = None,
    xlabel: str = "Time from event (s)",
) -> Any:
    """Return the Axes with each cell's mean event-aligned trace as a row (cell x time).

    Rows are in ``order`` (default: by mean response after the event, largest first); the
    colour scale is symmetric around 0 (``vmax`` defaults to the 99th percentile of |values|).
    """
    values = np.asarray(mean_traces, dtype=float)
    time = np.asarray(time, dtype=float)
    if values.ndim != 2 or values.shape[1] != time.size:
        raise InvalidInputError(f"mean_traces must be cell x {time.size} times, got {values.shape}")
    if order is None:
        after = time >= 0
        score = np.nanmean(values[:, after], axis=1) if after.any() else np.zeros(len(values))
        order = np.argsort(-np.nan_to_num(score, nan=-np.inf), kind="stable")
    finite = np.abs(values[np.isfinite(values)])
    scale = vmax if vmax is not None else (float(np.percentile(finite, 99)) if finite.size else 1)
    ax = get_axes(ax, figsize=(4.0, 4.0))
    step = float(np.median(np.diff(time))) if time.size > 1 else 1.0
    extent = (time[0] - step / 2, time[-1] + step / 2, len(values) - 0.5, -0.5)
    image = ax.imshow(values[order], aspect="auto", cmap="RdBu_r", vmin=-scale, vmax=scale,
                      extent=extent, interpolation="nearest")  # fmt: skip
    ax.figure.colorbar(image, ax=ax, label="dF/F")
    ax.axvline(0.0, color="0.3", lw=0.8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("Cell (sorted by response)")
    if title:
        ax.set_title(title)
    return ax


def plot_image_response_heatmap(per_image: pd.DataFrame, ax: Any = None, title: str = "") -> Any:
    """Return the Axes with each cell's mean response to each image (cell x image_name).

    ``per_image`` is :func:`brainobs.analysis.ophys.image_responses`; cells are grouped by
    their preferred image and sorted by its response within a group.
    """
    if per_image.empty:
        raise InvalidInputError("per_image has no cells or no images")
    values = per_image.to_numpy(dtype=float)
    filled = np.nan_to_num(values, nan=-np.inf)
    preferred = filled.argmax(axis=1)
    order = np.lexsort((-filled.max(axis=1), preferred))
    finite = np.abs(values[np.isfinite(values)])
    scale = float(np.percentile(finite, 99)) if finite.size else 1.0
    ax = get_axes(ax, figsize=(4.0, 4.0))
    image = ax.imshow(values[order], aspect="auto", cmap="RdBu_r", vmin=-scale, vmax=scale,
                      interpolation="nearest")  # fmt: skip
    ax.figure.colorbar(image, ax=ax, label="Mean response (dF/F)")
    ax.set_xticks(range(per_image.shape[1]))
    ax.set_xticklabels([str(c) for c in per_image.columns], rotation=60, ha="right")
    ax.set_ylabel("Cell (by preferred image)")
    if title:
        ax.set_title(title)
    return ax
