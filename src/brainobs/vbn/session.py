"""``BehaviorEcephysSession``: a VBN Neuropixels session (behaviour + units + LFP), read lazily.

The reference toolkit reads every unit's spike times, amplitudes and waveforms when a session
is opened (and LFP whole when asked). Here nothing is read until asked for: ``get_units()``
reads the units' scalar columns only, :meth:`BehaviorEcephysSession.get_spike_times` reads
only the asked units' spikes (by byte ranges when the file is remote), and ``get_lfp`` returns
a lazy array that reads only the selected window. Names, indexes and columns are the
reference's (reference/format_ecephys.md §4.1); differences are in docs/differences.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import xarray as xr

from brainobs.config import TransferSettings
from brainobs.nwb import NwbFile
from brainobs.sessions import ecephys_tables as tables
from brainobs.sessions.behavior import BEHAVIOR_MEMBERS, BehaviorSession
from brainobs.sessions.lfp import LfpFiles, lazy_lfp, read_csd, require_lfp
from brainobs.sessions.stimulus_analysis import StimulusAnalysisMixin
from brainobs.storage.remote import BlockCacheOptions
from brainobs.tables.filters import filter_units
from brainobs.types import PathOrUrl

ECEPHYS_MEMBERS = (
    "behavior_data_class",
    "conditionwise_spike_statistics",
    "get_channels",
    "get_current_source_density",
    "get_lfp",
    "get_probes_obj",
    "get_spike_times",
    "get_stimulus_epochs",
    "get_stimulus_table",
    "get_units",
    "mean_waveforms",
    "optotagging_table",
    "presentationwise_spike_counts",
    "presentationwise_spike_times",
    "probes",
    "spike_amplitudes",
    "spike_times",
    "stimulus_conditions",
)


@dataclass(frozen=True)
class Probe:
    """One probe of a session, as the reference's ``Probe`` describes it."""

    id: int
    name: str
    location: str
    sampling_rate: float
    lfp_sampling_rate: float
    has_lfp_data: bool


class Probes:
    """The probes of a session (the reference's ``get_probes_obj()``)."""

    def __init__(self, table: pd.DataFrame) -> None:
        self._table = table
        self.probes = [
            Probe(int(i), str(r["name"]), str(r["location"]), float(r["sampling_rate"]),
                  float(r["lfp_sampling_rate"]), bool(r["has_lfp_data"]))
            for i, (_, r) in zip(table.index, table.iterrows(), strict=True)
        ]  # fmt: skip

    def __iter__(self) -> Iterator[Probe]:
        return iter(self.probes)

    def __len__(self) -> int:
        return len(self.probes)

    def to_dataframe(self) -> pd.DataFrame:
        """Return the probes table (the session's ``probes``)."""
        return self._table.copy()


