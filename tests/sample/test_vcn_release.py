"""The default VCN sample release: cache-tree layout, tables, NWB paths and dtypes, ground truth."""

from __future__ import annotations

import hashlib
import json
import re
import warnings
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from brainobs.cli.main import main
from brainobs.tables.load import read_table
from brainobs.vcn.sample_release import CACHE_PREFIX, VcnSampleRelease
from brainobs.vcn.schemas import SESSION_TYPES, VCN_SCHEMAS, metric_columns

TABLES = ("sessions", "probes", "channels", "units")
F8, I8, TEXT, REF = "float64", "int64", "object", "compound"
#: Columns (and dtypes) of the released presentation tables (DANDI 000021 / 000022 layouts).
_COMMON = {"id": I8, "start_time": F8, "stop_time": F8, "stimulus_name": TEXT, "tags": TEXT,
           "tags_index": I8, "timeseries": REF, "timeseries_index": I8}  # fmt: skip
_BLOCK = {"stimulus_block": F8, "stimulus_index": F8}
_PSYCHOPY = {"color": TEXT, "contrast": F8, "opacity": F8, "size": TEXT, "units": TEXT}
_GRATING = _PSYCHOPY | {"mask": TEXT, "orientation": F8, "phase": TEXT}
_MOVIE = _PSYCHOPY | {"frame": F8, "orientation": F8}
PRESENTATION_COLUMNS: dict[str, dict[str, str]] = {
    "spontaneous": {},
    "gabors": _GRATING | {"spatial_frequency": TEXT, "temporal_frequency": F8,
                          "x_position": F8, "y_position": F8},
    "flashes": _GRATING | {"spatial_frequency": TEXT},
    "drifting_gratings": _GRATING | {"spatial_frequency": TEXT, "temporal_frequency": F8},
    "static_gratings": _GRATING | {"spatial_frequency": F8},
    "natural_scenes": {"frame": F8},
    "natural_movie_one": _MOVIE,
    "natural_movie_three": _MOVIE,
    "drifting_gratings_contrast": _GRATING | {"spatial_frequency": TEXT,
                                              "temporal_frequency": F8},
    "drifting_gratings_75_repeats": _GRATING | {"spatial_frequency": F8,
                                                "temporal_frequency": F8},
    "dot_motion": {"Dir": F8, "Speed": F8, "coherence": F8, "color": TEXT, "contrast": F8,
                   "dotLife": F8, "dotSize": F8, "fieldPos": TEXT, "fieldShape": TEXT,
                   "fieldSize": TEXT, "nDots": F8, "noiseDots": TEXT, "opacity": F8,
                   "units": TEXT},
    "natural_movie_one_more_repeats": _MOVIE,
    "natural_movie_one_shuffled": _MOVIE,
}  # fmt: skip
SESSION_STIMULI = {
    "brain_observatory_1.1": {"spontaneous", "gabors", "flashes", "drifting_gratings",
                              "static_gratings", "natural_scenes", "natural_movie_one",
                              "natural_movie_three"},
    "functional_connectivity": {"spontaneous", "gabors", "flashes", "drifting_gratings_contrast",
                                "drifting_gratings_75_repeats", "dot_motion",
                                "natural_movie_one_more_repeats", "natural_movie_one_shuffled"},
}  # fmt: skip
UNIT_DATASETS = {
    "PT_ratio": F8, "amplitude": F8, "amplitude_cutoff": F8, "cluster_id": I8,
    "cumulative_drift": F8, "d_prime": F8, "firing_rate": F8, "id": I8, "isi_violations": F8,
    "isolation_distance": F8, "l_ratio": F8, "local_index": I8, "max_drift": F8,
    "nn_hit_rate": F8, "nn_miss_rate": F8, "peak_channel_id": I8, "presence_ratio": F8,
    "quality": TEXT, "recovery_slope": F8, "repolarization_slope": F8, "silhouette_score": F8,
    "snr": F8, "spike_amplitudes": F8, "spike_amplitudes_index": I8, "spike_times": F8,
    "spike_times_index": I8, "spread": F8, "velocity_above": F8, "velocity_below": F8,
    "waveform_duration": F8, "waveform_halfwidth": F8, "waveform_mean": F8,
    "waveform_mean_index": I8,
}  # fmt: skip
ELECTRODE_DATASETS = {
    "filtering": TEXT, "group": TEXT, "group_name": TEXT, "id": I8, "imp": F8, "local_index": I8,
    "location": TEXT, "probe_horizontal_position": I8, "probe_id": I8,
    "probe_vertical_position": I8, "valid_data": "bool", "x": F8, "y": F8, "z": F8,
}  # fmt: skip
SESSION_GROUPS = {
    "acquisition/raw_running_wheel_rotation": "TimeSeries",
    "acquisition/running_wheel_signal_voltage": "TimeSeries",
    "acquisition/running_wheel_supply_voltage": "TimeSeries",
    "general/subject": "EcephysSpecimen",
    "processing/running/running_speed": "TimeSeries",
    "processing/running/running_speed_end_times": "TimeSeries",
    "processing/running/running_wheel_rotation": "TimeSeries",
    "processing/stimulus/timestamps": "TimeSeries",
    "processing/optotagging/optotagging": "TimeSeries",
    "processing/optotagging/optogenetic_stimulation": "TimeIntervals",
    "processing/eye_tracking_rig_metadata/eye_tracking_rig_metadata":
        "EcephysEyeTrackingRigMetadata",
    "units": "Units",
}  # fmt: skip
EYE_GROUPS = {
    **{f"processing/eye_tracking/{p}_ellipse_fits": "DynamicTable" for p in ("pupil", "cr", "eye")},
    **{f"processing/{k}_gaze_mapping/{s}": "TimeSeries" for k in ("raw", "filtered")
       for s in ("eye_area", "pupil_area", "screen_coordinates", "screen_coordinates_spherical")},
}  # fmt: skip


