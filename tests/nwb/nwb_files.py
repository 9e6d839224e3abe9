"""Small NWB files for the reader tests: one written by pynwb, one made by hand with h5py.

The pynwb file has the VBN layout in miniature (units with ragged spikes and 2-D waveforms,
electrodes, trials, two presentation tables, TimeSeries, an LFP ElectricalSeries). The hand-made
file holds the variations real files show: float 0/1 booleans, -99 integer nulls, uint8 and
int32 index datasets, fixed-length and bytes strings, text-array attributes, a
DynamicTableRegion column and columns missing from one table of a pair.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import h5py
import numpy as np

N_UNITS = 200
N_CHANNELS = 64
WAVEFORM_CHANNELS = 8
WAVEFORM_SAMPLES = 20
LFP_SAMPLES = 20_000
LFP_CHANNELS = 32
LFP_RATE = 1250.0
RUNNING_SAMPLES = 200_000


def _empty() -> np.ndarray:
    return np.zeros(0)


@dataclass
class SessionTruth:
    """What the pynwb file holds, for comparisons."""

    path: Path
    unit_ids: np.ndarray = field(default_factory=_empty)
    spike_times: list[np.ndarray] = field(default_factory=list)
    spike_amplitudes: list[np.ndarray] = field(default_factory=list)
    waveforms: list[np.ndarray] = field(default_factory=list)
    quality: list[str] = field(default_factory=list)
    channel_ids: np.ndarray = field(default_factory=_empty)
    lfp: np.ndarray = field(default_factory=_empty)
    lfp_times: np.ndarray = field(default_factory=_empty)
    running_times: np.ndarray = field(default_factory=_empty)
    running_speed: np.ndarray = field(default_factory=_empty)


def write_session(path: Path, seed: int = 0) -> SessionTruth:
    """Write the pynwb session file to ``path`` and return its contents."""
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.file import Subject

    rng = np.random.default_rng(seed)
    nwb = NWBFile(
        session_description="test session",
        identifier="1064644573",
        session_start_time=datetime(2020, 1, 1, tzinfo=timezone.utc),
        subject=Subject(subject_id="mouse1", age="P100D", sex="M", species="Mus musculus"),
    )
    truth = SessionTruth(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pynwb's notes on regions and schema versions
        _add_electrodes(nwb, truth)
        _add_units(nwb, truth, rng)
        _add_trials(nwb)
        _add_presentations(nwb)
        _add_series(nwb, truth, rng)
        _add_lfp(nwb, truth, rng)
        with NWBHDF5IO(str(path), "w") as io:
            io.write(nwb)
    return truth


def _add_electrodes(nwb: Any, truth: SessionTruth) -> None:
    groups = {}
    for probe_id, name in ((1, "probeA"), (2, "probeB")):
        device = nwb.create_device(name=name, description="Neuropixels 1.0 Probe")
        groups[name] = nwb.create_electrode_group(
            name=name, description="probe", location="See electrode locations", device=device
        )
        groups[name].fields["probe_id"] = probe_id
    nwb.add_electrode_column(name="probe_id", description="probe id")
    nwb.add_electrode_column(name="valid_data", description="usable")
    truth.channel_ids = 1000 + np.arange(N_CHANNELS)
    for i, channel_id in enumerate(truth.channel_ids):
        probe = "probeA" if i < N_CHANNELS // 2 else "probeB"
        nwb.add_electrode(
            id=int(channel_id),
            x=float(i),
            y=0.0,
            z=0.0,
            location=("VISp", "CA1", "None")[i % 3],
            group=groups[probe],
            probe_id=1 if probe == "probeA" else 2,
            valid_data=bool(i % 5),
        )


def _add_units(nwb: Any, truth: SessionTruth, rng: np.random.Generator) -> None:
    from hdmf.common import VectorData, VectorIndex
    from pynwb.misc import Units

    counts = rng.integers(3000, 7000, N_UNITS)
    counts[7] = 0  # a silent unit
    truth.spike_times = [np.sort(rng.uniform(0, 3600, n)) for n in counts]
    truth.spike_amplitudes = [rng.uniform(1e-5, 1e-4, n) for n in counts]
    truth.waveforms = [
        rng.normal(size=(WAVEFORM_CHANNELS, WAVEFORM_SAMPLES)) for _ in range(N_UNITS)
    ]
    truth.unit_ids = 950_000_000 + 3 * np.arange(N_UNITS)
    truth.quality = [("good", "noise")[i % 2] for i in range(N_UNITS)]
    columns: list[Any] = [
        VectorData(name="quality", description="q", data=np.array(truth.quality, dtype=object)),
        VectorData(name="firing_rate", description="Hz", data=counts / 3600.0),
        VectorData(
            name="peak_channel_id", description="c", data=truth.channel_ids[np.arange(N_UNITS) % 64]
        ),
    ]
    ends = np.cumsum(counts)
    for name, values in (
        ("spike_times", truth.spike_times),
        ("spike_amplitudes", truth.spike_amplitudes),
    ):
        target = VectorData(name=name, description=name, data=np.concatenate(values))
        columns += [target, VectorIndex(name=f"{name}_index", data=ends, target=target)]
    target = VectorData(name="waveform_mean", description="w", data=np.concatenate(truth.waveforms))
    index = (np.arange(N_UNITS) + 1) * WAVEFORM_CHANNELS
    columns += [target, VectorIndex(name="waveform_mean_index", data=index, target=target)]
    nwb.units = Units(name="units", description="units", columns=columns, id=truth.unit_ids)


def _add_trials(nwb: Any) -> None:
    nwb.add_trial_column(name="go", description="go trial")
    nwb.add_trial_column(name="change_frame", description="frame, -99 when none")
    nwb.add_trial_column(name="change_image_name", description="image")
    nwb.add_trial_column(name="lick_times", description="licks", index=True)
    for i in range(6):
        nwb.add_trial(
            start_time=10.0 * i,
            stop_time=10.0 * i + 8,
            go=bool(i % 2),
            change_frame=-99 if i % 3 == 0 else 100 * i,
            change_image_name=f"im{i:03d}",
            lick_times=[10.0 * i + 1 + 0.1 * k for k in range(i)],
        )


def _add_presentations(nwb: Any) -> None:
    from pynwb.epoch import TimeIntervals

    gabors = TimeIntervals(name="gabors_presentations", description="gabors")
    gabors.add_column(name="orientation", description="deg")
    gabors.add_column(name="is_change", description="float 0/1 with NaN")
    for i in range(5):
        start = 100.0 + 2 * i
        is_change = np.nan if i == 4 else float(i % 2)
        gabors.add_interval(
            start_time=start, stop_time=start + 0.25, orientation=45.0 * i, is_change=is_change
        )
    flashes = TimeIntervals(name="flashes_presentations", description="flashes")
    flashes.add_column(name="color", description="color")
    for i in range(4):
        start = 99.0 + 2 * i  # interleaved with the gabors in time
        flashes.add_interval(start_time=start, stop_time=start + 0.25, color=("-1", "1")[i % 2])
    nwb.add_time_intervals(gabors)
    nwb.add_time_intervals(flashes)


def _add_series(nwb: Any, truth: SessionTruth, rng: np.random.Generator) -> None:
    from pynwb import TimeSeries

    steps = 1 / 60 + rng.normal(0, 1e-4, RUNNING_SAMPLES)
    truth.running_times = 5.0 + np.cumsum(steps)
    truth.running_speed = rng.normal(10, 3, RUNNING_SAMPLES)
    module = nwb.create_processing_module(name="running", description="running")
    module.add(
        TimeSeries(
            name="speed", data=truth.running_speed, timestamps=truth.running_times, unit="cm/s"
        )
    )
    nwb.add_acquisition(
        TimeSeries(
            name="v_sig",
            data=np.arange(1000, dtype=np.int16),
            starting_time=10.0,
            rate=60.0,
            unit="V",
            conversion=0.001,
            offset=-0.5,
        )
    )


def _add_lfp(nwb: Any, truth: SessionTruth, rng: np.random.Generator) -> None:
    from pynwb.ecephys import LFP, ElectricalSeries

    truth.lfp = rng.normal(0, 1e-4, (LFP_SAMPLES, LFP_CHANNELS)).astype(np.float32)
    truth.lfp_times = 2.0 + np.arange(LFP_SAMPLES) / LFP_RATE + rng.normal(0, 1e-6, LFP_SAMPLES)
    region = nwb.create_electrode_table_region(list(range(0, 2 * LFP_CHANNELS, 2)), "lfp channels")
    series = ElectricalSeries(
        name="probe_1_lfp_data", data=truth.lfp, timestamps=truth.lfp_times, electrodes=region
    )
    nwb.add_acquisition(LFP(name="probe_1_lfp", electrical_series=series))


# --- the hand-made file ----------------------------------------------------------------------

VARIANT_UNITS = 10


def write_variants(path: Path) -> dict[str, Any]:
    """Write the hand-made file of storage variations; return what it holds."""
    with h5py.File(path, "w") as h5:
        h5.attrs["nwb_version"] = np.bytes_(b"2.2.2")
        h5.create_dataset("identifier", data=b"715093703", dtype="S9")
        h5.create_group("general")
        electrodes = _variant_electrodes(h5)
        units = _variant_units(h5, electrodes)
        _variant_intervals(h5)
        _variant_metadata(h5)
    return units


def _table(
    group: h5py.Group, colnames: list[str], ids: np.ndarray, id_dtype: str = "int64"
) -> None:
    group.attrs["colnames"] = np.array([c.encode() for c in colnames])
    group.attrs["neurodata_type"] = "DynamicTable"
    group.create_dataset("id", data=ids.astype(id_dtype))


def _variant_electrodes(h5: h5py.File) -> h5py.Group:
    ephys = h5.create_group("general/extracellular_ephys")
    probes = [ephys.create_group(name) for name in ("probeA", "probeB")]
    table = ephys.create_group("electrodes")
    _table(table, ["location", "group", "valid_data"], 2000 + np.arange(6))
    table.create_dataset(
        "location", data=["VISp", "CA1", "", "VISp", "None", "LGd"], dtype=h5py.string_dtype()
    )
    refs = [probes[i // 3].ref for i in range(6)]
    table.create_dataset("group", data=refs, dtype=h5py.ref_dtype)
    table.create_dataset("valid_data", data=np.array([1, 0, 1, 1, 0, 1], dtype=np.float64))
    return table


def _variant_units(h5: h5py.File, electrodes: h5py.Group) -> dict[str, Any]:
    units = h5.create_group("units")
    counts = np.array([3, 0, 5, 1, 25, 2, 7, 4, 1, 6])  # 54 spikes: fits a uint8 index
    times = [np.arange(n) * 0.5 + u for u, n in enumerate(counts)]
    ids = np.arange(VARIANT_UNITS) * 7 + 1
    _table(
        units,
        ["quality", "cluster_id", "spike_times", "spike_amplitudes", "peak_channel"],
        ids,
        "int32",
    )
    units.create_dataset("quality", data=np.array([b"good", b"noise"] * 5, dtype="S5"))
    units.create_dataset("cluster_id", data=np.where(np.arange(10) == 3, -99, np.arange(10) * 2))
    units.create_dataset("spike_times", data=np.concatenate(times))
    units.create_dataset("spike_times_index", data=np.cumsum(counts).astype(np.uint8))
    units.create_dataset("spike_amplitudes", data=np.concatenate(times) * 1e-6, dtype=np.float32)
    units.create_dataset("spike_amplitudes_index", data=np.cumsum(counts).astype(np.int32))
    region = units.create_dataset(
        "peak_channel", data=np.array([5, 4, 3, 2, 1, 0, 0, 1, 2, 3], dtype=np.uint8)
    )
    region.attrs["table"] = electrodes.ref
    region.attrs["neurodata_type"] = "DynamicTableRegion"
    return {"ids": ids, "spike_times": times}


def _variant_intervals(h5: h5py.File) -> None:
    trials = h5.create_group("intervals/trials")
    _table(
        trials,
        [
            "start_time",
            "stop_time",
            "go",
            "aborted",
            "change_frame",
            "change_image_name",
            "lick_times",
        ],
        np.arange(4),
    )
    trials.create_dataset("start_time", data=[0.0, 1.0, 2.0, 3.0])
    trials.create_dataset("stop_time", data=[0.9, 1.9, 2.9, 3.9])
    trials.create_dataset("go", data=np.array([1.0, 0.0, 0.0, 1.0]))
    trials.create_dataset("aborted", data=np.array([False, True, False, False]))
    trials.create_dataset("change_frame", data=np.array([-99, 120, 240, -99]))
    trials.create_dataset(
        "change_image_name",
        data=[b"im065", b"im077", b"", b"im065"],
        dtype=h5py.string_dtype("ascii"),
    )
    trials.create_dataset("lick_times", data=np.array([0.5, 0.6, 2.5]))
    trials.create_dataset("lick_times_index", data=np.array([2, 2, 3, 3], dtype=np.uint16))
    first = h5.create_group("intervals/spontaneous_presentations")
    _table(first, ["start_time", "stop_time", "stimulus_name"], np.array([0]))
    first.create_dataset("start_time", data=[0.0])
    first.create_dataset("stop_time", data=[60.0])
    first.create_dataset("stimulus_name", data=[b"spontaneous"], dtype="S11")
    second = h5.create_group("intervals/flash_presentations")
    _table(second, ["start_time", "stop_time", "stimulus_name", "omitted"], np.array([1, 2, 3]))
    second.create_dataset("start_time", data=[60.0, 61.0, 62.0])
    second.create_dataset("stop_time", data=[60.25, 61.25, 62.25])
    second.create_dataset("stimulus_name", data=["flash"] * 3, dtype=h5py.string_dtype())
    second.create_dataset("omitted", data=[0.0, 1.0, np.nan])
    _variant_tags_and_references(h5, second)


def _variant_tags_and_references(h5: h5py.File, table: h5py.Group) -> None:
    """Add VCN-style tags (int64 index) and VBN-style timeseries references (uint8 index)."""
    table.attrs["colnames"] = np.array(
        [*table.attrs["colnames"], b"tags", b"timeseries"], dtype=table.attrs["colnames"].dtype
    )
    table.create_dataset("tags", data=["stimulus_time_interval"] * 3, dtype=h5py.string_dtype())
    table.create_dataset("tags_index", data=np.array([1, 2, 3], dtype=np.int64))
    frames = h5.create_group("processing/stimulus/timestamps")
    frames.create_dataset("data", data=np.arange(10.0))
    frames.create_dataset("timestamps", data=np.arange(10.0))
    kind = np.dtype([("idx_start", "<i4"), ("count", "<i4"), ("timeseries", h5py.ref_dtype)])
    rows = np.array([(i, 15, frames.ref) for i in range(3)], dtype=kind)
    table.create_dataset("timeseries", data=rows)
    table.create_dataset("timeseries_index", data=np.array([1, 2, 3], dtype=np.uint8))


def _variant_metadata(h5: h5py.File) -> None:
    meta = h5.create_group("general/metadata")
    meta.attrs["neurodata_type"] = "BehaviorMetadata"
    meta.attrs["namespace"] = "ndx-aibs-behavior-ophys"
    meta.attrs["behavior_session_id"] = np.int64(1064666666)
    meta.attrs["stimulus_frame_rate"] = 60.0
    meta.attrs["session_type"] = np.bytes_(b"EPHYS_1_images_G_3uL_reward")
    meta.attrs["blank_duration_sec"] = np.array([b"0.5", b"0.5"])
    meta.attrs["driver_line"] = np.array(["Sst-IRES-Cre"], dtype=h5py.string_dtype())
    meta.attrs["has_lfp"] = np.bool_(True)
    meta.create_dataset("equipment_name", data="NP.1", dtype=h5py.string_dtype())
    meta.create_dataset("monitor_position", data=np.array([1.0, 2.0, 3.0], dtype=np.float32))
    meta.create_dataset("big", data=np.zeros(10_000))
