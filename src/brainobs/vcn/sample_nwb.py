"""The content of a Visual Coding session file ``session_<id>.nwb`` (format_ecephys.md §3.4).

As the released files (reference/real_nwb_layouts/dandiset_00002{1,2}.md):

* root: ``identifier`` and ``session_id`` = the session id, ``session_description`` "Data and
  metadata for an Ecephys session", ``stimulus_notes`` (``/general/stimulus``) = the session
  type, ``institution`` "Allen Institute for Brain Science"; ``/general/subject`` an
  ``EcephysSpecimen``;
* ``/processing/stimulus/timestamps``: the start times of every presentation, in time order;
  ``/intervals/<stimulus>_presentations``: one table per stimulus with its released columns
  (:mod:`brainobs.vcn.sample_stimuli`), text parameters' blanks stored as ``"N/A"``;
* ``/intervals/invalid_times`` with three tags per row (scope, id, label), when the session has any;
* ``/processing/optotagging``; ``/processing/running/{running_speed, running_speed_end_times,
  running_wheel_rotation}`` and ``/acquisition/{raw_running_wheel_rotation,
  running_wheel_signal_voltage, running_wheel_supply_voltage}``;
* ``/processing/eye_tracking/{pupil,cr,eye}_ellipse_fits`` (half-axes), ``/processing/
  {raw,filtered}_gaze_mapping/{eye_area, pupil_area, screen_coordinates,
  screen_coordinates_spherical}`` (coordinates stored y, x) and the rig geometry.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from brainobs.sample.nwb_ecephys import add_optotagging, add_rig_geometry
from brainobs.sample.nwb_tables import DESCRIPTIONS, index_data, interval_table
from brainobs.sample.nwbext import extension_class
from brainobs.sample.nwbio import compressed
from brainobs.sample.quantize import ANGLE_STEP, quantized
from brainobs.vcn.sample_design import SessionPlan
from brainobs.vcn.sample_simulation import VcnSimulation
from brainobs.vcn.sample_stimuli import stored_table

SESSION_DESCRIPTION = "Data and metadata for an Ecephys session"
INSTITUTION = "Allen Institute for Brain Science"
#: Column descriptions of the presentation tables (the released files' texts).
PRESENTATION_DESCRIPTIONS = {
    "temporal_frequency": "Temporal frequency of stimulus",
    "x_position": "Horizontal position of stimulus on screen",
    "y_position": "Vertical position of stimulus on screen",
    "mask": "Shape of mask applied to stimulus",
    "opacity": "Opacity of stimulus",
    "size": "Size of stimulus (see \u2018units\u2019 field for units)",
    "units": "Units of stimulus size",
    "stimulus_index": "Index of stimulus type",
    "frame": "Frame of movie stimulus",
    "contrast": "Contrast of stimulus",
    "Speed": "Speed of moving dot field",
    "Dir": "Direction of stimulus motion",
    "coherence": "Coherence of moving dot field",
    "dotLife": "Longevity of individual dots",
    "dotSize": "Size of individual dots",
    "fieldPos": "Position of moving dot field",
    "fieldShape": "Shape of moving dot field",
    "fieldSize": "Size of moving dot field",
    "nDots": "Number of dots in moving dot field",
}
SCREEN_DISTANCE_CM = 15.0
PIXELS_PER_DEGREE = 4.0


def new_session_file(plan: SessionPlan, identifier: str, description: str) -> Any:
    """Return an NWBFile with the root metadata and specimen of ``plan``."""
    from pynwb import NWBFile

    created = plan.date.replace(year=2020, month=5, day=26)
    nwb = NWBFile(
        session_description=description,
        identifier=identifier,
        session_id=str(plan.ecephys_session_id),
        session_start_time=plan.date,
        file_create_date=[created],
        institution=INSTITUTION,
        stimulus_notes=plan.session_type,
    )
    nwb.subject = specimen(plan)
    return nwb


def specimen(plan: SessionPlan) -> Any:
    """Return the EcephysSpecimen of the plan's mouse."""
    mouse = plan.mouse
    return extension_class("EcephysSpecimen")(
        subject_id=str(mouse.donor_id),
        specimen_name=mouse.specimen_name,
        age_in_days=float(plan.age_in_days),
        age=f"P{plan.age_in_days}D",
        strain="C57BL/6J",
        genotype=mouse.genotype,
        sex=mouse.sex,
        species="Mus musculus",
    )


