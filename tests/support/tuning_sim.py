"""A seeded simulation of a Visual Coding session with units of known tuning (tests, benchmark).

``simulate_session(n_units, schedule, seed)`` returns presentations in the VCN NWB form (one row
per presentation, NaN where a stimulus has no such parameter, ``stimulus_index``), Poisson spike
trains whose stimulus-evoked rate follows each unit's tuning, a running-speed table with running
bouts, and the ground truth of every unit. ``session_presentations`` turns the NWB form into the
reference session's ``stimulus_presentations`` ("null" for missing values, condition ids).

Evoked rate = amplitude x tuning(stimulus), tuning in [0, 1] and 1 at the preferred stimulus;
evoked spikes start ``latency`` after onset (transient units: exponential, tau 20 ms; others
uniform to the end of the presentation; drifting gratings phase-locked with depth
``phase_depth``). Every rate is multiplied by (1 + ``run_gain``) while the mouse runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from brainobs.analysis.conditions import stimulus_condition_ids

DG_DIRECTIONS = np.arange(0.0, 360.0, 45.0)
DG_TFS = np.array([1.0, 2.0, 4.0, 8.0, 15.0])
CONTRAST_ORIENTATIONS = np.array([0.0, 45.0, 90.0, 135.0])
CONTRASTS = np.array([0.01, 0.02, 0.04, 0.08, 0.13, 0.2, 0.35, 0.6, 1.0])
SG_ORIENTATIONS = np.arange(0.0, 180.0, 30.0)
SG_SFS = np.array([0.02, 0.04, 0.08, 0.16, 0.32])
SG_PHASES = np.array([0.0, 0.25, 0.5, 0.75])
N_IMAGES = 118
GABOR_POSITIONS = np.arange(-40.0, 41.0, 10.0)
GABOR_ORIENTATIONS = np.array([0.0, 45.0, 90.0])
DM_DIRECTIONS = np.arange(0.0, 360.0, 45.0)
DM_SPEEDS = np.array([0.001, 0.005, 0.01, 0.02])

#: (stimulus name, repeats) of the brain_observatory_1.1 session (real presentation counts:
#: gabors 3645, flashes 150, drifting gratings 628, static gratings 6000, natural scenes 5950).
BRAIN_OBSERVATORY = (
    ("gabors", 15), ("flashes", 75), ("drifting_gratings", 15), ("static_gratings", 49),
    ("natural_scenes", 50),
)  # fmt: skip
#: Every analysed stimulus, few repeats (tests and compatibility suite).
ALL_STIMULI = (
    ("gabors", 4), ("flashes", 20), ("drifting_gratings", 5), ("drifting_gratings_contrast", 4),
    ("static_gratings", 5), ("natural_scenes", 6), ("dot_motion", 6),
)  # fmt: skip

PARAMETERS = (
    "orientation", "temporal_frequency", "spatial_frequency", "phase", "contrast", "frame",
    "color", "x_position", "y_position", "Dir", "Speed",
)  # fmt: skip


@dataclass(frozen=True)
class SimulatedSession:
    """Presentations (NWB form), spike trains, running speed and ground truth of a session."""

    presentations: pd.DataFrame
    spike_times: dict[int, np.ndarray]
    running_speed: pd.DataFrame
    truth: pd.DataFrame


def unit_truth(rng: np.random.Generator, n_units: int) -> pd.DataFrame:
    """Return random tuning of ``n_units`` units (ids 950000000 + i)."""
    n = n_units
    return pd.DataFrame(
        {
            "baseline": rng.uniform(0.5, 4.0, n),
            "amplitude": rng.uniform(25.0, 60.0, n),
            "latency": rng.uniform(0.04, 0.08, n),
            "transient": rng.random(n) < 0.5,
            "run_gain": rng.choice([-0.5, 0.0, 1.0], n),
            "pref_dir_dg": rng.choice(DG_DIRECTIONS, n),
            "pref_tf_dg": rng.choice(DG_TFS, n),
            "direction_index": rng.uniform(0.0, 1.0, n),
            "phase_depth": rng.choice([0.0, 1.0], n),
            "c50": rng.choice([0.05, 0.1, 0.2, 0.4], n),
            "pref_ori_sg": rng.choice(SG_ORIENTATIONS, n),
            "pref_sf_sg": rng.choice(SG_SFS, n),
            "pref_phase_sg": rng.choice(SG_PHASES, n),
            "pref_image_ns": rng.integers(0, N_IMAGES, n).astype(float),
            "rf_x": rng.uniform(-30.0, 30.0, n).round(1),
            "rf_y": rng.uniform(-30.0, 30.0, n).round(1),
            "rf_sigma": rng.uniform(6.0, 12.0, n),
            "on_cell": rng.random(n) < 0.5,
            "pref_dir_dm": rng.choice(DM_DIRECTIONS, n),
            "pref_speed_dm": rng.choice(DM_SPEEDS, n),
        },
        index=pd.Index(950_000_000 + np.arange(n), name="unit_id"),
    )


def _grid(rng: np.random.Generator, repeats: int, **levels: np.ndarray) -> pd.DataFrame:
    """Return ``repeats`` shuffled copies of the full grid of parameter levels."""
    mesh = np.meshgrid(*levels.values(), indexing="ij")
    one = pd.DataFrame({k: m.reshape(-1) for k, m in zip(levels, mesh, strict=True)})
    table = pd.concat([one] * repeats, ignore_index=True)
    return table.iloc[rng.permutation(len(table))].reset_index(drop=True)


def _with_blanks(rng: np.random.Generator, table: pd.DataFrame, n_blank: int) -> pd.DataFrame:
    """Return ``table`` with ``n_blank`` all-NaN rows shuffled in."""
    blanks = pd.DataFrame(np.nan, index=range(n_blank), columns=table.columns)
    both = pd.concat([table, blanks], ignore_index=True)
    return both.iloc[rng.permutation(len(both))].reset_index(drop=True)


def stimulus_rows(
    rng: np.random.Generator, name: str, repeats: int
) -> tuple[pd.DataFrame, float, float]:
    """Return (parameter rows, on duration s, onset interval s) of one stimulus block."""
    if name == "gabors":
        grid = _grid(rng, repeats, x_position=GABOR_POSITIONS, y_position=GABOR_POSITIONS,
                     orientation=GABOR_ORIENTATIONS)  # fmt: skip
        return grid.assign(temporal_frequency=4.0, spatial_frequency=0.08, contrast=0.8), 0.25, 0.25
    if name == "flashes":
        return _grid(rng, repeats, color=np.array([-1.0, 1.0])).assign(contrast=0.8), 0.25, 2.0
    if name.startswith("drifting_gratings") and name != "drifting_gratings_contrast":
        grid = _grid(rng, repeats, orientation=DG_DIRECTIONS, temporal_frequency=DG_TFS)
        grid = _with_blanks(rng, grid, max(repeats * 28 // 15, 2))
        return grid.assign(contrast=0.8, spatial_frequency=0.04), 2.0, 3.0
    if name == "drifting_gratings_contrast":
        grid = _grid(rng, repeats, orientation=CONTRAST_ORIENTATIONS, contrast=CONTRASTS)
        return grid.assign(temporal_frequency=2.0, spatial_frequency=0.04), 0.5, 1.0
    if name == "static_gratings":
        grid = _grid(rng, repeats, orientation=SG_ORIENTATIONS, spatial_frequency=SG_SFS,
                     phase=SG_PHASES)  # fmt: skip
        return _with_blanks(rng, grid, repeats * 120 // 49).assign(contrast=0.8), 0.25, 0.25
    if name == "natural_scenes":
        return _grid(rng, repeats, frame=np.arange(-1.0, N_IMAGES)), 0.25, 0.25
    if name == "dot_motion":
        return _grid(rng, repeats, Dir=DM_DIRECTIONS, Speed=DM_SPEEDS), 1.0, 2.0
    raise ValueError(f"unknown stimulus {name!r}")


def build_presentations(
    rng: np.random.Generator, schedule: Sequence[tuple[str, int]], gap: float = 20.0
) -> pd.DataFrame:
    """Return the presentations of ``schedule`` (blocks in order, ``gap`` s apart), NWB form."""
    blocks, t = [], gap
    for index, (name, repeats) in enumerate(schedule):
        rows, on, every = stimulus_rows(rng, name, repeats)
        start = t + every * np.arange(len(rows)) + rng.normal(0, 0.0005, len(rows)).round(5)
        stop = start + on
        if on == every:  # back to back: each presentation ends where the next starts
            stop[:-1] = start[1:]
        rows = rows.assign(start_time=start, stop_time=stop, stimulus_name=name)
        blocks.append(rows.assign(stimulus_block=float(index), stimulus_index=float(index)))
        t = float(start[-1]) + every + gap
    table = pd.concat(blocks, ignore_index=True)
    for column in PARAMETERS:
        if column not in table.columns:
            table[column] = np.nan
    lead = ["start_time", "stop_time", "stimulus_name", "stimulus_block", "stimulus_index"]
    return (
        table[lead + list(PARAMETERS)]
        .sort_values("start_time", kind="stable")
        .reset_index(drop=True)
    )


def session_presentations(raw: pd.DataFrame) -> pd.DataFrame:
    """Return the reference session's stimulus_presentations built from the NWB form."""
    table = raw.drop(columns=["stimulus_index"]).astype(object).where(raw.notna(), "null")
    for column in ("start_time", "stop_time", "stimulus_block"):
        table[column] = raw[column].to_numpy(dtype=float)
    table["duration"] = table["stop_time"] - table["start_time"]
    ids, _ = stimulus_condition_ids(
        table, ("start_time", "stop_time", "duration", "stimulus_block"), "python"
    )
    table.index.name = "stimulus_presentation_id"
    return table.assign(stimulus_condition_id=ids.to_numpy())


