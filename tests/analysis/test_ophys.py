"""Stimulus-aligned 2-photon traces: hand-computed alignment, and ground truth on the sample."""

from __future__ import annotations

import warnings

import h5py
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from brainobs.analysis.ophys import (
    align_traces,
    cell_responses,
    change_omission_responses,
    filter_events,
    image_responses,
    response_means,
    time_base,
    trace_matrix,
)
from brainobs.analysis.ophys_summary import (
    across_sessions,
    population_summary,
    tracked_responses,
)
from brainobs.errors import InvalidInputError
from brainobs.sample import SampleRelease
from brainobs.tables.load import read_table
from brainobs.vbo.sample_release import cell_truth
from brainobs.vbo.schemas import VBO_SCHEMAS

STAMPS = np.arange(10) / 10.0  # 10 Hz
TRACES = np.vstack([np.arange(10.0), 2 * np.arange(10.0)])  # cell 0 = frame index, cell 1 = 2x


def test_alignment_interpolates_onto_the_common_time_base() -> None:
    aligned = align_traces(TRACES, STAMPS, np.array([0.25, 0.85]), (-0.1, 0.2),
                           sampling_rate=20.0, cell_ids=[7, 9])  # fmt: skip
    assert aligned.dims == ("stimulus_presentations_id", "time", "cell_specimen_id")
    np.testing.assert_allclose(aligned["time"], [-0.1, -0.05, 0.0, 0.05, 0.1, 0.15])
    np.testing.assert_allclose(aligned.sel(cell_specimen_id=7)[0], [1.5, 2, 2.5, 3, 3.5, 4])
    np.testing.assert_allclose(aligned.sel(cell_specimen_id=9)[0], [3, 4, 5, 6, 7, 8])
    # 0.95 and 1.0 s are after the last frame (0.9 s): NaN
    np.testing.assert_allclose(aligned.sel(cell_specimen_id=7)[1], [7.5, 8, 8.5, 9, np.nan, np.nan])
    assert aligned.attrs["sampling_rate"] == 20.0


def test_alignment_on_uneven_frames_and_without_interpolation() -> None:
    stamps = np.array([0.0, 0.1, 0.3, 0.35])
    values = np.array([[0.0, 1.0, 3.0, 5.0]])
    aligned = align_traces(values, stamps, np.array([0.2]), (0.0, 0.1), sampling_rate=10.0)
    assert aligned.values[0, 0, 0] == pytest.approx(2.0)  # halfway between 0.1 s (1) and 0.3 s (3)
    nearest = align_traces(TRACES, STAMPS, np.array([0.25]), (-0.1, 0.2), interpolate=False)
    np.testing.assert_allclose(nearest["time"], [-0.1, 0.0, 0.1])
    np.testing.assert_allclose(nearest.sel(cell_specimen_id=0)[0], [2, 3, 4])  # frame at/after


def test_alignment_takes_trace_tables_and_presentation_tables() -> None:
    table = pd.DataFrame({"cell_roi_id": [1, 2], "dff": list(TRACES)},
                         index=pd.Index([101, 102], name="cell_specimen_id"))  # fmt: skip
    ids, matrix = trace_matrix(table)
    assert list(ids) == [101, 102] and np.array_equal(matrix, TRACES)
    presentations = pd.DataFrame({"start_time": [0.3, 0.5]}, index=pd.Index([40, 41]))
    aligned = align_traces(table, STAMPS, presentations, (0.0, 0.2), dtype=np.float32)
    assert list(aligned["stimulus_presentations_id"]) == [40, 41] and aligned.dtype == np.float32
    np.testing.assert_allclose(aligned.sel(cell_specimen_id=102, stimulus_presentations_id=41),
                               [10, 12])  # fmt: skip


def test_alignment_in_blocks_equals_one_block(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    traces, onsets = rng.normal(size=(5, 400)), np.sort(rng.uniform(1, 38, 60))
    stamps = np.arange(400) / 10.0 + rng.uniform(0, 0.01, 400)
    whole = align_traces(traces, stamps, onsets, (-0.5, 1.0), sampling_rate=30.0)
    monkeypatch.setattr("brainobs.analysis.ophys.BLOCK_VALUES", 7 * 45 * 5)
    blocked = align_traces(traces, stamps, onsets, (-0.5, 1.0), sampling_rate=30.0)
    xr.testing.assert_identical(whole, blocked)
    expected = np.interp(onsets[3] + whole["time"].to_numpy(), stamps, traces[2])
    np.testing.assert_allclose(whole[3, :, 2], expected)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"traces": TRACES.T}, "cell x time"),
        ({"timestamps": STAMPS[::-1]}, "increasing"),
        ({"window": (0.2, 0.1)}, "start < stop"),
        ({"presentations": np.array([np.nan])}, "finite"),
    ],
)
def test_alignment_rejects_bad_input(kwargs: dict, message: str) -> None:
    args = {"traces": TRACES, "timestamps": STAMPS, "presentations": np.array([0.3]),
            "window": (-0.1, 0.2)} | kwargs  # fmt: skip
    with pytest.raises(InvalidInputError, match=message):
        align_traces(**args)


