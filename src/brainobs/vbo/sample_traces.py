"""Simulated fluorescence of the cells of one imaging plane, a batch of cells at a time.

For each cell the event rate (events/s) on the plane's 2-photon frames is its baseline plus a
response to every flash of the change-detection block: an image flash adds the cell's tuning to
that image times its amplitude (times its change gain on a change flash), an omitted flash adds
its omission ramp; both are scaled by the session's novelty (:mod:`brainobs.vbo.sample_cells`).
Events are drawn as a Poisson process on the frames; dF/F is the events filtered by the
indicator's exponential decay plus noise. The other traces follow from dF/F: corrected
fluorescence ``F0 * (1 + dF/F)``, neuropil, and demixed = corrected + r * neuropil. The event
detection output is the drawn events (dF/F jump of each event) with each cell's noise level.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.signal import lfilter, oaconvolve

from brainobs.sample.quantize import quantized

TRACE_STEP = 2.0**-12  # dF/F
FLUORESCENCE_STEP = 2.0**-4  # a.u.
BATCH = 32  # cells simulated (and written) together
IMAGE_LATENCY = 0.05  # s
IMAGE_TIME_CONSTANT = 0.08  # s, of the alpha-function response to an image flash
OMISSION_RAMP = 0.75  # s, Vip activity ramps until the next expected flash
NOVELTY_LEVELS = {"Familiar": 0.0, "Novel 1": 1.0, "Novel >1": 0.5}


@dataclass
class PlaneStimulus:
    """The flashes of the change-detection block, as the cells of one plane see them."""

    onset: np.ndarray  # s, start_time of every image or omitted flash
    image: np.ndarray  # index into the session's images (-1 for an omitted flash)
    is_change: np.ndarray
    omitted: np.ndarray
    novelty: float  # 0 familiar, 1 first novel session, 0.5 later novel sessions


def plane_stimulus(flashes: pd.DataFrame, images: list[str], experience: str) -> PlaneStimulus:
    """Return the stimulus of a plane from the session's change-detection rows."""
    lookup = {name: k for k, name in enumerate(images)}
    omitted = flashes["omitted"].to_numpy(dtype=bool)
    image = flashes["image_name"].map(lambda n: lookup.get(n, -1)).to_numpy(dtype=np.int64)
    return PlaneStimulus(
        flashes["start_time"].to_numpy(dtype=float), np.where(omitted, -1, image),
        flashes["is_change"].to_numpy(dtype=bool), omitted, NOVELTY_LEVELS[experience],
    )  # fmt: skip


@dataclass
class TraceBatch:
    """The traces of a batch of cells, each (frame x cell), as the files store them."""

    first: int
    dff: np.ndarray
    events: np.ndarray
    corrected: np.ndarray
    neuropil: np.ndarray
    demixed: np.ndarray


def image_kernel(dt: float) -> np.ndarray:
    """Return the rate time course (peak 1) of an image response, one value per frame."""
    t = np.arange(0.0, 1.0, dt) + dt / 2 - IMAGE_LATENCY
    x = np.clip(t, 0.0, None) / IMAGE_TIME_CONSTANT
    return np.asarray(x * np.exp(1.0 - x))


def omission_kernel(dt: float) -> np.ndarray:
    """Return the rate time course (peak 1) of an omission ramp, one value per frame."""
    t = np.arange(0.0, 1.2, dt) + dt / 2
    return np.where(t < OMISSION_RAMP, t / OMISSION_RAMP, np.exp(-(t - OMISSION_RAMP) / 0.1))


def iter_batches(
    cells: pd.DataFrame,
    tuning: np.ndarray,
    stimulus: PlaneStimulus,
    timestamps: np.ndarray,
    seed: int,
) -> Iterator[TraceBatch]:
    """Yield the traces of ``cells`` (``tuning``: cell x image) ``BATCH`` cells at a time."""
    dt = float(np.mean(np.diff(timestamps)))
    frame = np.searchsorted(timestamps, stimulus.onset).clip(0, len(timestamps) - 1)
    neuropil = _neuropil(np.random.default_rng([seed, 1]), len(timestamps))
    for first in range(0, len(cells), BATCH):
        rng = np.random.default_rng([seed, 2, first])
        batch = cells.iloc[first : first + BATCH]
        rate = _rates(batch, tuning[first : first + BATCH], stimulus, frame, len(timestamps), dt)
        yield _traces(rng, first, batch, rate, dt, neuropil)


