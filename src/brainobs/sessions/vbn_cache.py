"""``VisualBehaviorNeuropixelsProjectCache``: the VBN release, with the reference's API."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pandas as pd

from brainobs.releases import VBN, Release
from brainobs.sessions.project_cache import ProjectCache
from brainobs.tables.filters import filter_abnormal_sessions, filter_units, filter_valid_channels
from brainobs.tables.schemas import VBN_SCHEMAS, TableSchema


class VisualBehaviorNeuropixelsProjectCache(ProjectCache):
    """Visual Behavior Neuropixels: 153 ecephys sessions, their behaviour history, units.

    Construct with :meth:`from_s3_cache`, :meth:`from_local_cache` or :meth:`from_sample`.
    Tables differ from the reference toolkit's in documented ways: list-valued columns are
    real lists, dates are tz-aware datetimes, and a unit-quality threshold of 0 filters.
    """

    RELEASE: ClassVar[Release] = VBN
    SCHEMAS: ClassVar[dict[str, TableSchema]] = VBN_SCHEMAS

    @classmethod
    def _write_sample(cls, folder: Path, size: str, seed: int) -> Path:
        from brainobs.sample import write_vbn_release

        return Path(write_vbn_release(folder, size=size, seed=seed).root)

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

    def get_channel_table(self, filter_by_validity: bool = True) -> pd.DataFrame:
        """Return the recording channels, only valid ones unless asked."""
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
