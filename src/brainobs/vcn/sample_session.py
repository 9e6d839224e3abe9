"""Write one Visual Coding session: ``session_<id>.nwb`` and its ``probe_<id>_lfp.nwb`` files.

Both cache NWB core 2.2.2 and hdmf-common 1.1.3 with the ``ndx-aibs-ecephys`` extension, as the
released files do. The session file's electrodes table holds every channel of every probe
(``local_index`` is the probe channel number; ``z`` repeats ``y``, the released files' packaging
error, and channels outside the brain have NaN coordinates); units carry the released columns
including ``waveform_halfwidth``. An LFP file holds one probe's LFP channels (every 4th channel
in the brain), its LFP series (``/acquisition/probe_<id>_lfp/probe_<id>_lfp_data``, also linked
as ``/acquisition/probe_<id>_lfp_data``) and its CSD.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd

from brainobs.sample.anatomy import stripped
from brainobs.sample.lfp import LFP_RATE, current_source_density, simulate_lfp
from brainobs.sample.nwb_ecephys import UNIT_COLUMNS, add_electrodes, add_probes, units_table
from brainobs.sample.nwbext import extension_class
from brainobs.sample.nwbio import compressed, deterministic_object_ids, write_nwb
from brainobs.sample.unit_storage import SpikeScratch, trains_to_scratch, unit_arrays
from brainobs.vcn.sample_design import SessionPlan, SizeSpec
from brainobs.vcn.sample_nwb import SESSION_DESCRIPTION, add_session_parts, new_session_file
from brainobs.vcn.sample_responses import iter_unit_trains
from brainobs.vcn.sample_simulation import VcnSimulation, simulate_session

CORE_VERSION = "2.2.2"
EXTENSIONS = ("ndx-aibs-ecephys",)
_AFTER_DURATION = UNIT_COLUMNS.index("waveform_duration") + 1
VCN_UNIT_COLUMNS = (
    *UNIT_COLUMNS[:_AFTER_DURATION],
    "waveform_halfwidth",
    *UNIT_COLUMNS[_AFTER_DURATION:],
)
LFP_DESCRIPTION = "LFP data and associated channel info for a single Ecephys probe"


@dataclass
class WrittenSession:
    """What the tables, the metrics and the ground truth need from a written session."""

    simulation: VcnSimulation
    probes: pd.DataFrame
    spikes: SpikeScratch


def probe_table(sim: VcnSimulation) -> pd.DataFrame:
    """Return the session's probes: rates, LFP flags and channel indices."""
    plan, rows = sim.plan, []
    for name, probe_id in plan.probe_ids.items():
        numbers = plan.probe_numbers[name]
        channels = sim.channels[sim.channels["probe_name"] == name]
        inside = channels.loc[channels["structure_acronym_full"].notna(), "probe_channel_number"]
        surface = int(inside.max())
        has_lfp = name in plan.lfp_probes
        rows.append({
            "ecephys_probe_id": probe_id, "ecephys_session_id": plan.ecephys_session_id,
            "name": name, "sampling_rate": numbers["sampling_rate"],
            "lfp_sampling_rate": numbers["lfp_sampling_rate"],
            "lfp_temporal_subsampling_factor": 2.0, "phase": plan.phase,
            "surface_channel_index": surface,
            "air_channel_index": min(surface + int(numbers["air_gap"]), 383),
            "has_lfp_data": has_lfp, "nwb_lfp_sampling_rate": LFP_RATE if has_lfp else np.nan,
        })  # fmt: skip
    return pd.DataFrame(rows)


def write_session(
    plan: SessionPlan, size: SizeSpec, position: int, folder: Path, scratch: Path
) -> WrittenSession:
    """Simulate ``plan`` and write its session and LFP files into ``folder``.

    The spikes stay in scratch files (returned) for the analysis metrics; the caller removes
    them. Memory stays bounded for a session of any size.
    """
    sim = simulate_session(plan, size, position)
    units = sim.units
    probes = probe_table(sim)
    trains = iter_unit_trains(units, sim.drive, plan.seed)
    spikes = trains_to_scratch(trains, len(units), scratch / str(plan.ecephys_session_id))
    units["firing_rate"] = spikes.counts / (sim.drive.t_stop - sim.drive.t_start)
    arrays = unit_arrays(spikes.total, len(units), size.contiguous)
    sid = plan.ecephys_session_id
    with deterministic_object_ids(sid):
        nwb = new_session_file(plan, str(sid), SESSION_DESCRIPTION)
        add_session_parts(nwb, sim)
        groups = add_probes(nwb, probes)
        add_electrodes(nwb, _electrode_rows(sim.channels), groups,
                       channel_number_column="local_index",
                       z_source="dorsal_ventral_ccf_coordinate")  # fmt: skip
        nwb.units = units_table(
            units, arrays.spike_times, arrays.spike_amplitudes, arrays.waveform_mean,
            spikes.ends, scalar_columns=VCN_UNIT_COLUMNS,
            waveform_description="mean waveforms on peak channels (and over samples)",
            index_dtype=np.int64,
        )  # fmt: skip
        path = folder / f"session_{sid}.nwb"
        write_nwb(nwb, path, fill=lambda: arrays.fill(spikes, units),
                  core_version=CORE_VERSION, namespaces=EXTENSIONS)  # fmt: skip
    widen_indices(path)
    for name in plan.lfp_probes:
        probe = probes[probes["name"] == name]
        _write_lfp(sim, probe, folder / f"probe_{plan.probe_ids[name]}_lfp.nwb", size)
    return WrittenSession(sim, probes, spikes)


