"""Stimulus epochs and the shape of presentation tables: pure functions on DataFrames.

An epoch is a run of consecutive presentations of one stimulus block (the reference's
``get_stimulus_epochs``, format_ecephys.md §4.2.4); ``unused_columns`` finds the parameter
columns a stimulus never sets.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from brainobs.analysis._validation import stop_column
from brainobs.errors import InvalidInputError

#: Default ``get_stimulus_epochs`` thresholds: spontaneous epochs shorter than 90 s are dropped.
#: ``spontaneous`` is the name the tables use; the reference's key is kept as well.
DEFAULT_EPOCH_THRESHOLDS: Mapping[str, float] = {
    "spontaneous": 90.0,
    "spontaneous_activity": 90.0,
}
EPOCH_COLUMNS = ("start_time", "stop_time", "duration", "stimulus_name", "stimulus_block")


def unused_columns(table: pd.DataFrame) -> list[str]:
    """Return the columns that are all missing, all ``""`` or all ``"null"`` in ``table``."""
    unused = []
    for name in table.columns:
        column = table[name]
        if column.isna().all():
            unused.append(name)
            continue
        text = column.astype(str)
        if text.eq("").all() or text.eq("null").all():
            unused.append(name)
    return unused


def epoch_runs(blocks: pd.Series) -> np.ndarray:
    """Return the row where each run of equal consecutive blocks starts, plus the row count."""
    values = blocks.to_numpy(dtype=object)
    missing = pd.isna(blocks).to_numpy()
    same = (missing[1:] & missing[:-1]) | np.asarray(values[1:] == values[:-1], dtype=bool)
    return np.concatenate(([0], np.flatnonzero(~same) + 1, [len(values)]))


def stimulus_epochs(
    presentations: pd.DataFrame, duration_thresholds: Mapping[str, float]
) -> pd.DataFrame:
    """Return runs of presentations in one stimulus block as epochs (reference columns)."""
    stop = stop_column(presentations)
    bounds = epoch_runs(presentations["stimulus_block"])
    first, last = bounds[:-1], bounds[1:] - 1
    epochs = pd.DataFrame(
        {
            "start_time": presentations["start_time"].to_numpy()[first],
            "stop_time": presentations[stop].to_numpy()[last],
            "stimulus_name": presentations["stimulus_name"].to_numpy()[first],
            "stimulus_block": presentations["stimulus_block"].to_numpy()[first],
        }
    )
    epochs["duration"] = epochs["stop_time"] - epochs["start_time"]
    keep = np.ones(len(epochs), dtype=bool)
    for name, threshold in duration_thresholds.items():
        keep &= ~((epochs["stimulus_name"] == name) & (epochs["duration"] < threshold)).to_numpy()
    kept: pd.DataFrame = epochs.loc[keep, list(EPOCH_COLUMNS)].reset_index(drop=True)
    return kept


def check_thresholds(thresholds: Mapping[str, float]) -> dict[str, float]:
    """Return the epoch duration thresholds after checking they are non-negative numbers."""
    if not isinstance(thresholds, Mapping):
        raise InvalidInputError(
            "duration_thresholds must be a dict stimulus_name -> seconds, "
            f"e.g. {dict(DEFAULT_EPOCH_THRESHOLDS)}"
        )
    checked = {}
    for name, value in thresholds.items():
        number = float(value)
        if not np.isfinite(number) or number < 0:
            raise InvalidInputError(
                f"duration threshold of {name!r} is {value!r}; use a number of seconds >= 0"
            )
        checked[str(name)] = number
    return checked