def running_table(rng: np.random.Generator, duration: float, rate: float = 60.0) -> pd.DataFrame:
    """Return running speed at ``rate`` Hz: alternating 20-60 s bouts of rest and running."""
    times = np.arange(0.0, duration, 1.0 / rate)
    bouts = np.cumsum(rng.uniform(20.0, 60.0, int(duration / 20.0) + 2))
    running = (np.searchsorted(bouts, times) % 2) == 1
    speed = np.where(
        running, rng.uniform(10.0, 30.0, bouts.size)[np.searchsorted(bouts, times)], 0.0
    )
    speed = speed + rng.normal(0.0, 0.1, times.size)
    return pd.DataFrame({"start_time": times, "end_time": times + 1.0 / rate, "velocity": speed})


def _von_mises(delta_deg: np.ndarray, kappa: float = 2.0) -> np.ndarray:
    """Return exp(kappa (cos(delta) - 1)): 1 at delta = 0."""
    return np.asarray(np.exp(kappa * (np.cos(np.deg2rad(delta_deg)) - 1.0)))


def _log_gauss(value: np.ndarray, preferred: float, width: float = 0.8) -> np.ndarray:
    """Return a Gaussian in log2 units: 1 at ``preferred``."""
    return np.asarray(np.exp(-((np.log2(value) - np.log2(preferred)) ** 2) / (2 * width**2)))


