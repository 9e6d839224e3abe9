"""Firing rates and spike trains of the simulated Visual Coding units.

A unit's rate on the shared 5 ms grid (:mod:`brainobs.sample.spikes`) is its baseline plus the
responses its tuning (:mod:`brainobs.vcn.sample_tuning`) gives each presentation, times a
running gain ``1 + running_modulation * speed / 20`` (clipped to 0.2..3):

* gabors, flashes, static gratings and natural scenes evoke a transient (alpha function after
  the unit's latency, peak :data:`TRANSIENT_GAIN` x ``response_amplitude``) scaled by the
  receptive field and orientation, the ON/OFF preference, orientation x spatial frequency x
  phase, and the scene;
* drifting gratings (all three kinds) evoke a transient plus a response sustained over the
  presentation and modulated at the grating's temporal frequency (``f1_modulation``), scaled by
  direction x temporal frequency x contrast; dot motion a sustained response scaled by
  direction x speed;
* natural movies drive the unit frame by frame with its movie trace.

Tagged units add spikes at a short latency after each light pulse and a raised rate under the
raised-cosine light. Spikes are drawn per unit (memory bounded by one train).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from brainobs.sample.quantize import SPIKE_TIME_STEP, VOLT_STEP, quantized
from brainobs.sample.spikes import (
    DT,
    draw_spikes,
    response_kernel,
    sparse_convolution,
    thin_refractory,
    unit_seed,
)
from brainobs.vcn import sample_tuning as tuning
from brainobs.vcn.sample_schedule import Schedule
from brainobs.vcn.sample_stimuli import MOVIE_FRAMES, STIMULI

_TRANSIENT = ("gabors", "flashes", "static_gratings", "natural_scenes")
#: peak of a flashed stimulus's transient relative to ``response_amplitude``
TRANSIENT_GAIN = 2.5
_DRIFTING = ("drifting_gratings", "drifting_gratings_75_repeats", "drifting_gratings_contrast")


@dataclass
class SessionDrive:
    """What drives the units during one session, on the session clock."""

    t_start: float
    t_stop: float
    schedule: Schedule
    opto: pd.DataFrame
    running_times: np.ndarray
    running_speed: np.ndarray

    @property
    def n_bins(self) -> int:
        """Return the number of rate bins."""
        return int(np.ceil((self.t_stop - self.t_start) / DT))

    def bins(self, times: ArrayLike) -> np.ndarray:
        """Return the rate-grid bin of each time."""
        return ((np.asarray(times, dtype=float) - self.t_start) / DT).astype(np.int64)

    @functools.cached_property
    def running_on_grid(self) -> np.ndarray:
        """Return the running speed (cm/s) on the rate grid."""
        grid = self.t_start + DT * np.arange(self.n_bins)
        return np.asarray(np.interp(grid, self.running_times, self.running_speed))

    @functools.cached_property
    def stimuli(self) -> dict[str, pd.DataFrame]:
        """Return the presentations of each stimulus the session shows."""
        table = self.schedule.presentations
        return {str(name): rows for name, rows in table.groupby("stimulus_name", sort=False)}


def unit_rate(drive: SessionDrive, unit: pd.Series) -> np.ndarray:
    """Return the firing rate (Hz) of one unit on the session's 5 ms grid."""
    rate = np.full(drive.n_bins, float(unit["baseline_rate"]))
    if unit["visual"]:
        rate += _transient_responses(drive, unit) + _drifting_responses(drive, unit)
        rate += _dot_motion_response(drive, unit) + _movie_responses(drive, unit)
    gain = np.clip(1 + unit["running_modulation"] * drive.running_on_grid / 20, 0.2, 3.0)
    rate *= gain
    if unit["tagged"]:
        rate += _raised_cosine_rate(drive)
    return rate


def _weights(name: str, rows: pd.DataFrame, unit: pd.Series) -> np.ndarray:
    """Return the unit's relative response to each presentation of a transient stimulus."""
    if name == "gabors":
        space = tuning.receptive_field(unit, rows["x_position"], rows["y_position"])
        return space * (0.3 + 0.7 * tuning.orientation_tuning(unit, rows["orientation"]))
    if name == "flashes":
        on, off = tuning.FLASH_TYPES[unit["flash_preference"]]
        return np.where(rows["color"].to_numpy() > 0, on, off)
    if name == "static_gratings":
        phase = 2 * np.pi * (rows["phase"].to_numpy() - unit["preferred_phase"])
        modulation = (1 + unit["phase_modulation"] * np.cos(phase)) / (1 + unit["phase_modulation"])
        weight = tuning.orientation_tuning(unit, rows["orientation"])
        weight = weight * tuning.octave_tuning(unit["preferred_sf"], rows["spatial_frequency"])
        return np.nan_to_num(weight * modulation)
    frames = rows["frame"].to_numpy().astype(np.int64)
    gains = tuning.image_gains(unit)
    return np.where(frames >= 0, gains[np.clip(frames, 0, None)], 0.0)


def _transient_responses(drive: SessionDrive, unit: pd.Series) -> np.ndarray:
    """Return the summed transients of gabors, flashes, static gratings and scenes."""
    bins, weights = [], []
    for name in _TRANSIENT:
        if name in drive.stimuli:
            rows = drive.stimuli[name]
            bins.append(drive.bins(rows["start_time"]))
            weights.append(_weights(name, rows, unit))
    if not bins:
        return np.zeros(drive.n_bins)
    amplitude = TRANSIENT_GAIN * unit["response_amplitude"] * np.concatenate(weights)
    kernel = response_kernel(unit["latency"])
    return sparse_convolution(drive.n_bins, np.concatenate(bins), amplitude, kernel)


