"""The stimulus schedule of a VBN ecephys session.

Blocks, as in the released stimulus tables: 0 active change detection, 1 spontaneous (gray,
10 s), 2 receptive-field mapping gabors (9 x 9 grid, 3 orientations, 250 ms, back to back),
3 spontaneous (gray, ~289 s), 4 full-field flashes (250 ms, +/-1 contrast, every ~2.17 s),
5 passive replay of block 0, flash for flash (lick spout withdrawn). Optotagging follows the
visual stimuli and is stored separately.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from brainobs.sample.behavior import FLASH_FRAMES, TaskSimulation

GABOR_POSITIONS = np.arange(-40.0, 41.0, 10.0)
GABOR_ORIENTATIONS = (0.0, 45.0, 90.0)
GABOR_NAME = "gabor_20_deg_250ms"
FLASH_NAME = "flash_250ms"
OPTO_CONDITIONS = {
    "pulse": (0.01, "a single square pulse"),
    "raised_cosine": (1.0, "half-period of a cosine wave"),
}
OPTO_LEVELS = (1.0, 1.2, 1.35)
DISPLAY_DELAY = 0.02
#: Frames from one full-field flash to the next (~2.17 s, as in the released sessions).
FLASH_INTERVAL_FRAMES = 130


@dataclass
class SessionSchedule:
    """Frame counts of each block and the derived tables of one ecephys session."""

    block_frames: list[tuple[int, int]]
    n_frames: int
    spontaneous_frames: int


def plan_blocks(
    sim: TaskSimulation, gabor_repeats: int, n_flashes: int, gray_seconds: tuple[float, float]
) -> SessionSchedule:
    """Return the first and last+1 frame of each of the six blocks.

    The passive replay (block 5) is as long as the active block it replays.
    """
    grays = [round(seconds * 60) for seconds in gray_seconds]
    lengths = [
        sim.n_frames + 60,
        grays[0],
        len(GABOR_POSITIONS) ** 2 * len(GABOR_ORIENTATIONS) * gabor_repeats * 15 + 60,
        grays[1],
        n_flashes * FLASH_INTERVAL_FRAMES + 60,
        sim.n_frames + 60,
    ]
    bounds, start = [], 0
    for length in lengths:
        bounds.append((start, start + length))
        start += length
    return SessionSchedule(bounds, start, grays[1])


def gabor_rows(
    rng: np.random.Generator, first_frame: int, repeats: int, times: np.ndarray
) -> pd.DataFrame:
    """Return the receptive-field mapping presentations (block 2)."""
    grid = [
        (x, y, o) for _ in range(repeats)
        for x in GABOR_POSITIONS for y in GABOR_POSITIONS for o in GABOR_ORIENTATIONS
    ]  # fmt: skip
    order = rng.permutation(len(grid))
    params = np.array(grid)[order]
    start = first_frame + 15 * np.arange(len(grid))
    table = _timed_rows(start, start + 15, times, 2, GABOR_NAME)
    table["position_x"], table["position_y"], table["orientation"] = params.T
    table["temporal_frequency"], table["spatial_frequency"], table["contrast"] = 4.0, 0.08, 0.8
    table["stimulus_index"] = 0
    return table


def flash_rows(
    rng: np.random.Generator, first_frame: int, n_flashes: int, times: np.ndarray
) -> pd.DataFrame:
    """Return the full-field flash presentations (block 4)."""
    start = first_frame + FLASH_INTERVAL_FRAMES * np.arange(n_flashes)
    table = _timed_rows(start, start + 15, times, 4, FLASH_NAME)
    table["color"] = rng.choice([-1.0, 1.0], n_flashes)
    table["stimulus_index"] = 1
    return table


def spontaneous_row(block: int, bounds: tuple[int, int], times: np.ndarray) -> pd.DataFrame:
    """Return the single row of a gray spontaneous block."""
    return _timed_rows(
        np.array([bounds[0]]), np.array([bounds[1] - 1]), times, block, "spontaneous"
    )


def _timed_rows(
    start: np.ndarray, end: np.ndarray, times: np.ndarray, block: int, name: str
) -> pd.DataFrame:
    """Return the timing columns shared by every presentation row."""
    start_time = times[start] + DISPLAY_DELAY
    stop_time = times[end] + DISPLAY_DELAY
    return pd.DataFrame(
        {
            "stimulus_block": np.full(len(start), block, dtype=np.int64),
            "stimulus_name": name,
            "duration": stop_time - start_time,
            "start_time": start_time,
            "stop_time": stop_time,
            "start_frame": start.astype(np.int64),
            "end_frame": end.astype(np.int64),
            "active": np.zeros(len(start), dtype=bool),
        }
    )


def passive_replay(active: pd.DataFrame, first_frame: int, times: np.ndarray) -> pd.DataFrame:
    """Return block 5: block 0 replayed flash for flash with the spout withdrawn."""
    replay = active.copy()
    shift = first_frame - int(active["start_frame"].iloc[0])
    replay["start_frame"] += shift
    replay["end_frame"] += shift
    replay["start_time"] = times[replay["start_frame"]] + DISPLAY_DELAY
    replay["stop_time"] = replay["start_time"] + replay["duration"].to_numpy()
    replay["stimulus_block"] = 5
    replay["active"] = False
    replay["rewarded"] = False
    replay["trials_id"] = -99
    return replay


def optotagging_table(rng: np.random.Generator, start: float, repeats: int) -> pd.DataFrame:
    """Return the optotagging trials: 2 waveforms x 3 levels x ``repeats``, shuffled."""
    combos = [(c, lv) for c in OPTO_CONDITIONS for lv in OPTO_LEVELS for _ in range(repeats)]
    order = rng.permutation(len(combos))
    gaps = rng.uniform(1.5, 2.0, len(combos))
    onsets = start + np.cumsum(gaps)
    names = [combos[i][0] for i in order]
    durations = np.array([OPTO_CONDITIONS[n][0] for n in names])
    return pd.DataFrame(
        {
            "start_time": onsets,
            "stop_time": onsets + durations,
            "condition": [OPTO_CONDITIONS[n][1] for n in names],
            "level": np.array([combos[i][1] for i in order], dtype=float),
            "stimulus_name": names,
            "duration": durations,
        }
    )


def frame_block_of(frames: np.ndarray, schedule: SessionSchedule) -> np.ndarray:
    """Return the block index of each frame in ``frames``."""
    edges = np.array([b[1] for b in schedule.block_frames])
    return np.searchsorted(edges, frames, side="right")


FLASH_CYCLE_FRAMES = FLASH_FRAMES
