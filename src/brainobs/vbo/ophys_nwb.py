"""Readers for the 2-photon part of a VBO experiment file (``/processing/ophys``), lazily.

Each function takes an :class:`~brainobs.nwb.NwbFile` and reads only what it returns: the cell
specimen table without its masks, the masks of the asked cells, the trace columns of the asked
cells, one image. Paths and shapes follow reference/format_ophys_behavior.md §3.2; the tables
have the reference toolkit's columns and indexes (§4.3). Trace matrices are stored time x ROI,
their columns following the ``rois`` region into the cell specimen table.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from brainobs.errors import InvalidInputError, MissingDataError
from brainobs.nwb import ColumnRules, NwbFile, read_dynamic_table, read_fields
from brainobs.nwb.lazy_array import lazy_dataarray
from brainobs.nwb.timeseries import read_timestamps

OPHYS = "/processing/ophys"
CELL_TABLE = f"{OPHYS}/image_segmentation/cell_specimen_table"
IMAGES = f"{OPHYS}/images"
EVENTS = f"{OPHYS}/event_detection"
#: Trace kind -> the RoiResponseSeries holding it.
TRACE_PATHS = {
    "dff": f"{OPHYS}/dff/traces",
    "corrected_fluorescence": f"{OPHYS}/corrected_fluorescence/traces",
    "demixed_trace": f"{OPHYS}/demixed_trace/traces",
    "neuropil_trace": f"{OPHYS}/neuropil_trace/traces",
    "events": EVENTS,
}
#: The cell_specimen_id of an ROI that cell matching left unmatched.
UNMATCHED = -1
#: Where (in the file) the reporter line names the indicator (the reference's rule).
INDICATORS = (("GCaMP6f", "GCaMP6f"), ("GC6f", "GCaMP6f"), ("GCaMP6s", "GCaMP6s"))


class Image(NamedTuple):
    """A 2-D image with its pixel spacing (the reference's ``Image``): ``np.asarray`` works."""

    data: np.ndarray
    spacing: tuple[float, float]
    unit: str = "mm"

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return np.asarray(self.data, dtype=dtype)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Image):
            return NotImplemented
        return bool(
            np.array_equal(self.data, other.data)
            and self.spacing == other.spacing
            and self.unit == other.unit
        )


def require_ophys(file: NwbFile) -> None:
    """Raise MissingDataError unless ``file`` is an imaging-experiment file."""
    if not file.has(CELL_TABLE):
        raise MissingDataError(
            f"{file.name} has no {CELL_TABLE}: it is not a behavior_ophys_experiment file "
            "(open behavior-only files with BehaviorSession)."
        )


def read_cells(file: NwbFile, exclude_invalid_rois: bool = True) -> pd.DataFrame:
    """Return the cell specimen table without masks, indexed by ``cell_specimen_id``.

    Columns are ``cell_roi_id`` then the file's columns (``height``, ``mask_image_plane``,
    ``max_correction_*``, ``valid_roi``, ``width``, ``x``, ``y``); ``row`` (kept aside by
    callers) is each ROI's row in the file. Unmatched ROIs (-1) get ``<NA>`` (nullable Int64).
    """
    table = read_dynamic_table(file, CELL_TABLE, rules=ColumnRules(bool_columns=("valid_roi",)))
    table = table.astype({c: np.int64 for c in table.columns if table[c].dtype.kind in "iu"})
    table.insert(0, "row", np.arange(len(table), dtype=np.int64))
    if exclude_invalid_rois and "valid_roi" in table.columns:
        table = table[table["valid_roi"].to_numpy(dtype=bool)]
    specimen = table.pop("cell_specimen_id").to_numpy(dtype=np.int64)
    table.insert(0, "cell_roi_id", table.index.to_numpy(dtype=np.int64))
    unmatched = specimen == UNMATCHED
    index = (
        pd.Index(pd.arrays.IntegerArray(specimen, unmatched), name="cell_specimen_id")
        if unmatched.any()
        else pd.Index(specimen, name="cell_specimen_id")
    )
    table.index = index
    return table


def read_roi_masks(file: NwbFile, rows: np.ndarray) -> np.ndarray:
    """Return the full-FOV boolean masks (ROI x height x width) of the ROIs at file ``rows``."""
    masks = lazy_dataarray(file, f"{CELL_TABLE}/image_mask", ("roi", "y", "x"))
    return np.asarray(_rows_of(masks, "roi", rows), dtype=bool)


def _rows_of(array: Any, dim: str, positions: np.ndarray) -> np.ndarray:
    """Return ``array`` at ``positions`` along ``dim`` (in that order), reading only those."""
    positions = np.asarray(positions, dtype=np.int64)
    if positions.size == array.sizes[dim] and np.array_equal(positions, np.arange(positions.size)):
        return np.asarray(array.values)
    wanted, inverse = np.unique(positions, return_inverse=True)
    values = np.asarray(array.isel({dim: wanted}).values)
    return np.take(values, inverse.reshape(-1), axis=array.dims.index(dim))


