"""The ecephys part of a VBN or VCN session file: probes, electrodes, units, optotagging, eye.

Paths: ``/general/devices/<probe>`` (EcephysProbe), ``/general/extracellular_ephys/<probe>``
(EcephysElectrodeGroup), ``/general/extracellular_ephys/electrodes``, ``/units`` (with ragged
``spike_times``, ``spike_amplitudes`` and ``waveform_mean`` blocks of 384 channels x 82
samples), ``/processing/optotagging``, ``/acquisition/EyeTracking`` and
``/processing/eye_tracking_rig_metadata``. The VCN files differ in a few names (electrodes
``local_index`` for ``probe_channel_number``, a ``waveform_halfwidth`` unit column): the
functions take them as arguments, with the VBN names as defaults.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from brainobs.sample.nwb_tables import index_data, interval_table
from brainobs.sample.nwbext import extension_class
from brainobs.sample.nwbio import compressed
from brainobs.sample.quantize import VOLT_STEP, quantized

FILTERING = "AP band: 500 Hz high-pass; LFP band: 1000 Hz low-pass"
UNIT_COLUMNS = (
    "peak_channel_id", "local_index", "cluster_id", "quality", "firing_rate", "isi_violations",
    "presence_ratio", "amplitude_cutoff", "isolation_distance", "l_ratio", "d_prime",
    "nn_hit_rate", "nn_miss_rate", "max_drift", "cumulative_drift", "silhouette_score",
    "waveform_duration", "PT_ratio", "repolarization_slope", "recovery_slope", "amplitude",
    "spread", "velocity_above", "velocity_below", "snr",
)  # fmt: skip
WAVEFORM_SAMPLES = 82
N_SITES = 384


def add_probes(nwb: Any, probes: pd.DataFrame) -> dict[str, Any]:
    """Add one EcephysProbe device and EcephysElectrodeGroup per probe; return the groups."""
    groups: dict[str, Any] = {}
    for row in probes.to_dict("records"):
        device = extension_class("EcephysProbe")(
            name=row["name"], description="Neuropixels 1.0 Probe", manufacturer="imec",
            probe_id=int(row["ecephys_probe_id"]), sampling_rate=float(row["sampling_rate"]),
        )  # fmt: skip
        nwb.add_device(device)
        group = extension_class("EcephysElectrodeGroup")(
            name=row["name"], description="Ecephys Electrode Group",
            location="See electrode locations",
            device=device, has_lfp_data=bool(row["has_lfp_data"]),
            probe_id=int(row["ecephys_probe_id"]),
            lfp_sampling_rate=float(row["nwb_lfp_sampling_rate"]),
        )  # fmt: skip
        nwb.add_electrode_group(group)
        groups[row["name"]] = group
    return groups


ELECTRODE_COLUMNS: dict[str, str] = {
    "x": "the x coordinate of the channel location",
    "y": "the y coordinate of the channel location",
    "z": "the z coordinate of the channel location",
    "imp": "the impedance of the channel",
    "location": "the location of channel within the subject e.g. brain region",
    "filtering": "description of hardware filtering",
    "group": "a reference to the ElectrodeGroup this electrode is a part of",
    "group_name": "the name of the ElectrodeGroup this electrode is a part of",
    "probe_vertical_position": "Length-wise position of electrode/channel on device (microns)",
    "probe_horizontal_position": "Width-wise position of electrode/channel on device (microns)",
    "probe_id": "The unique id of this electrode's/channel's device",
    "probe_channel_number": "The local index of electrode/channel on device",
    "valid_data": "Whether data from this electrode/channel is usable",
}


def add_electrodes(
    nwb: Any,
    channels: pd.DataFrame,
    groups: dict[str, Any],
    *,
    channel_number_column: str = "probe_channel_number",
    z_source: str = "left_right_ccf_coordinate",
) -> None:
    """Set the electrodes table (index = channel id) to the rows of ``channels``.

    ``channel_number_column`` names the column of the probe channel number (VCN files call it
    ``local_index``); ``z_source`` is the channels column stored as ``z``.
    """
    from hdmf.common import VectorData
    from pynwb.ecephys import ElectrodesTable

    location = channels["structure_acronym_full"].map(lambda a: a if isinstance(a, str) else "None")
    values: dict[str, Any] = {
        "x": channels["anterior_posterior_ccf_coordinate"].to_numpy(dtype=float),
        "y": channels["dorsal_ventral_ccf_coordinate"].to_numpy(dtype=float),
        "z": channels[z_source].to_numpy(dtype=float),
        "imp": np.full(len(channels), np.nan),
        "location": location.to_numpy(dtype=object),
        "filtering": np.full(len(channels), FILTERING, dtype=object),
        "group": [groups[name] for name in channels["probe_name"]],
        "group_name": channels["probe_name"].to_numpy(dtype=object),
        "probe_vertical_position": channels["probe_vertical_position"].to_numpy(dtype=np.int64),
        "probe_horizontal_position": channels["probe_horizontal_position"].to_numpy(dtype=np.int64),
        "probe_id": channels["ecephys_probe_id"].to_numpy(dtype=np.int64),
        channel_number_column: channels["probe_channel_number"].to_numpy(dtype=np.int64),
        "valid_data": channels["valid_data"].to_numpy(dtype=bool),
    }
    number_doc = ELECTRODE_COLUMNS["probe_channel_number"]
    described = ELECTRODE_COLUMNS | {channel_number_column: number_doc}
    columns = [VectorData(name=k, description=described[k], data=v) for k, v in values.items()]
    nwb.electrodes = ElectrodesTable(
        columns=columns, id=channels["ecephys_channel_id"].to_numpy(dtype=np.int64)
    )


def mean_waveform(unit: pd.Series) -> np.ndarray:
    """Return the unit's mean waveform (V): 384 channels x 82 samples, zero far from the peak."""
    t = (np.arange(WAVEFORM_SAMPLES) - 20) / 30.0  # ms at 30 kHz, trough at sample 20
    width = unit["waveform_duration"]
    trough = -np.exp(-(t**2) / (2 * (0.22 * width) ** 2))
    peak = unit["PT_ratio"] * np.exp(-((t - width) ** 2) / (2 * (0.5 * width) ** 2))
    channel = np.arange(N_SITES)
    distance = np.abs(channel - unit["probe_channel_number"]) * 10.0  # ~um along the probe
    spatial = np.exp(-(distance**2) / (2 * (unit["spread"] / 2) ** 2))
    spatial[distance > 2.5 * unit["spread"]] = 0.0
    waveform = unit["amplitude"] * 1e-6 * spatial[:, None] * (trough + peak)[None, :]
    return quantized(waveform, VOLT_STEP)


