"""Simulate one VBN ecephys session: stimuli, behaviour, probes, channels and units."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from brainobs.sample.anatomy import N_CHANNELS
from brainobs.sample.behavior import TaskSimulation, simulate_task
from brainobs.sample.behavior_session import stimulus_of, template_name_of
from brainobs.sample.plans import IMAGE_SETS
from brainobs.sample.running_eye import Running, simulate_eye, simulate_running
from brainobs.sample.spikes import StimulusDrive
from brainobs.sample.task_tables import TaskTables, frame_times, task_tables
from brainobs.sample.units import UnitPopulation, place_units, quality_metrics, unit_population
from brainobs.vbn import sample_blocks as blocks
from brainobs.vbn.sample_anatomy import (
    label_out_of_brain,
    narrow_midbrain_waveforms,
    vbn_probe_channels,
)
from brainobs.vbn.sample_design import EcephysSessionPlan, SizeSpec

SYNC_START = 24.7


@dataclass
class EcephysSimulation:
    """Everything simulated for one ecephys session (before spikes and LFP are drawn)."""

    plan: EcephysSessionPlan
    sim: TaskSimulation
    frame_times: np.ndarray
    tables: TaskTables
    presentations: pd.DataFrame
    optotagging: pd.DataFrame
    running: Running
    eye: pd.DataFrame
    channels: pd.DataFrame
    population: UnitPopulation
    drive: StimulusDrive
    novel_images: frozenset[str]
    stimulus_name: str
    template_name: str


def novel_images_of(session_type: str) -> frozenset[str]:
    """Return the images never seen in training (set H minus the images shared with G)."""
    if "_images_H_" not in session_type:
        return frozenset()
    return frozenset(IMAGE_SETS["H"]) - frozenset(IMAGE_SETS["G"])


def simulate_ecephys(plan: EcephysSessionPlan, size: SizeSpec) -> EcephysSimulation:
    """Return the simulated session of ``plan`` at ``size``."""
    rng = np.random.default_rng([plan.behavior.seed, 23])
    session_type = plan.behavior.session_type
    stimulus, images = stimulus_of(session_type)
    novel = novel_images_of(session_type)
    sim = simulate_task(rng, images, size.active_flashes, plan.behavior.dprime, omissions=True)
    schedule = blocks.plan_blocks(sim, size.gabor_repeats, size.n_full_field_flashes,
                                  size.gray_seconds)  # fmt: skip
    times = frame_times(rng, schedule.n_frames + 1, SYNC_START + rng.uniform(0, 5))
    tables = task_tables(sim, times, 0, blocks.DISPLAY_DELAY, session_type=session_type,
                         stimulus_name=stimulus, novel_images=novel, ecephys=True)  # fmt: skip
    presentations = _all_blocks(rng, tables.presentations, schedule, size, times)
    opto = blocks.optotagging_table(rng, float(times[-1]) + 5.0, size.opto_repeats)
    running = simulate_running(rng, times)
    t_stop = float(opto["stop_time"].iloc[-1]) + 5.0
    eye = simulate_eye(rng, float(times[0]) - 5.0, t_stop, running)
    channels, population = session_units(rng, plan, images, size.mean_rate_scale)
    drive = _drive(presentations, images, opto, running, (float(times[0]) - 10.0, t_stop))
    return EcephysSimulation(
        plan, sim, times, tables, presentations, opto, running, eye, channels, population,
        drive, novel, stimulus, template_name_of(stimulus),
    )  # fmt: skip


def _all_blocks(
    rng: np.random.Generator,
    active: pd.DataFrame,
    schedule: blocks.SessionSchedule,
    size: SizeSpec,
    times: np.ndarray,
) -> pd.DataFrame:
    """Return the presentations of all six blocks, sorted by start time."""
    bounds = schedule.block_frames
    parts = [
        active,
        blocks.spontaneous_row(1, bounds[1], times),
        blocks.gabor_rows(rng, bounds[2][0], size.gabor_repeats, times),
        blocks.spontaneous_row(3, bounds[3], times),
        blocks.flash_rows(rng, bounds[4][0], size.n_full_field_flashes, times),
        blocks.passive_replay(active, bounds[5][0], times),
    ]
    table = pd.concat(parts, ignore_index=True)
    table = table.sort_values("start_time", kind="stable").reset_index(drop=True)
    table["stimulus_index"] = table["stimulus_index"].fillna(-99).astype(np.int64)
    return table


def session_units(
    rng: np.random.Generator, plan: EcephysSessionPlan, images: list[str], rate_scale: float
) -> tuple[pd.DataFrame, UnitPopulation]:
    """Return the channels of the session's probes and its unit population (with metrics).

    Units sit on valid sites inside the brain; the sites above it are then labelled ``root``.
    """
    channel_tables, unit_tables = [], []
    for k, (name, probe_id) in enumerate(plan.probe_ids.items()):
        first_channel = plan.first_channel_id + k * N_CHANNELS
        channels = vbn_probe_channels(rng, name, probe_id, first_channel)
        units = place_units(rng, channels, plan.unit_counts[name], plan.unit_id_start(name))
        channel_tables.append(label_out_of_brain(channels).assign(probe_name=name))
        unit_tables.append(units.assign(probe_name=name))
    units = pd.concat(unit_tables, ignore_index=True)
    population = unit_population(rng, units, images, plan.behavior.mouse.cre_line, rate_scale)
    population.table = narrow_midbrain_waveforms(rng, quality_metrics(rng, population.table))
    return pd.concat(channel_tables, ignore_index=True), population


def _drive(
    presentations: pd.DataFrame,
    images: list[str],
    opto: pd.DataFrame,
    running: Running,
    span: tuple[float, float],
) -> StimulusDrive:
    """Return the stimulus drive of the units."""
    is_image = presentations["image_name"].notna()
    shown = presentations[is_image]
    lookup = {name: i for i, name in enumerate(images)}
    index = shown["image_name"].map(lambda n: lookup.get(n, -1)).to_numpy(dtype=np.int64)
    gabors = presentations[presentations["stimulus_name"] == blocks.GABOR_NAME]
    flashes = presentations[presentations["stimulus_name"] == blocks.FLASH_NAME]
    return StimulusDrive(
        span[0], span[1], shown["start_time"].to_numpy(), index,
        shown["is_change"].to_numpy(dtype=bool), shown["is_image_novel"].to_numpy(dtype=bool),
        shown["active"].to_numpy(dtype=bool), gabors, flashes, opto,
        running.timestamps, running.speed,
    )  # fmt: skip
