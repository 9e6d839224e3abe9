"""Exact, vectorised assignment of spikes to stimulus-aligned windows and bins, many units at once.

The time domain is a ``(n_windows, n_edges)`` array of absolute bin edges, one row per window
(presentation or event). Windows may come in any order and may overlap. The work for a group of
units whose spikes lie in one flat buffer (:class:`~brainobs.analysis._validation.UnitSpikes`):

1. one ``np.searchsorted`` per unit of the sorted window bounds into the unit's spikes, giving
   every (unit, window) pair its slice of spikes (O(units x windows x log spikes));
2. from there on, nothing per unit: the spikes inside windows of the whole group are taken in
   batches of at most :data:`BATCH_SPIKES`, one entry per (spike, window) pair (a spike inside
   two overlapping windows gives two);
3. each pair's bin is guessed from the relative edges and checked against the absolute edges of
   its own row, so that a spike exactly on an edge lands where the comparison says it does.

Memory grows with the spikes of one batch, never with windows x bins x units.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Literal

import numpy as np

from brainobs.analysis._validation import UnitSpikes, unit_groups
from brainobs.errors import InvalidInputError

#: Which ends of a window (and of each bin) include a spike that falls exactly on them.
Closed = Literal["left", "right", "both"]
Side = Literal["left", "right"]

_UNIFORM_RTOL = 1e-9
#: Spikes-in-windows handled per vectorised batch (about 40 bytes each of temporaries).
BATCH_SPIKES = 1 << 17
#: (unit, window) pairs searched per group of units (16 bytes each of temporaries).
PAIRS_PER_GROUP = 1 << 18


def group_size(n_windows: int) -> int:
    """Return how many units to search at once (their window spans fill a few MiB)."""
    return max(1, PAIRS_PER_GROUP // max(1, n_windows))


def spikes_in_windows(
    spikes: np.ndarray, starts: np.ndarray, stops: np.ndarray, closed: Closed = "left"
) -> tuple[np.ndarray, np.ndarray]:
    """Return (window row, spike index) of every spike inside every window, grouped by row."""
    side_start: Side = "right" if closed == "right" else "left"
    side_stop: Side = "left" if closed == "left" else "right"
    first = np.searchsorted(spikes, starts, side=side_start)
    last = np.searchsorted(spikes, stops, side=side_stop)
    return expand_spans(first, np.maximum(last - first, 0))


def expand_spans(first: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (span number, index) of every index of the spans ``[first, first + length)``."""
    spans = np.repeat(np.arange(first.size, dtype=np.intp), lengths)
    offsets = np.cumsum(lengths) - lengths
    index = np.arange(spans.size, dtype=np.intp) + np.repeat(first - offsets, lengths)
    return spans, index


def build_time_domain(
    onsets: np.ndarray, bin_edges: np.ndarray, callback: object | None = None
) -> np.ndarray:
    """Return the absolute bin edges of every window, shape (n_windows, n_edges)."""
    domain: np.ndarray = onsets[:, None] + bin_edges[None, :]
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


def search_keys(values: np.ndarray, side: Side) -> np.ndarray:
    """Return keys whose ``side="left"`` search equals a ``side`` search of ``values``.

    ``#{t <= v}`` equals ``#{t < nextafter(v, inf)}`` for floats, so one left-sided search of
    all window bounds serves both sides.
    """
    return values if side == "left" else np.nextafter(values, np.inf)


class WindowSearch:
    """The window bounds of a domain in start order, searched into each unit's spikes."""

    def __init__(self, starts: np.ndarray, stops: np.ndarray, closed: Closed) -> None:
        """Hold the bounds; ``closed`` says which ends of a window include a spike on them."""
        self.n_windows = starts.size
        #: Window of each search position (searching in start order is cache-friendly).
        self.order = np.argsort(starts, kind="stable")
        self._keys = np.concatenate(
            (
                search_keys(starts[self.order], "right" if closed == "right" else "left"),
                search_keys(stops[self.order], "left" if closed == "left" else "right"),
            )
        )

    def spans(self, group: UnitSpikes) -> tuple[np.ndarray, np.ndarray]:
        """Return (first flat index, length) of each (unit, window in start order) pair.

        Both have shape (units, windows).
        """
        found = np.empty((group.n_units, self._keys.size), dtype=np.intp)
        flat, keys = group.flat, self._keys
        bounds = zip(group.starts.tolist(), group.stops.tolist(), strict=True)
        for row, (start, stop) in enumerate(bounds):
            found[row] = np.searchsorted(flat[start:stop], keys)
        first, last = found[:, : self.n_windows], found[:, self.n_windows :]
        np.subtract(last, first, out=last)
        np.maximum(last, 0, out=last)
        first += group.starts[:, None]
        return first, last


