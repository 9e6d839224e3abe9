"""Tuning figures: direction tuning curves, receptive-field maps, metrics by area.

Each function takes data and an optional Axes and returns the Axes it drew on.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from brainobs.errors import InvalidInputError
from brainobs.plot.style import area_color, get_axes

__all__ = ["plot_direction_tuning", "plot_metric_by_area", "plot_receptive_field"]


def plot_direction_tuning(
    responses: pd.DataFrame, ax: Any = None, colors: dict[Any, str] | None = None
) -> Any:
    """Return the Axes with one tuning curve per column of ``responses``.

    ``responses`` is indexed by direction (degrees) and holds a response (e.g. the mean
    spike count or rate at the preferred temporal frequency) per curve; ``colors`` maps a
    column to a colour. Directions are drawn in order, the first repeated after 360°.
    """
    if responses.empty:
        raise InvalidInputError("responses is empty; pass a direction x unit table")
    ax = get_axes(ax)
    table = responses.sort_index()
    directions = np.append(table.index.to_numpy(dtype=float), table.index[0] + 360.0)
    for column in table.columns:
        values = np.append(table[column].to_numpy(dtype=float), table[column].iloc[0])
        color = (colors or {}).get(column)
        ax.plot(directions, values, marker="o", markersize=3, label=str(column), color=color)
    ax.set_xticks(np.arange(0, 361, 90))
    ax.set_xlabel("Direction (°)")
    ax.set_ylabel("Response")
    if len(table.columns) <= 8:
        ax.legend(loc="upper right", fontsize="small")
    return ax


def plot_receptive_field(
    rf: xr.DataArray, ax: Any = None, title: str | None = None, cmap: str = "magma"
) -> Any:
    """Return the Axes with one receptive-field map on the gabor grid.

    ``rf`` has dims ``(y_position, x_position)`` (degrees of the gabor grid, e.g. one unit of
    :meth:`EcephysSession.get_receptive_fields`); y is drawn upwards.
    """
    if set(rf.dims) != {"y_position", "x_position"}:
        raise InvalidInputError("rf must have dims (y_position, x_position), e.g. maps.sel(...)")
    ax = get_axes(ax, figsize=(2.5, 2.5))
    grid = rf.sortby("y_position").sortby("x_position").transpose("y_position", "x_position")
    x = grid["x_position"].to_numpy().astype(float)
    y = grid["y_position"].to_numpy().astype(float)
    step_x = float(np.diff(x).mean()) if x.size > 1 else 1.0
    step_y = float(np.diff(y).mean()) if y.size > 1 else 1.0
    extent = (x[0] - step_x / 2, x[-1] + step_x / 2, y[0] - step_y / 2, y[-1] + step_y / 2)
    ax.imshow(
        grid.to_numpy().astype(float), origin="lower", extent=extent, cmap=cmap, aspect="equal"
    )
    ax.set_xlabel("x (°)")
    ax.set_ylabel("y (°)")
    if title:
        ax.set_title(title, fontsize="small")
    return ax


def plot_metric_by_area(
    values: pd.Series, areas: pd.Series, ax: Any = None, order: list[str] | None = None
) -> Any:
    """Return the Axes with the distribution of a metric per brain area (points and median).

    ``values`` and ``areas`` are indexed by unit; units without an area or a value are
    skipped.
    """
    table = pd.DataFrame({"value": values, "area": areas}).dropna()
    if table.empty:
        raise InvalidInputError("no unit has both a value and an area")
    ax = get_axes(ax, figsize=(max(4.0, 0.6 * table["area"].nunique() + 1.5), 3.0))
    names = order or sorted(table["area"].unique())
    jitter = np.random.default_rng(0)
    for position, area in enumerate(names):
        points = table.loc[table["area"] == area, "value"].to_numpy(float)
        if not points.size:
            continue
        xs = position + jitter.uniform(-0.2, 0.2, points.size)
        ax.scatter(xs, points, s=8, color=area_color(str(area)), alpha=0.7)
        ax.hlines(np.median(points), position - 0.3, position + 0.3, color="black")
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=45, ha="right")
    ax.set_ylabel(str(values.name or "value"))
    return ax
