"""Spike counts behind the tuning metrics, for every unit at once.

One pass over the units counts each unit's spikes in every presentation of a stimulus (whole
presentation, and the first ``trial_duration`` seconds) and in the stimulus's blocks; the
conditionwise sums and means, the preferred condition and every metric then come from these
``(unit, presentation)`` arrays without further loops. A second, cheap pass bins each unit's
spikes in the presentations of its own preferred condition (PSTH, F1/F0).

Windows and bins are half-open ``[lo, hi)``. With ``reference_quirks`` they follow the AllenSDK:
whole presentations are ``(start, stop]``, trial windows and bins ``[lo, hi]`` (a spike on an
interior bin edge counts in both bins), and the PSTH stops one bin short of ``trial_duration``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

import numpy as np

from brainobs.analysis._validation import UnitSpikes, unit_spike_array
from brainobs.analysis.binning import Closed, WindowBinner
from brainobs.analysis.tuning_inputs import StimulusBlock
from brainobs.errors import InvalidInputError

__all__ = ["Responses", "count_responses", "psth_edges", "spike_trains"]

#: Which end of a window np.searchsorted closes.
Side: TypeAlias = Literal["left", "right"]


def spike_trains(spikes: Mapping[Any, Any], unit_ids: Sequence[Any]) -> list[np.ndarray]:
    """Return each unit's spike times as a checked, sorted float64 array (in ``unit_ids`` order)."""
    return [unit_spike_array(spikes, uid) for uid in unit_ids]


def check_trial_duration(trial_duration: float | None, label: str) -> float:
    """Return ``trial_duration`` after checking it is a positive number of seconds."""
    if trial_duration is None or not np.isfinite(trial_duration) or trial_duration <= 0:
        raise InvalidInputError(
            f"trial_duration for {label} must be a positive number of seconds, "
            f"got {trial_duration!r}"
        )
    return float(trial_duration)


def psth_edges(trial_duration: float, resolution: float, reference_quirks: bool) -> np.ndarray:
    """Return PSTH bin edges: ``[0, T]`` in steps of ``resolution`` (reference: stops short)."""
    if not np.isfinite(resolution) or resolution <= 0 or resolution > trial_duration:
        raise InvalidInputError(
            f"psth_resolution must be in (0, trial_duration], got {resolution!r}"
        )
    if reference_quirks:
        return np.arange(0, trial_duration, resolution)
    n_bins = max(round(trial_duration / resolution), 1)
    return np.arange(n_bins + 1) * resolution


def bin_centres(edges: np.ndarray) -> np.ndarray:
    """Return the centre of each bin, as the reference computes it."""
    return np.asarray(edges[:-1] + np.diff(edges) / 2)


def _blocks(block: StimulusBlock, trial_duration: float) -> tuple[np.ndarray, np.ndarray]:
    """Return (start, stop) of each run of presentations whose onsets are <= 2 T apart."""
    gaps = np.flatnonzero(np.diff(block.start) > trial_duration * 2)
    first = np.concatenate(([0], gaps + 1))
    last = np.concatenate((gaps, [block.start.size - 1]))
    return block.start[first], block.stop[last]


def _window_counts(
    train: np.ndarray, lo: np.ndarray, hi: np.ndarray, sides: tuple[Side, Side]
) -> np.ndarray:
    """Return the spikes of ``train`` in each window, ends closed as ``sides`` says."""
    below_hi = np.searchsorted(train, hi, side=sides[1])
    below_lo = np.searchsorted(train, lo, side=sides[0])
    counts: np.ndarray = below_hi - below_lo
    return counts


