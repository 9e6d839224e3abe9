"""Behaviour figures: each returns an Axes with labelled axes and the expected artists."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection
from matplotlib.image import AxesImage

from brainobs.analysis import behavior
from brainobs.errors import InvalidInputError
from brainobs.plot import behavior as behavior_plots

SESSION_DIR = Path(__file__).resolve().parents[1] / "data" / "real" / "vbo_session_994174745"


@pytest.fixture(scope="module")
def trials() -> pd.DataFrame:
    return pd.read_parquet(SESSION_DIR / "trials.parquet")


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def assert_labelled(ax) -> None:
    assert ax.get_xlabel() and ax.get_ylabel()


def test_rolling_performance_over_time(trials: pd.DataFrame) -> None:
    rolling = behavior.rolling_performance(trials)
    epochs = behavior.engagement_epochs(trials)
    ax = behavior_plots.plot_rolling_performance(rolling, trials, epochs=epochs)
    assert_labelled(ax)
    assert ax.get_xlabel() == "Time in session (min)"
    assert [line.get_label() for line in ax.get_lines()] == ["hit rate", "FA rate"]
    hit_line = ax.get_lines()[0]
    assert len(hit_line.get_xdata()) == rolling["hit_rate"].notna().sum()
    assert len(ax.patches) == 2  # two engaged epochs shaded
    twin = next(other for other in ax.figure.axes if other is not ax)
    assert twin.get_ylabel() == "Rolling d′ (z units)"
    assert len(twin.get_lines()) == 1
    assert ax.get_legend() is not None


def test_rolling_performance_by_trial_on_given_axes(trials: pd.DataFrame) -> None:
    _, given = plt.subplots()
    rolling = behavior.rolling_performance(trials)
    ax = behavior_plots.plot_rolling_performance(rolling, ax=given)
    assert ax is given
    assert ax.get_xlabel() == "Trial number"
    with pytest.raises(InvalidInputError, match="rolling_performance"):
        behavior_plots.plot_rolling_performance(rolling.drop(columns="rolling_dprime"))
    with pytest.raises(InvalidInputError, match="trials has 10 rows"):
        behavior_plots.plot_rolling_performance(rolling, trials.iloc[:10])


def test_lick_raster(trials: pd.DataFrame) -> None:
    raster = behavior.change_lick_raster(trials)
    ax = behavior_plots.plot_lick_raster(raster, trials)
    assert_labelled(ax)
    assert ax.get_xlabel() == "Time from change (s)"
    scatters = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert sum(len(c.get_offsets()) for c in scatters) == len(raster)
    assert {c.get_label() for c in scatters} == {
        "hit",
        "miss",
        "false alarm",
        "correct reject",
        "auto rewarded",
    }
    change_trials = int(trials["change_time"].notna().sum())
    assert ax.get_ylim() == (change_trials - 0.5, -0.5)
    assert len(ax.patches) == 1  # the response window


def test_lick_raster_without_trials_uses_raster_rows(trials: pd.DataFrame) -> None:
    raster = behavior.change_lick_raster(trials.iloc[:30])
    ax = behavior_plots.plot_lick_raster(raster, response_window=None)
    assert ax.get_ylim() == (raster["trials_id"].nunique() - 0.5, -0.5)
    assert not ax.patches
    with pytest.raises(InvalidInputError, match="change_lick_raster"):
        behavior_plots.plot_lick_raster(raster.drop(columns="outcome"))


def test_hit_rate_by_image(trials: pd.DataFrame) -> None:
    table = behavior.hit_rate_by_image(trials)
    ax = behavior_plots.plot_hit_rate_by_image(table)
    assert_labelled(ax)
    heights = [bar.get_height() for bar in ax.patches]
    np.testing.assert_allclose(heights, table["hit_rate"])
    assert [tick.get_text() for tick in ax.get_xticklabels()] == list(table.index)
    with pytest.raises(InvalidInputError, match="plot_response_matrix"):
        behavior_plots.plot_hit_rate_by_image(behavior.hit_rate_by_image_pair(trials))


def test_response_matrix(trials: pd.DataFrame) -> None:
    pairs = behavior.hit_rate_by_image_pair(trials)
    ax = behavior_plots.plot_response_matrix(pairs)
    assert_labelled(ax)
    images = [artist for artist in ax.get_images() if isinstance(artist, AxesImage)]
    matrix = images[0].get_array()
    assert matrix.shape == (8, 8)
    first, second = pairs.index[1]
    names = sorted(set(pairs.index.get_level_values(0)))
    assert matrix[names.index(first), names.index(second)] == pairs["hit_rate"].iloc[1]
    assert matrix[0, 0] == pairs.loc[(names[0], names[0]), "false_alarm_rate"]


def test_training_history() -> None:
    history = pd.DataFrame(
        {
            "session_type": ["TRAINING_1_gratings", "TRAINING_1_gratings", "OPHYS_1_images_A"],
            "date_of_acquisition": pd.to_datetime(
                ["2020-01-01", "2020-01-03", "2020-01-10"], utc=True
            ),
            "stage": ["TRAINING_1", "TRAINING_1", "OPHYS_1"],
            "max_dprime_engaged": [0.5, 1.5, 2.5],
        },
        index=pd.Index([11, 12, 13], name="behavior_session_id"),
    )
    ax = behavior_plots.plot_training_history(history)
    assert_labelled(ax)
    assert ax.get_xlabel() == "Days since first session (d)"
    scatters = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert [c.get_label() for c in scatters] == ["TRAINING_1", "OPHYS_1"]
    np.testing.assert_allclose(scatters[0].get_offsets(), [[0.0, 0.5], [2.0, 1.5]])
    np.testing.assert_allclose(scatters[1].get_offsets(), [[9.0, 2.5]])
    with pytest.raises(InvalidInputError, match="training_history"):
        behavior_plots.plot_training_history(history, metric="mean_dprime")


def test_training_history_from_analysis(trials: pd.DataFrame) -> None:
    metadata = {"session_type": "OPHYS_4_images_A", "date_of_acquisition": "2019-12-13"}
    history = behavior.training_history([(1, metadata, trials, None)])
    ax = behavior_plots.plot_training_history(history, metric="mean_dprime")
    assert ax.get_ylabel() == "d′ (mean over session)"
    assert len(ax.collections) == 1
