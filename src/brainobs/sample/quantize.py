"""Rounding simulated measurements to binary steps, so that gzip can compress them.

A simulated float64 value drawn from a continuous distribution has 52 random mantissa bits,
which no lossless filter compresses. Real measurements are quantized by their instruments
(spike times by the 30 kHz sample clock, LFP by the ADC, pupil fits by sub-pixel precision),
so the simulator rounds each signal to a power-of-two step at or below its instrument's
resolution: the values stay scientifically equivalent, the low mantissa bits become zero and
shuffle + gzip store them in a fraction of the space.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: Steps (as powers of two) of the simulated signals.
SPIKE_TIME_STEP = 2.0**-15  # s, 30.5 us: just under the 33.3 us sample period at 30 kHz
VOLT_STEP = 2.0**-24  # V, 0.06 uV: spike amplitudes and mean waveforms
LFP_STEP = 2.0**-22  # V, 0.24 uV: about one LSB of the Neuropixels LFP band
CLOCK_STEP = 2.0**-17  # s, 7.6 us: sync-line event times (sampled at 100 kHz)
PIXEL_STEP = 2.0**-4  # px: ellipse fits of the eye-tracking video
ANGLE_STEP = 2.0**-12  # rad or deg
SPEED_STEP = 2.0**-10  # cm/s
VOLTAGE_STEP = 2.0**-14  # V: the running-wheel encoder's analog signal


def quantized(values: Any, step: float) -> np.ndarray:
    """Return ``values`` rounded to multiples of ``step`` (a power of two), NaN kept."""
    return np.asarray(np.round(np.asarray(values, dtype=float) / step) * step)


def quantized_relative(values: Any, significant_bits: int = 12) -> np.ndarray:
    """Return ``values`` rounded to a power-of-two step ~2**-bits of their largest magnitude."""
    array = np.asarray(values, dtype=float)
    peak = float(np.nanmax(np.abs(array))) if array.size else 0.0
    if not np.isfinite(peak) or peak == 0.0:
        return array
    step = 2.0 ** (np.floor(np.log2(peak)) - significant_bits)
    return quantized(array, step)