def add_stimuli(nwb: Any, sim: VcnSimulation) -> None:
    """Add the stimulus frame-start series and one presentations table per stimulus."""
    from pynwb import TimeSeries

    table = sim.schedule.presentations
    starts = table["start_time"].to_numpy()
    module = nwb.create_processing_module("stimulus", "Stimulus Times processing")
    series = TimeSeries(name="timestamps", data=compressed(starts), timestamps=starts, unit="s")
    module.add(series)
    for name in sorted(table["stimulus_name"].unique()):
        rows = table[table["stimulus_name"] == name]
        stored = stored_table(name, rows)
        stored = stored.loc[:, ~stored.isna().all()]
        first = np.searchsorted(starts, rows["start_time"].to_numpy())
        nwb.add_time_intervals(
            interval_table(
                f"{name}_presentations",
                f"Presentation times and stimuli details for '{name}' stimuli",
                stored.reset_index(drop=True),
                tags="stimulus_time_interval",
                timeseries=series,
                descriptions=PRESENTATION_DESCRIPTIONS,
                reference_rows=(first, np.ones(len(rows), dtype=np.int64)),
                ids=np.arange(len(rows), dtype=np.int64),
                index_dtype=np.int64,
            )
        )


def add_invalid_times(nwb: Any, invalid: pd.DataFrame) -> None:
    """Add ``/intervals/invalid_times`` (three tags per row) when there are any."""
    from hdmf.common import VectorData, VectorIndex
    from pynwb.epoch import TimeIntervals

    if invalid.empty:
        return
    tags = VectorData(name="tags", description="user-defined tags",
                      data=[t for row in invalid["tags"] for t in row])  # fmt: skip
    ends = np.cumsum([len(row) for row in invalid["tags"]])
    columns = [
        VectorData(name=c, description=DESCRIPTIONS[c], data=invalid[c].to_numpy(dtype=float))
        for c in ("start_time", "stop_time")
    ]
    columns += [tags, VectorIndex(name="tags_index", data=index_data(ends, np.int64), target=tags)]
    nwb.invalid_times = TimeIntervals(name="invalid_times", description="experimental intervals",
                                      columns=columns, id=np.arange(len(invalid)))  # fmt: skip


def add_running(nwb: Any, sim: VcnSimulation) -> None:
    """Add the running speed per frame interval, the wheel rotation and the raw signals."""
    from pynwb import TimeSeries

    run = sim.running
    rotation = quantized(np.deg2rad(run.dx), ANGLE_STEP)
    module = nwb.create_processing_module("running", "running speed data")
    speed = TimeSeries(name="running_speed", data=compressed(run.speed[:-1]),
                       timestamps=compressed(run.timestamps[:-1]), unit="cm/s")  # fmt: skip
    module.add(speed)
    module.add(TimeSeries(name="running_speed_end_times",
                          data=compressed(np.full(len(run.speed) - 1, np.nan)),
                          timestamps=compressed(run.timestamps[1:]), unit="cm/s"))  # fmt: skip
    module.add(TimeSeries(name="running_wheel_rotation", data=compressed(rotation[1:]),
                          timestamps=speed, unit="radians"))  # fmt: skip
    raw = TimeSeries(name="raw_running_wheel_rotation", data=compressed(rotation),
                     timestamps=compressed(run.timestamps), unit="radians")  # fmt: skip
    nwb.add_acquisition(raw)
    nwb.add_acquisition(
        TimeSeries(
            name="running_wheel_signal_voltage",
            data=compressed(run.v_sig),
            timestamps=raw,
            unit="V",
        )
    )
    supply = compressed(run.v_in)
    nwb.add_acquisition(TimeSeries(name="running_wheel_supply_voltage", data=supply,
                                   timestamps=raw, unit="V"))  # fmt: skip


