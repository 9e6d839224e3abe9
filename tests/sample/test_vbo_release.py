"""The default VBO sample release: layout, manifest, tables and their relations, NWB files."""

from __future__ import annotations

import ast
import gzip
import re
import warnings
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from brainobs.sample import SampleRelease
from brainobs.storage.hashing import blake2b_file
from brainobs.tables.load import read_table
from brainobs.vbo.sample_release import cell_truth, experiment_truth, write_vbo_release
from brainobs.vbo.schemas import VBO_SCHEMAS

REAL = Path(__file__).parents[1] / "data/real"
ROOT = "https://visual-behavior-ophys-data.s3.us-west-2.amazonaws.com/"
TABLES = tuple(VBO_SCHEMAS)


def _pattern(key: str) -> str:
    """Return a key with its digit runs replaced by a placeholder."""
    return re.sub(r"\d+", "N", key)


def _raw(release: SampleRelease, name: str) -> pd.DataFrame:
    return pd.read_csv(release.metadata_path(name))


def _real(name: str) -> pd.DataFrame:
    return pd.read_csv(REAL / "vbo_tables" / f"{name}.csv.gz")


@pytest.fixture(scope="module")
def tables(vbo_release: SampleRelease) -> dict[str, pd.DataFrame]:
    """The four tables parsed with the VBO schemas."""
    return {n: read_table(vbo_release.metadata_path(n), VBO_SCHEMAS[n]) for n in TABLES}


def test_keys_follow_the_real_key_patterns(vbo_release: SampleRelease) -> None:
    keys = {e.key for e in vbo_release.manifest.entries().values()}
    with gzip.open(REAL / "manifests/vbo_manifest_v1.1.0_file_urls.txt.gz", "rt") as handle:
        real = {_pattern(line.split("?")[0].removeprefix(ROOT)) for line in handle if line.strip()}
    assert {_pattern(k) for k in keys} <= real
    assert {k.split("/")[1] for k in keys} == {
        "project_metadata", "behavior_sessions", "behavior_ophys_experiments"
    }  # fmt: skip


def test_manifest_lists_every_file_with_its_hash(vbo_release: SampleRelease) -> None:
    manifest = vbo_release.manifest
    assert manifest.project_name == "visual-behavior-ophys"
    assert (1, 0, 0) <= tuple(manifest.version.release) < (2, 0, 0)  # the reference's range
    assert set(manifest.metadata_files) == set(TABLES)
    assert manifest.data_pipeline[0]["name"] == "AllenSDK"
    for entry in manifest.entries().values():
        path = vbo_release.path_of(entry.key)
        assert entry.url.startswith(ROOT)
        assert path.stat().st_size == entry.size
        assert blake2b_file(path) == entry.file_hash
    files = {p for p in vbo_release.project_dir.rglob("*") if p.is_file()}
    listed = {vbo_release.path_of(e.key) for e in manifest.entries().values()}
    assert files - listed == {vbo_release.manifest_path}


@pytest.mark.parametrize("name", TABLES)
def test_tables_parse_with_the_schemas(
    vbo_release: SampleRelease, tables: dict[str, pd.DataFrame], name: str
) -> None:
    assert list(_raw(vbo_release, name).columns) == VBO_SCHEMAS[name].csv_columns
    table = tables[name]
    assert table.index.name == VBO_SCHEMAS[name].index and table.index.is_unique
    for column, dtype in VBO_SCHEMAS[name].dtypes.items():
        if column not in table.columns or dtype.startswith("list"):
            continue
        assert str(table[column].dtype) in {dtype, "str" if dtype == "string" else dtype}, column


@pytest.mark.parametrize("name", TABLES)
def test_value_styles_are_the_real_csvs(vbo_release: SampleRelease, name: str) -> None:
    """Plain pandas reads every column shared with the real CSV with the same dtype."""
    sample, real = _raw(vbo_release, name), _real(name)
    for column in sample.columns.intersection(real.columns):
        assert sample[column].dtype == real[column].dtype, column
    if "date_of_acquisition" in sample:
        utc = sample["date_of_acquisition"].str.endswith("+00:00")
        assert utc.all() if name == "behavior_session_table" else not utc.any()
    for column in ("ophys_container_id", "ophys_experiment_id", "driver_line"):
        if column in sample and sample[column].dtype == object:
            values = sample[column].dropna().map(ast.literal_eval)
            assert values.map(lambda v: isinstance(v, list) and len(v) > 0).all(), column