def test_time_base_includes_onset() -> None:
    np.testing.assert_allclose(time_base((-0.05, 0.1), 31.0), np.arange(-1, 4) / 31.0)


def _toy_responses() -> tuple[xr.DataArray, pd.DataFrame]:
    """Return 5 presentations x 2 cells of known responses and their presentations."""
    presentations = pd.DataFrame(
        {
            "start_time": [1.0, 1.75, 2.5, 3.25, 4.0],
            "image_name": ["a", "a", "omitted", "b", "b"],
            "is_change": [False, False, False, True, False],
            "omitted": [False, False, True, False, False],
        },
        index=pd.Index([10, 11, 12, 13, 14], name="stimulus_presentations_id"),
    )
    data = np.array([[1.0, 0.0], [3.0, 0.0], [0.5, 4.0], [6.0, -1.0], [2.0, 1.0]])
    responses = xr.DataArray(data, dims=("stimulus_presentations_id", "cell_specimen_id"),
                             coords={"stimulus_presentations_id": presentations.index,
                                     "cell_specimen_id": [5, 6]})  # fmt: skip
    return responses, presentations


def test_response_means_with_baseline() -> None:
    aligned = align_traces(TRACES, STAMPS, np.array([0.3]), (-0.2, 0.3), sampling_rate=10.0)
    # samples at 0.1..0.5 s are 1..5; response [0, 0.2) = (3 + 4) / 2, baseline [-0.2, 0) = 1.5
    means = response_means(aligned, (0.0, 0.2), baseline=(-0.2, 0.0))
    np.testing.assert_allclose(means.sel(cell_specimen_id=0), [3.5 - 1.5])
    with pytest.raises(InvalidInputError, match="no sample"):
        response_means(aligned, (0.41, 0.45))


def test_image_and_condition_responses() -> None:
    responses, presentations = _toy_responses()
    per_image = image_responses(responses, presentations)
    assert list(per_image.columns) == ["a", "b"]
    np.testing.assert_allclose(per_image.loc[5], [2.0, 4.0])
    np.testing.assert_allclose(per_image.loc[6], [0.0, 0.0])
    conditions = change_omission_responses(responses, presentations)
    np.testing.assert_allclose(
        conditions.loc[5], [6.0, 2.0, 0.5, 3.0]
    )  # change/repeat/omission/image
    np.testing.assert_allclose(conditions.loc[6], [-1.0, 1 / 3, 4.0, 0.0])
    cells = cell_responses(responses, presentations)
    assert cells.loc[5, "preferred_image"] == "b" and cells.loc[5, "preferred_response"] == 4.0


def test_filter_events_matches_the_reference_test_vectors() -> None:
    impulse = np.zeros(12)
    impulse[2] = 1.0
    wide = filter_events(impulse, frame_rate_hz=31.0, scale_seconds=2.0 / 31.0)
    np.testing.assert_allclose(wide[:7], [0, 0, 0.332598, 0.293517, 0.201731, 0.107979, 0.045012],
                               atol=1e-6)  # fmt: skip
    narrow = filter_events(impulse, frame_rate_hz=11.0, scale_seconds=2.0 / 31.0)
    np.testing.assert_allclose(narrow[2:6], [0.719666, 0.266672, 0.013568, 9.5e-05], atol=1e-6)
    both = filter_events(np.vstack([impulse, 2 * impulse]), frame_rate_hz=31.0)
    np.testing.assert_allclose(both[1], 2 * wide)


def test_tracked_responses_and_population_summary() -> None:
    experiments = pd.DataFrame(
        {"ophys_container_id": [1, 1, 2], "cre_line": ["Sst", "Sst", "Vip"],
         "experience_level": ["Familiar", "Novel 1", "Familiar"], "imaging_depth": [150, 152, 300]},
        index=pd.Index([100, 101, 200], name="ophys_experiment_id"),
    )  # fmt: skip
    per = {
        100: pd.DataFrame({"image": [1.0, 2.0]}, index=pd.Index([7, 8], name="cell_specimen_id")),
        101: pd.DataFrame({"image": [3.0]}, index=pd.Index([7], name="cell_specimen_id")),
        200: pd.DataFrame({"image": [5.0]}, index=pd.Index([9], name="cell_specimen_id")),
    }
    tracked = tracked_responses(per, experiments)
    assert len(tracked) == 4 and set(tracked["ophys_experiment_id"]) == {100, 101, 200}
    matched = across_sessions(tracked, "image", ("Familiar", "Novel 1"))
    assert list(matched.index) == [7]
    assert matched.loc[7, "Familiar"] == 1.0 and matched.loc[7, "Novel 1"] == 3.0
    assert len(across_sessions(tracked, "image", ("Familiar", "Novel 1"), matched=False)) == 3
    summary = population_summary(tracked, "image", by=("cre_line",), depth_bins=(0, 200, 400))
    sst = summary[(summary["cre_line"] == "Sst")].iloc[0]
    # cell 7 averages its two sessions (2.0), cell 8 is 2.0: mean 2, sem 0, two cells
    assert (sst["mean"], sst["sem"], sst["n_cells"]) == (2.0, 0.0, 2)
    assert str(summary.loc[summary["cre_line"] == "Vip", "depth_bin"].iloc[0]) == "[200.0, 400.0)"
    with pytest.raises(InvalidInputError, match="experiment table"):
        tracked_responses({999: per[100]}, experiments)


