"""Running wheel and eye-tracking signals of a simulated session.

Every signal is rounded to a binary step near its instrument's resolution
(:mod:`brainobs.sample.quantize`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.signal import butter, filtfilt, lfilter

from brainobs.sample.quantize import (
    ANGLE_STEP,
    CLOCK_STEP,
    PIXEL_STEP,
    SPEED_STEP,
    VOLTAGE_STEP,
    quantized,
)

WHEEL_RADIUS_CM = 6.5 * 2.54 / 3
V_IN = 4.98


@dataclass
class Running:
    """Running speed and the raw encoder signals, one sample per display frame."""

    timestamps: np.ndarray
    speed: np.ndarray
    speed_unfiltered: np.ndarray
    dx: np.ndarray
    v_sig: np.ndarray
    v_in: np.ndarray


def simulate_running(rng: np.random.Generator, timestamps: np.ndarray) -> Running:
    """Return bouts of running (0-60 cm/s) with encoder voltages that wrap at ``V_IN``."""
    n = len(timestamps)
    drive = lfilter([1 - np.exp(-1 / 300)], [1, -np.exp(-1 / 300)], rng.normal(0, 4.0, n))
    speed_true = np.clip(25 * (drive + 0.2), 0, 60) + np.abs(rng.normal(0, 0.5, n))
    dt = np.diff(timestamps, prepend=timestamps[0] - 1 / 60)
    angle_step = speed_true * dt / WHEEL_RADIUS_CM  # radians per frame
    angle = np.cumsum(angle_step)
    v_sig = (angle % (2 * np.pi)) / (2 * np.pi) * V_IN + rng.normal(0, 0.002, n)
    unfiltered = speed_true + rng.normal(0, 2.0, n)
    b, a = butter(3, 4.0, fs=60.0)
    filtered = filtfilt(b, a, unfiltered)
    return Running(
        timestamps,
        quantized(filtered, SPEED_STEP),
        quantized(unfiltered, SPEED_STEP),
        quantized(np.degrees(angle_step), ANGLE_STEP),
        quantized(v_sig, VOLTAGE_STEP),
        np.full(n, V_IN),
    )


def simulate_eye(
    rng: np.random.Generator,
    t_start: float,
    t_stop: float,
    running: Running,
    rate: float = 60.0,
) -> pd.DataFrame:
    """Return ellipse fits of eye, pupil and corneal reflection at ``rate`` Hz, blinks NaN."""
    times = quantized(np.arange(t_start, t_stop, 1 / rate) + rng.normal(0, 0.0005, 1), CLOCK_STEP)
    n = len(times)
    speed = np.interp(times, running.timestamps, running.speed)
    slow = lfilter([1 - np.exp(-1 / 120)], [1, -np.exp(-1 / 120)], rng.normal(0, 1.2, n))
    pupil_radius = 52 + 0.12 * speed + 4 * slow + rng.normal(0, 0.4, n)
    out = {"timestamps": times}
    centres = {"pupil": (320.0, 240.0), "eye": (318.0, 236.0), "cr": (330.0, 250.0)}
    sizes = {"pupil": (pupil_radius, pupil_radius * 0.97), "eye": (150.0, 110.0), "cr": (6.0, 6.0)}
    for name, (cx, cy) in centres.items():
        w, h = sizes[name]
        out[f"{name}_center_x"] = cx + rng.normal(0, 1.5, n)
        out[f"{name}_center_y"] = cy + rng.normal(0, 1.5, n)
        out[f"{name}_width"] = np.broadcast_to(w, (n,)) + rng.normal(0, 0.3, n)
        out[f"{name}_height"] = np.broadcast_to(h, (n,)) + rng.normal(0, 0.3, n)
        out[f"{name}_phi"] = rng.normal(0.0, 0.05, n)
    table = pd.DataFrame(out)
    table["pupil_area_raw"] = np.pi * np.maximum(table["pupil_width"], table["pupil_height"]) ** 2
    for name in ("eye", "cr"):
        table[f"{name}_area_raw"] = np.pi * table[f"{name}_width"] * table[f"{name}_height"]
    blink = _blinks(rng, times)
    for column in table.columns.drop("timestamps"):
        table.loc[blink, column] = np.nan
    for column in table.columns.drop("timestamps"):
        step = ANGLE_STEP if column.endswith("_phi") else PIXEL_STEP
        table[column] = quantized(table[column], step)
    table["likely_blink"] = blink
    return table


def _blinks(rng: np.random.Generator, times: np.ndarray) -> np.ndarray:
    """Return a mask of frames inside blinks (~0.1 Hz, 100-300 ms each)."""
    blink = np.zeros(len(times), dtype=bool)
    n_blinks = rng.poisson(0.1 * (times[-1] - times[0]))
    for onset in rng.uniform(times[0], times[-1], n_blinks):
        blink[(times >= onset) & (times < onset + rng.uniform(0.1, 0.3))] = True
    return blink