def add_eye(nwb: Any, eye: pd.DataFrame | None, equipment: str) -> None:
    """Add the ellipse fits and gaze mapping (when the session has eye data) and rig geometry."""
    add_rig_geometry(nwb, equipment)
    if eye is None:
        return
    from hdmf.common import DynamicTable, VectorData

    module = nwb.create_processing_module("eye_tracking", "Eye tracking processing module")
    for prefix in ("pupil", "cr", "eye"):
        values = {
            "center_x": eye[f"{prefix}_center_x"], "center_y": eye[f"{prefix}_center_y"],
            "height": eye[f"{prefix}_height"] / 2, "phi": eye[f"{prefix}_phi"],
            "width": eye[f"{prefix}_width"] / 2, "timestamps": eye["timestamps"],
        }  # fmt: skip
        columns = [VectorData(name=k, description="no description",
                              data=compressed(np.asarray(v, dtype=float)))
                   for k, v in values.items()]  # fmt: skip
        module.add(DynamicTable(name=f"{prefix}_ellipse_fits", description="", columns=columns,
                                id=np.arange(len(eye), dtype=np.int64)))  # fmt: skip
    gaze = gaze_mapping(eye)
    for kind, description in (("raw", "raw outputs"), ("filtered", "filtered outputs")):
        mapping = nwb.create_processing_module(
            f"{kind}_gaze_mapping", f"Gaze mapping processing module {description}"
        )
        _add_gaze_series(mapping, gaze[kind], eye["timestamps"].to_numpy())


def gaze_mapping(eye: pd.DataFrame) -> dict[str, dict[str, np.ndarray]]:
    """Return raw and filtered areas (px^2) and screen positions (cm, deg; columns y, x)."""
    dx = (eye["pupil_center_x"] - eye["pupil_center_x"].median()) / PIXELS_PER_DEGREE
    dy = -(eye["pupil_center_y"] - eye["pupil_center_y"].median()) / PIXELS_PER_DEGREE
    degrees = np.column_stack([dy, dx])
    raw = {
        "eye_area": np.pi * eye["eye_width"].to_numpy() * eye["eye_height"].to_numpy() / 4,
        "pupil_area": np.pi * eye["pupil_width"].to_numpy() * eye["pupil_height"].to_numpy() / 4,
        "screen_coordinates": SCREEN_DISTANCE_CM * np.tan(np.deg2rad(degrees)),
        "screen_coordinates_spherical": degrees,
    }
    outlier = np.abs(dx - np.nanmedian(dx)) > 4 * np.nanstd(dx)
    bad = eye["likely_blink"].to_numpy() | outlier.to_numpy()
    filtered = {
        k: np.where(bad if v.ndim == 1 else bad[:, None], np.nan, v) for k, v in raw.items()
    }
    return {"raw": raw, "filtered": filtered}


def _add_gaze_series(module: Any, values: dict[str, np.ndarray], timestamps: np.ndarray) -> None:
    """Add the four gaze-mapping TimeSeries of one module."""
    from pynwb import TimeSeries

    units = {"pupil_area": "Pixels ^ 2", "eye_area": "Pixels ^ 2",
             "screen_coordinates": "Centimeters",
             "screen_coordinates_spherical": "Degrees"}  # fmt: skip
    for name in ("pupil_area", "eye_area", "screen_coordinates", "screen_coordinates_spherical"):
        data = quantized(values[name], 2.0**-10)
        module.add(TimeSeries(name=name, data=compressed(data),
                              timestamps=compressed(timestamps), unit=units[name]))  # fmt: skip


def add_session_parts(nwb: Any, sim: VcnSimulation) -> None:
    """Add stimuli, invalid times, optotagging, running and eye data to ``nwb``."""
    add_stimuli(nwb, sim)
    add_invalid_times(nwb, sim.invalid_times)
    add_optotagging(nwb, sim.optotagging, index_dtype=np.int64)
    add_running(nwb, sim)
    add_eye(nwb, sim.eye, f"NP.{sim.plan.seed % 3 + 1}")
