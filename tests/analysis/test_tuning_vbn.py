"""The tuning metrics run on VBN sessions' gabor and flash blocks and find the simulated RFs.

The VBN sample shows each of the 81 gabor positions only 3 times (one repeat of 9 x 9 x 3
orientations), so single units are noisy; the statistics below pool the units of every session
of the default sample and compare with the simulation's ground truth (``rf_x``, ``rf_y``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from brainobs.analysis.tuning import METRIC_COLUMNS, tuning_metrics
from brainobs.sample import SampleRelease
from brainobs.vbn.session import BehaviorEcephysSession

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def metrics(vbn_release: SampleRelease) -> pd.DataFrame:
    """Return the tuning metrics of every unit of every sample session, with its truth."""
    sessions = pd.read_csv(vbn_release.metadata_path("ecephys_sessions"))
    truth = vbn_release.unit_truth().set_index("unit_id")
    frames = []
    for file_id in sessions["file_id"]:
        session = BehaviorEcephysSession.from_nwb_path(vbn_release.data_path(int(file_id)))
        found = tuning_metrics(
            session.spike_times, session.stimulus_presentations, session.running_speed
        )
        frames.append(found.join(truth.loc[found.index]))
    return pd.concat(frames)


def test_vbn_blocks_give_the_rf_and_flash_columns(metrics):
    """VBN's gabor_20_deg_250ms and flash_250ms are found; no other stimulus is analysed."""
    expected = [*METRIC_COLUMNS["fl"], *METRIC_COLUMNS["rf"]]
    assert sorted(c for c in metrics.columns if c.endswith(("_fl", "_rf"))) == sorted(expected)
    assert not any(c.endswith(("_dg", "_sg", "_ns", "_dm")) for c in metrics.columns)
    assert metrics["firing_rate_fl"].notna().all() and metrics["azimuth_rf"].notna().mean() > 0.9


def test_rf_centres_recover_the_simulated_ones(metrics):
    """Units with p_value_rf < 0.05 are mostly visual and their centres (azimuth - 50,
    elevation - 10) lie within 12 deg of the simulated (rf_x, rf_y) for >= 65% of them (median
    < 10 deg); for units without visual responses the median distance is > 30 deg."""
    error = np.hypot(
        metrics["azimuth_rf"] - 50 - metrics["rf_x"], metrics["elevation_rf"] - 10 - metrics["rf_y"]
    )
    significant = metrics["p_value_rf"] < 0.05
    assert significant.sum() >= 40
    assert metrics.loc[significant, "visual"].mean() >= 0.75
    assert error[significant].median() < 10
    assert (error[significant] < 12).mean() >= 0.65
    assert error[~metrics["visual"]].median() > 30


def test_flash_responsive_units_fire_more_during_flashes(metrics):
    """Units simulated with a flash response have the higher flash firing rate and peak after
    their latency (median within 40 ms)."""
    responsive = metrics["flash_gain"] * metrics["response_amplitude"] > 10
    rate = metrics["firing_rate_fl"] / metrics["baseline_rate"]
    assert rate[responsive].median() > 1.5 * rate[~responsive].median()
    delay = metrics["time_to_peak_fl"] - metrics["latency"]
    assert 0 <= delay[responsive].median() < 0.04
