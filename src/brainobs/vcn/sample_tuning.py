"""Simulated Visual Coding units with known tuning: the ground truth the metrics must recover.

Each visually driven unit gets a preferred direction (one of the 8 grating directions) with an
orientation-tuning width and a direction selectivity, a preferred temporal and spatial frequency
(log-Gaussian tuning, one octave wide), a preferred static-grating phase, a preferred natural
scene, a receptive field (centre and size in degrees, in the gabor grid's x/y coordinates), an
ON/OFF flash preference, a contrast response (Naka-Rushton, ``c50``), a preferred dot speed, a
response to each natural movie (a smooth, unit-specific trace over frames) and a running gain.
Units in non-visual structures keep only their baseline rate and running gain. In Cre mice a
share of cortical units is tagged: they follow the optogenetic light.

Ground-truth conventions (``_ground_truth/visual-coding-neuropixels/units.parquet``):
``preferred_direction`` is one of the grating directions 0..315 deg and
``preferred_orientation`` is it modulo 180; ``preferred_tf`` (Hz), ``preferred_sf``
(cycles/deg), ``preferred_phase`` and ``preferred_speed`` are values the stimuli show;
``preferred_image`` is the scene's frame number (0..117); ``rf_x``/``rf_y`` are the receptive
field's centre in the gabors' ``x_position``/``y_position`` (deg from the screen centre; the
reference's ``azimuth_rf`` is ``rf_x + 50`` and ``elevation_rf`` is ``rf_y + 10``) and
``rf_sigma`` its Gaussian s.d. (deg); ``flash_preference`` is ``on``, ``off`` or ``on_off``;
``c50`` the semi-saturation contrast of a Naka-Rushton response of exponent 2;
``running_modulation`` the gain slope: rates scale by ``1 + running_modulation * speed / 20``
(speed in cm/s).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from brainobs.sample.units import AREA_PROPERTIES, is_cortex
from brainobs.vcn.sample_stimuli import (
    DG_DIRECTIONS,
    DG_TEMPORAL_FREQUENCIES,
    DM_SPEEDS,
    N_SCENES,
    SG_PHASES,
    SG_SPATIAL_FREQUENCIES,
)

TAG_FRACTION = {"Sst-IRES-Cre": 0.07, "Vip-IRES-Cre": 0.05, "Pvalb-IRES-Cre": 0.12}
#: ground-truth flash preference -> (ON gain, OFF gain)
FLASH_TYPES = {"on": (1.0, 0.15), "off": (0.15, 1.0), "on_off": (0.8, 0.8)}


def tuned_population(
    rng: np.random.Generator, units: pd.DataFrame, cre_line: str | None, rate_scale: float
) -> pd.DataFrame:
    """Return ``units`` with their response properties (the ground truth columns)."""
    table = units.copy()
    n = len(table)
    props = np.array([AREA_PROPERTIES[a] for a in table["structure_acronym"]])
    cortex = table["structure_acronym"].map(is_cortex).to_numpy()
    fast = cortex & (rng.random(n) < 0.2)
    table["fast_spiking"] = fast
    table["baseline_rate"] = props[:, 0] * rate_scale * rng.lognormal(0, 0.6, n) * (1 + fast)
    table["visual"] = rng.random(n) < props[:, 1]
    table["latency"] = props[:, 2] + rng.uniform(0, 0.02, n)
    table["response_amplitude"] = np.where(table["visual"], rng.lognormal(np.log(14), 0.4, n), 0)
    table["running_modulation"] = rng.normal(0.25, 0.3, n)
    _grating_tuning(rng, table)
    _spatial_tuning(rng, table)
    table["tagged"] = cortex & (rng.random(n) < TAG_FRACTION.get(cre_line or "", 0.0))
    table["opto_latency"] = rng.uniform(0.002, 0.004, n)
    table["movie_seed"] = rng.integers(0, 2**31, n)
    return table


def _grating_tuning(rng: np.random.Generator, table: pd.DataFrame) -> None:
    """Add direction, orientation, temporal/spatial frequency, phase and contrast tuning."""
    n = len(table)
    table["preferred_direction"] = rng.choice(DG_DIRECTIONS, n)
    table["preferred_orientation"] = table["preferred_direction"] % 180.0
    table["direction_selectivity"] = rng.beta(2.0, 2.5, n)
    table["orientation_kappa"] = rng.uniform(1.5, 4.0, n)
    table["preferred_tf"] = rng.choice(DG_TEMPORAL_FREQUENCIES, n)
    table["preferred_sf"] = rng.choice(SG_SPATIAL_FREQUENCIES, n)
    table["preferred_phase"] = rng.choice(SG_PHASES, n)
    table["phase_modulation"] = rng.uniform(0.0, 0.5, n)
    table["f1_modulation"] = rng.uniform(0.0, 1.0, n)
    table["c50"] = np.round(rng.uniform(0.05, 0.5, n), 3)
    table["preferred_speed"] = rng.choice(DM_SPEEDS, n)


def _spatial_tuning(rng: np.random.Generator, table: pd.DataFrame) -> None:
    """Add the receptive field, flash preference and preferred natural scene."""
    n = len(table)
    table["rf_x"] = np.round(rng.uniform(-30, 30, n), 1)
    table["rf_y"] = np.round(rng.uniform(-30, 30, n), 1)
    table["rf_sigma"] = np.round(rng.uniform(8, 14, n), 1)
    table["flash_preference"] = rng.choice(list(FLASH_TYPES), n, p=[0.45, 0.25, 0.3])
    table["preferred_image"] = rng.integers(0, N_SCENES, n)
    table["image_seed"] = rng.integers(0, 2**31, n)


def direction_tuning(unit: pd.Series, direction: ArrayLike) -> np.ndarray:
    """Return the unit's relative response (peak 1) to gratings moving in ``direction`` deg."""
    delta = np.deg2rad(np.asarray(direction, dtype=float) - unit["preferred_direction"])
    kappa, ds = unit["orientation_kappa"], unit["direction_selectivity"]
    orientation = np.exp(kappa * (np.cos(2 * delta) - 1))
    direction_part = np.exp(kappa * (np.cos(delta) - 1))
    return np.asarray((1 - ds) * orientation + ds * direction_part)


