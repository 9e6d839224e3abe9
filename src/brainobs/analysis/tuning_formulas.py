"""The formulas of the tuning metrics (reference format_ecephys.md §5.4), for all units at once.

Each function takes arrays with units on the first axis and returns one value per unit. They
follow the reference toolkit's definitions, operation for operation where it matters for equal
results (ties, sums of counts), and differ only where brainobs fixes a documented error
(docs/differences.md, "Tuning metrics").
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import signal, special

__all__ = [
    "fano_factor",
    "global_selectivity",
    "image_selectivity",
    "lifetime_sparseness",
    "modulation_index",
    "preferred_condition",
    "preferred_value",
    "running_modulation",
    "time_to_peak",
]

RUNNING_THRESHOLD = 1.0  # cm/s: a presentation counts as running at or above this mean speed


def _rows(values: np.ndarray) -> np.ndarray:
    """Return ``values`` C-contiguous, so that row sums add in the same order as a 1-D sum."""
    return np.ascontiguousarray(values)


def preferred_condition(means: np.ndarray, null: np.ndarray) -> np.ndarray:
    """Return, per unit, the condition index with the largest mean response (first if tied)."""
    masked = np.where(null[None, :], -np.inf, means)
    return np.asarray(np.argmax(masked, axis=1))


def preferred_value(means: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (preferred parameter value, several values tie) per unit.

    For each distinct non-missing value of a parameter (ascending), the response is the mean of
    the condition means over all conditions with that value; the preferred value is the first
    largest, and the second result says whether more than one value reaches that maximum.
    """
    distinct = np.unique(values[~np.isnan(values)])
    if distinct.size == 0:
        n = means.shape[0]
        return np.full(n, np.nan), np.zeros(n, dtype=bool)
    curve = np.column_stack([_rows(means[:, values == v]).mean(axis=1) for v in distinct])
    best = curve.max(axis=1)
    ties = (curve == best[:, None]).sum(axis=1) > 1
    return distinct[np.argmax(curve, axis=1)], ties


def lifetime_sparseness(sums: np.ndarray) -> np.ndarray:
    """Return the lifetime sparseness of each unit's responses (Olsen & Wilson 2008).

    ``sums`` holds (unit, condition) responses, blanks excluded; NaN with fewer than two.
    """
    n, sums = sums.shape[1], _rows(sums)
    if n <= 1:
        return np.full(sums.shape[0], np.nan)
    coeff = 1.0 / n
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.power(np.sum(sums, axis=1), 2) / np.sum(np.power(sums, 2), axis=1)
        return np.asarray((1.0 - coeff * ratio) / (1.0 - coeff))


