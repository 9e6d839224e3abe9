"""Local field potentials and the current source density of one probe.

The LFP (volts, ~1250 Hz, every 4th site inside the brain) is a sum of depth-correlated
1/f^2 background, hippocampal theta (7 Hz, stronger while running), cortical gamma bursts
(30-60 Hz) and a flash-evoked potential whose depth profile has a layer-4 sink. The CSD is the
second spatial derivative of the flash-averaged LFP on the released 10 um virtual grid.
Samples are rounded to :data:`~brainobs.sample.quantize.LFP_STEP`, about one ADC step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from brainobs.sample.anatomy import stripped
from brainobs.sample.quantize import LFP_STEP, quantized, quantized_relative

LFP_RATE = 1249.9968
CSD_RATE = 2500.0
CSD_WINDOW = (-0.1, 0.25)


@dataclass
class ProbeLfp:
    """LFP samples (time x channel, float32 V) of one probe and the channel rows they use."""

    timestamps: np.ndarray
    data: np.ndarray
    channels: pd.DataFrame


def lfp_channels(channels: pd.DataFrame, max_channels: int = 96) -> pd.DataFrame:
    """Return every 4th in-brain channel (at most ``max_channels``), tip first."""
    candidates = channels[(channels["probe_channel_number"] % 4 == 2)]
    inside = candidates[candidates["structure_acronym_full"].notna()]
    return inside.iloc[:max_channels]


def pink_noise(
    rng: np.random.Generator, n: int, n_series: int, exponent: float = 2.0
) -> np.ndarray:
    """Return ``n_series`` unit-variance 1/f^exponent noise series of length ``n`` (n x series)."""
    freqs = np.fft.rfftfreq(n, 1 / LFP_RATE)
    scale = 1 / np.maximum(freqs, 0.5) ** (exponent / 2)
    spectrum = rng.normal(size=(len(freqs), n_series)) + 1j * rng.normal(
        size=(len(freqs), n_series)
    )
    series = np.fft.irfft(spectrum * scale[:, None], n=n, axis=0)
    return np.asarray(series / series.std(axis=0, keepdims=True))


def evoked_profile(depth: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Return the flash-evoked potential (V, time x depth): a layer-4 sink ~450 um deep."""
    temporal = np.where(t > 0.03, (t - 0.03) / 0.04 * np.exp(1 - (t - 0.03) / 0.04), 0.0)
    spatial = -np.exp(-((depth - 450.0) ** 2) / (2 * 150.0**2)) + 0.5 * np.exp(
        -((depth - 850.0) ** 2) / (2 * 200.0**2)
    )
    return np.asarray(180e-6 * temporal[:, None] * spatial[None, :])


def simulate_lfp(
    rng: np.random.Generator,
    channels: pd.DataFrame,
    t_start: float,
    t_stop: float,
    flash_onsets: np.ndarray,
    running: tuple[np.ndarray, np.ndarray],
) -> ProbeLfp:
    """Return the LFP of the LFP channels of one probe between ``t_start`` and ``t_stop``."""
    rows = lfp_channels(channels)
    times = t_start + np.arange(int((t_stop - t_start) * LFP_RATE)) / LFP_RATE
    n, depth = len(times), rows["depth"].to_numpy()
    latent = pink_noise(rng, n, 4)
    mixing = np.stack(
        [np.exp(-((depth - c) ** 2) / (2 * 700.0**2)) for c in (300, 1300, 2300, 3000)]
    )
    data = 60e-6 * latent @ mixing + 8e-6 * rng.normal(size=(n, len(depth)))
    area = rows["structure_acronym_full"].map(stripped).to_numpy()
    speed = np.interp(times, *running)
    theta = np.sin(2 * np.pi * 7.2 * times + rng.uniform(0, 6.28)) * (0.5 + speed / 40)
    hippocampal = np.isin(area, ["CA1", "CA3", "DG"])
    data[:, hippocampal] += 70e-6 * theta[:, None]
    gamma = _gamma_bursts(rng, times)
    data[:, np.char.startswith(area.astype(str), "VIS")] += 15e-6 * gamma[:, None]
    _add_evoked(data, times, depth, flash_onsets)
    return ProbeLfp(times, quantized(data, LFP_STEP).astype(np.float32), rows)


def _gamma_bursts(rng: np.random.Generator, times: np.ndarray) -> np.ndarray:
    """Return 30-60 Hz oscillation bursts (unit amplitude) of ~100-300 ms."""
    carrier = np.sin(2 * np.pi * rng.uniform(35, 55) * times)
    envelope = np.zeros(len(times))
    reach = int(0.5 * LFP_RATE)  # samples beyond which a burst envelope is negligible
    for onset in rng.uniform(times[0], times[-1], int(2 * (times[-1] - times[0]))):
        sigma = rng.uniform(0.05, 0.1)
        centre = int(np.searchsorted(times, onset))
        near = slice(max(centre - reach, 0), centre + reach)
        envelope[near] += np.exp(-((times[near] - onset) ** 2) / (2 * sigma**2))
    return np.asarray(carrier * envelope)


def _add_evoked(data: np.ndarray, times: np.ndarray, depth: np.ndarray, onsets: np.ndarray) -> None:
    """Add the flash-evoked potential after each onset inside the LFP window."""
    kernel_t = np.arange(0, 0.3, 1 / LFP_RATE)
    profile = evoked_profile(depth, kernel_t)
    for onset in onsets[(onsets > times[0]) & (onsets < times[-1] - 0.3)]:
        first = int(np.searchsorted(times, onset))
        data[first : first + len(kernel_t)] += profile[: len(data) - first]


def current_source_density(channels: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (timestamps, CSD time x 384 virtual sites, virtual y positions um) of a probe."""
    t = np.arange(CSD_WINDOW[0], CSD_WINDOW[1], 1 / CSD_RATE)
    y = np.arange(0.0, 3840.0, 10.0)
    vertical = channels["probe_vertical_position"].to_numpy()
    depth_of_y = np.interp(y, vertical, channels["depth"].to_numpy())
    potential = evoked_profile(depth_of_y, t)
    h_mm = 0.01
    padded = np.pad(potential, ((0, 0), (1, 1)), mode="edge")
    csd = (padded[:, 2:] - 2 * padded[:, 1:-1] + padded[:, :-2]) / h_mm**2
    inside = channels["structure_acronym_full"].notna().to_numpy()
    top = vertical[inside].max() if inside.any() else vertical.max()
    csd[:, y > top] = 0.0
    return t, quantized_relative(csd).astype(np.float32), y
