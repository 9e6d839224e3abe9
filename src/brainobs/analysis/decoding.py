"""Cross-validated decoding of image identity from population spike counts.

Needs scikit-learn (the ``ml`` extra: ``pip install brainobs[ml]``); it is imported inside the
function so the rest of brainobs works without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr
from numpy.typing import ArrayLike

from brainobs.errors import InvalidInputError

__all__ = ["DecodingResult", "decode_image_identity", "population_matrix"]


@dataclass(frozen=True)
class DecodingResult:
    """Accuracy of a cross-validated decoder, with chance levels and a confusion matrix."""

    fold_accuracy: np.ndarray
    mean_accuracy: float
    chance_level: float
    shuffled_accuracy: float
    shuffled_fold_accuracy: np.ndarray
    confusion_matrix: pd.DataFrame
    classes: np.ndarray

    def summary(self) -> dict[str, float]:
        """Return the headline numbers (mean, chance and shuffled accuracy) as a dict."""
        return {
            "mean_accuracy": self.mean_accuracy,
            "chance_level": self.chance_level,
            "shuffled_accuracy": self.shuffled_accuracy,
            "n_classes": float(self.classes.size),
        }


def population_matrix(counts: ArrayLike | xr.DataArray) -> np.ndarray:
    """Return a (trials, features) float matrix; a 3-D DataArray is summed over time bins."""
    if isinstance(counts, xr.DataArray):
        array = counts
        if "time_relative_to_stimulus_onset" in array.dims:
            array = array.sum("time_relative_to_stimulus_onset")
        if "unit_id" in array.dims and array.ndim == 2:
            array = array.transpose(..., "unit_id")
        values = np.asarray(array.values, dtype=np.float64)
    else:
        values = np.asarray(counts, dtype=np.float64)
    if values.ndim == 3:
        values = values.sum(axis=1)
    if values.ndim != 2 or values.shape[0] == 0 or values.shape[1] == 0:
        raise InvalidInputError(
            f"counts must be (trials, units) or (trials, time, units), got shape {values.shape}"
        )
    if not np.all(np.isfinite(values)):
        raise InvalidInputError("counts contain NaN or inf; drop or fill those trials")
    return values


def _check_labels(labels: ArrayLike, n_trials: int, n_splits: int) -> np.ndarray:
    """Return ``labels`` as an array after checking there are enough trials of each class."""
    values = np.asarray(labels)
    if values.ndim != 1 or values.size != n_trials:
        raise InvalidInputError(
            f"labels must have one entry per trial ({n_trials}), got shape {values.shape}"
        )
    classes, sizes = np.unique(values, return_counts=True)
    if classes.size < 2:
        raise InvalidInputError("decoding needs at least two distinct labels (images)")
    if sizes.min() < n_splits:
        raise InvalidInputError(
            f"label {classes[np.argmin(sizes)]!r} has {sizes.min()} trials, fewer than "
            f"n_splits={n_splits}; lower n_splits or drop rare labels"
        )
    return values


def _make_pipeline(classifier: str, random_state: int) -> Any:
    """Return a StandardScaler + linear classifier pipeline."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    if classifier == "logistic":
        model: Any = LogisticRegression(max_iter=2000)
    elif classifier == "svm":
        model = LinearSVC(random_state=random_state)
    else:
        raise InvalidInputError(f"classifier={classifier!r}; use 'logistic' or 'svm'")
    return make_pipeline(StandardScaler(), model)


def _cross_validate(
    features: np.ndarray, labels: np.ndarray, classifier: str, n_splits: int, random_state: int
) -> tuple[np.ndarray, np.ndarray]:
    """Return (accuracy per fold, out-of-fold prediction per trial)."""
    from sklearn.model_selection import StratifiedKFold

    folds = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=random_state)
    predicted = np.empty_like(labels)
    accuracy = []
    for train, test in folds.split(features, labels):
        model = _make_pipeline(classifier, random_state).fit(features[train], labels[train])
        predicted[test] = model.predict(features[test])
        accuracy.append(float(np.mean(predicted[test] == labels[test])))
    return np.asarray(accuracy), predicted


def _confusion_frame(truth: np.ndarray, predicted: np.ndarray, classes: np.ndarray) -> pd.DataFrame:
    """Return the confusion matrix (rows: true label, columns: predicted label) as a frame."""
    from sklearn.metrics import confusion_matrix

    frame: pd.DataFrame = pd.DataFrame(
        confusion_matrix(truth, predicted, labels=classes),
        index=pd.Index(classes, name="true_label"),
        columns=pd.Index(classes, name="predicted_label"),
    )
    return frame


def decode_image_identity(
    counts: ArrayLike | xr.DataArray,
    labels: ArrayLike,
    n_splits: int = 5,
    classifier: Literal["logistic", "svm"] = "logistic",
    n_shuffles: int = 1,
    random_state: int = 0,
) -> DecodingResult:
    """Return stratified k-fold decoding accuracy of ``labels`` from population ``counts``.

    ``counts`` is (trials, units), or (trials, time, units) such as the result of
    ``presentationwise_spike_counts`` (summed over time). The shuffled estimate of chance runs
    the same cross-validation ``n_shuffles`` times on permuted labels; ``chance_level`` is
    1 / number of classes. The confusion matrix counts out-of-fold predictions (rows: true
    label, columns: predicted label).
    """
    features = population_matrix(counts)
    if n_splits < 2 or n_shuffles < 1:
        raise InvalidInputError("n_splits must be >= 2 and n_shuffles >= 1")
    values = _check_labels(labels, features.shape[0], n_splits)
    classes = np.unique(values)
    folds, predicted = _cross_validate(features, values, classifier, n_splits, random_state)
    rng = np.random.default_rng(random_state)
    seeds = range(random_state + 1, random_state + 1 + n_shuffles)
    shuffled = np.concatenate(
        [
            _cross_validate(features, rng.permutation(values), classifier, n_splits, seed)[0]
            for seed in seeds
        ]
    )
    return DecodingResult(
        fold_accuracy=folds,
        mean_accuracy=float(folds.mean()),
        chance_level=1.0 / classes.size,
        shuffled_accuracy=float(shuffled.mean()),
        shuffled_fold_accuracy=shuffled,
        confusion_matrix=_confusion_frame(values, predicted, classes),
        classes=classes,
    )