class _PresentationCounts:
    """Counts one unit's spikes per presentation with as few binary searches as possible.

    Back-to-back presentations (each stops where the next starts) share their edges, so the
    stops' positions are the next starts' positions.
    """

    def __init__(self, block: StimulusBlock, trial_duration: float, quirks: bool) -> None:
        """Hold the windows; ``quirks`` closes them as the reference does."""
        self.start, self.stop = block.start, block.stop
        self.trial_end = block.start + trial_duration
        self.back_to_back = bool(np.array_equal(block.stop[:-1], block.start[1:]))
        self.window_side: Side = "right" if quirks else "left"  # (start, stop] or [start, stop)
        self.trial_end_side: Side = "right" if quirks else "left"  # [start, end] or [start, end)

    def counts(self, train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return (spikes per whole presentation, spikes per trial window)."""
        side = self.window_side
        at_start = np.searchsorted(train, self.start, side=side)
        if self.back_to_back:
            last = np.searchsorted(train, self.stop[-1:], side=side)
            at_stop = np.concatenate((at_start[1:], last))
        else:
            at_stop = np.searchsorted(train, self.stop, side=side)
        trial_start = at_start if side == "left" else np.searchsorted(train, self.start, "left")
        at_end = np.searchsorted(train, self.trial_end, side=self.trial_end_side)
        return at_stop - at_start, at_end - trial_start


@dataclass
class Responses:
    """Spike counts of units in the presentations of one stimulus, and their summaries."""

    block: StimulusBlock
    trial_duration: float
    reference_quirks: bool
    window_counts: np.ndarray  # (unit, presentation): spikes in the whole presentation
    trial_counts: np.ndarray  # (unit, presentation): spikes in the first trial_duration s
    firing_rate: np.ndarray  # (unit,): spikes per second over the stimulus's blocks
    sums: np.ndarray = field(init=False)  # (unit, condition): total spikes
    means: np.ndarray = field(init=False)  # (unit, condition): mean spikes per presentation

    def __post_init__(self) -> None:
        """Sum the counts by condition."""
        order = np.argsort(self.block.codes, kind="stable")
        sizes = self.block.sizes
        starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
        self.sums = np.add.reduceat(self.window_counts[:, order], starts, axis=1).astype(float)
        self.means = self.sums / sizes

    @property
    def n_units(self) -> int:
        """Return the number of units."""
        return int(self.window_counts.shape[0])


def count_responses(
    trains: Sequence[np.ndarray],
    block: StimulusBlock,
    trial_duration: float,
    reference_quirks: bool,
) -> Responses:
    """Return the per-presentation spike counts of every unit in ``block``."""
    n_units, n_presentations = len(trains), block.start.size
    window = np.zeros((n_units, n_presentations), dtype=np.int32)
    trial = np.zeros((n_units, n_presentations), dtype=np.int32)
    spikes_in_blocks = np.zeros(n_units)
    block_start, block_stop = _blocks(block, trial_duration)
    trial_end = block.start + trial_duration
    counter = _PresentationCounts(block, trial_duration, reference_quirks)
    first, last = block.start.min(), max(block.stop.max(), trial_end.max())
    for row, full in enumerate(trains):
        train = full[np.searchsorted(full, first) : np.searchsorted(full, last, side="right")]
        window[row], trial[row] = counter.counts(train)
        spikes_in_blocks[row] = _window_counts(
            train, block_start, block_stop, ("left", "left")
        ).sum()
    silent = np.array([t.size == 0 for t in trains], dtype=bool)  # no spikes at all: rate 0
    duration = float(np.sum(block_stop - block_start))
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(silent, 0.0, spikes_in_blocks / duration if duration > 0 else np.nan)
    return Responses(block, trial_duration, reference_quirks, window, trial, rate)


class PreferredBins:
    """Bins each unit's spikes in the presentations of its preferred condition."""

    def __init__(self, block: StimulusBlock, edges: np.ndarray, reference_quirks: bool) -> None:
        """Hold the block and the relative bin edges (one binner per condition, on demand)."""
        self.block = block
        self.edges = edges
        self.closed: Closed = "both" if reference_quirks else "left"
        self._binners: dict[int, WindowBinner] = {}

    def binner(self, condition: int) -> WindowBinner:
        """Return the binner of the presentations of condition index ``condition``."""
        if condition not in self._binners:
            onsets = self.block.start[self.block.members(condition)]
            domain = onsets[:, None] + self.edges[None, :]
            self._binners[condition] = WindowBinner(domain, self.edges, self.closed)
        return self._binners[condition]

    def trial_bins(
        self, trains: Sequence[np.ndarray], preferred: np.ndarray
    ) -> Iterator[tuple[int, np.ndarray]]:
        """Yield (unit row, (trial, bin) counts at the unit's preferred condition)."""
        for row, train in enumerate(trains):
            binner = self.binner(int(preferred[row]))
            group = _one_unit(train)
            counts = np.zeros(binner.n_windows * binner.n_bins, dtype=np.int64)
            for pairs, first, lengths in binner.pairs(group):
                for cells in binner.cells(group.flat, pairs, first, lengths):
                    counts += np.bincount(cells, minlength=counts.size)
            yield row, counts.reshape(binner.n_windows, binner.n_bins).astype(np.float64)

    def psth(self, trains: Sequence[np.ndarray], preferred: np.ndarray) -> np.ndarray:
        """Return (unit, bin): mean spikes per bin over the preferred condition's presentations."""
        out = np.zeros((len(trains), self.edges.size - 1))
        for row, train in enumerate(trains):
            binner = self.binner(int(preferred[row]))
            out[row] = binner.bin_totals(_one_unit(train))[0] / binner.n_windows
        return out


def _one_unit(train: np.ndarray) -> UnitSpikes:
    """Return one unit's sorted spike times as a group of one."""
    flat = np.ascontiguousarray(train, dtype=np.float64)
    return UnitSpikes(flat, np.zeros(1, dtype=np.intp), np.full(1, flat.size, dtype=np.intp))
