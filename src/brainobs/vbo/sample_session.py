"""Simulate the behaviour and stimuli of one VBO imaging session, on the session's sync clock.

An imaging session shows four stimulus blocks, as in the release: 0 a gray screen
(``initial_gray_screen_5min``), 1 the change-detection task (``change_detection_behavior``),
2 a gray screen (``post_behavior_gray_screen_5min``) and 3 ten repeats of the 30 s natural
movie (``natural_movie_one``, 900 frames each shown for two display frames). The 2-photon
frames run from just before the first display frame to just after the last; a Multiscope rig
acquires its plane groups in turn, so each plane's timestamps are every ``group_count``-th
frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from brainobs.sample.behavior import FLASH_FRAMES, TaskSimulation, simulate_task
from brainobs.sample.behavior_session import stimulus_of, task_parameters, template_name_of
from brainobs.sample.quantize import CLOCK_STEP, quantized
from brainobs.sample.running_eye import Running, simulate_eye, simulate_running
from brainobs.sample.task_tables import AUTO_REWARD_VOLUME, TaskTables, frame_times, task_tables
from brainobs.vbo.sample_design import OPHYS_FRAME_PERIOD, OphysSessionPlan, SizeSpec

#: Display (monitor) delay (s) of each imaging rig: the fallback table of the reference.
MONITOR_DELAY = {"CAM2P.3": 0.021390, "CAM2P.4": 0.021102, "CAM2P.5": 0.021192, "MESO.1": 0.03613}
BLOCK_NAMES = (
    "initial_gray_screen_5min", "change_detection_behavior",
    "post_behavior_gray_screen_5min", "natural_movie_one",
)  # fmt: skip
MOVIE_NAME = "natural_movie_one"
MOVIE_FRAMES = 900
#: Reward (mL) earned in stages whose name does not say otherwise (VBO: 7 uL).
EARNED_REWARD_VOLUME = 0.007
EYE_RATE = 30.0


@dataclass
class OphysSessionSimulation:
    """Everything simulated for one imaging session, shared by the files of its planes."""

    plan: OphysSessionPlan
    sim: TaskSimulation
    frame_times: np.ndarray
    delay: float
    tables: TaskTables
    running: Running
    eye: pd.DataFrame
    sync_frames: np.ndarray
    images: list[str]
    novel_images: frozenset[str]
    stimulus_name: str
    template_name: str
    task_parameters: dict[str, Any]

    def plane_timestamps(self, group: int) -> np.ndarray:
        """Return the 2-photon frame times of a plane of plane group ``group`` (-1: single)."""
        count = self.plan.project.group_count
        if count <= 1:
            return self.sync_frames
        return self.sync_frames[group::count]

    @property
    def flashes(self) -> pd.DataFrame:
        """Return the change-detection rows (image and omitted flashes) of the session."""
        table = self.tables.presentations
        return table[table["stimulus_block"] == 1]


def simulate_session(
    plan: OphysSessionPlan, size: SizeSpec, novel_images: frozenset[str]
) -> OphysSessionSimulation:
    """Return the simulated behaviour, stimuli, running, eye and 2-photon clock of ``plan``."""
    rng = np.random.default_rng([plan.behavior.seed, 31])
    session_type = plan.behavior.session_type
    stimulus, images = stimulus_of(session_type)
    sim = simulate_task(rng, images, size.active_flashes, plan.behavior.dprime, omissions=True)
    gray = round(size.gray_seconds * 60)
    n_frames = 2 * gray + sim.n_frames + 2 * MOVIE_FRAMES * size.movie_repeats + 60
    times = frame_times(rng, n_frames + 1, 8.5 + float(rng.uniform(0, 0.5)))
    delay = MONITOR_DELAY[plan.behavior.equipment_name]
    tables = task_tables(sim, times, gray, delay, session_type=session_type,
                         stimulus_name=stimulus, novel_images=novel_images)  # fmt: skip
    tables.presentations = all_blocks(
        tables.presentations, times, (delay, gray), size, template_name_of(stimulus)
    )
    parameters = task_parameters(plan.behavior, sim, 0.05)
    set_reward_volumes(tables, parameters, session_type)
    running = simulate_running(rng, times)
    t_end = float(times[-1])
    eye = simulate_eye(rng, float(times[0]) - 8.0, t_end + 2.0, running, rate=EYE_RATE)
    sync = _sync_frames(rng, plan, float(times[0]), t_end)
    return OphysSessionSimulation(
        plan, sim, times, delay, tables, running, eye, sync, images, novel_images, stimulus,
        template_name_of(stimulus), parameters,
    )  # fmt: skip


def _sync_frames(
    rng: np.random.Generator, plan: OphysSessionPlan, t0: float, t1: float
) -> np.ndarray:
    """Return the 2-photon frame times (all plane groups) from before ``t0`` to after ``t1``."""
    period = OPHYS_FRAME_PERIOD[plan.behavior.equipment_name.split(".")[0]]
    start = t0 - float(rng.uniform(0.05, 0.4))
    n = int(np.ceil((t1 + float(rng.uniform(1.0, 3.0)) - start) / period))
    group_count = max(plan.project.group_count, 1)
    n += (-n) % group_count  # every plane group gets the same number of frames
    jitter = rng.normal(0.0, 2e-5, n)
    return quantized(start + period * np.arange(n) + jitter, CLOCK_STEP)


def set_reward_volumes(tables: TaskTables, parameters: dict[str, Any], session_type: str) -> None:
    """Give earned rewards VBO's 7 uL where the session type names no volume."""
    if "uL_reward" in session_type:
        return
    parameters["reward_volume"] = EARNED_REWARD_VOLUME
    trials = tables.trials
    trials["reward_volume"] = np.where(trials["hit"], EARNED_REWARD_VOLUME, trials["reward_volume"])
    rewards = tables.rewards
    if len(rewards):
        auto = rewards["auto_rewarded"].to_numpy(dtype=bool)
        rewards["volume"] = np.where(auto, AUTO_REWARD_VOLUME, EARNED_REWARD_VOLUME)


