"""Exact, vectorised assignment of spikes to stimulus-aligned windows and bins.

The time domain is a ``(n_windows, n_edges)`` array of absolute bin edges, one row per window
(presentation or event). Windows may come in any order and may overlap. For one unit the work is:

1. two ``np.searchsorted`` calls of the window starts and ends into the unit's sorted spikes,
   giving each window's slice of spikes (O(n_windows log n_spikes));
2. the (window, spike) pairs, one per spike inside a window (a spike inside two overlapping
   windows gives two pairs), built with ``np.repeat``;
3. each pair's bin, guessed from the relative edges and then checked against the absolute edges
   of its own row, so that a spike exactly on an edge lands where the comparison says it does.

Memory grows with the number of pairs (spikes inside windows), never with windows x bins x units.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from brainobs.errors import InvalidInputError

#: Which ends of a window (and of each bin) include a spike that falls exactly on them.
Closed = Literal["left", "right", "both"]
Side = Literal["left", "right"]

_UNIFORM_RTOL = 1e-9


def spikes_in_windows(
    spikes: np.ndarray, starts: np.ndarray, stops: np.ndarray, closed: Closed = "left"
) -> tuple[np.ndarray, np.ndarray]:
    """Return (window row, spike index) of every spike inside every window, grouped by row."""
    side_start: Side = "right" if closed == "right" else "left"
    side_stop: Side = "left" if closed == "left" else "right"
    first = np.searchsorted(spikes, starts, side=side_start)
    last = np.searchsorted(spikes, stops, side=side_stop)
    lengths = np.maximum(last - first, 0)
    rows = np.repeat(np.arange(starts.size, dtype=np.intp), lengths)
    offsets = np.cumsum(lengths) - lengths
    index = np.arange(rows.size, dtype=np.intp) + np.repeat(first - offsets, lengths)
    return rows, index


def run_lengths(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (value, run length) of each run of equal consecutive values in ``cells``."""
    if cells.size == 0:
        return cells, np.zeros(0, dtype=np.intp)
    change = np.flatnonzero(cells[1:] != cells[:-1]) + 1
    starts = np.concatenate(([0], change))
    return cells[starts], np.diff(np.append(starts, cells.size))


def build_time_domain(
    onsets: np.ndarray, bin_edges: np.ndarray, callback: object | None = None
) -> np.ndarray:
    """Return the absolute bin edges of every window, shape (n_windows, n_edges)."""
    domain = onsets[:, None] + bin_edges[None, :]
    if callback is None:
        return domain
    if not callable(callback):
        raise InvalidInputError("time_domain_callback must be a function of the domain array")
    changed = np.asarray(callback(domain), dtype=np.float64)
    if changed.shape != domain.shape:
        raise InvalidInputError(
            f"time_domain_callback returned shape {changed.shape}; it must return the "
            f"domain's shape {domain.shape} (one row of edges per presentation)"
        )
    if not np.all(np.isfinite(changed)):
        raise InvalidInputError("time_domain_callback returned NaN or inf edges")
    rows, cols = np.nonzero(np.diff(changed, axis=1) <= 0)
    if rows.size:
        where = ", ".join(f"(row {r}, edge {c})" for r, c in zip(rows[:5], cols[:5], strict=True))
        raise InvalidInputError(
            f"time_domain_callback returned edges that do not increase at {where}"
            f"{' ...' if rows.size > 5 else ''}; every row must be strictly increasing"
        )
    return changed


def uniform_step(edges: np.ndarray) -> float | None:
    """Return the common bin width of ``edges`` when all bins are equal, else None."""
    widths = np.diff(edges)
    step = float(widths.mean())
    return step if np.allclose(widths, step, rtol=_UNIFORM_RTOL, atol=0.0) else None


class WindowBinner:
    """Counts one unit's spikes into the bins of every window of a time domain."""

    def __init__(
        self, domain: np.ndarray, relative_edges: np.ndarray | None, closed: Closed = "left"
    ) -> None:
        """Hold the domain; ``relative_edges`` (None after a callback) speeds up bin guesses."""
        self.domain = np.ascontiguousarray(domain, dtype=np.float64)
        self.n_windows, n_edges = self.domain.shape
        self.n_bins = n_edges - 1
        self.closed: Closed = closed
        self._flat = self.domain.reshape(-1)
        self._starts = self.domain[:, 0].copy()
        self._stops = self.domain[:, -1].copy()
        self._relative: np.ndarray | None = None
        self._step: float | None = None
        if relative_edges is not None:
            self._relative = relative_edges - relative_edges[0]
            self._step = uniform_step(relative_edges)

    def pairs(self, spikes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return (window row, spike time) of every spike inside a window."""
        rows, index = spikes_in_windows(spikes, self._starts, self._stops, self.closed)
        return rows, spikes[index]

    def bin_index(self, rows: np.ndarray, times: np.ndarray) -> np.ndarray:
        """Return the bin of each (row, time) pair: the last j with edge[row, j] <= time."""
        base = rows * (self.n_bins + 1)
        if self._relative is None:
            return self._bisect(base, times)
        offset = times - self._starts[rows]
        if self._step is not None:
            guess = (offset * (1.0 / self._step)).astype(np.intp)
        else:
            guess = np.searchsorted(self._relative, offset, side="right") - 1
        np.clip(guess, 0, self.n_bins - 1, out=guess)
        return self._repair(base, times, guess)

    def _repair(self, base: np.ndarray, times: np.ndarray, guess: np.ndarray) -> np.ndarray:
        """Return ``guess`` where it is the exact bin, and the bisected bin where it is not."""
        position = base + guess
        wrong = times < self._flat[position]
        above = times >= self._flat[position + 1]
        if self.closed == "both":  # a spike on the window's upper edge belongs to the last bin
            above &= guess < self.n_bins - 1
        wrong |= above
        if wrong.any():
            guess[wrong] = self._bisect(base[wrong], times[wrong])
        return guess

    def _bisect(self, base: np.ndarray, times: np.ndarray) -> np.ndarray:
        """Return the exact bin of each pair by a vectorised binary search of its own row."""
        low = np.zeros(times.size, dtype=np.intp)
        high = np.full(times.size, self.n_bins - 1, dtype=np.intp)
        while True:
            active = low < high
            if not active.any():
                return low
            middle = (low + high + 1) >> 1
            below = self._flat[base + middle] <= times
            low = np.where(below, middle, low)
            high = np.where(below, high, middle - 1)

    def _cells(self, spikes: np.ndarray) -> np.ndarray:
        """Return the flat (window, bin) cell of every counted spike, grouped by window."""
        rows, times = self.pairs(spikes)
        if rows.size == 0:
            return rows
        bins = self.bin_index(rows, times)
        cells = rows * self.n_bins + bins
        if self.closed != "both":
            return cells
        # Reference mode: a spike on an interior edge also counts in the bin below that edge.
        on_edge = (bins > 0) & (times == self._flat[rows * (self.n_bins + 1) + bins])
        return np.concatenate((cells, cells[on_edge] - 1))

    def cell_counts(self, spikes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return (flat cell index, spike count) of the non-empty (window, bin) cells."""
        cells = self._cells(spikes)
        if self.closed == "both":
            unique, counts = np.unique(cells, return_counts=True)
            return unique, counts
        return run_lengths(cells)

    def bin_totals(self, spikes: np.ndarray) -> np.ndarray:
        """Return the number of spikes in each bin, summed over all windows."""
        cells = self._cells(spikes)
        return np.bincount(cells % self.n_bins, minlength=self.n_bins)