def _dtype(dataset: h5py.Dataset) -> str:
    """Return a dataset's dtype as the layout listings name it."""
    if dataset.dtype.names:
        return REF
    if h5py.check_string_dtype(dataset.dtype) or dataset.dtype.kind == "O":
        return TEXT
    return str(dataset.dtype)


def _sessions(release: VcnSampleRelease) -> pd.DataFrame:
    return pd.read_csv(release.metadata_path("sessions"), index_col="id")


def _probes(release: VcnSampleRelease) -> pd.DataFrame:
    return pd.read_csv(release.metadata_path("probes"), index_col="id")


def test_tree_holds_the_cache_layout(vcn_release: VcnSampleRelease) -> None:
    keys = set(vcn_release.files())
    on_disk = {p.relative_to(vcn_release.root).as_posix()
               for p in vcn_release.cache_dir.rglob("*") if p.is_file()}  # fmt: skip
    assert keys == on_disk
    names = {re.sub(r"\d+", "N", k.removeprefix(f"{CACHE_PREFIX}/")) for k in keys}
    assert names == {
        "manifest.json", "sessions.csv", "probes.csv", "channels.csv", "units.csv",
        "brain_observatory_N.N_analysis_metrics.csv",
        "functional_connectivity_analysis_metrics.csv",
        "session_N/session_N.nwb", "session_N/probe_N_lfp.nwb",
    }  # fmt: skip
    sessions, probes = _sessions(vcn_release), _probes(vcn_release)
    assert set(sessions["session_type"]) == set(SESSION_TYPES)
    for probe_id, probe in probes.iterrows():
        lfp = vcn_release.probe_lfp_path(probe["ecephys_session_id"], probe_id)
        assert lfp.is_file() == probe["has_lfp_data"]
    for session_id in sessions.index:
        assert vcn_release.session_nwb_path(session_id).is_file()


def test_manifest_json_is_the_references_path_manifest(vcn_release: VcnSampleRelease) -> None:
    manifest = json.loads(vcn_release.manifest_path.read_text())["manifest"]
    assert manifest[0] == {"type": "manifest_version", "value": "0.3.0"}
    specs = {e["key"]: e["spec"] for e in manifest[1:]}
    assert specs["BASEDIR"] == "." and specs["session_nwb"] == "session_%d.nwb"
    assert specs["probe_lfp_nwb"] == "probe_%d_lfp.nwb"
    assert specs["typewise_analysis_metrics"] == "%s_analysis_metrics.csv"


def test_release_json_records_sizes_and_md5s(vcn_release: VcnSampleRelease) -> None:
    for key, entry in vcn_release.files().items():
        path = vcn_release.path_of(key)
        assert path.stat().st_size == entry["size"]
        assert hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest() == entry["md5"]