def fano_factor(counts: np.ndarray) -> np.ndarray:
    """Return var / mean (population variance) of each row of counts; NaN where the mean is 0."""
    counts = _rows(counts)
    mean = np.mean(counts, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(mean == 0, np.nan, np.var(counts, axis=1) / mean)


def running_modulation(counts: np.ndarray, speeds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (Welch t-test p-value, running modulation) of each row of counts.

    A presentation is running when its mean speed is >= 1 cm/s (NaN speed: not running). Both
    are NaN unless at least two presentations are running and two are not, or when neither
    group spikes. Modulation is (run - still) / run when running raises the mean count, else
    -(still - run) / still.
    """
    n_units, n = counts.shape
    nan = np.full(n_units, np.nan)
    running = np.nan_to_num(speeds, nan=-np.inf) >= RUNNING_THRESHOLD
    if not 1 < running.sum() < n - 1:
        return nan, nan.copy()
    run, still = _rows(counts[:, running]), _rows(counts[:, ~running])
    run_mean, still_mean = run.mean(axis=1), still.mean(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        modulation = np.where(
            run_mean > still_mean,
            (run_mean - still_mean) / run_mean,
            -1 * (still_mean - run_mean) / still_mean,
        )
    p_value = welch_p_value(run, still)
    both_zero = (run_mean == 0) & (still_mean == 0)
    return np.where(both_zero, np.nan, p_value), np.where(both_zero, np.nan, modulation)


def welch_p_value(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Return the two-sided p-value of Welch's t-test between the rows of ``a`` and ``b``.

    As scipy's ``ttest_ind(equal_var=False)``: with both variances 0 the degrees of freedom are
    1, so different means give p = 0 and equal means NaN.
    """
    n1, n2 = a.shape[1], b.shape[1]
    vn1, vn2 = np.var(a, axis=1, ddof=1) / n1, np.var(b, axis=1, ddof=1) / n2
    with np.errstate(divide="ignore", invalid="ignore"):
        df = (vn1 + vn2) ** 2 / (vn1**2 / (n1 - 1) + vn2**2 / (n2 - 1))
        t = (np.mean(a, axis=1) - np.mean(b, axis=1)) / np.sqrt(vn1 + vn2)
    df = np.where(np.isnan(df), 1.0, df)
    return np.asarray(special.stdtr(df, -np.abs(t)) * 2)


def time_to_peak(psth: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Return the bin centre of each PSTH row's first maximum."""
    return np.asarray(centres[np.argmax(psth, axis=1)], dtype=np.float64)


def global_selectivity(means: np.ndarray, orientation_deg: np.ndarray, harmonic: int) -> np.ndarray:
    """Return |sum R e^(i h theta)| / sum R per unit (h=2: global OSI, h=1: global DSI).

    ``means`` holds (unit, condition) responses of the conditions to combine, sorted by
    orientation; NaN where every response is 0.
    """
    means = _rows(means)
    theta = (orientation_deg / 180 * np.pi).astype("complex128")
    total = means.sum(axis=1)
    vector = np.abs((means * np.exp(1j * harmonic * theta)[None, :]).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total == 0.0, np.nan, vector / total)


def image_selectivity(means: np.ndarray, num_steps: int = 1000) -> np.ndarray:
    """Return the image selectivity of each unit (Quian Quiroga et al. 2007).

    1 - 2 x the mean over ``num_steps`` thresholds between the unit's smallest and largest
    response of the fraction of images above the threshold; 0 when all responses are equal.
    """
    n_units, n = means.shape
    if n < 2 or num_steps < 2:
        return np.full(n_units, np.nan)
    fmin, fmax = means.min(axis=1), means.max(axis=1)
    steps = np.arange(num_steps)
    out = np.zeros(n_units)
    for row in np.flatnonzero(fmin != fmax):
        thresholds = fmin[row] + steps * ((fmax[row] - fmin[row]) / num_steps)
        ordered = np.sort(means[row])
        above = n - np.searchsorted(ordered, thresholds, side="right")
        out[row] = 1 - (2 * np.mean(above / n))
    return out


def modulation_index(psth: np.ndarray, tf: np.ndarray, sample_rate: float) -> np.ndarray:
    """Return |P(tf) - mean P| / std P of each PSTH's Welch power spectrum (Matteucci 2019).

    P(tf) is the power at the first frequency >= tf; 0 where the spectrum is flat zero, NaN
    where tf is beyond the spectrum.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # nperseg longer than a short PSTH
        freqs, psd = signal.welch(psth, fs=sample_rate, nperseg=1024, axis=-1)
    mean_psd = np.mean(psd, axis=1)
    index = np.searchsorted(freqs, tf)
    inside = (index >= 0) & (index < psd.shape[1])
    at_tf = psd[np.arange(psd.shape[0]), np.minimum(index, psd.shape[1] - 1)]
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.abs((at_tf - mean_psd) / np.sqrt(np.mean(psd**2, axis=1) - mean_psd**2))
    return np.where(mean_psd == 0.0, 0.0, np.where(inside, value, np.nan))


def f1_f0_binned(counts: np.ndarray, tf: float, trial_duration: float) -> float:
    """Return the reference's F1/F0 of (trial, 1 ms bin) counts: cycles = int(tf x duration).

    Each trial's bins are cut into ``int(tf * trial_duration)`` cycles of ``int(n_bins /
    cycles)`` bins, averaged over cycles, and F1/F0 = 2 |FFT[1]| / |FFT[0]|; the mean over
    trials with spikes. The reference passes the last bin centre (1.9985 s) as the duration, so
    the cycle count is one short and "F1" is not at the stimulus frequency (kept for
    ``reference_quirks``).
    """
    from scipy.fftpack import fft

    cycles = int(tf * trial_duration)
    if counts.size == 0 or cycles <= 0:
        return float("nan")
    n_trials, n_bins = counts.shape
    per_cycle = int(n_bins / cycles)
    if per_cycle < 2:
        return float("nan")
    folded = counts[:, : cycles * per_cycle].reshape((n_trials, cycles, per_cycle))
    amplitude = 2 * np.abs(fft(np.mean(folded, 1), per_cycle)) / per_cycle
    f0, f1 = 0.5 * amplitude[:, 0], amplitude[:, 1]
    selection = f0 > 0.0
    if not np.any(selection):
        return float("nan")
    return float(np.nanmean(f1[selection] / f0[selection]))


def f1_f0_spikes(
    offsets: np.ndarray, trials: np.ndarray, tf: float, trial_duration: float
) -> float:
    """Return F1/F0 from spike times: the mean over trials of 2 |sum e^(-2 pi i tf t)| / n.

    ``offsets`` are spike times from their trial's onset and ``trials`` their trial index.
    Only the whole stimulus cycles that fit in ``trial_duration`` are used (``floor(tf x T)``
    cycles); trials without spikes there are skipped; NaN when none has spikes or tf x T < 1.
    """
    cycles = np.floor(tf * trial_duration + 1e-9)
    if not cycles >= 1:
        return float("nan")
    keep = offsets < cycles / tf
    if not keep.any():
        return float("nan")
    rows, phase = trials[keep], -2j * np.pi * tf * offsets[keep]
    vector = np.exp(phase)
    size = int(rows.max()) + 1
    f1 = 2 * np.abs(
        np.bincount(rows, vector.real, size) + 1j * np.bincount(rows, vector.imag, size)
    )
    n = np.bincount(rows, minlength=size)
    spiking = n > 0
    return float(np.mean(f1[spiking] / n[spiking]))


def _contrast_curve(x: np.ndarray, b: float, c: float, d: float, e: float) -> np.ndarray:
    """Return the sigmoid c + (d - c) / (1 + exp(b (ln x - ln e)))."""
    return np.asarray(c + (d - c) / (1 + np.exp(b * (np.log(x) - np.log(e)))))


def c50(contrasts: np.ndarray, responses: np.ndarray) -> float:
    """Return the contrast at half the fitted sigmoid's range (NaN when the fit fails).

    The sigmoid is fitted with scipy's ``curve_fit`` from all-ones (as the reference does),
    evaluated on 256 contrasts in [0.9 min, 1.1 max], and c50 is the contrast where the
    mid-range response would be inserted into the sorted fitted responses.
    """
    from scipy.optimize import OptimizeWarning, curve_fit

    if contrasts.size < 4 or contrasts.size != responses.size:
        return float("nan")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OptimizeWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            coefs, _ = curve_fit(_contrast_curve, contrasts, responses, maxfev=100000)
    except RuntimeError:
        return float("nan")
    x = np.linspace(min(contrasts) * 0.9, max(contrasts) * 1.1, 256)
    with np.errstate(all="ignore"):
        y = _contrast_curve(x, *coefs)
    middle = (np.max(y) - np.min(y)) / 2 + np.min(y)
    order = np.argsort(y)
    position = np.searchsorted(y[order], middle)
    return float(x[order][position]) if position < x.size else float("nan")