def tuning(unit: pd.Series, rows: pd.DataFrame, image_gain: np.ndarray) -> np.ndarray:
    """Return the tuning (0..1) of one unit to each presentation of ``rows``."""
    name = rows["stimulus_name"].to_numpy()
    p = {c: rows[c].to_numpy(dtype=float) for c in PARAMETERS}
    out = np.zeros(len(rows))
    with np.errstate(invalid="ignore", divide="ignore"):
        opposite = _von_mises(p["orientation"] - unit.pref_dir_dg - 180.0)
        dirs = _von_mises(p["orientation"] - unit.pref_dir_dg)
        dirs = dirs + (1 - unit.direction_index) * opposite
        dg = dirs * _log_gauss(p["temporal_frequency"], unit.pref_tf_dg)
        contrast = p["contrast"] ** 2 / (p["contrast"] ** 2 + unit.c50**2)
        sg = (
            _von_mises(2 * (p["orientation"] - unit.pref_ori_sg))
            * _log_gauss(p["spatial_frequency"], unit.pref_sf_sg)
            * (0.6 + 0.4 * np.cos(2 * np.pi * (p["phase"] - unit.pref_phase_sg)))
        )
        distance2 = (p["x_position"] - unit.rf_x) ** 2 + (p["y_position"] - unit.rf_y) ** 2
        dm = _von_mises(p["Dir"] - unit.pref_dir_dm) * _log_gauss(
            p["Speed"], unit.pref_speed_dm, 1.0
        )
    frame = np.nan_to_num(p["frame"], nan=-1).astype(int)
    choose = {
        "drifting_gratings": dg,
        "drifting_gratings_contrast": dirs * contrast,
        "static_gratings": sg,
        "natural_scenes": np.where(frame >= 0, image_gain[np.maximum(frame, 0)], 0.0),
        "gabors": np.exp(-distance2 / (2 * unit.rf_sigma**2)),
        "flashes": np.where(p["color"] == (1.0 if unit.on_cell else -1.0), 1.0, 0.15),
        "dot_motion": dm,
    }
    family = np.array([_family(n) for n in name])
    for stimulus, value in choose.items():
        chosen = family == stimulus
        out[chosen] = np.nan_to_num(value[chosen])
    return out


