"""Write one VBN ecephys session: ``ecephys_session_<id>.nwb`` and ``probe_<name>_lfp.nwb``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from brainobs.sample.anatomy import stripped
from brainobs.sample.lfp import LFP_RATE, current_source_density, simulate_lfp
from brainobs.sample.nwb_behavior import (
    BehaviorContent,
    _subject,
    add_behavior,
    new_nwbfile,
    template_images,
)
from brainobs.sample.nwb_ecephys import (
    add_electrodes,
    add_eye_tracking,
    add_optotagging,
    add_probes,
    units_table,
)
from brainobs.sample.nwbio import compressed, deterministic_object_ids, write_nwb
from brainobs.sample.unit_storage import draw_to_scratch, unit_arrays
from brainobs.vbn.sample_blocks import FLASH_NAME
from brainobs.vbn.sample_design import EcephysSessionPlan, SizeSpec
from brainobs.vbn.sample_simulation import EcephysSimulation, simulate_ecephys

PRESENTATION_DROP = ("image_index",)


@dataclass
class WrittenSession:
    """What the metadata tables and the ground truth need from a written session."""

    simulation: EcephysSimulation
    probes: pd.DataFrame
    units: pd.DataFrame
    n_spikes: int


def probe_table(
    plan: EcephysSessionPlan, channels: pd.DataFrame, units: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """Return the probes of a session with their rates, LFP flags, counts and file ids."""
    rows = []
    for name, probe_id in plan.probe_ids.items():
        probe_channels = channels[channels["probe_name"] == name]
        acronyms = sorted({stripped(a) for a in probe_channels["structure_acronym_full"].dropna()})
        has_lfp = name in plan.lfp_probes
        rows.append({
            "ecephys_probe_id": probe_id, "ecephys_session_id": plan.ecephys_session_id,
            "name": name, "sampling_rate": 30000.0 + float(rng.normal(0, 0.05)),
            "lfp_sampling_rate": 2500.0 + float(rng.normal(0, 0.005)), "phase": 1.0,
            "has_lfp_data": has_lfp, "unit_count": int((units["probe_name"] == name).sum()),
            "channel_count": len(probe_channels), "structure_acronyms": str(acronyms),
            "file_id": plan.lfp_file_ids.get(name, -999),
            "nwb_lfp_sampling_rate": LFP_RATE if has_lfp else np.nan,
        })  # fmt: skip
    return pd.DataFrame(rows)


def write_ecephys_session(
    plan: EcephysSessionPlan, size: SizeSpec, folder: Path, scratch: Path
) -> WrittenSession:
    """Simulate ``plan`` and write its session file and LFP files into ``folder``.

    Spikes go through scratch files in ``scratch`` (see :mod:`unit_storage`), so memory stays
    bounded for a session of any size.
    """
    sim = simulate_ecephys(plan, size)
    rng = np.random.default_rng([plan.behavior.seed, 29])
    units = sim.population.table
    probes = probe_table(plan, sim.channels, units, rng)
    spikes = draw_to_scratch(sim.population, sim.drive, plan.file_id, scratch)
    units["firing_rate"] = spikes.counts / (sim.drive.t_stop - sim.drive.t_start)
    arrays = unit_arrays(spikes.total, len(units), size.contiguous)
    with deterministic_object_ids(plan.file_id):
        nwb = _session_nwbfile(sim, probes, rng)
        nwb.units = units_table(units, arrays.spike_times, arrays.spike_amplitudes,
                                arrays.waveform_mean, spikes.ends)  # fmt: skip
        path = folder / f"ecephys_session_{plan.ecephys_session_id}.nwb"
        write_nwb(nwb, path, fill=lambda: arrays.fill(spikes, units))
    spikes.times_path.unlink()
    spikes.amplitudes_path.unlink()
    for name in plan.lfp_probes:
        _write_lfp(sim, probes[probes["name"] == name], folder / f"probe_{name}_lfp.nwb", size)
    return WrittenSession(sim, probes, units, spikes.total)


def _session_nwbfile(sim: EcephysSimulation, probes: pd.DataFrame, rng: np.random.Generator) -> Any:
    """Return the session NWBFile with behaviour, stimuli, probes, optotagging and eye."""
    plan = sim.plan
    nwb = new_nwbfile(plan.behavior, str(plan.ecephys_session_id), None)
    images = list(sim.sim.images)
    content = BehaviorContent(
        plan.behavior, sim.frame_times, sim.tables, sim.running, sim.template_name, images,
        template_images(rng, len(images), (60, 96)), _task_parameters(sim),
    )  # fmt: skip
    presentations = sim.presentations.drop(columns=list(PRESENTATION_DROP))
    content.tables.trials = sim.tables.trials
    add_behavior(nwb, content, presentations)
    groups = add_probes(nwb, probes)
    add_electrodes(nwb, sim.channels, groups)
    add_optotagging(nwb, sim.optotagging)
    add_eye_tracking(nwb, sim.eye, plan.behavior.equipment_name)
    return nwb


def _task_parameters(sim: EcephysSimulation) -> dict[str, Any]:
    """Return the task parameters of the active block of an ecephys session."""
    from brainobs.sample.behavior_session import task_parameters

    return task_parameters(sim.plan.behavior, sim.sim, 0.05)


def _write_lfp(sim: EcephysSimulation, probe: pd.DataFrame, path: Path, size: SizeSpec) -> None:
    """Write the LFP (``size.lfp_seconds`` from the full-field flashes on) and CSD of a probe."""
    name, probe_id = str(probe["name"].iloc[0]), int(probe["ecephys_probe_id"].iloc[0])
    channels = sim.channels[sim.channels["probe_name"] == name]
    flashes = sim.presentations[sim.presentations["stimulus_name"] == FLASH_NAME]
    t0 = float(flashes["start_time"].iloc[0]) - 2.0
    rng = np.random.default_rng([sim.plan.behavior.seed, probe_id % 2**31])
    lfp = simulate_lfp(rng, channels, t0, t0 + size.lfp_seconds,
                       flashes["start_time"].to_numpy(),
                       (sim.running.timestamps, sim.running.speed))  # fmt: skip
    with deterministic_object_ids(probe_id):
        _write_lfp_file(sim, probe, lfp, path, size.contiguous)


def _write_lfp_file(
    sim: EcephysSimulation, probe: pd.DataFrame, lfp: Any, path: Path, contiguous: bool
) -> None:
    """Build and write the NWBFile of one probe's LFP and CSD."""
    from pynwb import NWBFile
    from pynwb.ecephys import LFP

    name, probe_id = str(probe["name"].iloc[0]), int(probe["ecephys_probe_id"].iloc[0])
    channels = sim.channels[sim.channels["probe_name"] == name]
    plan = sim.plan
    nwb = NWBFile(session_description="LFP data and associated info for one probe",
                  identifier=str(probe_id), session_id=str(plan.ecephys_session_id),
                  session_start_time=plan.behavior.date,
                  file_create_date=[plan.behavior.date])  # fmt: skip
    nwb.subject = _subject(plan.behavior)
    groups = add_probes(nwb, probe)
    add_electrodes(nwb, lfp.channels.assign(probe_name=name), groups)
    region = nwb.create_electrode_table_region(list(range(len(lfp.channels))), "lfp channels")
    container = LFP(name=f"probe_{probe_id}_lfp")
    nwb.add_acquisition(container)  # before the series, so its region shares the file
    container.create_electrical_series(
        name=f"probe_{probe_id}_lfp_data", electrodes=region, timestamps=lfp.timestamps,
        data=lfp.data if contiguous else _lfp_data(lfp.data),
    )  # fmt: skip
    _add_csd(nwb, channels)
    write_nwb(nwb, path)


def _lfp_data(data: np.ndarray) -> Any:
    """Return the LFP samples wrapped for chunked, compressed writing."""
    from hdmf.backends.hdf5 import H5DataIO

    return H5DataIO(
        data, compression="gzip", shuffle=True, chunks=(min(len(data), 4096), data.shape[1])
    )


def _add_csd(nwb: Any, channels: pd.DataFrame) -> None:
    """Add the current source density module of one probe."""
    from pynwb import ProcessingModule, TimeSeries

    from brainobs.sample.nwbext import extension_class

    t, csd, y = current_source_density(channels)
    module = ProcessingModule(
        name="current_source_density", description="Precalculated current source density"
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
