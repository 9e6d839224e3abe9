"""Eye tracking: the ellipse fits of an ``EllipseEyeTracking`` group, with blinks re-detected.

Blink detection is the reference toolkit's (reference/format_ophys_behavior.md §5.7): a frame
is a blink where ``eye_area_raw`` or ``pupil_area_raw`` is missing or either has |z| above
``z_threshold`` (z over the session, population SD, missing values left out); blinks are then
dilated by ``dilation_frames`` frames each side, and the areas and the eye and pupil
width/height/angle are set to NaN on likely blinks.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from brainobs.errors import InvalidInputError
from brainobs.nwb import NwbFile

EYE_TRACKING_PATH = "/acquisition/EyeTracking"
RIG_GEOMETRY_PATH = "/processing/eye_tracking_rig_metadata/eye_tracking_rig_metadata"
#: (prefix in the table, EllipseSeries name) of the three fits.
FITS = (("cr", "corneal_reflection_tracking"), ("eye", "eye_tracking"), ("pupil", "pupil_tracking"))
COLUMNS = (
    "timestamps",
    "cr_area",
    "eye_area",
    "pupil_area",
    "likely_blink",
    "pupil_area_raw",
    "cr_area_raw",
    "eye_area_raw",
    *(f"{p}_{n}" for p, _ in FITS for n in ("center_x", "center_y", "width", "height", "phi")),
)
#: Columns set to NaN on likely blinks.
BLANKED_ON_BLINK = (
    "eye_area",
    "pupil_area",
    "cr_area",
    "eye_width",
    "eye_height",
    "eye_phi",
    "pupil_width",
    "pupil_height",
    "pupil_phi",
)


def has_eye_tracking(file: NwbFile) -> bool:
    """Return whether the file holds eye tracking (behavior-only files do not)."""
    return file.has(EYE_TRACKING_PATH)


def empty_eye_tracking() -> pd.DataFrame:
    """Return the eye tracking table with its columns and no rows."""
    columns: dict[str, Any] = {name: np.zeros(0, np.float64) for name in COLUMNS}
    columns["likely_blink"] = np.zeros(0, bool)
    return pd.DataFrame(columns, index=pd.RangeIndex(0, name="frame").astype(np.int64))


def read_eye_tracking(
    file: NwbFile, z_threshold: float = 3.0, dilation_frames: int = 2
) -> pd.DataFrame:
    """Return the eye tracking table indexed by ``frame``; empty when the file has none."""
    if not has_eye_tracking(file):
        return empty_eye_tracking()
    if dilation_frames < 0:
        raise InvalidInputError(
            f"eye_tracking_dilation_frames must be 0 or more, not {dilation_frames}."
        )
    columns = {"timestamps": _read(file, "eye_tracking/timestamps").astype(np.float64)}
    for prefix, series in FITS:
        columns[f"{prefix}_area_raw"] = _read(file, f"{series}/area_raw")
    for prefix, series in FITS:
        centre = _read(file, f"{series}/data")
        columns[f"{prefix}_center_x"], columns[f"{prefix}_center_y"] = centre[:, 0], centre[:, 1]
        columns[f"{prefix}_width"] = _read(file, f"{series}/width")
        columns[f"{prefix}_height"] = _read(file, f"{series}/height")
        columns[f"{prefix}_phi"] = _read(file, f"{series}/angle")
    for prefix, _ in FITS:
        columns[f"{prefix}_area"] = columns[f"{prefix}_area_raw"].copy()
    columns["likely_blink"] = likely_blinks(
        columns["eye_area_raw"], columns["pupil_area_raw"], z_threshold, dilation_frames
    )
    table = pd.DataFrame({name: columns[name] for name in COLUMNS})
    table.index = pd.RangeIndex(len(table), name="frame").astype(np.int64)
    table.loc[table["likely_blink"].to_numpy(), list(BLANKED_ON_BLINK)] = np.nan
    return table


def _read(file: NwbFile, relative: str) -> np.ndarray:
    """Return a dataset under the EyeTracking group as float64."""
    return file.values(f"{EYE_TRACKING_PATH}/{relative}").astype(np.float64)


def likely_blinks(
    eye_area: np.ndarray, pupil_area: np.ndarray, z_threshold: float, dilation_frames: int
) -> np.ndarray:
    """Return True on frames that are, or are within ``dilation_frames`` of, a blink."""
    blinks = np.isnan(eye_area) | np.isnan(pupil_area)
    blinks |= _outliers(eye_area, z_threshold) | _outliers(pupil_area, z_threshold)
    if dilation_frames > 0 and blinks.any():
        from scipy import ndimage  # imported on use: sessions open without scipy's import cost

        blinks = ndimage.binary_dilation(blinks, iterations=dilation_frames)
    return np.asarray(blinks, dtype=bool)


def _outliers(values: np.ndarray, z_threshold: float) -> np.ndarray:
    """Return True where |z| > ``z_threshold`` (z over the non-missing values, population SD)."""
    finite = values[~np.isnan(values)]
    if finite.size == 0:
        return np.zeros(values.shape, dtype=bool)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (values - finite.mean()) / finite.std()
        return np.asarray(np.abs(z) > z_threshold, dtype=bool)


def read_rig_geometry(file: NwbFile) -> dict[str, Any]:
    """Return the eye-tracking rig geometry (mm, degrees) as lists; ``{}`` when absent."""
    if not file.has(RIG_GEOMETRY_PATH):
        return {}
    names = {
        "camera_position_mm": "camera_position",
        "camera_rotation_deg": "camera_rotation",
        "equipment": None,
        "led_position": "led_position",
        "monitor_position_mm": "monitor_position",
        "monitor_rotation_deg": "monitor_rotation",
    }
    out: dict[str, Any] = {}
    for key, dataset in names.items():
        if dataset is None:
            out[key] = file.attrs(RIG_GEOMETRY_PATH).get("equipment")
            continue
        values = file.values(f"{RIG_GEOMETRY_PATH}/{dataset}")
        out[key] = [float(v) for v in values.tolist()]
    return out
