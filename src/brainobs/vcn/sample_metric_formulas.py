"""The formulas of the analysis metrics (reference/format_ecephys.md §5.4) for one unit.

Each function takes a :class:`~brainobs.vcn.sample_metrics.StimulusTable` and the unit's
sorted spike times; :func:`stimulus_metrics` returns the ``*_<key>`` columns of one stimulus.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import ndimage, signal, stats
from scipy.optimize import OptimizeWarning, curve_fit, leastsq

if TYPE_CHECKING:
    from brainobs.vcn.sample_metrics import StimulusTable

Metrics = dict[str, Any]
PSTH_BIN = 0.001
RUNNING_THRESHOLD = 1.0
RF_MIN_SPIKES = 10
RF_SHUFFLES = 200


def stimulus_metrics(
    table: StimulusTable, spikes: np.ndarray, contrast: StimulusTable | None, seed: int
) -> Metrics:
    """Return every metric of ``table``'s stimulus for one unit."""
    key = table.spec.key
    r = SampleResponses(table, spikes)
    out = {
        f"firing_rate_{key}": firing_rate(table, spikes),
        f"fano_{key}": r.fano(),
        f"lifetime_sparseness_{key}": r.lifetime_sparseness(),
    }
    out[f"run_mod_{key}"], out[f"run_pval_{key}"] = r.running_modulation()
    if key != "dg":
        out[f"time_to_peak_{key}"] = r.time_to_peak()
    specific = {"dg": _drifting, "sg": _static, "ns": _scenes, "fl": _flashes, "rf": _rf,
                "dm": _dots}[key]  # fmt: skip
    out |= specific(r, contrast=contrast, seed=seed)
    return out


class SampleResponses:
    """One unit's responses to the presentations of one stimulus."""

    def __init__(self, table: StimulusTable, spikes: np.ndarray) -> None:
        self.table = table
        starts, stops, window = table.starts, table.stops, table.spec.duration
        whole = np.searchsorted(spikes, stops, "right") - np.searchsorted(spikes, starts, "right")
        self.window_counts = np.searchsorted(spikes, starts + window, "right") - np.searchsorted(
            spikes, starts, "left"
        )
        n_conditions = len(table.conditions)
        self.totals = np.bincount(table.codes, whole, minlength=n_conditions)
        repeats = np.bincount(table.codes, minlength=n_conditions)
        self.means = self.totals / np.maximum(repeats, 1)
        valid = np.where(table.is_blank, -np.inf, self.means)
        self.preferred = int(np.argmax(valid))
        self.spikes = spikes

    def preferred_presentations(self) -> np.ndarray:
        """Return the presentation rows of the preferred condition."""
        return np.flatnonzero(self.table.codes == self.preferred)

    def fano(self) -> float:
        """Return the Fano factor of the [0, T] counts at the preferred condition."""
        counts = self.window_counts[self.preferred_presentations()]
        mean = counts.mean()
        return float(counts.var() / mean) if mean > 0 else np.nan

    def lifetime_sparseness(self) -> float:
        """Return the lifetime sparseness of the total counts over non-blank conditions."""
        r = self.totals[~self.table.is_blank].astype(float)
        n = len(r)
        if n <= 1 or (r**2).sum() == 0:
            return np.nan
        return float((1 - (r.sum() ** 2) / (r**2).sum() / n) / (1 - 1 / n))

    def running_modulation(self) -> tuple[float, float]:
        """Return (run_mod, run_pval) at the preferred condition (Welch t-test)."""
        rows = self.preferred_presentations()
        counts = self.window_counts[rows].astype(float)
        running = self.table.speeds[rows] >= RUNNING_THRESHOLD
        n_run = int(running.sum())
        if not 1 < n_run < len(rows) - 1:
            return np.nan, np.nan
        mean_run, mean_still = counts[running].mean(), counts[~running].mean()
        if mean_run == 0 and mean_still == 0:
            return np.nan, np.nan
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            p = stats.ttest_ind(counts[running], counts[~running], equal_var=False).pvalue
        if mean_run > mean_still:
            return float((mean_run - mean_still) / mean_run), float(p)
        return float(-(mean_still - mean_run) / mean_still), float(p)

    def psth(self) -> tuple[np.ndarray, np.ndarray]:
        """Return (bin centres, mean 1 ms counts) over [0, T) at the preferred condition."""
        edges = np.arange(0.0, self.table.spec.duration, PSTH_BIN)
        starts = self.table.starts[self.preferred_presentations()]
        first = np.searchsorted(self.spikes, starts, "left")
        last = np.searchsorted(self.spikes, starts + edges[-1], "right")
        relative = np.concatenate(
            [self.spikes[a:b] - s for a, b, s in zip(first, last, starts, strict=True)]
        )
        counts, _ = np.histogram(relative, edges)
        return edges[:-1] + PSTH_BIN / 2, counts / max(len(starts), 1)

    def time_to_peak(self) -> float:
        """Return the bin centre of the preferred condition's PSTH peak."""
        centres, psth = self.psth()
        return float(centres[int(np.argmax(psth))])

    def preference(self, param: str) -> tuple[float, bool]:
        """Return (preferred value of ``param``, whether several values tie) by mean response.

        A value's response is the unweighted mean over the non-blank conditions having it.
        """
        keep = ~self.table.is_blank
        column = self.table.conditions[param].to_numpy()[keep]
        means = self.means[keep]
        values = np.unique(column)
        by_value = np.array([means[column == v].mean() for v in values])
        best = by_value.max()
        return float(values[int(np.argmax(by_value))]), bool((by_value == best).sum() > 1)


