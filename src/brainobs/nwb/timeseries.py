"""Readers for NWB TimeSeries, with time windows found without reading every timestamp.

A TimeSeries has ``data`` (first axis = time) and either ``timestamps`` or a
``starting_time`` with a ``rate``. A window ``[start, stop)`` is located by a guarded
interpolation search on the timestamps dataset: for the near-regular clocks of these files it
takes two or three small reads, however long the recording.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import h5py
import numpy as np

from brainobs.errors import CorruptFileError, InvalidInputError, MissingDataError
from brainobs.nwb.guards import check_count, check_read
from brainobs.nwb.handle import NwbFile

#: Timestamps datasets up to this many values are simply read whole.
SMALL_SERIES = 1 << 16
#: Values read around each search guess.
SEARCH_WINDOW = 4096


@dataclass(frozen=True)
class TimeSeriesInfo:
    """What a TimeSeries holds, without its data."""

    path: str
    n_samples: int
    shape: tuple[int, ...]
    dtype: np.dtype
    unit: str | None
    conversion: float
    offset: float
    description: str | None
    starting_time: float | None
    rate: float | None


def timeseries_info(file: NwbFile, path: str) -> TimeSeriesInfo:
    """Return the shape, unit, scaling and clock of the TimeSeries at ``path``."""
    path = path.rstrip("/")
    data = file.dataset(f"{path}/data")
    attrs = file.attrs(f"{path}/data")
    starting_time, rate = None, None
    if not file.has(f"{path}/timestamps"):
        if not file.has(f"{path}/starting_time"):
            raise MissingDataError(
                f"{path} in {file.name} has neither timestamps nor starting_time: "
                "it is not a TimeSeries."
            )
        starting_time = float(file.scalar(f"{path}/starting_time"))
        rate = _checked_rate(file, path)
    shape = tuple(data.shape or ())
    return TimeSeriesInfo(
        path=path,
        n_samples=int(shape[0]) if shape else 0,
        shape=shape,
        dtype=data.dtype,
        unit=attrs.get("unit"),
        conversion=float(attrs.get("conversion", 1.0)),
        offset=float(attrs.get("offset", 0.0)),
        description=file.attrs(path).get("description"),
        starting_time=starting_time,
        rate=rate,
    )


def _checked_rate(file: NwbFile, path: str) -> float:
    """Return the sampling rate of ``path``'s regular clock; raise if it is not a rate."""
    rate = file.attrs(f"{path}/starting_time").get("rate")
    try:
        value = float(rate)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise CorruptFileError(
            f"{path}/starting_time in {file.name} has the rate {rate!r}, which is not a "
            "positive number of samples per second; the file is damaged or not NWB."
        )
    return value


def read_timeseries(
    file: NwbFile,
    path: str,
    start: float | None = None,
    stop: float | None = None,
    *,
    scaled: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(timestamps, data)`` of the samples with ``start <= t < stop``.

    Only the window's part of ``data`` is read. ``scaled`` applies the ``conversion`` and
    ``offset`` attributes when they are not 1 and 0.
    """
    info = timeseries_info(file, path)
    window = sample_window(file, info, start, stop)
    with file.reading(f"{info.path}/data"):
        dataset = file.dataset(f"{info.path}/data")
        check_read(dataset, window)
        data = np.asarray(dataset[window])
    timestamps = read_timestamps(file, info, window)
    if scaled and (info.conversion != 1.0 or info.offset != 0.0):
        data = data * info.conversion + info.offset
    return timestamps, data


def sample_window(
    file: NwbFile, info: TimeSeriesInfo, start: float | None, stop: float | None
) -> slice:
    """Return the slice of samples with ``start <= t < stop`` (open ends when None)."""
    if start is not None and stop is not None and stop < start:
        raise InvalidInputError(
            f"The window of {info.path} ends ({stop}) before it starts ({start})."
        )
    n = info.n_samples
    if info.rate is not None and info.starting_time is not None:
        first = 0 if start is None else _regular_index(info, start, n)
        last = n if stop is None else _regular_index(info, stop, n)
        return slice(first, max(first, last))
    timestamps = file.dataset(f"{info.path}/timestamps")
    with file.reading(f"{info.path}/timestamps"):
        first = 0 if start is None else search_sorted(timestamps, start)
        last = n if stop is None else search_sorted(timestamps, stop)
    return slice(first, min(n, max(first, last)))


def _regular_index(info: TimeSeriesInfo, time: float, n: int) -> int:
    """Return the first sample index of a regular clock whose time is >= ``time``."""
    assert info.rate is not None and info.starting_time is not None
    index = math.ceil((time - info.starting_time) * info.rate)
    index = max(0, min(n, index))
    if index > 0 and info.starting_time + (index - 1) / info.rate >= time:
        index -= 1
    elif index < n and info.starting_time + index / info.rate < time:
        index += 1
    return index


def read_timestamps(
    file: NwbFile, info: TimeSeriesInfo | str, window: slice = slice(None)
) -> np.ndarray:
    """Return the timestamps (s) of the samples in ``window`` as float64."""
    if isinstance(info, str):
        info = timeseries_info(file, info)
    start, stop, _ = window.indices(info.n_samples)
    if info.rate is not None and info.starting_time is not None:
        with file.reading(f"{info.path}/starting_time"):
            check_count(max(0, stop - start), 8, f"The timestamps of {info.path}")
        return info.starting_time + np.arange(start, stop, dtype=np.float64) / info.rate
    with file.reading(f"{info.path}/timestamps"):
        dataset = file.dataset(f"{info.path}/timestamps")
        check_read(dataset, slice(start, stop))
        values = dataset[start:stop]
    return np.asarray(values, dtype=np.float64)


def search_sorted(dataset: h5py.Dataset, value: float, side: str = "left") -> int:
    """Return ``np.searchsorted(dataset[:], value, side)`` while reading only a few windows."""
    n = int(dataset.shape[0])
    if n <= SMALL_SERIES:
        check_read(dataset)
        return int(np.searchsorted(dataset[:], value, side=side))  # type: ignore[call-overload]
    lo, hi = 0, n  # the answer lies in [lo, hi]
    lo_value, hi_value = float(dataset[0]), float(dataset[n - 1])
    for attempt in range(64):
        if hi - lo <= SEARCH_WINDOW:
            break
        guess = _guess(lo, hi, lo_value, hi_value, value, interpolate=attempt < 4)
        first = max(lo, min(guess - SEARCH_WINDOW // 2, hi - SEARCH_WINDOW))
        chunk = dataset[first : first + SEARCH_WINDOW]
        found = int(np.searchsorted(chunk, value, side=side))  # type: ignore[call-overload]
        if 0 < found < len(chunk):
            return first + found
        if found == 0:
            hi, hi_value = first, float(chunk[0])
        else:
            lo, lo_value = first + len(chunk), float(chunk[-1])
    tail = dataset[lo:hi]
    return lo + int(np.searchsorted(tail, value, side=side))  # type: ignore[call-overload]


def _guess(
    lo: int, hi: int, lo_value: float, hi_value: float, value: float, interpolate: bool
) -> int:
    """Return the next probe: interpolated on a near-regular clock, else the midpoint."""
    span = hi_value - lo_value
    if interpolate and span > 0 and math.isfinite(span):
        fraction = min(1.0, max(0.0, (value - lo_value) / span))
        return lo + int(fraction * (hi - lo))
    return (lo + hi) // 2
