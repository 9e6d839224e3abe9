"""Spike trains of simulated units: inhomogeneous Poisson processes driven by the stimuli.

A unit's rate on a 5 ms grid is its baseline (modulated by running) plus stimulus-evoked
transients: image flashes (tuned, larger on changes and for novel images, smaller in the
passive replay), omission responses, gabors inside the receptive field, full-field flashes
and, for tagged units, optogenetic light. Spikes are drawn per unit, so memory is bounded by
one unit's train whatever the session size. Spike times are rounded to
:data:`~brainobs.sample.quantize.SPIKE_TIME_STEP` (about one 30 kHz sample).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from brainobs.sample.quantize import SPIKE_TIME_STEP, VOLT_STEP, quantized
from brainobs.sample.units import UnitPopulation

DT = 0.005
REFRACTORY = 0.0012


@dataclass
class StimulusDrive:
    """What drives the units during one session, on the session clock."""

    t_start: float
    t_stop: float
    image_onsets: np.ndarray
    image_index: np.ndarray  # index into UnitPopulation.images; -1 for omitted flashes
    image_is_change: np.ndarray
    image_is_novel: np.ndarray
    image_active: np.ndarray
    gabors: pd.DataFrame  # start_time, position_x, position_y, orientation
    flashes: pd.DataFrame  # start_time, color
    opto: pd.DataFrame  # start_time, stimulus_name, level, duration
    running_times: np.ndarray
    running_speed: np.ndarray

    @property
    def n_bins(self) -> int:
        """Return the number of rate bins."""
        return int(np.ceil((self.t_stop - self.t_start) / DT))

    def bins(self, times: ArrayLike) -> np.ndarray:
        """Return the rate-grid bin of each time."""
        return ((np.asarray(times) - self.t_start) / DT).astype(np.int64)

    @functools.cached_property
    def speed_on_grid(self) -> np.ndarray:
        """Return the running speed (cm/s) on the rate grid (shared by every unit)."""
        grid = self.t_start + DT * np.arange(self.n_bins)
        return np.asarray(np.interp(grid, self.running_times, self.running_speed))


def response_kernel(latency: float, tau: float = 0.03, length: float = 0.4) -> np.ndarray:
    """Return an alpha-function transient of unit peak starting ``latency`` s after onset."""
    t = np.arange(0.0, length, DT) - latency
    kernel = np.where(t > 0, (t / tau) * np.exp(1 - t / tau), 0.0)
    return kernel


def sparse_convolution(
    n: int, bins: np.ndarray, weights: np.ndarray, kernel: np.ndarray
) -> np.ndarray:
    """Return the sum of ``kernel`` copies scaled by ``weights`` placed at ``bins`` (length n).

    Equal to convolving an impulse train with ``kernel``, at a cost proportional to the
    number of events rather than to the length of the session.
    """
    index = (np.asarray(bins, dtype=np.int64)[:, None] + np.arange(len(kernel))).ravel()
    values = (np.asarray(weights, dtype=float)[:, None] * kernel[None, :]).ravel()
    keep = (index >= 0) & (index < n)
    return np.bincount(index[keep], values[keep], minlength=n)[:n]


def running_modulation(drive: StimulusDrive, unit: pd.Series, speed: np.ndarray) -> np.ndarray:
    """Return the factor (0.2-3) running at ``speed`` (cm/s) multiplies the baseline rate by."""
    return np.asarray(np.clip(1 + unit["running_modulation"] * speed / 20, 0.2, 3))


def unit_components(
    drive: StimulusDrive, unit: pd.Series, image_gain: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Return the unit's evoked rate as (bins, weights, kernel) triples of events.

    Stimulus transients (images, gabors, full-field flashes), omission responses and, for a
    tagged unit, the raised-cosine light; every weight and kernel is non-negative.
    """
    events = [_image_events(drive, unit, image_gain), _gabor_events(drive, unit)]
    if unit["flash_gain"] > 0:
        flash_bins = drive.bins(drive.flashes["start_time"])
        gain = unit["response_amplitude"] * unit["flash_gain"]
        events.append((flash_bins, np.full(len(flash_bins), gain)))
    bins = np.concatenate([e[0] for e in events])
    weights = np.concatenate([e[1] for e in events])
    components = [(bins, weights, response_kernel(unit["latency"]))]
    if unit["omission_gain"] > 0:
        onsets = drive.bins(drive.image_onsets[drive.image_index < 0])
        weight = np.full(len(onsets), unit["omission_gain"] * unit["response_amplitude"])
        components.append((onsets, weight, response_kernel(0.12, tau=0.06, length=0.6)))
    if unit["tagged"]:
        components.append(_raised_cosine_events(drive))
    return components