def firing_rate(table: StimulusTable, spikes: np.ndarray) -> float:
    """Return the spike rate over the stimulus's blocks (split at gaps > 2 T)."""
    starts, stops = table.starts, table.stops
    order = np.argsort(starts)
    starts, stops = starts[order], stops[order]
    breaks = np.flatnonzero(np.diff(starts) > 2 * table.spec.duration) + 1
    block_starts = starts[np.r_[0, breaks]]
    block_stops = stops[np.r_[breaks - 1, len(stops) - 1]]
    count = (np.searchsorted(spikes, block_stops) - np.searchsorted(spikes, block_starts)).sum()
    return float(count / (block_stops - block_starts).sum())


def global_selectivity(angles_deg: np.ndarray, responses: np.ndarray, harmonic: int) -> float:
    """Return |sum R exp(i k theta)| / sum R (k = 2: orientation, 1: direction)."""
    total = responses.sum()
    if total == 0:
        return np.nan
    vector = (responses * np.exp(1j * harmonic * np.deg2rad(angles_deg))).sum()
    return float(np.abs(vector) / total)


def _drifting(r: SampleResponses, *, contrast: StimulusTable | None, seed: int) -> Metrics:
    """Return the drifting-grating metrics (direction, TF, selectivity, F1/F0, c50)."""
    ori, ori_multi = r.preference("orientation")
    tf, tf_multi = r.preference("temporal_frequency")
    c = r.table.conditions
    at_tf = (~r.table.is_blank) & (c["temporal_frequency"].to_numpy() == tf)
    angles, means = c["orientation"].to_numpy()[at_tf], r.means[at_tf]
    preferred_tf = float(c["temporal_frequency"].iloc[r.preferred])
    return {
        "pref_ori_dg": ori, "pref_ori_multi_dg": ori_multi,
        "pref_tf_dg": tf, "pref_tf_multi_dg": tf_multi,
        "g_osi_dg": global_selectivity(angles, means, 2),
        "g_dsi_dg": global_selectivity(angles, means, 1),
        "f1_f0_dg": f1_f0(r, preferred_tf),
        "mod_idx_dg": modulation_index(r, preferred_tf),
        "c50_dg": c50(contrast, r.spikes, ori) if contrast is not None else np.nan,
    }  # fmt: skip


def f1_f0(r: SampleResponses, tf: float) -> float:
    """Return the mean over presentations of F1/F0 of the cycle-averaged 1 ms counts."""
    duration = r.table.spec.duration
    n_bins = round(float(duration) / PSTH_BIN)
    cycles = int(np.floor(tf * duration))
    if cycles < 1:
        return np.nan
    per_cycle = n_bins // cycles
    starts = r.table.starts[r.preferred_presentations()]
    edges = np.arange(n_bins + 1) * PSTH_BIN
    counts = np.stack([np.histogram(r.spikes - s, edges)[0] for s in starts]).astype(float)
    folded = counts[:, : cycles * per_cycle].reshape(len(starts), cycles, per_cycle).mean(1)
    amplitude = 2 / per_cycle * np.abs(np.fft.fft(folded, axis=1))
    f0, f1 = amplitude[:, 0] / 2, amplitude[:, 1]
    good = f0 > 0
    return float(np.mean(f1[good] / f0[good])) if good.any() else np.nan


def modulation_index(r: SampleResponses, tf: float) -> float:
    """Return |P(tf) - mean P| / std P of the preferred condition's PSTH power spectrum."""
    _, psth = r.psth()
    freqs, power = signal.welch(psth, fs=1 / PSTH_BIN, nperseg=min(1024, len(psth)))
    if power.mean() == 0:
        return 0.0
    k = int(np.searchsorted(freqs, tf))
    if k >= len(power):
        return np.nan
    return float(np.abs(power[k] - power.mean()) / power.std())


