"""Checks and conversions shared by the stimulus-aligned analysis functions.

Every function here either returns a clean numpy/pandas value or raises a
:class:`~brainobs.errors.InvalidInputError` / :class:`~brainobs.errors.UnknownIdError` that says
what was wrong and how to fix it.
"""

from __future__ import annotations

import os
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeAlias

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from brainobs.errors import InvalidInputError, OutputTooLargeError, UnknownIdError

#: Spike times: a mapping unit id -> sorted 1-D array of times in seconds, or one such array.
SpikeTimes: TypeAlias = Mapping[Any, ArrayLike] | ArrayLike
#: How window and bin boundaries are closed: ``"half_open"`` ([lo, hi), the default) or
#: ``"reference"`` (the AllenSDK's behaviour, kept as a compatibility mode).
EdgeMode: TypeAlias = Literal["half_open", "reference"]

_EDGE_MODES = ("half_open", "reference")
_STOP_COLUMNS = ("stop_time", "end_time")


def preview(values: Iterable[Any], limit: int = 5) -> str:
    """Return a short comma-separated preview of ``values`` (at most ``limit`` items)."""
    items = list(values)
    shown = ", ".join(repr(v) for v in items[:limit])
    return shown + (f", ... ({len(items)} in all)" if len(items) > limit else "")


def check_edge_mode(edges: str) -> EdgeMode:
    """Return ``edges`` after checking it names a known edge convention."""
    if edges not in _EDGE_MODES:
        raise InvalidInputError(
            f"edges={edges!r} is not a known convention; use 'half_open' (bins [lo, hi), the "
            "default) or 'reference' (the AllenSDK's inclusive edges, for compatibility)"
        )
    return edges  # type: ignore[return-value]


def as_spike_mapping(spike_times: SpikeTimes) -> Mapping[Any, Any]:
    """Return ``spike_times`` as a mapping unit id -> array (a bare array becomes unit 0)."""
    if isinstance(spike_times, Mapping):
        if len(spike_times) == 0:
            raise InvalidInputError(
                "spike_times is empty; pass a dict unit_id -> sorted spike-time array "
                "(e.g. session.spike_times)"
            )
        return spike_times
    array = np.asarray(spike_times)
    if array.ndim != 1:
        raise InvalidInputError(
            f"spike_times must be a dict unit_id -> 1-D array or one 1-D array, got an array "
            f"of shape {array.shape}"
        )
    return {0: array}


def as_id_list(ids: Any) -> list[Any]:
    """Return ``ids`` (one id or a collection of ids) as a list of Python scalars."""
    if isinstance(ids, (str, bytes)) or np.ndim(ids) == 0:
        return [ids.item() if isinstance(ids, np.generic) else ids]
    return list(np.asarray(ids).tolist())


def select_unit_ids(spikes: Mapping[Any, Any], unit_ids: Any = None) -> list[Any]:
    """Return the requested unit ids (all keys of ``spikes`` when None), checked to exist."""
    if unit_ids is None:
        return list(spikes.keys())
    ids = as_id_list(unit_ids)
    if not ids:
        raise InvalidInputError(
            "unit_ids is empty; pass None for every unit or a non-empty list of unit ids"
        )
    missing = [uid for uid in ids if uid not in spikes]
    if missing:
        raise UnknownIdError(
            f"unit ids not in spike_times: {preview(missing)}; valid ids include "
            f"{preview(spikes.keys())} (check unit_ids against spike_times.keys())"
        )
    return ids


def _unsorted_error(unit_id: Hashable, times: np.ndarray) -> InvalidInputError:
    """Return the error for spike times that are not sorted or contain NaN."""
    if np.isnan(times).any():
        return InvalidInputError(
            f"spike times of unit {unit_id!r} contain NaN; drop them with t[~np.isnan(t)]"
        )
    return InvalidInputError(
        f"spike times of unit {unit_id!r} are not sorted; pass np.sort(times) instead"
    )


def _is_sorted(times: np.ndarray) -> bool:
    """Return whether ``times`` is non-decreasing and NaN-free (NaN fails every comparison)."""
    if times.size == 0:
        return True
    if times.size == 1:
        return not np.isnan(times[0])
    return bool(np.greater_equal(times[1:], times[:-1]).all())


def unit_spike_array(spikes: Mapping[Any, Any], unit_id: Hashable) -> np.ndarray:
    """Return the spike times of ``unit_id`` as a sorted, NaN-free float64 array."""
    times = np.asarray(spikes[unit_id], dtype=np.float64)
    if times.ndim != 1:
        raise InvalidInputError(
            f"spike times of unit {unit_id!r} have shape {times.shape}; expected a 1-D array"
        )
    if not _is_sorted(times):
        raise _unsorted_error(unit_id, times)
    return times


