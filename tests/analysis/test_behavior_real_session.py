"""Behaviour metrics on a real VBO session (behavior_session_id 994174745, OPHYS_4_images_A).

The tables come from the AllenSDK repository's test data (provenance in
tests/data/real/README.md). The reference document gives no metric values for this session,
so the expected values below were computed with allensdk 2.16.2 on the same two files
(``Trials(trials, response_window_start=0.15)``); its rolling table is stored beside them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from brainobs.analysis import behavior

SESSION_DIR = Path(__file__).resolve().parents[1] / "data" / "real" / "vbo_session_994174745"

# allensdk 2.16.2 BehaviorSession.get_performance_metrics() logic on these trials and rewards.
ALLENSDK_METRICS = {
    "trial_count": 468,
    "go_trial_count": 330,
    "catch_trial_count": 48,
    "hit_trial_count": 80,
    "miss_trial_count": 250,
    "false_alarm_trial_count": 1,
    "correct_reject_trial_count": 47,
    "auto_reward_count": 5,
    "earned_reward_count": 80,
    "total_reward_count": 85,
    "total_reward_volume": 0.5850000000000001,
    "maximum_reward_rate": 3.342181425393434,
    "engaged_trial_count": 116,
    "mean_hit_rate": 0.2794232766429797,
    "mean_hit_rate_uncorrected": 0.2833915306112337,
    "mean_hit_rate_engaged": 0.4328614967407252,
    "mean_false_alarm_rate": 0.06672389833861983,
    "mean_false_alarm_rate_uncorrected": 0.022398099984306884,
    "mean_false_alarm_rate_engaged": 0.10632883456412867,
    "mean_dprime": 0.9413658690852447,
    "mean_dprime_engaged": 1.1438663662861257,
    "max_dprime": 1.5839580108992641,
    "max_dprime_engaged": 1.5765261469995815,
}


@pytest.fixture(scope="module")
def trials() -> pd.DataFrame:
    return pd.read_parquet(SESSION_DIR / "trials.parquet")


@pytest.fixture(scope="module")
def rewards() -> pd.DataFrame:
    return pd.read_parquet(SESSION_DIR / "rewards.parquet")


def test_trial_counts(trials: pd.DataFrame) -> None:
    assert len(trials) == 468
    counts = trials[["go", "catch", "hit", "miss", "false_alarm", "correct_reject"]].sum()
    assert counts.to_dict() == {
        "go": 330,
        "catch": 48,
        "hit": 80,
        "miss": 250,
        "false_alarm": 1,
        "correct_reject": 47,
    }
    assert trials["auto_rewarded"].sum() == 5
    outcome = behavior.trial_outcome(trials).value_counts()
    assert outcome.to_dict() == {
        "aborted": 85,
        "miss": 250,
        "hit": 80,
        "correct_reject": 47,
        "auto_rewarded": 5,
        "false_alarm": 1,
    }


def test_performance_metrics_equal_allensdk(trials: pd.DataFrame, rewards: pd.DataFrame) -> None:
    metrics = behavior.performance_metrics(trials, rewards)
    assert metrics == ALLENSDK_METRICS
    # without the rewards table the totals come from the trials and agree
    from_trials = behavior.performance_metrics(trials)
    assert from_trials["total_reward_count"] == 85
    assert from_trials["total_reward_volume"] == pytest.approx(0.585)


def test_metrics_are_sensible(trials: pd.DataFrame) -> None:
    metrics = behavior.performance_metrics(trials)
    assert 0 < metrics["mean_false_alarm_rate"] < metrics["mean_hit_rate"] < 1
    assert metrics["mean_hit_rate"] < metrics["mean_hit_rate_engaged"]  # engaged = better
    assert 0 < metrics["mean_dprime"] < metrics["max_dprime"] < 4.6527
    assert 2.0 < metrics["maximum_reward_rate"] < 10.0
    assert 0 < metrics["engaged_trial_count"] < metrics["trial_count"]


def test_rolling_performance_equals_allensdk(trials: pd.DataFrame) -> None:
    expected = pd.read_parquet(SESSION_DIR / "allensdk_2.16.2_rolling_performance.parquet")
    rolling = behavior.rolling_performance(trials)
    assert rolling.index.equals(trials.index)
    assert list(rolling.columns) == list(expected.columns)
    for column in rolling.columns:
        np.testing.assert_array_equal(rolling[column], expected[column], err_msg=column)


def test_response_latency_reproduces_trials_column(trials: pd.DataFrame) -> None:
    latency = behavior.response_latency(trials)
    np.testing.assert_array_equal(latency.to_numpy(), trials["response_latency"].to_numpy())
    hits = trials["hit"].to_numpy()
    assert np.isfinite(latency[hits]).all()
    assert (latency[hits] < 0.75).all()


def test_engagement_epochs(trials: pd.DataFrame) -> None:
    epochs = behavior.engagement_epochs(trials)
    assert epochs["trial_count"].sum() == 468
    assert epochs.loc[epochs["engaged"], "trial_count"].sum() == 116
    assert epochs["engaged"].tolist() == [False, True, False, True, False]
    assert epochs["first_trial_id"].tolist() == [0, 10, 125, 247, 248]
    assert epochs["start_time"].iloc[0] == trials["start_time"].iloc[0]
    assert epochs["stop_time"].iloc[-1] == trials["stop_time"].iloc[-1]
    assert (epochs["start_time"].to_numpy()[1:] > epochs["stop_time"].to_numpy()[:-1]).all()


def test_change_lick_raster(trials: pd.DataFrame) -> None:
    raster = behavior.change_lick_raster(trials, window=(-1.0, 3.0))
    assert raster["time_from_change"].between(-1.0, 3.0, inclusive="left").all()
    first = raster.groupby("trials_id")["time_from_change"].min()
    hits = trials.index[trials["hit"]]
    # every hit trial licked in the window; its first lick is the trial's response latency
    np.testing.assert_allclose(first.loc[hits], trials.loc[hits, "response_latency"])
    assert set(raster["outcome"].astype(str)) <= {
        "hit",
        "miss",
        "false_alarm",
        "correct_reject",
        "auto_rewarded",
    }


def test_hit_rate_by_image(trials: pd.DataFrame) -> None:
    table = behavior.hit_rate_by_image(trials)
    assert len(table) == 8
    assert table["go_trial_count"].sum() == 330
    assert table["hit_count"].sum() == 80
    assert table["catch_trial_count"].sum() == 48
    assert table["false_alarm_count"].sum() == 1
    assert table["hit_rate"].between(0.0, 1.0).all()
    pairs = behavior.hit_rate_by_image_pair(trials)
    assert len(pairs) == 64  # every initial/change pair, catch trials on the diagonal
    assert pairs["hit_count"].sum() == 80
    diagonal = pairs.index.get_level_values(0) == pairs.index.get_level_values(1)
    assert pairs.loc[diagonal, "go_trial_count"].sum() == 0
    assert pairs.loc[diagonal, "catch_trial_count"].sum() == 48


def test_training_history_row(trials: pd.DataFrame, rewards: pd.DataFrame) -> None:
    metadata = {
        "session_type": "OPHYS_4_images_A",
        "date_of_acquisition": "2019-12-13 09:10:21.396000+00:00",
    }
    history = behavior.training_history([(994174745, metadata, trials, rewards)])
    row = history.loc[994174745]
    assert row["stage"] == "OPHYS_4"
    assert row["date_of_acquisition"] == pd.Timestamp("2019-12-13 09:10:21.396", tz="UTC")
    assert row["max_dprime_engaged"] == ALLENSDK_METRICS["max_dprime_engaged"]
