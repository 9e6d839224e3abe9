"""The reference toolkit (AllenSDK 2.16.2, its own venv) opens the VBO sample files.

``BehaviorOphysExperiment.from_nwb_path`` reads a single-plane and a Multiscope imaging file,
``BehaviorSession.from_nwb_path`` a behavior-only file; what they return must equal what the
files hold (read here with h5py) and what the metadata tables say. The reference's
``filtered_events`` must equal :func:`brainobs.analysis.ophys.filter_events`.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from brainobs.analysis.ophys import filter_events
from brainobs.sample import SampleRelease
from tests.support.reference import run_reference

pytestmark = pytest.mark.compat

SCRIPT = r"""
import json, sys, warnings
warnings.simplefilter("ignore")
import numpy as np
from allensdk.brain_observatory.behavior.behavior_ophys_experiment import BehaviorOphysExperiment
from allensdk.brain_observatory.behavior.behavior_session import BehaviorSession
out = {}
def plain(v):
    v = v.item() if isinstance(v, np.generic) else v
    return v if isinstance(v, (int, float, str, type(None))) else str(v)
for name, path in zip(("single", "multi"), sys.argv[1:3]):
    e = BehaviorOphysExperiment.from_nwb_path(path)
    cells, dff, events = e.cell_specimen_table, e.dff_traces, e.events
    np.savez(sys.argv[4] + f"/{name}.npz", cell_specimen_id=cells.index.to_numpy(dtype=np.int64),
             cell_roi_id=cells["cell_roi_id"].to_numpy(), dff=np.vstack(dff["dff"]),
             dff_roi=dff["cell_roi_id"].to_numpy(), events=np.vstack(events["events"]),
             filtered=np.vstack(events["filtered_events"]),
             corrected=np.vstack(e.corrected_fluorescence_traces["corrected_fluorescence"]),
             max_projection=np.asarray(e.max_projection.data),
             average=np.asarray(e.average_projection.data),
             segmentation=np.asarray(e.segmentation_mask_image.data),
             masks=np.stack(cells["roi_mask"].to_list()), timestamps=e.ophys_timestamps,
             motion=e.motion_correction[["x", "y"]].to_numpy())
    p, t = e.stimulus_presentations, e.trials
    out[name] = {
        "metadata": {k: plain(v) for k, v in e.metadata.items()},
        "spacing": list(e.max_projection.spacing), "trials": len(t), "hits": int(t["hit"].sum()),
        "presentations": len(p), "blocks": sorted(int(b) for b in p["stimulus_block"].unique()),
        "block_names": sorted(set(p["stimulus_block_name"].dropna())),
        "omitted": int(p["omitted"].fillna(False).sum()), "changes": int(p["is_change"].sum()),
        "movie_rows": int((p["stimulus_name"] == "natural_movie_one").sum()),
        "licks": len(e.licks), "rewards": len(e.rewards), "eye": list(e.eye_tracking.shape),
        "templates": list(e.stimulus_templates.index),
        "rig": e.eye_tracking_rig_geometry["equipment"],
        "lambda": e.events["lambda"].tolist(), "r": e.corrected_fluorescence_traces["r"].tolist(),
    }