def units_table(
    population: pd.DataFrame,
    spike_times: Any,
    spike_amplitudes: Any,
    waveform_mean: Any,
    spike_ends: np.ndarray,
    *,
    scalar_columns: tuple[str, ...] = UNIT_COLUMNS,
    waveform_description: str = "mean waveforms on all channels",
    index_dtype: type | None = None,
) -> Any:
    """Return the Units table: scalar metrics, ragged spikes and 384-row waveform blocks.

    The ragged data columns may be placeholders that are filled after writing
    (:mod:`brainobs.sample.unit_storage`). ``index_dtype`` keeps the ``*_index`` columns in
    that integer type (by default hdmf narrows them to the smallest unsigned type).
    """
    from hdmf.common import VectorData, VectorIndex
    from pynwb.misc import Units

    columns: list[Any] = []
    for name in scalar_columns:
        values = population["ecephys_channel_id" if name == "peak_channel_id" else name]
        data = values.to_numpy(dtype=object if name == "quality" else None)
        columns.append(VectorData(name=name, description="no description", data=data))
    ends = np.asarray(spike_ends, dtype=np.int64)
    waveform_ends = np.arange(1, len(population) + 1, dtype=np.int64) * N_SITES
    for name, data, index, doc in (
        ("spike_times", spike_times, ends, "times (s) of detected spiking events"),
        ("spike_amplitudes", spike_amplitudes, ends, "amplitude (s) of detected spiking events"),
        ("waveform_mean", waveform_mean, waveform_ends, waveform_description),
    ):
        target = VectorData(name=name, description=doc, data=data)
        ends = index_data(index, index_dtype)
        columns += [target, VectorIndex(name=f"{name}_index", data=ends, target=target)]
    return Units(name="units", description="Autogenerated by NWBFile", columns=columns,
                 id=population["unit_id"].to_numpy())  # fmt: skip


