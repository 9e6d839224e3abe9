"""Readers for the ecephys parts of a VBN session file: probes, channels, units, optotagging.

Layouts: reference/format_ecephys.md §3.1-3.2; tables as the reference's
``BehaviorEcephysSession`` returns them (§4.1).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from brainobs.errors import MissingDataError
from brainobs.nwb import NwbFile, read_dynamic_table, read_ids, read_ragged, table_columns
from brainobs.nwb.decode import decode_value

ECEPHYS_PATH = "/general/extracellular_ephys"
ELECTRODES_PATH = f"{ECEPHYS_PATH}/electrodes"
UNITS_PATH = "/units"
OPTOTAGGING_PATH = "/processing/optotagging/optogenetic_stimulation"
#: Ragged unit columns (read on demand) and the name the reference gives each.
RAGGED_UNIT_COLUMNS = {
    "spike_times": "spike_times",
    "spike_amplitudes": "spike_amplitudes",
    "waveform_mean": "mean_waveforms",
}
#: Electrode table column -> channel table column.
CHANNEL_RENAMES = {
    "x": "anterior_posterior_ccf_coordinate",
    "y": "dorsal_ventral_ccf_coordinate",
    "z": "left_right_ccf_coordinate",
    "local_index": "probe_channel_number",
}
CHANNEL_COLUMNS = (
    "x",
    "y",
    "z",
    "filtering",
    "location",
    "probe_channel_number",
    "local_index",
    "probe_horizontal_position",
    "probe_id",
    "probe_vertical_position",
    "valid_data",
)


def _attribute(obj: Any, name: str, default: Any = None) -> Any:
    """Return one attribute of an h5py object, decoded (``default`` when absent)."""
    value = obj.attrs.get(name)
    return default if value is None else decode_value(value)


def probe_groups(file: NwbFile) -> list[str]:
    """Return the names of the probes' electrode groups, in file order."""
    with file.reading(ECEPHYS_PATH) as h5:
        ephys = h5.get(ECEPHYS_PATH)
        if ephys is None:
            return []
        return [
            name
            for name, member in ephys.items()
            if _attribute(member, "neurodata_type") == "EcephysElectrodeGroup"
        ]


def read_probes(file: NwbFile) -> pd.DataFrame:
    """Return the probes indexed by ``id``: name, location, sampling rates and LFP presence.

    ``lfp_sampling_rate`` is the released LFP's rate (the electrode group's, ~1250 Hz; NaN
    without LFP) and ``has_lfp_data`` the electrode group's flag.
    """
    rows = []
    with file.reading("the probes") as h5:
        for name in probe_groups(file):
            group = h5[f"{ECEPHYS_PATH}/{name}"]
            device = h5.get(f"/general/devices/{name}")
            rate = np.nan if device is None else _attribute(device, "sampling_rate", np.nan)
            rows.append(
                {
                    "id": int(_attribute(group, "probe_id")),
                    "name": name,
                    "location": _attribute(group, "location"),
                    "sampling_rate": float(rate),
                    "lfp_sampling_rate": float(_attribute(group, "lfp_sampling_rate", np.nan)),
                    "has_lfp_data": bool(_attribute(group, "has_lfp_data", False)),
                }
            )
    if not rows:
        raise MissingDataError(f"{file.name} has no probes (no EcephysElectrodeGroup).")
    return pd.DataFrame(rows).set_index("id")


def read_channels(file: NwbFile) -> pd.DataFrame:
    """Return every channel indexed by ``id`` (probes in file order), with ``valid_data``."""
    electrodes = read_dynamic_table(file, ELECTRODES_PATH, CHANNEL_COLUMNS, missing="ignore")
    if ("probe_channel_number" in electrodes) == ("local_index" in electrodes):
        raise MissingDataError(
            f"{ELECTRODES_PATH} of {file.name} must have exactly one of probe_channel_number "
            f"and local_index; its columns are {table_columns(file, ELECTRODES_PATH)}."
        )
    electrodes["structure_acronym"] = structure_acronyms(electrodes.pop("location"))
    electrodes["valid_data"] = electrodes["valid_data"].astype(bool)
    channels = electrodes.rename(columns=CHANNEL_RENAMES)
    channels = channels[sorted(channels.columns)]
    return _in_probe_order(channels, channels["probe_id"], read_probes(file).index)


def structure_acronyms(locations: pd.Series) -> pd.Series:
    """Return the acronyms with substructures stripped (``DG-mo`` -> ``DG``); None where absent."""
    values = [
        None
        if loc is None or (isinstance(loc, float)) or loc in ("", "None")
        else loc.split("-")[0]
        for loc in locations.to_numpy(dtype=object)
    ]
    return pd.Series(np.array(values, dtype=object), index=locations.index)


def _in_probe_order(
    table: pd.DataFrame, probe_ids: pd.Series, probe_order: pd.Index
) -> pd.DataFrame:
    """Return ``table`` with rows grouped by probe in ``probe_order`` (stable within a probe)."""
    rank = pd.Index(probe_order).get_indexer(probe_ids.to_numpy())
    rank = np.where(rank < 0, len(probe_order), rank)
    return table.iloc[np.argsort(rank, kind="stable")]


def read_channel_columns(file: NwbFile, columns: Iterable[str]) -> pd.DataFrame:
    """Return some columns of the electrodes table indexed by channel id (file order)."""
    return read_dynamic_table(file, ELECTRODES_PATH, list(columns))


def read_units(file: NwbFile, probe_of_channel: pd.Series, probe_order: pd.Index) -> pd.DataFrame:
    """Return the units' scalar columns indexed by ``id``, sorted by name, in probe order.

    ``probe_of_channel`` maps channel ids to probe ids (the units' peak channels give their
    probes).
    """
    units = read_dynamic_table(file, UNITS_PATH)
    units = units[sorted(units.columns)]
    probe_ids = probe_of_channel.reindex(units["peak_channel_id"].to_numpy())
    probe_ids.index = units.index
    return _in_probe_order(units, probe_ids, probe_order)


def unit_ids(file: NwbFile) -> np.ndarray:
    """Return every unit id, in file order."""
    return read_ids(file, UNITS_PATH)


def read_unit_arrays(
    file: NwbFile, column: str, ids: Iterable[int] | None = None
) -> dict[int, np.ndarray]:
    """Return ``{unit_id: values}`` of a ragged units column, reading only the asked units."""
    if column not in RAGGED_UNIT_COLUMNS:
        raise MissingDataError(
            f"{column!r} is not a per-unit array; use one of {sorted(RAGGED_UNIT_COLUMNS)}."
        )
    ids = None if ids is None else np.unique(np.asarray(list(ids), dtype=np.int64))
    return read_ragged(file, UNITS_PATH, column, ids=ids)


def read_optotagging(file: NwbFile) -> pd.DataFrame:
    """Return the optotagging light pulses indexed by ``id`` (start, stop, condition, level...)."""
    if not file.has(OPTOTAGGING_PATH):
        raise MissingDataError(
            f"{file.name} has no optotagging table ({OPTOTAGGING_PATH}); only ecephys "
            "session files have one."
        )
    columns = [c for c in table_columns(file, OPTOTAGGING_PATH) if c not in ("tags", "timeseries")]
    table = read_dynamic_table(file, OPTOTAGGING_PATH, columns)
    table.index = table.index.astype(np.int64)
    return table
