"""Optotagging: recover simulated light-responsive units."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from brainobs.analysis.optotagging import (
    OPTOTAGGING_COLUMNS,
    optotagging_responses,
    select_light_pulses,
)
from brainobs.errors import InvalidInputError, UnknownIdError

TAGGED = (10, 11, 12)
UNTAGGED = (20, 21, 22, 23)


def light_table(rng):
    """Return a VBN-like optotagging table: pulses and raised cosines at three levels."""
    rows = []
    time = 10.0
    for _ in range(60):
        for name, duration in (("pulse", 0.01), ("raised_cosine", 1.0)):
            for level in (0.8, 1.0, 1.4):
                rows.append((time, time + duration, duration, name, level))
                time += 2.0 + rng.uniform(0, 0.5)
    order = rng.permutation(len(rows))  # the table need not be in time order
    frame = pd.DataFrame(
        [rows[i] for i in order],
        columns=["start_time", "stop_time", "duration", "stimulus_name", "level"],
    )
    frame["condition"] = np.where(
        frame.stimulus_name == "pulse", "a single square pulse", "half-period of a cosine wave"
    )
    return frame.rename_axis("id")


def simulated_spikes(rng, table, evoked_probability=0.8):
    """Return 5 Hz background spikes for all units plus light-locked spikes for TAGGED units."""
    end = float(table.stop_time.max()) + 5.0
    pulses = table[(table.stimulus_name == "pulse") & (table.level == 1.4)].start_time.to_numpy()
    spikes = {}
    for unit in TAGGED + UNTAGGED:
        times = rng.uniform(0, end, rng.poisson(5.0 * end))
        if unit in TAGGED:
            fired = pulses[rng.random(pulses.size) < evoked_probability]
            times = np.concatenate((times, fired + rng.uniform(0.002, 0.006, fired.size)))
        spikes[unit] = np.sort(times)
    return spikes


@pytest.fixture(scope="module")
def light_session():
    rng = np.random.default_rng(2024)
    table = light_table(rng)
    return table, simulated_spikes(rng, table)


def test_recovers_tagged_units(light_session):
    table, spikes = light_session
    result = optotagging_responses(spikes, table)
    assert result.index.name == "unit_id"
    assert list(result.columns) == list(OPTOTAGGING_COLUMNS)
    assert result.attrs["n_pulses"] == 60
    assert set(result.index[result.is_tagged]) == set(TAGGED)
    assert (result.loc[list(TAGGED), "response_probability"] > 0.6).all()
    assert (result.loc[list(TAGGED), "p_value"] < 1e-6).all()
    assert (result.loc[list(UNTAGGED), "p_value"] > 0.001).all()
    # evoked rate of a tagged unit: ~0.8 spikes per 8 ms window = ~100 spikes/s above baseline
    assert result.loc[10, "rate_change"] > 50.0


def test_zscore_method_and_thresholds(light_session):
    table, spikes = light_session
    zscored = optotagging_responses(spikes, table, method="zscore", z_threshold=5.0)
    assert set(zscored.index[zscored.is_tagged]) == set(TAGGED)
    strict = optotagging_responses(spikes, table, min_response_probability=0.99)
    assert not strict.is_tagged.any()
    subset = optotagging_responses(spikes, table, unit_ids=[10, 20])
    assert subset.index.tolist() == [10, 20]


def test_untagged_when_light_misses_the_window(light_session):
    table, spikes = light_session
    late = optotagging_responses(spikes, table, response_window=(0.5, 0.508))
    assert not late.is_tagged.any()
    late_z = optotagging_responses(
        spikes, table, response_window=(0.5, 0.6), baseline_window=(-0.5, -0.1), method="zscore"
    )
    assert not late_z.is_tagged.any()


def test_select_light_pulses_by_name_condition_and_level(light_session):
    table, _ = light_session
    strongest = select_light_pulses(table)
    assert len(strongest) == 60
    assert (strongest.level == 1.4).all()
    assert len(select_light_pulses(table, "half-period of a cosine wave", level=0.8)) == 60
    assert len(select_light_pulses(table, "pulse", level=None)) == 180
    with pytest.raises(UnknownIdError, match="raised_cosine"):
        select_light_pulses(table, "flash")
    with pytest.raises(UnknownIdError, match="levels present"):
        select_light_pulses(table, "pulse", level=2.0)


def test_optotagging_bad_input(light_session):
    table, spikes = light_session
    with pytest.raises(InvalidInputError, match="method"):
        optotagging_responses(spikes, table, method="ttest")
    with pytest.raises(InvalidInputError, match="equal widths"):
        optotagging_responses(spikes, table, response_window=(0.001, 0.02))
    with pytest.raises(InvalidInputError, match="start < stop"):
        optotagging_responses(spikes, table, baseline_window=(0.0, -0.01))
    with pytest.raises(InvalidInputError):
        optotagging_responses(spikes, table.iloc[:0])
