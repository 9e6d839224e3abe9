"""The stimuli of a Visual Coding Neuropixels session: conditions, timing and stored columns.

Each stimulus has its conditions (one row of numeric parameters per condition, a blank where
the released tables have one), its timing in 60 Hz display frames and the columns its
``/intervals/<name>_presentations`` table stores, with the released dtypes: some parameters are
text (``phase`` like ``"[42471.86666667, 42471.86666667]"``, ``size`` like ``"[250.0, 250.0]"``,
``color`` like ``"[1.0, 1.0, 1.0]"`` or ``"-1.0"``, ``spatial_frequency`` of drifting gratings
``"0.04"`` but float64 for static gratings), the others float64
(reference/real_nwb_layouts/dandiset_00002{1,2}.md). Parameter values are those of the
released stimuli: 8 directions x 5 temporal frequencies of drifting gratings, 6 orientations x
5 spatial frequencies x 4 phases of static gratings, 118 natural scenes, the 9 x 9 gabor grid
(-40..40 deg in 10 deg steps) with 3 orientations, +-1 full-field flashes, 9 contrasts of
contrast tuning, 8 directions x 5 speeds of dot motion.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Numeric parameter columns of the simulation's presentation table (NaN where not applicable).
PARAMETERS = (
    "orientation", "temporal_frequency", "spatial_frequency", "phase", "x_position",
    "y_position", "color", "frame", "contrast", "Dir", "Speed",
)  # fmt: skip
DG_DIRECTIONS = tuple(float(d) for d in range(0, 360, 45))
DG_TEMPORAL_FREQUENCIES = (1.0, 2.0, 4.0, 8.0, 15.0)
SG_ORIENTATIONS = tuple(float(d) for d in range(0, 180, 30))
SG_SPATIAL_FREQUENCIES = (0.02, 0.04, 0.08, 0.16, 0.32)
SG_PHASES = (0.0, 0.25, 0.5, 0.75)
GABOR_POSITIONS = tuple(float(p) for p in range(-40, 41, 10))
GABOR_ORIENTATIONS = (0.0, 45.0, 90.0)
CONTRASTS = (0.01, 0.02, 0.04, 0.08, 0.13, 0.2, 0.35, 0.6, 1.0)
DM_SPEEDS = (0.001, 0.005, 0.01, 0.02, 0.04)
N_SCENES = 118
MOVIE_FRAMES = {"natural_movie_one": 900, "natural_movie_three": 3600}

Constants = dict[str, str | float]
_GRATING: Constants = {"color": "[1.0, 1.0, 1.0]", "mask": "None", "opacity": 1.0, "units": "deg"}
_MOVIE: Constants = {"color": "[1.0, 1.0, 1.0]", "contrast": 1.0, "opacity": 1.0,
                     "orientation": 0.0, "size": "[1920.0, 1080.0]", "units": "pix"}  # fmt: skip


@dataclass(frozen=True)
class Stimulus:
    """One stimulus: its index in the stimulus script, timing and constant stored columns."""

    name: str
    index: float
    on_frames: int
    off_frames: int
    constants: tuple[tuple[str, str | float], ...] = ()
    movie: str | None = None
    shuffled: bool = False


STIMULI: dict[str, Stimulus] = {
    s.name: s
    for s in (
        Stimulus("gabors", 0.0, 15, 0, (("temporal_frequency", 4.0), ("spatial_frequency", "0.08"),
                 ("contrast", 0.8), ("phase", "[3644.93333333, 3644.93333333]"),
                 ("size", "[20.0, 20.0]"), *_GRATING.items(), ("mask", "circle"))),
        Stimulus("flashes", 1.0, 15, 105, (("contrast", 0.8), ("orientation", 0.0),
                 ("phase", "[0.0, 0.0]"), ("size", "[300.0, 300.0]"),
                 ("spatial_frequency", "[0.0, 0.0]"), *_GRATING.items())),
        Stimulus("drifting_gratings", 2.0, 120, 60, (("spatial_frequency", "0.04"),
                 ("contrast", 0.8), ("phase", "[42471.86666667, 42471.86666667]"),
                 ("size", "[250.0, 250.0]"), *_GRATING.items())),
        Stimulus("natural_movie_three", 3.0, 2, 0, tuple(_MOVIE.items()), "natural_movie_three"),
        Stimulus("natural_movie_one", 4.0, 2, 0, tuple(_MOVIE.items()), "natural_movie_one"),
        Stimulus("static_gratings", 5.0, 15, 0, (("contrast", 0.8),
                 ("size", "[250.0, 250.0]"), *_GRATING.items())),
        Stimulus("natural_scenes", 6.0, 15, 0),
        Stimulus("drifting_gratings_contrast", 2.0, 30, 30, (("temporal_frequency", 2.0),
                 ("spatial_frequency", "0.04"), ("phase", "[0.0, 0.0]"),
                 ("size", "[250.0, 250.0]"), *_GRATING.items())),
        Stimulus("drifting_gratings_75_repeats", 5.0, 120, 60, (("temporal_frequency", 2.0),
                 ("spatial_frequency", 0.04), ("contrast", 0.8),
                 ("phase", "[42471.86666667, 42471.86666667]"), ("size", "[250.0, 250.0]"),
                 *_GRATING.items())),
        Stimulus("dot_motion", 6.0, 60, 60, (("coherence", 1.0), ("color", "[-1.0, -1.0, -1.0]"),
                 ("contrast", 1.0), ("dotLife", 5.0), ("dotSize", 2.0), ("fieldPos", "[0.0, 0.0]"),
                 ("fieldShape", "circle"), ("fieldSize", "[250.0, 250.0]"), ("nDots", 200.0),
                 ("noiseDots", "direction"), ("opacity", 1.0), ("units", "deg"))),
        Stimulus("natural_movie_one_more_repeats", 3.0, 2, 0, tuple(_MOVIE.items()),
                 "natural_movie_one"),
        Stimulus("natural_movie_one_shuffled", 4.0, 2, 0, tuple(_MOVIE.items()),
                 "natural_movie_one", shuffled=True),
    )
}  # fmt: skip


def conditions(name: str) -> pd.DataFrame:
    """Return the numeric parameters of every condition of stimulus ``name`` (blank included)."""
    grids: dict[str, tuple[tuple[str, ...], list[tuple[float, ...]]]] = {
        "gabors": (("x_position", "y_position", "orientation"),
                   list(itertools.product(GABOR_POSITIONS, GABOR_POSITIONS, GABOR_ORIENTATIONS))),
        "flashes": (("color",), [(-1.0,), (1.0,)]),
        "drifting_gratings": (("orientation", "temporal_frequency"),
                              [*itertools.product(DG_DIRECTIONS, DG_TEMPORAL_FREQUENCIES),
                               (np.nan, np.nan)]),
        "static_gratings": (("orientation", "spatial_frequency", "phase"),
                            [*itertools.product(SG_ORIENTATIONS, SG_SPATIAL_FREQUENCIES,
                                                SG_PHASES), (np.nan, np.nan, np.nan)]),
        "natural_scenes": (("frame",), [(float(f),) for f in range(-1, N_SCENES)]),
        "drifting_gratings_contrast": (("orientation", "contrast"),
                                       list(itertools.product((0.0, 45.0, 90.0, 135.0),
                                                              CONTRASTS))),
        "drifting_gratings_75_repeats": (("orientation",), [(d,) for d in DG_DIRECTIONS]),
        "dot_motion": (("Dir", "Speed"), list(itertools.product(DG_DIRECTIONS, DM_SPEEDS))),
    }  # fmt: skip
    columns, rows = grids[name]
    return pd.DataFrame(rows, columns=list(columns), dtype=float)


def stimulus_trials(rng: np.random.Generator, name: str, repeats: int) -> pd.DataFrame:
    """Return the trials of a grid stimulus: every condition ``repeats`` times, shuffled."""
    table = conditions(name)
    order = rng.permutation(np.repeat(np.arange(len(table)), repeats))
    return table.iloc[order].reset_index(drop=True)


def movie_frames(rng: np.random.Generator, stimulus: Stimulus, repeats: int) -> list[np.ndarray]:
    """Return the frame numbers shown in each repeat of a movie (permuted when shuffled)."""
    n = MOVIE_FRAMES[str(stimulus.movie)]
    if stimulus.shuffled:
        return [rng.permutation(n).astype(float) for _ in range(repeats)]
    return [np.arange(n, dtype=float) for _ in range(repeats)]


def stored_table(name: str, rows: pd.DataFrame) -> pd.DataFrame:
    """Return the columns ``/intervals/<name>_presentations`` stores for ``rows``.

    ``rows`` holds start_time, stop_time, stimulus_block and the numeric parameters; the
    result has the released columns and dtypes (text parameters as Python strings, NaN where a
    blank has none; the NWB writer stores those as ``"N/A"``).
    """
    if name == "spontaneous":
        return rows[["start_time", "stop_time"]].assign(stimulus_name=name)
    stim = STIMULI[name]
    out = rows[["start_time", "stop_time", "stimulus_block"]].copy()
    out["stimulus_index"] = stim.index
    out["stimulus_name"] = name
    for column, value in stim.constants:
        out[column] = pd.Series([value] * len(rows), index=rows.index, dtype=object)
        if not isinstance(value, str):
            out[column] = out[column].astype(float)
    for column, values in _varying_columns(name, rows).items():
        out[column] = values
    return out


def _varying_columns(name: str, rows: pd.DataFrame) -> dict[str, pd.Series]:
    """Return the condition columns of ``name`` in their stored form."""
    if name == "flashes":
        return {"color": _text(rows["color"])}
    if name == "static_gratings":
        return {"orientation": rows["orientation"], "spatial_frequency": rows["spatial_frequency"],
                "phase": _text(rows["phase"])}  # fmt: skip
    if name == "dot_motion":
        return {"Dir": rows["Dir"], "Speed": rows["Speed"]}
    if name == "gabors":
        return {c: rows[c] for c in ("orientation", "x_position", "y_position")}
    numeric = {
        "drifting_gratings": ("orientation", "temporal_frequency"),
        "drifting_gratings_contrast": ("orientation", "contrast"),
        "drifting_gratings_75_repeats": ("orientation",),
        "natural_scenes": ("frame",),
    }.get(name, ("frame",))
    return {c: rows[c] for c in numeric}


def _text(values: pd.Series) -> pd.Series:
    """Return float parameters as the stimulus script's text (``"0.25"``), NaN kept."""
    return values.map(lambda v: np.nan if pd.isna(v) else str(float(v))).astype(object)
