"""Peri-stimulus time histograms and event-aligned rasters.

Both work from the spikes inside the event windows only (memory grows with those spikes), accept
events in any order and overlapping windows, and use half-open windows and bins ``[lo, hi)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr
from numpy.typing import ArrayLike

from brainobs.analysis._validation import (
    SpikeTimes,
    as_event_times,
    as_spike_mapping,
    relative_window,
    select_unit_ids,
    unit_groups,
    validate_bin_edges,
)
from brainobs.analysis.alignment import labelled
from brainobs.analysis.binning import (
    WindowBinner,
    build_time_domain,
    group_size,
    uniform_step,
    window_members,
)
from brainobs.errors import InvalidInputError

__all__ = ["event_aligned_raster", "psth", "smooth_rates"]

RASTER_COLUMNS = ("event_index", "unit_id", "time_relative_to_event")


def smooth_rates(rates: np.ndarray, bin_edges: np.ndarray, sigma: float) -> np.ndarray:
    """Return ``rates`` (time on axis 0) smoothed by a Gaussian of ``sigma`` seconds."""
    from scipy.ndimage import gaussian_filter1d

    step = uniform_step(bin_edges)
    if step is None:
        raise InvalidInputError(
            "smoothing needs equally wide bins; pass bin_edges from np.arange or np.linspace"
        )
    if not np.isfinite(sigma) or sigma <= 0:
        raise InvalidInputError(
            f"smoothing_sigma must be a positive number of seconds, got {sigma}"
        )
    return np.asarray(gaussian_filter1d(rates, sigma / step, axis=0, mode="nearest"))


def psth(
    spike_times: SpikeTimes,
    events: ArrayLike | pd.DataFrame,
    bin_edges: ArrayLike,
    unit_ids: ArrayLike | None = None,
    smoothing_sigma: float | None = None,
) -> xr.DataArray:
    """Return the mean firing rate (spikes/s) per bin and unit over the events.

    ``events`` are event times in seconds or a presentations table (its ``start_time``);
    ``bin_edges`` are seconds relative to each event. The rate of bin ``j`` is the number of
    spikes in ``[event + edge_j, event + edge_j+1)`` summed over events, divided by the number
    of events and the bin width. ``smoothing_sigma`` (seconds) applies a Gaussian filter along
    time (equal bins needed). Dims ``(time_relative_to_stimulus_onset, unit_id)``, coordinate
    values are bin centres; attrs give ``units`` and ``n_events``.
    """
    relative = validate_bin_edges(bin_edges)
    onsets = as_event_times(events)
    spikes = as_spike_mapping(spike_times)
    ids = select_unit_ids(spikes, unit_ids)
    binner = WindowBinner(build_time_domain(onsets, relative), relative, "left")
    totals = np.empty((len(ids), relative.size - 1))
    for position, group in unit_groups(spikes, ids, group_size(onsets.size)):
        totals[position : position + group.n_units] = binner.bin_totals(group)
    rates = totals.T / (onsets.size * np.diff(relative)[:, None])
    if smoothing_sigma is not None:
        rates = smooth_rates(rates, relative, smoothing_sigma)
    result = labelled(
        rates,
        "firing_rate",
        ("time_relative_to_stimulus_onset", "unit_id"),
        {
            "time_relative_to_stimulus_onset": relative[:-1] + np.diff(relative) / 2,
            "unit_id": np.asarray(ids),
        },
    )
    result.attrs.update({"units": "spikes/s", "n_events": int(onsets.size)})
    return result


def event_aligned_raster(
    spike_times: SpikeTimes,
    event_times: ArrayLike | pd.DataFrame,
    window: Sequence[float],
    unit_ids: ArrayLike | None = None,
) -> pd.DataFrame:
    """Return one row per spike within ``window`` of an event: a long-format raster.

    Columns ``event_index`` (position of the event in ``event_times``, or of the row in a
    presentations table), ``unit_id`` and ``time_relative_to_event`` (s); ``window`` is
    ``(start, stop)`` in seconds relative to each event and is half-open. Rows are ordered by
    unit, then event, then time. A spike near two events appears once per event.
    """
    onsets = as_event_times(event_times)
    start, stop = relative_window(window)
    spikes = as_spike_mapping(spike_times)
    ids = select_unit_ids(spikes, unit_ids)
    units, rows, times = window_members(spikes, ids, onsets + start, onsets + stop)
    frame: pd.DataFrame = pd.DataFrame(
        {
            "event_index": rows.astype(np.int64),
            "unit_id": np.asarray(ids)[units],
            "time_relative_to_event": times - onsets[rows],
        }
    )
    return frame