def test_experiments_join_sessions_and_cells(tables: dict[str, pd.DataFrame]) -> None:
    experiments, sessions = tables["ophys_experiment_table"], tables["ophys_session_table"]
    behavior, cells = tables["behavior_session_table"], tables["ophys_cells_table"]
    assert experiments["ophys_session_id"].isin(sessions.index).all()
    for sid, row in sessions.iterrows():
        planes = experiments[experiments["ophys_session_id"] == sid]
        assert sorted(row["ophys_experiment_id"]) == sorted(planes.index)
        assert sorted(row["ophys_container_id"]) == sorted(set(planes["ophys_container_id"]))
        assert (planes["behavior_session_id"] == row["behavior_session_id"]).all()
        imaging = behavior.loc[row["behavior_session_id"]]
        assert imaging["ophys_session_id"] == sid and imaging["file_id"] == -999
        assert sorted(imaging["ophys_experiment_id"]) == sorted(planes.index)
    assert set(cells["ophys_experiment_id"]) == set(experiments.index)
    assert cells["cell_specimen_id"].notna().all()


def test_containers_track_cells_across_sessions(tables: dict[str, pd.DataFrame]) -> None:
    experiments, cells = tables["ophys_experiment_table"], tables["ophys_cells_table"]
    merged = cells.join(experiments[["ophys_container_id", "ophys_session_id"]],
                        on="ophys_experiment_id")  # fmt: skip
    assert (merged.groupby("cell_specimen_id")["ophys_container_id"].nunique() == 1).all()
    sessions_per_cell = merged.groupby("cell_specimen_id")["ophys_session_id"].nunique()
    assert (sessions_per_cell >= 2).mean() > 0.8
    assert (merged.groupby(["ophys_experiment_id", "cell_specimen_id"]).size() == 1).all()
    per_container = experiments.groupby("ophys_container_id")
    assert (per_container["mouse_id"].nunique() == 1).all()
    assert (per_container["ophys_session_id"].nunique() == per_container.size()).all()
    depth = per_container["imaging_depth"].mean().astype(int)
    assert (
        experiments["targeted_imaging_depth"] == experiments["ophys_container_id"].map(depth)
    ).all()


def test_single_and_multiplane_sessions(tables: dict[str, pd.DataFrame]) -> None:
    experiments, sessions = tables["ophys_experiment_table"], tables["ophys_session_table"]
    planes = experiments.groupby("ophys_session_id").size()
    multi = sessions["imaging_plane_group_count"].notna()
    assert (planes[~multi] == 1).all() and (planes[multi] > 1).all() and multi.any()
    groups = experiments.groupby("ophys_session_id")["imaging_plane_group"].nunique()
    assert (groups[multi] == sessions.loc[multi, "imaging_plane_group_count"]).all()
    assert (
        experiments.loc[experiments["equipment_name"] == "MESO.1", "imaging_plane_group"]
        .notna()
        .all()
    )
    assert set(experiments["cre_line"]) == {"Slc17a7-IRES2-Cre", "Sst-IRES-Cre", "Vip-IRES-Cre"}
    assert set(experiments["experience_level"]) == {"Familiar", "Novel 1", "Novel >1"}


def test_derived_columns_follow_the_release_rules(tables: dict[str, pd.DataFrame]) -> None:
    behavior = tables["behavior_session_table"].sort_values("date_of_acquisition")
    stype = behavior["session_type"]
    number = stype.str.extract(r"OPHYS_(\d+)", expand=False).astype("Int64")
    assert behavior["session_number"].equals(number.rename("session_number"))
    assert (behavior["prior_exposures_to_session_type"]
            == behavior.groupby(["mouse_id", "session_type"]).cumcount()).all()  # fmt: skip
    training = stype.str.startswith("TRAINING")
    assert (behavior.loc[training, "experience_level"] == "Training").all()
    assert (behavior.loc[stype.str.contains("gratings"), "image_set"] == "gratings").all()
    experiments = tables["ophys_experiment_table"]
    assert (experiments["image_set"] == experiments["session_type"].str[15]).all()
    assert (experiments["passive"] == experiments["session_number"].isin([2, 5])).all()
    novel1 = experiments[experiments["experience_level"] == "Novel 1"]
    assert (novel1["prior_exposures_to_image_set"] == 0).all()
    assert (novel1["session_number"] == 4).all()


