"""Each tuning-metric formula against values computed by hand on tiny inputs."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.ndimage as ndi
from scipy import stats

from brainobs.analysis import tuning_formulas as tf
from brainobs.analysis.tuning_gaussian import fit_gaussian_2d, fit_gaussians, gaussian_moments
from brainobs.analysis.tuning_inputs import mean_running_speed
from brainobs.analysis.tuning_rf import chi_square_p_values, is_inverted, threshold_maps


def test_lifetime_sparseness_hand_values():
    sums = np.array([[1.0, 0, 0, 0], [1, 1, 1, 1], [2, 1, 0, 0], [0, 0, 0, 0]])
    got = tf.lifetime_sparseness(sums)
    # (1 - (1/N) (sum r)^2 / sum r^2) / (1 - 1/N)
    assert got[0] == pytest.approx(1.0)
    assert got[1] == pytest.approx(0.0)
    assert got[2] == pytest.approx((1 - 0.25 * 9 / 5) / 0.75)
    assert np.isnan(got[3])  # a unit that never spikes
    assert np.isnan(tf.lifetime_sparseness(np.array([[3.0]]))[0])  # one condition


def test_fano_factor_is_population_variance_over_mean():
    got = tf.fano_factor(np.array([[1, 2, 3], [0, 0, 0], [4, 4, 4]]))
    assert got[0] == pytest.approx((2 / 3) / 2)
    assert np.isnan(got[1])
    assert got[2] == 0.0


def test_running_modulation_hand_values_and_welch_p():
    counts = np.array([[6, 4, 5, 2, 1, 3, 2], [0, 0, 0, 0, 0, 0, 0], [1, 2, 1, 4, 5, 3, 4]])
    speeds = np.array([10.0, 3.0, 1.0, 0.5, np.nan, 0.0, -2.0])  # 3 running (>= 1 cm/s)
    p, modulation = tf.running_modulation(counts, speeds)
    assert modulation[0] == pytest.approx((5 - 2) / 5)  # run mean 5, still mean 2
    assert modulation[2] == pytest.approx(-(4 - 4 / 3) / 4)  # still mean 4 > run mean 4/3
    run, still = np.array([6, 4, 5.0]), np.array([2, 1, 3, 2.0])
    se = np.sqrt(run.var(ddof=1) / 3 + still.var(ddof=1) / 4)
    dof = se**4 / ((run.var(ddof=1) / 3) ** 2 / 2 + (still.var(ddof=1) / 4) ** 2 / 3)
    assert p[0] == pytest.approx(2 * stats.t.sf((5 - 2) / se, dof))
    assert np.isnan(p[1]) and np.isnan(modulation[1])  # silent in both states
    one_running = np.array([5.0, 0, 0, 0, 0, 0, 0])
    assert np.isnan(tf.running_modulation(counts, one_running)[0]).all()


def test_welch_p_value_equals_scipy_including_zero_variance():
    rng = np.random.default_rng(2)
    a = rng.poisson(3.0, (20, 7)).astype(float)
    b = rng.poisson(4.0, (20, 9)).astype(float)
    a[0], b[0] = 2.0, 5.0  # both constant, different means: p = 0
    a[1], b[1] = 3.0, 3.0  # both constant, equal means: NaN
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # scipy warns about the constant rows
        expected = stats.ttest_ind(a, b, axis=1, equal_var=False).pvalue
    np.testing.assert_allclose(tf.welch_p_value(a, b), expected, rtol=1e-10, equal_nan=True)
    assert tf.welch_p_value(a, b)[0] == 0.0 and np.isnan(tf.welch_p_value(a, b)[1])


def test_preferred_value_means_over_conditions_and_ties():
    means = np.array([[1.0, 3, 3, 0, 9], [1, 1, 1, 1, 9]])
    values = np.array([0.0, 90, 0, 90, np.nan])  # the NaN (blank) condition is ignored
    best, ties = tf.preferred_value(means, values)
    np.testing.assert_array_equal(best, [0.0, 0.0])  # M(0) = 2 > M(90) = 1.5; tie -> first
    np.testing.assert_array_equal(ties, [False, True])


def test_preferred_condition_skips_blanks_and_takes_first_max():
    means = np.array([[9.0, 2, 5, 5], [0, 0, 0, 0]])
    got = tf.preferred_condition(means, np.array([True, False, False, False]))
    np.testing.assert_array_equal(got, [2, 1])


def test_global_selectivity_hand_values():
    theta = np.array([0.0, 90, 180, 270])
    means = np.array([[1.0, 0, 0, 0], [1, 0, 1, 0], [1, 1, 1, 1], [0, 0, 0, 0]])
    osi = tf.global_selectivity(means, theta, 2)
    dsi = tf.global_selectivity(means, theta, 1)
    np.testing.assert_allclose(osi[:3], [1, 1, 0], atol=1e-12)
    np.testing.assert_allclose(dsi[:3], [1, 0, 0], atol=1e-12)
    assert np.isnan(osi[3]) and np.isnan(dsi[3])


def test_image_selectivity_hand_values():
    means = np.array([[0.0, 0, 0, 1], [2, 2, 2, 2], [0, 1, 2, 3]])
    got = tf.image_selectivity(means)
    assert got[0] == pytest.approx(1 - 2 * 0.25)  # one image above every threshold
    assert got[1] == 0.0
    # thresholds j/1000 * 3: 3 images above for j < 334, 2 for j < 667, 1 after
    above = np.array([3] * 334 + [2] * 333 + [1] * 333)
    assert got[2] == pytest.approx(1 - 2 * np.mean(above / 4))


def test_time_to_peak_is_the_first_maximum_bin_centre():
    psth = np.array([[0.0, 2, 5, 5, 1], [0, 0, 0, 0, 0]])
    centres = np.array([0.0005, 0.0015, 0.0025, 0.0035, 0.0045])
    np.testing.assert_allclose(tf.time_to_peak(psth, centres), [0.0025, 0.0005])


def test_f1_f0_from_spike_times():
    # 2 Hz over 2 s = 4 cycles; a spike at the same phase of every cycle: F1/F0 = 2.
    locked = np.array([0.1, 0.6, 1.1, 1.6])
    assert tf.f1_f0_spikes(locked, np.zeros(4, int), 2.0, 2.0) == pytest.approx(2.0)
    # spikes spread evenly over each cycle: no F1.
    spread = np.arange(16) * 0.125
    assert tf.f1_f0_spikes(spread, np.zeros(16, int), 2.0, 2.0) == pytest.approx(0.0, abs=1e-12)
    # two trials (2.0 and 0.0) average to 1; spikes past the last whole cycle are ignored.
    # (a 2.2 s trial holds 4 whole cycles: the spike at 2.1 s is outside them)
    offsets = np.concatenate((locked, spread, [2.1]))
    trials = np.array([0] * 4 + [1] * 16 + [1])
    assert tf.f1_f0_spikes(offsets, trials, 2.0, 2.2) == pytest.approx(1.0, abs=1e-9)
    assert np.isnan(tf.f1_f0_spikes(locked, np.zeros(4, int), 0.3, 2.0))  # < 1 cycle


def test_f1_f0_binned_is_the_reference_fold():
    # 8 bins, tf 1 Hz, duration 2 s: 2 cycles of 4 bins; one spike at the start of each.
    counts = np.array([[1.0, 0, 0, 0, 1, 0, 0, 0]])
    # folded cycle [1, 0, 0, 0]: |FFT| = 1 everywhere, F0 = 0.5 * 2/4, F1 = 2/4 -> 2
    assert tf.f1_f0_binned(counts, 1.0, 2.0) == pytest.approx(2.0)
    # the reference's duration 1.9985 gives one cycle of 8 bins instead
    assert tf.f1_f0_binned(counts, 1.0, 1.9985) == pytest.approx(
        2 * abs(1 + np.exp(-2j * np.pi * 4 / 8)) / 2
    )
    assert np.isnan(tf.f1_f0_binned(np.zeros((2, 8)), 1.0, 2.0))


def test_modulation_index_follows_its_definition():
    t = np.arange(2000) / 1000.0
    psth = np.vstack((1 + np.cos(2 * np.pi * 8 * t), np.zeros(2000)))
    got = tf.modulation_index(psth, np.array([8.0, 8.0]), 1000.0)
    freqs, psd = __import__("scipy.signal").signal.welch(psth[0], fs=1000.0, nperseg=1024)
    k = np.searchsorted(freqs, 8.0)  # first frequency >= tf
    expected = abs(psd[k] - psd.mean()) / np.sqrt(np.mean(psd**2) - psd.mean() ** 2)
    assert got[0] == pytest.approx(expected)
    assert got[0] > 5  # a strongly modulated PSTH stands far above its spectrum
    assert got[1] == 0.0  # flat zero spectrum
    assert np.isnan(tf.modulation_index(psth[:1], np.array([900.0]), 1000.0)[0])


def test_c50_recovers_a_sigmoid_midpoint():
    contrasts = np.array([0.01, 0.02, 0.04, 0.08, 0.13, 0.2, 0.35, 0.6, 1.0])
    responses = 1 + 9 * contrasts**2 / (contrasts**2 + 0.1**2)
    assert tf.c50(contrasts, responses) == pytest.approx(0.1, abs=0.01)
    assert np.isnan(tf.c50(contrasts[:3], responses[:3]))  # fewer points than parameters


def test_mean_running_speed_by_sample_start():
    running = pd.DataFrame(
        {"start_time": [0.0, 0.5, 1.0, 1.5, 2.0], "velocity": [2.0, 4.0, np.nan, 6.0, 8.0]}
    )
    got = mean_running_speed(
        running, np.array([0.0, 1.0, 3.0, 0.5]), np.array([1.0, 2.0, 4.0, 0.5])
    )
    np.testing.assert_allclose(got, [3.0, 6.0, np.nan, np.nan])  # NaN skipped, empty -> NaN
    vbn = running.rename(columns={"start_time": "timestamps", "velocity": "speed"})
    np.testing.assert_allclose(mean_running_speed(vbn, np.array([0.0]), np.array([1.0])), [3.0])
    assert np.isnan(mean_running_speed(None, np.array([0.0]), np.array([1.0]))).all()


def test_threshold_of_a_single_bright_cell():
    maps = np.zeros((1, 9, 9))
    maps[0, 4, 4] = 100.0
    # smoothed: 100 w(dy) w(dx) with the 9-tap kernel w; only the centre passes
    # max - 0.5 std (computed here from the kernel, independently of ndimage)
    w = np.exp(-0.5 * np.arange(-4, 5) ** 2)
    w /= w.sum()
    smooth = 100 * np.outer(w, w)
    assert smooth.max() - 0.5 * smooth.std() > np.sort(smooth.ravel())[-2]
    mask, cy, cx, area = threshold_maps(maps, 0.5)
    assert (cy[0], cx[0], area[0]) == (4.0, 4.0, 1.0)
    assert mask[0].sum() == 1 and mask[0, 4, 4]
    assert not is_inverted(mask)[0]


def test_threshold_keeps_the_region_of_the_peak_only():
    maps = np.zeros((2, 9, 9))
    maps[0, 1:3, 1:3] = 50.0  # a 2x2 block (peak) and a weaker far cell
    maps[0, 7, 7] = 30.0
    mask, cy, cx, area = threshold_maps(maps, 0.5)
    labels, _ = ndi.label(mask[0])
    assert labels.max() == 1  # one region
    assert (cy[0], cx[0]) == (1.5, 1.5) and area[0] == 4
    assert np.isnan(cy[1]) and area[1] == 0  # a flat map has no region


def test_inverted_when_the_mask_covers_most_of_the_border():
    mask = np.ones((1, 9, 9), dtype=bool)
    mask[0, 1:-1, 1:-1] = False
    mask[0, 0, :8] = False  # 32 - 8 = 24 border cells > 16
    assert is_inverted(mask)[0]
    mask[0, :, 0] = False  # 24 - 8 = 16: not more than half
    assert not is_inverted(mask)[0]


def gaussian_map(height, cy, cx, wy, wx):
    """Return a 9 x 9 map of a 2-D Gaussian."""
    y, x = np.indices((9, 9))
    return height * np.exp(-(((cy - y) / wy) ** 2 + ((cx - x) / wx) ** 2) / 2)


def test_gaussian_fit_recovers_parameters_and_moments_orientation():
    truth = (20.0, 3.0, 5.5, 1.2, 2.0)  # height, centre y, centre x, width y, width x
    data = gaussian_map(*truth)
    batched = fit_gaussians(np.stack((data, np.zeros((9, 9)))), np.array([True, True]), False)
    np.testing.assert_allclose(batched[0], truth, rtol=1e-6)
    assert np.isnan(batched[1]).all()  # an empty map has no moments
    np.testing.assert_allclose(np.abs(fit_gaussian_2d(data)), truth, rtol=1e-6)
    right = gaussian_moments(data, swap_widths=False)
    swapped = gaussian_moments(data, swap_widths=True)
    assert right is not None and swapped is not None
    assert right[3] < right[4]  # narrow in y, wide in x, as drawn
    assert swapped[3] > swapped[4]  # the reference's start has them the other way round


def test_batched_fit_equals_minpack_on_noisy_maps():
    """The batched Levenberg-Marquardt reaches MINPACK's minimum from the same start."""
    from scipy.optimize import leastsq

    rng = np.random.default_rng(4)
    maps = np.stack(
        [
            rng.poisson(gaussian_map(40, *rng.uniform(2, 6, 2), *rng.uniform(0.8, 2.5, 2)) + 3)
            for _ in range(20)
        ]
    ).astype(float)
    ours = fit_gaussians(maps, np.ones(20, dtype=bool), False)
    y, x = np.indices((9, 9))
    for row, data in enumerate(maps):
        start = gaussian_moments(data, swap_widths=False)

        def residuals(p, data=data):
            return (
                p[0] * np.exp(-(((p[1] - y) / p[3]) ** 2 + ((p[2] - x) / p[4]) ** 2) / 2) - data
            ).ravel()

        theirs = leastsq(residuals, start, xtol=1e-12, ftol=1e-12)[0]
        np.testing.assert_allclose(np.abs(ours[row]), np.abs(theirs), rtol=1e-4)


