"""The Units table's ragged columns (spikes and mean waveforms), written in bounded memory.

A realistic session holds ~10^8 spikes and 2,000 mean waveforms of 384 x 82 samples, more
than should be built in memory. The spikes are drawn unit by unit into two scratch files
(:func:`draw_to_scratch`). The Units table is then built around empty placeholder datasets of
the final shapes (hdmf ``H5DataIO(shape=..., dtype=...)``), and once pynwb has written the
file :meth:`UnitArrays.fill` copies the scratch files in blocks and computes the waveforms a
few units at a time. Memory stays at one block whatever the session size.

Two layouts: ``contiguous`` is the released files' (contiguous, uncompressed datasets, as the
reference toolkit's writer leaves them; used by the benchmark release), otherwise the datasets
are chunked and shuffle + gzip compressed (the default release).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from brainobs.sample.nwb_ecephys import N_SITES, WAVEFORM_SAMPLES, mean_waveform
from brainobs.sample.spikes import StimulusDrive, iter_spike_trains
from brainobs.sample.units import UnitPopulation

SPIKE_BLOCK = 1 << 22  # values copied per write (32 MiB of float64)
SPIKE_CHUNK = 1 << 16  # chunk length of the compressed layout
WAVEFORM_BATCH = 32  # units whose waveforms are computed and written together


@dataclass
class SpikeScratch:
    """Spike times and amplitudes of every unit, in table order, in two float64 files."""

    times_path: Path
    amplitudes_path: Path
    counts: np.ndarray

    @property
    def ends(self) -> np.ndarray:
        """Return the index ends (cumulative spike counts) of the units."""
        return np.cumsum(self.counts).astype(np.int64)

    @property
    def total(self) -> int:
        """Return the number of spikes of all units."""
        return int(self.counts.sum())


def draw_to_scratch(
    population: UnitPopulation,
    drive: StimulusDrive,
    seed: int,
    folder: Path,
    *,
    by_events: bool = False,
) -> SpikeScratch:
    """Draw every unit's spikes into scratch files in ``folder``; return where they are.

    ``by_events``: see :func:`~brainobs.sample.spikes.iter_spike_trains`.
    """
    trains = iter_spike_trains(population, drive, seed, by_events=by_events)
    return trains_to_scratch(trains, len(population.table), folder)


def trains_to_scratch(
    trains: Iterable[tuple[int, np.ndarray, np.ndarray]], n_units: int, folder: Path
) -> SpikeScratch:
    """Write (row, spike times, spike amplitudes) of ``n_units`` units into scratch files."""
    folder.mkdir(parents=True, exist_ok=True)
    times_path, amps_path = folder / "spike_times.f8", folder / "spike_amplitudes.f8"
    counts = np.zeros(n_units, dtype=np.int64)
    with times_path.open("wb") as t_out, amps_path.open("wb") as a_out:
        for row, times, amplitudes in trains:
            counts[row] = len(times)
            times.astype(np.float64).tofile(t_out)
            amplitudes.astype(np.float64).tofile(a_out)
    return SpikeScratch(times_path, amps_path, counts)


@dataclass
class UnitArrays:
    """Placeholders of the three ragged data columns, to be filled after the file is written."""

    spike_times: Any
    spike_amplitudes: Any
    waveform_mean: Any

    def fill(self, scratch: SpikeScratch, units: pd.DataFrame) -> None:
        """Copy the scratch spikes and compute the mean waveforms into the written datasets."""
        for placeholder, path in (
            (self.spike_times, scratch.times_path),
            (self.spike_amplitudes, scratch.amplitudes_path),
        ):
            _copy_in_blocks(placeholder.dataset, path, scratch.total)
        _write_waveforms(self.waveform_mean.dataset, units)


def unit_arrays(n_spikes: int, n_units: int, contiguous: bool) -> UnitArrays:
    """Return empty placeholders for ``n_spikes`` spikes and ``n_units`` waveforms."""
    from hdmf.backends.hdf5 import H5DataIO

    waveform_shape = (n_units * N_SITES, WAVEFORM_SAMPLES)
    if contiguous:
        spikes: dict[str, Any] = {}
        waveforms: dict[str, Any] = {}
    else:
        chunk = (min(max(n_spikes, 1), SPIKE_CHUNK),)
        spikes = {"chunks": chunk, "compression": "gzip", "shuffle": True}
        waveforms = {"chunks": (N_SITES, WAVEFORM_SAMPLES), "compression": "gzip",
                     "shuffle": True}  # fmt: skip
    return UnitArrays(
        H5DataIO(shape=(n_spikes,), dtype=np.float64, **spikes),
        H5DataIO(shape=(n_spikes,), dtype=np.float64, **spikes),
        H5DataIO(shape=waveform_shape, dtype=np.float64, **waveforms),
    )


def _copy_in_blocks(dataset: Any, path: Path, total: int) -> None:
    """Copy ``total`` float64 values from the file at ``path`` into ``dataset``."""
    with path.open("rb") as handle:
        for start in range(0, total, SPIKE_BLOCK):
            count = min(SPIKE_BLOCK, total - start)
            dataset[start : start + count] = np.fromfile(handle, dtype=np.float64, count=count)


def _write_waveforms(dataset: Any, units: pd.DataFrame) -> None:
    """Write the mean waveform of every unit, ``WAVEFORM_BATCH`` units per write."""
    for first in range(0, len(units), WAVEFORM_BATCH):
        batch = units.iloc[first : first + WAVEFORM_BATCH]
        block = np.concatenate([mean_waveform(unit) for _, unit in batch.iterrows()])
        dataset[first * N_SITES : first * N_SITES + len(block)] = block