def test_file_ids_match_the_manifest(
    vbo_release: SampleRelease, tables: dict[str, pd.DataFrame]
) -> None:
    behavior, experiments = tables["behavior_session_table"], tables["ophys_experiment_table"]
    own = behavior["ophys_session_id"].isna()
    ids = pd.concat([behavior.loc[own, "file_id"], experiments["file_id"]])
    assert set(ids.astype(str)) == set(vbo_release.manifest.data_files)
    assert sorted(experiments["file_id"]) == list(range(len(experiments)))
    for bsid, file_id in behavior.loc[own, "file_id"].items():
        assert vbo_release.data_path(file_id).name == f"behavior_session_{bsid}.nwb"
    for oeid, file_id in experiments["file_id"].items():
        assert vbo_release.data_path(file_id).name == f"behavior_ophys_experiment_{oeid}.nwb"


def test_trial_counts_match_the_files(
    vbo_release: SampleRelease, tables: dict[str, pd.DataFrame]
) -> None:
    import pynwb

    behavior = tables["behavior_session_table"]
    experiments = tables["ophys_experiment_table"]
    row = behavior[behavior["ophys_session_id"].notna()].iloc[0]
    file_id = experiments.loc[row["ophys_experiment_id"][0], "file_id"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pynwb.NWBHDF5IO(str(vbo_release.data_path(file_id)), "r") as io:
            trials = io.read().trials.to_dataframe()
    assert row["trial_count"] == len(trials) and row["hit_trial_count"] == trials["hit"].sum()
    assert row["go_trial_count"] == trials["go"].sum()
    assert 0 < row["engaged_trial_count"] <= row["trial_count"]


def _experiment_path(vbo_release: SampleRelease, tables: dict[str, pd.DataFrame], rig: str) -> Path:
    experiments = tables["ophys_experiment_table"]
    return vbo_release.data_path(
        experiments[experiments["equipment_name"] == rig]["file_id"].iloc[0]
    )


def test_nwb_files_open_in_pynwb(vbo_release: SampleRelease) -> None:
    import pynwb

    for entry in vbo_release.manifest.data_files.values():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pynwb.NWBHDF5IO(str(vbo_release.path_of(entry.key)), "r") as io:
                nwb = io.read()
                assert nwb.identifier in entry.key


def test_nwbinspector_reports_no_critical(
    vbo_release: SampleRelease, tables: dict[str, pd.DataFrame]
) -> None:
    from nwbinspector import Importance, inspect_nwbfile

    behavior = tables["behavior_session_table"]
    own = behavior[behavior["ophys_session_id"].isna()]["file_id"].iloc[-1]
    paths = [
        _experiment_path(vbo_release, tables, "CAM2P.4"),
        _experiment_path(vbo_release, tables, "MESO.1"),
        vbo_release.data_path(own),
    ]
    for path in paths:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            messages = list(inspect_nwbfile(nwbfile_path=str(path)))
        # As for VBN: the released layout stores templates as images x height x width.
        critical = [
            m for m in messages
            if m.importance in (Importance.CRITICAL, Importance.PYNWB_VALIDATION)
            and not (m.check_function_name == "check_data_orientation"
                     and m.object_type == "StimulusTemplate")
        ]  # fmt: skip
        assert not critical, [str(m.message) for m in critical]


#: (path in an imaging file, numpy dtype kind, number of dimensions) of the released layout.
OPHYS_PATHS = (
    ("processing/ophys/dff/traces/data", "f", 2),
    ("processing/ophys/dff/traces/timestamps", "f", 1),
    ("processing/ophys/dff/traces/rois", "i", 1),
    ("processing/ophys/corrected_fluorescence/traces/data", "f", 2),
    ("processing/ophys/corrected_fluorescence/r/data", "f", 1),
    ("processing/ophys/corrected_fluorescence/RMSE/data", "f", 1),
    ("processing/ophys/demixed_trace/traces/data", "f", 2),
    ("processing/ophys/neuropil_trace/traces/data", "f", 2),
    ("processing/ophys/event_detection/data", "f", 2),
    ("processing/ophys/event_detection/lambdas", "f", 1),
    ("processing/ophys/event_detection/noise_stds", "f", 1),
    ("processing/ophys/image_segmentation/cell_specimen_table/id", "i", 1),
    ("processing/ophys/image_segmentation/cell_specimen_table/cell_specimen_id", "i", 1),
    ("processing/ophys/image_segmentation/cell_specimen_table/image_mask", "b", 3),
    ("processing/ophys/image_segmentation/cell_specimen_table/valid_roi", "b", 1),
    ("processing/ophys/image_segmentation/cell_specimen_table/x", "i", 1),
    ("processing/ophys/image_segmentation/cell_specimen_table/height", "i", 1),
    ("processing/ophys/image_segmentation/cell_specimen_table/mask_image_plane", "i", 1),
    ("processing/ophys/image_segmentation/cell_specimen_table/max_correction_up", "f", 1),
    ("processing/ophys/images/max_projection", "u", 2),
    ("processing/ophys/images/average_image", "u", 2),
    ("processing/ophys/images/segmentation_mask_image", "i", 2),
    ("processing/ophys/ophys_motion_correction_x/data", "f", 1),
    ("processing/ophys/ophys_motion_correction_y/data", "f", 1),
    ("general/optophysiology/imaging_plane_1/imaging_rate", "f", 0),
    ("general/optophysiology/imaging_plane_1/channel_1/emission_lambda", "f", 0),
    ("acquisition/EyeTracking/pupil_tracking/area_raw", "f", 1),
    ("acquisition/EyeTracking/eye_tracking/timestamps", "f", 1),
    ("acquisition/EyeTracking/likely_blink/data", "b", 1),
    ("processing/eye_tracking_rig_metadata/eye_tracking_rig_metadata/monitor_position", "f", 1),
    ("processing/stimulus/timestamps/timestamps", "f", 1),
    ("processing/running/speed/data", "f", 1),
    ("processing/licking/licks/data", "i", 1),
    ("processing/rewards/volume/data", "f", 1),
    ("processing/rewards/autorewarded/data", "b", 1),
    ("intervals/trials/lick_times", "f", 1),
    ("intervals/spontaneous_presentations/start_time", "f", 1),
    ("intervals/natural_movie_one_presentations/movie_frame_index", "i", 1),
    ("intervals/natural_movie_one_presentations/movie_repeat", "i", 1),
)
NEURODATA_TYPES = {
    "general/metadata": "OphysBehaviorMetadata",
    "general/task_parameters": "BehaviorTaskParameters",
    "general/subject": "BehaviorSubject",
    "processing/ophys/event_detection": "OphysEventDetection",
    "processing/ophys/image_segmentation/cell_specimen_table": "PlaneSegmentation",
    "processing/ophys/dff": "DfOverF",
    "processing/ophys/corrected_fluorescence": "Fluorescence",
    "processing/ophys/images/max_projection": "GrayscaleImage",
    "acquisition/EyeTracking": "EllipseEyeTracking",
    "processing/eye_tracking_rig_metadata/eye_tracking_rig_metadata": "OphysEyeTrackingRigMetadata",
}


@pytest.mark.parametrize("rig", ["CAM2P.4", "MESO.1"])
def test_imaging_files_have_the_released_paths_and_dtypes(
    vbo_release: SampleRelease, tables: dict[str, pd.DataFrame], rig: str
) -> None:
    path = _experiment_path(vbo_release, tables, rig)
    oeid = int(path.stem.rsplit("_", 1)[1])
    cells = tables["ophys_cells_table"]
    roi_ids = np.sort(cells.index[cells["ophys_experiment_id"] == oeid].to_numpy())
    with h5py.File(path, "r") as h5:
        for key, kind, ndim in OPHYS_PATHS:
            assert h5[key].dtype.kind == kind and h5[key].ndim == ndim, key
        for key, neurodata_type in NEURODATA_TYPES.items():
            assert h5[key].attrs["neurodata_type"] == neurodata_type, key
        n_frames = len(h5["processing/ophys/dff/traces/timestamps"])
        for trace in ("dff/traces", "corrected_fluorescence/traces", "demixed_trace/traces",
                      "neuropil_trace/traces", "event_detection"):  # fmt: skip
            assert h5[f"processing/ophys/{trace}/data"].shape == (n_frames, len(roi_ids)), trace
        table = h5["processing/ophys/image_segmentation/cell_specimen_table"]
        assert np.array_equal(table["id"][:], roi_ids)
        assert table["image_mask"].shape == (len(roi_ids), 512, 512) and table["valid_roi"][:].all()
        masks = table["image_mask"][:]
        assert np.array_equal(
            h5["processing/ophys/images/segmentation_mask_image"][:], masks.sum(0)
        )
        assert h5["processing/ophys/images/max_projection"].attrs["resolution"] == pytest.approx(
            7.8e-5
        )
        rate = float(h5["general/optophysiology/imaging_plane_1/imaging_rate"][()])
        assert rate == (31.0 if rig == "CAM2P.4" else 11.0)
        metadata = h5["general/metadata"].attrs
        assert metadata["ophys_experiment_id"] == oeid
        assert metadata["imaging_plane_group_count"] == (0 if rig == "CAM2P.4" else 4)
        assert h5.attrs["nwb_version"] == "2.5.0"
        assert set(h5["specifications"]) == {
            "core", "hdmf-common", "hdmf-experimental", "ndx-aibs-behavior-ophys",
            "ndx-aibs-ophys-event-detection", "ndx-aibs-stimulus-template",
            "ndx-ellipse-eye-tracking",
        }  # fmt: skip


def test_multiplane_timestamps_interleave_the_plane_groups(
    vbo_release: SampleRelease, tables: dict[str, pd.DataFrame]
) -> None:
    experiments = tables["ophys_experiment_table"]
    session = experiments[experiments["equipment_name"] == "MESO.1"]["ophys_session_id"].iloc[0]
    stamps = {}
    for _, row in experiments[experiments["ophys_session_id"] == session].iterrows():
        with h5py.File(vbo_release.data_path(row["file_id"]), "r") as h5:
            stamps.setdefault(row["imaging_plane_group"], []).append(
                h5["processing/ophys/dff/traces/timestamps"][:]
            )
    (g0, a), (g1, b) = sorted(stamps.items())[:2]
    assert np.array_equal(a[0], a[-1]) and len(a[0]) == len(b[0])
    offset = np.median(b[0] - a[0])
    assert offset == pytest.approx((g1 - g0) * np.median(np.diff(a[0])) / 4, rel=0.05)


def test_ground_truth_describes_every_cell(
    vbo_release: SampleRelease, tables: dict[str, pd.DataFrame]
) -> None:
    truth = cell_truth(vbo_release)
    cells, experiments = tables["ophys_cells_table"], tables["ophys_experiment_table"]
    assert set(cells["cell_specimen_id"]) <= set(truth["cell_specimen_id"])
    assert truth["cell_specimen_id"].is_unique
    by_line = truth.groupby("line")
    assert set(by_line.groups) == {"Slc17a7", "Sst", "Vip"}
    assert by_line["omission_amplitude"].mean().idxmax() == "Vip"
    assert by_line["change_gain"].mean().idxmax() == "Slc17a7"
    assert (truth["novelty_gain"] > 1).all()
    truth_experiments = experiment_truth(vbo_release).set_index("ophys_experiment_id")
    assert set(truth_experiments.index) == set(experiments.index)
    assert (truth_experiments["experience_level"] == experiments["experience_level"]).all()


def test_behaviour_hit_rate_exceeds_false_alarm_rate(tables: dict[str, pd.DataFrame]) -> None:
    imaging = tables["behavior_session_table"].dropna(subset=["ophys_session_id"])
    hits, misses = imaging["hit_trial_count"].sum(), imaging["miss_trial_count"].sum()
    fas, crs = imaging["false_alarm_trial_count"].sum(), imaging["correct_reject_trial_count"].sum()
    assert hits / (hits + misses) > fas / max(fas + crs, 1) + 0.2


def test_same_seed_gives_identical_hashes(vbo_release: SampleRelease, tmp_path: Path) -> None:
    again = write_vbo_release(tmp_path, size="default", seed=0)
    first = {k: e.file_hash for k, e in vbo_release.manifest.entries().items()}
    second = {k: e.file_hash for k, e in again.manifest.entries().items()}
    assert first == second


def test_the_command_line_finds_the_writer(
    vbo_release: SampleRelease, capsys: pytest.CaptureFixture[str]
) -> None:
    from brainobs.cli.main import main

    before = vbo_release.manifest_path.stat().st_mtime_ns
    assert main(["sample", "vbo", "--out", str(vbo_release.root)]) == 0
    assert "Visual Behavior Optical Physiology sample release" in capsys.readouterr().out
    assert vbo_release.manifest_path.stat().st_mtime_ns == before  # reused, not rewritten
