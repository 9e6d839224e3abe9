"""The stimulus schedule of a Visual Coding Neuropixels session, on the 60 Hz display clock.

Both session types run their stimuli in numbered blocks separated by gray (``spontaneous``)
periods, as the released sessions do: ``brain_observatory_1.1`` shows gabors, flashes, three
blocks each of drifting gratings, static gratings and natural scenes, and two each of natural
movies one and three; ``functional_connectivity`` shows gabors, flashes and two blocks each of
contrast-tuning gratings, 75-repeat gratings, dot motion, natural movie one with more repeats
and its shuffled version. A stimulus's trials (its conditions x repeats, shuffled once) are
split evenly over its blocks; movies are split by repeats. A size's ``repeats`` and
``spontaneous_scale`` shorten the schedule; the benchmark size runs the released repeats.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from brainobs.sample.task_tables import frame_times
from brainobs.vcn.sample_stimuli import (
    PARAMETERS,
    STIMULI,
    movie_frames,
    stimulus_trials,
)

FPS = 60
SPONTANEOUS = "spontaneous"
_BO = (
    (SPONTANEOUS, 60.0), ("gabors",), (SPONTANEOUS, 290.0), ("flashes",), (SPONTANEOUS, 30.0),
    ("drifting_gratings",), (SPONTANEOUS, 30.0), ("natural_movie_three",), (SPONTANEOUS, 30.0),
    ("natural_movie_one",), (SPONTANEOUS, 30.0), ("drifting_gratings",), (SPONTANEOUS, 300.0),
    ("natural_movie_three",), (SPONTANEOUS, 30.0), ("drifting_gratings",), (SPONTANEOUS, 30.0),
    ("static_gratings",), (SPONTANEOUS, 30.0), ("natural_scenes",), (SPONTANEOUS, 30.0),
    ("static_gratings",), (SPONTANEOUS, 30.0), ("natural_scenes",), (SPONTANEOUS, 30.0),
    ("natural_movie_one",), (SPONTANEOUS, 30.0), ("natural_scenes",), (SPONTANEOUS, 30.0),
    ("static_gratings",), (SPONTANEOUS, 30.0),
)  # fmt: skip
_FC = (
    (SPONTANEOUS, 60.0), ("gabors",), (SPONTANEOUS, 290.0), ("flashes",), (SPONTANEOUS, 30.0),
    ("drifting_gratings_75_repeats",), ("natural_movie_one_more_repeats",),
    ("natural_movie_one_shuffled",), ("drifting_gratings_contrast",), (SPONTANEOUS, 300.0),
    ("dot_motion",), ("drifting_gratings_75_repeats",), ("natural_movie_one_more_repeats",),
    ("natural_movie_one_shuffled",), ("dot_motion",), ("drifting_gratings_contrast",),
    (SPONTANEOUS, 30.0),
)  # fmt: skip
#: The block sequence of each session type: (stimulus,) or (spontaneous, seconds).
BLOCKS: dict[str, tuple[tuple, ...]] = {
    "brain_observatory_1.1": _BO,
    "functional_connectivity": _FC,
}


@dataclass
class Schedule:
    """Every presentation of a session (time order) and the display frame times."""

    frame_times: np.ndarray
    presentations: pd.DataFrame

    @property
    def t_stop(self) -> float:
        """Return the end of the last presentation."""
        return float(self.presentations["stop_time"].max())

    def of(self, name: str) -> pd.DataFrame:
        """Return the presentations of stimulus ``name``."""
        return self.presentations[self.presentations["stimulus_name"] == name]


def build_schedule(
    rng: np.random.Generator,
    session_type: str,
    repeats: dict[str, int],
    spontaneous_scale: float,
    t0: float,
) -> Schedule:
    """Return the schedule of a ``session_type`` session whose first frame is at ``t0``."""
    blocks = BLOCKS[session_type]
    trials = _trials_per_block(rng, blocks, repeats)
    parts, cursor, block_number = [], 0, 0
    for entry in blocks:
        if entry[0] == SPONTANEOUS:
            n = max(round(float(entry[1]) * spontaneous_scale * FPS), FPS)
            parts.append(_spontaneous_row(cursor, n))
            cursor += n
            continue
        rows = trials[entry[0]].pop(0)
        part, cursor = _block_rows(entry[0], rows, cursor, block_number)
        parts.append(part)
        block_number += 1
    table = pd.concat(parts, ignore_index=True)
    times = frame_times(rng, cursor + 1, t0)
    table["start_time"] = times[table["start_frame"].to_numpy()]
    table["stop_time"] = times[table["end_frame"].to_numpy()]
    table = table.sort_values("start_time", kind="stable").reset_index(drop=True)
    return Schedule(times, table)


def _trials_per_block(
    rng: np.random.Generator, blocks: tuple[tuple, ...], repeats: dict[str, int]
) -> dict[str, list[pd.DataFrame]]:
    """Return each stimulus's trials split into one table per block it appears in."""
    names = [b[0] for b in blocks if b[0] != SPONTANEOUS]
    out: dict[str, list[pd.DataFrame]] = {}
    for name in dict.fromkeys(names):
        n_blocks = names.count(name)
        stim = STIMULI[name]
        if stim.movie is not None:
            frames = movie_frames(rng, stim, max(repeats[name], n_blocks))
            chunks = np.array_split(np.arange(len(frames)), n_blocks)
            out[name] = [_movie_rows(frames, chunk) for chunk in chunks]
        else:
            table = stimulus_trials(rng, name, repeats[name])
            out[name] = [table.iloc[c] for c in np.array_split(np.arange(len(table)), n_blocks)]
    return out


def _movie_rows(frames: list[np.ndarray], repeats: np.ndarray) -> pd.DataFrame:
    """Return one row per movie frame shown in the given repeats."""
    shown = np.concatenate([frames[i] for i in repeats])
    return pd.DataFrame({"frame": shown})


def _block_rows(name: str, rows: pd.DataFrame, cursor: int, block: int) -> tuple[pd.DataFrame, int]:
    """Return a block's presentations starting at frame ``cursor``, and the next free frame."""
    stim = STIMULI[name]
    period = stim.on_frames + stim.off_frames
    start = cursor + period * np.arange(len(rows))
    table = rows.reset_index(drop=True).reindex(columns=list(PARAMETERS))
    table.insert(0, "stimulus_name", name)
    table.insert(1, "stimulus_block", float(block))
    table["start_frame"] = start
    table["end_frame"] = start + stim.on_frames
    return table, int(cursor + period * len(rows))


def _spontaneous_row(cursor: int, n_frames: int) -> pd.DataFrame:
    """Return the row of one gray period of ``n_frames`` frames."""
    row = {"stimulus_name": SPONTANEOUS, "stimulus_block": np.nan}
    row |= {p: np.nan for p in PARAMETERS}
    return pd.DataFrame([row | {"start_frame": cursor, "end_frame": cursor + n_frames}])
