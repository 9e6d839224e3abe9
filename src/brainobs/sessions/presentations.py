"""The ``stimulus_presentations`` table: every ``*_presentations`` interval table, in time order.

Follows the reference toolkit's NWB reader (reference/format_ophys_behavior.md §5.4 "Reading
from NWB" and format_ecephys.md §4.1), with these documented differences
(docs/differences.md, "Sessions"):

* Boolean columns are known by name (:data:`BOOL_COLUMNS`), not guessed from 0/1 values, so a
  numeric column that happens to hold only 0 and 1 stays numeric. They are ``bool`` when
  complete and nullable ``"boolean"`` when some rows lack them (the reference leaves the
  latter as ``object`` when the file stores real booleans).
* Rows are sorted by ``start_time`` with a stable sort (ties keep file order).
* Columns after the reference's leading columns are in alphabetical order (the reference's
  order comes from a Python ``set`` and changes between runs).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from brainobs.nwb import ColumnRules, NwbFile, read_presentations
from brainobs.sessions.behavior_tables import fill_int

#: Presentation columns that are True/False (stored as booleans or as float 0/1/NaN).
BOOL_COLUMNS = ("is_change", "is_image_novel", "omitted", "rewarded", "is_sham_change", "active")
#: Integer columns whose missing values become -99.
INT_COLUMNS = (
    "flashes_since_change",
    "image_index",
    "movie_repeat",
    "movie_frame_index",
    "repeat",
    "stimulus_index",
)
#: The reference toolkit's leading columns, in its order.
LEADING_COLUMNS = (
    "stimulus_block",
    "stimulus_block_name",
    "image_index",
    "image_name",
    "movie_frame_index",
    "duration",
    "start_time",
    "end_time",
    "start_frame",
    "end_frame",
    "is_change",
    "is_image_novel",
    "omitted",
    "movie_repeat",
    "flashes_since_change",
    "trials_id",
)
DROPPED_COLUMNS = ("image_set", "index")


def read_stimulus_presentations(
    file: NwbFile, trials: pd.DataFrame | None, add_is_change: bool
) -> pd.DataFrame:
    """Return the presentations indexed by ``stimulus_presentations_id`` (0..N-1).

    ``add_is_change`` recomputes ``is_change`` and ``flashes_since_change`` from the image
    sequence, as the reference does for behavior-only files. ``trials`` (when given) fills
    in ``is_sham_change`` for files written without it.
    """
    frame = read_presentations(file, rules=ColumnRules(bool_columns=BOOL_COLUMNS))
    frame = _replace_na_text(frame)
    frame = frame.reset_index(drop=True)
    if add_is_change and {"image_name", "omitted"} <= set(frame.columns):
        frame["is_change"] = is_change_event(frame)
        frame["flashes_since_change"] = flashes_since_change(frame)
    for name in INT_COLUMNS:
        if name in frame.columns:
            frame[name] = fill_int(frame[name])
    if trials is not None and "is_sham_change" not in frame.columns:
        frame = add_is_sham_change(frame, trials)
    frame = frame.drop(columns=[c for c in DROPPED_COLUMNS if c in frame.columns])
    frame = frame.rename(columns={"stop_time": "end_time"})
    frame.index = pd.RangeIndex(len(frame), name="stimulus_presentations_id").astype(np.int64)
    return frame[ordered_columns(frame.columns)]


def ordered_columns(columns: pd.Index) -> list[str]:
    """Return the reference's leading columns first, then the others alphabetically."""
    leading = [c for c in LEADING_COLUMNS if c in columns]
    return leading + sorted(c for c in columns if c not in leading)


def _replace_na_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with the writer's ``"N/A"`` text placeholder read back as ``""``."""
    for name in frame.columns:
        if frame[name].dtype.kind in "OUT" or pd.api.types.is_string_dtype(frame[name]):
            column = frame[name]
            if column.eq("N/A").any():
                frame[name] = column.mask(column.eq("N/A"), "")
    return frame


def _not_omitted(frame: pd.DataFrame) -> np.ndarray:
    """Return True where ``omitted`` is explicitly False (missing counts as omitted)."""
    omitted = frame["omitted"]
    return np.asarray(omitted.eq(False).fillna(False), dtype=bool)


def is_change_event(frame: pd.DataFrame) -> pd.Series:
    """Return True on rows whose image differs from the previous non-omitted row's."""
    kept = _not_omitted(frame)
    names = frame["image_name"].to_numpy(dtype=object)[kept]
    change = np.zeros(len(names), dtype=bool)
    if len(names) > 1:
        previous, current = names[:-1], names[1:]
        same = np.array([a == b for a, b in zip(previous, current, strict=True)], dtype=bool)
        change[1:] = ~same
    out = np.zeros(len(frame), dtype=bool)
    out[np.flatnonzero(kept)] = change
    return pd.Series(out, index=frame.index, name="is_change")


def flashes_since_change(frame: pd.DataFrame) -> pd.Series:
    """Return per row the image flashes since the last change (omitted rows repeat the last)."""
    omitted = np.asarray(frame["omitted"].eq(True).fillna(False), dtype=bool)
    named_omitted = np.asarray(frame["image_name"].eq("omitted").fillna(False), dtype=bool)
    counted = ~(omitted | named_omitted)
    reset = counted & np.asarray(frame["is_change"], dtype=bool)
    if len(frame):
        reset[0] = counted[0]
    seen = np.cumsum(counted)
    base = pd.Series(np.where(reset, seen, np.nan)).ffill().fillna(0).to_numpy()
    return pd.Series((seen - base).astype(np.int64), index=frame.index)


def add_is_sham_change(frame: pd.DataFrame, trials: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with ``is_sham_change``: flashes at a catch trial's (sham) change frame.

    Passive replay blocks showing the same image sequence as an active block get the active
    block's values, as in the reference toolkit.
    """
    needed = {"trials_id", "active", "stimulus_block", "start_frame", "image_name"}
    if not needed <= set(frame.columns) or not {"catch", "change_frame"} <= set(trials.columns):
        return frame
    referenced = trials.index.isin(pd.to_numeric(frame["trials_id"], errors="coerce"))
    catch = trials["catch"].fillna(False).to_numpy(dtype=bool) & referenced
    catch_frames = trials.loc[catch, "change_frame"].unique()
    sham = frame["start_frame"].isin(catch_frames).to_numpy()
    blocks = frame["stimulus_block"].to_numpy()
    active = frame["active"].fillna(False).to_numpy(dtype=bool)
    names = frame["image_name"]
    passive = np.unique(blocks[~active & names.notna().to_numpy()])
    for block in np.unique(blocks[active]):
        in_active = blocks == block
        for other in passive:
            in_passive = blocks == other
            if np.array_equal(names[in_active].to_numpy(), names[in_passive].to_numpy()):
                sham[in_passive] = sham[in_active]
    frame["is_sham_change"] = sham
    return frame