def trace_columns(file: NwbFile, kind: str) -> np.ndarray:
    """Return, per column of trace ``kind``, the cell-table row it belongs to.

    The ``rois`` region is read as positions without resolving its ``table`` reference (on a
    remote file, naming a referenced object makes HDF5 walk the whole file): VBO files have
    one plane segmentation, the cell specimen table.
    """
    positions = file.values(f"{trace_path(file, kind)}/rois")
    return np.asarray(positions).astype(np.int64, copy=False).reshape(-1)


def trace_path(file: NwbFile, kind: str) -> str:
    """Return the path of trace ``kind``; raise with the kinds the file holds if absent."""
    if kind not in TRACE_PATHS:
        raise InvalidInputError(f"Unknown trace {kind!r}; the traces are {list(TRACE_PATHS)}.")
    path = TRACE_PATHS[kind]
    if not file.has(f"{path}/data"):
        held = [k for k, p in TRACE_PATHS.items() if file.has(f"{p}/data")]
        raise MissingDataError(f"{file.name} has no {kind} traces ({path}); it holds {held}.")
    return path


def read_trace_columns(file: NwbFile, kind: str, columns: np.ndarray | None) -> np.ndarray:
    """Return trace ``kind`` as (time x column) for the given columns (all when None).

    Only the HDF5 chunks holding those columns are read.
    """
    data = lazy_dataarray(file, f"{trace_path(file, kind)}/data", ("time", "roi"))
    if columns is None:
        return np.asarray(data.values)
    return _rows_of(data, "roi", columns)


def read_ophys_timestamps(file: NwbFile) -> np.ndarray:
    """Return the 2-photon frame times (s): the timestamps of the dF/F traces."""
    return read_timestamps(file, TRACE_PATHS["dff"])


def read_event_parameters(file: NwbFile) -> pd.DataFrame:
    """Return per event-detection column its ``lambda`` and ``noise_std``."""
    return pd.DataFrame(
        {
            "lambda": file.values(f"{EVENTS}/lambdas").astype(np.float64),
            "noise_std": file.values(f"{EVENTS}/noise_stds").astype(np.float64),
        }
    )


def read_fit_values(file: NwbFile) -> pd.DataFrame | None:
    """Return per corrected-fluorescence column its ``r`` and ``RMSE`` (None when absent)."""
    base = f"{OPHYS}/corrected_fluorescence"
    if not (file.has(f"{base}/r/data") and file.has(f"{base}/RMSE/data")):
        return None
    return pd.DataFrame(
        {
            "r": file.values(f"{base}/r/data").astype(np.float64),
            "RMSE": file.values(f"{base}/RMSE/data").astype(np.float64),
        }
    )


def read_image(file: NwbFile, name: str) -> Image:
    """Return image ``name`` of the ophys module with its spacing (mm per pixel)."""
    path = f"{IMAGES}/{name}"
    if not file.has(path):
        raise MissingDataError(f"{file.name} has no {path}; it holds {file.keys(IMAGES)}.")
    resolution = float(file.attrs(path).get("resolution", np.nan))
    spacing = (resolution * 10.0, resolution * 10.0)  # stored as pixel size (mm) / 10
    return Image(file.values(path), spacing, "mm")


def read_motion_correction(file: NwbFile) -> pd.DataFrame:
    """Return the rigid motion-correction offsets ``x``, ``y`` (pixels) of every frame."""
    return pd.DataFrame(
        {axis: file.values(f"{OPHYS}/ophys_motion_correction_{axis}/data") for axis in "xy"}
    )


def read_imaging_plane(file: NwbFile) -> dict[str, Any]:
    """Return the imaging plane's frame rate, structure, wavelengths and description."""
    path = f"{CELL_TABLE}/imaging_plane"
    if not file.has(path):
        planes = file.keys("/general/optophysiology")
        if not planes:
            raise MissingDataError(f"{file.name} describes no imaging plane.")
        path = f"/general/optophysiology/{planes[0]}"
    fields = read_fields(file, path)
    channels = [n for n in file.keys(path) if file.has(f"{path}/{n}/emission_lambda")]
    emission = float(file.scalar(f"{path}/{channels[0]}/emission_lambda")) if channels else np.nan
    return {
        "ophys_frame_rate": float(fields["imaging_rate"]),
        "targeted_structure": fields.get("location"),
        "excitation_lambda": float(fields.get("excitation_lambda", np.nan)),
        "emission_lambda": emission,
        "description": fields.get("description"),
    }


def indicator_of(reporter_line: str | None) -> str | None:
    """Return the calcium indicator a reporter line names (the reference's rule), else None."""
    for text, indicator in INDICATORS:
        if reporter_line is not None and text in reporter_line:
            return indicator
    return None
