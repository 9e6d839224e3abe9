"""``BehaviorSession``: one change-detection session's behaviour, read lazily from its NWB file.

The reference toolkit (AllenSDK ``BehaviorSession.from_nwb``) reads every stream when the
session is opened. Here construction opens (and checks) the file only; each property reads its
own groups on first access and keeps the result. The names, indexes, columns and dtypes are the
reference's (reference/format_ophys_behavior.md §4.2); the differences are listed in
docs/differences.md, "Sessions".
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from brainobs.config import TransferSettings
from brainobs.errors import InvalidInputError
from brainobs.nwb import NwbFile
from brainobs.sessions import behavior_tables as tables
from brainobs.sessions.eye_tracking import read_eye_tracking, read_rig_geometry
from brainobs.sessions.presentations import read_stimulus_presentations
from brainobs.storage.remote import BlockCacheOptions
from brainobs.types import PathOrUrl

#: The data attributes and methods, as the reference's ``list_data_attributes_and_methods``.
BEHAVIOR_MEMBERS = (
    "behavior_session_id",
    "eye_tracking",
    "eye_tracking_rig_geometry",
    "get_performance_metrics",
    "get_reward_rate",
    "get_rolling_performance_df",
    "licks",
    "metadata",
    "raw_running_speed",
    "rewards",
    "running_speed",
    "stimulus_presentations",
    "stimulus_templates",
    "stimulus_timestamps",
    "task_parameters",
    "trials",
)


class BehaviorSession:
    """A behaviour session: trials, stimuli, licks, rewards, running and eye tracking.

    Open one with ``cache.get_behavior_session(id)`` or :meth:`from_nwb_path`. Every data
    property is read on first access and cached; :meth:`close` releases the file handle.
    """

    #: The report this session gets (:mod:`brainobs.report`).
    report_kind: ClassVar[str] = "behavior"

    def __init__(
        self,
        file: NwbFile,
        *,
        eye_tracking_z_threshold: float = 3.0,
        eye_tracking_dilation_frames: int = 2,
        add_is_change_to_stimulus_presentations_table: bool | None = None,
    ) -> None:
        self._file = file
        self._eye_options = (float(eye_tracking_z_threshold), int(eye_tracking_dilation_frames))
        self._add_is_change = add_is_change_to_stimulus_presentations_table
        _ = file.h5  # open and check the file now: a damaged file fails here, not later

    @classmethod
    def from_nwb_path(
        cls,
        nwb_path: PathOrUrl,
        *,
        endpoint: str | None = None,
        settings: TransferSettings | None = None,
        block_cache: BlockCacheOptions | None = None,
        **kwargs: Any,
    ) -> Any:
        """Return the session in a local NWB file or at an ``s3://`` / ``https://`` URL.

        Remote files are read by byte ranges, never downloaded whole; ``endpoint`` redirects
        ``s3://`` to a mirror and ``cache`` tunes the block cache of remote reads. Other
        keywords are the reference's (``eye_tracking_z_threshold``, ...).
        """
        file = NwbFile.open(nwb_path, endpoint=endpoint, settings=settings, block_cache=block_cache)
        return cls(file, **kwargs)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._file.name}>"

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def nwb_file(self) -> NwbFile:
        """Return the lazy handle on the session's NWB file (``bytes_transferred``...)."""
        return self._file

    def close(self) -> None:
        """Close the NWB file; properties already read stay available, others reopen it."""
        self._file.close()

    def list_data_attributes_and_methods(self) -> list[str]:
        """Return the names of the session's data attributes and methods."""
        return list(BEHAVIOR_MEMBERS)

    # --- metadata ----------------------------------------------------------------------------
    @cached_property
    def metadata(self) -> dict[str, Any]:
        """Return the session metadata (subject, rig, session type, acquisition date in UTC)."""
        return tables.read_behavior_metadata(self._file)

    @cached_property
    def behavior_session_id(self) -> int:
        """Return the behavior session id."""
        return int(self.metadata["behavior_session_id"])

    @cached_property
    def task_parameters(self) -> dict[str, Any]:
        """Return the task parameters (response window, reward volumes, stimulus...)."""
        return tables.read_task_parameters(self._file)

    # --- task and stimuli --------------------------------------------------------------------
    @cached_property
    def trials(self) -> pd.DataFrame:
        """Return the trials, indexed by ``trials_id``."""
        return tables.read_trials(self._file)

    @cached_property
    def stimulus_presentations(self) -> pd.DataFrame:
        """Return the stimulus presentations in time order (index ``stimulus_presentations_id``)."""
        add_is_change = self._add_is_change
        if add_is_change is None:
            add_is_change = self._recomputes_is_change()
        trials = self.trials if self._file.has(tables.TRIALS_PATH) else None
        return read_stimulus_presentations(self._file, trials, add_is_change)

    def _recomputes_is_change(self) -> bool:
        """Return whether ``is_change`` is recomputed on read (behavior-only files)."""
        return not self._file.has("/units")

    @cached_property
    def stimulus_templates(self) -> pd.DataFrame:
        """Return the images shown, indexed by ``image_name``: ``unwarped``, ``warped`` arrays."""
        return tables.read_stimulus_templates(self._file)

    @cached_property
    def stimulus_timestamps(self) -> np.ndarray:
        """Return the display frame times (s)."""
        return tables.read_stimulus_timestamps(self._file)

    # --- behaviour streams -------------------------------------------------------------------
    @cached_property
    def licks(self) -> pd.DataFrame:
        """Return the licks: ``timestamps`` (s) and ``frame``."""
        return tables.read_licks(self._file)

    @cached_property
    def rewards(self) -> pd.DataFrame:
        """Return the rewards: ``volume`` (mL), ``timestamps`` (s), ``auto_rewarded``."""
        return tables.read_rewards(self._file)

    @cached_property
    def running_speed(self) -> pd.DataFrame:
        """Return the filtered running speed: ``timestamps`` (s), ``speed`` (cm/s)."""
        return tables.read_running_speed(self._file, filtered=True)

    @cached_property
    def raw_running_speed(self) -> pd.DataFrame:
        """Return the unfiltered running speed: ``timestamps`` (s), ``speed`` (cm/s)."""
        return tables.read_running_speed(self._file, filtered=False)

    @cached_property
    def eye_tracking(self) -> pd.DataFrame:
        """Return the eye tracking fits indexed by ``frame``, blinks re-detected (empty if none)."""
        z_threshold, dilation = self._eye_options
        return read_eye_tracking(self._file, z_threshold, dilation)

    @cached_property
    def eye_tracking_rig_geometry(self) -> dict[str, Any]:
        """Return the camera, LED and monitor positions and rotations (``{}`` if none)."""
        return read_rig_geometry(self._file)

    # --- performance -------------------------------------------------------------------------
    def _metrics_trials(self) -> pd.DataFrame:
        """Return the trials as the performance functions take them (with ``change_time``)."""
        return tables.metrics_trials(self.trials)

    def _window_start(self) -> float:
        """Return the start of the response window (s)."""
        return tables.response_window_start(self.task_parameters)

    def get_reward_rate(self) -> np.ndarray:
        """Return the reward rate (rewards/min) of each trial; NaN for the first 10 trials."""
        from brainobs.analysis.performance import reward_rate  # scipy.stats: imported on use

        rate = reward_rate(self._metrics_trials(), response_window_start=self._window_start())
        return rate.to_numpy()

    def get_rolling_performance_df(self) -> pd.DataFrame:
        """Return per trial the reward rate, hit and false-alarm rates and d-prime."""
        from brainobs.analysis.performance import rolling_performance

        return rolling_performance(
            self._metrics_trials(), response_window_start=self._window_start()
        )

    def get_performance_metrics(
        self, engaged_trial_reward_rate_threshold: float = 2.0
    ) -> dict[str, int | float]:
        """Return the session's performance summary (trial counts, rates, d-prime)."""
        if not np.isfinite(engaged_trial_reward_rate_threshold):
            raise InvalidInputError(
                "engaged_trial_reward_rate_threshold must be a finite number of rewards/min, "
                f"not {engaged_trial_reward_rate_threshold!r}."
            )
        from brainobs.analysis.performance import performance_metrics

        return performance_metrics(
            self._metrics_trials(),
            self.rewards,
            engaged_trial_reward_rate_threshold=engaged_trial_reward_rate_threshold,
            response_window_start=self._window_start(),
        )
