"""``VisualBehaviorOphysProjectCache``: the VBO release, with the reference's API.

The four metadata tables come back after the reference's load-time transforms
(reference/format_ophys_behavior.md §2.1: ``mouse_id`` as text, list columns as lists, dates
in UTC, nullable integers, the reference's leading column order, the reference's indexes).
Experiments and behavior sessions open lazily, from a verified local copy or (``stream=True``)
by byte ranges. Cells are followed across the sessions of their container by
:meth:`VisualBehaviorOphysProjectCache.get_container_cell_responses`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import pandas as pd

from brainobs.analysis.ophys_summary import EXPERIENCE_LEVELS, across_sessions, tracked_responses
from brainobs.errors import InvalidInputError, UnknownIdError
from brainobs.releases import VBO, Release
from brainobs.sessions.behavior import BehaviorSession
from brainobs.sessions.project_cache import ProjectCache
from brainobs.storage.remote import BlockCacheOptions
from brainobs.tables.schemas import TableSchema
from brainobs.vbo.experiment import BehaviorOphysExperiment
from brainobs.vbo.schemas import VBO_SCHEMAS


class VisualBehaviorOphysProjectCache(ProjectCache):
    """Visual Behavior 2-photon: behavior sessions, imaging sessions, planes and cells.

    Construct with :meth:`from_s3_cache`, :meth:`from_local_cache` or :meth:`from_sample`.
    Unlike the reference in cloud mode, each table getter returns a fresh copy (changing it
    does not change what the next call returns) and honours ``suppress``.
    """

    RELEASE: ClassVar[Release] = VBO
    SCHEMAS: ClassVar[dict[str, TableSchema]] = VBO_SCHEMAS

    # --- tables ------------------------------------------------------------------------------
    def get_behavior_session_table(self, suppress: Sequence[str] | None = None) -> pd.DataFrame:
        """Return every behavior session (training, habituation and imaging days), indexed by
        ``behavior_session_id``; ``suppress`` names columns to leave out."""
        return _without(self._table("behavior_session_table"), suppress)

    def get_ophys_session_table(
        self, suppress: Sequence[str] | None = None, index_column: str = "ophys_session_id"
    ) -> pd.DataFrame:
        """Return the imaging sessions, indexed by ``ophys_session_id`` (or by
        ``behavior_session_id`` with ``index_column``)."""
        table = _without(self._table("ophys_session_table"), suppress)
        if index_column == "ophys_session_id":
            return table
        if index_column != "behavior_session_id":
            raise InvalidInputError(
                "index_column must be 'ophys_session_id' or 'behavior_session_id', "
                f"not {index_column!r}."
            )
        return table.reset_index().set_index("behavior_session_id")

    def get_ophys_experiment_table(self, suppress: Sequence[str] | None = None) -> pd.DataFrame:
        """Return the experiments (imaging planes), indexed by ``ophys_experiment_id``."""
        return _without(self._table("ophys_experiment_table"), suppress)

    def get_ophys_cells_table(self) -> pd.DataFrame:
        """Return every ROI of every experiment: ``cell_specimen_id`` and
        ``ophys_experiment_id``, indexed by ``cell_roi_id``."""
        return self._table("ophys_cells_table")

    # --- experiments and sessions ------------------------------------------------------------
    def get_behavior_ophys_experiment(
        self,
        ophys_experiment_id: int,
        stream: bool = False,
        *,
        block_cache: BlockCacheOptions | None = None,
        **kwargs: Any,
    ) -> BehaviorOphysExperiment:
        """Return an experiment (one imaging plane and its session's behaviour), opened lazily.

        Its NWB file is downloaded and verified into the cache, or with ``stream=True`` read
        from the source by byte ranges. Keywords are the experiment's (``exclude_invalid_rois``,
        ``events_filter_scale_seconds``...).
        """
        experiments = self.get_ophys_experiment_table()
        row = _row(experiments, ophys_experiment_id, "experiment", "get_ophys_experiment_table()")
        file = self._open_data_file(int(row["file_id"]), stream, block_cache)
        return BehaviorOphysExperiment(file, imaging_depths=experiments["imaging_depth"], **kwargs)

    def get_behavior_session(
        self,
        behavior_session_id: int,
        stream: bool = False,
        *,
        block_cache: BlockCacheOptions | None = None,
        **kwargs: Any,
    ) -> BehaviorSession:
        """Return a behavior session, opened lazily.

        An imaging session's behaviour has no file of its own (``file_id`` -999): it is read
        from the file of the first experiment listed for it (with ``stream=True`` only the
        behaviour's bytes of that file are fetched).
        """
        row = _row(self.get_behavior_session_table(), behavior_session_id, "behavior session",
                   "get_behavior_session_table()")  # fmt: skip
        file_id = row["file_id"]
        if pd.isna(file_id) or int(file_id) < 0:
            experiments = row["ophys_experiment_id"]
            if not isinstance(experiments, list) or not experiments:
                raise UnknownIdError(
                    f"behavior session {behavior_session_id} has neither a file of its own nor "
                    "an imaging experiment in this release."
                )
            table = self.get_ophys_experiment_table()
            file_id = _row(table, experiments[0], "experiment", "get_ophys_experiment_table()")[
                "file_id"
            ]
        return BehaviorSession(self._open_data_file(int(file_id), stream, block_cache), **kwargs)

    # --- cells across the sessions of a container --------------------------------------------
    def get_container_cell_responses(
        self,
        ophys_container_id: int,
        trace: str = "dff",
        stream: bool = False,
        **kwargs: Any,
    ) -> pd.DataFrame:
        """Return one row per (cell, experiment) of a container: the cell's responses
        (change, repeat, omission, image, preferred image) and the experiment's metadata
        (experience level, session type, cre line, depth...).

        Each experiment of the container (one per imaging session) is opened in turn and
        closed; keywords go to ``get_cell_responses`` (windows, presentations).
        """
        experiments = self.get_ophys_experiment_table()
        ids = experiments.index[experiments["ophys_container_id"] == int(ophys_container_id)]
        if not len(ids):
            raise UnknownIdError(
                f"There is no container {ophys_container_id} in this release; its containers "
                "are the ophys_container_id values of get_ophys_experiment_table()."
            )
        per_experiment = {}
        for experiment_id in ids:
            with self.get_behavior_ophys_experiment(int(experiment_id), stream) as experiment:
                per_experiment[int(experiment_id)] = experiment.get_cell_responses(trace, **kwargs)
        return tracked_responses(per_experiment, experiments)

    def get_cells_across_sessions(
        self,
        ophys_container_id: int,
        metric: str = "image",
        levels: Sequence[str] = EXPERIENCE_LEVELS,
        *,
        matched: bool = True,
        trace: str = "dff",
        stream: bool = False,
    ) -> pd.DataFrame:
        """Return cell x experience level of ``metric`` (a column of
        :meth:`get_container_cell_responses`) for a container's cells: familiar versus novel.

        With ``matched`` only cells seen at every level are kept.
        """
        tracked = self.get_container_cell_responses(ophys_container_id, trace, stream)
        return across_sessions(tracked, metric, levels, matched=matched)

    # --- what every release's cache answers ------------------------------------------------
    def session_table(self, include_abnormal: bool = False) -> pd.DataFrame:
        """Return the experiments (imaging planes): what ``brainobs sessions vbo`` lists.

        The release holds only experiments that passed quality control, so
        ``include_abnormal`` changes nothing.
        """
        return self.get_ophys_experiment_table()

    def get_session(
        self, session_id: int, stream: bool = False
    ) -> BehaviorOphysExperiment | BehaviorSession:
        """Return the experiment ``session_id``, else the behavior session of that id."""
        if session_id in self.get_ophys_experiment_table().index:
            return self.get_behavior_ophys_experiment(session_id, stream=stream)
        if session_id in self.get_behavior_session_table().index:
            return self.get_behavior_session(session_id, stream=stream)
        sessions = self.get_ophys_session_table()
        if session_id in sessions.index:
            planes = sessions["ophys_experiment_id"].loc[session_id]
            raise UnknownIdError(
                f"{session_id} is an imaging session; open one of its experiments (imaging "
                f"planes) {planes}, or its behavior session "
                f"{sessions['behavior_session_id'].loc[session_id]}."
            )
        raise UnknownIdError(
            f"{session_id} is neither an experiment nor a behavior session id of this release; "
            "list them with cache.get_ophys_experiment_table() or `brainobs sessions vbo`."
        )


def _without(table: pd.DataFrame, suppress: Sequence[str] | None) -> pd.DataFrame:
    """Return ``table`` without the ``suppress`` columns (raise on unknown names)."""
    if not suppress:
        return table
    names = [suppress] if isinstance(suppress, str) else list(suppress)
    unknown = [n for n in names if n not in table.columns]
    if unknown:
        raise InvalidInputError(f"suppress names no column {unknown}; the columns are "
                                f"{list(table.columns)}.")  # fmt: skip
    return table.drop(columns=names)


def _row(table: pd.DataFrame, row_id: Any, what: str, lister: str) -> pd.Series:
    """Return the row of ``row_id``; raise UnknownIdError saying how to list the ids."""
    try:
        return table.loc[int(row_id)]
    except (KeyError, TypeError, ValueError):
        raise UnknownIdError(
            f"There is no {what} with id {row_id!r} in this release ({len(table)} {what}s, "
            f"ids {table.index.min()} to {table.index.max()}). List the valid ids with "
            f"cache.{lister} or `brainobs sessions vbo`."
        ) from None
