"""Receptive fields on the gabor grid: maps, the chi-square test, centre, size (§5.4).

A unit's map is its spike count summed over the gabor presentations at each grid position
(row 0 = the highest ``y``, column 0 = the lowest ``x``). From the map: a categorical chi-square
test of position against bootstrap resamples of the presentations (``p_value_rf``), the centre
and area of the thresholded, smoothed map (``azimuth_rf``, ``elevation_rf``, ``area_rf``) and
the widths of a 2-D Gaussian fit (``width_rf``, ``height_rf``, ``on_screen_rf``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.ndimage as ndi
from scipy import sparse

from brainobs.analysis._validation import preview
from brainobs.analysis.tuning_gaussian import fit_gaussians
from brainobs.analysis.tuning_inputs import StimulusBlock
from brainobs.errors import InvalidInputError

__all__ = ["RF_COLUMNS", "ReceptiveFieldGrid", "chi_square_p_values", "rf_statistics"]

RF_COLUMNS = (
    "azimuth_rf",
    "elevation_rf",
    "width_rf",
    "height_rf",
    "area_rf",
    "p_value_rf",
    "on_screen_rf",
)
#: Azimuth and elevation (deg) of the grid position x = y = 0, as the reference converts them.
AZIMUTH_OF_CENTRE = 50.0
ELEVATION_OF_CENTRE = 10.0
#: 4-neighbour connectivity within each map of a (unit, row, column) stack, none across units.
_CROSS = np.zeros((3, 3, 3), dtype=bool)
_CROSS[1] = ndi.generate_binary_structure(2, 1)


@dataclass(frozen=True)
class ReceptiveFieldGrid:
    """The gabor grid: sorted positions and each presentation's (row, column) cell."""

    x: np.ndarray  # ascending (columns)
    y: np.ndarray  # descending (rows: top of the screen first)
    cell: np.ndarray  # row * len(x) + column of each presentation

    @classmethod
    def from_block(cls, block: StimulusBlock) -> ReceptiveFieldGrid:
        """Return the grid of the block's x_position / y_position values."""
        x_p = block.values["x_position"].to_numpy()[block.codes]
        y_p = block.values["y_position"].to_numpy()[block.codes]
        if np.isnan(x_p).any() or np.isnan(y_p).any():
            raise InvalidInputError("gabor presentations with a missing x or y position")
        x, y = np.unique(x_p), np.unique(y_p)[::-1]
        cell = (y.size - 1 - np.searchsorted(y[::-1], y_p)) * x.size + np.searchsorted(x, x_p)
        missing = np.setdiff1d(np.arange(x.size * y.size), cell)
        if missing.size:
            where = [(float(x[c % x.size]), float(y[c // x.size])) for c in missing]
            raise InvalidInputError(
                f"the gabor grid is incomplete: no presentation at (x, y) {preview(where)}"
            )
        return cls(x, y, cell)

    @property
    def shape(self) -> tuple[int, int]:
        """Return (rows, columns) of a map."""
        return self.y.size, self.x.size

    def maps(self, counts: np.ndarray) -> np.ndarray:
        """Return (unit, row, column) sums of (unit, presentation) counts per grid cell."""
        order = np.argsort(self.cell, kind="stable")
        starts = np.searchsorted(self.cell[order], np.arange(self.x.size * self.y.size))
        summed = np.add.reduceat(counts[:, order], starts, axis=1)
        return summed.reshape((counts.shape[0], *self.shape))

    def spacing(self) -> tuple[float, float]:
        """Return the mean grid step (x, y) in degrees (10 on the standard 9 x 9 grid)."""
        step_x = float(np.mean(np.diff(self.x))) if self.x.size > 1 else 1.0
        step_y = float(np.mean(-np.diff(self.y))) if self.y.size > 1 else 1.0
        return step_x, step_y


def _chi_square(observed: np.ndarray, expected: np.ndarray, axis: int) -> np.ndarray:
    """Return the sum over categories of (O - E)^2 / E, skipping E = 0."""
    with np.errstate(invalid="ignore", divide="ignore"):
        terms = (observed - expected) ** 2 / expected
    return np.asarray(np.where(expected > 0, terms, 0.0).sum(axis=axis))


def _resamples(
    rng: np.random.Generator, categories: np.ndarray, n_shuffles: int, batch: int
) -> list[sparse.csr_matrix]:
    """Return per batch a (shuffle x category, presentation) matrix counting the draws."""
    n, n_categories = categories.size, int(categories.max()) + 1
    matrices = []
    for first in range(0, n_shuffles, batch):
        size = min(batch, n_shuffles - first)
        draws = rng.integers(0, n, size=(size, n))
        rows = (np.arange(size)[:, None] * n_categories + categories[None, :]).reshape(-1)
        ones = np.ones(size * n, dtype=np.float32)
        shape = (size * n_categories, n)
        matrices.append(sparse.csr_matrix((ones, (rows, draws.reshape(-1))), shape))
    return matrices


def chi_square_p_values(
    counts: np.ndarray,
    categories: np.ndarray,
    rng: np.random.Generator,
    n_shuffles: int = 1000,
    batch: int = 50,
    unit_chunk: int = 256,
) -> np.ndarray:
    """Return the bootstrap p-value of a categorical chi-square test for each unit.

    ``counts`` is (unit, presentation), ``categories`` the category of each presentation. The
    statistic of each unit is compared with its value on ``n_shuffles`` resamples of the
    presentations (with replacement, categories kept in place); p is the fraction of resamples
    with a larger statistic. All units share the same resamples, drawn from ``rng``. Sums of
    counts are exact in float32 (integers below 2**24).
    """
    n_units, n = counts.shape
    n_categories = int(categories.max()) + 1
    per_category = np.bincount(categories, minlength=n_categories).astype(float)
    onehot = sparse.csr_matrix((np.ones(n), (categories, np.arange(n))), (n_categories, n))
    actual = _chi_square(
        (onehot @ counts.T).T, per_category[None, :] * counts.mean(axis=1)[:, None], axis=1
    )
    resamples = _resamples(rng, categories, n_shuffles, batch)
    larger = np.zeros(n_units, dtype=np.int64)
    for lo in range(0, n_units, unit_chunk):
        chunk = np.ascontiguousarray(counts[lo : lo + unit_chunk].T, dtype=np.float32)
        for resample in resamples:
            size = resample.shape[0] // n_categories
            observed = np.asarray(resample @ chunk, dtype=np.float64)
            observed = observed.reshape(size, n_categories, chunk.shape[1])
            expected = per_category[None, :, None] * (observed.sum(axis=1) / n)[:, None, :]
            shuffled = _chi_square(observed, expected, axis=1)
            larger[lo : lo + unit_chunk] += (actual[None, lo : lo + unit_chunk] < shuffled).sum(0)
    return larger / n_shuffles


def threshold_maps(
    maps: np.ndarray, threshold: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return (mask, centre row, centre column, area) of each unit's thresholded map.

    The map is smoothed by a Gaussian of 1 cell (in the map's own dtype, as the reference does),
    cut at max - ``threshold`` x std, and the mask keeps the connected region (4-neighbours)
    holding the largest smoothed value; its unweighted centre is rounded to 4 decimals.
    """
    n_units = maps.shape[0]
    smooth = ndi.gaussian_filter(maps, sigma=(0, 1, 1))
    flat = smooth.reshape(n_units, -1)
    cut = np.max(flat, axis=1) - np.std(flat, axis=1) * threshold
    labels, n_labels = ndi.label(smooth > cut[:, None, None], structure=_CROSS)
    best = np.zeros(n_units, dtype=np.int64)
    if n_labels:
        ids = np.arange(1, n_labels + 1)
        peak = np.asarray(ndi.maximum(smooth, labels=labels, index=ids))
        owner = np.asarray(ndi.minimum_position(labels, labels=labels, index=ids))[:, 0]
        is_top = peak == np.max(flat, axis=1)[owner]
        units, first = np.unique(owner[is_top], return_index=True)
        best[units] = ids[is_top][first]
    mask = (labels == best[:, None, None]) & (best[:, None, None] > 0)
    area = mask.sum(axis=(1, 2))
    rows, cols = np.indices(maps.shape[1:])
    with np.errstate(invalid="ignore", divide="ignore"):
        centre_y = (mask * rows).sum(axis=(1, 2)) / area
        centre_x = (mask * cols).sum(axis=(1, 2)) / area
    return mask, np.around(centre_y, 4), np.around(centre_x, 4), area.astype(float)


def is_inverted(mask: np.ndarray) -> np.ndarray:
    """Return True where more than half of the border cells are in the mask (a suppressed RF)."""
    border = np.zeros(mask.shape[1:], dtype=bool)
    border[:, 0] = border[:, -1] = border[0, :] = border[-1, :] = True
    return np.asarray(mask[:, border].sum(axis=1) > border.sum() / 2)


def rf_statistics(
    maps: np.ndarray,
    grid: ReceptiveFieldGrid,
    enough: np.ndarray,
    p_value: np.ndarray,
    threshold: float,
    reference_quirks: bool,
) -> pd.DataFrame:
    """Return the seven RF columns for each unit (NaN / False where ``enough`` is False)."""
    mask, centre_y, centre_x, area = threshold_maps(maps, threshold)
    inverted = is_inverted(mask)
    data = np.where(inverted[:, None, None], np.max(maps, axis=(1, 2))[:, None, None] - maps, maps)
    params = fit_gaussians(data, enough, reference_quirks)
    _, fit_y, fit_x, width_y, width_x = params.T
    rows, cols = grid.shape
    with np.errstate(invalid="ignore"):
        on_screen = (fit_y > 0) & (fit_y < rows) & (fit_x > 0) & (fit_x < cols)
    if reference_quirks:  # the reference's constants for the 9 x 9 grid at 10 deg
        azimuth, elevation = centre_x * 10 + 10, (8 - centre_y) * 10 + -30
        width, height, area_deg = width_x * 10, width_y * 10, area * 10**2
    else:
        step_x, step_y = grid.spacing()
        azimuth = grid.x[0] + step_x * centre_x + AZIMUTH_OF_CENTRE
        elevation = grid.y[0] - step_y * centre_y + ELEVATION_OF_CENTRE
        width, height = step_x * np.abs(width_x), step_y * np.abs(width_y)
        area_deg = area * step_x * step_y
    columns = (azimuth, elevation, width, height, area_deg, p_value)
    frame: pd.DataFrame = pd.DataFrame(
        {
            name: np.where(enough, value, np.nan)
            for name, value in zip(RF_COLUMNS[:6], columns, strict=True)
        }
    )
    frame["on_screen_rf"] = on_screen & enough
    return frame
