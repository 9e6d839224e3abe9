"""Stimulus-aligned session methods: hand-checked cases, the pure functions, ground truth."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from brainobs.analysis.alignment import presentationwise_spike_counts, presentationwise_spike_times
from brainobs.analysis.conditions import conditionwise_spike_statistics
from brainobs.analysis.decoding import decode_image_identity
from brainobs.analysis.epochs import stimulus_epochs
from brainobs.analysis.optotagging import optotagging_responses
from brainobs.errors import InvalidInputError, UnknownIdError
from brainobs.sample import SampleRelease
from brainobs.sessions.stimulus_analysis import VBN_BOOKKEEPING_COLUMNS
from brainobs.vbn.cache import VisualBehaviorNeuropixelsProjectCache as Cache
from brainobs.vbn.session import BehaviorEcephysSession

VISUAL_CORTEX = ("VISp", "VISl", "VISal", "VISrl", "VISam", "VISpm")


@pytest.fixture(scope="module")
def session(local_cache: Cache, ecephys_row: pd.Series) -> BehaviorEcephysSession:
    """The Sst familiar-image session of the sample release."""
    return local_cache.get_ecephys_session(int(ecephys_row.name))


@pytest.fixture(scope="module")
def truth(vbn_release: SampleRelease) -> pd.DataFrame:
    """The simulated units' ground truth, indexed by unit id."""
    return vbn_release.unit_truth().set_index("unit_id")


def task_flashes(session: BehaviorEcephysSession) -> pd.DataFrame:
    """Return the shown (not omitted) image flashes of the active task block."""
    p = session.stimulus_presentations
    return p[(p["stimulus_block"] == 0) & p["omitted"].eq(False).fillna(False)]


def is_true(column: pd.Series) -> np.ndarray:
    """Return a nullable boolean column as a numpy bool array (missing -> False)."""
    return np.asarray(column.eq(True).fillna(False), dtype=bool)


# --- hand-checked cases -------------------------------------------------------------------------
def test_counts_match_hand_count_and_read_only_asked_units(
    local_cache: Cache, ecephys_row: pd.Series
) -> None:
    fresh = local_cache.get_ecephys_session(int(ecephys_row.name))
    unit = int(fresh.get_units().index[3])
    pid = int(task_flashes(fresh).index[5])
    counts = fresh.presentationwise_spike_counts([0.0, 0.1, 0.25], [pid], [unit])
    assert "spike_times" not in fresh.__dict__  # only the asked unit was read
    assert counts.dims == ("stimulus_presentation_id", "time_relative_to_stimulus_onset", "unit_id")
    np.testing.assert_allclose(counts["time_relative_to_stimulus_onset"], [0.05, 0.175])
    onset = fresh.stimulus_presentations.loc[pid, "start_time"]
    spikes = fresh.get_spike_times([unit])[unit]
    expected = [
        np.sum((spikes >= onset + lo) & (spikes < onset + hi))
        for lo, hi in [(0.0, 0.1), (0.1, 0.25)]
    ]
    assert counts.sel(unit_id=unit, stimulus_presentation_id=pid).values.tolist() == expected
    assert counts.dtype == np.uint16


def test_spike_on_a_bin_edge_counts_once(session: BehaviorEcephysSession) -> None:
    unit = int(session.get_units().index[0])
    spikes = session.get_spike_times([unit])[unit]
    onsets = session.stimulus_presentations["start_time"]
    for spike in spikes[100:200]:  # a spike that an edge can be placed on exactly
        pid = int(onsets.index[np.searchsorted(onsets.to_numpy(), spike) - 1])
        middle = float(spike) - float(onsets.loc[pid])
        if float(onsets.loc[pid]) + middle == spike:
            break
    edges = [middle - 0.5, middle, middle + 0.5]
    counts = session.presentationwise_spike_counts(edges, [pid], [unit]).values[0, :, 0]
    lower = onsets.loc[pid] + np.asarray(edges)
    expected = [np.sum((spikes >= lo) & (spikes < hi)) for lo, hi in itertools.pairwise(lower)]
    assert counts.tolist() == expected
    assert counts[1] >= 1 and int(np.sum(spikes == spike)) == 1
    on_edge = np.sum((spikes >= lower[0]) & (spikes <= lower[1]))
    assert counts[0] == on_edge - 1  # the reference would count the edge spike here too


