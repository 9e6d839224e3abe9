"""The VCN ``EcephysSession`` over the sample: units, stimuli, masking, eye, LFP and tuning."""

from __future__ import annotations

import warnings
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from brainobs import EcephysProjectCache, EcephysSession
from brainobs.errors import UnknownIdError
from brainobs.vcn.sample_release import VcnSampleRelease


@pytest.fixture(scope="module")
def cache(vcn_release: VcnSampleRelease, tmp_path_factory: pytest.TempPathFactory):
    return EcephysProjectCache.from_source(str(vcn_release.root), tmp_path_factory.mktemp("vcs"))


def _sessions(release: VcnSampleRelease) -> pd.DataFrame:
    return pd.read_csv(release.metadata_path("sessions"), index_col="id")


@pytest.fixture(scope="module")
def bo_id(vcn_release: VcnSampleRelease) -> int:
    sessions = _sessions(vcn_release)
    return int(sessions.index[sessions["session_type"] == "brain_observatory_1.1"][0])


@pytest.fixture(scope="module")
def session(cache, bo_id: int) -> EcephysSession:
    return cache.get_session_data(bo_id)


def test_units_are_filtered_merged_and_sorted(session, cache, bo_id) -> None:
    units = session.units
    assert units.index.name == "unit_id" and len(units) == session.num_units
    assert len(units) == cache.get_session_table().loc[bo_id, "unit_count"]
    assert {"probe_description", "probe_sampling_rate", "ecephys_structure_acronym",
            "waveform_PT_ratio", "L_ratio", "peak_channel_id"} <= set(units.columns)  # fmt: skip
    assert "quality" not in units and units["ecephys_structure_acronym"].notna().all()
    order = list(zip(units["probe_description"], units["probe_vertical_position"], strict=True))
    assert order == sorted(order)
    relaxed = cache.get_session_data(bo_id, filter_by_validity=False,
                                     amplitude_cutoff_maximum=None)  # fmt: skip
    assert len(relaxed.units) > len(units) and "quality" in relaxed.units


def test_spike_times_of_retained_units_only_and_a_warning(session) -> None:
    with pytest.warns(UserWarning, match="invalid time intervals"):
        spikes = session.spike_times
    assert list(spikes) == list(session.units.index)
    assert all(np.all(np.diff(t) >= 0) for t in spikes.values())
    assert len(session.spike_amplitudes) > len(spikes)  # every unit of the file
    waveforms = session.mean_waveforms
    first = waveforms[int(session.units.index[0])]
    assert first.dims == ("channel_id", "time") and set(first["channel_id"].values) <= set(
        session.channels.index
    )


def test_presentations_names_nulls_conditions_and_masking(session, vcn_release, bo_id) -> None:
    table = session.stimulus_presentations
    assert table.index.name == "stimulus_presentation_id"
    assert list(table.columns[:4]) == ["stimulus_block", "start_time", "stop_time",
                                       "stimulus_name"]  # fmt: skip
    assert list(table.columns[-2:]) == ["duration", "stimulus_condition_id"]
    assert not set(session.DETAILED_STIMULUS_PARAMETERS) & set(table.columns)
    assert (table.loc[table["stimulus_name"] == "spontaneous", "orientation"] == "null").all()
    invalid = session.invalid_times
    stimulus = invalid[[("stimulus" in t) for t in invalid["tags"]]]
    assert len(stimulus) == 1
    start, stop = stimulus.iloc[0][["start_time", "stop_time"]]
    overlaps = (table["start_time"] <= stop) & (table["stop_time"] >= start)
    masked = table[table["stimulus_name"] == "invalid_presentation"]
    assert masked.index.equals(table.index[overlaps]) and len(masked) > 0
    assert masked["stimulus_condition_id"].isna().all() and masked["orientation"].isna().all()
    conditions = session.stimulus_conditions
    assert conditions.index.name == "stimulus_condition_id"
    valid = table["stimulus_condition_id"].dropna().astype(int)
    assert valid.max() < len(conditions)
    gabors = session.get_stimulus_table("gabors")
    assert set(gabors["stimulus_name"]) == {"gabors"} and "frame" not in gabors
    assert len(gabors.groupby(["x_position", "y_position"])) == 81
    with pytest.raises(UnknownIdError, match="not in this session"):
        session.get_stimulus_table("drifting_gratings_contrast")


