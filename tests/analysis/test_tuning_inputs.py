"""Inputs of the tuning metrics: table forms, stimulus names, unit subsets and bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from brainobs.analysis.tuning import (
    METRIC_COLUMNS,
    drifting_gratings_metrics,
    find_stimulus_name,
    flashes_metrics,
    natural_movies_metrics,
    natural_scenes_metrics,
    receptive_field_metrics,
    receptive_fields,
    static_gratings_metrics,
    tuning_metrics,
)
from brainobs.errors import InvalidInputError, UnknownIdError
from tests.support.tuning_sim import SimulatedSession, session_presentations, simulate_session


@pytest.fixture(scope="module")
def session() -> SimulatedSession:
    return simulate_session(6, seed=11)


@pytest.fixture(scope="module")
def metrics(session: SimulatedSession) -> pd.DataFrame:
    return tuning_metrics(session.spike_times, session.presentations, session.running_speed)


def test_session_table_form_gives_the_same_metrics(session, metrics):
    """ "null" strings, object columns and the session's condition ids change nothing."""
    table = session_presentations(session.presentations)
    assert (table["orientation"] == "null").any()
    again = tuning_metrics(session.spike_times, table, session.running_speed)
    pd.testing.assert_frame_equal(again, metrics)


def test_presentation_order_and_unit_subset_change_nothing(session, metrics):
    shuffled = session.presentations.sample(frac=1.0, random_state=1)
    units = list(session.spike_times)[2:5]
    subset = tuning_metrics(session.spike_times, shuffled, session.running_speed, units)
    pd.testing.assert_frame_equal(subset, metrics.loc[units])


def test_each_stimulus_function_gives_its_columns(session, metrics):
    args = (session.spike_times, session.presentations, session.running_speed)
    for function, kind in (
        (drifting_gratings_metrics, "dg"),
        (static_gratings_metrics, "sg"),
        (natural_scenes_metrics, "ns"),
        (flashes_metrics, "fl"),
        (receptive_field_metrics, "rf"),
    ):
        frame = function(*args)
        assert tuple(frame.columns) == METRIC_COLUMNS[kind]
        pd.testing.assert_frame_equal(frame, metrics[list(METRIC_COLUMNS[kind])])


def test_without_running_speed_the_running_columns_are_nan(session):
    frame = flashes_metrics(session.spike_times, session.presentations)
    assert frame[["run_pval_fl", "run_mod_fl"]].isna().all().all()
    assert frame["firing_rate_fl"].notna().all()


def test_pref_image_is_the_frame_and_the_quirk_is_the_condition_id(session):
    table = session_presentations(session.presentations)
    ours = natural_scenes_metrics(session.spike_times, table)
    quirk = natural_scenes_metrics(session.spike_times, table, reference_quirks=True)
    frame_of = table.groupby("stimulus_condition_id")["frame"].first()
    np.testing.assert_array_equal(frame_of.loc[quirk["pref_image_ns"]], ours["pref_image_ns"])
    assert (quirk["pref_image_ns"] != ours["pref_image_ns"]).any()


def test_rf_p_value_is_seeded(session):
    args = (session.spike_times, session.presentations)
    first = receptive_field_metrics(*args, seed=3, n_shuffles=200)
    pd.testing.assert_frame_equal(first, receptive_field_metrics(*args, seed=3, n_shuffles=200))
    generator = receptive_field_metrics(*args, seed=np.random.default_rng(3), n_shuffles=200)
    pd.testing.assert_series_equal(first["p_value_rf"], generator["p_value_rf"])


def test_receptive_field_maps_sum_counts_per_position(session):
    maps = receptive_fields(session.spike_times, session.presentations)
    assert maps.dims == ("unit_id", "y_position", "x_position")
    assert list(maps["y_position"].values) == list(np.arange(40.0, -41.0, -10.0))
    unit = int(maps["unit_id"][0])
    gabors = session.presentations[session.presentations["stimulus_name"] == "gabors"]
    row = gabors[(gabors["x_position"] == -40.0) & (gabors["y_position"] == 40.0)]
    spikes = session.spike_times[unit]
    expected = sum(
        np.searchsorted(spikes, s + 0.25) - np.searchsorted(spikes, s) for s in row["start_time"]
    )
    assert int(maps.sel(unit_id=unit).values[0, 0]) == expected