def test_unsorted_presentations_keep_their_order(session: BehaviorEcephysSession) -> None:
    ids = task_flashes(session).index[[7, 2, 5]].to_numpy()
    units = session.get_units().index[:4].to_numpy()
    edges = np.arange(0, 0.26, 0.05)
    shuffled = session.presentationwise_spike_counts(edges, ids, units)
    ordered = session.presentationwise_spike_counts(edges, np.sort(ids), units)
    assert shuffled["stimulus_presentation_id"].values.tolist() == ids.tolist()
    np.testing.assert_array_equal(shuffled.sel(stimulus_presentation_id=np.sort(ids)), ordered)


def test_equal_to_the_pure_functions(session: BehaviorEcephysSession) -> None:
    table = task_flashes(session)
    units = session.get_units().index[:20].to_numpy()
    spikes = session.get_spike_times(units)
    edges = np.arange(-0.1, 0.5, 0.01)
    ours = session.presentationwise_spike_counts(edges, table.index, units)
    pure = presentationwise_spike_counts(spikes, table, edges, unit_ids=units)
    np.testing.assert_array_equal(ours.values, pure.values)
    lazy = session.presentationwise_spike_counts(edges, table.index, units, output="dask")
    assert lazy.chunks is not None  # computed in blocks, only when asked
    np.testing.assert_array_equal(lazy.values, pure.values)
    pd.testing.assert_frame_equal(
        session.presentationwise_spike_times(table.index, units),
        presentationwise_spike_times(spikes, table, unit_ids=units),
    )
    stats = session.conditionwise_spike_statistics(table.index, units, use_rates=True)
    with_ids = table.assign(
        stimulus_condition_id=session.get_stimulus_table()["stimulus_condition_id"]
    )
    pd.testing.assert_frame_equal(
        stats, conditionwise_spike_statistics(spikes, with_ids, units, use_rates=True)
    )


def test_conditionwise_counts_sum_to_window_spikes(session: BehaviorEcephysSession) -> None:
    table = task_flashes(session)
    unit = int(session.get_units().index[10])
    stats = session.conditionwise_spike_statistics(table.index, [unit])
    spikes = session.get_spike_times([unit])[unit]
    start, end = table["start_time"].to_numpy(), table["end_time"].to_numpy()
    inside = np.searchsorted(spikes, end, "left") - np.searchsorted(spikes, start, "left")
    assert int(stats["spike_count"].sum()) == int(inside.sum())
    assert int(stats["stimulus_presentation_count"].sum()) == len(table)


# --- conditions, tables, epochs -----------------------------------------------------------------
def test_stimulus_conditions_ignore_bookkeeping(session: BehaviorEcephysSession) -> None:
    conditions = session.stimulus_conditions
    assert conditions.index.name == "stimulus_condition_id"
    assert not set(VBN_BOOKKEEPING_COLUMNS) & set(conditions.columns)
    assert {"image_name", "is_change", "omitted", "stimulus_name"} <= set(conditions.columns)
    table = session.get_stimulus_table(session.stimulus_names[0])
    # one condition per (image, change, omitted, active) in the task block, not per flash
    keys = table[["image_name", "is_change", "omitted", "active"]].astype(str).drop_duplicates()
    assert table["stimulus_condition_id"].nunique() == len(keys)


def test_get_stimulus_table_filters_names_and_unused_columns(
    session: BehaviorEcephysSession,
) -> None:
    table = session.get_stimulus_table("gabor_20_deg_250ms")
    assert set(table["stimulus_name"]) == {"gabor_20_deg_250ms"}
    assert "image_name" not in table.columns  # all missing for gabors
    assert {"orientation", "position_x", "stimulus_condition_id"} <= set(table.columns)
    full = session.get_stimulus_table("gabor_20_deg_250ms", include_unused_parameters=True)
    assert "image_name" in full.columns and len(full) == len(table)
    assert len(session.get_stimulus_table()) == len(session.stimulus_presentations)