class BehaviorEcephysSession(BehaviorSession, StimulusAnalysisMixin):
    """A VBN ecephys session: the behaviour of :class:`BehaviorSession` plus probes and units.

    Open one with ``cache.get_ecephys_session(id)`` or :meth:`from_nwb_path`. The
    stimulus-aligned methods (``presentationwise_spike_counts`` ...) come from
    :class:`~brainobs.sessions.stimulus_analysis.StimulusAnalysisMixin`.
    """

    report_kind: ClassVar[str] = "vbn_ecephys"

    def __init__(
        self,
        file: NwbFile,
        *,
        lfp_files: LfpFiles | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(file, **kwargs)
        self._lfp_files = lfp_files or LfpFiles()

    @classmethod
    def from_nwb_path(
        cls,
        nwb_path: PathOrUrl,
        probe_data_path_map: Mapping[Any, PathOrUrl] | None = None,
        *,
        endpoint: str | None = None,
        settings: TransferSettings | None = None,
        block_cache: BlockCacheOptions | None = None,
        **kwargs: Any,
    ) -> Any:
        """Return the session in a local NWB file or at an ``s3://`` / ``https://`` URL.

        ``probe_data_path_map`` maps probe names (``probeC``) or ids to the paths or URLs of
        their LFP files, for :meth:`get_lfp` and :meth:`get_current_source_density`.
        """
        file = NwbFile.open(nwb_path, endpoint=endpoint, settings=settings, block_cache=block_cache)
        lfp_files = LfpFiles(paths=dict(probe_data_path_map or {}), endpoint=endpoint)
        return cls(file, lfp_files=lfp_files, **kwargs)

    def close(self) -> None:
        """Close the session file and any LFP file opened."""
        super().close()
        self._lfp_files.close()

    def list_data_attributes_and_methods(self) -> list[str]:
        """Return the names of the session's data attributes and methods."""
        return sorted({*BEHAVIOR_MEMBERS, *ECEPHYS_MEMBERS})

    @classmethod
    def behavior_data_class(cls) -> type[BehaviorSession]:
        """Return the class that holds the behaviour part of a session."""
        return BehaviorSession

    # --- metadata ----------------------------------------------------------------------------
    @cached_property
    def metadata(self) -> dict[str, Any]:
        """Return the session metadata, with ``ecephys_session_id``."""
        metadata = super().metadata
        metadata["ecephys_session_id"] = int(self._file.identifier)
        return metadata

    @cached_property
    def ecephys_session_id(self) -> int:
        """Return the ecephys session id."""
        return int(self.metadata["ecephys_session_id"])

    # --- probes, channels, units -------------------------------------------------------------
    @cached_property
    def probes(self) -> pd.DataFrame:
        """Return the probes indexed by ``id``: name, location, sampling rates, LFP presence."""
        return tables.read_probes(self._file)

    @cached_property
    def _channels(self) -> pd.DataFrame:
        """Return every channel, with ``valid_data``."""
        return tables.read_channels(self._file)

    def get_channels(self, filter_by_validity: bool = True) -> pd.DataFrame:
        """Return the channels indexed by ``id`` (only channels with valid data by default)."""
        channels = self._channels
        if filter_by_validity:
            return channels[channels["valid_data"]].drop(columns=["valid_data"])
        return channels.copy()

    @cached_property
    def _units(self) -> pd.DataFrame:
        """Return every unit's scalar columns (reading only the channels' probe ids besides)."""
        if "_channels" in self.__dict__:
            probe_of_channel = self._channels["probe_id"]
        else:
            probe_of_channel = tables.read_channel_columns(self._file, ["probe_id"])["probe_id"]
        return tables.read_units(self._file, probe_of_channel, self.probes.index)

    def _peak_channel_columns(self, units: pd.DataFrame) -> pd.DataFrame:
        """Return ``valid_data`` and ``structure_acronym`` of each unit's peak channel."""
        if "_channels" in self.__dict__:
            channels = self._channels[["valid_data", "structure_acronym"]]
        else:
            channels = tables.read_channel_columns(self._file, ["valid_data", "location"])
            channels["structure_acronym"] = tables.structure_acronyms(channels.pop("location"))
        peak = channels.reindex(units["peak_channel_id"].to_numpy())
        return pd.DataFrame(
            {
                "valid_data": peak["valid_data"].fillna(False).to_numpy(dtype=bool),
                "structure_acronym": peak["structure_acronym"].to_numpy(dtype=object),
            },
            index=units.index,
        )

    def get_units(
        self,
        filter_by_validity: bool = False,
        filter_out_of_brain_units: bool = False,
        amplitude_cutoff_maximum: float | None = None,
        presence_ratio_minimum: float | None = None,
        isi_violations_maximum: float | None = None,
    ) -> pd.DataFrame:
        """Return the units indexed by ``id``, filtered by validity, brain location and quality.

        A threshold of 0 filters (the reference treats 0 as "no filter") and a unit with a
        missing metric is dropped only by an active filter on that metric.
        """
        units = self._units
        if not (filter_by_validity or filter_out_of_brain_units):
            return filter_units(
                units,
                amplitude_cutoff_maximum=amplitude_cutoff_maximum,
                presence_ratio_minimum=presence_ratio_minimum,
                isi_violations_maximum=isi_violations_maximum,
            ).copy()
        helpers = self._peak_channel_columns(units)
        kept = filter_units(
            units.join(helpers),
            filter_by_validity=filter_by_validity,
            amplitude_cutoff_maximum=amplitude_cutoff_maximum,
            presence_ratio_minimum=presence_ratio_minimum,
            isi_violations_maximum=isi_violations_maximum,
            filter_out_of_brain_units=filter_out_of_brain_units,
        )
        return kept.drop(columns=list(helpers.columns))

    # --- per-unit arrays ---------------------------------------------------------------------
    def get_spike_times(self, unit_ids: Iterable[int] | None = None) -> dict[int, np.ndarray]:
        """Return ``{unit_id: spike times (s)}`` of the given units, reading only their spikes."""
        return self._unit_arrays("spike_times", unit_ids)

    def get_spike_amplitudes(self, unit_ids: Iterable[int] | None = None) -> dict[int, np.ndarray]:
        """Return ``{unit_id: spike amplitudes (V)}`` of the given units (all when None)."""
        return self._unit_arrays("spike_amplitudes", unit_ids)

    def get_mean_waveforms(self, unit_ids: Iterable[int] | None = None) -> dict[int, np.ndarray]:
        """Return ``{unit_id: mean waveform (channel x sample, V)}`` of the given units."""
        return self._unit_arrays("waveform_mean", unit_ids)

    def _unit_arrays(self, column: str, unit_ids: Iterable[int] | None) -> dict[int, np.ndarray]:
        """Return a ragged units column for ``unit_ids`` (every unit when None), in table order."""
        order = self._units.index
        if unit_ids is not None:
            wanted = pd.Index(np.asarray(list(unit_ids), dtype=np.int64))
            order = order[order.isin(wanted)].append(wanted[~wanted.isin(order)])
        values = tables.read_unit_arrays(self._file, column, order.to_numpy())
        return {int(unit): values[int(unit)] for unit in order}

    @cached_property
    def spike_times(self) -> dict[int, np.ndarray]:
        """Return ``{unit_id: spike times (s)}`` of every unit (see :meth:`get_spike_times`)."""
        return self.get_spike_times()

    @cached_property
    def spike_amplitudes(self) -> dict[int, np.ndarray]:
        """Return ``{unit_id: spike amplitudes (V)}`` of every unit."""
        return self.get_spike_amplitudes()

    @cached_property
    def mean_waveforms(self) -> dict[int, np.ndarray]:
        """Return ``{unit_id: mean waveform (channel x sample, V)}`` of every unit."""
        return self.get_mean_waveforms()

    def get_probes_obj(self) -> Probes:
        """Return the session's probes as objects (``.probes``, ``to_dataframe()``)."""
        return Probes(self.probes)

    @cached_property
    def optotagging_table(self) -> pd.DataFrame:
        """Return the optotagging light pulses indexed by ``id``."""
        return tables.read_optotagging(self._file)

    # --- LFP ---------------------------------------------------------------------------------
    def get_lfp(self, probe_id: int) -> xr.DataArray:
        """Return the probe's LFP (V) as a lazy DataArray ``LFP`` (time x channel).

        Nothing is read until values are needed, and then only the selection:
        ``lfp.sel(time=slice(t0, t1)).values`` reads that window. A probe recorded without
        LFP raises :class:`~brainobs.errors.MissingDataError`.
        """
        row = require_lfp(self.probes, probe_id)
        return lazy_lfp(self._lfp_file(int(probe_id), str(row["name"])), int(probe_id))

    def get_current_source_density(self, probe_id: int) -> xr.DataArray:
        """Return the probe's CSD as DataArray ``CSD`` (virtual_channel_index x time)."""
        row = require_lfp(self.probes, probe_id)
        return read_csd(self._lfp_file(int(probe_id), str(row["name"])))

    def _lfp_file(self, probe_id: int, name: str) -> NwbFile:
        """Return the handle on a probe's LFP file."""
        return self._lfp_files.file_of(probe_id, name)
