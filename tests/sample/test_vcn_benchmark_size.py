"""The VCN benchmark size's code path, run at a fiftieth of its scale (seconds, not minutes)."""

from __future__ import annotations

import warnings

import h5py
import numpy as np
import pandas as pd
import pytest

from brainobs.vcn.sample_design import FULL_REPEATS, SIZES, SizeSpec, scaled_size
from brainobs.vcn.sample_release import PROJECT, VcnSampleRelease, build_release
from brainobs.vcn.sample_schedule import BLOCKS

SCALE = 0.02


@pytest.fixture(scope="module")
def spec() -> SizeSpec:
    return scaled_size("benchmark", SCALE)


@pytest.fixture(scope="module")
def tiny(spec: SizeSpec, tmp_path_factory: pytest.TempPathFactory) -> VcnSampleRelease:
    root = tmp_path_factory.mktemp("vcn_benchmark")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        build_release(root, spec, seed=5)
    return VcnSampleRelease(root, spec.name, 5, PROJECT)


def test_benchmark_size_is_one_real_size_session(spec: SizeSpec) -> None:
    full = SIZES["benchmark"]
    assert len(full.sessions) == 1 and full.sessions[0][0] == "brain_observatory_1.1"
    assert 1900 <= full.units_per_probe * full.sessions[0][2] <= 2200
    assert full.repeats == FULL_REPEATS and full.spontaneous_scale == 1.0
    assert full.contiguous and spec.contiguous
    assert spec.units_per_probe < full.units_per_probe


def test_the_session_has_every_block_of_the_real_schedule(tiny: VcnSampleRelease) -> None:
    sessions = pd.read_csv(tiny.metadata_path("sessions"), index_col="id")
    assert len(sessions) == 1
    session_id = int(sessions.index[0])
    with h5py.File(tiny.session_nwb_path(session_id), "r") as h5:
        blocks = {
            float(b)
            for name in h5["intervals"]
            if name.endswith("_presentations") and name != "spontaneous_presentations"
            for b in h5[f"intervals/{name}/stimulus_block"][:]
        }
        spontaneous = len(h5["intervals/spontaneous_presentations/id"])
    schedule = BLOCKS["brain_observatory_1.1"]
    assert blocks == {float(b) for b in range(sum(1 for e in schedule if len(e) == 1))}
    assert spontaneous == sum(1 for e in schedule if len(e) == 2)


def test_large_arrays_are_contiguous_as_released(tiny: VcnSampleRelease) -> None:
    probes = pd.read_csv(tiny.metadata_path("probes"), index_col="id")
    session_id = int(probes["ecephys_session_id"].iloc[0])
    with h5py.File(tiny.session_nwb_path(session_id), "r") as h5:
        for name in ("spike_times", "spike_amplitudes", "waveform_mean"):
            assert h5[f"units/{name}"].chunks is None and h5[f"units/{name}"].compression is None
        ends = h5["units/spike_times_index"][:]
        trains = np.split(h5["units/spike_times"][:], ends[:-1])
        rates = h5["units/firing_rate"][:]
    assert all(np.all(np.diff(t) > 0) for t in trains)
    assert np.all(rates > 0)
    for probe_id in probes.index[probes["has_lfp_data"]]:
        with h5py.File(tiny.probe_lfp_path(session_id, probe_id), "r") as h5:
            data = h5[f"acquisition/probe_{probe_id}_lfp/probe_{probe_id}_lfp_data/data"]
            assert data.chunks is None


def test_tables_and_ground_truth_cover_the_units(tiny: VcnSampleRelease, spec: SizeSpec) -> None:
    units = pd.read_csv(tiny.metadata_path("units"), index_col="id")
    truth = tiny.unit_truth()
    metrics = pd.read_csv(
        tiny.metadata_path("brain_observatory_1.1_analysis_metrics"), index_col="ecephys_unit_id"
    )
    assert set(truth["unit_id"]) == set(units.index) == set(metrics.index)
    assert tiny.info()["size"] == f"benchmark-x{SCALE:g}" and tiny.is_complete()