def test_stimulus_epochs_and_default_threshold(session: BehaviorEcephysSession) -> None:
    p = session.stimulus_presentations
    every = session.get_stimulus_epochs(duration_thresholds={})
    assert every["stimulus_block"].tolist() == list(pd.unique(p["stimulus_block"]))
    first = p[p["stimulus_block"] == 0]
    assert every.loc[0, "start_time"] == first["start_time"].iloc[0]
    assert every.loc[0, "stop_time"] == first["end_time"].iloc[-1]
    default = session.get_stimulus_epochs()
    spontaneous = every["stimulus_name"] == "spontaneous"
    short_spontaneous = spontaneous & (every["duration"] < 90)
    # the released schedule's grey screens: 10 s after the task (dropped), ~289 s later (kept)
    assert short_spontaneous.sum() == 1 and (spontaneous & ~short_spontaneous).sum() == 1
    assert len(default) == len(every) - int(short_spontaneous.sum())
    kept = default[default["stimulus_name"] == "spontaneous"]
    assert len(kept) == 1 and (kept["duration"] >= 90).all()


def test_epochs_treat_missing_blocks_as_equal() -> None:
    table = pd.DataFrame(
        {
            "start_time": [0.0, 1.0, 2.0, 3.0],
            "end_time": [1.0, 2.0, 3.0, 4.0],
            "stimulus_block": [np.nan, np.nan, 1.0, 1.0],
            "stimulus_name": ["spontaneous", "spontaneous", "a", "a"],
        }
    )
    epochs = stimulus_epochs(table, {})
    assert epochs[["start_time", "stop_time", "duration"]].to_numpy().tolist() == [
        [0.0, 2.0, 2.0],
        [2.0, 4.0, 2.0],
    ]


# --- bad input ----------------------------------------------------------------------------------
def test_bad_input_raises_clear_errors(session: BehaviorEcephysSession) -> None:
    units = session.get_units().index[:2]
    ids = task_flashes(session).index[:3]
    with pytest.raises(InvalidInputError, match="strictly increasing"):
        session.presentationwise_spike_counts([0.25, 0.0], ids, units)
    with pytest.raises(InvalidInputError, match="do not increase"):
        session.presentationwise_spike_counts(
            [0.0, 0.1, 0.2], ids, units, time_domain_callback=lambda d: d[:, ::-1].copy()
        )
    with pytest.raises(UnknownIdError, match="unit_ids not in this session: 12345"):
        session.presentationwise_spike_counts([0.0, 0.1], ids, [int(units[0]), 12345])
    with pytest.raises(UnknownIdError, match="stimulus_presentation_ids"):
        session.presentationwise_spike_times([10**9], units)
    with pytest.raises(UnknownIdError, match="stimulus names not in presentations: 'nope'"):
        session.get_stimulus_table(["nope"])
    with pytest.raises(InvalidInputError, match="duration threshold"):
        session.get_stimulus_epochs({"spontaneous": -1})
    with pytest.raises(UnknownIdError):
        session.conditionwise_spike_statistics(unit_ids=[-5])


# --- ground truth -------------------------------------------------------------------------------
def evoked_by_flash(session: BehaviorEcephysSession, units: np.ndarray) -> tuple[np.ndarray, ...]:
    """Return (counts 30-250 ms after each task flash minus the 220 ms before, flashes)."""
    flashes = task_flashes(session)
    counts = session.presentationwise_spike_counts([-0.22, 0.0, 0.03, 0.25], flashes.index, units)
    values = counts.values.astype(float)
    return values[:, 2, :] - values[:, 0, :], flashes


def test_change_responses_exceed_repeats_in_visual_cortex(
    session: BehaviorEcephysSession, truth: pd.DataFrame
) -> None:
    units = session.get_units()
    area = truth.loc[units.index, "structure_acronym"]
    evoked, flashes = evoked_by_flash(session, units.index.to_numpy())
    change = is_true(flashes["is_change"])
    repeat = ~change & (flashes["flashes_since_change"].to_numpy() >= 2)
    by_area = (
        pd.DataFrame(
            {"change": evoked[change].mean(0), "repeat": evoked[repeat].mean(0), "area": area}
        )
        .groupby("area")
        .mean()
    )
    cortex = by_area.loc[by_area.index.isin(VISUAL_CORTEX)]
    assert len(cortex) >= 4
    assert (cortex["change"] > cortex["repeat"]).all(), cortex
    hippocampus = by_area.loc[by_area.index.isin(("CA1", "DG", "CA3"))]
    assert (hippocampus["change"].abs() < cortex["change"].min()).all()


