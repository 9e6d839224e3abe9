"""The benchmark size's code path, run at a hundredth of its scale (seconds, not minutes)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from brainobs.cli.main import main
from brainobs.nwb import mapping
from brainobs.sample import SampleRelease
from brainobs.vbn.sample_design import SIZES, SizeSpec, scaled_size
from brainobs.vbn.sample_release import build_release
from brainobs.vbn.session import BehaviorEcephysSession

SCALE = 0.01


@pytest.fixture(scope="module")
def spec() -> SizeSpec:
    return scaled_size("benchmark", SCALE)


@pytest.fixture(scope="module")
def tiny(spec: SizeSpec, tmp_path_factory: pytest.TempPathFactory) -> SampleRelease:
    root = tmp_path_factory.mktemp("vbn_benchmark")
    build_release(root, spec, seed=3)
    return SampleRelease(root, spec.name, 3)


def _read(release: SampleRelease, name: str) -> pd.DataFrame:
    return pd.read_csv(release.metadata_path(name))


def test_scaled_size_keeps_the_benchmark_path(spec: SizeSpec) -> None:
    full = SIZES["benchmark"]
    assert full.release_units == 319_013 and full.metadata_only_sessions + 2 == 153
    assert full.contiguous and spec.contiguous and spec.ecephys_files_per_mouse == 1
    assert spec.units_per_probe < full.units_per_probe and spec.release_units > 0


def test_tables_list_every_session_and_reach_the_unit_count(
    tiny: SampleRelease, spec: SizeSpec
) -> None:
    sessions = _read(tiny, "ecephys_sessions")
    units, channels, probes = (_read(tiny, n) for n in ("units", "channels", "probes"))
    assert len(sessions) == 2 + spec.metadata_only_sessions
    assert len(units) == spec.release_units
    assert set(units["ecephys_session_id"]) == set(sessions["ecephys_session_id"])
    by_session = sessions.set_index("ecephys_session_id")
    assert (
        units.groupby("ecephys_session_id")
        .size()
        .equals(by_session["unit_count"].sort_index().rename(None))
    )
    assert channels.groupby("ecephys_session_id").size().sort_index().tolist() == (
        by_session["channel_count"].sort_index().tolist()
    )
    assert (probes.groupby("ecephys_session_id").size() == by_session["probe_count"]).all()
    assert units["ecephys_channel_id"].isin(channels["ecephys_channel_id"]).all()
    ids = pd.concat([sessions["ecephys_session_id"], sessions["behavior_session_id"],
                     probes["ecephys_probe_id"], channels["ecephys_channel_id"],
                     units["unit_id"]])  # fmt: skip
    assert ids.is_unique  # one id sequence, as in the real release


def test_only_the_written_session_points_to_files(tiny: SampleRelease) -> None:
    sessions = _read(tiny, "ecephys_sessions")
    behavior = _read(tiny, "behavior_sessions")
    probes = _read(tiny, "probes")
    with_file = sessions[sessions["file_id"] >= 0]
    assert len(with_file) == 1
    assert (sessions.loc[sessions["file_id"] < 0, "file_id"] == -999).all()
    written = with_file["ecephys_session_id"].iloc[0]
    others = probes[probes["ecephys_session_id"] != written]
    assert (others["file_id"] == -999).all() and others["has_lfp_data"].any()
    referenced = pd.concat([behavior["file_id"], sessions["file_id"], probes["file_id"]])
    manifest = tiny.manifest
    assert set(referenced[referenced >= 0].astype(str)) == set(manifest.data_files)
    assert all(tiny.path_of(e.key).is_file() for e in manifest.entries().values())
    info = tiny.info()
    assert list(info["ecephys_sessions_with_files"]) == [str(written)]
    assert set(info["metadata_only_ecephys_sessions"]) == set(sessions["ecephys_session_id"]) - {
        written
    }


def test_download_of_a_session_without_file_is_an_error(
    tiny: SampleRelease, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sessions = _read(tiny, "ecephys_sessions")
    missing = str(sessions.loc[sessions["file_id"] < 0, "ecephys_session_id"].iloc[-1])
    args = ["--source", str(tiny.root), "--cache-dir", str(tmp_path)]
    assert main(["download", "vbn", missing, *args]) != 0
    assert missing in capsys.readouterr().err


def test_metadata_only_units_have_values_like_the_written_ones(tiny: SampleRelease) -> None:
    units = _read(tiny, "units")
    sessions = _read(tiny, "ecephys_sessions")
    written = sessions.loc[sessions["file_id"] >= 0, "ecephys_session_id"].iloc[0]
    listed = units[units["ecephys_session_id"] != written]
    always = [c for c in units.columns if c not in ("velocity_above", "velocity_below")]
    assert not listed[always].isna().any().any()
    assert 1.0 < listed["firing_rate"].median() < 15.0 and (listed["firing_rate"] > 0).all()
    assert set(listed["quality"]) == {"good", "noise"}
    assert listed["amplitude_cutoff"].max() == 0.5
    assert set(listed["structure_acronym"]) >= {"VISp", "CA1", "LGd"}


def test_metadata_only_mice_count_their_unlisted_training(tiny: SampleRelease) -> None:
    sessions = _read(tiny, "ecephys_sessions")
    listed = sessions[sessions["file_id"] < 0].iloc[1:]  # the first mouse's own second day
    assert (listed["session_number"].isin([1, 2])).all()
    familiar = listed[listed["image_set"] == "G"]
    assert (familiar["experience_level"] == "Familiar").all()
    assert (listed.loc[listed["image_set"] == "H", "experience_level"] == "Novel").all()
    behavior = _read(tiny, "behavior_sessions")
    days = behavior[behavior["ecephys_session_id"].isin(listed["ecephys_session_id"])]
    assert (days["session_number"] > 25).all()


def test_written_session_has_the_released_layout(tiny: SampleRelease) -> None:
    sessions = _read(tiny, "ecephys_sessions")
    row = sessions[sessions["file_id"] >= 0].iloc[0]
    units = _read(tiny, "units").set_index("unit_id")
    with h5py.File(tiny.data_path(row["file_id"]), "r") as h5:
        times = h5["units/spike_times"]
        assert times.chunks is None and times.compression is None
        assert h5["units/waveform_mean"].shape == (384 * row["unit_count"], 82)
        assert h5["units/waveform_mean"].chunks is None
        ends = h5["units/spike_times_index"][:]
        ids = h5["units/id"][:]
        spikes = times[:]
        amplitudes = h5["units/spike_amplitudes"][:]
        rates = h5["units/firing_rate"][:]
        types = {h5[f"general/{g}/probeA"].attrs["neurodata_type"]
                 for g in ("devices", "extracellular_ephys")}  # fmt: skip
    assert types == {"EcephysProbe", "EcephysElectrodeGroup"}  # extension types, not core
    assert len(spikes) == ends[-1] == len(amplitudes)
    trains = np.split(spikes, ends[:-1])
    assert all(np.all(np.diff(t) > 0) for t in trains)
    assert np.allclose(units.loc[ids, "firing_rate"], rates)
    duration = np.array([len(t) for t in trains]) / np.where(rates > 0, rates, np.inf)
    assert np.ptp(duration[rates > 0]) < 1e-6  # rate = spikes / recording duration
    assert (amplitudes > 0).all() and np.abs(amplitudes).max() < 2e-3


def test_spike_times_of_the_released_layout_are_mapped_not_copied(
    tiny: SampleRelease, monkeypatch: pytest.MonkeyPatch
) -> None:
    sessions = _read(tiny, "ecephys_sessions")
    path = tiny.data_path(sessions.loc[sessions["file_id"] >= 0, "file_id"].iloc[0])
    monkeypatch.setattr(mapping, "MAP_AT_LEAST", 0)  # this scale's spikes are under 1 MiB
    mapped = BehaviorEcephysSession.from_nwb_path(path)
    spikes = mapped.spike_times
    flat = next(iter(spikes.values())).base
    assert isinstance(flat.base, memoryview)
    assert all(times.base is flat for times in spikes.values())  # views of one map
    presentations = mapped.stimulus_presentations
    ids = presentations.index[presentations["stimulus_block"] == 0][:300]
    edges = np.linspace(-0.05, 0.25, 31)
    counts = mapped.presentationwise_spike_counts(edges, ids, list(spikes))
    mapped.close()
    monkeypatch.setenv("BRAINOBS_MAP_FILES", "0")
    read = BehaviorEcephysSession.from_nwb_path(path)
    assert next(iter(read.spike_times.values())).base.base is None  # read into memory
    assert read.spike_times.keys() == spikes.keys()
    for unit, times in read.spike_times.items():
        np.testing.assert_array_equal(spikes[unit], times)  # still readable after close()
    again = read.presentationwise_spike_counts(edges, ids, list(spikes))
    xr.testing.assert_identical(again, counts)
    assert int(counts.sum()) > 1000


def test_written_session_opens_in_pynwb(tiny: SampleRelease) -> None:
    import pynwb

    sessions = _read(tiny, "ecephys_sessions")
    file_id = sessions.loc[sessions["file_id"] >= 0, "file_id"].iloc[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pynwb.NWBHDF5IO(str(tiny.data_path(file_id)), "r") as io:
            nwb = io.read()
            first = nwb.units["spike_times"][0]
            waveform = nwb.units["waveform_mean"][0]
            n_trials = len(nwb.trials)
    assert len(first) > 0 and waveform.shape == (384, 82) and n_trials > 5


def test_ground_truth_covers_the_written_units(tiny: SampleRelease) -> None:
    truth = tiny.unit_truth()
    sessions = _read(tiny, "ecephys_sessions")
    written = sessions.loc[sessions["file_id"] >= 0]
    assert set(truth["ecephys_session_id"]) == set(written["ecephys_session_id"])
    assert len(truth) == written["unit_count"].sum()
    info = json.loads((tiny.ground_truth_dir / "release.json").read_text())
    assert info["size"] == f"benchmark-x{SCALE:g}"


def test_same_seed_gives_identical_files(
    tiny: SampleRelease, spec: SizeSpec, tmp_path: Path
) -> None:
    build_release(tmp_path, spec, seed=3)
    again = SampleRelease(tmp_path, spec.name, 3)
    first = {k: e.file_hash for k, e in tiny.manifest.entries().items()}
    assert first == {k: e.file_hash for k, e in again.manifest.entries().items()}
