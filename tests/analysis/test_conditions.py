"""Stimulus condition ids, presentation selection and conditionwise spike statistics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from brainobs.analysis.conditions import (
    conditionwise_spike_statistics,
    select_presentations,
    stimulus_condition_ids,
)
from brainobs.errors import InvalidInputError, UnknownIdError


def gratings_table():
    """Return a small VCN-like stimulus table with mixed-type and missing parameter values."""
    return pd.DataFrame(
        {
            "start_time": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0],
            "stop_time": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            "stimulus_block": [0, 1, 1, 1, 1, 1],
            "stimulus_name": [
                "spontaneous",
                "gratings",
                "gratings",
                "gratings",
                "gratings",
                "gratings",
            ],
            "orientation": [np.nan, 0, 90.0, "0.0", 0.0, 90],
            "spatial_frequency": ["null", "0.08", 0.08, 0.08, 0.08, 0.08],
        },
        index=pd.Index(np.arange(6), name="stimulus_presentation_id"),
    )


def test_condition_ids_numeric_equality_merges_type_noise():
    ids, conditions = stimulus_condition_ids(gratings_table())
    assert ids.name == "stimulus_condition_id"
    assert ids.index.equals(gratings_table().index)
    assert ids.tolist() == [0, 1, 2, 1, 1, 2]
    assert conditions.index.name == "stimulus_condition_id"
    assert list(conditions.columns) == ["stimulus_name", "orientation", "spatial_frequency"]
    assert conditions.loc[2, "orientation"] == 90.0
    assert conditions.loc[0, "stimulus_name"] == "spontaneous"


def test_condition_ids_python_equality_is_the_reference():
    ids, conditions = stimulus_condition_ids(gratings_table(), value_equality="python")
    # "0.08" != 0.08 and "0.0" != 0 under Python equality; 0 == 0.0 and 90.0 == 90.
    assert ids.tolist() == [0, 1, 2, 3, 4, 2]
    assert len(conditions) == 5


def test_missing_values_are_one_value_and_lists_are_hashable():
    table = pd.DataFrame(
        {
            "start_time": [0.0, 1.0, 2.0, 3.0],
            "color": [None, np.nan, "null", "[1, 1, 1]"],
            "rgb": [[1.0, 1.0], [1.0, 1.0], (1, 1), [0, 1]],
        }
    )
    ids, _ = stimulus_condition_ids(table)
    assert ids.tolist() == [0, 0, 0, 1]


def test_condition_ids_without_parameter_columns_and_custom_ignore():
    table = gratings_table()[["start_time", "stop_time"]]
    ids, conditions = stimulus_condition_ids(table)
    assert ids.tolist() == [0] * 6
    assert conditions.shape == (1, 0)
    blocks = gratings_table().assign(stimulus_block=[0, 1, 1, 2, 2, 2])
    ids, _ = stimulus_condition_ids(blocks, ignore_columns=["start_time", "stop_time"])
    assert ids.tolist() == [0, 1, 2, 3, 3, 4]  # stimulus_block now splits conditions


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from([0, 1, 2.5, "a", None]), st.sampled_from(["x", "y"])),
        min_size=1,
        max_size=30,
    )
)
def test_condition_ids_match_first_occurrence_oracle(rows):
    table = pd.DataFrame(rows, columns=["p", "q"]).astype(object)
    table.insert(0, "start_time", np.arange(len(rows), dtype=float))
    ids, conditions = stimulus_condition_ids(table)
    seen: dict[tuple, int] = {}
    expected = [seen.setdefault(row, len(seen)) for row in rows]
    assert ids.tolist() == expected
    assert len(conditions) == len(seen)


def test_condition_ids_bad_input():
    with pytest.raises(InvalidInputError):
        stimulus_condition_ids(pd.DataFrame())
    with pytest.raises(InvalidInputError, match="value_equality"):
        stimulus_condition_ids(gratings_table(), value_equality="loose")


def test_select_presentations_by_name_and_id():
    table = gratings_table()
    assert select_presentations(table, "gratings").index.tolist() == [1, 2, 3, 4, 5]
    chosen = select_presentations(table, ["gratings"], presentation_ids=[5, 1])
    assert chosen.index.tolist() == [1, 5]
    with pytest.raises(UnknownIdError, match=r"'flashes'.*known names are 'spontaneous'"):
        select_presentations(table, ["flashes"])
    with pytest.raises(UnknownIdError, match="99"):
        select_presentations(table, presentation_ids=[1, 99])


# --- conditionwise_spike_statistics -------------------------------------------------------


def test_conditionwise_statistics_hand_computed():
    table = gratings_table()
    spikes = {
        8: np.array([0.5, 1.0, 1.5, 2.2, 3.1, 3.2, 3.3, 6.0]),
        9: np.array([]),
    }
    stats = conditionwise_spike_statistics(spikes, table)
    assert stats.index.names == ["unit_id", "stimulus_condition_id"]
    assert list(stats.columns) == [
        "spike_count",
        "stimulus_presentation_count",
        "spike_mean",
        "spike_std",
        "spike_sem",
    ]
    # unit 8 per presentation ([start, stop)): p0 1, p1 2, p2 1, p3 3, p4 0, p5 0 (6.0 excluded)
    # condition 0 = {p0}; condition 1 = {p1, p3, p4}; condition 2 = {p2, p5}
    row = stats.loc[(8, 1)]
    assert row.spike_count == 5
    assert row.stimulus_presentation_count == 3
    assert row.spike_mean == pytest.approx(5 / 3)
    assert row.spike_std == pytest.approx(np.std([2, 3, 0], ddof=1))
    assert row.spike_sem == pytest.approx(scipy.stats.sem([2, 3, 0]))
    assert np.isnan(stats.loc[(8, 0), "spike_std"])
    assert stats.loc[9, "spike_count"].tolist() == [0, 0, 0]  # a silent unit is kept
    assert stats.index.get_level_values(0).tolist() == [8, 8, 8, 9, 9, 9]


def test_conditionwise_rates_reference_edges_and_existing_condition_column():
    table = gratings_table()
    table["stop_time"] = table["start_time"] + 0.5
    table["stimulus_condition_id"] = [5, 5, 5, 7, 7, 7]
    spikes = {1: np.array([0.0, 0.5, 3.25, 4.5])}
    rates = conditionwise_spike_statistics(spikes, table, use_rates=True)
    assert "spike_count" not in rates.columns
    assert rates.index.get_level_values(1).tolist() == [5, 7]
    # [start, stop): p0 has 0.0 -> rate 2/s; p3 has 3.25 -> 2/s
    np.testing.assert_allclose(rates["spike_mean"], [2 / 3, 2 / 3])
    reference = conditionwise_spike_statistics(spikes, table, edges="reference")
    # (start, stop]: p0 has 0.5; p3 has 3.25; p4 has 4.5
    assert reference["spike_count"].tolist() == [1, 2]


def test_conditionwise_matches_groupby_oracle_with_overlaps():
    rng = np.random.default_rng(11)
    starts = rng.uniform(0, 50, 80)  # unordered, overlapping windows
    table = pd.DataFrame(
        {
            "start_time": starts,
            "stop_time": starts + rng.uniform(0.2, 2.0, 80),
            "image_name": rng.choice(["im1", "im2", "im3"], 80),
        }
    )
    spikes = {u: np.sort(rng.uniform(0, 52, 300)) for u in (3, 4)}
    stats = conditionwise_spike_statistics(spikes, table, use_rates=True)
    ids, _ = stimulus_condition_ids(table)
    for unit, times in spikes.items():
        counts = [
            np.sum((times >= a) & (times < b))
            for a, b in zip(table.start_time, table.stop_time, strict=True)
        ]
        frame = pd.DataFrame(
            {"rate": np.array(counts) / (table.stop_time - table.start_time), "cid": ids}
        )
        grouped = frame.groupby("cid")["rate"]
        np.testing.assert_allclose(stats.loc[unit, "spike_mean"], grouped.mean())
        np.testing.assert_allclose(stats.loc[unit, "spike_std"], grouped.std(ddof=1))
        np.testing.assert_allclose(stats.loc[unit, "spike_sem"], grouped.sem())


def test_conditionwise_errors():
    table = gratings_table()
    with pytest.raises(UnknownIdError):
        conditionwise_spike_statistics({1: np.array([0.1])}, table, unit_ids=[2])
    table.loc[2, "stop_time"] = table.loc[2, "start_time"]
    with pytest.raises(InvalidInputError, match="longer than 0 s"):
        conditionwise_spike_statistics({1: np.array([0.1])}, table, use_rates=True)
