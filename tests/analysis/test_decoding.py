"""Decoding image identity from simulated population spike counts."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from brainobs.analysis.decoding import decode_image_identity, population_matrix
from brainobs.errors import InvalidInputError

IMAGES = np.array(["im000", "im031", "im054", "im073"])


def tuned_counts(rng, n_trials=160, n_units=30, gain=4.0):
    """Return Poisson counts whose mean depends on the image (each unit prefers some images)."""
    labels = IMAGES[np.arange(n_trials) % IMAGES.size]
    preference = rng.uniform(1.0, 1.0 + gain, (IMAGES.size, n_units))
    codes = np.searchsorted(IMAGES, labels)
    return rng.poisson(preference[codes] * 2.0), labels


def test_decodes_separable_counts_above_chance():
    rng = np.random.default_rng(5)
    counts, labels = tuned_counts(rng)
    result = decode_image_identity(counts, labels, n_splits=4, n_shuffles=2)
    assert result.chance_level == pytest.approx(0.25)
    assert result.fold_accuracy.shape == (4,)
    assert result.shuffled_fold_accuracy.shape == (8,)
    assert result.mean_accuracy > 0.9
    assert abs(result.shuffled_accuracy - 0.25) < 0.12
    matrix = result.confusion_matrix
    assert list(matrix.index) == list(IMAGES)
    assert matrix.to_numpy().sum() == len(labels)
    assert np.trace(matrix.to_numpy()) / len(labels) == pytest.approx(
        result.mean_accuracy, abs=0.02
    )
    assert result.summary()["n_classes"] == 4


def test_shuffled_labels_decode_at_chance():
    rng = np.random.default_rng(6)
    counts, labels = tuned_counts(rng)
    result = decode_image_identity(counts, rng.permutation(labels), n_splits=4, classifier="svm")
    assert abs(result.mean_accuracy - 0.25) < 0.12


def test_population_matrix_sums_time_bins_of_a_dataarray():
    data = np.arange(24).reshape(2, 3, 4)
    array = xr.DataArray(
        data, dims=("stimulus_presentation_id", "time_relative_to_stimulus_onset", "unit_id")
    )
    np.testing.assert_array_equal(population_matrix(array), data.sum(axis=1))
    np.testing.assert_array_equal(population_matrix(data), data.sum(axis=1))


def test_decoding_bad_input():
    counts = np.ones((10, 3))
    with pytest.raises(InvalidInputError, match="one entry per trial"):
        decode_image_identity(counts, ["a"] * 9)
    with pytest.raises(InvalidInputError, match="two distinct labels"):
        decode_image_identity(counts, ["a"] * 10)
    with pytest.raises(InvalidInputError, match="fewer than n_splits"):
        decode_image_identity(counts, ["a"] * 8 + ["b"] * 2, n_splits=5)
    with pytest.raises(InvalidInputError, match="classifier"):
        decode_image_identity(counts, ["a", "b"] * 5, n_splits=2, classifier="forest")
    with pytest.raises(InvalidInputError, match="NaN"):
        population_matrix(np.full((3, 2), np.nan))
