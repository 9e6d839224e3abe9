"""Spikes drawn event by event follow the same rate as spikes drawn on the rate grid."""

from __future__ import annotations

import numpy as np
import pandas as pd

from brainobs.sample.spikes import DT, StimulusDrive, draw_unit_spikes, unit_rate
from brainobs.sample.units import UnitPopulation


def _drive() -> StimulusDrive:
    rng = np.random.default_rng(5)
    onsets = 10.0 + 0.75 * np.arange(400)
    index = rng.integers(-1, 4, len(onsets))  # -1: omitted flash
    gabors = pd.DataFrame({
        "start_time": 320.0 + 0.25 * np.arange(243),
        "position_x": rng.choice(np.arange(-40.0, 41.0, 10.0), 243),
        "position_y": rng.choice(np.arange(-40.0, 41.0, 10.0), 243),
        "orientation": rng.choice([0.0, 45.0, 90.0], 243),
    })  # fmt: skip
    flashes = pd.DataFrame({"start_time": 390.0 + 2.0 * np.arange(20)})
    opto = pd.DataFrame({
        "start_time": 440.0 + 2.0 * np.arange(20),
        "stimulus_name": ["pulse", "raised_cosine"] * 10,
        "level": [1.0, 1.35] * 10, "duration": [0.01, 1.0] * 10,
    })  # fmt: skip
    running_times = np.arange(0.0, 490.0, 1 / 60)
    speed = np.clip(20 * np.sin(running_times / 30.0) + 10, 0, None)
    return StimulusDrive(
        0.0, 490.0, onsets, index, rng.random(len(onsets)) < 0.1, np.zeros(len(onsets), bool),
        onsets < 200, gabors, flashes, opto, running_times, speed,
    )  # fmt: skip


def _unit(tagged: bool) -> pd.Series:
    return pd.Series({
        "baseline_rate": 6.0, "running_modulation": 0.4, "response_amplitude": 25.0,
        "latency": 0.05, "change_gain": 2.0, "novelty_gain": 1.5, "passive_gain": 0.8,
        "omission_gain": 0.6, "flash_gain": 1.0, "rf_x": 10.0, "rf_y": -5.0, "rf_sigma": 10.0,
        "preferred_orientation": 45.0, "tagged": tagged,
    })  # fmt: skip


def test_event_drawing_follows_the_grid_rate() -> None:
    drive = _drive()
    gains = np.array([[20.0, 6.0, 4.0, 3.0]])
    population = UnitPopulation(pd.DataFrame([_unit(True)]), ["a", "b", "c", "d"], gains)
    unit = population.table.iloc[0]
    rate = unit_rate(drive, unit, gains[0])
    rng = np.random.default_rng(11)
    trains = [draw_unit_spikes(rng, drive, unit, gains[0]) for _ in range(40)]
    edges = np.arange(0.0, 490.0 + 1e-9, 0.25)
    observed = np.mean([np.histogram(t, edges)[0] for t in trains], axis=0)
    expected = np.add.reduceat(rate * DT, (edges[:-1] / DT).astype(int))
    # Poisson: the mean of 40 trains has variance expected / 40 (refractory thinning lowers
    # counts by well under 1 % at these rates); chi-square per bin is ~1 +- 0.03.
    chi2 = np.mean((observed - expected) ** 2 / (expected / 40))
    assert chi2 < 1.15
    assert abs(observed.sum() / expected.sum() - 1) < 0.02
    for train in trains[:3]:
        assert np.all(np.diff(train) >= 0.0012) and train.min() >= 0 and train.max() < 490
