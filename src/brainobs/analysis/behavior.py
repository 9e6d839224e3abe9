"""Behaviour analysis of the change-detection task (Visual Behavior Ophys and Neuropixels).

Pure functions of the tables a behavior session returns (``trials``, ``rewards``, ``licks``):
no file access, no plotting. This module gathers the whole layer in one place; the
performance metrics live in :mod:`brainobs.analysis.performance` (see its "Differences from
AllenSDK" section), lick alignment in :mod:`brainobs.analysis.licking` and trials-table
checks in :mod:`brainobs.analysis.trials_table`. Here: hit rates per image and per image
pair, and the per-session training history.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from brainobs.analysis.licking import align_licks, change_lick_raster, lick_timestamps
from brainobs.analysis.performance import (
    METRIC_ORDER,
    ROLLING_PERFORMANCE_COLUMNS,
    dprime,
    engaged_trials,
    engagement_epochs,
    is_passive_session,
    performance_metrics,
    response_latency,
    reward_rate,
    rolling_performance,
)
from brainobs.analysis.trials_table import OUTCOMES, flag, trial_outcome, validate_trials
from brainobs.errors import InvalidInputError

__all__ = [
    "IMAGE_RATE_COLUMNS",
    "METRIC_ORDER",
    "OUTCOMES",
    "ROLLING_PERFORMANCE_COLUMNS",
    "align_licks",
    "change_lick_raster",
    "dprime",
    "engaged_trials",
    "engagement_epochs",
    "hit_rate_by_image",
    "hit_rate_by_image_pair",
    "is_passive_session",
    "lick_timestamps",
    "performance_metrics",
    "response_latency",
    "reward_rate",
    "rolling_performance",
    "session_stage",
    "training_history",
    "trial_outcome",
]

IMAGE_RATE_COLUMNS: tuple[str, ...] = (
    "go_trial_count",
    "hit_count",
    "hit_rate",
    "catch_trial_count",
    "false_alarm_count",
    "false_alarm_rate",
)


def _response_counts(trials: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """Return go/hit and catch/false-alarm counts and rates of ``trials`` grouped by ``keys``."""
    validate_trials(trials, (*keys, "hit", "miss", "false_alarm", "correct_reject"))
    hit, false_alarm = flag(trials, "hit"), flag(trials, "false_alarm")
    go = hit | flag(trials, "miss")
    catch = false_alarm | flag(trials, "correct_reject")
    counts = pd.DataFrame(
        {
            "go_trial_count": go.astype(np.int64),
            "hit_count": hit.astype(np.int64),
            "catch_trial_count": catch.astype(np.int64),
            "false_alarm_count": false_alarm.astype(np.int64),
        },
        index=trials.index,
    )
    used = go | catch
    groups = [trials[key][used] for key in keys]
    table = counts[used].groupby(groups, sort=True).sum()
    go_count = table["go_trial_count"].where(table["go_trial_count"] > 0)
    catch_count = table["catch_trial_count"].where(table["catch_trial_count"] > 0)
    table["hit_rate"] = table["hit_count"] / go_count
    table["false_alarm_rate"] = table["false_alarm_count"] / catch_count
    rates: pd.DataFrame = table[list(IMAGE_RATE_COLUMNS)]
    return rates


def hit_rate_by_image(trials: pd.DataFrame) -> pd.DataFrame:
    """Return hit and false-alarm counts and rates per ``change_image_name``.

    Go trials (hit or miss) give ``go_trial_count, hit_count, hit_rate``; catch trials
    (false alarm or correct reject, where the "change" image is the one already shown) give
    ``catch_trial_count, false_alarm_count, false_alarm_rate``. Auto-rewarded and aborted
    trials are left out; a rate is NaN where its trial count is 0.
    """
    return _response_counts(trials, ("change_image_name",))


def hit_rate_by_image_pair(trials: pd.DataFrame) -> pd.DataFrame:
    """Return hit and false-alarm counts and rates per (initial_image_name, change_image_name).

    Same columns as :func:`hit_rate_by_image`. Catch trials fall on the diagonal (initial
    image == change image), so the table is the familiar change-detection response matrix.
    """
    return _response_counts(trials, ("initial_image_name", "change_image_name"))


_STAGE_PATTERN = re.compile(r"^[A-Z]+_\d+")


def session_stage(session_type: str) -> str:
    """Return the stage prefix of a session type (``OPHYS_4`` from ``OPHYS_4_images_A``)."""
    match = _STAGE_PATTERN.match(str(session_type))
    return match.group(0) if match else str(session_type)


def _metadata_value(metadata: Mapping[str, Any] | pd.Series, key: str, session_id: Any) -> Any:
    """Return ``metadata[key]``; raise naming the session when the key is missing."""
    if key not in metadata:
        raise InvalidInputError(
            f"metadata of behavior session {session_id} has no `{key}`; pass the session's "
            "row of the behavior session table, or the session's `metadata` dict."
        )
    return metadata[key]


def _history_row(
    session: tuple[Any, Mapping[str, Any] | pd.Series, pd.DataFrame, pd.DataFrame | None],
    metadata_columns: Sequence[str],
    metrics_options: Mapping[str, Any],
) -> dict[str, Any]:
    """Return one training-history row: the session id, its metadata and its metrics."""
    try:
        session_id, metadata, trials, rewards = session
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            "each session must be a tuple (behavior_session_id, metadata, trials, rewards); "
            f"got {type(session).__name__}."
        ) from exc
    row = {"behavior_session_id": session_id}
    row.update({key: _metadata_value(metadata, key, session_id) for key in metadata_columns})
    try:
        metrics = performance_metrics(trials, rewards, **metrics_options)
    except InvalidInputError as exc:
        raise InvalidInputError(f"behavior session {session_id}: {exc}") from exc
    return {**row, **metrics}


def training_history(
    sessions: Iterable[
        tuple[Any, Mapping[str, Any] | pd.Series, pd.DataFrame, pd.DataFrame | None]
    ],
    *,
    metadata_columns: Sequence[str] = ("session_type", "date_of_acquisition"),
    engaged_trial_reward_rate_threshold: float = 2.0,
    **metrics_options: Any,
) -> pd.DataFrame:
    """Return one row per behavior session: its metadata, stage and performance metrics.

    ``sessions`` yields ``(behavior_session_id, metadata, trials, rewards)``, where
    ``metadata`` is the session's row of the behavior session table or its ``metadata``
    dict and ``rewards`` may be None. The result is indexed by ``behavior_session_id``,
    sorted by ``date_of_acquisition`` (parsed to UTC), with a ``stage`` column derived from
    ``session_type`` and the :func:`performance_metrics` keys as columns. Extra keyword
    arguments go to :func:`performance_metrics`.
    """
    options = {
        "engaged_trial_reward_rate_threshold": engaged_trial_reward_rate_threshold,
        **metrics_options,
    }
    rows = [_history_row(session, metadata_columns, options) for session in sessions]
    return history_table(rows, metadata_columns)


def history_table(
    rows: Sequence[Mapping[str, Any]],
    metadata_columns: Sequence[str] = ("session_type", "date_of_acquisition"),
) -> pd.DataFrame:
    """Return per-session rows (id, metadata, metrics) as a training history.

    The table is indexed by ``behavior_session_id``, sorted by ``date_of_acquisition``
    (parsed to UTC), with a ``stage`` column derived from ``session_type`` and the
    :func:`performance_metrics` keys as columns.
    """
    columns = ["behavior_session_id", *metadata_columns, "stage", *METRIC_ORDER]
    if not rows:
        empty: pd.DataFrame = pd.DataFrame(columns=columns).set_index("behavior_session_id")
        return empty
    history = pd.DataFrame(list(rows))
    if "session_type" in history.columns:
        history["stage"] = [session_stage(value) for value in history["session_type"]]
    if "date_of_acquisition" in history.columns:
        history["date_of_acquisition"] = pd.to_datetime(
            history["date_of_acquisition"], utc=True, format="ISO8601"
        )
        history = history.sort_values("date_of_acquisition", kind="stable")
    history = history[[column for column in columns if column in history.columns]]
    indexed: pd.DataFrame = history.set_index("behavior_session_id")
    return indexed