def _logistic(x: np.ndarray, b: float, c: float, d: float, e: float) -> np.ndarray:
    """Return the log-logistic contrast response."""
    return np.asarray(c + (d - c) / (1 + np.exp(b * (np.log(x) - np.log(e)))))


def _logistic_jacobian(x: np.ndarray, b: float, c: float, d: float, e: float) -> np.ndarray:
    """Return the derivatives of :func:`_logistic` by (b, c, d, e), one row per point."""
    log_ratio = np.log(x) - np.log(e)
    u = np.exp(b * log_ratio)
    share = 1 / (1 + u)
    return np.column_stack([
        -(d - c) * u * log_ratio * share**2, 1 - share, share, (d - c) * u * b / e * share**2,
    ])  # fmt: skip


def c50(table: StimulusTable, spikes: np.ndarray, direction: float) -> float:
    """Return the contrast at half the fitted response range (orientation: direction mod 180)."""
    r = SampleResponses(table, spikes)
    c = table.conditions
    pick = c["orientation"].to_numpy() == direction % 180.0
    x, y = c["contrast"].to_numpy()[pick], r.means[pick]
    if len(x) < 4:
        return np.nan
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", (OptimizeWarning, RuntimeWarning))
            start = [-2.0, y.min(), y.max(), float(np.median(x))]
            params, _ = curve_fit(_logistic, x, y, p0=start, jac=_logistic_jacobian, maxfev=2000)
    except (RuntimeError, ValueError):
        return np.nan
    grid = np.linspace(0.9 * x.min(), 1.1 * x.max(), 256)
    with np.errstate(over="ignore", invalid="ignore"):
        curve = _logistic(grid, *params)
    if not np.all(np.isfinite(curve)):
        return np.nan
    middle = (curve.max() + curve.min()) / 2
    order = np.argsort(curve)
    position = min(int(np.searchsorted(curve[order], middle)), len(grid) - 1)
    return float(grid[order][position])


def _static(r: SampleResponses, *, contrast: StimulusTable | None, seed: int) -> Metrics:
    """Return the static-grating preferences and orientation selectivity."""
    sf, sf_multi = r.preference("spatial_frequency")
    ori, ori_multi = r.preference("orientation")
    phase, phase_multi = r.preference("phase")
    c = r.table.conditions
    pick = (c["spatial_frequency"].to_numpy() == sf) & (c["phase"].to_numpy() == phase)
    return {
        "pref_sf_sg": sf, "pref_sf_multi_sg": sf_multi, "pref_ori_sg": ori,
        "pref_ori_multi_sg": ori_multi, "pref_phase_sg": phase,
        "pref_phase_multi_sg": phase_multi,
        "g_osi_sg": global_selectivity(c["orientation"].to_numpy()[pick], r.means[pick], 2),
    }  # fmt: skip


def _scenes(r: SampleResponses, *, contrast: StimulusTable | None, seed: int) -> Metrics:
    """Return the preferred scene (as its condition id) and the image selectivity."""
    images = r.means[~r.table.is_blank]
    best = images.max()
    return {
        "pref_image_ns": float(r.table.condition_ids[r.preferred]),
        "pref_images_multi_ns": bool((images == best).sum() > 1),
        "image_selectivity_ns": image_selectivity(images),
    }


def image_selectivity(responses: np.ndarray) -> float:
    """Return the image selectivity of Quian Quiroga et al. (2007)."""
    low, high = responses.min(), responses.max()
    if low == high:
        return 0.0
    thresholds = low + np.arange(1000) * (high - low) / 1000
    above = (responses[None, :] > thresholds[:, None]).sum(1) / len(responses)
    return float(1 - 2 * above.mean())


def _flashes(r: SampleResponses, *, contrast: StimulusTable | None, seed: int) -> Metrics:
    """Return the ON/OFF ratio and the sustained index."""
    colors = r.table.conditions["color"].to_numpy()
    on, off = r.means[colors > 0].mean(), r.means[colors < 0].mean()
    _, psth = r.psth()
    return {
        "on_off_ratio_fl": float(on / off) if off > 0 else np.nan,
        "sustained_idx_fl": float(psth.mean() / psth.max()) if psth.max() > 0 else np.nan,
    }


def _dots(r: SampleResponses, *, contrast: StimulusTable | None, seed: int) -> Metrics:
    """Return the preferred dot speed and direction."""
    speed, speed_multi = r.preference("Speed")
    direction, direction_multi = r.preference("Dir")
    return {"pref_speed_dm": speed, "pref_speed_multi_dm": speed_multi,
            "pref_dir_dm": direction, "pref_dir_multi_dm": direction_multi}  # fmt: skip


