"""The behaviour part of a Visual Behavior NWB file (behavior-only, ecephys and imaging files).

Paths written: ``/general/{metadata,task_parameters,subject,devices/<rig>}``,
``/acquisition/{v_sig,v_in}``, ``/processing/{stimulus,running,licking,rewards}``,
``/stimulus/templates/<set>``, ``/stimulus/presentation/<set>``,
``/intervals/<stimulus>_presentations`` and ``/intervals/trials``.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from brainobs.sample.nwb_tables import interval_table, presentation_tables
from brainobs.sample.nwbext import extension_class
from brainobs.sample.nwbio import compressed
from brainobs.sample.plans import BehaviorSessionPlan
from brainobs.sample.running_eye import Running
from brainobs.sample.task_tables import TaskTables

RIG_DESCRIPTION = "Allen Brain Observatory - Scientifica 2P Rig"
MESOSCOPE_RIG_DESCRIPTION = "Allen Brain Observatory - Mesoscope 2P Rig"
PROJECT_CODE = "NeuropixelVisualBehavior"
VBN_REPORTER = "Ai32(RCL-ChR2(H134R)_EYFP)"


@dataclass
class BehaviorContent:
    """Everything the behaviour part of a file holds."""

    plan: BehaviorSessionPlan
    frame_times: np.ndarray
    tables: TaskTables
    running: Running
    template_name: str
    template_images: list[str]
    templates: tuple[np.ndarray, np.ndarray]  # warped uint8, unwarped float
    task_parameters: dict[str, Any]
    engaged_until_time: float = float("nan")


def new_nwbfile(
    plan: BehaviorSessionPlan,
    identifier: str,
    description: str | None,
    lab_metadata: Any = None,
) -> Any:
    """Return an NWBFile with the session metadata, subject and rig of ``plan``.

    ``lab_metadata`` replaces the plan's BehaviorMetadata (an imaging file's
    OphysBehaviorMetadata).
    """
    from pynwb import NWBFile

    created = plan.date + timedelta(days=1200)
    nwb = NWBFile(
        session_description=plan.session_type,
        identifier=identifier,
        session_start_time=plan.date,
        file_create_date=[created],
        institution="Allen Institute for Brain Science",
        keywords=["visual", "behavior", "task"],
        experiment_description=description,
    )
    rig = MESOSCOPE_RIG_DESCRIPTION if plan.equipment_name.startswith("MESO") else RIG_DESCRIPTION
    nwb.create_device(name=plan.equipment_name, description=rig)
    nwb.subject = _subject(plan)
    nwb.add_lab_meta_data(_metadata(plan) if lab_metadata is None else lab_metadata)
    return nwb


def _subject(plan: BehaviorSessionPlan) -> Any:
    """Return the BehaviorSubject of the plan's mouse."""
    mouse = plan.mouse
    drivers = [mouse.cre_line] if mouse.cre_line else []
    reporter = mouse.reporter_line or (VBN_REPORTER if mouse.cre_line else "None")
    return extension_class("BehaviorSubject")(
        subject_id=str(mouse.mouse_id),
        age=f"P{plan.age_in_days}D",
        genotype=mouse.genotype,
        sex=mouse.sex,
        species="Mus musculus",
        driver_line=list(mouse.driver_lines) if mouse.driver_lines is not None else drivers,
        reporter_line=reporter,
        date_of_birth=mouse.date_of_birth,
    )


def session_uuid(plan: BehaviorSessionPlan) -> str:
    """Return the deterministic UUID text standing in for the training-database record."""
    digest = hashlib.blake2b(f"{plan.behavior_session_id}:{plan.seed}".encode(), digest_size=16)
    return str(uuid.UUID(bytes=digest.digest(), version=4))


def _metadata(plan: BehaviorSessionPlan) -> Any:
    """Return the BehaviorMetadata lab-meta-data group."""
    return extension_class("BehaviorMetadata")(
        name="metadata",
        behavior_session_id=plan.behavior_session_id,
        behavior_session_uuid=session_uuid(plan),
        stimulus_frame_rate=60.0,
        session_type=plan.session_type,
        equipment_name=plan.equipment_name,
        project_code=plan.project_code or PROJECT_CODE,
    )


def add_behavior(nwb: Any, content: BehaviorContent, presentations: pd.DataFrame) -> None:
    """Add task parameters, running, licks, rewards, stimuli and trials to ``nwb``."""
    from pynwb import TimeSeries

    parameters = extension_class("BehaviorTaskParameters")
    nwb.add_lab_meta_data(parameters(name="task_parameters", **content.task_parameters))
    stim = nwb.create_processing_module("stimulus", "Stimulus Times processing")
    frame_ts = TimeSeries(name="timestamps", data=compressed(content.frame_times), unit="s",
                          timestamps=compressed(content.frame_times))  # fmt: skip
    stim.add(frame_ts)
    _add_running(nwb, content.running)
    _add_licks_rewards(nwb, content.tables)
    _add_templates(nwb, content)
    for table in presentation_tables(presentations, frame_ts):
        nwb.add_time_intervals(table)
    trials = interval_table(
        "trials", "experimental trials", content.tables.trials,
        column_description="NOT IMPLEMENTED: <col>", ragged=("lick_times",),
    )  # fmt: skip
    nwb.trials = trials


