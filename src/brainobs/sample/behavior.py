"""Simulated change-detection behaviour: flashes, trials, licks and rewards.

The mouse watches a stream of flashes (250 ms image, 500 ms gray; 45 frames at 60 Hz). Each
trial draws a change flash 4-11 flashes after its start; licking before it aborts the trial.
Go trials change the image, catch trials do not (a "sham" change). An engaged mouse licks after
a change with probability Phi(d'/2 - c) and after a sham change with Phi(-d'/2 - c); late in the
session it disengages and stops licking. The first five trials are auto-rewarded.
Everything is computed on display frames; times are frame times.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import erf, sqrt

import numpy as np

FRAME_RATE = 60.0
FLASH_FRAMES = 45
ON_FRAMES = 15
CRITERION = 0.35
RESPONSE_WINDOW = (0.15, 0.75)
N_AUTO_REWARD = 5
CATCH_FRACTION = 0.15
ABORT_HAZARD = 0.03


@dataclass
class TrialEvents:
    """One simulated trial, in flash and frame units."""

    start_flash: int
    end_flash: int
    change_flash: int | None
    kind: str  # go, catch, auto, aborted
    licked: bool
    lick_frames: list[int] = field(default_factory=list)
    reward_frame: int | None = None
    engaged: bool = True


@dataclass
class TaskSimulation:
    """The flash stream and trials of one active change-detection block."""

    n_flashes: int
    images: list[str]
    image_of_flash: np.ndarray
    is_change: np.ndarray
    is_sham_change: np.ndarray
    omitted: np.ndarray
    trial_of_flash: np.ndarray
    trials: list[TrialEvents]
    engaged_until_flash: int
    flashed: bool = True

    @property
    def n_frames(self) -> int:
        """Return the number of display frames of the block."""
        return self.n_flashes * FLASH_FRAMES


def phi(x: float) -> float:
    """Return the standard normal cumulative distribution at ``x``."""
    return 0.5 * (1.0 + erf(x / sqrt(2.0)))


def response_probabilities(dprime: float, engaged: bool) -> tuple[float, float]:
    """Return (hit, false-alarm) lick probabilities for a mouse of skill ``dprime``."""
    if not engaged:
        return 0.04, 0.02
    return phi(dprime / 2 - CRITERION), phi(-dprime / 2 - CRITERION)


def simulate_task(
    rng: np.random.Generator,
    images: list[str],
    n_flashes: int,
    dprime: float,
    *,
    all_auto_rewarded: bool = False,
    omissions: bool = False,
    flashed: bool = True,
) -> TaskSimulation:
    """Return one active block of ``n_flashes`` flashes of ``images`` and its trials."""
    engaged_until = int(n_flashes * rng.uniform(0.7, 0.9))
    trials: list[TrialEvents] = []
    flash = 0
    while flash < n_flashes - 14:
        engaged = flash < engaged_until
        trial = _simulate_trial(rng, flash, len(trials), dprime, engaged, all_auto_rewarded)
        trials.append(trial)
        flash = trial.end_flash
    sim = _flash_stream(rng, images, n_flashes, trials, engaged_until, flashed)
    if omissions:
        _add_omissions(rng, sim)
    return sim


def _simulate_trial(
    rng: np.random.Generator, start: int, index: int, dprime: float, engaged: bool, auto: bool
) -> TrialEvents:
    """Return one trial starting at flash ``start``."""
    n_before = min(4 + int(rng.geometric(0.3)) - 1, 11)
    kind = "auto" if auto or index < N_AUTO_REWARD else "go"
    if kind == "go" and rng.random() < CATCH_FRACTION:
        kind = "catch"
    hazard = ABORT_HAZARD if engaged else ABORT_HAZARD / 3
    for k in range(n_before):
        if kind != "auto" and rng.random() < hazard:
            frame = (start + k) * FLASH_FRAMES + int(rng.integers(9, 42))
            licks = _lick_bout(rng, frame)
            end = (licks[-1] + 30) // FLASH_FRAMES + 1
            return TrialEvents(start, end, None, "aborted", True, licks, engaged=engaged)
    change = start + n_before
    return _respond(rng, TrialEvents(start, change + 2, change, kind, False), dprime, engaged)


def _respond(
    rng: np.random.Generator, trial: TrialEvents, dprime: float, engaged: bool
) -> TrialEvents:
    """Fill in licks and reward after the (sham) change of ``trial``."""
    assert trial.change_flash is not None
    trial.engaged = engaged
    p_hit, p_fa = response_probabilities(dprime, engaged)
    change_frame = trial.change_flash * FLASH_FRAMES
    p_lick = {"go": p_hit, "catch": p_fa, "auto": 0.9}[trial.kind]
    if trial.kind == "auto":
        trial.reward_frame = change_frame + 1
    if rng.random() < p_lick:
        latency = float(np.clip(rng.lognormal(np.log(0.42), 0.18), 0.2, 0.74))
        trial.lick_frames = _lick_bout(rng, change_frame + round(latency * FRAME_RATE))
        trial.licked = True
        if trial.kind == "go":
            trial.reward_frame = trial.lick_frames[0]
    last = trial.lick_frames[-1] if trial.lick_frames else change_frame
    trial.end_flash = max(trial.change_flash + 2, (last + 30) // FLASH_FRAMES + 1)
    return trial


def _lick_bout(rng: np.random.Generator, first_frame: int) -> list[int]:
    """Return the frames of a bout of 2-8 licks at ~7 Hz starting at ``first_frame``."""
    n = int(rng.integers(2, 9))
    gaps = np.maximum(rng.normal(0.14, 0.015, n - 1), 0.09) * FRAME_RATE
    return [first_frame + round(float(g)) for g in np.concatenate([[0.0], np.cumsum(gaps)])]


def _flash_stream(
    rng: np.random.Generator,
    images: list[str],
    n_flashes: int,
    trials: list[TrialEvents],
    engaged_until: int,
    flashed: bool,
) -> TaskSimulation:
    """Return the per-flash image, change and trial assignment of a block."""
    image_of_flash = np.zeros(n_flashes, dtype=np.int64)
    is_change = np.zeros(n_flashes, dtype=bool)
    is_sham = np.zeros(n_flashes, dtype=bool)
    trial_of_flash = np.full(n_flashes, -99, dtype=np.int64)
    current = int(rng.integers(0, len(images)))
    for index, trial in enumerate(trials):
        stop = min(trial.end_flash, n_flashes)
        trial_of_flash[trial.start_flash : stop] = index
        change = trial.change_flash
        if change is not None and change < n_flashes:
            if trial.kind in ("go", "auto"):
                current = int((current + rng.integers(1, len(images))) % len(images))
                is_change[change] = True
            else:
                is_sham[change] = True
            image_of_flash[change:] = current
        elif index == 0:
            image_of_flash[:] = current
    if trials and trials[0].change_flash is not None:
        first = trials[0].change_flash
        image_of_flash[:first] = image_of_flash[first - 1] if first else current
    omitted = np.zeros(n_flashes, dtype=bool)
    return TaskSimulation(
        n_flashes, list(images), image_of_flash, is_change, is_sham, omitted,
        trial_of_flash, trials, engaged_until, flashed,
    )  # fmt: skip


def _add_omissions(rng: np.random.Generator, sim: TaskSimulation) -> None:
    """Omit ~5% of flashes, never a (sham) change flash or the flash before one."""
    n = sim.n_flashes
    candidates = rng.random(n) < 0.05
    special = sim.is_change | sim.is_sham_change
    before = np.zeros(n, dtype=bool)
    before[:-1] = special[1:]
    candidates &= ~special & ~before
    candidates[:2] = False
    sim.omitted[:] = candidates


def flashes_since_change(is_change: np.ndarray) -> np.ndarray:
    """Return, per flash, the number of flashes since the last change (0 on a change)."""
    index = np.arange(len(is_change))
    last_change = np.maximum.accumulate(np.where(is_change, index, 0))
    return (index - last_change).astype(np.int64)