def brute_force_p_values(counts, categories, seed, n_shuffles, batch):
    """Return the reference's chi-square bootstrap p-values, one unit and shuffle at a time."""
    rng = np.random.default_rng(seed)
    n = counts.shape[1]
    sizes = [min(batch, n_shuffles - first) for first in range(0, n_shuffles, batch)]
    draws = np.vstack([rng.integers(0, n, size=(size, n)) for size in sizes])
    dummy = categories[:, None] == np.unique(categories)[None, :]

    def chi(values):
        expected = dummy.sum(axis=0) * values.mean()
        observed = (values[:, None] * dummy).sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(expected > 0, (observed - expected) ** 2 / expected, 0.0).sum()

    return np.array(
        [np.mean([chi(unit) < chi(unit[d]) for d in draws]) for unit in counts.astype(float)]
    )


def test_chi_square_p_values_equal_a_per_unit_loop():
    rng = np.random.default_rng(3)
    categories = np.repeat(np.arange(6), 5)
    tuned = rng.poisson(np.where(categories == 2, 8.0, 1.0))
    flat = rng.poisson(np.full(30, 2.0))
    counts = np.vstack((tuned, flat, np.zeros(30)))
    got = chi_square_p_values(counts, categories, np.random.default_rng(7), 200, batch=64)
    np.testing.assert_array_equal(got, brute_force_p_values(counts, categories, 7, 200, 64))
    assert got[0] == 0.0 and got[1] > 0.01
    again = chi_square_p_values(counts, categories, np.random.default_rng(7), 200, batch=64)
    np.testing.assert_array_equal(got, again)  # seeded: reproducible
    chunked = chi_square_p_values(
        counts, categories, np.random.default_rng(7), 200, batch=64, unit_chunk=2
    )
    np.testing.assert_array_equal(got, chunked)
