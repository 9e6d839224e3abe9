"""Stimulus-aligned 2-photon traces (dF/F, events) and the responses people compute from them.

Pure functions on arrays and DataFrames: they take a (cell x time) matrix or a table with one
trace per row (the shape of ``dff_traces`` and ``events``), the 2-photon frame times and the
stimulus presentations, and return xarray/pandas objects.

* :func:`align_traces` cuts every cell's trace around every presentation onto one common time
  base (``time`` in seconds from onset, ``sampling_rate`` samples per second), by linear
  interpolation between the frames around each sample time (``interpolate=False``: the frame
  at or after the sample time, no interpolation). Samples outside the recording are NaN. The
  result is (presentation x time x cell); it is built in blocks of presentations with one
  gather per block, so memory is the output plus one block.
* :func:`response_means` averages each presentation's response in a window (optionally minus a
  baseline window); :func:`image_responses` and :func:`change_omission_responses` average those
  per image and per condition (change, repeated image, omission) for each cell;
  :func:`cell_responses` gathers them in one row per cell.
* :func:`filter_events` smooths detected events with the causal half-normal kernel the
  reference toolkit applies at load (``filtered_events``).

Cross-session and population summaries are in :mod:`brainobs.analysis.ophys_summary`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr
from numpy.typing import ArrayLike, DTypeLike
from scipy.signal import lfilter

from brainobs.analysis._validation import presentation_onsets, relative_window
from brainobs.errors import InvalidInputError

__all__ = [
    "align_traces",
    "cell_responses",
    "change_omission_responses",
    "filter_events",
    "image_responses",
    "response_means",
    "trace_matrix",
]

PRESENTATION_DIM = "stimulus_presentations_id"
TIME_DIM = "time"
CELL_DIM = "cell_specimen_id"
#: Values gathered per block of presentations (bounds the temporary arrays: 32 MiB of float64).
BLOCK_VALUES = 1 << 22
#: Trace columns of the reference's trace tables, in the order they are looked for.
TRACE_COLUMNS = ("dff", "events", "filtered_events", "corrected_fluorescence", "demixed_trace",
                 "neuropil_trace")  # fmt: skip


def trace_matrix(table: pd.DataFrame, column: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Return (cell ids, cell x time float64 matrix) from a table of one trace per row.

    ``table`` is shaped like the reference's ``dff_traces`` or ``events`` (index
    ``cell_specimen_id``, a column holding one array per cell); ``column`` defaults to the
    first of :data:`TRACE_COLUMNS` present.
    """
    if column is None:
        column = next((c for c in TRACE_COLUMNS if c in table.columns), None)
        if column is None:
            raise InvalidInputError(
                f"no trace column among {list(table.columns)}; name it with column=..."
            )
    if column not in table.columns:
        raise InvalidInputError(f"no column {column!r}; columns are {list(table.columns)}")
    rows = [np.asarray(v, dtype=np.float64) for v in table[column]]
    if not rows or len({len(r) for r in rows}) != 1:
        raise InvalidInputError(f"{column!r} must hold one trace per cell, all of one length")
    return table.index.to_numpy(), np.vstack(rows)


def _checked_traces(
    traces: ArrayLike | pd.DataFrame, cell_ids: ArrayLike | None, n_frames: int, column: str | None
) -> tuple[np.ndarray, np.ndarray]:
    """Return (cell ids, cell x time matrix) after checking it matches the timestamps."""
    if isinstance(traces, pd.DataFrame):
        ids, matrix = trace_matrix(traces, column)
    else:
        matrix = np.asarray(traces, dtype=np.float64)
        if matrix.ndim == 1:
            matrix = matrix[None, :]
        ids = np.arange(len(matrix)) if cell_ids is None else np.asarray(cell_ids)
    if matrix.ndim != 2 or matrix.shape[1] != n_frames:
        raise InvalidInputError(
            f"traces must be (cell x time) with one value per timestamp ({n_frames}); got "
            f"shape {matrix.shape}. Transpose a (time x cell) matrix first."
        )
    if len(ids) != len(matrix):
        raise InvalidInputError(f"{len(ids)} cell ids for {len(matrix)} traces")
    return ids, matrix