def test_novel_images_drive_visual_cortex_more(local_cache: Cache, truth: pd.DataFrame) -> None:
    sessions = local_cache.get_ecephys_session_table(filter_abnormalities=False)
    responses = {}
    for session_id, row in sessions.iterrows():
        session = local_cache.get_ecephys_session(int(session_id))
        t = truth[truth["ecephys_session_id"] == session_id]
        visual = t[t["visual"] & t["structure_acronym"].isin(VISUAL_CORTEX)]
        evoked, flashes = evoked_by_flash(session, visual.index.to_numpy())
        novel = is_true(flashes["is_image_novel"])
        # divide by the simulated amplitude so that unit sampling does not decide the result
        per_unit = evoked[~is_true(flashes["is_change"])].mean(0)
        responses[(row["mouse_id"], row["image_set"])] = float(
            np.mean(per_unit / visual["response_amplitude"].to_numpy())
        )
        assert novel.any() == (row["image_set"] == "H")
    for mouse in sessions["mouse_id"].unique():
        assert responses[(mouse, "H")] > responses[(mouse, "G")], responses


def test_omission_responses_where_simulated(
    session: BehaviorEcephysSession, truth: pd.DataFrame
) -> None:
    p = session.stimulus_presentations
    omitted = p[(p["stimulus_block"] == 0) & is_true(p["omitted"])]
    t = truth.loc[session.get_units().index]
    t = t[t["visual"] & t["structure_acronym"].isin(VISUAL_CORTEX)]
    counts = session.presentationwise_spike_counts([-0.3, 0.0, 0.4], omitted.index, t.index)
    evoked = (counts.values[:, 1, :] / 0.4 - counts.values[:, 0, :] / 0.3).mean(0)
    omission = t["omission_gain"].to_numpy() > 0
    assert omission.sum() >= 2
    assert evoked[omission].mean() > evoked[~omission].mean() + 2.0


def test_optotagging_recovers_tagged_units(local_cache: Cache, truth: pd.DataFrame) -> None:
    """10 ms pulses, all three levels pooled (6 pulses per level in the sample), alpha 0.01."""
    sessions = local_cache.get_ecephys_session_table(filter_abnormalities=False)
    found = missed = false_positives = 0
    for session_id in sessions.index:
        session = local_cache.get_ecephys_session(int(session_id))
        result = optotagging_responses(
            session.spike_times,
            session.optotagging_table,
            level=None,
            alpha=0.01,
            min_response_probability=0.25,
        )
        tagged = truth.loc[result.index, "tagged"].to_numpy()
        assert set(truth.loc[result.index[tagged], "structure_acronym"]) <= set(VISUAL_CORTEX)
        found += int((result["is_tagged"] & tagged).sum())
        missed += int((~result["is_tagged"] & tagged).sum())
        false_positives += int((result["is_tagged"] & ~tagged).sum())
    assert found + missed >= 15
    assert found / (found + missed) >= 0.9
    assert false_positives <= 1


def test_image_identity_decodes_above_chance(
    session: BehaviorEcephysSession, truth: pd.DataFrame
) -> None:
    flashes = task_flashes(session)
    units = session.get_units().index
    visual = units[truth.loc[units, "visual"].to_numpy()]
    counts = session.presentationwise_spike_counts([0.03, 0.25], flashes.index, visual)
    labels = flashes["image_name"].to_numpy()
    frequent = pd.Series(labels).value_counts()
    keep = np.isin(labels, frequent.index[frequent >= 3])
    result = decode_image_identity(counts[keep], labels[keep], n_splits=3, n_shuffles=2)
    assert result.mean_accuracy > result.chance_level + 0.3
    assert result.mean_accuracy > result.shuffled_accuracy + 0.3
