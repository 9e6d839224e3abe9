"""Eye tracking of a Visual Coding session: ellipse fits and gaze on the screen (§3.4, §4.2.4).

The session file holds ``/processing/eye_tracking/{pupil,cr,eye}_ellipse_fits`` (tables whose
``height`` and ``width`` are half-axes) and ``/processing/{raw,filtered}_gaze_mapping/`` (eye
and pupil areas, and the gaze position on the screen in cm and degrees, stored y first). Some
sessions have no eye tracking: the readers then return None, as the reference does.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from brainobs.nwb import NwbFile, read_dynamic_table

EYE = "/processing/eye_tracking"
GAZE = "/processing/{kind}_gaze_mapping"
#: (prefix in the pupil table, ellipse-fit table).
FITS = (("corneal_reflection", "cr"), ("pupil", "pupil"), ("eye", "eye"))
TIME_INDEX = "Time (s)"


def has_eye_tracking(file: NwbFile) -> bool:
    """Return whether the session file holds eye tracking and gaze mapping."""
    return file.has(EYE) and file.has(GAZE.format(kind="raw"))


def _gaze_series(file: NwbFile, kind: str, name: str) -> np.ndarray:
    """Return the data of one gaze-mapping series as float64."""
    return file.values(f"{GAZE.format(kind=kind)}/{name}/data").astype(np.float64)


def _time_index(file: NwbFile) -> pd.Index:
    """Return the eye-tracking frame times (those of the raw eye area), named ``Time (s)``."""
    times = file.values(f"{GAZE.format(kind='raw')}/eye_area/timestamps").astype(np.float64)
    return pd.Index(times, name=TIME_INDEX)


def read_screen_gaze(file: NwbFile, include_filtered_data: bool = False) -> pd.DataFrame | None:
    """Return the eye and pupil areas and the gaze position on the screen (None if absent)."""
    if not has_eye_tracking(file):
        return None
    columns: dict[str, np.ndarray] = {}
    for kind in ("raw", "filtered") if include_filtered_data else ("raw",):
        columns[f"{kind}_eye_area"] = _gaze_series(file, kind, "eye_area")
        columns[f"{kind}_pupil_area"] = _gaze_series(file, kind, "pupil_area")
        for name, unit in (("screen_coordinates", "cm"), ("screen_coordinates_spherical", "deg")):
            values = _gaze_series(file, kind, name)
            columns[f"{kind}_{name}_x_{unit}"] = values[:, 1]
            columns[f"{kind}_{name}_y_{unit}"] = values[:, 0]
    return pd.DataFrame(columns, index=_time_index(file))


def read_pupil(file: NwbFile) -> pd.DataFrame | None:
    """Return the three ellipse fits (centre, full height and width, angle), None if absent."""
    if not has_eye_tracking(file):
        return None
    columns: dict[str, np.ndarray] = {}
    for prefix, table in FITS:
        fits = read_dynamic_table(file, f"{EYE}/{table}_ellipse_fits")
        columns[f"{prefix}_center_x"] = fits["center_x"].to_numpy(dtype=np.float64)
        columns[f"{prefix}_center_y"] = fits["center_y"].to_numpy(dtype=np.float64)
        columns[f"{prefix}_height"] = 2 * fits["height"].to_numpy(dtype=np.float64)
        columns[f"{prefix}_width"] = 2 * fits["width"].to_numpy(dtype=np.float64)
        columns[f"{prefix}_phi"] = fits["phi"].to_numpy(dtype=np.float64)
    return pd.DataFrame(columns, index=_time_index(file))