def _family(name: str) -> str:
    """Return the tuning family of a stimulus name (the 75-repeat gratings are gratings)."""
    return "drifting_gratings" if name == "drifting_gratings_75_repeats" else name


def _evoked_spikes(
    rng: np.random.Generator, unit: pd.Series, rows: pd.DataFrame, rate: np.ndarray
) -> np.ndarray:
    """Return evoked spike times of one unit given its evoked rate at each presentation."""
    start = rows["start_time"].to_numpy()
    on = rows["stop_time"].to_numpy() - start
    span = np.maximum(on - unit.latency, 0.0)
    drifting = rows["stimulus_name"].str.startswith("drifting_gratings").to_numpy()
    transient = np.full(len(rows), bool(unit.transient)) & ~drifting
    depth = np.where(drifting, unit.phase_depth, 0.0)
    expected = np.where(transient, rate * 0.1, rate * span * (1 + depth))
    counts = rng.poisson(expected)
    row = np.repeat(np.arange(len(rows)), counts)
    offset = (
        np.where(
            transient[row],
            rng.exponential(0.02, row.size),
            rng.random(row.size) * span[row],
        )
        + unit.latency
    )
    temporal = np.nan_to_num(rows["temporal_frequency"].to_numpy(dtype=float))[row]
    keep = rng.random(row.size) * (1 + depth[row]) < 1 + depth[row] * np.cos(
        2 * np.pi * temporal * offset
    )
    keep &= offset < on[row]
    return start[row][keep] + offset[keep]


def _is_running(running: pd.DataFrame, times: np.ndarray) -> np.ndarray:
    """Return True where the sample in effect at ``times`` is at least 1 cm/s."""
    samples = running["start_time"].to_numpy()
    index = np.clip(np.searchsorted(samples, times, side="right") - 1, 0, samples.size - 1)
    return np.asarray(running["velocity"].to_numpy()[index] >= 1.0)


def unit_spike_train(
    rng: np.random.Generator,
    unit: pd.Series,
    rows: pd.DataFrame,
    running: pd.DataFrame,
    duration: float,
) -> np.ndarray:
    """Return the sorted spike times of one unit over the session."""
    image_gain = rng.uniform(0.05, 0.4, N_IMAGES)
    image_gain[int(unit.pref_image_ns)] = 1.0
    gain = 1.0 + unit.run_gain * _is_running(running, rows["start_time"].to_numpy())
    evoked = _evoked_spikes(rng, unit, rows, unit.amplitude * tuning(unit, rows, image_gain) * gain)
    top = unit.baseline * max(1.0, 1.0 + unit.run_gain)
    background = np.sort(rng.random(rng.poisson(top * duration)) * duration)
    rate = unit.baseline * (1.0 + unit.run_gain * _is_running(running, background))
    background = background[rng.random(background.size) * top < rate]
    return np.sort(np.concatenate((background, evoked)))


def simulate_session(
    n_units: int,
    schedule: Sequence[tuple[str, int]] = ALL_STIMULI,
    seed: int = 0,
    **fixed: object,
) -> SimulatedSession:
    """Return a simulated session of ``n_units`` units on ``schedule`` (deterministic).

    Keyword arguments fix a truth column for every unit (a scalar or one value per unit),
    e.g. ``baseline=0.5``.
    """
    rng = np.random.default_rng(seed)
    truth = unit_truth(rng, n_units)
    for column, value in fixed.items():
        if column not in truth.columns:
            raise ValueError(f"unknown truth column {column!r}")
        truth[column] = value
    presentations = build_presentations(rng, schedule)
    duration = float(presentations["stop_time"].max()) + 20.0
    running = running_table(rng, duration)
    stimulated = presentations[presentations["stimulus_name"] != "spontaneous"]
    spikes = {
        int(uid): unit_spike_train(
            np.random.default_rng([seed, i]), unit, stimulated, running, duration
        )
        for i, (uid, unit) in enumerate(truth.iterrows())
    }
    return SimulatedSession(presentations, spikes, running, truth)