def _checked_timestamps(timestamps: ArrayLike) -> np.ndarray:
    """Return the frame times as float64, checked finite and strictly increasing."""
    stamps = np.asarray(timestamps, dtype=np.float64).reshape(-1)
    if stamps.size < 2 or not np.all(np.isfinite(stamps)) or np.any(np.diff(stamps) <= 0):
        raise InvalidInputError(
            "timestamps must hold at least two finite, strictly increasing frame times (s)"
        )
    return stamps


def _onsets(presentations: pd.DataFrame | ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Return (presentation ids, onset times) of a presentations table or an onset array."""
    if isinstance(presentations, pd.DataFrame):
        return presentations.index.to_numpy(), presentation_onsets(presentations)
    onsets = np.asarray(presentations, dtype=np.float64).reshape(-1)
    if onsets.size == 0 or not np.all(np.isfinite(onsets)):
        raise InvalidInputError("onsets must be a non-empty array of finite times (s)")
    return np.arange(onsets.size), onsets


def time_base(window: Sequence[float], sampling_rate: float) -> np.ndarray:
    """Return the sample times (s from onset) of ``window`` = [start, stop) at ``sampling_rate``."""
    start, stop = relative_window(window)
    if not (np.isfinite(sampling_rate) and sampling_rate > 0):
        raise InvalidInputError(f"sampling_rate must be a positive number, got {sampling_rate!r}")
    first, last = (
        int(np.ceil(start * sampling_rate - 1e-9)),
        int(np.ceil(stop * sampling_rate - 1e-9)),
    )
    if last <= first:
        raise InvalidInputError(f"window {window!r} holds no sample at {sampling_rate} Hz")
    return np.arange(first, last) / sampling_rate


def align_traces(
    traces: ArrayLike | pd.DataFrame,
    timestamps: ArrayLike,
    presentations: pd.DataFrame | ArrayLike,
    window: Sequence[float] = (-0.5, 0.75),
    *,
    sampling_rate: float | None = None,
    interpolate: bool = True,
    cell_ids: ArrayLike | None = None,
    column: str | None = None,
    dtype: DTypeLike = np.float64,
) -> xr.DataArray:
    """Return traces around every presentation: (presentation x time x cell) on one time base.

    ``traces`` is a (cell x time) matrix (with ``cell_ids``) or a table of one trace per cell
    (see :func:`trace_matrix`); ``timestamps`` the frame times (s); ``presentations`` a table
    with ``start_time`` (its index names the presentations) or an array of onsets.
    ``sampling_rate`` defaults to the frame rate (rounded to 0.001 Hz). ``dtype`` of the result
    (``np.float32`` halves its memory).
    """
    stamps = _checked_timestamps(timestamps)
    ids, matrix = _checked_traces(traces, cell_ids, len(stamps), column)
    presentation_ids, onsets = _onsets(presentations)
    rate = frame_rate(stamps) if sampling_rate is None else float(sampling_rate)
    grid = time_base(window, rate)
    values = np.ascontiguousarray(matrix.T)  # time x cell: one row gathered per sample
    out = np.empty((len(onsets), len(grid), len(ids)), dtype=dtype)
    step = max(1, BLOCK_VALUES // max(len(grid) * len(ids), 1))
    for first in range(0, len(onsets), step):
        times = onsets[first : first + step, None] + grid[None, :]
        rows = out[first : first + step].reshape(times.size, len(ids))  # a view: filled in place
        _sample(values, stamps, times.ravel(), interpolate, rows)
    return xr.DataArray(
        out,
        dims=(PRESENTATION_DIM, TIME_DIM, CELL_DIM),
        coords={PRESENTATION_DIM: presentation_ids, TIME_DIM: grid, CELL_DIM: ids},
        attrs={"sampling_rate": rate, "window": tuple(relative_window(window)),
               "interpolate": int(interpolate)},
    )  # fmt: skip


def frame_rate(timestamps: np.ndarray) -> float:
    """Return the frame rate (Hz) of evenly spaced frame times, rounded to 0.001 Hz."""
    return float(round(1.0 / float(np.median(np.diff(timestamps))), 3))


def _sample(
    values: np.ndarray, stamps: np.ndarray, times: np.ndarray, interpolate: bool, out: np.ndarray
) -> None:
    """Write ``values`` (time x cell) at ``times`` into ``out`` (time x cell): interpolated, or
    the frame at/after each; NaN outside the recording."""
    inside = (times >= stamps[0]) & (times <= stamps[-1])
    if not interpolate:
        frame = np.searchsorted(stamps, times, side="left").clip(0, len(stamps) - 1)
        _gather(values, frame, out)
    else:
        upper = np.searchsorted(stamps, times, side="right").clip(1, len(stamps) - 1)
        lower = upper - 1
        weight = ((times - stamps[lower]) / (stamps[upper] - stamps[lower]))[:, None]
        _gather(values, lower, out)
        out *= (1.0 - weight).astype(out.dtype, copy=False)
        upper_values = values[upper]
        upper_values *= weight
        out += upper_values
    out[~inside] = np.nan


def _gather(values: np.ndarray, rows: np.ndarray, out: np.ndarray) -> None:
    """Write ``values[rows]`` into ``out`` without a temporary when the dtypes agree."""
    if out.dtype == values.dtype:
        np.take(values, rows, axis=0, out=out)
    else:
        out[...] = values[rows]


def response_means(
    aligned: xr.DataArray,
    window: Sequence[float] = (0.0, 0.5),
    baseline: Sequence[float] | None = None,
) -> xr.DataArray:
    """Return each presentation's mean response per cell in ``window`` (s from onset).

    With ``baseline`` the mean in that window is subtracted. NaN samples are skipped (a
    presentation with no sample in a window gives NaN).
    """
    times = aligned[TIME_DIM].to_numpy()
    values = aligned.transpose(PRESENTATION_DIM, TIME_DIM, CELL_DIM).to_numpy()
    response = _window_mean(values, times, window)
    if baseline is not None:
        response = response - _window_mean(values, times, baseline)
    return xr.DataArray(
        response,
        dims=(PRESENTATION_DIM, CELL_DIM),
        coords={PRESENTATION_DIM: aligned[PRESENTATION_DIM], CELL_DIM: aligned[CELL_DIM]},
        attrs={"window": tuple(relative_window(window)),
               "baseline": () if baseline is None else tuple(relative_window(baseline))},
    )  # fmt: skip


def _window_mean(values: np.ndarray, times: np.ndarray, bounds: Sequence[float]) -> np.ndarray:
    """Return the NaN-skipping mean of (presentation x time x cell) over the samples in bounds.

    One (presentation x cell) slab is added per sample, so no copy of the whole window is made.
    """
    start, stop = relative_window(bounds)
    samples = np.flatnonzero((times >= start) & (times < stop))
    if not samples.size:
        raise InvalidInputError(f"window {bounds!r} holds no sample of the aligned traces")
    total = np.zeros((values.shape[0], values.shape[2]))
    count = np.zeros(total.shape)
    for k in samples:
        slab = values[:, k, :]
        present = ~np.isnan(slab)
        total += np.where(present, slab, 0.0)
        count += present
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan)


def _presentation_rows(responses: xr.DataArray, presentations: pd.DataFrame) -> pd.DataFrame:
    """Return the presentations' rows in the order of ``responses``."""
    ids = responses[PRESENTATION_DIM].to_numpy()
    missing = pd.Index(ids).difference(presentations.index)
    if len(missing):
        raise InvalidInputError(
            f"presentations lack the ids {list(missing[:5])} of the responses; pass the "
            "presentations table the traces were aligned to"
        )
    rows: pd.DataFrame = presentations.loc[ids]
    return rows


def _flag(rows: pd.DataFrame, column: str) -> np.ndarray:
    """Return a boolean column as a numpy bool array (missing values False)."""
    if column not in rows.columns:
        raise InvalidInputError(f"presentations have no {column!r} column")
    return rows[column].astype("boolean").fillna(False).to_numpy(dtype=bool)


def image_responses(responses: xr.DataArray, presentations: pd.DataFrame) -> pd.DataFrame:
    """Return each cell's mean response to each image (cell x image_name) over its flashes.

    Omitted flashes and rows without an image are left out.
    """
    rows = _presentation_rows(responses, presentations)
    shown = rows["image_name"].notna().to_numpy() & ~_flag(rows, "omitted")
    names = rows["image_name"].to_numpy()[shown]
    data = responses.transpose(PRESENTATION_DIM, CELL_DIM).to_numpy()[shown]
    frame = pd.DataFrame(data, columns=responses[CELL_DIM].to_numpy())
    means: pd.DataFrame = frame.groupby(names, sort=True).mean().T
    means.index.name, means.columns.name = CELL_DIM, "image_name"
    return means


def change_omission_responses(responses: xr.DataArray, presentations: pd.DataFrame) -> pd.DataFrame:
    """Return each cell's mean response to changes, repeated images, omissions and all images.

    Columns ``change`` (``is_change`` flashes), ``repeat`` (image flashes that are not
    changes), ``omission`` (``omitted`` flashes) and ``image`` (every image flash); NaN where a
    condition has no presentation.
    """
    rows = _presentation_rows(responses, presentations)
    change, omitted = _flag(rows, "is_change"), _flag(rows, "omitted")
    image = rows["image_name"].notna().to_numpy() & ~omitted
    data = responses.transpose(PRESENTATION_DIM, CELL_DIM).to_numpy()
    conditions = (("change", change), ("repeat", image & ~change), ("omission", omitted),
                  ("image", image))  # fmt: skip
    columns = {name: _masked_mean(data, mask) for name, mask in conditions}
    cells = pd.Index(responses[CELL_DIM].to_numpy(), name=CELL_DIM)
    frame: pd.DataFrame = pd.DataFrame(columns, index=cells)
    return frame


def _masked_mean(data: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Return the NaN-skipping mean over the rows of ``data`` selected by ``mask``."""
    if not mask.any():
        return np.full(data.shape[1], np.nan)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns give NaN
        return np.asarray(np.nanmean(data[mask], axis=0))


def cell_responses(responses: xr.DataArray, presentations: pd.DataFrame) -> pd.DataFrame:
    """Return one row per cell: condition responses (see :func:`change_omission_responses`)
    and the preferred image.

    ``preferred_image`` is the image with the largest mean response (as the SWDB helpers define
    ``pref_stim``), ``preferred_response`` that response.
    """
    table = change_omission_responses(responses, presentations)
    per_image = image_responses(responses, presentations)
    filled = per_image.fillna(-np.inf)
    table["preferred_image"] = filled.idxmax(axis=1).where(per_image.notna().any(axis=1))
    table["preferred_response"] = per_image.max(axis=1)
    return table


def filter_events(
    events: ArrayLike,
    frame_rate_hz: float,
    scale_seconds: float = 2.0 / 31.0,
    n_time_steps: int = 20,
) -> np.ndarray:
    """Return events smoothed by a causal half-normal kernel, along the last axis.

    The kernel is ``halfnorm.pdf(j, scale=scale_seconds * frame_rate_hz)`` for ``j`` = 0 ...
    ``n_time_steps`` - 1, normalised to sum 1; the output is the full convolution truncated to
    the input length (the reference's ``filtered_events``).
    """
    data = np.asarray(events, dtype=np.float64)
    scale = float(scale_seconds) * float(frame_rate_hz)
    if not (np.isfinite(scale) and scale > 0) or int(n_time_steps) < 1:
        raise InvalidInputError(
            "filter_events needs a positive frame rate and scale and at least one time step"
        )
    j = np.arange(int(n_time_steps), dtype=np.float64)
    kernel = np.exp(-0.5 * (j / scale) ** 2)
    kernel /= kernel.sum()
    return np.asarray(lfilter(kernel, [1.0], data, axis=-1))