# --- ground truth on the sample release ----------------------------------------------------


@pytest.fixture(scope="module")
def tracked(vbo_release: SampleRelease) -> pd.DataFrame:
    """Return every cell's responses in every experiment of the sample, with metadata."""
    from brainobs.sessions.behavior import BehaviorSession

    schema = VBO_SCHEMAS["ophys_experiment_table"]
    experiments = read_table(vbo_release.metadata_path("ophys_experiment_table"), schema)
    per, presentations = {}, {}
    for oeid, row in experiments.iterrows():
        path = vbo_release.data_path(row["file_id"])
        if row["ophys_session_id"] not in presentations:  # the planes of a session share it
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                table = BehaviorSession.from_nwb_path(path).stimulus_presentations
            presentations[row["ophys_session_id"]] = table[table["stimulus_block"] == 1]
        shown = presentations[row["ophys_session_id"]]
        with h5py.File(path, "r") as h5:
            dff = h5["processing/ophys/dff/traces/data"][:].T
            stamps = h5["processing/ophys/dff/traces/timestamps"][:]
            ids = h5["processing/ophys/image_segmentation/cell_specimen_table/cell_specimen_id"][:]
        aligned = align_traces(dff, stamps, shown, (-0.5, 1.0), cell_ids=ids)
        responses = response_means(aligned, (0.0, 0.75), baseline=(-0.25, 0.0))
        per[oeid] = cell_responses(responses, shown)
    table = tracked_responses(per, experiments)
    table["line"] = table["cre_line"].str.split("-").str[0]
    return table


def _t(values: pd.Series) -> float:
    """Return the mean of ``values`` in units of its standard error."""
    return float(values.mean() / values.sem())


def test_novel_images_evoke_larger_responses_in_every_line(tracked: pd.DataFrame) -> None:
    matched = across_sessions(tracked, "image", ("Familiar", "Novel 1"))
    gain = matched["Novel 1"] - matched["Familiar"]
    for line, cells in gain.groupby(matched["cre_line"]):
        assert len(cells) >= 8, line
        assert _t(cells) > 2.5, line  # paired: the same cells in both sessions


def test_vip_omission_responses_fade_with_novelty(tracked: pd.DataFrame) -> None:
    matched = across_sessions(tracked, "omission", ("Familiar", "Novel 1", "Novel >1"))
    vip = matched[matched["cre_line"].str.startswith("Vip")]
    assert vip["Novel 1"].mean() < 0.5 * vip["Familiar"].mean()
    assert vip["Novel >1"].mean() > vip["Novel 1"].mean()  # half the novelty gain in later sessions


def test_change_and_omission_responses_differ_by_line(tracked: pd.DataFrame) -> None:
    familiar = tracked[tracked["experience_level"] == "Familiar"]
    difference = (familiar["change"] - familiar["omission"]).groupby(familiar["line"])
    t = {line: _t(values) for line, values in difference}
    assert t["Slc17a7"] > 2 and t["Sst"] > 2 and t["Vip"] < -2
    change_vs_repeat = (familiar["change"] - familiar["repeat"]).groupby(familiar["line"])
    assert _t(change_vs_repeat.get_group("Slc17a7")) > 2
    assert _t(change_vs_repeat.get_group("Vip")) < -2
    omission = familiar.groupby("line")["omission"].mean()
    assert omission.idxmax() == "Vip"


def test_preferred_images_of_excitatory_cells_are_recovered(
    vbo_release: SampleRelease, tracked: pd.DataFrame
) -> None:
    truth = cell_truth(vbo_release).set_index("cell_specimen_id")
    familiar = tracked[tracked["experience_level"] == "Familiar"]
    familiar = familiar.merge(
        truth, left_on="cell_specimen_id", right_index=True, suffixes=("", "_t")
    )
    strong = familiar[(familiar["line"] == "Slc17a7") & (familiar["image_amplitude"] > 5)]
    assert len(strong) >= 10
    assert (strong["preferred_image"] == strong["preferred_image_familiar"]).mean() >= 0.7


def test_population_summary_by_line_and_depth(tracked: pd.DataFrame) -> None:
    summary = population_summary(tracked, ["image", "omission"], depth_bins=(0, 200, 400))
    sst = summary[summary["cre_line"].str.startswith("Sst") & (summary["metric"] == "image")]
    assert set(sst["depth_bin"].astype(str)) == {"[0.0, 200.0)", "[200.0, 400.0)"}
    assert (summary["n_cells"] > 0).all() and (summary["sem"] >= 0).all()
    omission = summary[
        (summary["metric"] == "omission") & (summary["experience_level"] == "Familiar")
    ]
    assert omission.loc[omission["mean"].idxmax(), "cre_line"].startswith("Vip")
