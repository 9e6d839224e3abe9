"""The ``stimulus_presentations`` of a Visual Coding session, built as the reference builds them.

Steps (reference/format_ecephys.md §4.2.3): read every ``*_presentations`` table (``"N/A"``
read back as ``""``), split the ``color`` column into the ±1 flash colour and the RGB
``color_triplet``, sort by start time, index ``stimulus_presentation_id``, drop
``stimulus_index``; merge case-variant duplicate columns, name natural movies with words and
number the shuffled movie, map the stimulus and column names; fill ``""`` and missing values
with the text ``"null"`` (as the reference does, so code comparing with ``"null"`` keeps
working); add ``duration``; number the stimulus conditions; and mask presentations that
overlap an invalid interval tagged ``stimulus``.

Differences (docs/differences.md, "Visual Coding Neuropixels"): the sort is stable (ties keep
file order); the columns after ``stimulus_block, start_time, stop_time, stimulus_name`` are in
alphabetical order, then ``duration, stimulus_condition_id`` (the reference's order comes from
a Python set); float columns holding only 0 and 1 stay numbers (the reference turns them into
booleans); the masking is vectorised.
"""

from __future__ import annotations

import ast
import re

import numpy as np
import pandas as pd

from brainobs.analysis.conditions import stimulus_condition_ids
from brainobs.nwb import NwbFile, read_presentations

NULL = "null"
INVALID = "invalid_presentation"
#: The stimulus names of the released tables, mapped to the names sessions use (§4.2.3).
STIMULUS_RENAMES = {
    "": "spontaneous",
    "natural_movie_1": "natural_movie_one",
    "natural_movie_3": "natural_movie_three",
    "Natural Images": "natural_scenes",
    "flash_250ms": "flashes",
    "gabor_20_deg_250ms": "gabors",
    "contrast_response": "drifting_gratings_contrast",
    "Natural_Images_Shuffled": "natural_scenes_shuffled",
    "Natural_Images_Sequential": "natural_scenes_sequential",
    "natural_movie_1_more_repeats": "natural_movie_one",
    "natural_movie_one_more_repeats": "natural_movie_one",
    "natural_movie_shuffled": "natural_movie_one_shuffled",
    "motion_stimulus": "dot_motion",
    "drifting_gratings_more_repeats": "drifting_gratings_75_repeats",
    "signal_noise_test_0_200_repeats": "test_movie_one",
    "signal_noise_test_0": "test_movie_one",
    "signal_noise_test_1": "test_movie_two",
}
COLUMN_RENAMES = {
    "Contrast": "contrast",
    "Ori": "orientation",
    "SF": "spatial_frequency",
    "TF": "temporal_frequency",
    "Phase": "phase",
    "Color": "color",
    "Image": "frame",
    "Pos_x": "x_position",
    "Pos_y": "y_position",
}
#: Columns that do not define a condition (the reference's ``params_only`` leaves them out).
TIMING_COLUMNS = ("start_time", "stop_time", "duration", "stimulus_block")
LEADING = ("stimulus_block", "start_time", "stop_time", "stimulus_name")
TRAILING = ("duration", "stimulus_condition_id")
_TRIPLET = re.compile(r"\[(-{0,1}\d*\.\d*,\s*)*(-{0,1}\d*\.\d*)\]")
_MOVIE = re.compile(r"natural_movie_(\d+|one|two|three|four|five|six|seven|eight|nine)")
_WORDS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_DIGITS = dict(zip("123456789", _WORDS, strict=True))


def read_raw_presentations(file: NwbFile) -> pd.DataFrame:
    """Return every presentation table of ``file`` in time order, as stored (text as objects)."""
    frame = read_presentations(file).reset_index(drop=True)
    for name in frame.columns:
        if frame[name].dtype.kind not in "biufcmM":
            column = frame[name].astype(object)
            frame[name] = column.mask(column.eq("N/A"), "")
    if "color" in frame.columns:
        frame = split_color(frame)
    return frame


