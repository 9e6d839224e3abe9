"""``EcephysSession``: a Visual Coding Neuropixels session, read lazily.

Open one with ``cache.get_session_data(id)`` or :meth:`EcephysSession.from_nwb_path`. Names,
indexes, columns and defaults are the reference's (reference/format_ecephys.md §4.2): units
filtered by validity, brain location and the quality thresholds (amplitude cutoff <= 0.1,
presence ratio >= 0.95, ISI violations <= 0.5) and merged with their channel and probe;
presentations with the reference's stimulus and column names and its ``"null"`` fill; stimulus
conditions; invalid-time masking of presentations, spikes (a warning) and LFP. Nothing is read
until asked for, spike times are read only for the units asked, and LFP stays lazy. The
presentationwise methods come from
:class:`~brainobs.sessions.stimulus_analysis.StimulusAnalysisMixin`; :meth:`get_tuning_metrics`
computes the unit tuning metrics of :mod:`brainobs.analysis.tuning` from the spikes.
Differences from the reference are listed in docs/differences.md ("Visual Coding
Neuropixels").
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import xarray as xr

from brainobs.analysis import conditions, tuning
from brainobs.analysis.conditions import NON_STIMULUS_PARAMETERS
from brainobs.analysis.epochs import unused_columns
from brainobs.config import TransferSettings
from brainobs.errors import InvalidInputError, UnknownIdError
from brainobs.nwb import NwbFile
from brainobs.sessions import ecephys_tables
from brainobs.sessions.lfp import LfpFiles, lazy_lfp, read_csd, require_lfp
from brainobs.sessions.stimulus_analysis import (
    DETAILED_STIMULUS_PARAMETERS as DETAILED,
)
from brainobs.sessions.stimulus_analysis import (
    StimulusAnalysisMixin,
    checked_ids,
)
from brainobs.storage.remote import BlockCacheOptions
from brainobs.types import PathOrUrl
from brainobs.vcn import eye, presentations
from brainobs.vcn import session_tables as tables
from brainobs.vcn.lfp import mask_lfp
from brainobs.vcn.units import unit_thresholds

#: Gives the warehouse's channel columns of this session (the project cache's).
ChannelColumns = Callable[[], pd.DataFrame]


class EcephysSession(StimulusAnalysisMixin):
    """A Visual Coding Neuropixels session: probes, channels, units, stimuli, running, eye, LFP.

    ``filter_by_validity``, ``filter_out_of_brain_units`` and the three thresholds select the
    units (a threshold of None or inf turns it off); ``external_channel_columns`` gives the
    warehouse's structure and CCF columns (the project cache passes them);
    ``lfp_files`` says where each probe's LFP file is.
    """

    report_kind: ClassVar[str] = "vcn_ecephys"
    DETAILED_STIMULUS_PARAMETERS: ClassVar[tuple[str, ...]] = DETAILED

    def __init__(
        self,
        file: NwbFile,
        *,
        lfp_files: LfpFiles | None = None,
        external_channel_columns: ChannelColumns | None = None,
        filter_by_validity: bool = True,
        filter_out_of_brain_units: bool = True,
        **unit_filters: float | None,
    ) -> None:
        self._file = file
        self._lfp_files = lfp_files or LfpFiles()
        self._external = external_channel_columns
        self._filter_by_validity = filter_by_validity
        self._filter_out_of_brain = filter_out_of_brain_units
        self._thresholds = unit_thresholds(**unit_filters)
        self._warned_invalid_spikes = False

    @classmethod
    def from_nwb_path(
        cls,
        path: PathOrUrl,
        nwb_version: int = 2,
        api_kwargs: Mapping[str, Any] | None = None,
        *,
        probe_lfp_paths: Mapping[int, PathOrUrl] | None = None,
        endpoint: str | None = None,
        settings: TransferSettings | None = None,
        block_cache: BlockCacheOptions | None = None,
        **kwargs: Any,
    ) -> EcephysSession:
        """Return the session in a local NWB file or at an ``s3://`` / ``https://`` URL.

        ``api_kwargs`` holds the unit filters (as the reference's); ``probe_lfp_paths`` maps
        probe ids to their LFP files (by default the ``probe_<id>_lfp.nwb`` files beside a
        local session file are used, as in a cache folder).
        """
        if int(nwb_version) != 2:
            raise InvalidInputError(
                f"nwb_version={nwb_version}: brainobs reads the released NWB 2 files only."
            )
        file = NwbFile.open(path, endpoint=endpoint, settings=settings, block_cache=block_cache)
        paths = dict(probe_lfp_paths or {}) or _sibling_lfp_files(path)
        lfp_files = LfpFiles(paths=paths, endpoint=endpoint)
        return cls(file, lfp_files=lfp_files, **{**dict(api_kwargs or {}), **kwargs})

    def close(self) -> None:
        """Close the session file and any LFP file opened."""
        self._file.close()
        self._lfp_files.close()

    def __repr__(self) -> str:
        return f"<EcephysSession {self._file.name}>"

    # --- metadata ----------------------------------------------------------------------------
    @cached_property
    def ecephys_session_id(self) -> int:
        """Return the session id (the file's identifier)."""
        return int(self._file.identifier)

    @cached_property
    def session_start_time(self) -> datetime:
        """Return when the session started (timezone-aware)."""
        return tables.read_session_start_time(self._file)

    @cached_property
    def _metadata(self) -> dict[str, Any]:
        return tables.read_metadata(self._file)

    @property
    def specimen_name(self) -> Any:
        """Return the specimen (mouse) name."""
        return self._metadata["specimen_name"]

    @property
    def age_in_days(self) -> Any:
        """Return the mouse's age in days."""
        return self._metadata["age_in_days"]

    @property
    def sex(self) -> Any:
        """Return the mouse's sex."""
        return self._metadata["sex"]

    @property
    def full_genotype(self) -> Any:
        """Return the mouse's full genotype."""
        return self._metadata["full_genotype"]

    @property
    def session_type(self) -> Any:
        """Return ``brain_observatory_1.1`` or ``functional_connectivity``."""
        return self._metadata["stimulus_name"]

    @cached_property
    def _rig_metadata(self) -> dict[str, Any] | None:
        return tables.read_rig_metadata(self._file)

    @property
    def rig_geometry_data(self) -> pd.DataFrame | None:
        """Return the eye-tracking rig geometry (index x, y, z), None when absent."""
        return None if self._rig_metadata is None else self._rig_metadata["geometry"]

    @property
    def rig_equipment_name(self) -> str | None:
        """Return the rig's name, None when absent."""
        return None if self._rig_metadata is None else self._rig_metadata["equipment"]

    @property
    def metadata(self) -> dict[str, Any]:
        """Return the session's metadata, as the reference's ``metadata``."""
        return {
            "specimen_name": self.specimen_name, "session_type": self.session_type,
            "full_genotype": self.full_genotype, "sex": self.sex,
            "age_in_days": self.age_in_days, "rig_equipment_name": self.rig_equipment_name,
            "num_units": self.num_units, "num_channels": self.num_channels,
            "num_probes": self.num_probes,
            "num_stimulus_presentations": self.num_stimulus_presentations,
            "session_start_time": self.session_start_time,
            "ecephys_session_id": self.ecephys_session_id,
            "structure_acronyms": self.structure_acronyms, "stimulus_names": self.stimulus_names,
        }  # fmt: skip

    # --- probes, channels, units -------------------------------------------------------------
    @cached_property
    def probes(self) -> pd.DataFrame:
        """Return the probes indexed by ``id``: description, location, sampling rates."""
        return tables.read_probes(self._file)

    @cached_property
    def _all_channels(self) -> pd.DataFrame:
        """Return every channel of the file, with ``valid_data``."""
        return tables.read_all_channels(self._file)

    @cached_property
    def channels(self) -> pd.DataFrame:
        """Return the channels indexed by ``id`` (valid ones unless told otherwise).

        Opened through the project cache, the structure id and acronym and the CCF
        coordinates are the warehouse's (``ecephys_structure_*``); from a path, the file's.
        """
        external = self._external() if self._external is not None else None
        return tables.session_channels(self._all_channels, external, self._filter_by_validity)

    @cached_property
    def _units(self) -> pd.DataFrame:
        """Return the retained units merged with their channel and probe (every column)."""
        units = tables.filter_session_units(
            tables.read_unit_columns(self._file),
            self._all_channels,
            self._filter_by_validity,
            self._filter_out_of_brain,
            self._thresholds,
        )
        return tables.merge_units(units, self.channels, self.probes)

    @property
    def units(self) -> pd.DataFrame:
        """Return the units indexed by ``unit_id``, with their channel and probe columns."""
        return tables.public_units(self._units)

    def get_channels(self, filter_by_validity: bool = True) -> pd.DataFrame:
        """Return the channels, valid ones only unless asked (brainobs; VBN's name)."""
        external = self._external() if self._external is not None else None
        return tables.session_channels(self._all_channels, external, filter_by_validity)

    def get_units(
        self,
        filter_by_validity: bool = False,
        filter_out_of_brain_units: bool = False,
        amplitude_cutoff_maximum: float | None = None,
        presence_ratio_minimum: float | None = None,
        isi_violations_maximum: float | None = None,
    ) -> pd.DataFrame:
        """Return the file's units under other filters than the session's (brainobs; VBN's name
        and defaults: none), merged with their channel and probe as :attr:`units`."""
        thresholds = unit_thresholds(
            amplitude_cutoff_maximum=amplitude_cutoff_maximum,
            presence_ratio_minimum=presence_ratio_minimum,
            isi_violations_maximum=isi_violations_maximum,
        )
        units = tables.filter_session_units(
            tables.read_unit_columns(self._file), self._all_channels, filter_by_validity,
            filter_out_of_brain_units, thresholds,
        )  # fmt: skip
        channels = self.get_channels(filter_by_validity=False)
        return tables.public_units(tables.merge_units(units, channels, self.probes))

    @property
    def num_units(self) -> int:
        """Return how many units the filters keep."""
        return len(self._units)

    @property
    def num_probes(self) -> int:
        """Return the number of probes."""
        return len(self.probes)

    @property
    def num_channels(self) -> int:
        """Return the number of channels."""
        return len(self.channels)

    @property
    def structure_acronyms(self) -> list[Any]:
        """Return the distinct structures of the channels in table order (NaN included)."""
        return self.channels[self._structure_column(self.channels)].unique().tolist()

    @property
    def structurewise_unit_counts(self) -> pd.Series:
        """Return the number of units per structure, most first."""
        return self.units[self._structure_column(self.units)].value_counts()

    @staticmethod
    def _structure_column(table: pd.DataFrame) -> str:
        """Return the warehouse's structure column when present, else the file's."""
        return (
            "ecephys_structure_acronym"
            if "ecephys_structure_acronym" in table.columns
            else "structure_acronym"
        )

    def channel_structure_intervals(self, channel_ids: Any) -> tuple[np.ndarray, np.ndarray]:
        """Return (labels, boundaries) of the runs of one structure along ``channel_ids``.

        Channels are taken in the given order; ``boundaries`` has one more element than
        ``labels``. Channels of several probes give a warning.
        """
        ids = checked_ids(channel_ids, self.channels.index, "channel_ids", "session.channels")
        table = self.channels.loc[ids]
        if table["probe_id"].nunique() > 1:
            warnings.warn(
                "Calculating structure boundaries across channels from multiple probes.",
                stacklevel=2,
            )
        key = "ecephys_structure_id" if "ecephys_structure_id" in table else "structure_acronym"
        values = table[key].to_numpy(dtype=object)
        missing = pd.isna(table[key]).to_numpy()
        same = (missing[1:] & missing[:-1]) | np.asarray(values[1:] == values[:-1], dtype=bool)
        bounds = np.concatenate(([0], np.flatnonzero(~same) + 1, [len(values)]))
        labels = table[self._structure_column(table)].to_numpy(dtype=object)[bounds[:-1]]
        return labels, bounds

    # --- spikes ------------------------------------------------------------------------------
    def get_spike_times(self, unit_ids: Iterable[int] | None = None) -> dict[int, np.ndarray]:
        """Return ``{unit_id: spike times (s)}`` of the given units (all retained when None),
        reading only their spikes."""
        ids = self._unit_ids_for(None if unit_ids is None else list(unit_ids))
        self._warn_invalid_spike_intervals()
        values = ecephys_tables.read_unit_arrays(self._file, "spike_times", ids)
        return {int(unit): values[int(unit)] for unit in ids}

    @cached_property
    def spike_times(self) -> dict[int, np.ndarray]:
        """Return ``{unit_id: spike times (s)}`` of every retained unit."""
        return self.get_spike_times()

    @cached_property
    def spike_amplitudes(self) -> dict[int, np.ndarray]:
        """Return ``{unit_id: spike amplitudes (V)}`` of every unit in the file."""
        values = ecephys_tables.read_unit_arrays(self._file, "spike_amplitudes")
        return {int(unit): array for unit, array in values.items()}

    @cached_property
    def mean_waveforms(self) -> dict[int, xr.DataArray]:
        """Return ``{unit_id: DataArray (channel_id, time)}`` of every retained unit.

        Rows on channels the channel table does not hold are dropped; time is in seconds.
        """
        units = self._units
        arrays = ecephys_tables.read_unit_arrays(self._file, "waveform_mean", units.index)
        channel_of = {
            (int(number), int(probe)): int(channel)
            for channel, number, probe in zip(
                self.channels.index, self.channels["probe_channel_number"],
                self.channels["probe_id"], strict=True,
            )
        }  # fmt: skip
        out = {}
        for unit, probe in zip(units.index, units["probe_id"], strict=True):
            data = arrays[int(unit)]
            ids = np.array([channel_of.get((i, int(probe)), -1) for i in range(data.shape[0])])
            rate = float(self.probes["sampling_rate"].loc[int(probe)])
            keep = ids != -1
            out[int(unit)] = xr.DataArray(
                data[keep], dims=("channel_id", "time"),
                coords={"channel_id": ids[keep], "time": np.arange(data.shape[1]) / rate},
            )  # fmt: skip
        return out

    def _warn_invalid_spike_intervals(self) -> None:
        """Warn once when invalid intervals concern spikes (a probe, or all probes)."""
        if self._warned_invalid_spikes:
            return
        self._warned_invalid_spikes = True
        tags = [*self.probes["description"], "all_probes"]
        if not tables.invalid_intervals_tagged(self.invalid_times, tags).empty:
            warnings.warn(
                "Session includes invalid time intervals that could be accessed with the "
                "attribute 'invalid_times'. Spikes within these intervals are invalid and may "
                "need to be excluded from the analysis.",
                stacklevel=3,
            )

    # --- stimuli -----------------------------------------------------------------------------
    @cached_property
    def invalid_times(self) -> pd.DataFrame:
        """Return the invalid intervals ``start_time, stop_time, tags`` (empty when none)."""
        return tables.read_invalid_times(self._file)

    def get_invalid_times(self) -> pd.DataFrame:
        """Return :attr:`invalid_times`."""
        return self.invalid_times

    @cached_property
    def _presentations_and_conditions(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        stimulus = tables.invalid_intervals_tagged(self.invalid_times, ["stimulus"])
        return presentations.build_presentations(self._file, stimulus)

    @property
    def _stimulus_presentations(self) -> pd.DataFrame:
        """Return every presentation with the detailed PsychoPy parameters."""
        return self._presentations_and_conditions[0]

    @cached_property
    def stimulus_presentations(self) -> pd.DataFrame:
        """Return the presentations indexed by ``stimulus_presentation_id``, in time order."""
        table = self._stimulus_presentations
        return table.drop(columns=[c for c in DETAILED if c in table.columns])

    @cached_property
    def _condition_ids(self) -> tuple[pd.Series, pd.DataFrame]:
        """Return (condition id per presentation, NaN when masked; the conditions)."""
        table, conditions = self._presentations_and_conditions
        return table["stimulus_condition_id"], conditions

    def conditionwise_spike_statistics(
        self,
        stimulus_presentation_ids: Any = None,
        unit_ids: Any = None,
        use_rates: bool = False,
    ) -> pd.DataFrame:
        """Return spike statistics per ``(unit_id, stimulus_condition_id)``.

        As :meth:`StimulusAnalysisMixin.conditionwise_spike_statistics`; presentations masked
        as invalid (no condition) are left out, as the reference's grouping leaves them out.
        """
        table = self._presentations_for(stimulus_presentation_ids)
        condition = self._condition_ids[0].reindex(table.index)
        table = table.loc[condition.notna().to_numpy()].assign(
            stimulus_condition_id=condition.dropna().astype(np.int64).to_numpy()
        )
        units = self._unit_ids_for(unit_ids)
        return conditions.conditionwise_spike_statistics(
            self._spikes_of(units), table, unit_ids=units, use_rates=use_rates
        )

    @property
    def num_stimulus_presentations(self) -> int:
        """Return the number of presentations."""
        return len(self._stimulus_presentations)

    def get_stimulus_table(
        self,
        stimulus_names: str | Collection[str] | None = None,
        include_detailed_parameters: bool = False,
        include_unused_parameters: bool = False,
    ) -> pd.DataFrame:
        """Return the presentations of the named stimuli (all when None).

        Detailed PsychoPy columns are dropped unless asked; columns all missing, ``""`` or
        ``"null"`` among the selected rows are dropped unless asked. An unknown name raises
        :class:`~brainobs.errors.UnknownIdError`.
        """
        table = self._stimulus_presentations
        if stimulus_names is not None:
            names = [stimulus_names] if isinstance(stimulus_names, str) else list(stimulus_names)
            unknown = [n for n in names if n not in set(self.stimulus_names)]
            if unknown:
                raise UnknownIdError(
                    f"stimulus names not in this session: {unknown}; it shows "
                    f"{self.stimulus_names}."
                )
            table = table[table["stimulus_name"].isin(names)]
        if not include_detailed_parameters:
            table = table.drop(columns=[c for c in DETAILED if c in table.columns])
        if not include_unused_parameters:
            table = table.drop(columns=unused_columns(table))
        return table.copy()

    @cached_property
    def inter_presentation_intervals(self) -> pd.DataFrame:
        """Return the gap from each presentation's stop to the next one's start (s)."""
        table = self.stimulus_presentations
        index = pd.MultiIndex.from_arrays(
            [table.index[:-1], table.index[1:]],
            names=["from_presentation_id", "to_presentation_id"],
        )
        gaps = table["start_time"].to_numpy()[1:] - table["stop_time"].to_numpy()[:-1]
        return pd.DataFrame({"interval": gaps}, index=index)

    def get_inter_presentation_intervals_for_stimulus(
        self, stimulus_names: str | Collection[str]
    ) -> pd.DataFrame:
        """Return the intervals between consecutive presentations both of the named stimuli."""
        names = [stimulus_names] if isinstance(stimulus_names, str) else list(stimulus_names)
        table = self.stimulus_presentations
        ids = table.index[table["stimulus_name"].isin(names)]
        intervals = self.inter_presentation_intervals
        keep = intervals.index.isin(ids, level="from_presentation_id") & intervals.index.isin(
            ids, level="to_presentation_id"
        )
        return intervals[keep]

    def get_stimulus_parameter_values(
        self, stimulus_presentation_ids: Any = None, drop_nulls: bool = True
    ) -> dict[str, np.ndarray]:
        """Return each stimulus parameter's distinct values (``"null"`` last unless dropped).

        Masked (invalid) presentations add no value.
        """
        table = self._presentations_for(stimulus_presentation_ids)
        table = table.drop(columns=[c for c in (*NON_STIMULUS_PARAMETERS, "stimulus_name")
                                    if c in table.columns])  # fmt: skip
        table = table.drop(columns=unused_columns(table))
        values = {}
        for name in table.columns:
            uniques = pd.unique(table[name].dropna())
            kept = np.array([u for u in uniques if not (isinstance(u, str) and u == "null")],
                            dtype=object)  # fmt: skip
            if not drop_nulls and len(kept) < len(uniques):
                kept = np.concatenate([kept, np.array(["null"], dtype=object)])
            values[name] = kept
        return values

    def get_parameter_values_for_stimulus(
        self, stimulus_name: str, drop_nulls: bool = True
    ) -> dict[str, np.ndarray]:
        """Return each parameter's distinct values while ``stimulus_name`` was shown."""
        ids = self.get_stimulus_table([stimulus_name]).index
        return self.get_stimulus_parameter_values(ids, drop_nulls=drop_nulls)

    # --- running, optotagging, eye -----------------------------------------------------------
    @cached_property
    def running_speed(self) -> pd.DataFrame:
        """Return the running speed: ``start_time, end_time, velocity`` (cm/s)."""
        return tables.read_running_speed(self._file)

    @cached_property
    def optogenetic_stimulation_epochs(self) -> pd.DataFrame:
        """Return the optotagging light pulses indexed by ``id``."""
        return ecephys_tables.read_optotagging(self._file)

    def get_screen_gaze_data(self, include_filtered_data: bool = False) -> pd.DataFrame | None:
        """Return the gaze on the screen and the eye and pupil areas (None without eye data)."""
        return eye.read_screen_gaze(self._file, include_filtered_data)

    def get_pupil_data(self) -> pd.DataFrame | None:
        """Return the pupil, eye and corneal-reflection ellipse fits (None without eye data)."""
        return eye.read_pupil(self._file)

    # --- LFP and CSD -------------------------------------------------------------------------
    def get_lfp(self, probe_id: int, mask_invalid_intervals: bool = True) -> xr.DataArray:
        """Return the probe's LFP (V) as a lazy DataArray ``LFP`` (time x channel).

        With ``mask_invalid_intervals``, samples inside invalid intervals tagged
        ``all_probes`` or with the probe's name read as NaN. Only what is selected is read.
        """
        row = require_lfp(self.probes.rename(columns={"description": "name"}), probe_id)
        lfp = lazy_lfp(self._lfp_files.file_of(int(probe_id), str(row["name"])), int(probe_id))
        if not mask_invalid_intervals:
            return lfp
        tags = ["all_probes", str(row["name"])]
        return mask_lfp(lfp, tables.invalid_intervals_tagged(self.invalid_times, tags))

    def get_current_source_density(self, probe_id: int) -> xr.DataArray:
        """Return the probe's CSD as DataArray ``CSD`` (virtual_channel_index x time)."""
        row = require_lfp(self.probes.rename(columns={"description": "name"}), probe_id)
        return read_csd(self._lfp_files.file_of(int(probe_id), str(row["name"])))

    # --- tuning ------------------------------------------------------------------------------
    def get_tuning_metrics(
        self,
        stimuli: Iterable[str] | None = None,
        unit_ids: Any = None,
        *,
        seed: int | np.random.Generator | None = 0,
        reference_quirks: bool = False,
    ) -> pd.DataFrame:
        """Return the units' tuning metrics (:func:`brainobs.analysis.tuning.tuning_metrics`).

        One row per unit (``unit_id``), the reference's metric columns (``pref_ori_dg``,
        ``azimuth_rf``...) for every stimulus type the session shows (or ``stimuli``).
        """
        units = self._unit_ids_for(unit_ids)
        return tuning.tuning_metrics(
            self._spikes_of(units), self.stimulus_presentations, self.running_speed, units,
            stimuli=stimuli, seed=seed, reference_quirks=reference_quirks,
        )  # fmt: skip

    def get_receptive_fields(self, unit_ids: Any = None) -> xr.DataArray:
        """Return each unit's spike counts on the gabor grid (unit_id, y_position, x_position)."""
        units = self._unit_ids_for(unit_ids)
        return tuning.receptive_fields(self._spikes_of(units), self.stimulus_presentations, units)


def _sibling_lfp_files(path: PathOrUrl) -> dict[int, PathOrUrl]:
    """Return probe id -> ``probe_<id>_lfp.nwb`` beside a local session file (none for URLs)."""
    text = str(path)
    if "://" in text and not text.startswith("file://"):
        return {}
    folder = Path(text.removeprefix("file://")).expanduser().parent
    found: dict[int, PathOrUrl] = {}
    for lfp in folder.glob("probe_*_lfp.nwb"):
        number = lfp.name[len("probe_") : -len("_lfp.nwb")]
        if number.isdigit():
            found[int(number)] = lfp
    return found
