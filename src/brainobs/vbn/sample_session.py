"""Write one VBN ecephys session: ``ecephys_session_<id>.nwb`` and ``probe_<name>_lfp.nwb``."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from brainobs.sample.anatomy import stripped
from brainobs.sample.lfp import LFP_RATE, ProbeLfp, current_source_density, simulate_lfp
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
from brainobs.vbn.sample_anatomy import in_brain_only
from brainobs.vbn.sample_blocks import FLASH_NAME
from brainobs.vbn.sample_design import EcephysSessionPlan, SizeSpec
from brainobs.vbn.sample_simulation import EcephysSimulation, simulate_ecephys

PRESENTATION_DROP = ("image_index",)
#: Task columns the gray screens, gabors and flashes lack: the released recordings store them
#: as float 0/1 (NaN-free within a stimulus's table) because the full table's column is a
#: nullable boolean (the reference toolkit's writer turns those into floats).
FLOAT_STORED_FLAGS = ("is_change", "is_image_novel", "omitted", "rewarded", "is_sham_change")


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
    spikes = draw_to_scratch(sim.population, sim.drive, plan.file_id, scratch, by_events=True)
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
    presentations = _as_released(sim.presentations.drop(columns=list(PRESENTATION_DROP)))
    content.tables.trials = sim.tables.trials
    add_behavior(nwb, content, presentations)
    groups = add_probes(nwb, probes)
    add_electrodes(nwb, sim.channels, groups)
    add_optotagging(nwb, sim.optotagging)
    add_eye_tracking(nwb, sim.eye, plan.behavior.equipment_name)
    return nwb


def _as_released(presentations: pd.DataFrame) -> pd.DataFrame:
    """Return the presentations with the flags that some blocks lack as float 0/1/NaN."""
    out = presentations.copy()
    for column in FLOAT_STORED_FLAGS:
        if column in out and out[column].isna().any():
            out[column] = [np.nan if pd.isna(v) else float(v) for v in out[column]]
    return out


def _task_parameters(sim: EcephysSimulation) -> dict[str, Any]:
    """Return the task parameters of the active block of an ecephys session."""
    from brainobs.sample.behavior_session import task_parameters

    return task_parameters(sim.plan.behavior, sim.sim, 0.05)


def _write_lfp(sim: EcephysSimulation, probe: pd.DataFrame, path: Path, size: SizeSpec) -> None:
    """Write a probe's LFP over the full-field flashes and ``size.lfp_windows``, and its CSD."""
    name, probe_id = str(probe["name"].iloc[0]), int(probe["ecephys_probe_id"].iloc[0])
    channels = in_brain_only(sim.channels[sim.channels["probe_name"] == name])
    rng = np.random.default_rng([sim.plan.behavior.seed, probe_id % 2**31])
    running = (sim.running.timestamps, sim.running.speed)
    onsets = sim.presentations.loc[sim.presentations["stimulus_name"] == FLASH_NAME, "start_time"]
    segments = [
        simulate_lfp(rng, channels, t0, t1, onsets.to_numpy(), running)
        for t0, t1 in lfp_spans(size, onsets.to_numpy(), float(sim.drive.t_stop))
    ]
    lfp = ProbeLfp(
        np.concatenate([s.timestamps for s in segments]),
        np.concatenate([s.data for s in segments]),
        segments[0].channels,
    )
    with deterministic_object_ids(probe_id):
        _write_lfp_file(sim, probe, lfp, path, size.contiguous)


def lfp_spans(size: SizeSpec, flash_onsets: np.ndarray, t_stop: float) -> list[tuple[float, float]]:
    """Return the time spans (s) the LFP covers: the windows and the full-field flash block."""
    block = (float(flash_onsets[0]) - 2.0, float(flash_onsets[-1]) + 3.0)
    spans = sorted([*size.lfp_windows, block])
    for (_, end), (start, _) in pairwise(spans):
        if start < end:
            raise ValueError(f"LFP spans overlap: {spans}")
    if spans[-1][1] > t_stop:
        raise ValueError(f"LFP span {spans[-1]} ends after the session ({t_stop:.0f} s)")
    return spans


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
    _add_csd(nwb, in_brain_only(channels))
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