def all_blocks(
    active: pd.DataFrame,
    times: np.ndarray,
    timing: tuple[float, int],
    size: SizeSpec,
    template_name: str,
) -> pd.DataFrame:
    """Return the presentations of the four blocks in the released columns and dtypes.

    ``active`` holds the change-detection rows; ``timing`` is (display delay, gray frames).
    """
    delay, gray = timing
    active = active.drop(columns=["rewarded"]).assign(stimulus_block=1, image_set=template_name)
    last = active.iloc[-1]
    movie = _movie_rows(int(last["start_frame"]) + FLASH_FRAMES + gray, times, delay, size)
    first, movie_start = active.iloc[0], movie.iloc[0]
    first_gray = _gray_row(0, (0, int(first["start_frame"])), (0.0, float(first["start_time"])))
    second_gray = _gray_row(
        2, (int(last["end_frame"]), int(movie_start["start_frame"])),
        (float(last["stop_time"]), float(movie_start["start_time"])),
    )  # fmt: skip
    table = pd.concat([first_gray, active, second_gray, movie], ignore_index=True)
    table["stimulus_block_name"] = table["stimulus_block"].map(dict(enumerate(BLOCK_NAMES)))
    return _released_dtypes(table)


def _gray_row(block: int, frames: tuple[int, int], span: tuple[float, float]) -> pd.DataFrame:
    """Return the single row of a gray-screen block spanning ``frames`` and ``span`` (s)."""
    return pd.DataFrame({
        "stimulus_block": [block], "stimulus_name": ["spontaneous"],
        "duration": [span[1] - span[0]], "start_time": [span[0]], "stop_time": [span[1]],
        "start_frame": [frames[0]], "end_frame": [frames[1]],
    })  # fmt: skip


def _movie_rows(first_frame: int, times: np.ndarray, delay: float, size: SizeSpec) -> pd.DataFrame:
    """Return the natural-movie rows: each movie frame lasts two display frames."""
    n = MOVIE_FRAMES * size.movie_repeats
    start = first_frame + 2 * np.arange(n)
    start_time = times[start] + delay
    stop_time = times[start + 2] + delay
    return pd.DataFrame({
        "stimulus_block": 3, "stimulus_name": MOVIE_NAME, "duration": stop_time - start_time,
        "start_time": start_time, "stop_time": stop_time, "start_frame": start,
        "end_frame": start + 1,
        "movie_frame_index": np.tile(np.arange(MOVIE_FRAMES), size.movie_repeats),
        "movie_repeat": np.repeat(np.arange(size.movie_repeats), MOVIE_FRAMES),
    })  # fmt: skip


def _released_dtypes(table: pd.DataFrame) -> pd.DataFrame:
    """Fill the rows of other blocks as the released tables do (-99, NaN, False)."""
    image_rows = table["stimulus_block"] == 1
    for column in ("image_index", "movie_frame_index", "flashes_since_change", "trials_id"):
        table[column] = table[column].fillna(-99).astype(np.int64)
    for column in ("active", "is_sham_change"):
        table[column] = table[column].where(image_rows, False).astype(bool)
    # Nullable booleans: the released files store them as float 0/1 (NaN in other blocks).
    for column in ("is_change", "is_image_novel", "omitted"):
        table[column] = table[column].astype(float).where(image_rows, np.nan)
    table["image_name"] = table["image_name"].astype(object).where(image_rows, np.nan)
    table["image_set"] = table["image_set"].astype(object).where(image_rows, np.nan)
    table["movie_repeat"] = table["movie_repeat"].astype("Int64")  # int in the movie table only
    table["start_frame"] = table["start_frame"].astype(np.int64)
    table["end_frame"] = table["end_frame"].astype(np.int64)
    return table[[c for c in PRESENTATION_COLUMNS if c in table.columns]]


#: Column order of the presentations (reference §5.4, step 15, then the rest).
PRESENTATION_COLUMNS = (
    "stimulus_block", "stimulus_block_name", "image_index", "image_name", "movie_frame_index",
    "duration", "start_time", "stop_time", "start_frame", "end_frame", "is_change",
    "is_image_novel", "omitted", "movie_repeat", "flashes_since_change", "trials_id", "active",
    "stimulus_name", "is_sham_change", "image_set",
)  # fmt: skip