_COUNTING = np.arange(BATCH_SPIKES, dtype=np.intp)


def _counting(n: int) -> np.ndarray:
    """Return ``0, 1, ..., n - 1`` (a view of a shared array when small enough)."""
    return _COUNTING[:n] if n <= _COUNTING.size else np.arange(n, dtype=np.intp)


def batches(lengths: np.ndarray, limit: int = BATCH_SPIKES) -> Iterator[slice]:
    """Return slices of consecutive pairs holding at most ``limit`` spikes (or one pair)."""
    ends = np.cumsum(lengths)
    begin = 0
    while begin < lengths.size:
        base = int(ends[begin - 1]) if begin else 0
        stop = max(int(np.searchsorted(ends, base + limit, side="right")), begin + 1)
        yield slice(begin, stop)
        begin = stop


def window_members(
    spikes: Mapping[Any, Any],
    unit_ids: list[Any],
    starts: np.ndarray,
    stops: np.ndarray,
    closed: Closed = "left",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (unit position, window row, spike time) of every spike inside every window.

    Ordered by unit, then window (in the given order), then time; a spike inside two windows
    appears once per window.
    """
    search = WindowSearch(starts, stops, closed)
    units, rows, times = [], [], []
    for position, group in unit_groups(spikes, unit_ids, group_size(starts.size)):
        first, lengths = search.spans(group)
        first, lengths = first.reshape(-1), lengths.reshape(-1)
        keep = np.flatnonzero(lengths)
        unit, in_order = np.divmod(keep, search.n_windows)
        row = search.order[in_order]
        order = np.argsort(unit * search.n_windows + row, kind="stable")
        spans, index = expand_spans(first[keep][order], lengths[keep][order])
        units.append(unit[order][spans] + position)
        rows.append(row[order][spans])
        times.append(group.flat[index])
    if not units:
        return np.zeros(0, np.intp), np.zeros(0, np.intp), np.zeros(0)
    return np.concatenate(units), np.concatenate(rows), np.concatenate(times)


class WindowBinner:
    """Assigns the spikes of many units to the bins of every window of a time domain."""

    def __init__(
        self, domain: np.ndarray, relative_edges: np.ndarray | None, closed: Closed = "left"
    ) -> None:
        """Hold the domain; ``relative_edges`` (None after a callback) speeds up bin guesses."""
        self.domain = np.ascontiguousarray(domain, dtype=np.float64)
        n_windows, n_edges = self.domain.shape
        self.n_windows: int = n_windows
        self.n_bins: int = n_edges - 1
        self.closed: Closed = closed
        self._flat = self.domain.reshape(-1)
        self._starts = self.domain[:, 0].copy()
        self.search = WindowSearch(self._starts, self.domain[:, -1].copy(), closed)
        self._relative: np.ndarray | None = None
        self._inverse_step: float | None = None
        self._tolerance = 0.0
        if relative_edges is not None:
            self._relative = relative_edges - relative_edges[0]
            step = uniform_step(relative_edges)
            if step is not None:
                self._inverse_step = 1.0 / step
                self._tolerance = self._guess_tolerance()

    @property
    def inverse_step(self) -> float:
        """Return 1 / the common bin width when every window has equal bins, else 0."""
        return self._inverse_step or 0.0

    def _guess_tolerance(self) -> float:
        """Return how far (in bins) a guessed position may be from the exact one.

        It bounds the rounding of ``(t - start) / step`` and of the absolute edges, plus how
        far the relative edges are from multiples of the step; a guess farther than this from
        every integer is the exact bin, and only the others are checked against the edges.
        """
        assert self._relative is not None and self._inverse_step is not None
        inverse = self._inverse_step
        positions = self._relative * inverse
        off_grid = float(np.max(np.abs(positions - np.arange(positions.size))))
        scale = float(np.max(np.abs(self._flat)))
        rounding = 8.0 * (float(np.spacing(scale * inverse)) + float(np.spacing(scale)) * inverse)
        arithmetic = 8.0 * float(np.finfo(np.float64).eps) * (self.n_bins + 1)
        return 2.0 * (off_grid + rounding + arithmetic)

    def pairs(self, group: UnitSpikes) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Yield batches of non-empty (unit, window) pairs: (pair, first spike, spike count).

        A pair is ``unit * n_windows + window``; within a unit, windows come in start order.
        """
        first, lengths = self.search.spans(group)
        first, lengths = first.reshape(-1), lengths.reshape(-1)
        keep = np.flatnonzero(lengths)
        first, lengths = first[keep], lengths[keep]
        units, in_order = np.divmod(keep, self.n_windows)
        pairs = units * self.n_windows + self.search.order[in_order]
        for part in batches(lengths):
            yield pairs[part], first[part], lengths[part]

    def cells(
        self, flat: np.ndarray, pairs: np.ndarray, first: np.ndarray, lengths: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return the (unit, window, bin) cells of the spikes of ``pairs``, unit-major.

        The first array holds one cell per spike, equal cells next to each other; the second
        the extra cells of reference mode (``closed="both"``), where a spike on an interior
        edge also counts in the bin below that edge.
        """
        index = np.repeat(first - (np.cumsum(lengths) - lengths), lengths)
        index += _counting(index.size)
        cells = np.repeat(pairs * self.n_bins, lengths)
        if self._inverse_step is None:
            times = flat[index]
            rows = cells // self.n_bins
            bins = self.bin_index(rows % self.n_windows, times)
            extra = self._edge_cells(rows, times, bins)
        else:
            bins, extra = self._uniform_bins(flat, index, cells, pairs, lengths)
        cells += bins
        return cells, extra

    def _uniform_bins(
        self,
        flat: np.ndarray,
        index: np.ndarray,
        cells: np.ndarray,
        pairs: np.ndarray,
        lengths: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return the bins of equal-width windows, and reference mode's extra cells.

        The bin is ``(t - start) / step`` rounded down; only spikes whose position lies within
        the rounding tolerance of an edge are checked against the absolute edges.
        """
        assert self._inverse_step is not None
        position = flat[index]
        position *= self._inverse_step
        shift = self._starts[pairs % self.n_windows] * self._inverse_step - self._tolerance
        position -= np.repeat(shift, lengths)
        bins = position.astype(np.intp)
        position -= bins
        suspects = np.flatnonzero(position < 2.0 * self._tolerance)
        del position
        if suspects.size == 0:
            return bins, np.zeros(0, dtype=np.intp)
        rows = cells[suspects] // self.n_bins
        times = flat[index[suspects]]
        guess = np.clip(bins[suspects], 0, self.n_bins - 1)
        checked = self._repair((rows % self.n_windows) * (self.n_bins + 1), times, guess)
        bins[suspects] = checked
        return bins, self._edge_cells(rows, times, checked)

    def _edge_cells(self, pairs: np.ndarray, times: np.ndarray, bins: np.ndarray) -> np.ndarray:
        """Return, in reference mode, the cell below each spike lying on an interior edge."""
        if self.closed != "both":
            return np.zeros(0, dtype=np.intp)
        on_edge = bins > 0
        rows = pairs % self.n_windows
        on_edge &= times == self._flat[rows * (self.n_bins + 1) + bins]
        cells: np.ndarray = pairs[on_edge] * self.n_bins + bins[on_edge] - 1
        return cells

    def bin_index(self, rows: np.ndarray, times: np.ndarray) -> np.ndarray:
        """Return the bin of each (row, time) pair: the last j with edge[row, j] <= time."""
        base = rows * (self.n_bins + 1)
        if self._relative is None:
            return self._bisect(base, times)
        offset = times - self._starts[rows]
        guess = np.searchsorted(self._relative, offset, side="right") - 1
        np.clip(guess, 0, self.n_bins - 1, out=guess)
        return self._repair(base, times, guess)

    def _repair(self, base: np.ndarray, times: np.ndarray, guess: np.ndarray) -> np.ndarray:
        """Return ``guess`` where it is the exact bin, and the bisected bin where it is not."""
        position = base + guess
        wrong = times < self._flat[position]
        position += 1
        above = times >= self._flat[position]
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

    def bin_totals(self, group: UnitSpikes) -> np.ndarray:
        """Return the spikes of each unit of ``group`` in each bin, summed over all windows."""
        totals = np.zeros(group.n_units * self.n_bins, dtype=np.int64)
        per_unit = self.n_windows * self.n_bins
        for pairs, first, lengths in self.pairs(group):
            for cells in self.cells(group.flat, pairs, first, lengths):
                keys = (cells // per_unit) * self.n_bins + cells % self.n_bins
                totals += np.bincount(keys, minlength=totals.size)
        return totals.reshape(group.n_units, self.n_bins)