@dataclass(frozen=True)
class UnitSpikes:
    """Checked spike times of a group of units: one flat float64 buffer and each unit's span.

    Unit ``i`` of the group has the spikes ``flat[starts[i]:stops[i]]`` (sorted, NaN-free).
    """

    flat: np.ndarray
    starts: np.ndarray
    stops: np.ndarray

    @property
    def n_units(self) -> int:
        """Return the number of units in the group."""
        return int(self.starts.size)


#: Most spikes copied into one group when the units' arrays do not share a buffer.
GROUP_SPIKES = 1 << 22


def _address(array: np.ndarray) -> int:
    """Return the address of the first element of ``array``."""
    return int(array.__array_interface__["data"][0])


def _shared_buffer(arrays: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray] | None:
    """Return (buffer, start of each array in it) when all are slices of one float64 buffer.

    Session spike times are views into the one dataset read from the file: no copy is needed.
    """
    base = arrays[0].base if arrays else None
    if not isinstance(base, np.ndarray) or base.ndim != 1 or base.dtype != np.float64:
        return None
    if not base.flags.c_contiguous:
        return None
    origin, itemsize = _address(base), base.itemsize
    starts = np.empty(len(arrays), dtype=np.intp)
    for i, array in enumerate(arrays):
        if array.base is not base or array.dtype != base.dtype or array.ndim != 1:
            return None
        if array.size > 1 and array.strides[0] != itemsize:
            return None
        starts[i] = (_address(array) - origin) // itemsize
    return base, starts


def _checked_array(unit_id: Hashable, values: Any) -> np.ndarray:
    """Return one unit's spike times as a sorted, NaN-free 1-D float64 array (no copy if so)."""
    times = np.asarray(values)
    if times.dtype != np.float64:
        times = times.astype(np.float64)
    if times.ndim != 1:
        raise InvalidInputError(
            f"spike times of unit {unit_id!r} have shape {times.shape}; expected a 1-D array"
        )
    if not _is_sorted(times):
        raise _unsorted_error(unit_id, times)
    return times


def unit_groups(
    spikes: Mapping[Any, Any], ids: Sequence[Any], group_units: int
) -> Iterator[tuple[int, UnitSpikes]]:
    """Yield (position of the first unit, checked group) for groups of at most ``group_units``.

    Units whose arrays are slices of one buffer (a session's spike times) are used in place;
    others are copied into a flat buffer of at most :data:`GROUP_SPIKES` spikes per group.
    """
    position = 0
    while position < len(ids):
        chunk = ids[position : position + max(1, group_units)]
        raw = [np.asarray(spikes[uid]) for uid in chunk]
        sizes = np.fromiter((a.size for a in raw), np.intp, len(raw))
        shared = _shared_buffer(raw)
        if shared is None:
            n = max(1, int(np.searchsorted(np.cumsum(sizes), GROUP_SPIKES, side="right")))
            chunk, raw, sizes = chunk[:n], raw[:n], sizes[:n]
        arrays = [_checked_array(uid, values) for uid, values in zip(chunk, raw, strict=True)]
        if shared is not None:
            flat, starts = shared
        else:
            flat = np.concatenate(arrays) if len(arrays) > 1 else arrays[0]
            starts = np.cumsum(sizes) - sizes
        yield position, UnitSpikes(flat, starts, starts + sizes)
        position += len(chunk)


def validate_bin_edges(bin_edges: ArrayLike) -> np.ndarray:
    """Return ``bin_edges`` as a float64 array after checking it is finite and increasing."""
    edges = np.asarray(bin_edges, dtype=np.float64)
    if edges.ndim != 1 or edges.size < 2:
        raise InvalidInputError(
            f"bin_edges must be a 1-D array of at least 2 edges, got shape {edges.shape}; "
            "e.g. np.arange(0, 0.2501, 0.001)"
        )
    if not np.all(np.isfinite(edges)):
        raise InvalidInputError("bin_edges contain NaN or inf; pass finite times in seconds")
    bad = np.flatnonzero(np.diff(edges) <= 0)
    if bad.size:
        raise InvalidInputError(
            f"bin_edges must be strictly increasing; edges at positions {preview(bad.tolist())} "
            "are not smaller than the next one (sort them and remove duplicates)"
        )
    return edges


def _check_presentations(presentations: Any) -> pd.DataFrame:
    """Return ``presentations`` after checking it is a non-empty DataFrame with start_time."""
    if not isinstance(presentations, pd.DataFrame):
        raise InvalidInputError(
            f"presentations must be a pandas DataFrame (e.g. session.stimulus_presentations), "
            f"got {type(presentations).__name__}"
        )
    if presentations.empty:
        raise InvalidInputError(
            "presentations is empty; check the filter that selected them (stimulus name, ids)"
        )
    if "start_time" not in presentations.columns:
        raise InvalidInputError(
            f"presentations have no 'start_time' column; columns are "
            f"{preview(presentations.columns)}"
        )
    return presentations