def test_parameter_values_intervals_and_epochs(session) -> None:
    values = session.get_parameter_values_for_stimulus("drifting_gratings")
    assert sorted(values["orientation"]) == [0, 45, 90, 135, 180, 225, 270, 315]
    assert "null" not in list(values["temporal_frequency"])
    with_nulls = session.get_parameter_values_for_stimulus("drifting_gratings", drop_nulls=False)
    assert list(with_nulls["temporal_frequency"])[-1] == "null"  # the blank sweep
    intervals = session.inter_presentation_intervals
    assert intervals.index.names == ["from_presentation_id", "to_presentation_id"]
    assert len(intervals) == len(session.stimulus_presentations) - 1
    scenes = session.get_inter_presentation_intervals_for_stimulus("natural_scenes")
    assert (scenes["interval"].abs() < 0.1).mean() > 0.9
    epochs = session.get_stimulus_epochs()
    assert list(epochs.columns) == ["start_time", "stop_time", "duration", "stimulus_name",
                                    "stimulus_block"]  # fmt: skip
    assert "gabors" in set(epochs["stimulus_name"])


def test_presentationwise_and_conditionwise(session) -> None:
    units = list(session.units.index[:4])
    flashes = session.get_stimulus_table("flashes")
    counts = session.presentationwise_spike_counts([0.0, 0.05, 0.25], flashes.index, units)
    assert counts.dims == ("stimulus_presentation_id", "time_relative_to_stimulus_onset",
                           "unit_id")  # fmt: skip
    spikes = session.get_spike_times(units)
    start = flashes["start_time"].to_numpy()
    expected = np.searchsorted(spikes[units[0]], start + 0.25) - np.searchsorted(
        spikes[units[0]], start
    )
    np.testing.assert_array_equal(counts.sel(unit_id=units[0]).sum("time_relative_to_stimulus_onset"),
                                  expected)  # fmt: skip
    stats = session.conditionwise_spike_statistics(flashes.index, units)
    assert set(stats.index.get_level_values("stimulus_condition_id")) == set(
        flashes["stimulus_condition_id"].astype(int)
    )
    every = session.conditionwise_spike_statistics(unit_ids=units[:1])
    assert every["stimulus_presentation_count"].sum() == session.stimulus_presentations[
        "stimulus_condition_id"].notna().sum()  # fmt: skip


def test_lfp_is_masked_lazily_on_invalid_intervals(session, vcn_release, bo_id) -> None:
    probes = session.probes
    probe = int(probes.index[probes["has_lfp_data"]][0])
    raw = session.get_lfp(probe, mask_invalid_intervals=False)
    times = raw["time"].values
    window = (float(times[100]), float(times[150]))
    name = probes.loc[probe, "description"]
    session.__dict__["invalid_times"] = pd.DataFrame(
        {"start_time": [window[0], 1e9], "stop_time": [window[1], 1e9 + 1],
         "tags": [["EcephysProbe", str(probe), name], ["EcephysProbe", "1", "probeZ"]]}
    )  # fmt: skip
    try:
        masked = session.get_lfp(probe)
        part = masked.isel(time=slice(90, 160)).values
        inside = (times[90:160] >= window[0]) & (times[90:160] <= window[1])
        assert np.isnan(part[inside]).all() and inside.sum() == 51
        np.testing.assert_array_equal(part[~inside], raw.isel(time=slice(90, 160)).values[~inside])
        assert masked.dims == ("time", "channel") and masked.name == "LFP"
        assert np.isfinite(masked.isel(time=slice(0, 50)).values).all()
    finally:
        del session.__dict__["invalid_times"]
    csd = session.get_current_source_density(probe)
    assert csd.dims == ("virtual_channel_index", "time")


def test_running_eye_optotagging_and_metadata(session, bo_id) -> None:
    running = session.running_speed
    assert list(running.columns) == ["start_time", "end_time", "velocity"]
    assert (running["end_time"] > running["start_time"]).all()
    pupil = session.get_pupil_data()
    gaze = session.get_screen_gaze_data(include_filtered_data=True)
    if pupil is not None:
        assert pupil.index.name == "Time (s)" and "pupil_width" in pupil
        assert len(gaze.columns) == 12 and gaze.index.equals(pupil.index)
    assert list(session.optogenetic_stimulation_epochs.columns[:2]) == ["start_time", "stop_time"]
    metadata = session.metadata
    assert metadata["ecephys_session_id"] == bo_id == session.ecephys_session_id
    assert metadata["session_type"] == "brain_observatory_1.1"
    assert metadata["num_units"] == len(session.units)
    assert session.rig_geometry_data.index.tolist() == ["x", "y", "z"]
    counts = session.structurewise_unit_counts
    assert counts.sum() == len(session.units)