def widen_indices(path: Path) -> None:
    """Store every ``VectorIndex`` dataset of the file as int64, as the released files do.

    Today's hdmf writes them unsigned (its current schema asks for it); hdmf-common 1.1.3 left
    the type free and the released files hold int64. The datasets are small (one value per
    row); each is rewritten with its attributes.
    """
    found: list[str] = []

    def visit(name: str, obj: Any) -> None:
        if isinstance(obj, h5py.Dataset) and obj.attrs.get("neurodata_type") == "VectorIndex":
            found.append(name)

    with h5py.File(path, "r+") as h5:
        h5.visititems(visit)
        for name in found:
            values, attrs = h5[name][()], dict(h5[name].attrs)
            del h5[name]
            h5.create_dataset(name, data=values.astype(np.int64))
            h5[name].attrs.update(attrs)


def _electrode_rows(channels: pd.DataFrame) -> pd.DataFrame:
    """Return channels with the VCN files' structure acronyms (no layer or subfield suffix)."""
    return channels.assign(structure_acronym_full=channels["structure_acronym_full"].map(stripped))


def _write_lfp(sim: VcnSimulation, probe: pd.DataFrame, path: Path, size: SizeSpec) -> None:
    """Write the LFP (``size.lfp_seconds`` from the flashes on) and CSD of one probe."""
    name, probe_id = str(probe["name"].iloc[0]), int(probe["ecephys_probe_id"].iloc[0])
    channels = sim.channels[sim.channels["probe_name"] == name]
    flashes = sim.schedule.of("flashes")
    t0 = float(flashes["start_time"].iloc[0]) - 2.0
    rng = np.random.default_rng([sim.plan.seed, probe_id % 2**31])
    lfp = simulate_lfp(rng, channels, t0, t0 + size.lfp_seconds,
                       flashes["start_time"].to_numpy(),
                       (sim.running.timestamps, sim.running.speed))  # fmt: skip
    with deterministic_object_ids(probe_id):
        nwb = new_session_file(sim.plan, str(probe_id), LFP_DESCRIPTION)
        groups = add_probes(nwb, probe)
        add_electrodes(nwb, _electrode_rows(lfp.channels.assign(probe_name=name)), groups,
                       channel_number_column="local_index",
                       z_source="dorsal_ventral_ccf_coordinate")  # fmt: skip
        _add_lfp_series(nwb, probe_id, lfp, size.contiguous)
        _add_csd(nwb, channels)
        write_nwb(nwb, path, core_version=CORE_VERSION, namespaces=EXTENSIONS)
    widen_indices(path)


def _add_lfp_series(nwb: Any, probe_id: int, lfp: Any, contiguous: bool) -> None:
    """Add the LFP container and its series (also linked from ``/acquisition``)."""
    from hdmf.backends.hdf5 import H5DataIO
    from pynwb.ecephys import LFP

    region = nwb.create_electrode_table_region(
        list(range(len(lfp.channels))), f"lfp channels on probe {probe_id}"
    )
    container = LFP(name=f"probe_{probe_id}_lfp")
    nwb.add_acquisition(container)  # before the series, so its region shares the file
    chunks = (min(len(lfp.data), 4096), lfp.data.shape[1])
    data = lfp.data if contiguous else H5DataIO(lfp.data, compression="gzip", shuffle=True,
                                                chunks=chunks)  # fmt: skip
    series = container.create_electrical_series(
        name=f"probe_{probe_id}_lfp_data", electrodes=region, timestamps=lfp.timestamps,
        data=data,
    )  # fmt: skip
    nwb.add_acquisition(series)


def _add_csd(nwb: Any, channels: pd.DataFrame) -> None:
    """Add the current source density module of one probe."""
    from pynwb import ProcessingModule, TimeSeries

    t, csd, y = current_source_density(channels)
    module = ProcessingModule(
        name="current_source_density",
        description="Precalculated current source density from interpolated channel locations.",
    )
    nwb.add_processing_module(module)
    series = TimeSeries(name="current_source_density", data=compressed(csd), timestamps=t,
                        unit="V/cm^2")  # fmt: skip
    module.add(extension_class("EcephysCSD")(
        name="ecephys_csd", time_series=series,
        virtual_electrode_x_positions=np.full(len(y), 24.0, dtype=np.float32),
        virtual_electrode_x_positions__unit="um",
        virtual_electrode_y_positions=y.astype(np.float32),
        virtual_electrode_y_positions__unit="um",
    ))  # fmt: skip