def _finite_column(frame: pd.DataFrame, column: str) -> np.ndarray:
    """Return ``frame[column]`` as float64, raising when any value is missing or infinite."""
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        raise InvalidInputError(
            f"presentations have missing or non-numeric {column} for ids "
            f"{preview(frame.index[bad])}; drop those rows first"
        )
    return values


def presentation_onsets(presentations: Any) -> np.ndarray:
    """Return the ``start_time`` of every presentation as a float64 array."""
    return _finite_column(_check_presentations(presentations), "start_time")


def stop_column(presentations: pd.DataFrame) -> str:
    """Return the name of the column holding presentation end times (stop_time or end_time)."""
    for column in _STOP_COLUMNS:
        if column in presentations.columns:
            return column
    raise InvalidInputError(
        "presentations need a 'stop_time' or 'end_time' column to define their windows; "
        f"columns are {preview(presentations.columns)}"
    )


def presentation_windows(presentations: Any) -> tuple[np.ndarray, np.ndarray]:
    """Return (start, stop) float64 arrays of the presentations, checked start <= stop."""
    frame = _check_presentations(presentations)
    start = _finite_column(frame, "start_time")
    stop = _finite_column(frame, stop_column(frame))
    reversed_rows = np.flatnonzero(stop < start)
    if reversed_rows.size:
        raise InvalidInputError(
            f"presentations {preview(frame.index[reversed_rows])} start after they end; "
            "fix start_time/stop_time (or end_time) of those rows"
        )
    return start, stop


def as_event_times(events: Any) -> np.ndarray:
    """Return event times (an array, or a presentations table's start_time) as float64."""
    if isinstance(events, pd.DataFrame):
        return presentation_onsets(events)
    times = np.asarray(events, dtype=np.float64).reshape(-1)
    if times.size == 0:
        raise InvalidInputError("no event times given; pass a non-empty array of times (s)")
    if not np.all(np.isfinite(times)):
        raise InvalidInputError("event times contain NaN or inf; drop them first")
    return times


def relative_window(window: Sequence[float]) -> tuple[float, float]:
    """Return ``window`` as a (start, stop) pair of floats with start < stop."""
    if len(window) != 2:
        raise InvalidInputError(
            f"window must be (start, stop) relative to the event, got {window!r}"
        )
    start, stop = float(window[0]), float(window[1])
    if not (np.isfinite(start) and np.isfinite(stop)) or start >= stop:
        raise InvalidInputError(
            f"window {window!r} must be finite with start < stop, e.g. (-0.1, 0.5)"
        )
    return start, stop


def available_memory() -> int | None:
    """Return the bytes of memory available to a new allocation (None when unknown)."""
    try:
        with Path("/proc/meminfo").open(encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, OSError, ValueError):
        return None


def _size(n_bytes: float) -> str:
    """Return a byte count as text in GiB or MiB."""
    if n_bytes >= 2**30:
        return f"{n_bytes / 2**30:,.2f} GiB"
    return f"{n_bytes / 2**20:,.1f} MiB" if n_bytes >= 2**20 else f"{int(n_bytes):,} bytes"


def check_dense_fits(shape: tuple[int, ...], dtype: np.dtype[Any]) -> None:
    """Raise OutputTooLargeError when an array of ``shape`` would not fit in free memory."""
    needed = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
    available = available_memory()
    if available is None or needed <= available:
        return
    raise OutputTooLargeError(
        f"the counts array would take {_size(needed)} ({' x '.join(map(str, shape))} "
        f"{dtype}: units x presentations x bins) but only {_size(available)} of memory is "
        "available; pass output='dask' for an array computed in blocks of units on demand, "
        "or ask for fewer units, presentations or bins"
    )


def require_columns(table: Any, columns: Iterable[str], what: str, fix: str) -> None:
    """Return None if ``table`` is a DataFrame with every name in ``columns``; raise otherwise.

    The error names the table (``what``), the missing columns, and how to get a table that
    has them (``fix``).
    """
    if not isinstance(table, pd.DataFrame):
        raise InvalidInputError(
            f"{what} must be a pandas DataFrame, got {type(table).__name__}; {fix}."
        )
    missing = [name for name in columns if name not in table.columns]
    if missing:
        raise InvalidInputError(
            f"{what} lacks column(s) {missing} (it has {list(table.columns)}); {fix}."
        )
