"""BehaviorOphysExperiment on the VBO sample: subset readers, bytes read, ROI edge cases, errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from brainobs.analysis.ophys import align_traces, filter_events
from brainobs.errors import InvalidInputError, MissingDataError, UnknownIdError
from brainobs.nwb import NwbFile
from brainobs.sample import SampleRelease
from brainobs.storage.local import LocalFetcher
from brainobs.storage.remote import BlockCacheOptions
from brainobs.vbo.experiment import BehaviorOphysExperiment

BLOCKS = BlockCacheOptions(block_size=16 << 10, cache_size=64 << 20, max_readahead=0)
DFF = "processing/ophys/dff/traces/data"
CELLS = "processing/ophys/image_segmentation/cell_specimen_table"


@pytest.fixture(scope="module")
def rows(vbo_release: SampleRelease) -> pd.DataFrame:
    return pd.read_csv(vbo_release.metadata_path("ophys_experiment_table"))


@pytest.fixture(scope="module")
def single_plane(vbo_release: SampleRelease, rows: pd.DataFrame) -> Path:
    """Return the file of the first single-plane (31 Hz, most cells) experiment."""
    row = rows[rows["equipment_name"] != "MESO.1"].iloc[0]
    return vbo_release.data_path(int(row["file_id"]))


@pytest.fixture(scope="module")
def experiment(single_plane: Path) -> BehaviorOphysExperiment:
    return BehaviorOphysExperiment.from_nwb_path(single_plane)


def _streamed(vbo_release: SampleRelease, path: Path) -> BehaviorOphysExperiment:
    key = path.relative_to(vbo_release.root).as_posix()
    file = NwbFile.from_fetcher(LocalFetcher(vbo_release.root), key, block_cache=BLOCKS)
    return BehaviorOphysExperiment(file)


def _dff_bytes(path: Path) -> int:
    with h5py.File(path, "r") as h5:
        return int(h5[DFF].id.get_storage_size())


def test_one_cells_trace_reads_a_small_share_of_the_matrix(
    vbo_release: SampleRelease, single_plane: Path, experiment: BehaviorOphysExperiment
) -> None:
    streamed = _streamed(vbo_release, single_plane)
    cells = streamed.get_cell_specimen_ids()
    assert len(cells) >= 40
    streamed.metadata, streamed.ophys_timestamps  # noqa: B018 (read before counting)
    before = streamed.nwb_file.bytes_transferred
    _, dff = streamed.get_dff_traces([int(cells[len(cells) // 2])])
    one = streamed.nwb_file.bytes_transferred - before
    whole = _dff_bytes(single_plane)
    share = one / whole
    print(f"\none cell of {len(cells)}: {one} bytes read of a {whole}-byte dF/F ({share:.3f})")
    assert one < 0.25 * whole
    expected = experiment.dff_traces.loc[int(cells[len(cells) // 2]), "dff"]
    np.testing.assert_array_equal(dff[0], expected)
    before = streamed.nwb_file.bytes_transferred
    streamed.dff_traces  # noqa: B018
    assert streamed.nwb_file.bytes_transferred - before > 0.7 * whole  # all cells: the matrix


def test_subset_readers_equal_the_full_tables(experiment: BehaviorOphysExperiment) -> None:
    table = experiment.cell_specimen_table
    wanted = [int(table.index[7]), int(table.index[2])]
    timestamps, dff = experiment.get_dff_traces(wanted)  # the reference's order: table order
    np.testing.assert_array_equal(dff, np.stack(experiment.dff_traces["dff"].iloc[[2, 7]]))
    assert timestamps is experiment.ophys_timestamps
    for trace, table_name, column in (
        ("events", "events", "events"),
        ("filtered_events", "events", "filtered_events"),
        ("corrected_fluorescence", "corrected_fluorescence_traces", "corrected_fluorescence"),
        ("neuropil_trace", "neuropil_traces", "neuropil_trace"),
    ):
        array = experiment.get_traces(trace, wanted)
        assert array.dims == ("cell_specimen_id", "time") and list(array["cell_specimen_id"]) == [
            wanted[1],
            wanted[0],
        ]
        full = getattr(experiment, table_name)
        np.testing.assert_array_equal(array.values, np.stack(full.loc[array["cell_specimen_id"],
                                                                      column]))  # fmt: skip
    masks = experiment.get_roi_masks(wanted)
    np.testing.assert_array_equal(masks.values, np.stack(table["roi_mask"].iloc[[2, 7]]))
    assert list(masks["cell_roi_id"].values) == list(table["cell_roi_id"].iloc[[2, 7]])
    with pytest.raises(UnknownIdError, match="no cells"):
        experiment.get_traces("dff", [1, 2])
    with pytest.raises(InvalidInputError, match="Unknown trace"):
        experiment.get_traces("spikes")


def test_events_filtering_and_tables(experiment: BehaviorOphysExperiment) -> None:
    events = experiment.events
    rate = experiment.metadata["ophys_frame_rate"]
    stacked = np.stack(events["events"])
    np.testing.assert_allclose(np.stack(events["filtered_events"]), filter_events(stacked, rate))
    assert list(events.columns) == ["cell_roi_id", "events", "filtered_events", "lambda",
                                    "noise_std"]  # fmt: skip
    assert (events["noise_std"] > 0).all()
    wider = BehaviorOphysExperiment(experiment.nwb_file, events_filter_scale_seconds=0.2)
    assert not np.allclose(np.stack(wider.events["filtered_events"]),
                           np.stack(events["filtered_events"]))  # fmt: skip
    assert experiment.segmentation_mask_image.data.sum() == sum(
        m.sum() for m in experiment.cell_specimen_table["roi_mask"]
    )


def test_aligned_traces_equal_the_analysis_on_the_files_arrays(
    experiment: BehaviorOphysExperiment, single_plane: Path
) -> None:
    aligned = experiment.get_aligned_traces(window=(-0.25, 0.5))
    presentations = experiment.stimulus_presentations
    flashes = presentations[presentations["stimulus_block_name"].str.startswith(
        "change_detection").fillna(False) & presentations["image_name"].notna()]  # fmt: skip
    with h5py.File(single_plane, "r") as h5:
        dff = h5[DFF][:].T
        stamps = h5["processing/ophys/dff/traces/timestamps"][:]
        ids = h5[f"{CELLS}/cell_specimen_id"][:]
    expected = align_traces(dff, stamps, flashes, (-0.25, 0.5), cell_ids=ids)
    np.testing.assert_array_equal(aligned.values, expected.values)
    assert list(aligned["stimulus_presentations_id"]) == list(flashes.index)
    assert aligned.name == "dff" and "cell_roi_id" in aligned.coords
    responses = experiment.get_cell_responses()
    assert list(responses.columns) == ["change", "repeat", "omission", "image",
                                       "preferred_image", "preferred_response"]  # fmt: skip
    assert set(responses.index) == set(ids)
    omitted = flashes[flashes["omitted"].fillna(False).astype(bool)]
    only = experiment.get_stimulus_responses(presentations=omitted, baseline_window=None)
    assert only.sizes["stimulus_presentations_id"] == len(omitted)


def test_update_targeted_imaging_depth(vbo_release: SampleRelease, rows: pd.DataFrame) -> None:
    table = rows.set_index("ophys_experiment_id")
    multi = table[table["equipment_name"] == "MESO.1"]
    experiment = BehaviorOphysExperiment.from_nwb_path(
        vbo_release.data_path(int(multi["file_id"].iloc[0]))
    )
    with pytest.raises(InvalidInputError, match="experiment_table"):
        experiment.update_targeted_imaging_depth(multi.index[:2])
    container = multi[multi["ophys_container_id"] == multi["ophys_container_id"].iloc[0]]
    experiment.update_targeted_imaging_depth(container.index, experiment_table=table)
    expected = int(np.mean(container["imaging_depth"]))
    assert experiment.metadata["targeted_imaging_depth"] == expected
    with pytest.raises(UnknownIdError):
        experiment.update_targeted_imaging_depth([1], experiment_table=table)


def test_invalid_and_unmatched_rois(single_plane: Path, tmp_path: Path) -> None:
    changed = tmp_path / "experiment.nwb"
    shutil.copyfile(single_plane, changed)
    with h5py.File(changed, "r+") as h5:
        valid = h5[f"{CELLS}/valid_roi"][:]
        valid[3] = False
        h5[f"{CELLS}/valid_roi"][...] = valid
        specimen = h5[f"{CELLS}/cell_specimen_id"][:]
        specimen[0] = -1
        h5[f"{CELLS}/cell_specimen_id"][...] = specimen
        roi_ids = h5[f"{CELLS}/id"][:]
    experiment = BehaviorOphysExperiment.from_nwb_path(changed)
    table = experiment.cell_specimen_table
    assert roi_ids[3] not in set(table["cell_roi_id"]) and len(table) == len(roi_ids) - 1
    assert table.index.dtype == "Int64" and pd.isna(table.index[0])
    assert len(experiment.dff_traces) == len(table)
    assert list(experiment.dff_traces["cell_roi_id"]) == list(table["cell_roi_id"])
    everything = BehaviorOphysExperiment.from_nwb_path(changed, exclude_invalid_rois=False)
    assert len(everything.cell_specimen_table) == len(roi_ids)
    assert not everything.cell_specimen_table["valid_roi"].all()


def test_errors_say_what_is_wrong(vbo_release: SampleRelease, single_plane: Path) -> None:
    behavior = pd.read_csv(vbo_release.metadata_path("behavior_session_table"))
    own = vbo_release.data_path(int(behavior[behavior["file_id"] >= 0]["file_id"].iloc[0]))
    with pytest.raises(MissingDataError, match="BehaviorSession"):
        BehaviorOphysExperiment.from_nwb_path(own)
    with pytest.raises(InvalidInputError, match="events_filter_scale_seconds"):
        BehaviorOphysExperiment.from_nwb_path(single_plane, events_filter_scale_seconds=0)
    members = BehaviorOphysExperiment.from_nwb_path(single_plane)
    assert "dff_traces" in members.list_data_attributes_and_methods()
