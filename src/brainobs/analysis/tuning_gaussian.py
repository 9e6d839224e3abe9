"""2-D Gaussian fits of receptive-field maps, for all units at once.

The fit starts from the map's moments (height, centre of mass, spread of the row and column
through the centre) and minimises the squared residuals by Levenberg-Marquardt. brainobs runs
one batched Levenberg-Marquardt over every unit with the analytic Jacobian; with
``reference_quirks`` each map goes through MINPACK's ``lmdif`` (scipy ``leastsq``, finite
differences) from the reference's moments, whose widths come from the wrong lines.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.optimize import leastsq

__all__ = ["fit_gaussian_2d", "fit_gaussians", "gaussian_moments"]

_MAX_ITERATIONS = 200
_RELATIVE_TOLERANCE = 1.49012e-08  # MINPACK's default ftol / xtol in scipy


def _gaussian_2d(p: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Return the 2-D Gaussian of parameters (height, centre y, centre x, width y, width x)."""
    peak_height, center_y, center_x, width_y, width_x = p
    return np.asarray(
        peak_height
        * np.exp(-(((center_y - y) / width_y) ** 2 + ((center_x - x) / width_x) ** 2) / 2)
    )


def gaussian_moments(data: np.ndarray, swap_widths: bool) -> tuple[float, ...] | None:
    """Return (height, centre y, centre x, width y, width x) moments of ``data``, None if empty.

    The widths are the spread of the column and the row through the centre. The reference
    computes each from the other axis's line (``swap_widths``), which only moves the fit's start.
    """
    total = data.sum()
    Y, X = np.indices(data.shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        center_y = (Y * data).sum() / total
        center_x = (X * data).sum() / total
    if not (np.isfinite(center_y) and np.isfinite(center_x)):
        return None
    col = data[:, int(center_x)]
    row = data[int(center_y), :]
    along_y, along_x = (row, col) if swap_widths else (col, row)
    with np.errstate(invalid="ignore", divide="ignore"):
        width_y = np.sqrt(
            np.abs((np.arange(along_y.size) - center_y) ** 2 * along_y).sum() / along_y.sum()
        )
        width_x = np.sqrt(
            np.abs((np.arange(along_x.size) - center_x) ** 2 * along_x).sum() / along_x.sum()
        )
    return data.max(), center_y, center_x, width_y, width_x


def fit_gaussian_2d(data: np.ndarray) -> np.ndarray:
    """Return the reference's fit of one map: MINPACK ``leastsq`` from its swapped moments."""
    start = gaussian_moments(data, swap_widths=True)
    if start is None:
        return np.full(5, np.nan)

    def residuals(p: np.ndarray) -> np.ndarray:
        return np.ravel(_gaussian_2d(p, *np.indices(data.shape)) - data)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            fitted, _ = leastsq(residuals, start)
    except (ValueError, TypeError):
        return np.full(5, np.nan)
    return np.asarray(fitted, dtype=np.float64)


def _model(p: np.ndarray, y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (unit, cell) model values and (unit, cell, parameter) derivatives."""
    height, cy, cx, wy, wx = (p[:, i, None] for i in range(5))
    with np.errstate(all="ignore"):
        a, b = (cy - y) / wy, (cx - x) / wx
        unit = np.exp(-(a**2 + b**2) / 2)
        g = height * unit
        jac = np.stack((unit, -g * a / wy, -g * b / wx, g * a**2 / wy, g * b**2 / wx), axis=-1)
    return g, jac


def _solve(normal: np.ndarray, gradient: np.ndarray) -> np.ndarray:
    """Return the steps solving normal @ step = -gradient (least squares where singular)."""
    try:
        return np.asarray(np.linalg.solve(normal, -gradient[..., None])[..., 0])
    except np.linalg.LinAlgError:
        return np.asarray(np.einsum("nij,nj->ni", np.linalg.pinv(normal), -gradient))


def levenberg_marquardt(data: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Return least-squares Gaussian parameters of each (unit, row, column) map from ``start``.

    Batched Levenberg-Marquardt with Marquardt's diagonal scaling; a unit stops when a step
    changes its cost or its parameters by less than MINPACK's default relative tolerance.
    """
    y, x = (a.reshape(-1) for a in np.indices(data.shape[1:]))
    flat = data.reshape(data.shape[0], -1).astype(np.float64)
    p: np.ndarray = start.astype(np.float64).copy()
    model, jac = _model(p, y, x)
    cost = np.sum((model - flat) ** 2, axis=1)
    damping = np.full(p.shape[0], 1e-3)
    active = np.isfinite(p).all(axis=1) & np.isfinite(cost)
    for _ in range(_MAX_ITERATIONS):
        rows = np.flatnonzero(active)
        if rows.size == 0:
            break
        j, r = jac[rows], model[rows] - flat[rows]
        normal = np.einsum("nci,ncj->nij", j, j)
        scale = np.maximum(np.einsum("nii->ni", normal), 1e-12)
        normal += damping[rows, None, None] * np.einsum("ni,ij->nij", scale, np.eye(5))
        step = _solve(normal, np.einsum("nci,nc->ni", j, r))
        trial = p[rows] + step
        trial_model, trial_jac = _model(trial, y, x)
        trial_cost = np.sum((trial_model - flat[rows]) ** 2, axis=1)
        better = np.isfinite(trial_cost) & (trial_cost <= cost[rows])
        keep = rows[better]
        small = (cost[keep] - trial_cost[better] <= _RELATIVE_TOLERANCE * cost[keep]) | np.all(
            np.abs(step[better]) <= _RELATIVE_TOLERANCE * (np.abs(p[keep]) + 1e-12), axis=1
        )
        p[keep], model[keep], jac[keep], cost[keep] = (
            trial[better], trial_model[better], trial_jac[better], trial_cost[better],
        )  # fmt: skip
        damping[rows] = np.where(better, damping[rows] / 10, damping[rows] * 10)
        active[keep[small]] = False
        active[rows[damping[rows] > 1e12]] = False
    return p


def fit_gaussians(maps: np.ndarray, units: np.ndarray, reference_quirks: bool) -> np.ndarray:
    """Return (unit, 5) fitted (height, centre y, centre x, width y, width x); NaN where
    ``units`` is False or the map is empty."""
    out = np.full((maps.shape[0], 5), np.nan)
    chosen = np.flatnonzero(units)
    if reference_quirks:
        for row in chosen:
            out[row] = fit_gaussian_2d(maps[row])
        return out
    starts = np.full((chosen.size, 5), np.nan)
    for position, row in enumerate(chosen):
        moments = gaussian_moments(maps[row].astype(np.float64), swap_widths=False)
        if moments is not None:
            starts[position] = moments
    if chosen.size:
        out[chosen] = levenberg_marquardt(maps[chosen], starts)
    return out