def test_from_nwb_path_gives_metadata_and_structures(vcn_release, bo_id) -> None:
    """The reference raises KeyError for these when a session is opened from a path."""
    path = vcn_release.session_nwb_path(bo_id)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        session = EcephysSession.from_nwb_path(path, api_kwargs={"amplitude_cutoff_maximum": None})
        assert "VISp" in session.structure_acronyms
        assert session.metadata["num_channels"] == len(session.channels)
        assert session.structurewise_unit_counts.sum() == len(session.units)
        labels, bounds = session.channel_structure_intervals(session.channels.index[:100])
        assert len(bounds) == len(labels) + 1 and bounds[-1] == 100
        probe = int(session.probes.index[session.probes["has_lfp_data"]][0])
        assert session.get_lfp(probe).shape[1] > 0  # the LFP file beside the session file
    with h5py.File(path, "r") as h5:
        assert len(session.probes) == len(h5["general/extracellular_ephys"]) - 1


def test_tuning_metrics_recover_the_simulated_tuning(session, vcn_release) -> None:
    truth = vcn_release.unit_truth().set_index("unit_id")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        metrics = session.get_tuning_metrics()
    truth = truth.loc[metrics.index]
    strong = (truth["visual"] & (truth["response_amplitude"] > 10)).to_numpy()
    assert strong.sum() >= 10
    m, t = metrics[strong], truth[strong]
    assert (m["pref_ori_dg"] == t["preferred_direction"]).mean() > 0.9
    assert (m["pref_tf_dg"] == t["preferred_tf"]).mean() > 0.8
    assert (m["pref_sf_sg"] == t["preferred_sf"]).mean() > 0.7
    # the image (frame), not a condition id; with ~5 repeats of 118 scenes, half are exact
    assert (m["pref_image_ns"] == t["preferred_image"]).mean() > 0.5
    assert m["pref_image_ns"].between(0, 117).all()
    found = m["p_value_rf"] < 0.01
    assert found.mean() > 0.4
    assert (m.loc[found, "azimuth_rf"] - (t.loc[found, "rf_x"] + 50)).abs().median() < 8
    assert (m.loc[found, "elevation_rf"] - (t.loc[found, "rf_y"] + 10)).abs().median() < 8
    on, off = t["flash_preference"] == "on", t["flash_preference"] == "off"
    assert (
        m.loc[on, "on_off_ratio_fl"].median() > 1.5 > 0.7 > m.loc[off, "on_off_ratio_fl"].median()
    )
    rf = session.get_receptive_fields(metrics.index[:3])
    assert rf.dims == ("unit_id", "y_position", "x_position") and rf.shape[1:] == (9, 9)


def test_fc_session_has_dot_motion_and_contrast(cache, vcn_release: VcnSampleRelease) -> None:
    sessions = _sessions(vcn_release)
    fc = int(sessions.index[sessions["session_type"] == "functional_connectivity"][0])
    session = cache.get_session_data(fc)
    names = set(session.stimulus_names)
    assert {"dot_motion", "drifting_gratings_contrast", "drifting_gratings_75_repeats",
            "natural_movie_one", "natural_movie_one_shuffled"} <= names  # fmt: skip
    dots = session.get_stimulus_table("dot_motion")
    assert {"Dir", "Speed"} <= set(dots.columns) and "color_triplet" not in dots
    assert "[" in str(session.get_stimulus_table("dot_motion", include_detailed_parameters=True)[
        "color_triplet"].iloc[0])  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        metrics = session.get_tuning_metrics(stimuli=["dm", "dg"])
    assert {"pref_speed_dm", "c50_dg"} <= set(metrics.columns)
    assert metrics["c50_dg"].notna().any()


def test_closing_and_reopening(session) -> None:
    session.close()
    assert not session._file.is_open
    assert len(session.get_spike_times(session.units.index[:1])) == 1


def test_session_paths_are_in_the_cache_folder(cache, bo_id) -> None:
    path = Path(cache.get_cache_path(None, "session_nwb", bo_id, bo_id))
    assert path.is_file() and cache.tree.is_cached(path.relative_to(cache.tree.folder).as_posix())
