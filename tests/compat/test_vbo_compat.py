"""The reference toolkit and brainobs read the VBO sample files into equal tables and arrays.

The reference (AllenSDK 2.16.2, its own venv) opens a behavior-only file and two imaging
files (single-plane at 31 Hz and Multiscope at 11 Hz) with its own readers and writes what it
returns to a folder (``reference_dump_vbo.py``); brainobs's ``BehaviorOphysExperiment`` and
``BehaviorSession`` must return the same cells, traces, events, masks, projections, timestamps,
motion correction, metadata and behaviour tables. The normalisations are those of the VBN
suite (``test_vbn_session_compat.NORMALISATIONS``) plus the documented differences
(docs/differences.md, "VBO"): ``neuropil_traces`` (the reference returns the demixed traces)
and ``filtered_events`` (a recursive filter here, a convolution there: equal to 1e-12).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from brainobs.sample import SampleRelease
from brainobs.sessions.behavior import BehaviorSession
from brainobs.vbo.experiment import BehaviorOphysExperiment
from tests.compat.test_vbn_session_compat import assert_same, load_frame, reference_presentations
from tests.support.reference import run_reference

pytestmark = pytest.mark.compat

HERE = Path(__file__).parent
DUMP = HERE / "reference_dump_vbo.py"
TRACES = {
    "dff_traces": ["dff"],
    "events": ["events", "filtered_events"],
    "corrected_fluorescence_traces": ["corrected_fluorescence"],
    "demixed_traces": ["demixed_trace"],
}
IMAGES = ("max_projection", "average_projection", "segmentation_mask_image")


@pytest.fixture(scope="module")
def files(vbo_release: SampleRelease) -> dict[str, Any]:
    """Return the behavior-only file and two experiment files (single-plane, Multiscope)."""
    experiments = pd.read_csv(vbo_release.metadata_path("ophys_experiment_table"))
    behavior = pd.read_csv(vbo_release.metadata_path("behavior_session_table"))
    single = experiments[experiments["equipment_name"] != "MESO.1"].iloc[0]
    multi = experiments[experiments["equipment_name"] == "MESO.1"].iloc[-1]
    own = behavior[behavior["file_id"] >= 0].iloc[-1]
    return {
        "behavior": vbo_release.data_path(int(own["file_id"])),
        "experiments": [vbo_release.data_path(int(r["file_id"])) for r in (single, multi)],
    }


@pytest.fixture(scope="module")
def reference(files: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return the folder the reference toolkit wrote its tables to."""
    out = tmp_path_factory.mktemp("vbo_reference")
    paths = [str(files["behavior"]), *(str(p) for p in files["experiments"])]
    run_reference(DUMP.read_text(), str(HERE), str(out), *paths)
    return out


@pytest.fixture(scope="module", params=[0, 1], ids=["single_plane", "multiscope"])
def pair(
    request: pytest.FixtureRequest, files: dict[str, Any], reference: Path
) -> tuple[BehaviorOphysExperiment, Path, str]:
    """Return brainobs's experiment, the reference's folder and the experiment's prefix."""
    experiment = BehaviorOphysExperiment.from_nwb_path(files["experiments"][request.param])
    return experiment, reference, f"experiment{request.param}"


def _arrays(reference: Path, prefix: str) -> dict[str, np.ndarray]:
    with np.load(reference / f"{prefix}_arrays.npz") as data:
        return dict(data)


def test_cell_specimen_table_and_masks(pair: tuple[BehaviorOphysExperiment, Path, str]) -> None:
    experiment, reference, prefix = pair
    theirs = load_frame(reference / f"{prefix}_cell_specimen_table.json")
    ours = experiment.cell_specimen_table
    assert list(ours.columns) == [*theirs.columns, "roi_mask"]
    assert_same(ours.drop(columns=["roi_mask"]), theirs, "cell_specimen_table")
    arrays = _arrays(reference, prefix)
    np.testing.assert_array_equal(np.stack(ours["roi_mask"].to_list()), arrays["roi_mask"])
    assert_same(experiment.roi_masks.drop(columns=["roi_mask"]),
                load_frame(reference / f"{prefix}_roi_masks.json"), "roi_masks")  # fmt: skip
    masks = experiment.get_roi_masks()
    np.testing.assert_array_equal(masks.to_numpy(), arrays["roi_mask"])
    np.testing.assert_array_equal(experiment.get_cell_specimen_ids(), arrays["cell_specimen_ids"])


@pytest.mark.parametrize("name", list(TRACES))
def test_trace_tables(pair: tuple[BehaviorOphysExperiment, Path, str], name: str) -> None:
    experiment, reference, prefix = pair
    ours, arrays = getattr(experiment, name), _arrays(reference, prefix)
    theirs = load_frame(reference / f"{prefix}_{name}.json")
    assert list(ours.columns) == [theirs.columns[0], *TRACES[name], *theirs.columns[1:]]
    assert_same(ours.drop(columns=TRACES[name]), theirs, name)
    for column in TRACES[name]:
        stacked = np.stack(ours[column].to_list())
        if column == "filtered_events":  # a recursive filter here, a convolution there
            np.testing.assert_allclose(stacked, arrays[f"{name}.{column}"], rtol=0, atol=1e-12)
        else:
            np.testing.assert_array_equal(stacked, arrays[f"{name}.{column}"], err_msg=column)