def _rf(r: SampleResponses, *, contrast: StimulusTable | None, seed: int) -> Metrics:
    """Return the receptive field's position, size, area, p-value and on-screen flag."""
    empty = {"azimuth_rf": np.nan, "elevation_rf": np.nan, "width_rf": np.nan,
             "height_rf": np.nan, "area_rf": np.nan, "p_value_rf": np.nan,
             "on_screen_rf": False}  # fmt: skip
    counts = r.window_counts.astype(float)
    if counts.sum() < RF_MIN_SPIKES:
        return empty
    c = r.table.conditions.iloc[r.table.codes]
    rows = ((40 - c["y_position"].to_numpy()) / 10).astype(int)
    cols = ((c["x_position"].to_numpy() + 40) / 10).astype(int)
    rf = np.zeros((9, 9))
    np.add.at(rf, (rows, cols), counts)
    mask, cx, cy, area = threshold_rf(rf)
    if mask[[0, -1], :].sum() + mask[1:-1, [0, -1]].sum() > 16:
        rf = rf.max() - rf
    (_, y0, x0, sy, sx), _ = fit_gaussian(rf)
    return {
        "azimuth_rf": 10 * cx + 10, "elevation_rf": 10 * (8 - cy) - 30,
        "width_rf": 10 * abs(sx), "height_rf": 10 * abs(sy), "area_rf": 100 * area,
        "p_value_rf": rf_p_value(counts, rows * 9 + cols, seed),
        "on_screen_rf": bool(0 < y0 < 9 and 0 < x0 < 9),
    }  # fmt: skip


def threshold_rf(rf: np.ndarray) -> tuple[np.ndarray, float, float, float]:
    """Return (mask, centre x, centre y, area) of the thresholded, smoothed field's peak."""
    smooth = ndimage.gaussian_filter(rf, 1)
    labels, _ = ndimage.label(smooth > smooth.max() - 0.5 * smooth.std())
    mask = labels == labels[np.unravel_index(np.argmax(smooth), smooth.shape)]
    cy, cx = ndimage.center_of_mass(mask)
    return mask, round(float(cx), 4), round(float(cy), 4), float(mask.sum())


def fit_gaussian(rf: np.ndarray) -> tuple[np.ndarray, bool]:
    """Return the least-squares 2-D Gaussian (height, y0, x0, sy, sx) of ``rf``, moments start."""
    total = rf.sum()
    if total <= 0:
        return np.full(5, np.nan), False
    y, x = np.indices(rf.shape)
    y0, x0 = (y * rf).sum() / total, (x * rf).sum() / total
    sy = np.sqrt(np.abs(((y - y0) ** 2 * rf).sum() / total))
    sx = np.sqrt(np.abs(((x - x0) ** 2 * rf).sum() / total))

    def shape(p: np.ndarray) -> np.ndarray:
        _, cy, cx, wy, wx = p
        return np.ravel(np.exp(-(((y - cy) / wy) ** 2 + ((x - cx) / wx) ** 2) / 2))

    def residual(p: np.ndarray) -> np.ndarray:
        return p[0] * shape(p) - np.ravel(rf)

    def jacobian(p: np.ndarray) -> np.ndarray:
        h, cy, cx, wy, wx = p
        e, dy, dx = shape(p), np.ravel(y) - cy, np.ravel(x) - cx
        return np.column_stack(
            [
                e,
                h * e * dy / wy**2,
                h * e * dx / wx**2,
                h * e * dy**2 / wy**3,
                h * e * dx**2 / wx**3,
            ]
        )

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        params, ier = leastsq(residual, np.array([rf.max(), y0, x0, sy, sx]), Dfun=jacobian)
    return np.asarray(params), ier < 5


def rf_p_value(counts: np.ndarray, categories: np.ndarray, seed: int) -> float:
    """Return the chi-square p-value of position against seeded bootstrap resamples."""
    n_cat = 81
    sizes = np.bincount(categories, minlength=n_cat)

    def chi(samples: np.ndarray) -> np.ndarray:
        slots = (np.arange(len(samples))[:, None] * n_cat + categories[None, :]).ravel()
        observed = np.bincount(slots, samples.ravel(), minlength=len(samples) * n_cat)
        observed = observed.reshape(len(samples), n_cat)
        expected = sizes[None, :] * samples.mean(1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(expected > 0, (observed - expected) ** 2 / expected, 0.0)
        return np.asarray(terms.sum(1))

    actual = chi(counts[None, :])[0]
    rng = np.random.default_rng([seed, 77])
    shuffled = counts[rng.integers(0, len(counts), (RF_SHUFFLES, len(counts)))]
    return float(np.mean(actual < chi(shuffled)))
