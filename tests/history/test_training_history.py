"""A mouse's training history across its behavior sessions, serial and on Dask."""

from __future__ import annotations

import pickle

import matplotlib
import pandas as pd
import pytest

from brainobs.errors import UnknownIdError
from brainobs.history import training_history
from brainobs.plot.behavior import plot_training_history
from brainobs.sample import SampleRelease
from brainobs.vbn.cache import VisualBehaviorNeuropixelsProjectCache as Cache

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def cache(vbn_release: SampleRelease, tmp_path_factory: pytest.TempPathFactory) -> Cache:
    return Cache.from_source(str(vbn_release.root), tmp_path_factory.mktemp("history"))


def _mouse(cache: Cache) -> int:
    return int(cache.get_ecephys_session_table()["mouse_id"].iloc[0])


def test_history_covers_every_session_and_learning_shows(cache: Cache) -> None:
    mouse = _mouse(cache)
    history = training_history(cache, mouse)
    table = cache.get_behavior_session_table()
    assert set(history.index) == set(table.index[table["mouse_id"] == mouse])
    assert history["date_of_acquisition"].is_monotonic_increasing
    assert {"stage", "session_type", "max_dprime_engaged", "hit_trial_count"} <= set(history)
    images = history[history["session_type"].str.contains("images")]
    early, late = images["mean_dprime"].iloc[0], images["mean_dprime"].iloc[-1]
    assert late > early, "d-prime should rise across training"
    ax = plot_training_history(history)
    assert ax.get_ylabel()


def test_dask_gives_the_same_table(cache: Cache) -> None:
    import distributed

    mouse = _mouse(cache)
    serial = training_history(cache, mouse)
    with distributed.Client(
        processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None
    ) as client:
        parallel = training_history(cache, mouse, client=client)
    pd.testing.assert_frame_equal(parallel, serial)


def test_cache_pickles_for_process_workers(cache: Cache) -> None:
    clone = pickle.loads(pickle.dumps(cache))
    assert clone.get_behavior_session_table().equals(cache.get_behavior_session_table())


def test_unknown_mouse(cache: Cache) -> None:
    with pytest.raises(UnknownIdError, match="Mice include"):
        training_history(cache, 999999)