def add_optotagging(nwb: Any, opto: pd.DataFrame, index_dtype: type | None = None) -> None:
    """Add the optotagging module: a TimeSeries of pulse onsets and the trials table."""
    from pynwb import TimeSeries

    module = nwb.create_processing_module("optotagging", "optogenetic stimulution data")
    series = TimeSeries(name="optotagging", data=opto["duration"].to_numpy(), unit="s",
                        timestamps=opto["start_time"].to_numpy())  # fmt: skip
    module.add(series)
    table = interval_table("optogenetic_stimulation", "optogenetic stimulation", opto,
                           tags="optical_stimulation", timeseries=series,
                           column_description="no description",
                           index_dtype=index_dtype)  # fmt: skip
    module.add(table)


def add_eye_tracking(nwb: Any, eye: pd.DataFrame, equipment: str, rig_metadata: Any = None) -> None:
    """Add the ellipse fits, the blink flag and the eye-tracking rig geometry.

    ``rig_metadata`` replaces the Neuropixels rig's geometry (an imaging rig's
    OphysEyeTrackingRigMetadata).
    """
    from pynwb import TimeSeries

    ellipse = extension_class("EllipseSeries")
    series = {}
    timestamps: Any = compressed(eye["timestamps"].to_numpy())
    for name, prefix in (("eye_tracking", "eye"), ("pupil_tracking", "pupil"),
                         ("corneal_reflection_tracking", "cr")):  # fmt: skip
        raw = eye[f"{prefix}_area_raw"].to_numpy()
        area = np.where(eye["likely_blink"], np.nan, raw)
        series[name] = ellipse(
            name=name, reference_frame="nose", timestamps=timestamps,
            data=compressed(eye[[f"{prefix}_center_x", f"{prefix}_center_y"]].to_numpy()),
            area=compressed(area), area_raw=compressed(raw),
            width=compressed(eye[f"{prefix}_width"].to_numpy()),
            height=compressed(eye[f"{prefix}_height"].to_numpy()),
            angle=compressed(eye[f"{prefix}_phi"].to_numpy()),
        )  # fmt: skip
        timestamps = series["eye_tracking"]
    blink = TimeSeries(name="likely_blink", data=eye["likely_blink"].to_numpy(dtype=bool),
                       timestamps=series["eye_tracking"], unit="N/A")  # fmt: skip
    tracking = extension_class("EllipseEyeTracking")(likely_blink=blink, **series)
    nwb.add_acquisition(tracking)
    add_rig_geometry(nwb, equipment, rig_metadata)


def add_rig_geometry(nwb: Any, equipment: str, rig_metadata: Any = None) -> None:
    """Add the ``eye_tracking_rig_metadata`` module: ``rig_metadata``, else the Neuropixels
    rig's geometry."""
    module = nwb.create_processing_module("eye_tracking_rig_metadata",
                                          "Eye tracking rig metadata module")  # fmt: skip
    module.add(_rig_geometry(equipment) if rig_metadata is None else rig_metadata)


def _rig_geometry(equipment: str) -> Any:
    """Return the EcephysEyeTrackingRigMetadata of a Neuropixels rig."""
    geometry = {
        "monitor_position": ([118.6, 86.2, 31.5], "mm"),
        "camera_position": ([130.0, 0.0, 0.0], "mm"),
        "led_position": ([265.1, -39.3, 1.0], "mm"),
        "monitor_rotation": ([0.0, 0.0, 0.0], "deg"),
        "camera_rotation": ([0.0, 0.0, 13.1], "deg"),
    }
    kwargs: dict[str, Any] = {"name": "eye_tracking_rig_metadata", "equipment": equipment}
    for key, (values, unit) in geometry.items():
        kwargs[key] = np.asarray(values, dtype=np.float32)
        kwargs[f"{key}__unit"] = unit
    return extension_class("EcephysEyeTrackingRigMetadata")(**kwargs)