def split_color(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with RGB triplets moved from ``color`` to ``color_triplet``.

    The released ``color`` column holds two parameters: the flash colour (±1) and, for dot
    motion, an RGB triplet as text. Colours that remain are parsed as numbers.
    """
    color = frame["color"].astype(object).where(frame["color"].notna(), "")
    text = color.map(lambda v: v if isinstance(v, str) else repr(v))
    triplet = text.map(lambda v: bool(_TRIPLET.match(v))).to_numpy(dtype=bool)
    if "color_triplet" not in frame.columns:
        frame["color_triplet"] = pd.Series("", index=frame.index, dtype=object)
    frame.loc[triplet, "color_triplet"] = color[triplet]
    color[triplet] = ""
    numeric = color.ne("").to_numpy()
    color[numeric] = [_literal(v) for v in color[numeric]]
    frame["color"] = color
    return frame


def _literal(value: object) -> object:
    """Return ``value`` parsed as a Python literal when it is text, else as it is."""
    return ast.literal_eval(value) if isinstance(value, str) else value


def collapse_case_variants(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with ``COL``/``Col`` merged into ``col`` where they never overlap."""
    names = set(frame.columns)
    merged = []
    for name in list(frame.columns):
        for variant in (name.upper(), name.capitalize()):
            if variant == name or variant not in names or variant in merged:
                continue
            mine, theirs = frame[name].notna(), frame[variant].notna()
            if (mine & theirs).any():
                continue
            fill = (~mine & theirs).to_numpy()
            frame[name] = frame[name].astype(object)
            frame.loc[fill, name] = frame.loc[fill, variant]
            merged.append(variant)
            break
    return frame.drop(columns=merged)


def stimulus_name_of(name: object) -> object:
    """Return the session's name for a released stimulus name (movies numbered in words)."""
    if not isinstance(name, str):
        # pandas-stubs' isna takes pandas scalar types only; pandas takes any object
        return "spontaneous" if name is None or pd.isna(name) else name  # type: ignore[call-overload]
    if _MOVIE.match(name):
        name = re.sub(r"\d+", lambda m: _DIGITS.get(m.group(0), m.group(0)), name)
    return STIMULUS_RENAMES.get(name, name)


def rename_stimuli(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with stimulus and column names mapped as the reference maps them."""
    names = frame["stimulus_name"].astype(object)
    shuffled = names.eq("natural_movie_shuffled")
    if shuffled.any():
        numbers = names.str.extract(_MOVIE, expand=False).dropna().unique()
        if len(numbers) == 1:  # the shuffled movie is the session's one other movie
            names = names.mask(shuffled, f"natural_movie_{numbers[0]}_shuffled")
    frame["stimulus_name"] = names.map(stimulus_name_of)
    return frame.rename(columns=COLUMN_RENAMES)


def fill_nulls(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with ``""`` and missing values as ``"null"`` (times excepted)."""
    for name in frame.columns:
        column = frame[name]
        if name in ("start_time", "stop_time"):
            continue
        missing = column.isna().to_numpy() | column.astype(object).eq("").to_numpy()
        if missing.any():
            values = column.astype(object).to_numpy(copy=True)
            values[missing] = NULL
            frame[name] = values
    return frame


def ordered(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with the leading columns first, the others sorted, then the trailing."""
    lead = [c for c in LEADING if c in frame.columns]
    tail = [c for c in TRAILING if c in frame.columns]
    middle = sorted(c for c in frame.columns if c not in lead and c not in tail)
    return frame[lead + middle + tail]


def mask_invalid(frame: pd.DataFrame, invalid: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with presentations overlapping an invalid interval masked.

    A presentation overlaps ``[start, stop]`` of an interval when
    ``max(starts) <= min(stops)`` (closed intervals, as the reference); its fields become
    NaN except the times, and its name ``invalid_presentation``.
    """
    if invalid.empty or frame.empty:
        return frame
    starts = frame["start_time"].to_numpy()[:, None]
    stops = frame["stop_time"].to_numpy()[:, None]
    hit = (
        (np.maximum(starts, invalid["start_time"].to_numpy()[None, :])
         <= np.minimum(stops, invalid["stop_time"].to_numpy()[None, :])).any(axis=1)
    )  # fmt: skip
    if not hit.any():
        return frame
    for name in frame.columns:
        if name in ("start_time", "stop_time"):
            continue
        values = frame[name].to_numpy(copy=True)
        if values.dtype.kind in "iub":
            values = values.astype(np.float64)
        elif values.dtype.kind != "f":
            values = values.astype(object)
        values[hit] = np.nan
        frame[name] = values
    frame.loc[hit, "stimulus_name"] = INVALID
    return frame


def build_presentations(
    file: NwbFile, stimulus_invalid: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (every presentation with its detailed parameters, the stimulus conditions).

    ``stimulus_invalid`` are the invalid intervals tagged ``stimulus``.
    """
    frame = read_raw_presentations(file)
    frame = frame.drop(columns=[c for c in ("stimulus_index",) if c in frame.columns])
    frame = rename_stimuli(collapse_case_variants(frame))
    frame = fill_nulls(frame)
    frame["duration"] = frame["stop_time"] - frame["start_time"]
    ids, conditions = stimulus_condition_ids(frame, TIMING_COLUMNS, value_equality="python")
    frame["stimulus_condition_id"] = ids.to_numpy()
    frame.index = pd.RangeIndex(len(frame), name="stimulus_presentation_id").astype(np.int64)
    frame = mask_invalid(ordered(frame), stimulus_invalid)
    return frame, conditions
