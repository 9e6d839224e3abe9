"""The tuning metrics recover the tuning of simulated units (tests/support/tuning_sim.py).

48 units with random preferred direction, TF, orientation, SF, phase, image, dot direction and
speed, RF centre and size, ON/OFF preference, running gain, phase locking and c50; every stimulus
shown with a few repeats. Tolerances are stated in each test; they allow for the Poisson noise
of ~8-15 presentations per condition.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from brainobs.analysis.tuning import tuning_metrics
from tests.support.tuning_sim import SimulatedSession, simulate_session

SCHEDULE = (
    ("gabors", 5), ("flashes", 30), ("drifting_gratings", 8), ("drifting_gratings_contrast", 8),
    ("static_gratings", 8), ("natural_scenes", 10), ("dot_motion", 8),
)  # fmt: skip


@pytest.fixture(scope="module")
def session() -> SimulatedSession:
    return simulate_session(48, SCHEDULE, seed=5)


@pytest.fixture(scope="module")
def metrics(session: SimulatedSession) -> pd.DataFrame:
    return tuning_metrics(session.spike_times, session.presentations, session.running_speed)


def test_one_row_per_unit_with_the_reference_columns(session, metrics):
    assert metrics.index.name == "unit_id"
    assert list(metrics.index) == list(session.truth.index)
    assert metrics.shape[1] == 14 + 13 + 9 + 8 + 13 + 10
    assert metrics["pref_ori_multi_dg"].dtype == bool and metrics["on_screen_rf"].dtype == bool
    assert metrics["azimuth_rf"].dtype == np.float64


def test_direction_and_temporal_frequency(session, metrics):
    """>= 90% exact: direction for direction-selective units, axis and TF for all."""
    truth = session.truth
    selective = truth["direction_index"] > 0.5
    assert (metrics["pref_ori_dg"] == truth["pref_dir_dg"])[selective].mean() >= 0.9
    axis = (metrics["pref_ori_dg"] - truth["pref_dir_dg"]) % 180 == 0
    assert axis.mean() >= 0.9
    assert (metrics["pref_tf_dg"] == truth["pref_tf_dg"]).mean() >= 0.9
    dsi = metrics["g_dsi_dg"]
    assert dsi[selective].median() > 2 * dsi[~selective].median()


def test_static_grating_preferences(session, metrics):
    """>= 90% exact orientation and SF, >= 80% phase."""
    truth = session.truth
    assert (metrics["pref_ori_sg"] == truth["pref_ori_sg"]).mean() >= 0.9
    assert (metrics["pref_sf_sg"] == truth["pref_sf_sg"]).mean() >= 0.9
    assert (metrics["pref_phase_sg"] == truth["pref_phase_sg"]).mean() >= 0.8


def test_preferred_image_and_dot_motion(session, metrics):
    """>= 85% exact: the preferred image (its frame number), dot direction and speed."""
    truth = session.truth
    assert (metrics["pref_image_ns"] == truth["pref_image_ns"]).mean() >= 0.85
    assert (metrics["pref_dir_dm"] == truth["pref_dir_dm"]).mean() >= 0.85
    assert (metrics["pref_speed_dm"] == truth["pref_speed_dm"]).mean() >= 0.85
    selectivity = metrics["image_selectivity_ns"]
    assert selectivity.between(0.05, 1).all() and selectivity.median() > 0.3


def test_receptive_field_centre_and_significance(session, metrics):
    """Centres within 10 deg (median < 4 deg); every unit (all have an RF) p < 0.01; the
    Gaussian fit's centre on the screen for >= 90%."""
    truth = session.truth
    error = np.hypot(
        metrics["azimuth_rf"] - 50 - truth["rf_x"], metrics["elevation_rf"] - 10 - truth["rf_y"]
    )
    assert error.max() < 10 and error.median() < 4
    assert (metrics["p_value_rf"] < 0.01).all()
    assert metrics["on_screen_rf"].mean() >= 0.9


def test_receptive_field_size():
    """Width and height (Gaussian fit) within 40% of the RF's sigma, for RFs inside the grid."""
    sigma = np.repeat([6.0, 12.0], 6)
    session = simulate_session(
        12, (("gabors", 8),), seed=9, rf_sigma=sigma, rf_x=np.tile([-10.0, 0, 10], 4),
        rf_y=np.tile([5.0, -5.0], 6), baseline=0.5,
    )  # fmt: skip
    rf = tuning_metrics(session.spike_times, session.presentations, stimuli=["rf"])
    np.testing.assert_allclose(rf["width_rf"], sigma, rtol=0.4)
    np.testing.assert_allclose(rf["height_rf"], sigma, rtol=0.4)
    assert rf["area_rf"].between(100, 8100).all()  # whole 10 x 10 deg cells of the 9 x 9 grid


def test_on_off_and_sustained_flash_responses(session, metrics):
    """ON units have on/off ratio > 1, OFF units < 1; transient units the lower sustained index."""
    truth = session.truth
    assert ((metrics["on_off_ratio_fl"] > 1) == truth["on_cell"]).all()
    sustained = metrics["sustained_idx_fl"]
    assert sustained[truth["transient"]].max() < sustained[~truth["transient"]].median()


def test_time_to_peak_of_transient_units(session, metrics):
    """Transient units peak within 15 ms of their latency (>= 85% of them)."""
    truth = session.truth
    transient = truth["transient"]
    for column in ("time_to_peak_ns", "time_to_peak_fl", "time_to_peak_sg"):
        error = (metrics[column] - truth["latency"])[transient].abs()
        assert (error < 0.015).mean() >= 0.85, column


@pytest.mark.parametrize("suffix", ["dg", "sg", "ns", "dm"])
def test_running_modulation(session, metrics, suffix):
    """Median run_mod within 0.15 of g / (1 + g) (gain 1: 0.5, gain -0.5: -0.5, gain 0: 0)."""
    gain = session.truth["run_gain"]
    modulation = metrics[f"run_mod_{suffix}"]
    for g, expected in ((1.0, 0.5), (-0.5, -0.5), (0.0, 0.0)):
        assert abs(modulation[gain == g].median() - expected) < 0.15
    p_value = metrics[f"run_pval_{suffix}"]
    assert p_value[gain == 1.0].median() < p_value[gain == 0.0].median()


def test_f1_f0_and_modulation_index_of_phase_locked_units(session, metrics):
    """Fully phase-locked units (depth 1) F1/F0 > 0.7 (truth ~0.9), unlocked < 0.35."""
    locked = session.truth["phase_depth"] == 1.0
    assert metrics["f1_f0_dg"][locked].min() > 0.7
    assert metrics["f1_f0_dg"][~locked].max() < 0.35
    mod = metrics["mod_idx_dg"]
    assert mod[locked].median() > 3 * mod[~locked].median()


def test_c50(session, metrics):
    """c50 within a factor 1.5 of the simulated one for >= 80% of units whose preferred
    direction is among the contrast gratings' (others: NaN, as in the reference)."""
    shown = metrics["pref_ori_dg"].isin([0.0, 45.0, 90.0, 135.0])
    ratio = metrics["c50_dg"] / session.truth["c50"]
    assert ratio[shown].between(1 / 1.5, 1.5).mean() >= 0.8
    assert metrics["c50_dg"][~shown].isna().all()
