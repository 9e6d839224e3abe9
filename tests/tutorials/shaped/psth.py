"""Spike-count helpers the tutorials define for themselves, written here in our own words.

The quickstart and overview notebooks average spike counts in fixed bins after a list of
start times (one spike train at a time, searching the sorted train for each window) and
report them as rates; :func:`psth` does the same.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def psth(
    spikes: np.ndarray, starts: np.ndarray, window: float, bin_size: float = 0.001
) -> tuple[np.ndarray, np.ndarray]:
    """Return (mean rate per bin in Hz, bin edges from 0 to ``window``) after ``starts``."""
    edges = np.arange(0, window + bin_size, bin_size)
    total = np.zeros(len(edges) - 1)
    for start in starts:
        lo, hi = np.searchsorted(spikes, [start, start + window])
        total += np.histogram(spikes[lo:hi] - start, edges)[0]
    return total / len(starts) / bin_size, edges


def receptive_field(spikes: np.ndarray, gabors: Any, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Return the mean rate 10-210 ms after gabors at each (y, x) grid position."""
    field = np.zeros((len(ys), len(xs)))
    for ix, x in enumerate(xs):
        for iy, y in enumerate(ys):
            here = gabors[(gabors.position_x == x) & (gabors.position_y == y)]
            rate, _ = psth(spikes, here["start_time"].values + 0.01, 0.2, bin_size=0.001)
            field[iy, ix] = rate.mean()
    return field