b = BehaviorSession.from_nwb_path(sys.argv[3])
out["behavior"] = {"trials": len(b.trials), "presentations": len(b.stimulus_presentations),
                   "session_type": b.metadata["session_type"], "eye": len(b.eye_tracking),
                   "project_code": b.metadata["project_code"]}
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def reference(vbo_release: SampleRelease, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Return what the reference reads from two imaging files and one behavior-only file."""
    experiments = pd.read_csv(vbo_release.metadata_path("ophys_experiment_table"))
    behavior = pd.read_csv(vbo_release.metadata_path("behavior_session_table"))
    single = experiments[experiments["equipment_name"] != "MESO.1"].iloc[0]
    multi = experiments[experiments["equipment_name"] == "MESO.1"].iloc[-1]
    own = behavior[behavior["file_id"] >= 0].iloc[-1]
    folder = tmp_path_factory.mktemp("vbo_reference")
    paths = [vbo_release.data_path(int(r["file_id"])) for r in (single, multi, own)]
    result = run_reference(SCRIPT, *map(str, paths), str(folder))
    return {"json": result, "folder": folder, "paths": paths, "rows": (single, multi, own)}


def _arrays(reference: dict, name: str) -> dict[str, np.ndarray]:
    with np.load(Path(reference["folder"]) / f"{name}.npz") as data:
        return dict(data)


@pytest.mark.parametrize(("name", "index"), [("single", 0), ("multi", 1)])
def test_reference_reads_the_imaging_files(
    vbo_release: SampleRelease, reference: dict, name: str, index: int
) -> None:
    row, path = reference["rows"][index], reference["paths"][index]
    got = _arrays(reference, name)
    cells = pd.read_csv(vbo_release.metadata_path("ophys_cells_table"))
    cells = cells[cells["ophys_experiment_id"] == row["ophys_experiment_id"]]
    with h5py.File(path, "r") as h5:
        ophys = h5["processing/ophys"]
        table = ophys["image_segmentation/cell_specimen_table"]
        assert np.array_equal(got["cell_roi_id"], table["id"][:])
        assert np.array_equal(got["dff"], ophys["dff/traces/data"][:].T)
        assert np.array_equal(got["events"], ophys["event_detection/data"][:].T)
        assert np.array_equal(got["corrected"], ophys["corrected_fluorescence/traces/data"][:].T)
        assert np.array_equal(got["max_projection"], ophys["images/max_projection"][:])
        assert np.array_equal(got["average"], ophys["images/average_image"][:])
        assert np.array_equal(got["masks"], table["image_mask"][:])
        assert np.array_equal(got["timestamps"], ophys["dff/traces/timestamps"][:])
        assert np.array_equal(got["motion"][:, 0], ophys["ophys_motion_correction_x/data"][:])
    assert sorted(got["cell_roi_id"]) == sorted(cells["cell_roi_id"])
    assert set(got["cell_specimen_id"]) == set(cells["cell_specimen_id"])
    assert np.array_equal(got["dff_roi"], got["cell_roi_id"])
    assert np.array_equal(got["segmentation"], got["masks"].sum(axis=0))
    summary = reference["json"][name]
    rate = summary["metadata"]["ophys_frame_rate"]
    np.testing.assert_allclose(got["filtered"], filter_events(got["events"], rate), atol=1e-12)
    _check_metadata(summary, row)


def _check_metadata(summary: dict, row: pd.Series) -> None:
    """Check the reference's metadata and behaviour against the experiment table's row."""
    metadata = summary["metadata"]
    for key in ("ophys_experiment_id", "ophys_session_id", "ophys_container_id",
                "behavior_session_id", "imaging_depth", "targeted_imaging_depth", "session_type",
                "equipment_name", "cre_line", "targeted_structure", "project_code"):  # fmt: skip
        assert metadata[key] == row[key], key
    assert metadata["mouse_id"] == str(row["mouse_id"])
    multiplane = row["equipment_name"] == "MESO.1"
    assert metadata["ophys_frame_rate"] == (11.0 if multiplane else 31.0)
    assert metadata["imaging_plane_group_count"] == (4 if multiplane else 0)
    assert summary["spacing"] == [pytest.approx(0.00078)] * 2
    assert summary["blocks"] == [0, 1, 2, 3]
    assert summary["block_names"] == sorted({
        "initial_gray_screen_5min", "change_detection_behavior",
        "post_behavior_gray_screen_5min", "natural_movie_one",
    })  # fmt: skip
    assert summary["movie_rows"] % 900 == 0 and summary["omitted"] > 0 and summary["changes"] > 0
    assert summary["trials"] > 10 and 0 < summary["hits"] < summary["trials"]
    assert summary["licks"] > 0 and summary["rewards"] > 0 and summary["eye"][0] > 1000
    assert len(summary["templates"]) == 8 and summary["rig"] == row["equipment_name"]


def test_reference_reads_the_behavior_only_file(
    vbo_release: SampleRelease, reference: dict
) -> None:
    row = reference["rows"][2]
    behavior = reference["json"]["behavior"]
    assert behavior["session_type"] == row["session_type"]
    assert behavior["project_code"] == row["project_code"]
    assert behavior["trials"] == row["trial_count"]
    assert behavior["eye"] == 0  # behavior-only files have no eye tracking
