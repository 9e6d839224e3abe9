"""Simulate and write one behavior-only session (``behavior_session_<id>.nwb``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from brainobs.sample.behavior import FLASH_FRAMES, TaskSimulation, simulate_task
from brainobs.sample.nwb_behavior import (
    BehaviorContent,
    add_behavior,
    experiment_description,
    new_nwbfile,
    template_images,
)
from brainobs.sample.nwbio import deterministic_object_ids, write_nwb
from brainobs.sample.plans import (
    IMAGE_SET_STIMULUS,
    IMAGE_SET_TEMPLATE,
    IMAGE_SETS,
    BehaviorSessionPlan,
)
from brainobs.sample.running_eye import simulate_running
from brainobs.sample.task_tables import TaskTables, frame_times, reward_volume, task_tables

BEHAVIOR_DISPLAY_DELAY = 0.02115
TEMPLATE_SHAPE = (60, 96)
GRATING_ORIENTATIONS = ("gratings_0.0", "gratings_90.0")


def stimulus_of(session_type: str) -> tuple[str, list[str]]:
    """Return (stimulus name, image names) of a session type."""
    if "gratings" in session_type:
        return "grating", list(GRATING_ORIENTATIONS)
    letter = session_type.split("_images_")[1][0]
    return IMAGE_SET_STIMULUS[letter], list(IMAGE_SETS[letter])


def template_name_of(stimulus_name: str) -> str:
    """Return the template name (image-set file stem) of a stimulus name."""
    if stimulus_name == "grating":
        return "grating"
    letter = next(k for k, name in IMAGE_SET_STIMULUS.items() if name == stimulus_name)
    return IMAGE_SET_TEMPLATE[letter]


def task_parameters(
    plan: BehaviorSessionPlan, sim: TaskSimulation, omitted: float
) -> dict[str, Any]:
    """Return the BehaviorTaskParameters attributes of a session."""
    stimulus, _ = stimulus_of(plan.session_type)
    return {
        "auto_reward_volume": 0.005,
        "blank_duration_sec": ["0.5", "0.5"],
        "response_window_sec": ["0.15", "0.75"],
        "n_stimulus_frames": int(sim.n_flashes * 15 if sim.flashed else sim.n_frames),
        "task": "change detection",
        "session_type": plan.session_type,
        "omitted_flash_fraction": omitted,
        "stimulus_distribution": "geometric",
        "stimulus_duration_sec": 0.25 if sim.flashed else float("nan"),
        "reward_volume": reward_volume(plan.session_type),
        "stimulus": "grating" if stimulus == "grating" else "images",
        "stimulus_name": stimulus,
    }


def simulate_behavior_only(plan: BehaviorSessionPlan, minutes: float) -> BehaviorContent:
    """Return the simulated content of one behavior-only session."""
    rng = np.random.default_rng([plan.seed, 11])
    stimulus, images = stimulus_of(plan.session_type)
    n_flashes = int(minutes * 60 / 0.75)
    sim = simulate_task(
        rng, images, n_flashes, plan.dprime,
        all_auto_rewarded=plan.session_type.startswith("TRAINING_0"),
        flashed="TRAINING_0" not in plan.session_type and "TRAINING_1" not in plan.session_type,
    )  # fmt: skip
    times = frame_times(rng, sim.n_frames + 20 * FLASH_FRAMES, 0.0)
    tables: TaskTables = task_tables(
        sim, times, 0, BEHAVIOR_DISPLAY_DELAY, session_type=plan.session_type,
        stimulus_name=stimulus,
    )  # fmt: skip
    tables.presentations = tables.presentations.drop(columns=["rewarded"])
    tables.presentations["image_set"] = template_name_of(stimulus)
    if stimulus == "grating":
        _grating_columns(tables)
    running = simulate_running(rng, times)
    warped = template_images(rng, len(images), TEMPLATE_SHAPE)
    return BehaviorContent(
        plan, times, tables, running, template_name_of(stimulus), images, warped,
        task_parameters(plan, sim, float("nan")),
        float(times[min(sim.engaged_until_flash * FLASH_FRAMES, len(times) - 1)]),
    )  # fmt: skip


def _grating_columns(tables: TaskTables) -> None:
    """Add orientation, phase and spatial frequency to grating presentations."""
    names = tables.presentations["image_name"]
    tables.presentations["orientation"] = names.str.replace("gratings_", "").astype(float)
    tables.presentations["phase"] = 0.0
    tables.presentations["spatial_frequency"] = 0.04


def write_behavior_only(plan: BehaviorSessionPlan, minutes: float, path: Path) -> BehaviorContent:
    """Simulate one behavior-only session and write its NWB file to ``path``."""
    content = simulate_behavior_only(plan, minutes)
    with deterministic_object_ids(plan.seed):
        description = experiment_description(plan.session_type)
        nwb = new_nwbfile(plan, str(plan.behavior_session_id), description)
        add_behavior(nwb, content, content.tables.presentations)
        write_nwb(nwb, path)
    return content
