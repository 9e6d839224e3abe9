"""Behaviour metrics: the reference test vector (format_ophys_behavior.md §5.5) and small
hand-computed cases for every function of brainobs.analysis.behavior."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from brainobs.analysis import behavior
from brainobs.analysis.licking import RASTER_COLUMNS
from brainobs.errors import InvalidInputError

FLAGS = ("go", "catch", "hit", "miss", "false_alarm", "correct_reject", "aborted", "auto_rewarded")


def make_trial(kind: str, start: float, licks: tuple[float, ...] = (), **extra: object) -> dict:
    """Return one trials-table row of outcome ``kind`` starting at ``start`` (change at +4 s)."""
    row: dict = {name: False for name in FLAGS}
    row.update(start_time=start, stop_time=start + 7.5, change_time=start + 4.0)
    row.update(reward_volume=0.0, lick_times=np.asarray(licks, dtype=float))
    row.update(initial_image_name="im000", change_image_name="im000")
    row[kind] = True
    if kind in ("hit", "miss"):
        row["go"] = True
    elif kind in ("false_alarm", "correct_reject"):
        row["catch"] = True
    elif kind == "aborted":
        row["change_time"] = np.nan
    if kind in ("hit", "auto_rewarded"):
        row["reward_volume"] = 0.007 if kind == "hit" else 0.005
    row.update(extra)
    return row


def make_trials(rows: list[dict]) -> pd.DataFrame:
    """Return a trials table (index ``trials_id``) from rows made by :func:`make_trial`."""
    return pd.DataFrame(rows).rename_axis("trials_id")


# --- the reference test vector (§5.5) ---------------------------------------------------------
def reference_vector() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the §5.5 synthetic session: 300 trials and its rewards table."""
    rows = []
    for i in range(300):
        start, k = 8.0 * i, i % 10
        change = start + 4.0
        if i < 5:
            rows.append(make_trial("auto_rewarded", start, (change + 0.3,)))
        elif k in (0, 1):
            rows.append(make_trial("aborted", start, (start + 1.0,)))
        elif k == 2 and (i // 10) % 3 == 0:
            rows.append(make_trial("false_alarm", start, (change + 0.4,)))
        elif k == 2:
            rows.append(make_trial("correct_reject", start))
        elif k <= 7 and i < 200:
            rows.append(make_trial("hit", start, (change + 0.35, change + 0.5)))
        else:
            rows.append(make_trial("miss", start))
    trials = make_trials(rows)
    rewarded = trials[trials["reward_volume"] > 0]
    rewards = pd.DataFrame(
        {
            "volume": rewarded["reward_volume"].to_numpy(),
            "timestamps": [licks[0] for licks in rewarded["lick_times"]],
            "auto_rewarded": rewarded["auto_rewarded"].to_numpy(),
        }
    )
    return trials, rewards


# Published in §5.5 (rounded to 6 decimals).
VECTOR_METRICS = {
    "trial_count": 300,
    "go_trial_count": 208,
    "catch_trial_count": 29,
    "hit_trial_count": 98,
    "miss_trial_count": 110,
    "false_alarm_trial_count": 9,
    "correct_reject_trial_count": 20,
    "maximum_reward_rate": 4.864865,
    "engaged_trial_count": 192,
    "mean_hit_rate": 0.615186,
    "mean_hit_rate_uncorrected": 0.619053,
    "mean_hit_rate_engaged": 0.714774,
    "mean_false_alarm_rate": 0.320097,
    "mean_false_alarm_rate_uncorrected": 0.294235,
    "mean_false_alarm_rate_engaged": 0.313805,
    "mean_dprime": 0.768535,
    "mean_dprime_engaged": 1.059846,
    "max_dprime": 1.475261,
    "max_dprime_engaged": 1.475261,
}

# The same metrics at full precision, from allensdk 2.16.2 (Trials(..., 0.15)) on this vector.
VECTOR_METRICS_ALLENSDK = {
    "maximum_reward_rate": 4.864864864864865,
    "mean_hit_rate": 0.6151856393860036,
    "mean_hit_rate_uncorrected": 0.619053431228479,
    "mean_hit_rate_engaged": 0.7147743749896887,
    "mean_false_alarm_rate": 0.3200965700965701,
    "mean_false_alarm_rate_uncorrected": 0.2942345011310529,
    "mean_false_alarm_rate_engaged": 0.3138046164361954,
    "mean_dprime": 0.768535481175076,
    "mean_dprime_engaged": 1.0598459813320475,
    "max_dprime": 1.4752612343526152,
    "max_dprime_engaged": 1.4752612343526152,
}

NAN = math.nan
# (reward_rate, hit_rate_raw, hit_rate, false_alarm_rate_raw, false_alarm_rate, rolling_dprime)
VECTOR_ROWS = {
    5: (NAN, 1.0, 0.5, NAN, NAN, NAN),
    9: (NAN, 0.6, 0.6, NAN, NAN, NAN),
    10: (4.632353, NAN, NAN, NAN, NAN, NAN),
    12: (4.791667, 0.6, 0.6, 0.0, 0.5, 0.253347),
    13: (4.864865, 0.666667, 0.666667, 0.0, 0.5, 0.430727),
    199: (2.448980, 0.704545, 0.704545, 0.333333, 0.333333, 0.968246),
    200: (2.295918, NAN, NAN, NAN, NAN, NAN),
    299: (0.0, 0.136364, 0.136364, 0.333333, 0.333333, -0.666076),
}


def test_reference_vector_metrics() -> None:
    trials, rewards = reference_vector()
    metrics = behavior.performance_metrics(trials, rewards)
    assert list(metrics) == list(behavior.METRIC_ORDER)
    for key, expected in VECTOR_METRICS.items():
        if isinstance(expected, int):
            assert metrics[key] == expected, key
            assert type(metrics[key]) is int, key
        else:
            assert metrics[key] == pytest.approx(expected, abs=5e-7), key
    for key, expected in VECTOR_METRICS_ALLENSDK.items():
        assert metrics[key] == expected, key
    assert metrics["auto_reward_count"] == 5
    assert metrics["earned_reward_count"] == 98
    assert metrics["total_reward_count"] == 103
    assert metrics["total_reward_volume"] == pytest.approx(5 * 0.005 + 98 * 0.007)


def test_reference_vector_rolling_rows() -> None:
    trials, _ = reference_vector()
    rolling = behavior.rolling_performance(trials)
    assert list(rolling.columns) == list(behavior.ROLLING_PERFORMANCE_COLUMNS)
    assert rolling.index.equals(trials.index)
    for row, expected in VECTOR_ROWS.items():
        np.testing.assert_allclose(rolling.loc[row].to_numpy(), expected, atol=5e-7, err_msg=row)
    aborted = trials["aborted"].to_numpy()
    assert rolling.loc[aborted, "hit_rate":].isna().all().all()
    assert rolling["reward_rate"].iloc[:10].isna().all()
    assert rolling["reward_rate"].iloc[10:].notna().all()
    reward_rate = behavior.reward_rate(trials)
    np.testing.assert_array_equal(reward_rate.to_numpy(), rolling["reward_rate"].to_numpy())


# --- response latency -------------------------------------------------------------------------
def latency_trials() -> pd.DataFrame:
    """Return four trials with known latencies (changes at 4, 14, 24 s; trial 0 aborted)."""
    return make_trials(
        [
            make_trial("aborted", 0.0, (1.0,)),
            make_trial("hit", 10.0, (14.1, 14.4)),
            make_trial("miss", 20.0),
            make_trial("hit", 30.0, (33.5, 34.5)),
        ]
    )


def test_response_latency_first_lick() -> None:
    latency = behavior.response_latency(latency_trials())
    np.testing.assert_allclose(latency.to_numpy(), [NAN, 0.1, np.inf, -0.5], atol=1e-12)
    assert latency.index.name == "trials_id"


def test_response_latency_after_minimum() -> None:
    latency = behavior.response_latency(latency_trials(), min_latency=0.15)
    np.testing.assert_allclose(latency.to_numpy(), [NAN, 0.4, np.inf, 0.5], atol=1e-12)


def test_response_latency_accepts_lists_and_missing_cells() -> None:
    trials = latency_trials()
    trials["lick_times"] = [[1.0], [14.1, 14.4], None, (33.5, 34.5)]
    latency = behavior.response_latency(trials)
    np.testing.assert_allclose(latency.to_numpy(), [NAN, 0.1, np.inf, -0.5], atol=1e-12)


# --- reward rate ------------------------------------------------------------------------------
def small_session() -> pd.DataFrame:
    """Return five trials 10 s apart; trials 0, 2 and 4 are rewarded responses."""
    return make_trials(
        [
            make_trial("hit", 0.0, (4.3,)),
            make_trial("miss", 10.0, (14.1, 14.9)),  # 0.1 s too early, 0.9 s too late
            make_trial("false_alarm", 20.0, (24.5,)),  # catch responses count as "correct"
            make_trial("aborted", 30.0, (31.0,)),
            make_trial("hit", 40.0, (44.74,)),
        ]
    )


def test_reward_rate_centred_window_by_hand() -> None:
    rate = behavior.reward_rate(small_session(), trial_window=2, initial_trials=1)
    # n=1: trials [0, 3): 2 correct over 20 s; n=2: [0, 4): 2 over 30 s;
    # n=3: [1, 5): 2 over 30 s; n=4: [2, 5): 2 over 20 s.
    np.testing.assert_allclose(rate.to_numpy(), [NAN, 6.0, 4.0, 4.0, 6.0])


def test_reward_rate_is_nan_for_initial_trials() -> None:
    rate = behavior.reward_rate(small_session())
    assert rate.isna().all()
    assert rate.name == "reward_rate"


def test_reward_rate_window_and_response_start_are_keywords() -> None:
    rate = behavior.reward_rate(
        small_session(), trial_window=2, initial_trials=1, window=1.0, response_window_start=0.05
    )
    # with the wider window every non-aborted trial with a lick counts: trials 0, 1, 2, 4
    np.testing.assert_allclose(rate.to_numpy(), [NAN, 9.0, 6.0, 6.0, 6.0])


# --- rolling rates and d-prime ----------------------------------------------------------------
def rolling_trials() -> pd.DataFrame:
    """Return H, H, M, (aborted), FA, H, CR, CR: seven non-aborted trials."""
    kinds = [
        "hit",
        "hit",
        "miss",
        "aborted",
        "false_alarm",
        "hit",
        "correct_reject",
        "correct_reject",
    ]
    return make_trials(
        [make_trial(kind, 8.0 * i, (8.0 * i + 4.3,)) for i, kind in enumerate(kinds)]
    )


def test_rolling_rates_by_hand() -> None:
    rolling = behavior.rolling_performance(rolling_trials(), sliding_window=4)
    third = 1.0 / 3.0
    expected_hit_raw = [1.0, 1.0, 2 * third, NAN, 2 * third, 2 * third, 0.5, 1.0]
    expected_hit = [0.5, 0.75, 2 * third, NAN, 2 * third, 2 * third, 0.5, 0.5]
    expected_fa_raw = [NAN, NAN, NAN, NAN, 1.0, 1.0, 0.5, third]
    expected_fa = [NAN, NAN, NAN, NAN, 0.5, 0.5, 0.5, third]
    np.testing.assert_allclose(rolling["hit_rate_raw"], expected_hit_raw)
    np.testing.assert_allclose(rolling["hit_rate"], expected_hit)
    np.testing.assert_allclose(rolling["false_alarm_rate_raw"], expected_fa_raw)
    np.testing.assert_allclose(rolling["false_alarm_rate"], expected_fa)
    expected_dprime = norm.ppf(np.array(expected_hit)) - norm.ppf(np.array(expected_fa))
    np.testing.assert_allclose(rolling["rolling_dprime"], expected_dprime)
    assert rolling["rolling_dprime"].iloc[7] == pytest.approx(0.4307272992954576)


def test_dprime_is_clipped() -> None:
    assert behavior.dprime(1.0, 0.0)[()] == pytest.approx(2 * norm.ppf(0.99))
    assert behavior.dprime(0.0, 1.0)[()] == pytest.approx(-4.6526957480816815)
    assert behavior.dprime(0.9, 0.9, limit=0.2)[()] == 0.0
    np.testing.assert_allclose(behavior.dprime([0.5, NAN], [0.5, 0.5]), [0.0, NAN])
    with pytest.raises(InvalidInputError, match="limit"):
        behavior.dprime(0.5, 0.5, limit=0.5)


def test_passive_session_has_zero_dprime() -> None:
    kinds = ["miss", "correct_reject", "aborted", "miss", "correct_reject"]
    trials = make_trials([make_trial(kind, 8.0 * i) for i, kind in enumerate(kinds)])
    assert behavior.is_passive_session(trials)
    rolling = behavior.rolling_performance(trials)
    np.testing.assert_array_equal(rolling["rolling_dprime"], [0.0, 0.0, NAN, 0.0, 0.0])
    trials.at[1, "lick_times"] = np.array([12.0])  # one lick: no longer passive
    assert not behavior.is_passive_session(trials)
    active = behavior.rolling_performance(trials)
    assert active["rolling_dprime"].iloc[1] == pytest.approx(norm.ppf(0.5) - norm.ppf(0.5))
    assert active["rolling_dprime"].iloc[4] == pytest.approx(norm.ppf(0.25) - norm.ppf(0.25))
    assert math.isnan(active["rolling_dprime"].iloc[0])  # no catch trial yet


@pytest.mark.parametrize("as_type", ["float", "boolean"])
def test_flags_stored_as_float_or_nullable_boolean(as_type: str) -> None:
    trials, rewards = reference_vector()
    converted = trials.astype({name: as_type for name in FLAGS})
    assert behavior.performance_metrics(converted, rewards) == behavior.performance_metrics(
        trials, rewards
    )


# --- performance metrics and engagement -------------------------------------------------------
def test_performance_metrics_small_session() -> None:
    trials = small_session()
    metrics = behavior.performance_metrics(
        trials, engaged_trial_reward_rate_threshold=4.0, trial_window=2, initial_trials=1
    )
    assert metrics["trial_count"] == 5
    assert (metrics["go_trial_count"], metrics["catch_trial_count"]) == (3, 1)
    assert (metrics["hit_trial_count"], metrics["miss_trial_count"]) == (2, 1)
    assert (metrics["false_alarm_trial_count"], metrics["correct_reject_trial_count"]) == (1, 0)
    assert metrics["maximum_reward_rate"] == 6.0
    assert metrics["engaged_trial_count"] == 2  # 4.0 is not above the threshold 4.0
    # without a rewards table the rewards come from trials.reward_volume
    assert metrics["total_reward_count"] == 2
    assert metrics["total_reward_volume"] == pytest.approx(0.014)
    rolling = behavior.rolling_performance(trials, trial_window=2, initial_trials=1)
    engaged = rolling["reward_rate"] > 4.0
    assert metrics["mean_hit_rate_engaged"] == rolling["hit_rate"][engaged].mean()
    assert metrics["max_dprime"] == rolling["rolling_dprime"].max()


def test_performance_metrics_counts_rewards_table() -> None:
    rewards = pd.DataFrame({"volume": [0.005, 0.007, 0.007], "timestamps": [1.0, 2.0, 3.0]})
    metrics = behavior.performance_metrics(small_session(), rewards)
    assert metrics["total_reward_count"] == 3
    assert metrics["total_reward_volume"] == pytest.approx(0.019)


def test_performance_metrics_short_session_is_nan_without_warnings() -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        metrics = behavior.performance_metrics(small_session())
    assert math.isnan(metrics["maximum_reward_rate"])
    assert metrics["engaged_trial_count"] == 0
    assert math.isnan(metrics["mean_dprime_engaged"])
    assert math.isnan(metrics["max_dprime_engaged"])


def test_engaged_trials_and_epochs_by_hand() -> None:
    trials = small_session()
    rate = behavior.reward_rate(trials, trial_window=2, initial_trials=1)
    engaged = behavior.engaged_trials(rate, engaged_trial_reward_rate_threshold=4.0)
    assert engaged.tolist() == [False, True, False, False, True]
    epochs = behavior.engagement_epochs(trials, rate=rate, engaged_trial_reward_rate_threshold=4.0)
    assert epochs["engaged"].tolist() == [False, True, False, True]
    assert epochs["first_trial_id"].tolist() == [0, 1, 2, 4]
    assert epochs["last_trial_id"].tolist() == [0, 1, 3, 4]
    assert epochs["trial_count"].tolist() == [1, 1, 2, 1]
    np.testing.assert_allclose(epochs["start_time"], [0.0, 10.0, 20.0, 40.0])
    np.testing.assert_allclose(epochs["stop_time"], [7.5, 17.5, 37.5, 47.5])
    np.testing.assert_allclose(epochs["duration"], [7.5, 7.5, 17.5, 7.5])


def test_engagement_epochs_default_rate_matches_reference_vector() -> None:
    trials, _ = reference_vector()
    epochs = behavior.engagement_epochs(trials)
    assert epochs.loc[epochs["engaged"], "trial_count"].sum() == 192
    assert epochs["trial_count"].sum() == 300
    assert not epochs["engaged"].iloc[0]  # the first 10 trials have no reward rate
    assert (epochs["engaged"].to_numpy()[1:] != epochs["engaged"].to_numpy()[:-1]).all()


# --- outcomes, licks, images ------------------------------------------------------------------
def test_trial_outcome() -> None:
    outcome = behavior.trial_outcome(small_session())
    assert outcome.tolist() == ["hit", "miss", "false_alarm", "aborted", "hit"]
    assert list(outcome.cat.categories) == list(behavior.OUTCOMES)


def test_trial_outcome_rejects_conflicting_flags() -> None:
    trials = small_session()
    trials.loc[1, "hit"] = True  # now both hit and miss
    with pytest.raises(InvalidInputError, match=r"rows 1 have 2 of the flags"):
        behavior.trial_outcome(trials)


def test_align_licks_by_hand() -> None:
    events = pd.Series([1.0, NAN, 2.5], index=pd.Index([7, 8, 9], name="event_id"))
    aligned = behavior.align_licks([3.0, 0.5, 1.0, 2.0, 1.6], events, window=(-0.5, 0.6))
    assert aligned.columns.tolist() == ["event_id", "event_time", "lick_time", "time_from_event"]
    assert aligned["event_id"].tolist() == [7, 7, 9, 9]
    np.testing.assert_allclose(aligned["lick_time"], [0.5, 1.0, 2.0, 3.0])
    np.testing.assert_allclose(aligned["time_from_event"], [-0.5, 0.0, -0.5, 0.5])


def test_align_licks_from_licks_table_and_empty() -> None:
    licks = pd.DataFrame({"timestamps": [10.0, 10.2], "frame": [600, 612]})
    aligned = behavior.align_licks(licks, np.array([10.0]))
    assert aligned["event"].tolist() == [0, 0]
    empty = behavior.align_licks(licks, np.array([100.0]))
    assert empty.empty and empty.columns.tolist() == ["event", *RASTER_COLUMNS]


def test_change_lick_raster() -> None:
    trials = small_session()
    raster = behavior.change_lick_raster(trials, window=(-1.0, 1.0))
    assert raster.columns.tolist() == [
        "trials_id",
        "change_time",
        "outcome",
        "lick_time",
        "time_from_change",
    ]
    assert raster["trials_id"].tolist() == [0, 1, 1, 2, 4]  # the aborted trial has no change
    assert raster["outcome"].astype(str).tolist() == ["hit", "miss", "miss", "false_alarm", "hit"]
    np.testing.assert_allclose(raster["time_from_change"], [0.3, 0.1, 0.9, 0.5, 0.74], atol=1e-9)
    # a separate licks table also catches licks outside the trial's own lick_times
    with_table = behavior.change_lick_raster(trials, np.array([13.5, 14.1]), window=(-1.0, 1.0))
    np.testing.assert_allclose(with_table["time_from_change"], [-0.5, 0.1], atol=1e-9)


def image_trials() -> pd.DataFrame:
    """Return trials over images A/B: A->B hit, A->B miss, B->A hit, catch on B (FA, CR)."""
    spec = [
        ("hit", "A", "B"),
        ("miss", "A", "B"),
        ("hit", "B", "A"),
        ("false_alarm", "B", "B"),
        ("correct_reject", "B", "B"),
        ("auto_rewarded", "A", "B"),
        ("aborted", "B", "B"),
    ]
    return make_trials(
        [
            make_trial(kind, 8.0 * i, initial_image_name=first, change_image_name=second)
            for i, (kind, first, second) in enumerate(spec)
        ]
    )


def test_hit_rate_by_image() -> None:
    table = behavior.hit_rate_by_image(image_trials())
    assert table.index.tolist() == ["A", "B"]
    assert table.columns.tolist() == list(behavior.IMAGE_RATE_COLUMNS)
    assert table.loc["A"].tolist() == [1, 1, 1.0, 0, 0, pytest.approx(NAN, nan_ok=True)]
    assert table.loc["B", ["go_trial_count", "hit_count", "hit_rate"]].tolist() == [2, 1, 0.5]
    assert table.loc["B", ["catch_trial_count", "false_alarm_count"]].tolist() == [2, 1]
    assert table.loc["B", "false_alarm_rate"] == 0.5


def test_hit_rate_by_image_pair() -> None:
    table = behavior.hit_rate_by_image_pair(image_trials())
    assert table.index.names == ["initial_image_name", "change_image_name"]
    assert table.index.tolist() == [("A", "B"), ("B", "A"), ("B", "B")]
    assert table["hit_rate"].tolist()[:2] == [0.5, 1.0]
    assert table.loc[("B", "B"), "false_alarm_rate"] == 0.5
    assert table.loc[("B", "B"), "go_trial_count"] == 0


# --- training history -------------------------------------------------------------------------
def test_training_history_rows_sorted_by_date() -> None:
    trials, _ = reference_vector()
    sessions = [
        (
            2,
            {"session_type": "OPHYS_1_images_A", "date_of_acquisition": "2020-01-05"},
            trials,
            None,
        ),
        (
            1,
            pd.Series(
                {
                    "session_type": "TRAINING_3_images_A_10uL_reward",
                    "date_of_acquisition": "2020-01-02 10:00:00+00:00",
                    "sex": "F",
                }
            ),
            small_session(),
            None,
        ),
    ]
    history = behavior.training_history(iter(sessions))
    assert history.index.name == "behavior_session_id"
    assert history.index.tolist() == [1, 2]
    assert history["stage"].tolist() == ["TRAINING_3", "OPHYS_1"]
    assert str(history["date_of_acquisition"].dt.tz) == "UTC"
    assert history.loc[2, "mean_dprime"] == behavior.performance_metrics(trials)["mean_dprime"]
    assert history.loc[2, "trial_count"] == 300
    assert history.columns.tolist()[:3] == ["session_type", "date_of_acquisition", "stage"]
    assert history.columns.tolist()[3:] == list(behavior.METRIC_ORDER)


def test_training_history_passes_metric_options_and_handles_empty() -> None:
    sessions = [
        (5, {"session_type": "X", "date_of_acquisition": "2020-01-01"}, small_session(), None)
    ]
    history = behavior.training_history(
        sessions, engaged_trial_reward_rate_threshold=4.0, trial_window=2, initial_trials=1
    )
    assert history.loc[5, "engaged_trial_count"] == 2
    assert history.loc[5, "stage"] == "X"
    empty = behavior.training_history([])
    assert empty.empty and "mean_dprime" in empty.columns


def test_training_history_errors_name_the_session() -> None:
    bad_trials = small_session().drop(columns="hit")
    with pytest.raises(InvalidInputError, match=r"behavior session 9: .*'hit'"):
        behavior.training_history(
            [(9, {"session_type": "X", "date_of_acquisition": "2020"}, bad_trials, None)]
        )
    with pytest.raises(InvalidInputError, match="session 3 has no `date_of_acquisition`"):
        behavior.training_history([(3, {"session_type": "X"}, small_session(), None)])
    with pytest.raises(InvalidInputError, match="tuple"):
        behavior.training_history([(3, {"session_type": "X"})])  # type: ignore[list-item]


def test_session_stage() -> None:
    assert behavior.session_stage("OPHYS_4_images_A") == "OPHYS_4"
    assert (
        behavior.session_stage("HABITUATION_5_images_G_handoff_ready_5uL_reward") == "HABITUATION_5"
    )
    assert behavior.session_stage("TRAINING_0_gratings_autorewards_15min") == "TRAINING_0"
    assert behavior.session_stage("free_form") == "free_form"


# --- bad input --------------------------------------------------------------------------------
def test_missing_column_is_named() -> None:
    trials = small_session().drop(columns="change_time")
    with pytest.raises(InvalidInputError, match=r"lacks column\(s\) \['change_time'\]"):
        behavior.rolling_performance(trials)
    with pytest.raises(ValueError, match="or add the column"):
        behavior.reward_rate(trials)


def test_out_of_order_start_times_name_the_rows() -> None:
    trials = small_session()
    trials["start_time"] = [0.0, 10.0, 5.0, 30.0, 20.0]
    with pytest.raises(InvalidInputError, match=r"out of order: row\(s\) 2, 4 .*sort_values"):
        behavior.performance_metrics(trials)


def test_missing_start_time_is_named() -> None:
    trials = small_session()
    trials.loc[3, "start_time"] = NAN
    with pytest.raises(InvalidInputError, match="not a finite number in rows 3"):
        behavior.reward_rate(trials)


def test_bad_flag_values_are_named() -> None:
    trials = small_session()
    trials["miss"] = trials["miss"].astype("boolean")
    trials.loc[2, "miss"] = pd.NA
    with pytest.raises(InvalidInputError, match=r"trials.miss must hold True/False .* rows 2"):
        behavior.rolling_performance(trials)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: behavior.rolling_performance(pd.DataFrame()), "lacks column"),
        (lambda: behavior.reward_rate("trials"), "must be a pandas DataFrame"),  # type: ignore[arg-type]
        (lambda: behavior.reward_rate(small_session().iloc[:0]), "no rows"),
        (lambda: behavior.reward_rate(small_session(), window=0.0), "window must be a positive"),
        (lambda: behavior.rolling_performance(small_session(), sliding_window=0), "sliding_window"),
        (lambda: behavior.reward_rate(small_session(), trial_window=2.5), "whole number"),
        (lambda: behavior.performance_metrics(small_session(), pd.DataFrame({"v": [1]})), "volume"),
        (lambda: behavior.align_licks([1.0], [1.0], window=(1.0, -1.0)), "must be before"),
        (lambda: behavior.align_licks([1.0], [1.0], window=1.0), "pair"),  # type: ignore[arg-type]
        (lambda: behavior.align_licks(pd.DataFrame({"t": [1.0]}), [1.0]), "timestamps"),
        (lambda: behavior.engagement_epochs(small_session(), rate=pd.Series([1.0])), "1 values"),
        (lambda: behavior.engaged_trials(pd.DataFrame({"x": [1.0]})), "reward_rate"),
    ],
)
def test_bad_input_raises(call, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        call()


def test_bad_lick_cell_is_named() -> None:
    trials = small_session()
    trials["lick_times"] = trials["lick_times"].astype(object)
    trials.at[4, "lick_times"] = "many"
    with pytest.raises(InvalidInputError, match="lick_times in row 4"):
        behavior.response_latency(trials)


def test_inputs_are_not_modified() -> None:
    trials, rewards = reference_vector()
    before = trials.copy(deep=True)
    behavior.performance_metrics(trials, rewards)
    behavior.change_lick_raster(trials)
    behavior.engagement_epochs(trials)
    pd.testing.assert_frame_equal(trials, before)