def test_neuropil_traces_are_the_files_not_the_demixed(
    pair: tuple[BehaviorOphysExperiment, Path, str],
) -> None:
    experiment, reference, prefix = pair
    arrays = _arrays(reference, prefix)
    # the reference's neuropil_traces is its demixed_traces (a documented difference)
    theirs = arrays["neuropil_traces.demixed_trace"]
    np.testing.assert_array_equal(theirs, arrays["demixed_traces.demixed_trace"])
    ours = np.stack(experiment.neuropil_traces["neuropil_trace"].to_list())
    assert ours.shape == theirs.shape and not np.array_equal(ours, theirs)
    with experiment.nwb_file.reading("neuropil") as h5:
        stored = h5["processing/ophys/neuropil_trace/traces/data"][:].T
    np.testing.assert_array_equal(ours, stored)


def test_images_timestamps_motion_and_legacy_readers(
    pair: tuple[BehaviorOphysExperiment, Path, str],
) -> None:
    experiment, reference, prefix = pair
    arrays = _arrays(reference, prefix)
    for name in IMAGES:
        image = getattr(experiment, name)
        np.testing.assert_array_equal(image.data, arrays[name], err_msg=name)
        assert image.data.dtype == arrays[name].dtype, name
        assert image.spacing == tuple(arrays[f"{name}.spacing"]) and image.unit == "mm"
        np.testing.assert_array_equal(np.asarray(image), arrays[name])
    assert experiment.get_segmentation_mask_image() == experiment.segmentation_mask_image
    np.testing.assert_array_equal(experiment.ophys_timestamps, arrays["ophys_timestamps"])
    theirs = load_frame(reference / f"{prefix}_motion_correction.json")
    assert_same(experiment.motion_correction, theirs, "motion_correction")
    timestamps, dff = experiment.get_dff_traces()
    np.testing.assert_array_equal(dff, arrays["get_dff_traces"])
    np.testing.assert_array_equal(timestamps, arrays["ophys_timestamps"])


def test_metadata_and_members(pair: tuple[BehaviorOphysExperiment, Path, str]) -> None:
    experiment, reference, prefix = pair
    theirs = json.loads((reference / f"{prefix}_ophys_metadata.json").read_text())
    ours = dict(experiment.metadata)
    assert pd.Timestamp(theirs.pop("date_of_acquisition")) == ours.pop("date_of_acquisition")
    assert str(ours.pop("behavior_session_uuid")) == theirs.pop("behavior_session_uuid")
    assert ours == theirs and list(ours) == list(theirs)
    ids = json.loads((reference / f"{prefix}_ids.json").read_text())
    assert experiment.ophys_experiment_id == ids["ophys_experiment_id"]
    assert experiment.ophys_session_id == ids["ophys_session_id"]
    assert experiment.list_data_attributes_and_methods() == ids["members"]
    for name in ids["members"]:
        assert hasattr(experiment, name), name


def _behaviour_matches(session: BehaviorSession, reference: Path, prefix: str) -> None:
    """Assert the behaviour tables, metrics, metadata and templates equal the reference's."""
    for name in ("trials", "licks", "rewards", "running_speed", "raw_running_speed"):
        assert_same(getattr(session, name), load_frame(reference / f"{prefix}_{name}.json"), name)
    ours = session.stimulus_presentations
    theirs = reference_presentations(reference / f"{prefix}_stimulus_presentations.json", ours)
    assert_same(ours, theirs, "stimulus_presentations")
    rolling = load_frame(reference / f"{prefix}_rolling.json")
    assert_same(session.get_rolling_performance_df(), rolling, "rolling performance")
    metrics = json.loads((reference / f"{prefix}_metrics.json").read_text())
    ours_metrics = session.get_performance_metrics()
    assert list(ours_metrics) == list(metrics)
    np.testing.assert_allclose(list(ours_metrics.values()), list(metrics.values()), rtol=1e-12,
                               equal_nan=True)  # fmt: skip
    parameters = json.loads((reference / f"{prefix}_task_parameters.json").read_text())
    assert json.loads(json.dumps(session.task_parameters)) == parameters
    stamps = np.load(reference / f"{prefix}_stimulus_timestamps.npy")
    np.testing.assert_array_equal(session.stimulus_timestamps, stamps)
    with np.load(reference / f"{prefix}_templates.npz") as templates:
        assert list(session.stimulus_templates.index) == templates["names"].tolist()
        np.testing.assert_array_equal(np.stack(session.stimulus_templates["warped"]),
                                      templates["warped"])  # fmt: skip


def test_experiment_behaviour_and_eye_tracking(
    pair: tuple[BehaviorOphysExperiment, Path, str],
) -> None:
    experiment, reference, prefix = pair
    _behaviour_matches(experiment, reference, prefix)
    theirs = load_frame(reference / f"{prefix}_eye_tracking.json")
    assert not theirs.empty
    assert_same(experiment.eye_tracking, theirs, "eye_tracking")
    rig = json.loads((reference / f"{prefix}_rig.json").read_text())
    assert experiment.eye_tracking_rig_geometry == rig


def test_behavior_only_file(files: dict[str, Any], reference: Path) -> None:
    session = BehaviorSession.from_nwb_path(files["behavior"])
    _behaviour_matches(session, reference, "behavior")
    theirs = json.loads((reference / "behavior_metadata.json").read_text())
    ours = dict(session.metadata)
    assert pd.Timestamp(theirs.pop("date_of_acquisition")) == ours.pop("date_of_acquisition")
    assert str(ours.pop("behavior_session_uuid")) == theirs.pop("behavior_session_uuid")
    assert ours == theirs
    assert session.eye_tracking.empty and load_frame(reference / "behavior_eye_tracking.json").empty