def _rates(
    cells: pd.DataFrame,
    tuning: np.ndarray,
    stimulus: PlaneStimulus,
    frame: np.ndarray,
    n_frames: int,
    dt: float,
) -> np.ndarray:
    """Return each cell's event rate (cell x frame, events/s)."""
    shown = ~stimulus.omitted
    novelty = stimulus.novelty
    image_gain = cells["image_amplitude"].to_numpy() * (
        1.0 + novelty * (cells["novelty_gain"].to_numpy() - 1.0)
    )
    amplitude = image_gain[:, None] * tuning[:, stimulus.image[shown]]
    amplitude *= np.where(stimulus.is_change[shown], cells["change_gain"].to_numpy()[:, None], 1.0)
    omission_gain = cells["omission_amplitude"].to_numpy() * (
        1.0 + novelty * (cells["omission_novelty_gain"].to_numpy() - 1.0)
    )
    image_impulses = np.zeros((len(cells), n_frames))
    image_impulses[:, frame[shown]] = amplitude
    omission_impulses = np.zeros((len(cells), n_frames))
    omission_impulses[:, frame[stimulus.omitted]] = omission_gain[:, None]
    evoked = oaconvolve(image_impulses, image_kernel(dt)[None, :], axes=1)[:, :n_frames]
    evoked += oaconvolve(omission_impulses, omission_kernel(dt)[None, :], axes=1)[:, :n_frames]
    return np.clip(cells["baseline_rate"].to_numpy()[:, None] + evoked, 0.0, None)


def _neuropil(rng: np.random.Generator, n_frames: int) -> np.ndarray:
    """Return the plane's neuropil fluorescence (a.u.), slowly drifting around 120."""
    drift = lfilter([0.002], [1.0, -0.998], rng.normal(0.0, 1.0, n_frames))
    return np.asarray(120.0 * (1.0 + 0.5 * drift) + rng.normal(0.0, 1.0, n_frames))


def _traces(
    rng: np.random.Generator,
    first: int,
    cells: pd.DataFrame,
    rate: np.ndarray,
    dt: float,
    neuropil: np.ndarray,
) -> TraceBatch:
    """Return the traces of one batch from its rates."""
    counts = rng.poisson(rate * dt)
    size = cells["event_size"].to_numpy()[:, None]
    events = counts * size * rng.lognormal(0.0, 0.25, counts.shape)
    events = quantized(np.where(counts > 0, events, 0.0), TRACE_STEP)
    dff = np.empty_like(events)
    for k, decay in enumerate(cells["decay"].to_numpy()):
        dff[k] = lfilter([1.0], [1.0, -np.exp(-dt / decay)], events[k])
    dff += rng.normal(0.0, 1.0, dff.shape) * cells["noise_std"].to_numpy()[:, None]
    dff = quantized(dff, TRACE_STEP)
    f0 = cells["baseline_fluorescence"].to_numpy()[:, None]
    corrected = quantized(f0 * (1.0 + dff), FLUORESCENCE_STEP)
    cell_neuropil = quantized(neuropil[None, :] * rng.uniform(0.9, 1.1, (len(cells), 1)),
                              FLUORESCENCE_STEP)  # fmt: skip
    demixed = quantized(corrected + cells["r"].to_numpy()[:, None] * cell_neuropil,
                        FLUORESCENCE_STEP)  # fmt: skip
    return TraceBatch(first, dff.T, events.T, corrected.T, cell_neuropil.T, demixed.T)


def motion_correction(rng: np.random.Generator, n_frames: int) -> np.ndarray:
    """Return rigid (x, y) motion-correction offsets (frame x 2, whole pixels)."""
    walk = lfilter([0.05], [1.0, -0.95], rng.normal(0.0, 1.5, (2, n_frames)), axis=1)
    return np.asarray(np.round(walk + rng.normal(0.0, 0.4, (2, n_frames))).T)