def test_natural_movie_frames_are_conditions(session):
    rng = np.random.default_rng(0)
    start = 10_000 + np.arange(3 * 30) / 30.0
    movie = pd.DataFrame(
        {
            "start_time": start,
            "stop_time": start + 1 / 30.0,
            "stimulus_name": "natural_movie_one",
            "frame": np.tile(np.arange(30.0), 3),
        }
    )
    spikes = {1: np.sort(rng.uniform(10_000, 10_003, 200))}
    frame = natural_movies_metrics(spikes, movie)
    assert tuple(frame.columns) == METRIC_COLUMNS["nm"]
    assert frame.loc[1, "firing_rate_nm"] == pytest.approx(200 / 3.0, rel=1e-6)


def test_stimulus_names_of_both_releases():
    table = pd.DataFrame(
        {
            "stimulus_name": ["spontaneous", "gabor_20_deg_250ms", "flash_250ms", "Natural Images"],
            "start_time": [0.0, 1, 2, 3],
            "stop_time": [1.0, 2, 3, 4],
        }
    )
    assert find_stimulus_name(table, "rf") == "gabor_20_deg_250ms"
    assert find_stimulus_name(table, "fl") == "flash_250ms"
    assert find_stimulus_name(table, "ns") == "Natural Images"
    assert find_stimulus_name(table, "dg") is None
    with pytest.raises(InvalidInputError, match="unknown stimulus type"):
        find_stimulus_name(table, "xx")


def test_bad_input_raises_brainobs_errors(session):
    spikes, table = session.spike_times, session.presentations
    with pytest.raises(InvalidInputError, match="'orientation'"):
        drifting_gratings_metrics(spikes, table.drop(columns=["orientation"]))
    only_flashes = table[table["stimulus_name"] == "flashes"]
    with pytest.raises(InvalidInputError, match=r"no drifting gratings.*flashes"):
        drifting_gratings_metrics(spikes, only_flashes)
    with pytest.raises(UnknownIdError, match="'drifting_gratings_9'"):
        drifting_gratings_metrics(spikes, table, stimulus_name="drifting_gratings_9")
    with pytest.raises(UnknownIdError, match="123"):
        flashes_metrics(spikes, table, unit_ids=[123])
    with pytest.raises(InvalidInputError, match="not sorted"):
        flashes_metrics({1: np.array([3.0, 1.0])}, table)
    with pytest.raises(InvalidInputError, match="trial_duration"):
        flashes_metrics(spikes, table, trial_duration=0.0)
    with pytest.raises(InvalidInputError, match="start_time and velocity"):
        flashes_metrics(spikes, table, pd.DataFrame({"t": [0.0], "v": [1.0]}))
    with pytest.raises(InvalidInputError, match="unknown stimulus types"):
        tuning_metrics(spikes, table, stimuli=["gratings"])
    with pytest.raises(InvalidInputError, match="stimulus_name"):
        tuning_metrics(spikes, table.drop(columns=["stimulus_name"]))


def test_bad_parameter_values_raise(session):
    spikes, table = session.spike_times, session.presentations.copy()
    text = table.astype({"color": object})
    text.loc[text["stimulus_name"] == "flashes", "color"] = "bright"
    with pytest.raises(InvalidInputError, match="'color' holds values that are not numbers"):
        flashes_metrics(spikes, text)
    text.loc[text["stimulus_name"] == "flashes", "color"] = "[1.0, -1.0]"
    with pytest.raises(InvalidInputError, match=r"not numbers: '\[1.0, -1.0\]'"):
        flashes_metrics(spikes, text)
    gabors = table[table["stimulus_name"] == "gabors"]
    holes = gabors[~((gabors["x_position"] == 0.0) & (gabors["y_position"] == 0.0))]
    with pytest.raises(InvalidInputError, match=r"incomplete: no presentation at \(x, y\)"):
        receptive_field_metrics(spikes, holes)
    blank_only = table[table["stimulus_name"] == "drifting_gratings"]
    blank_only = blank_only[blank_only["temporal_frequency"].isna()]
    with pytest.raises(InvalidInputError, match="blank"):
        drifting_gratings_metrics(spikes, blank_only)


def test_numeric_text_parameters_are_numbers(session, metrics):
    """Parameters stored as text ("0.08", "[0.25, 0.25]", as VCN stores some) parse as numbers."""
    table = session.presentations.copy()
    table["spatial_frequency"] = table["spatial_frequency"].map(
        lambda v: "null" if pd.isna(v) else str(v)
    )
    table["phase"] = table["phase"].map(lambda v: "" if pd.isna(v) else f"[{v}, {v}]")
    frame = static_gratings_metrics(session.spike_times, table, session.running_speed)
    pd.testing.assert_frame_equal(frame, metrics[list(METRIC_COLUMNS["sg"])])