@pytest.mark.parametrize("name", sorted(VCN_SCHEMAS))
def test_tables_parse_with_the_schemas(vcn_release: VcnSampleRelease, name: str) -> None:
    schema = VCN_SCHEMAS[name]
    path = vcn_release.metadata_path(name)
    raw = pd.read_csv(path)
    assert list(raw.columns) == schema.csv_columns
    table = read_table(path, schema)
    assert table.index.name == schema.index and table.index.is_unique and len(table) > 0
    for column, dtype in schema.dtypes.items():
        if column != schema.index:
            text = {"str", "string", "object"}
            assert str(table[column].dtype) in (text if dtype == "string" else {dtype}), column
    reference = pd.read_csv(path, index_col=schema.index)
    for column, dtype in schema.reference_dtypes.items():
        if column != schema.index and dtype in ("float64", "int64", "bool"):
            assert str(reference[column].dtype) == dtype, column


def test_tables_are_consistent(vcn_release: VcnSampleRelease) -> None:
    sessions, probes = _sessions(vcn_release), _probes(vcn_release)
    channels = pd.read_csv(vcn_release.metadata_path("channels"), index_col="id")
    units = pd.read_csv(vcn_release.metadata_path("units"), index_col="id")
    assert probes["ecephys_session_id"].isin(sessions.index).all()
    assert channels["ecephys_probe_id"].isin(probes.index).all()
    assert units["ecephys_channel_id"].isin(channels.index).all()
    assert (channels.groupby("ecephys_probe_id").size() < 384).all()  # valid channels only
    outside = channels["ecephys_structure_acronym"].isna()
    assert outside.any() and (channels.loc[outside, "left_right_ccf_coordinate"] == -1000).all()
    assert set(units["quality"]) == {"good", "noise"}
    assert units["amplitude_cutoff"].isna().any()  # units the default filters drop
    ids = pd.concat([sessions.index.to_series(), probes.index.to_series(),
                     channels.index.to_series(), units.index.to_series()])  # fmt: skip
    assert ids.is_unique
    for session_type in SESSION_TYPES:
        metrics = pd.read_csv(
            vcn_release.metadata_path(f"{session_type}_analysis_metrics"),
            index_col="ecephys_unit_id",
        )
        assert list(metrics.columns) == list(metric_columns(session_type))
        assert len(metrics.columns) == {"brain_observatory_1.1": 57}.get(session_type, 45)
        of_type = sessions.index[sessions["session_type"] == session_type]
        channel_session = channels["ecephys_probe_id"].map(probes["ecephys_session_id"])
        unit_session = units["ecephys_channel_id"].map(channel_session)
        assert set(metrics.index) == set(units.index[unit_session.isin(of_type)])


def _nwb_paths(release: VcnSampleRelease) -> list[Path]:
    return [release.path_of(k) for k in release.files() if k.endswith(".nwb")]


def test_nwb_files_open_in_pynwb(vcn_release: VcnSampleRelease) -> None:
    import pynwb

    for path in _nwb_paths(vcn_release):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pynwb.NWBHDF5IO(str(path), "r") as io:
                nwb = io.read()
                assert nwb.identifier == path.stem.split("_")[1]


def test_nwbinspector_reports_no_critical(vcn_release: VcnSampleRelease) -> None:
    from nwbinspector import Importance, inspect_nwbfile

    for path in _nwb_paths(vcn_release):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            messages = list(inspect_nwbfile(nwbfile_path=str(path)))
        critical = [m for m in messages if m.importance == Importance.CRITICAL]
        assert not critical, [str(m.message) for m in critical]


def _check_datasets(group: h5py.Group, expected: dict[str, str]) -> None:
    """Assert ``group`` holds exactly the ``expected`` datasets with their dtypes."""
    found = {name: _dtype(d) for name, d in group.items() if isinstance(d, h5py.Dataset)}
    assert found == expected, group.name


