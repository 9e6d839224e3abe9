"""Cells across the sessions of their container, and population summaries by line and depth.

Pure functions on the per-cell tables of :func:`brainobs.analysis.ophys.cell_responses` (one per
experiment) and an experiment table (the release's ``ophys_experiment_table``: index
``ophys_experiment_id``, with ``ophys_container_id``, ``cre_line``, ``experience_level``,
``imaging_depth``...). A cell keeps its ``cell_specimen_id`` across the sessions of its
container, so its responses line up from familiar to novel sessions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from brainobs.errors import InvalidInputError

__all__ = ["across_sessions", "population_summary", "tracked_responses"]

#: Experiment-table columns copied next to each cell's responses (those present).
EXPERIMENT_COLUMNS = (
    "ophys_container_id", "ophys_session_id", "mouse_id", "cre_line", "targeted_structure",
    "imaging_depth", "session_type", "experience_level", "date_of_acquisition",
)  # fmt: skip
EXPERIENCE_LEVELS = ("Familiar", "Novel 1", "Novel >1")


def tracked_responses(
    per_experiment: Mapping[int, pd.DataFrame], experiments: pd.DataFrame
) -> pd.DataFrame:
    """Return one row per (cell, experiment): the cell's responses and the experiment's metadata.

    ``per_experiment`` maps each ``ophys_experiment_id`` to a per-cell table indexed by
    ``cell_specimen_id``; ``experiments`` is indexed by ``ophys_experiment_id``.
    """
    missing = [e for e in per_experiment if e not in experiments.index]
    if missing:
        raise InvalidInputError(
            f"experiments {missing[:5]} are not in the experiment table; pass the release's "
            "ophys_experiment_table (index ophys_experiment_id)"
        )
    if not per_experiment:
        raise InvalidInputError("no experiments given; pass at least one per-cell table")
    meta = experiments[[c for c in EXPERIMENT_COLUMNS if c in experiments.columns]]
    parts = []
    for experiment_id, cells in per_experiment.items():
        part = cells.reset_index()
        if "cell_specimen_id" not in part.columns:
            raise InvalidInputError("per-cell tables must be indexed by cell_specimen_id")
        part.insert(1, "ophys_experiment_id", experiment_id)
        parts.append(part)
    table = pd.concat(parts, ignore_index=True)
    joined: pd.DataFrame = table.join(meta, on="ophys_experiment_id")
    return joined


def across_sessions(
    tracked: pd.DataFrame,
    metric: str,
    levels: Sequence[str] = EXPERIENCE_LEVELS,
    *,
    matched: bool = True,
) -> pd.DataFrame:
    """Return cell x experience level of ``metric`` (mean of the cell's sessions at a level).

    ``tracked`` is :func:`tracked_responses`' table. With ``matched`` only cells seen at every
    level are kept. The cell's ``cre_line``, container and depth come along as columns.
    """
    for column in (metric, "experience_level", "cell_specimen_id"):
        if column not in tracked.columns:
            raise InvalidInputError(f"tracked responses have no {column!r} column")
    rows = tracked[tracked["experience_level"].isin(list(levels))]
    table = rows.pivot_table(index="cell_specimen_id", columns="experience_level", values=metric,
                             aggfunc="mean")  # fmt: skip
    table = table.reindex(columns=list(levels))
    if matched:
        table = table.dropna(how="any")
    table.columns.name = None
    keep = [c for c in ("cre_line", "ophys_container_id", "targeted_structure", "imaging_depth")
            if c in tracked.columns]  # fmt: skip
    identity = tracked.groupby("cell_specimen_id")[keep].first()
    joined: pd.DataFrame = identity.join(table, how="inner")
    return joined


def population_summary(
    tracked: pd.DataFrame,
    metrics: str | Sequence[str],
    by: Sequence[str] = ("cre_line", "experience_level"),
    *,
    depth_bins: Sequence[float] | None = None,
    depth_column: str = "imaging_depth",
) -> pd.DataFrame:
    """Return the mean, standard error and number of cells of each metric per group.

    One row per group (``by``, plus ``depth_bin`` when ``depth_bins`` edges are given, as
    half-open intervals) and metric; a cell seen in several sessions of a group counts once
    (its sessions are averaged first).
    """
    names = [metrics] if isinstance(metrics, str) else list(metrics)
    table = tracked.copy()
    groups = list(by)
    if depth_bins is not None:
        edges = np.asarray(depth_bins, dtype=float)
        if edges.ndim != 1 or len(edges) < 2 or np.any(np.diff(edges) <= 0):
            raise InvalidInputError("depth_bins must be at least two increasing edges (um)")
        table["depth_bin"] = pd.cut(table[depth_column], pd.Index(edges), right=False)
        groups.append("depth_bin")
    for column in (*groups, *names):
        if column not in table.columns:
            raise InvalidInputError(f"tracked responses have no {column!r} column")
    per_cell = table.groupby([*groups, "cell_specimen_id"], observed=True)[names].mean()
    grouped = per_cell.groupby(level=groups, observed=True)
    out = []
    for name in names:
        stats = grouped[name].agg(["mean", "sem", "count"]).rename(columns={"count": "n_cells"})
        out.append(stats.assign(metric=name).reset_index())
    columns = [*groups, "metric", "mean", "sem", "n_cells"]
    summary: pd.DataFrame = pd.concat(out, ignore_index=True)[columns]
    return summary
