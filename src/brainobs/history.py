"""Cross-session summaries: a mouse's training history, computed session by session.

The work per session (open its NWB, compute the task metrics) is independent, so it runs
through :func:`brainobs.parallel.map_sessions`: serially by default, on a Dask cluster or
an executor when one is given.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import pandas as pd

from brainobs.analysis.behavior import history_table
from brainobs.errors import UnknownIdError
from brainobs.parallel import map_sessions


def _session_summary(
    cache: Any,
    engaged_threshold: float,
    metadata_of: dict[int, dict[str, Any]],
    behavior_session_id: int,
) -> dict[str, Any]:
    """Return one session's stage, date and task metrics (computed where it runs)."""
    metadata = metadata_of[behavior_session_id]
    session = cache.get_behavior_session(behavior_session_id)
    try:
        metrics = session.get_performance_metrics(engaged_threshold)
    finally:
        session.close()
    return {
        "behavior_session_id": behavior_session_id,
        "session_type": metadata["session_type"],
        "date_of_acquisition": metadata["date_of_acquisition"],
        **metrics,
    }


def training_history(
    cache: Any,
    mouse_id: int | str,
    client: Any = None,
    show_progress: bool = False,
    engaged_trial_reward_rate_threshold: float = 2.0,
) -> pd.DataFrame:
    """Return one row per behavior session of ``mouse_id``: stage, date and task metrics.

    ``cache`` is a project cache (e.g. ``VisualBehaviorNeuropixelsProjectCache``); every
    behavior session of the mouse -- training, habituation and recording days -- is opened
    and summarised with its ``get_performance_metrics()``. ``client``
    (a ``dask.distributed.Client`` or an executor) spreads the sessions over workers.
    """
    table = cache.get_behavior_session_table()
    mine = table[table["mouse_id"].astype(str) == str(mouse_id)]
    if mine.empty:
        mice = ", ".join(str(m) for m in sorted(table["mouse_id"].unique())[:10])
        raise UnknownIdError(
            f"Mouse {mouse_id} has no behavior sessions in this release. Mice include: "
            f"{mice} (see get_behavior_session_table())."
        )
    metadata_of = mine[["session_type", "date_of_acquisition"]].to_dict("index")
    outcome = map_sessions(
        partial(_session_summary, cache, engaged_trial_reward_rate_threshold, metadata_of),
        [int(i) for i in mine.index],
        client=client,
        show_progress=show_progress,
        desc=f"mouse {mouse_id}",
    )
    outcome.raise_for_failures()
    return history_table(outcome.values())
