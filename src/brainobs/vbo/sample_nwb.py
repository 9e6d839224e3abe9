"""Write one imaging plane's file: ``behavior_ophys_experiment_<id>.nwb``.

Paths written beside the behaviour part (:mod:`brainobs.sample.nwb_behavior`) and the eye
tracking (``/acquisition/EyeTracking``, ``/processing/eye_tracking_rig_metadata``):
``/general/optophysiology/imaging_plane_1`` and, in ``/processing/ophys``: ``images``
(``max_projection``, ``average_image``, ``segmentation_mask_image``),
``image_segmentation/cell_specimen_table``, ``dff/traces``, ``corrected_fluorescence/{traces,
r,RMSE}``, ``demixed_trace/traces``, ``neuropil_trace/traces``, ``event_detection`` and
``ophys_motion_correction_{x,y}``. Trace matrices are time x ROI; the ROIs are the rows of the
cell specimen table in ``cell_roi_id`` order, every one valid (the release writes valid ROIs
only). The traces are written empty and filled a batch of cells at a time once pynwb has
written the file (:mod:`brainobs.vbo.sample_traces`), so memory stays bounded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.ndimage import gaussian_filter

from brainobs.sample.nwb_behavior import BehaviorContent, add_behavior, new_nwbfile
from brainobs.sample.nwb_ecephys import add_eye_tracking
from brainobs.sample.nwbext import OPHYS_FILE_NAMESPACES, extension_class
from brainobs.sample.nwbio import compressed, deterministic_object_ids, write_nwb
from brainobs.vbo.sample_cells import mask_image_planes, roi_masks
from brainobs.vbo.sample_design import FOV_SHAPE, PIXEL_SIZE_UM, ExperimentPlan
from brainobs.vbo.sample_session import OphysSessionSimulation
from brainobs.vbo.sample_traces import (
    PlaneStimulus,
    TraceBatch,
    iter_batches,
    motion_correction,
)

EXCITATION_LAMBDA = 910.0
EMISSION_LAMBDA = 520.0
TRACE_NAMES = ("dff", "corrected_fluorescence", "demixed_trace", "neuropil_trace")
#: Cells per chunk of the compressed trace matrices: a reader wanting one cell's trace
#: decompresses the chunks of 8 cells, not those of every cell.
CHUNK_CELLS = 8
#: Eye-tracking rig geometry of the imaging rigs (mm, deg).
RIG_GEOMETRY = {
    "monitor_position": ([170.0, 0.0, 0.0], "mm"),
    "camera_position": ([130.0, 0.0, 0.0], "mm"),
    "led_position": ([265.1, -39.3, 1.0], "mm"),
    "monitor_rotation": ([0.0, 0.0, 0.0], "deg"),
    "camera_rotation": ([0.0, 0.0, 13.1], "deg"),
}
EXPERIMENT_DESCRIPTION = (
    "A two-photon calcium imaging session of the change-detection task: 5 minutes of gray "
    "screen, the task with 8 natural images flashed for 250 ms with 500 ms of gray between "
    "them (5% of flashes omitted), 5 minutes of gray screen, then 10 repeats of a 30 s natural "
    "movie."
)


@dataclass
class PlaneData:
    """What one experiment's file holds besides the session's behaviour."""

    experiment: ExperimentPlan
    cells: pd.DataFrame  # detected cells, in cell_roi_id order, with their truth
    tuning: np.ndarray  # cell x image of the session's image set
    stimulus: PlaneStimulus
    targeted_depth: int
    contiguous: bool


def write_experiment(session: OphysSessionSimulation, plane: PlaneData, path: Path) -> None:
    """Write the imaging file of ``plane`` (with the session's behaviour) to ``path``."""
    experiment = plane.experiment
    timestamps = session.plane_timestamps(experiment.plane.group)
    seed = experiment.ophys_experiment_id
    with deterministic_object_ids(seed):
        nwb = new_nwbfile(session.plan.behavior, str(seed), EXPERIMENT_DESCRIPTION,
                          _ophys_metadata(session, plane))  # fmt: skip
        add_behavior(nwb, _behavior_content(session), session.tables.presentations)
        add_eye_tracking(nwb, session.eye, session.plan.behavior.equipment_name,
                         _rig_metadata(session.plan.behavior.equipment_name))  # fmt: skip
        placeholders = _add_ophys(nwb, session, plane, timestamps)
        batches = iter_batches(plane.cells, plane.tuning, plane.stimulus, timestamps, seed)
        write_nwb(nwb, path, fill=lambda: _fill(placeholders, batches),
                  namespaces=OPHYS_FILE_NAMESPACES)  # fmt: skip


def _behavior_content(session: OphysSessionSimulation) -> BehaviorContent:
    """Return the behaviour part of the session's files."""
    from brainobs.sample.nwb_behavior import template_images

    rng = np.random.default_rng([session.plan.behavior.seed, 37])
    return BehaviorContent(
        session.plan.behavior, session.frame_times, session.tables, session.running,
        session.template_name, session.images, template_images(rng, len(session.images), (60, 96)),
        session.task_parameters,
    )  # fmt: skip


def _ophys_metadata(session: OphysSessionSimulation, plane: PlaneData) -> Any:
    """Return the OphysBehaviorMetadata lab-meta-data group of an experiment."""
    from brainobs.sample.nwb_behavior import session_uuid

    behavior, project = session.plan.behavior, session.plan.project
    experiment = plane.experiment
    return extension_class("OphysBehaviorMetadata")(
        name="metadata", ophys_session_id=session.plan.ophys_session_id,
        field_of_view_width=FOV_SHAPE[1], field_of_view_height=FOV_SHAPE[0],
        imaging_plane_group=experiment.plane.group,
        imaging_plane_group_count=project.group_count if project.is_multiplane else 0,
        stimulus_frame_rate=60.0, ophys_container_id=experiment.container.ophys_container_id,
        ophys_experiment_id=experiment.ophys_experiment_id, session_type=behavior.session_type,
        equipment_name=behavior.equipment_name, imaging_depth=experiment.imaging_depth,
        targeted_imaging_depth=plane.targeted_depth, behavior_session_uuid=session_uuid(behavior),
        behavior_session_id=behavior.behavior_session_id, project_code=project.code,
    )  # fmt: skip


def _rig_metadata(equipment: str) -> Any:
    """Return the OphysEyeTrackingRigMetadata of an imaging rig."""
    kwargs: dict[str, Any] = {"name": "eye_tracking_rig_metadata", "equipment": equipment}
    for key, (values, unit) in RIG_GEOMETRY.items():
        kwargs[key] = np.asarray(values, dtype=float)
        kwargs[f"{key}__unit_of_measurement"] = unit
    return extension_class("OphysEyeTrackingRigMetadata")(**kwargs)


def _add_ophys(
    nwb: Any, session: OphysSessionSimulation, plane: PlaneData, timestamps: np.ndarray
) -> dict[str, Any]:
    """Add the imaging plane and the ophys module; return the trace placeholders to fill."""
    from pynwb.ophys import ImageSegmentation, OpticalChannel

    experiment, cells = plane.experiment, plane.cells
    rate = float(round(1.0 / float(np.mean(np.diff(timestamps)))))
    channel = OpticalChannel(name="channel_1", description="2P Optical Channel",
                             emission_lambda=EMISSION_LAMBDA)  # fmt: skip
    imaging_plane = nwb.create_imaging_plane(
        name="imaging_plane_1", optical_channel=channel,
        description=f"{FOV_SHAPE[::-1]} field of view in {experiment.plane.structure} at "
        f"depth {experiment.imaging_depth} um",
        device=nwb.devices[session.plan.behavior.equipment_name],
        excitation_lambda=EXCITATION_LAMBDA, imaging_rate=rate,
        indicator=_indicator(session),
        location=experiment.plane.structure,
    )  # fmt: skip
    module = nwb.create_processing_module("ophys", "Ophys processing module")
    masks, boxes = roi_masks(cells)
    motion = motion_correction(np.random.default_rng([experiment.ophys_experiment_id, 7]),
                               len(timestamps))  # fmt: skip
    module.add(_images(cells, masks, plane.contiguous))
    segmentation = ImageSegmentation(name="image_segmentation")
    module.add(segmentation)
    table = _cell_specimen_table(cells, masks, boxes, motion, imaging_plane, plane.contiguous)
    segmentation.add_plane_segmentation(table)
    placeholders = _add_traces(module, table, timestamps, cells, plane.contiguous)
    _add_motion(module, motion, placeholders["dff_series"], plane.contiguous)
    return placeholders


def _indicator(session: OphysSessionSimulation) -> str:
    """Return the calcium indicator named by the mouse's reporter line."""
    reporter = session.plan.behavior.mouse.reporter_line or ""
    return "GCaMP6s" if "GCaMP6s" in reporter else "GCaMP6f"


def _images(cells: pd.DataFrame, masks: np.ndarray, contiguous: bool) -> Any:
    """Return the ``images`` group: max and average projections and the segmentation image."""
    from pynwb.base import Images
    from pynwb.image import GrayscaleImage

    rng = np.random.default_rng([int(cells["cell_specimen_id"].iloc[0]), 11])
    background = 40.0 + 25.0 * gaussian_filter(rng.normal(0, 1, FOV_SHAPE), 24) * 24
    cell_image = np.zeros(FOV_SHAPE)
    for weight, mask in zip(cells["brightness"].to_numpy(), masks, strict=True):
        cell_image[mask] += weight  # one ROI at a time: masks stay boolean
    cell_image = gaussian_filter(cell_image, 1.0)
    average = background + 45.0 * cell_image + rng.normal(0, 3, FOV_SHAPE)
    maximum = average + 90.0 * cell_image * rng.uniform(0.6, 1.0) + rng.normal(0, 6, FOV_SHAPE)
    resolution = PIXEL_SIZE_UM / 1000.0 / 10.0
    images = Images(name="images")
    for name, data in (
        ("max_projection", np.clip(maximum, 0, 255).astype(np.uint8)),
        ("average_image", np.clip(average, 0, 255).astype(np.uint8)),
        ("segmentation_mask_image", masks.sum(axis=0).astype(np.int64)),
    ):
        description = f"{name} image at pixels/cm resolution"
        stored = data if contiguous else compressed(data)
        images.add_image(GrayscaleImage(name=name, data=stored, resolution=resolution,
                                        description=description))  # fmt: skip
    return images


def _cell_specimen_table(
    cells: pd.DataFrame,
    masks: np.ndarray,
    boxes: pd.DataFrame,
    motion: np.ndarray,
    imaging_plane: Any,
    contiguous: bool,
) -> Any:
    """Return the PlaneSegmentation ``cell_specimen_table`` (one row per ROI)."""
    from hdmf.common import VectorData
    from pynwb.ophys import PlaneSegmentation

    n = len(cells)
    corrections = {
        "max_correction_down": max(float(motion[:, 1].max()), 0.0),
        "max_correction_left": max(float(-motion[:, 0].min()), 0.0),
        "max_correction_right": max(float(motion[:, 0].max()), 0.0),
        "max_correction_up": max(float(-motion[:, 1].min()), 0.0),
    }
    values: dict[str, np.ndarray] = {
        "cell_specimen_id": cells["cell_specimen_id"].to_numpy(dtype=np.int64),
        "height": boxes["height"].to_numpy(dtype=np.int64),
        "mask_image_plane": mask_image_planes(masks),
        **{k: np.full(n, v) for k, v in corrections.items()},
        "valid_roi": np.ones(n, dtype=bool),
        "width": boxes["width"].to_numpy(dtype=np.int64),
        "x": boxes["x"].to_numpy(dtype=np.int64),
        "y": boxes["y"].to_numpy(dtype=np.int64),
    }
    columns = [VectorData(name=k, description=COLUMN_DESCRIPTIONS[k], data=v)
               for k, v in values.items()]  # fmt: skip
    columns.append(VectorData(name="image_mask", description="Image masks for each ROI",
                              data=masks if contiguous else compressed(masks)))  # fmt: skip
    return PlaneSegmentation(
        name="cell_specimen_table", description="Segmented rois", imaging_plane=imaging_plane,
        id=cells["cell_roi_id"].to_numpy(dtype=np.int64), columns=columns,
    )  # fmt: skip


COLUMN_DESCRIPTIONS = {
    "cell_specimen_id": "Unified id of segmented cell across experiments (after cell matching)",
    "height": "Height of ROI in pixels",
    "mask_image_plane": "Which image plane an ROI resides on. Overlapping ROIs are stored on "
    "different mask image planes.",
    "max_correction_down": "Max motion correction in down direction in pixels",
    "max_correction_left": "Max motion correction in left direction in pixels",
    "max_correction_right": "Max motion correction in right direction in pixels",
    "max_correction_up": "Max motion correction in up direction in pixels",
    "valid_roi": "Indicates if cell classification found the ROI to be a cell or not",
    "width": "Width of ROI in pixels",
    "x": "x position of ROI in Image Plane in pixels (top left corner)",
    "y": "y position of ROI in Image Plane in pixels (top left corner)",
}


def _placeholder(shape: tuple[int, int], contiguous: bool, compress: bool) -> Any:
    """Return an empty float64 dataset of ``shape`` to be filled after writing."""
    from hdmf.backends.hdf5 import H5DataIO

    if contiguous and not compress:
        return H5DataIO(shape=shape, dtype=np.float64)
    chunks = (min(shape[0], 8192), min(shape[1], CHUNK_CELLS))
    return H5DataIO(shape=shape, dtype=np.float64, chunks=chunks, compression="gzip", shuffle=True)


def _add_traces(
    module: Any, table: Any, timestamps: np.ndarray, cells: pd.DataFrame, contiguous: bool
) -> dict[str, Any]:
    """Add dF/F, corrected, demixed and neuropil traces and events; return the placeholders."""
    from pynwb.ophys import DfOverF, Fluorescence

    n = len(cells)
    shape = (len(timestamps), n)
    rois = table.create_roi_table_region(
        description="segmented cells labeled by cell_specimen_id", region=list(range(n))
    )
    out: dict[str, Any] = {name: _placeholder(shape, contiguous, False) for name in TRACE_NAMES}
    dff = DfOverF(name="dff")
    module.add(dff)
    stamps = timestamps if contiguous else compressed(timestamps)
    series = dff.create_roi_response_series(name="traces", data=out["dff"], unit="NA", rois=rois,
                                            timestamps=stamps)  # fmt: skip
    out["dff_series"] = series
    for name in TRACE_NAMES[1:]:
        container = Fluorescence(name=name)
        module.add(container)
        container.create_roi_response_series(name="traces", data=out[name], unit="NA",
                                             rois=rois, timestamps=series)  # fmt: skip
        if name == "corrected_fluorescence":
            for key, column in (("r", "r"), ("RMSE", "rmse")):
                container.create_roi_response_series(
                    name=key, data=cells[column].to_numpy(dtype=float), unit="NA", rois=rois,
                    timestamps=np.arange(n, dtype=float),
                )  # fmt: skip
    out["events"] = _placeholder(shape, contiguous, True)
    event_rois = table.create_roi_table_region(description="Cells with detected events",
                                               region=list(range(n)))  # fmt: skip
    module.add(extension_class("OphysEventDetection")(
        data=out["events"], lambdas=cells["lambda"].to_numpy(dtype=float),
        noise_stds=cells["noise_std"].to_numpy(dtype=float), unit="N/A", rois=event_rois,
        timestamps=series,
    ))  # fmt: skip
    return out


def _add_motion(module: Any, motion: np.ndarray, dff_series: Any, contiguous: bool) -> None:
    """Add the rigid motion-correction offsets (pixels per frame)."""
    from pynwb import TimeSeries

    for k, axis in enumerate("xy"):
        data = motion[:, k] if contiguous else compressed(np.ascontiguousarray(motion[:, k]))
        module.add(TimeSeries(name=f"ophys_motion_correction_{axis}", data=data,
                              timestamps=dff_series, unit="pixels"))  # fmt: skip


def _fill(placeholders: dict[str, Any], batches: Any) -> None:
    """Write every batch of simulated traces into the empty trace datasets."""
    for batch in batches:
        _write_batch(placeholders, batch)


def _write_batch(placeholders: dict[str, Any], batch: TraceBatch) -> None:
    """Write one batch's columns of the five trace matrices."""
    columns = slice(batch.first, batch.first + batch.dff.shape[1])
    for name, values in (
        ("dff", batch.dff), ("corrected_fluorescence", batch.corrected),
        ("demixed_trace", batch.demixed), ("neuropil_trace", batch.neuropil),
        ("events", batch.events),
    ):  # fmt: skip
        placeholders[name].dataset[:, columns] = values
