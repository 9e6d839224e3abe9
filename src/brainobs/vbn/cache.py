"""``VisualBehaviorNeuropixelsProjectCache``: the VBN release, with the reference's API."""

from __future__ import annotations

from typing import Any, ClassVar

import pandas as pd

from brainobs.errors import UnknownIdError
from brainobs.nwb import NwbFile
from brainobs.releases import VBN, Release
from brainobs.sessions.behavior import BehaviorSession
from brainobs.sessions.lfp import LfpFiles
from brainobs.sessions.project_cache import ProjectCache
from brainobs.storage.remote import BlockCacheOptions
from brainobs.tables.filters import filter_abnormal_sessions, filter_units, filter_valid_channels
from brainobs.tables.schemas import TableSchema
from brainobs.vbn.schemas import VBN_SCHEMAS
from brainobs.vbn.session import BehaviorEcephysSession


class VisualBehaviorNeuropixelsProjectCache(ProjectCache):
    """Visual Behavior Neuropixels: 153 ecephys sessions, their behaviour history, units.

    Construct with :meth:`from_s3_cache`, :meth:`from_local_cache` or :meth:`from_sample`.
    Tables differ from the reference toolkit's in documented ways: list-valued columns are
    real lists, dates are tz-aware datetimes, and a unit-quality threshold of 0 filters.
    """

    RELEASE: ClassVar[Release] = VBN
    SCHEMAS: ClassVar[dict[str, TableSchema]] = VBN_SCHEMAS
    PROJECT_NAME: ClassVar[str] = VBN.project_name
    BUCKET_NAME: ClassVar[str] = VBN.bucket
    #: The classes sessions are opened with (the drop-in flavour hands out its own).
    ECEPHYS_SESSION_CLASS: ClassVar[type[BehaviorEcephysSession]] = BehaviorEcephysSession
    BEHAVIOR_SESSION_CLASS: ClassVar[type[BehaviorSession]] = BehaviorSession

    def get_ecephys_session_table(self, filter_abnormalities: bool = True) -> pd.DataFrame:
        """Return the ecephys sessions, without abnormal ones unless asked."""
        table = self._table("ecephys_sessions")
        return filter_abnormal_sessions(table) if filter_abnormalities else table

    def get_behavior_session_table(self) -> pd.DataFrame:
        """Return every behavior session (training, habituation and recording days)."""
        return self._table("behavior_sessions")

    def get_probe_table(self) -> pd.DataFrame:
        """Return the probes of every ecephys session."""
        return self._table("probes")

    def get_channel_table(self, filter_by_validity: bool = False) -> pd.DataFrame:
        """Return every recording channel with ``valid_data`` (only valid ones when asked)."""
        table = self._table("channels")
        return filter_valid_channels(table) if filter_by_validity else table

    def get_unit_table(
        self,
        filter_by_validity: bool = False,
        amplitude_cutoff_maximum: float | None = None,
        presence_ratio_minimum: float | None = None,
        isi_violations_maximum: float | None = None,
    ) -> pd.DataFrame:
        """Return the units of every session, filtered by the given quality thresholds."""
        return filter_units(
            self._table("units"),
            filter_by_validity=filter_by_validity,
            amplitude_cutoff_maximum=amplitude_cutoff_maximum,
            presence_ratio_minimum=presence_ratio_minimum,
            isi_violations_maximum=isi_violations_maximum,
        )

    # --- sessions ----------------------------------------------------------------------------
    def get_ecephys_session(
        self,
        ecephys_session_id: int,
        stream: bool = False,
        *,
        block_cache: BlockCacheOptions | None = None,
        **kwargs: Any,
    ) -> BehaviorEcephysSession:
        """Return an ecephys session, opened lazily (nothing but metadata is read yet).

        The session NWB is downloaded (and verified) into the cache, or with ``stream=True``
        read from the source by byte ranges; probes' LFP files are resolved the same way when
        ``get_lfp`` asks for them. ``block_cache`` tunes the block cache of streamed reads.
        """
        row = self._session_row(
            self.get_ecephys_session_table(filter_abnormalities=False),
            ecephys_session_id,
            "ecephys session",
            "get_ecephys_session_table()",
        )
        file = self._open_data_file(int(row["file_id"]), stream, block_cache)
        lfp_files = LfpFiles(opener=self._lfp_opener(int(ecephys_session_id), stream, block_cache))
        return self.ECEPHYS_SESSION_CLASS(file, lfp_files=lfp_files, **kwargs)

    def get_behavior_session(
        self,
        behavior_session_id: int,
        stream: bool = False,
        *,
        block_cache: BlockCacheOptions | None = None,
        **kwargs: Any,
    ) -> BehaviorSession:
        """Return a behavior session, opened lazily.

        Sessions recorded with Neuropixels have no behavior-only file (``file_id`` -999): their
        behaviour is read from the ecephys session's NWB, streamed or downloaded.
        """
        row = self._session_row(
            self.get_behavior_session_table(),
            behavior_session_id,
            "behavior session",
            "get_behavior_session_table()",
        )
        file_id = row["file_id"]
        if pd.isna(file_id) or int(file_id) < 0:
            ecephys = self._session_row(
                self.get_ecephys_session_table(filter_abnormalities=False),
                row["ecephys_session_id"],
                "ecephys session",
                "get_ecephys_session_table()",
            )
            file_id = ecephys["file_id"]
        file = self._open_data_file(int(file_id), stream, block_cache)
        return self.BEHAVIOR_SESSION_CLASS(file, **kwargs)

    @staticmethod
    def _session_row(table: pd.DataFrame, session_id: Any, what: str, lister: str) -> pd.Series:
        """Return the row of ``session_id``; raise UnknownIdError saying how to list the ids."""
        try:
            return table.loc[int(session_id)]
        except (KeyError, TypeError, ValueError):
            raise UnknownIdError(
                f"There is no {what} with id {session_id!r} in this release "
                f"({len(table)} {what}s, ids {table.index.min()} to {table.index.max()}). "
                f"List the valid ids with cache.{lister} or `brainobs sessions vbn`."
            ) from None

    def _lfp_opener(
        self, ecephys_session_id: int, stream: bool, block_cache: BlockCacheOptions | None
    ) -> Any:
        """Return a function opening a probe's LFP file of this session through the cache."""

        def open_lfp(probe_id: int) -> NwbFile:
            probes = self.get_probe_table()
            probes = probes[probes["ecephys_session_id"] == ecephys_session_id]
            if probe_id not in probes.index or int(probes.loc[probe_id, "file_id"]) < 0:
                raise UnknownIdError(
                    f"The probes table lists no LFP file for probe {probe_id} of session "
                    f"{ecephys_session_id}; its probes with LFP are "
                    f"{probes.index[probes['file_id'] >= 0].tolist()}."
                )
            return self._open_data_file(int(probes.loc[probe_id, "file_id"]), stream, block_cache)

        return open_lfp

    # --- what every release's cache answers ------------------------------------------------
    def session_table(self, include_abnormal: bool = False) -> pd.DataFrame:
        """Return the ecephys sessions (with abnormal ones when asked)."""
        return self.get_ecephys_session_table(filter_abnormalities=not include_abnormal)

    def get_session(
        self, session_id: int, stream: bool = False
    ) -> BehaviorEcephysSession | BehaviorSession:
        """Return the ecephys session ``session_id``, else the behavior session of that id."""
        if session_id in self.get_ecephys_session_table(filter_abnormalities=False).index:
            return self.get_ecephys_session(session_id, stream=stream)
        if session_id in self.get_behavior_session_table().index:
            return self.get_behavior_session(session_id, stream=stream)
        raise UnknownIdError(
            f"{session_id} is neither an ecephys nor a behavior session id of this release; "
            "list them with cache.get_ecephys_session_table() or `brainobs sessions vbn`."
        )