def unit_rate(drive: StimulusDrive, unit: pd.Series, image_gain: np.ndarray) -> np.ndarray:
    """Return the firing rate (Hz) of one unit on the session's 5 ms grid."""
    n = drive.n_bins
    rate = unit["baseline_rate"] * running_modulation(drive, unit, drive.speed_on_grid)
    for bins, weights, kernel in unit_components(drive, unit, image_gain):
        rate += sparse_convolution(n, bins, weights, kernel)
    return np.asarray(rate)


def draw_unit_spikes(
    rng: np.random.Generator, drive: StimulusDrive, unit: pd.Series, image_gain: np.ndarray
) -> np.ndarray:
    """Return the spikes :func:`draw_spikes` draws from :func:`unit_rate`, drawn by events.

    The rate is a sum of non-negative parts, so its Poisson process is the superposition of
    one process per part: the running-modulated baseline (thinned from its peak rate) and each
    event's transient (a Poisson count placed along its kernel). The cost grows with spikes
    and events rather than with the grid, which matters for hour-long sessions.
    """
    n = drive.n_bins
    parts = [_baseline_bins(rng, drive, unit)]
    for bins, weights, kernel in unit_components(drive, unit, image_gain):
        counts = rng.poisson(weights * DT * kernel.sum())
        offsets = rng.choice(len(kernel), int(counts.sum()), p=kernel / kernel.sum())
        placed = np.repeat(bins, counts) + offsets
        parts.append(placed[(placed >= 0) & (placed < n)])
    placed = np.concatenate(parts)
    times = quantized(drive.t_start + DT * (placed + rng.random(len(placed))), SPIKE_TIME_STEP)
    return thin_refractory(np.sort(times))


def _baseline_bins(rng: np.random.Generator, drive: StimulusDrive, unit: pd.Series) -> np.ndarray:
    """Return the grid bins of the baseline spikes, thinned from the peak running rate."""
    n, speed = drive.n_bins, drive.speed_on_grid
    extremes = running_modulation(drive, unit, np.array([speed.min(), speed.max()]))
    peak = unit["baseline_rate"] * float(extremes.max())
    candidates = rng.integers(0, n, rng.poisson(peak * DT * n))
    rate = unit["baseline_rate"] * running_modulation(drive, unit, speed[candidates])
    return candidates[rng.random(len(candidates)) * peak < rate]


