"""Tables of a simulated change-detection block: presentations, trials, licks, rewards."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from brainobs.sample.behavior import (
    FLASH_FRAMES,
    ON_FRAMES,
    TaskSimulation,
    TrialEvents,
    flashes_since_change,
)
from brainobs.sample.quantize import CLOCK_STEP, quantized

AUTO_REWARD_VOLUME = 0.005


@dataclass
class TaskTables:
    """The behaviour tables of one session, on one clock."""

    presentations: pd.DataFrame
    trials: pd.DataFrame
    licks: pd.DataFrame
    rewards: pd.DataFrame


def frame_times(rng: np.random.Generator, n_frames: int, start: float) -> np.ndarray:
    """Return ``n_frames`` display frame times (s) at ~60 Hz with jitter, on the sync clock."""
    intervals = rng.normal(1 / 60, 4e-5, n_frames)
    return quantized(start + np.concatenate([[0.0], np.cumsum(intervals[:-1])]), CLOCK_STEP)


def reward_volume(session_type: str) -> float:
    """Return the earned-reward volume (mL) encoded in a session type like ``..._5uL_reward``."""
    match = re.search(r"_(\d+)uL_reward", session_type)
    volume = int(match.group(1)) if match else 5
    return (volume or 5) / 1000.0


def task_tables(
    sim: TaskSimulation,
    times: np.ndarray,
    frame_offset: int,
    delay: float,
    *,
    session_type: str,
    stimulus_name: str,
    novel_images: frozenset[str] = frozenset(),
    ecephys: bool = False,
) -> TaskTables:
    """Return the tables of ``sim`` whose frame 0 is ``frame_offset`` of ``times``."""
    trials = _trials(sim, times, frame_offset, delay, session_type, ecephys)
    presentations = _presentations(sim, times, frame_offset, delay, stimulus_name, novel_images)
    rewarded = trials["hit"].to_numpy() | trials["auto_rewarded"].to_numpy()
    change_rows = presentations["is_change"].to_numpy()
    trial_ids = presentations["trials_id"].to_numpy()
    presentations["rewarded"] = change_rows & np.isin(trial_ids, np.flatnonzero(rewarded))
    licks, rewards = _licks_and_rewards(sim, times, frame_offset, session_type)
    return TaskTables(presentations, trials, licks, rewards)


def _presentations(
    sim: TaskSimulation,
    times: np.ndarray,
    offset: int,
    delay: float,
    stimulus_name: str,
    novel: frozenset[str],
) -> pd.DataFrame:
    """Return one row per flash (or per static grating epoch) of the block."""
    flash = np.arange(sim.n_flashes)
    start = offset + flash * FLASH_FRAMES
    end = start + ON_FRAMES
    if not sim.flashed:
        epoch_starts = np.flatnonzero(np.r_[True, sim.is_change[1:]])
        flash = epoch_starts
        start = offset + epoch_starts * FLASH_FRAMES
        end = np.r_[start[1:], offset + sim.n_frames - 1]
    names = np.array(sim.images, dtype=object)[sim.image_of_flash[flash]]
    names = np.where(sim.omitted[flash], "omitted", names)
    index = sim.image_of_flash[flash].copy()
    index[sim.omitted[flash]] = len(sim.images)
    start_time = times[start] + delay
    stop_time = np.where(sim.omitted[flash], start_time + 0.25, times[end] + delay)
    return pd.DataFrame(
        {
            "stimulus_block": np.zeros(len(flash), dtype=np.int64),
            "stimulus_name": stimulus_name,
            "image_name": names.astype(object),
            "image_index": index.astype(np.int64),
            "duration": stop_time - start_time,
            "start_time": start_time,
            "stop_time": stop_time,
            "start_frame": start.astype(np.int64),
            "end_frame": end.astype(np.int64),
            "is_change": sim.is_change[flash],
            "is_sham_change": sim.is_sham_change[flash],
            "is_image_novel": np.isin(names, list(novel)),
            "omitted": sim.omitted[flash],
            "flashes_since_change": flashes_since_change(sim.is_change)[flash],
            "trials_id": sim.trial_of_flash[flash],
            "active": np.ones(len(flash), dtype=bool),
        }
    )


def _trials(
    sim: TaskSimulation,
    times: np.ndarray,
    offset: int,
    delay: float,
    session_type: str,
    ecephys: bool,
) -> pd.DataFrame:
    """Return the trials table (reference column order) of the block."""
    rows = [_trial_row(sim, t, times, offset, delay) for t in sim.trials]
    table = pd.DataFrame(rows)
    volume = reward_volume(session_type)
    table["reward_volume"] = np.where(
        table.pop("_auto_reward"), AUTO_REWARD_VOLUME, np.where(table["hit"], volume, 0.0)
    )
    if ecephys:
        table = table.rename(columns={"change_time": "change_time_no_display_delay"})
        table["change_time_no_display_delay"] -= delay
        table = table.drop(columns=["response_latency"])
    return table


def _trial_row(
    sim: TaskSimulation, trial: TrialEvents, times: np.ndarray, offset: int, delay: float
) -> dict[str, Any]:
    """Return the trials-table fields of one trial."""
    last_frame = min(trial.end_flash * FLASH_FRAMES, sim.n_frames) - 1
    start, stop = times[offset + trial.start_flash * FLASH_FRAMES], times[offset + last_frame]
    cf = trial.change_flash
    aborted = trial.kind == "aborted"
    change_frame = -99 if cf is None or cf >= sim.n_flashes else offset + cf * FLASH_FRAMES
    change_time = times[change_frame] + delay if change_frame >= 0 else np.nan
    licks = times[offset + np.asarray(trial.lick_frames, dtype=np.int64)]
    initial = sim.images[sim.image_of_flash[max(trial.start_flash - 1, 0)]]
    changed_to = sim.images[sim.image_of_flash[cf]] if change_frame >= 0 else initial
    go, catch, auto = trial.kind == "go", trial.kind == "catch", trial.kind == "auto"
    latency = (licks[0] - change_time if len(licks) else np.inf) if change_frame >= 0 else np.nan
    reward = trial.reward_frame
    return {
        "start_time": start, "stop_time": stop,
        "initial_image_name": initial, "change_image_name": changed_to,
        "is_change": go or auto, "change_time": change_time, "go": go, "catch": catch,
        "lick_times": licks, "response_time": licks[0] if len(licks) and not aborted else np.nan,
        "response_latency": latency if not aborted else np.nan,
        "reward_time": times[offset + reward] if reward is not None else np.nan,
        "_auto_reward": auto, "reward_volume": 0.0,
        "hit": go and trial.licked, "false_alarm": catch and trial.licked,
        "miss": go and not trial.licked, "correct_reject": catch and not trial.licked,
        "aborted": aborted, "auto_rewarded": auto, "change_frame": change_frame,
        "trial_length": stop - start,
    }  # fmt: skip


def _licks_and_rewards(
    sim: TaskSimulation, times: np.ndarray, offset: int, session_type: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the licks (frame, timestamps) and rewards tables of the block."""
    frames = np.array([f for t in sim.trials for f in t.lick_frames], dtype=np.int64) + offset
    frames = np.unique(frames[frames < offset + sim.n_frames])
    licks = pd.DataFrame({"timestamps": times[frames], "frame": frames})
    rewarded = [t for t in sim.trials if t.reward_frame is not None]
    volume = reward_volume(session_type)
    rewards = pd.DataFrame(
        {
            "volume": [AUTO_REWARD_VOLUME if t.kind == "auto" else volume for t in rewarded],
            "timestamps": [times[offset + int(t.reward_frame or 0)] for t in rewarded],
            "auto_rewarded": [t.kind == "auto" for t in rewarded],
        }
    )
    return licks, rewards
