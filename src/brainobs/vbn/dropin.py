"""The VBN classes in the AllenSDK drop-in flavour: the reference toolkit's tables and methods.

``from brainobs.allensdk import VisualBehaviorNeuropixelsProjectCache`` gives this module's
cache: the same implementation as the modern one (:mod:`brainobs.vbn.cache`), different only
where tables are handed out. Metadata tables are what the reference's ``pandas.read_csv``
gives (list-valued columns and dates as the release's text, text as ``object`` with NaN, the
reference's ``int64``/``Int64``/``float64`` and the file's column order), session tables have
``object`` text, ``load_manifest``/``load_latest_manifest`` return None, and sessions list the
reference's data attributes and methods. Declared as ``dropin_cache_class`` in
:data:`brainobs.releases.VBN`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pandas as pd

from brainobs.sessions import behavior as modern_behavior
from brainobs.tables.load import reference_text
from brainobs.vbn import cache as modern_cache
from brainobs.vbn import session as modern_session

#: ``list_data_attributes_and_methods()`` of the reference's ``BehaviorEcephysSession``.
REFERENCE_ECEPHYS_MEMBERS = (
    "behavior_data_class", "behavior_session_id", "eye_tracking", "eye_tracking_rig_geometry",
    "get_channels", "get_current_source_density", "get_lfp", "get_performance_metrics",
    "get_probes_obj", "get_reward_rate", "get_rolling_performance_df", "get_units", "licks",
    "mean_waveforms", "metadata", "optotagging_table", "probes", "raw_running_speed", "rewards",
    "running_speed", "spike_amplitudes", "spike_times", "stimulus_presentations",
    "stimulus_templates", "stimulus_timestamps", "task_parameters", "trials",
)  # fmt: skip
#: The behaviour tables a session hands out as properties.
BEHAVIOR_TABLES = (
    "eye_tracking", "licks", "raw_running_speed", "rewards", "running_speed",
    "stimulus_presentations", "stimulus_templates", "trials",
)  # fmt: skip


class _ReferenceTable:
    """A read-only property handing out the modern class's table with the reference's text."""

    def __set_name__(self, owner: type, name: str) -> None:
        self._owner, self._name = owner, name

    def __get__(self, obj: Any, objtype: type | None = None) -> Any:
        if obj is None:
            return self
        tables = obj.__dict__.setdefault("_reference_tables", {})
        if self._name not in tables:
            tables[self._name] = reference_text(getattr(super(self._owner, obj), self._name))
        return tables[self._name]

    def __set__(self, obj: Any, value: Any) -> None:
        raise AttributeError(f"{self._name} is read-only")


class BehaviorSession(modern_behavior.BehaviorSession):
    """A behaviour session whose tables have the reference's ``object`` text."""

    eye_tracking = _ReferenceTable()
    licks = _ReferenceTable()
    raw_running_speed = _ReferenceTable()
    rewards = _ReferenceTable()
    running_speed = _ReferenceTable()
    stimulus_presentations = _ReferenceTable()
    stimulus_templates = _ReferenceTable()
    trials = _ReferenceTable()

    def get_rolling_performance_df(self) -> pd.DataFrame:
        """Return the rolling performance (reward rate, hit/false-alarm rates, d')."""
        return reference_text(super().get_rolling_performance_df())


class BehaviorEcephysSession(modern_session.BehaviorEcephysSession):
    """A VBN ecephys session with the reference's tables and list of data members."""

    eye_tracking = _ReferenceTable()
    licks = _ReferenceTable()
    raw_running_speed = _ReferenceTable()
    rewards = _ReferenceTable()
    running_speed = _ReferenceTable()
    stimulus_presentations = _ReferenceTable()
    stimulus_templates = _ReferenceTable()
    trials = _ReferenceTable()
    optotagging_table = _ReferenceTable()
    probes = _ReferenceTable()

    @classmethod
    def behavior_data_class(cls) -> type[BehaviorSession]:
        """Return the class that holds the behaviour part of a session."""
        return BehaviorSession

    def list_data_attributes_and_methods(self) -> list[str]:
        """Return the reference's names of the session's data attributes and methods."""
        return list(REFERENCE_ECEPHYS_MEMBERS)

    def get_rolling_performance_df(self) -> pd.DataFrame:
        """Return the rolling performance (reward rate, hit/false-alarm rates, d')."""
        return reference_text(super().get_rolling_performance_df())

    def get_channels(self, filter_by_validity: bool = True) -> pd.DataFrame:
        """Return the channels indexed by ``id`` (only channels with valid data by default)."""
        return reference_text(super().get_channels(filter_by_validity))

    def get_units(self, *args: Any, **kwargs: Any) -> pd.DataFrame:
        """Return the units indexed by ``id`` (see the modern class for the filters)."""
        return reference_text(super().get_units(*args, **kwargs))


class VisualBehaviorNeuropixelsProjectCache(modern_cache.VisualBehaviorNeuropixelsProjectCache):
    """Visual Behavior Neuropixels with the AllenSDK's tables, types and method returns.

    Construct with :meth:`from_s3_cache`, :meth:`from_local_cache` or :meth:`from_sample`.
    The modern class (``from brainobs import VisualBehaviorNeuropixelsProjectCache``) has the
    same methods with typed tables: lists, tz-aware dates, nullable integers.
    """

    REFERENCE_TABLES: ClassVar[bool] = True
    ECEPHYS_SESSION_CLASS: ClassVar[type[modern_session.BehaviorEcephysSession]] = (
        BehaviorEcephysSession
    )
    BEHAVIOR_SESSION_CLASS: ClassVar[type[modern_behavior.BehaviorSession]] = BehaviorSession

    def get_channel_table(self) -> pd.DataFrame:  # type: ignore[override]
        """Return every recording channel, with ``valid_data``."""
        return super().get_channel_table()

    def get_unit_table(self) -> pd.DataFrame:  # type: ignore[override]
        """Return every unit of every session (no quality filtering)."""
        return super().get_unit_table()

    def load_manifest(self, manifest_name: str) -> None:
        """Switch to manifest ``manifest_name`` (a file name or a version like ``0.5.0``)."""
        super().load_manifest(manifest_name)

    def load_latest_manifest(self) -> None:
        """Switch to the newest manifest."""
        super().load_latest_manifest()