def test_session_files_have_the_released_paths_and_dtypes(vcn_release: VcnSampleRelease) -> None:
    sessions = _sessions(vcn_release)
    for session_id, session in sessions.iterrows():
        with h5py.File(vcn_release.session_nwb_path(session_id), "r") as h5:
            assert h5.attrs["nwb_version"] == "2.2.2"
            assert set(h5["specifications"]) == {"core", "hdmf-common", "ndx-aibs-ecephys"}
            assert list(h5["specifications/core"]) == ["2.2.2"]
            assert list(h5["specifications/hdmf-common"]) == ["1.1.3"]
            assert h5["general/stimulus"][()].decode() == session["session_type"]
            assert h5["identifier"][()].decode() == str(session_id)
            tables = {n.removesuffix("_presentations") for n in h5["intervals"]
                      if n.endswith("_presentations")}  # fmt: skip
            assert tables == SESSION_STIMULI[session["session_type"]]
            for name in tables:
                expected = _COMMON | PRESENTATION_COLUMNS[name]
                expected |= _BLOCK if name != "spontaneous" else {}
                _check_datasets(h5[f"intervals/{name}_presentations"], expected)
            _check_datasets(h5["units"], UNIT_DATASETS)
            assert h5["units/waveform_mean"].shape[1] == 82
            _check_datasets(h5["general/extracellular_ephys/electrodes"], ELECTRODE_DATASETS)
            groups = SESSION_GROUPS | (EYE_GROUPS if "processing/eye_tracking" in h5 else {})
            for path, kind in groups.items():
                assert h5[path].attrs["neurodata_type"] == kind, path
            probes = _probes(vcn_release)
            for probe in probes.loc[probes["ecephys_session_id"] == session_id, "name"]:
                assert h5[f"general/devices/{probe}"].attrs["neurodata_type"] == "EcephysProbe"
                group = h5[f"general/extracellular_ephys/{probe}"]
                assert group.attrs["neurodata_type"] == "EcephysElectrodeGroup"
            electrodes = h5["general/extracellular_ephys/electrodes"]
            assert np.array_equal(electrodes["z"][:], electrodes["y"][:], equal_nan=True)


def test_some_sessions_lack_eye_tracking_or_invalid_times(vcn_release: VcnSampleRelease) -> None:
    with_eye, with_invalid = [], []
    for session_id in _sessions(vcn_release).index:
        with h5py.File(vcn_release.session_nwb_path(session_id), "r") as h5:
            with_eye.append("processing/eye_tracking" in h5)
            with_invalid.append("intervals/invalid_times" in h5)
            if with_invalid[-1]:
                tags = h5["intervals/invalid_times/tags"][:]
                assert len(tags) == 3 * len(h5["intervals/invalid_times/id"])
                _check_datasets(h5["intervals/invalid_times"], {
                    "id": I8, "start_time": F8, "stop_time": F8, "tags": TEXT, "tags_index": I8,
                })  # fmt: skip
    assert any(with_eye) and not all(with_eye)
    assert any(with_invalid) and not all(with_invalid)


def test_lfp_files_have_the_released_paths(vcn_release: VcnSampleRelease) -> None:
    probes = _probes(vcn_release)
    for probe_id, probe in probes[probes["has_lfp_data"]].iterrows():
        path = vcn_release.probe_lfp_path(probe["ecephys_session_id"], probe_id)
        with h5py.File(path, "r") as h5:
            series = h5[f"acquisition/probe_{probe_id}_lfp/probe_{probe_id}_lfp_data"]
            link = h5["acquisition"].get(f"probe_{probe_id}_lfp_data", getlink=True)
            assert isinstance(link, h5py.SoftLink)
            n_channels = len(h5["general/extracellular_ephys/electrodes/id"])
            assert series["data"].dtype == np.float32 and series["data"].shape[1] == n_channels
            assert series["timestamps"].dtype == np.float64
            assert series["electrodes"].dtype == np.int64
            assert h5["general/session_id"][()].decode() == str(probe["ecephys_session_id"])
            csd = h5["processing/current_source_density/ecephys_csd"]
            assert csd.attrs["neurodata_type"] == "EcephysCSD"
            assert csd["virtual_electrode_y_positions"].dtype == np.float32
            assert csd["current_source_density/data"].shape[1] == 384
            assert h5["general/extracellular_ephys/electrodes/local_index"].dtype == np.int64


def _spikes(h5: h5py.File) -> dict[int, np.ndarray]:
    """Return each unit's spike times from an open session file."""
    ends = h5["units/spike_times_index"][:]
    trains = np.split(h5["units/spike_times"][:], ends[:-1])
    return dict(zip(h5["units/id"][:].tolist(), trains, strict=True))


def _counts(spikes: np.ndarray, starts: np.ndarray, window: float) -> np.ndarray:
    return np.searchsorted(spikes, starts + window) - np.searchsorted(spikes, starts)