def _add_running(nwb: Any, running: Running) -> None:
    """Add the encoder voltages and the running speed series."""
    from pynwb import TimeSeries

    module = nwb.create_processing_module("running", "Running speed processing module")
    speed = TimeSeries(
        name="speed",
        data=compressed(running.speed),
        unit="cm/s",
        timestamps=compressed(running.timestamps),
    )
    module.add(speed)
    t = speed  # the other series link to the speed timestamps
    nwb.add_acquisition(
        TimeSeries(
            name="v_sig",
            data=compressed(running.v_sig),
            timestamps=t,
            unit="V",
            description="Voltage signal from the running wheel encoder",
        )
    )
    v_in = TimeSeries(name="v_in", data=compressed(running.v_in), timestamps=t, unit="V",
                      description="The theoretical maximum voltage that the running wheel "
                      "encoder will reach prior to \"wrapping\".")  # fmt: skip
    nwb.add_acquisition(v_in)
    module.add(TimeSeries(name="speed_unfiltered", data=compressed(running.speed_unfiltered),
                          timestamps=t, unit="cm/s"))  # fmt: skip
    module.add(TimeSeries(name="dx", data=compressed(running.dx), timestamps=t, unit="cm",
                          description="Running wheel angular change, computed during data "
                          "collection"))  # fmt: skip


def _add_licks_rewards(nwb: Any, tables: TaskTables) -> None:
    """Add the licks and rewards modules (absent when there are none)."""
    from pynwb import TimeSeries

    if len(tables.licks):
        module = nwb.create_processing_module("licking", "Licking behavior processing module")
        module.add(TimeSeries(name="licks", data=tables.licks["frame"].to_numpy(),
                              timestamps=tables.licks["timestamps"].to_numpy(), unit="None",
                              description="Timestamps and stimulus presentation frame indices "
                              "for lick events"))  # fmt: skip
    if len(tables.rewards):
        module = nwb.create_processing_module("rewards", "Licking behavior processing module")
        t = tables.rewards["timestamps"].to_numpy()
        volume = TimeSeries(name="volume", data=tables.rewards["volume"].to_numpy(),
                            timestamps=t, unit="mL")  # fmt: skip
        module.add(volume)
        auto = tables.rewards["auto_rewarded"].to_numpy(dtype=bool)
        module.add(TimeSeries(name="autorewarded", timestamps=volume, unit="mL", data=auto))


def _add_templates(nwb: Any, content: BehaviorContent) -> None:
    """Add the stimulus template images (warped and unwarped).

    The released files also hold ``/stimulus/presentation/<set>``, an IndexSeries linking to the
    template through ``indexed_timeseries``; today's pynwb refuses to write that deprecated link,
    and no reader uses the series (the presentations tables hold the same information).
    """
    warped, unwarped = content.templates
    template = extension_class("StimulusTemplate")(
        name=content.template_name, data=warped, unwarped=compressed(unwarped),
        control=np.arange(len(content.template_images), dtype=np.uint8),
        control_description=list(content.template_images), unit="NA", format="raw",
        timestamps=np.full(len(content.template_images), np.nan),
    )  # fmt: skip
    nwb.add_stimulus_template(template)


def template_images(
    rng: np.random.Generator, n: int, shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Return (warped uint8, unwarped float with NaN outside the visible area) images.

    The unwarped images hold the 8-bit grey levels of the source images, as in the release.
    """
    h, w = shape
    fy, fx = np.meshgrid(np.fft.fftfreq(h), np.fft.rfftfreq(w), indexing="ij")
    radius = np.sqrt(fx**2 + fy**2) + 1.0 / max(h, w)
    images = []
    for _ in range(n):
        spectrum = (rng.normal(size=radius.shape) + 1j * rng.normal(size=radius.shape)) / radius
        image = np.fft.irfft2(spectrum, s=(h, w))
        images.append(127 + 50 * (image - image.mean()) / image.std())
    unwarped = np.round(np.clip(np.stack(images), 0, 255))  # 8-bit source images
    yy, xx = np.mgrid[0:h, 0:w]
    visible = ((yy - h / 2) / (0.48 * h)) ** 2 + ((xx - w / 2) / (0.49 * w)) ** 2 <= 1.4
    warped = np.where(visible, unwarped, 127).astype(np.uint8)
    return warped, np.where(visible, unwarped, np.nan)


def experiment_description(session_type: str) -> str | None:
    """Return the canned experiment description for a session type (None when none)."""
    if session_type.startswith("TRAINING_0"):
        return ("An associative training session where a mouse is automatically rewarded when "
                "a grating stimulus changes orientation.")  # fmt: skip
    if "gratings" in session_type:
        return ("An operant behavior training session where a mouse must lick following a "
                "change in stimulus identity to earn rewards.")  # fmt: skip
    if session_type.startswith("TRAINING"):
        return ("An operant behavior training session where a mouse must lick following a "
                "change in stimulus identity to earn rewards. Stimuli consist of 8 natural "
                "scene images. Images are shown for 250 ms with a 500 ms intervening gray "
                "period.")  # fmt: skip
    return None


def date_text(when: datetime) -> str:
    """Return a date as the metadata CSVs store it (``2020-08-19 14:47:08.574000+00:00``)."""
    return when.strftime("%Y-%m-%d %H:%M:%S.%f+00:00")