def drifting_kernel(latency: float, tf: float, duration: float, f1: float) -> np.ndarray:
    """Return a grating response: a transient plus a sustained part modulated at ``tf`` Hz."""
    t = np.arange(0.0, duration + 0.3, DT) - latency
    inside = (t > 0) & (t < duration)
    sustained = np.where(inside, 0.7 * (1 + f1 * np.sin(2 * np.pi * tf * t)), 0.0)
    tau = 0.03
    transient = np.where(t > 0, (t / tau) * np.exp(1 - t / tau), 0.0)
    return np.asarray(0.6 * transient + sustained)


def _drifting_responses(drive: SessionDrive, unit: pd.Series) -> np.ndarray:
    """Return the responses to the drifting gratings (of every kind)."""
    out = np.zeros(drive.n_bins)
    for name in _DRIFTING:
        if name not in drive.stimuli:
            continue
        rows = drive.stimuli[name]
        stim = STIMULI[name]
        tf = rows["temporal_frequency"].fillna(dict(stim.constants).get("temporal_frequency", 0))
        contrast = rows["contrast"].fillna(0.8).to_numpy()
        weight = tuning.direction_tuning(unit, rows["orientation"].fillna(0.0))
        weight = weight * tuning.octave_tuning(unit["preferred_tf"], np.maximum(tf, 1e-3))
        weight = weight * tuning.contrast_response(unit, contrast)
        weight = np.where(rows["orientation"].isna(), 0.0, weight) * unit["response_amplitude"]
        duration = stim.on_frames / 60.0
        for value in np.unique(tf.to_numpy()):
            pick = (tf == value).to_numpy()
            kernel = drifting_kernel(unit["latency"], value, duration, unit["f1_modulation"])
            out += sparse_convolution(
                drive.n_bins, drive.bins(rows["start_time"][pick]), weight[pick], kernel
            )
    return out


def _dot_motion_response(drive: SessionDrive, unit: pd.Series) -> np.ndarray:
    """Return the responses to dot motion."""
    if "dot_motion" not in drive.stimuli:
        return np.zeros(drive.n_bins)
    rows = drive.stimuli["dot_motion"]
    weight = tuning.direction_tuning(unit, rows["Dir"])
    weight = weight * tuning.octave_tuning(unit["preferred_speed"], rows["Speed"], width=1.2)
    kernel = drifting_kernel(unit["latency"], 0.0, STIMULI["dot_motion"].on_frames / 60.0, 0.0)
    amplitude = unit["response_amplitude"] * weight
    return sparse_convolution(drive.n_bins, drive.bins(rows["start_time"]), amplitude, kernel)


def _movie_responses(drive: SessionDrive, unit: pd.Series) -> np.ndarray:
    """Return the frame-by-frame responses to the natural movies."""
    out = np.zeros(drive.n_bins)
    lag = round(float(unit["latency"]) / DT)
    for name, stim in STIMULI.items():
        if stim.movie is None or name not in drive.stimuli:
            continue
        rows = drive.stimuli[name]
        trace = tuning.movie_trace(unit, MOVIE_FRAMES[stim.movie])
        weight = 0.8 * unit["response_amplitude"] * trace[rows["frame"].to_numpy().astype(int)]
        kernel = np.r_[np.zeros(lag), np.ones(7)]
        out += sparse_convolution(drive.n_bins, drive.bins(rows["start_time"]), weight, kernel)
    return out


def _raised_cosine_rate(drive: SessionDrive) -> np.ndarray:
    """Return the extra rate (Hz) of a tagged unit under the 1 s raised-cosine light."""
    trials = drive.opto[drive.opto["stimulus_name"] == "raised_cosine"]
    shape = np.sin(np.pi * np.arange(0, 1.0, DT)) ** 2
    weights = 40.0 * trials["level"].to_numpy()
    return sparse_convolution(drive.n_bins, drive.bins(trials["start_time"]), weights, shape)


def pulse_spikes(rng: np.random.Generator, drive: SessionDrive, unit: pd.Series) -> np.ndarray:
    """Return a tagged unit's short-latency spikes to single pulses and 10 Hz pulse trains."""
    opto = drive.opto
    single = opto[opto["stimulus_name"] == "pulse"]
    trains = opto[opto["stimulus_name"] == "fast_pulses"]
    onsets = np.r_[single["start_time"], (trains["start_time"].to_numpy()[:, None]
                                           + np.arange(10) * 0.1).ravel()]  # fmt: skip
    levels = np.r_[single["level"], np.repeat(trains["level"].to_numpy(), 10)]
    fired = rng.random(len(onsets)) < np.clip(0.45 + 1.2 * (levels - 1.0), 0.05, 0.95)
    jitter = rng.normal(0, 0.0007, int(fired.sum()))
    return quantized(onsets[fired] + unit["opto_latency"] + jitter, SPIKE_TIME_STEP)


def iter_unit_trains(
    units: pd.DataFrame, drive: SessionDrive, seed: int
) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """Yield (row, spike times, spike amplitudes in volts) for every unit in table order."""
    for row in range(len(units)):
        unit = units.iloc[row]
        rng = unit_seed(seed, int(unit["unit_id"]))
        times = draw_spikes(rng, unit_rate(drive, unit), drive.t_start)
        if unit["tagged"]:
            times = thin_refractory(np.sort(np.r_[times, pulse_spikes(rng, drive, unit)]))
        times = times[(times >= drive.t_start) & (times < drive.t_stop)]
        volts = unit["amplitude"] * 1e-6 * rng.lognormal(0, 0.12, len(times))
        yield row, times, quantized(volts, VOLT_STEP)