def test_units_fire_most_at_their_ground_truth_preferences(vcn_release: VcnSampleRelease) -> None:
    truth = vcn_release.unit_truth().set_index("unit_id")
    sessions = _sessions(vcn_release)
    bo = sessions.index[sessions["session_type"] == "brain_observatory_1.1"][0]
    with h5py.File(vcn_release.session_nwb_path(bo), "r") as h5:
        spikes = _spikes(h5)
        dg = {c: h5[f"intervals/drifting_gratings_presentations/{c}"][:]
              for c in ("start_time", "orientation")}  # fmt: skip
        gabors = {c: h5[f"intervals/gabors_presentations/{c}"][:]
                  for c in ("start_time", "x_position", "y_position")}  # fmt: skip
    strong = truth[truth["visual"] & (truth["response_amplitude"] > 10)
                   & truth.index.isin(list(spikes))]  # fmt: skip
    assert len(strong) > 20
    direction_hits, rf_errors = [], []
    for unit_id, unit in strong.iterrows():
        counts = _counts(spikes[unit_id], dg["start_time"], 2.0)
        by_direction = pd.Series(counts).groupby(dg["orientation"]).mean()
        direction_hits.append(by_direction.idxmax() == unit["preferred_direction"])
        grid = pd.Series(_counts(spikes[unit_id], gabors["start_time"], 0.25)).groupby(
            [gabors["x_position"], gabors["y_position"]]
        ).mean()  # fmt: skip
        x, y = grid.idxmax()
        rf_errors.append(np.hypot(x - unit["rf_x"], y - unit["rf_y"]))
    assert np.mean(direction_hits) > 0.9
    assert np.median(rf_errors) < 12.0  # degrees; the gabor grid has a 10 deg step


def test_tagged_units_follow_light_pulses(vcn_release: VcnSampleRelease) -> None:
    truth = vcn_release.unit_truth()
    sessions = _sessions(vcn_release)
    for session_id, session in sessions.iterrows():
        units = truth[truth["ecephys_session_id"] == session_id]
        assert units["tagged"].any() == (session["genotype"] != "wt/wt")
        if not units["tagged"].any():
            continue
        with h5py.File(vcn_release.session_nwb_path(session_id), "r") as h5:
            spikes = _spikes(h5)
            opto = h5["processing/optotagging/optogenetic_stimulation"]
            names = opto["stimulus_name"].asstr()[:]
            pulses = opto["start_time"][:][names == "pulse"]
        rates = {tag: np.mean([_counts(spikes[u], pulses, 0.01).mean()
                               for u in units.loc[units["tagged"] == tag, "unit_id"][:30]])
                 for tag in (True, False)}  # fmt: skip
        assert rates[True] > 0.3 > 0.1 > rates[False]


def test_metrics_tables_recover_the_simulated_tuning(vcn_release: VcnSampleRelease) -> None:
    truth = vcn_release.unit_truth().set_index("unit_id")
    metrics = pd.read_csv(
        vcn_release.metadata_path("brain_observatory_1.1_analysis_metrics"),
        index_col="ecephys_unit_id",
    )
    strong = truth.loc[metrics.index]
    strong = strong[strong["visual"] & (strong["response_amplitude"] > 10)]
    m = metrics.loc[strong.index]
    assert (m["pref_ori_dg"] == strong["preferred_direction"]).mean() > 0.9
    assert (m["pref_tf_dg"] == strong["preferred_tf"]).mean() > 0.8
    assert (m["pref_sf_sg"] == strong["preferred_sf"]).mean() > 0.7
    significant = m["p_value_rf"] < 0.01
    assert significant.mean() > 0.4
    azimuth_error = (m["azimuth_rf"] - (strong["rf_x"] + 50)).abs()[significant]
    elevation_error = (m["elevation_rf"] - (strong["rf_y"] + 10)).abs()[significant]
    assert azimuth_error.median() < 8 and elevation_error.median() < 8
    on = strong["flash_preference"] == "on"
    off = strong["flash_preference"] == "off"
    assert (
        m.loc[on, "on_off_ratio_fl"].median() > 1.5 > 0.7 > m.loc[off, "on_off_ratio_fl"].median()
    )
    # pref_image_ns is a stimulus condition id (as released), not the scene number
    assert (m["pref_image_ns"] != strong["preferred_image"]).mean() > 0.9
    assert set(m["pref_ori_multi_dg"].unique()) <= {True, False}


def test_same_seed_gives_identical_files_and_the_cli_writes_it(
    vcn_release: VcnSampleRelease, tmp_path: Path
) -> None:
    assert main(["sample", "vcn", "--out", str(tmp_path)]) == 0
    again = VcnSampleRelease(tmp_path, "default", 0, vcn_release.project_name)
    assert again.files() == vcn_release.files()


def test_second_call_reuses_the_release(vcn_release: VcnSampleRelease) -> None:
    from brainobs.sample import write_release

    before = vcn_release.manifest_path.stat().st_mtime_ns
    again = write_release("vcn", vcn_release.root)
    assert again.manifest_path.stat().st_mtime_ns == before
    assert isinstance(again, VcnSampleRelease) and again.is_complete()