def _image_events(
    drive: StimulusDrive, unit: pd.Series, image_gain: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return (bins, gains) of the image flashes of one unit."""
    shown = drive.image_index >= 0
    gain = image_gain[drive.image_index[shown]]
    gain = gain * np.where(drive.image_is_change[shown], unit["change_gain"], 1.0)
    gain = gain * np.where(drive.image_is_novel[shown], unit["novelty_gain"], 1.0)
    gain = gain * np.where(drive.image_active[shown], 1.0, unit["passive_gain"])
    return drive.bins(drive.image_onsets[shown]), gain


def _gabor_events(drive: StimulusDrive, unit: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Return (bins, gains) of the receptive-field-weighted gabors of one unit."""
    g = drive.gabors
    if not len(g) or unit["response_amplitude"] == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    d2 = (g["position_x"] - unit["rf_x"]) ** 2 + (g["position_y"] - unit["rf_y"]) ** 2
    space = np.exp(-d2.to_numpy() / (2 * unit["rf_sigma"] ** 2))
    angle = np.deg2rad(g["orientation"].to_numpy() - unit["preferred_orientation"])
    tuning = 0.4 + 0.6 * np.cos(angle) ** 2
    return drive.bins(g["start_time"]), unit["response_amplitude"] * space * tuning


def _raised_cosine_events(drive: StimulusDrive) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the extra rate (Hz) of a tagged unit during the 1 s raised-cosine light."""
    cos_trials = drive.opto[drive.opto["stimulus_name"] == "raised_cosine"]
    shape = np.sin(np.pi * np.arange(0, 1.0, DT)) ** 2
    bins = drive.bins(cos_trials["start_time"].to_numpy())
    return bins, 45.0 * cos_trials["level"].to_numpy(dtype=float), shape


def pulse_spikes(rng: np.random.Generator, drive: StimulusDrive, unit: pd.Series) -> np.ndarray:
    """Return the short-latency spikes of a tagged unit to 10 ms light pulses."""
    pulses = drive.opto[drive.opto["stimulus_name"] == "pulse"]
    p = np.clip(0.35 + 1.5 * (pulses["level"].to_numpy() - 1.0), 0.05, 0.95)
    fired = rng.random(len(pulses)) < p
    jitter = rng.normal(0, 0.0007, int(fired.sum()))
    times = pulses["start_time"].to_numpy()[fired] + unit["opto_latency"] + jitter
    return quantized(times, SPIKE_TIME_STEP)


def draw_spikes(rng: np.random.Generator, rate: np.ndarray, t_start: float) -> np.ndarray:
    """Return sorted Poisson spike times of a rate on the 5 ms grid, refractory-thinned."""
    counts = rng.poisson(np.maximum(rate, 0) * DT)
    bins = np.repeat(np.arange(len(rate)), counts)
    times = np.sort(quantized(t_start + DT * (bins + rng.random(len(bins))), SPIKE_TIME_STEP))
    return thin_refractory(times)


def thin_refractory(times: np.ndarray) -> np.ndarray:
    """Return ``times`` without spikes closer than the refractory period to the previous."""
    if len(times) < 2:
        return times
    keep = np.r_[True, np.diff(times) >= REFRACTORY]
    return times[keep]


def unit_seed(seed: int, unit_id: int) -> np.random.Generator:
    """Return the generator of one unit's spikes (independent of every other unit)."""
    return np.random.default_rng([seed, int(unit_id) % (2**32), int(unit_id) // (2**32)])


def iter_spike_trains(
    population: UnitPopulation, drive: StimulusDrive, seed: int, *, by_events: bool = False
) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """Yield (row, spike times, spike amplitudes in volts) for every unit in table order.

    ``by_events`` draws each train with :func:`draw_unit_spikes` (same process, faster for
    long sessions) instead of on the rate grid.
    """
    table = population.table
    for row in range(len(table)):
        unit = table.iloc[row]
        rng = unit_seed(seed, int(unit["unit_id"]))
        gain = population.image_gain[row]
        if by_events:
            times = draw_unit_spikes(rng, drive, unit, gain)
        else:
            times = draw_spikes(rng, unit_rate(drive, unit, gain), drive.t_start)
        if unit["tagged"]:
            times = thin_refractory(np.sort(np.r_[times, pulse_spikes(rng, drive, unit)]))
        times = times[(times >= drive.t_start) & (times < drive.t_stop)]
        amplitude = quantized(
            unit["amplitude"] * 1e-6 * rng.lognormal(0, 0.12, len(times)), VOLT_STEP
        )
        yield row, times, amplitude
