"""Change-detection performance: reward rate, rolling hit/false-alarm rates, d-prime, engagement.

These are the reference toolkit's ``get_reward_rate``, ``get_rolling_performance_df`` and
``get_performance_metrics`` (AllenSDK 2.16.2, ``Trials.rolling_performance``), written as
pure vectorised functions of a trials table. With the default keywords they reproduce the
reference values exactly (format_ophys_behavior.md §5.5 and its test vector).

Definitions
-----------
* Reward-rate latency: the first lick more than ``response_window_start`` (0.15 s) after
  ``change_time``. Catch trials have a (sham) change time, so false alarms count too.
* ``reward_rate[n]``: NaN for the first ``initial_trials`` (10) trials; otherwise the number of
  trials in the centred window ``[n - 25, n + 25)`` whose latency is under ``window`` (0.75 s),
  divided by ``start_time[last] - start_time[first]`` of that window, in rewards/min.
  Aborted trials are part of the window.
* Rolling rates use non-aborted trials only, over a trailing window of ``sliding_window``
  (100) trials: hits over hits + misses, false alarms over false alarms + correct rejects.
* Trial-count correction: with N responses in the window, rates are clipped to
  ``[1/(2N), 1 - 1/(2N)]`` (NaN when N is 0).
* ``rolling_dprime`` = Φ⁻¹(hit_rate) − Φ⁻¹(false_alarm_rate), rates first clipped to
  ``[dprime_limit, 1 - dprime_limit]`` (0.01). A passive session (no reward volume and no
  licks on any trial) gets d′ = 0 on every non-aborted trial.
* A trial is engaged when its reward rate is strictly above the threshold (2 rewards/min).

Differences from AllenSDK
-------------------------
* The reference docstrings say the reward rate uses "the previous 25 trials" and that
  ``false_alarm_rate`` has no trial-count correction. Both are wrong about the code; brainobs
  follows the code (centred window, corrected rate) and documents it as such.
* Trials tables are checked first: a missing column, non-finite or out-of-order start times,
  or flags that are not True/False raise :class:`~brainobs.errors.InvalidInputError` instead
  of producing silently wrong numbers.
* ``performance_metrics`` returns Python ``int``/``float`` values (not numpy scalars), computes
  the rolling table once (the reference computes it twice), and accepts every reference
  constant as a keyword. Without a rewards table, ``total_reward_count`` and
  ``total_reward_volume`` come from the trials (trials with a reward volume, and their sum).
* Sessions too short for a reward rate (≤ ``initial_trials`` trials) give NaN metrics without
  numpy's "All-NaN slice" warning.
* ``reward_rate`` returns a Series indexed like ``trials`` (the reference returns an array).
* Kept as in the reference, on purpose: the reward-rate window ``[n - 25, n + 25)`` holds 25
  trials before and 24 after the current one; the latency compares delay-free lick times
  with ``change_time``, which includes the monitor delay (so it is the time from the image
  appearing on screen); and the rate counts responses in time, not delivered rewards.
* Release-table ``engaged_trial_count`` values were computed from the pkl with zero monitor
  delay; the value computed here from NWB trials can differ slightly (as in the reference).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

from brainobs.analysis.trials_table import flag, flat_lick_times, times, validate_trials
from brainobs.errors import InvalidInputError

REWARD_RATE_COLUMNS: tuple[str, ...] = ("start_time", "change_time", "lick_times")
ROLLING_COLUMNS: tuple[str, ...] = (
    *REWARD_RATE_COLUMNS,
    "hit",
    "miss",
    "false_alarm",
    "correct_reject",
    "aborted",
    "reward_volume",
)
METRICS_COLUMNS: tuple[str, ...] = (*ROLLING_COLUMNS, "go", "catch", "auto_rewarded")
ROLLING_PERFORMANCE_COLUMNS: tuple[str, ...] = (
    "reward_rate",
    "hit_rate_raw",
    "hit_rate",
    "false_alarm_rate_raw",
    "false_alarm_rate",
    "rolling_dprime",
)


def _check_positive(**values: float) -> None:
    """Return None if every keyword value is a positive number; raise otherwise."""
    for name, value in values.items():
        if not value > 0:
            raise InvalidInputError(f"{name} must be a positive number, got {value!r}.")


def _check_trial_counts(**values: int) -> None:
    """Return None if every keyword value is a positive whole number of trials; raise otherwise."""
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise InvalidInputError(
                f"{name} must be a positive whole number of trials, got {value!r}."
            )


def response_latency(trials: pd.DataFrame, *, min_latency: float | None = None) -> pd.Series:
    """Return per trial the first lick after ``change_time`` minus ``change_time`` (s).

    With ``min_latency=None`` the first lick of the trial is used, as in the trials table's
    ``response_latency`` column; with a number, the first lick more than ``min_latency``
    seconds after the change (the reward-rate latency uses 0.15 s). Trials without a change
    time (aborted) give NaN; trials with a change but no such lick give +inf.
    """
    validate_trials(trials, ("change_time", "lick_times"))
    change = times(trials, "change_time")
    rows, licks = flat_lick_times(trials)
    delay = licks - change[rows]
    keep = np.ones(delay.size, bool) if min_latency is None else delay > min_latency
    first_rows, first_at = np.unique(rows[keep], return_index=True)
    latency = np.full(len(trials), np.inf)
    latency[first_rows] = delay[keep][first_at]
    latency[np.isnan(change)] = np.nan
    series: pd.Series = pd.Series(latency, index=trials.index, name="response_latency")
    return series


def reward_rate(
    trials: pd.DataFrame,
    *,
    response_window_start: float = 0.15,
    window: float = 0.75,
    trial_window: int = 25,
    initial_trials: int = 10,
) -> pd.Series:
    """Return the reward rate (rewards/min) of each trial over a centred window of trials."""
    start = validate_trials(trials, REWARD_RATE_COLUMNS)
    _check_positive(window=window)
    _check_trial_counts(trial_window=trial_window)
    latency = response_latency(trials, min_latency=response_window_start).to_numpy()
    with np.errstate(invalid="ignore"):
        correct = np.concatenate(([0], np.cumsum(latency < window)))
    n_trials = len(trials)
    current = np.arange(max(initial_trials, 0), n_trials)
    lo = np.maximum(0, current - trial_window)
    hi = np.minimum(current + trial_window, n_trials)
    rate = np.full(n_trials, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate[current] = (correct[hi] - correct[lo]) / (start[hi - 1] - start[lo]) * 60
    rate[~np.isfinite(rate)] = np.nan
    series: pd.Series = pd.Series(rate, index=trials.index, name="reward_rate")
    return series


def _rolling_rate(responses: np.ndarray, sliding_window: int) -> tuple[np.ndarray, np.ndarray]:
    """Return the raw and trial-count-corrected trailing means of 0/1/NaN ``responses``."""
    rolling = pd.Series(responses, dtype=float).rolling(window=sliding_window, min_periods=0)
    raw = rolling.mean().to_numpy()
    count = rolling.count().to_numpy()
    with np.errstate(divide="ignore"):
        floor = 1.0 / (2 * count)
    corrected = np.where(count == 0, np.nan, np.minimum(np.maximum(raw, floor), 1 - floor))
    return raw, corrected


def _responses(hit: np.ndarray, miss: np.ndarray) -> np.ndarray:
    """Return 1.0 where ``hit``, 0.0 where ``miss`` and NaN elsewhere."""
    responses = np.full(hit.shape, np.nan)
    responses[hit] = 1.0
    responses[miss] = 0.0
    return responses


def dprime(
    hit_rate: np.ndarray | float, false_alarm_rate: np.ndarray | float, *, limit: float = 0.01
) -> np.ndarray:
    """Return Φ⁻¹(hit_rate) − Φ⁻¹(false_alarm_rate), rates clipped to [limit, 1 - limit]."""
    if not 0 < limit < 0.5:
        raise InvalidInputError(f"limit must be between 0 and 0.5, got {limit!r}.")
    low, high = limit, 1 - limit
    hits = np.clip(np.asarray(hit_rate, dtype=float), low, high)
    false_alarms = np.clip(np.asarray(false_alarm_rate, dtype=float), low, high)
    return np.asarray(norm.ppf(hits) - norm.ppf(false_alarms), dtype=float)


def is_passive_session(trials: pd.DataFrame) -> bool:
    """Return True when no trial has a reward volume or a lick (the reference's passive rule)."""
    validate_trials(trials, ("reward_volume", "lick_times"))
    _, licks = flat_lick_times(trials)
    return bool((times(trials, "reward_volume") == 0).all() and licks.size == 0)


def rolling_performance(
    trials: pd.DataFrame,
    *,
    response_window_start: float = 0.15,
    window: float = 0.75,
    trial_window: int = 25,
    initial_trials: int = 10,
    sliding_window: int = 100,
    dprime_limit: float = 0.01,
) -> pd.DataFrame:
    """Return per trial the reward rate, raw and corrected hit/false-alarm rates and d-prime.

    Like AllenSDK ``get_rolling_performance_df``: indexed like ``trials``, with columns
    ``reward_rate, hit_rate_raw, hit_rate, false_alarm_rate_raw, false_alarm_rate,
    rolling_dprime``; all but ``reward_rate`` are NaN on aborted trials.
    """
    validate_trials(trials, ROLLING_COLUMNS)
    _check_trial_counts(sliding_window=sliding_window)
    rate = reward_rate(
        trials,
        response_window_start=response_window_start,
        window=window,
        trial_window=trial_window,
        initial_trials=initial_trials,
    )
    kept = ~flag(trials, "aborted")
    go = _responses(flag(trials, "hit")[kept], flag(trials, "miss")[kept])
    catch = _responses(flag(trials, "false_alarm")[kept], flag(trials, "correct_reject")[kept])
    hit_raw, hit = _rolling_rate(go, sliding_window)
    fa_raw, fa = _rolling_rate(catch, sliding_window)
    if is_passive_session(trials):
        d_prime = np.zeros(hit.shape)
    else:
        d_prime = dprime(hit, fa, limit=dprime_limit)
    columns = {"reward_rate": rate.to_numpy()}
    kept_values = (hit_raw, hit, fa_raw, fa, d_prime)
    for name, values in zip(ROLLING_PERFORMANCE_COLUMNS[1:], kept_values, strict=True):
        columns[name] = np.full(len(trials), np.nan)
        columns[name][kept] = values
    frame: pd.DataFrame = pd.DataFrame(columns, index=trials.index)
    return frame


def engaged_trials(
    rolling_or_rate: pd.DataFrame | pd.Series, *, engaged_trial_reward_rate_threshold: float = 2.0
) -> pd.Series:
    """Return a bool Series: True where the reward rate is strictly above the threshold."""
    rate = rolling_or_rate
    if isinstance(rate, pd.DataFrame):
        if "reward_rate" not in rate.columns:
            raise InvalidInputError(
                "engaged_trials needs a `reward_rate` column; pass rolling_performance(trials) "
                "or reward_rate(trials)."
            )
        rate = rate["reward_rate"]
    values = rate.to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        engaged = values > engaged_trial_reward_rate_threshold
    series: pd.Series = pd.Series(engaged, index=rate.index, name="engaged")
    return series


def _reward_totals(trials: pd.DataFrame, rewards: pd.DataFrame | None) -> tuple[int, float]:
    """Return the number and total volume (mL) of rewards, from ``rewards`` or the trials."""
    if rewards is None:
        volume = times(trials, "reward_volume")
        given = volume[np.nan_to_num(volume) > 0]
        return int(given.size), float(given.sum())
    if not isinstance(rewards, pd.DataFrame) or "volume" not in rewards.columns:
        raise InvalidInputError(
            "rewards must be a DataFrame with a `volume` column (the session's `rewards` "
            "table), or None to count rewards from trials.reward_volume."
        )
    reward_volume = pd.to_numeric(rewards["volume"], errors="coerce")
    return len(rewards), float(reward_volume.sum())


def _rate_summaries(rolling: pd.DataFrame, engaged: pd.Series) -> dict[str, float]:
    """Return the mean/max summaries of the rolling rates, overall and over engaged trials."""
    means = {
        "mean_hit_rate": "hit_rate",
        "mean_hit_rate_uncorrected": "hit_rate_raw",
        "mean_false_alarm_rate": "false_alarm_rate",
        "mean_false_alarm_rate_uncorrected": "false_alarm_rate_raw",
        "mean_dprime": "rolling_dprime",
    }
    summary: dict[str, float] = {}
    for key, column in means.items():
        summary[key] = float(rolling[column].mean())
        if not key.endswith("_uncorrected"):
            summary[f"{key}_engaged"] = float(rolling[column][engaged].mean())
    summary["max_dprime"] = float(rolling["rolling_dprime"].max())
    summary["max_dprime_engaged"] = float(rolling["rolling_dprime"][engaged].max())
    return summary


METRIC_ORDER: tuple[str, ...] = (
    "trial_count",
    "go_trial_count",
    "catch_trial_count",
    "hit_trial_count",
    "miss_trial_count",
    "false_alarm_trial_count",
    "correct_reject_trial_count",
    "auto_reward_count",
    "earned_reward_count",
    "total_reward_count",
    "total_reward_volume",
    "maximum_reward_rate",
    "engaged_trial_count",
    "mean_hit_rate",
    "mean_hit_rate_uncorrected",
    "mean_hit_rate_engaged",
    "mean_false_alarm_rate",
    "mean_false_alarm_rate_uncorrected",
    "mean_false_alarm_rate_engaged",
    "mean_dprime",
    "mean_dprime_engaged",
    "max_dprime",
    "max_dprime_engaged",
)
"""The keys of :func:`performance_metrics`, in the reference toolkit's order."""


def performance_metrics(
    trials: pd.DataFrame,
    rewards: pd.DataFrame | None = None,
    *,
    engaged_trial_reward_rate_threshold: float = 2.0,
    response_window_start: float = 0.15,
    window: float = 0.75,
    trial_window: int = 25,
    initial_trials: int = 10,
    sliding_window: int = 100,
    dprime_limit: float = 0.01,
) -> dict[str, int | float]:
    """Return the session's performance summary, keyed like AllenSDK ``get_performance_metrics``.

    Trial counts, reward counts and volume (mL), maximum reward rate (rewards/min), engaged
    trial count, and mean/max rolling rates and d-prime, overall and over engaged trials.
    """
    validate_trials(trials, METRICS_COLUMNS)
    rolling = rolling_performance(
        trials,
        response_window_start=response_window_start,
        window=window,
        trial_window=trial_window,
        initial_trials=initial_trials,
        sliding_window=sliding_window,
        dprime_limit=dprime_limit,
    )
    engaged = engaged_trials(
        rolling, engaged_trial_reward_rate_threshold=engaged_trial_reward_rate_threshold
    )
    counted = ("go", "catch", "hit", "miss", "false_alarm", "correct_reject")
    metrics: dict[str, int | float] = {"trial_count": len(trials)}
    metrics.update({f"{name}_trial_count": int(flag(trials, name).sum()) for name in counted})
    metrics["auto_reward_count"] = int(flag(trials, "auto_rewarded").sum())
    metrics["earned_reward_count"] = metrics["hit_trial_count"]
    metrics["total_reward_count"], metrics["total_reward_volume"] = _reward_totals(trials, rewards)
    metrics["maximum_reward_rate"] = float(rolling["reward_rate"].max())
    metrics["engaged_trial_count"] = int(engaged.sum())
    metrics.update(_rate_summaries(rolling, engaged))
    return {key: metrics[key] for key in METRIC_ORDER}


def engagement_epochs(
    trials: pd.DataFrame,
    *,
    engaged_trial_reward_rate_threshold: float = 2.0,
    rate: pd.Series | None = None,
) -> pd.DataFrame:
    """Return the contiguous runs of engaged and disengaged trials, one row per run.

    Columns: ``engaged`` (bool), ``start_time`` (first trial's start, s), ``stop_time``
    (last trial's stop, s), ``duration`` (s), ``first_trial_id``, ``last_trial_id`` and
    ``trial_count``. ``rate`` is a precomputed :func:`reward_rate`; by default it is computed
    with the reference parameters.
    """
    start = validate_trials(trials, (*REWARD_RATE_COLUMNS, "stop_time"))
    if rate is None:
        rate = reward_rate(trials)
    elif len(rate) != len(trials):
        raise InvalidInputError(
            f"rate has {len(rate)} values for {len(trials)} trials; pass reward_rate(trials)."
        )
    engaged = engaged_trials(
        pd.Series(np.asarray(rate, dtype=float), index=trials.index),
        engaged_trial_reward_rate_threshold=engaged_trial_reward_rate_threshold,
    ).to_numpy()
    first = np.flatnonzero(np.concatenate(([True], engaged[1:] != engaged[:-1])))
    last = np.concatenate((first[1:], [len(trials)])) - 1
    stop = times(trials, "stop_time")[last]
    frame: pd.DataFrame = pd.DataFrame(
        {
            "engaged": engaged[first],
            "start_time": start[first],
            "stop_time": stop,
            "duration": stop - start[first],
            "first_trial_id": trials.index.to_numpy()[first],
            "last_trial_id": trials.index.to_numpy()[last],
            "trial_count": (last - first + 1).astype(np.int64),
        }
    )
    return frame
