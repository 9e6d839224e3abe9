"""One look for every brainobs figure."""

from __future__ import annotations

from typing import Any

# Colour per brain area, shared by every plot that groups by structure.
AREA_COLORS: dict[str, str] = {
    "VISp": "#1f77b4",
    "VISl": "#ff7f0e",
    "VISal": "#2ca02c",
    "VISrl": "#d62728",
    "VISam": "#9467bd",
    "VISpm": "#8c564b",
    "LGd": "#e377c2",
    "LP": "#7f7f7f",
    "CA1": "#bcbd22",
    "CA3": "#17becf",
    "DG": "#aec7e8",
    "MB": "#ffbb78",
    "SCig": "#98df8a",
    "APN": "#ff9896",
}

RC_PARAMS: dict[str, Any] = {
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
    "legend.fontsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
}


def area_color(area: str) -> str:
    """Return the colour used for ``area`` (grey for areas without one)."""
    return AREA_COLORS.get(area, "#555555")


def get_axes(ax: Any = None, figsize: tuple[float, float] = (4.0, 3.0)) -> Any:
    """Return ``ax``, or a new Axes in a new styled figure when ``ax`` is None."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    with plt.rc_context(RC_PARAMS):  # type: ignore[arg-type]
        _, new_ax = plt.subplots(figsize=figsize)
    for key in ("top", "right"):
        new_ax.spines[key].set_visible(False)
    return new_ax


def new_figure(
    nrows: int = 1, ncols: int = 1, figsize: tuple[float, float] = (6.0, 3.0), **kwargs: Any
) -> tuple[Any, Any]:
    """Return a styled Figure (not registered with pyplot) and its 2-D array of Axes.

    The figure is freed when it is no longer referenced, so reports that draw many figures
    do not accumulate them in pyplot's global state; ``kwargs`` go to ``Figure.subplots``.
    """
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(RC_PARAMS):  # type: ignore[arg-type]
        figure = Figure(figsize=figsize, layout="constrained")
        axes = figure.subplots(nrows, ncols, squeeze=False, **kwargs)
    for ax in axes.flat:
        for key in ("top", "right"):
            ax.spines[key].set_visible(False)
    return figure, axes