def orientation_tuning(unit: pd.Series, orientation: ArrayLike) -> np.ndarray:
    """Return the unit's relative response (peak 1) to a static orientation in deg."""
    delta = np.deg2rad(np.asarray(orientation, dtype=float) - unit["preferred_orientation"])
    return np.asarray(np.exp(unit["orientation_kappa"] * (np.cos(2 * delta) - 1)))


def octave_tuning(preferred: float, values: ArrayLike, width: float = 1.0) -> np.ndarray:
    """Return a log-Gaussian tuning (peak 1 at ``preferred``, ``width`` octaves s.d.)."""
    distance = np.log2(np.asarray(values, dtype=float) / preferred)
    return np.asarray(np.exp(-(distance**2) / (2 * width**2)))


def contrast_response(unit: pd.Series, contrast: ArrayLike) -> np.ndarray:
    """Return the Naka-Rushton response (peak 1) to ``contrast`` with exponent 2."""
    c = np.asarray(contrast, dtype=float) ** 2
    return np.asarray(c * (1 + unit["c50"] ** 2) / (c + unit["c50"] ** 2))


def receptive_field(unit: pd.Series, x: ArrayLike, y: ArrayLike) -> np.ndarray:
    """Return the Gaussian receptive-field weight (peak 1) at stimulus positions (deg)."""
    d2 = (np.asarray(x) - unit["rf_x"]) ** 2 + (np.asarray(y) - unit["rf_y"]) ** 2
    return np.asarray(np.exp(-d2 / (2 * unit["rf_sigma"] ** 2)))


def image_gains(unit: pd.Series) -> np.ndarray:
    """Return the unit's relative response to the 118 scenes (1 at its preferred one)."""
    gains = np.random.default_rng(int(unit["image_seed"])).uniform(0.05, 0.45, N_SCENES)
    gains[int(unit["preferred_image"])] = 1.0
    return gains


def movie_trace(unit: pd.Series, n_frames: int) -> np.ndarray:
    """Return the unit's relative response (0..1) to each frame of an ``n_frames`` movie."""
    rng = np.random.default_rng([int(unit["movie_seed"]), n_frames])
    noise = rng.normal(size=n_frames + 60)
    smooth = np.convolve(noise, np.hanning(31) / np.hanning(31).sum(), mode="same")[30:-30]
    trace = np.exp(3.0 * smooth / (smooth.std() + 1e-12))
    return np.asarray(trace / trace.max())
