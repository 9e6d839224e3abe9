"""Simulate one Visual Coding Neuropixels session: stimuli, running, eye, probes and units.

The session clock starts at 0; the stimuli start 20-30 s later and optotagging follows them.
Of the default size's sessions the first has invalid intervals of every kind (a probe, all
probes, the stimulus and optotagging), the second one ``stimulus`` interval, the third none; the
third also has no eye tracking (only the rig geometry), as some released sessions do. A few
units have no ``amplitude_cutoff`` or ``isi_violations`` (NaN), which the default unit filters
drop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from brainobs.sample.anatomy import probe_channels
from brainobs.sample.running_eye import Running, simulate_eye, simulate_running
from brainobs.sample.units import place_units, quality_metrics
from brainobs.vcn.sample_design import SessionPlan, SizeSpec
from brainobs.vcn.sample_responses import SessionDrive
from brainobs.vcn.sample_schedule import Schedule, build_schedule
from brainobs.vcn.sample_tuning import tuned_population

#: stimulus_name -> (condition, duration s) of the optotagging light.
OPTO_CONDITIONS: dict[str, tuple[tuple[str, float], ...]] = {
    "fast_pulses": (("2.5 ms pulses at 10 Hz", 1.0),),
    "pulse": (("a single square pulse", 0.005), ("a single square pulse", 0.01)),
    "raised_cosine": (("half-period of a cosine wave", 1.0),),
}
OPTO_LEVELS = (1.0, 1.2, 1.35)
#: Share of units whose amplitude cutoff could not be computed (NaN, as some released units);
#: half as many lack their ISI violations.
NAN_METRIC_SHARE = 0.03
#: the stimulus of each session type whose presentations a ``stimulus`` invalid interval hits
MOVIE_OF = {
    "brain_observatory_1.1": "natural_movie_three",
    "functional_connectivity": "natural_movie_one_more_repeats",
}


@dataclass
class VcnSimulation:
    """Everything simulated for one session before its spikes and LFP are drawn."""

    plan: SessionPlan
    schedule: Schedule
    running: Running
    eye: pd.DataFrame | None
    optotagging: pd.DataFrame
    channels: pd.DataFrame
    units: pd.DataFrame
    drive: SessionDrive
    invalid_times: pd.DataFrame


def simulate_session(plan: SessionPlan, size: SizeSpec, position: int) -> VcnSimulation:
    """Return the simulated session of ``plan``, the ``position``-th of its release."""
    rng = np.random.default_rng([plan.seed, 41])
    t0 = float(rng.uniform(20, 30))
    schedule = build_schedule(rng, plan.session_type, size.repeats, size.spontaneous_scale, t0)
    running = simulate_running(rng, schedule.frame_times)
    opto = optotagging_table(rng, schedule.t_stop + 10.0, size.opto_repeats)
    t_stop = float(opto["stop_time"].iloc[-1]) + 5.0
    eye = _eye(rng, t0 - 5.0, t_stop, running) if position < 2 else None
    channels, units = session_units(rng, plan, size.rate_scale)
    drive = SessionDrive(0.0, t_stop, schedule, opto, running.timestamps, running.speed)
    invalid = invalid_intervals(plan, schedule, opto, position)
    return VcnSimulation(plan, schedule, running, eye, opto, channels, units, drive, invalid)


def session_units(
    rng: np.random.Generator, plan: SessionPlan, rate_scale: float
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the channels of the session's probes and its units (tuning and metrics)."""
    channel_tables, unit_tables = [], []
    for name, probe_id in plan.probe_ids.items():
        channels = probe_channels(rng, name, probe_id, plan.channel_id_start(name))
        units = place_units(rng, channels, plan.unit_counts[name], plan.unit_id_start(name))
        channel_tables.append(channels.assign(probe_name=name))
        unit_tables.append(units.assign(probe_name=name))
    units = pd.concat(unit_tables, ignore_index=True)
    units = quality_metrics(rng, tuned_population(rng, units, plan.mouse.cre_line, rate_scale))
    units.loc[rng.random(len(units)) < NAN_METRIC_SHARE, "amplitude_cutoff"] = np.nan
    units.loc[rng.random(len(units)) < NAN_METRIC_SHARE / 2, "isi_violations"] = np.nan
    return pd.concat(channel_tables, ignore_index=True), units


def optotagging_table(rng: np.random.Generator, start: float, repeats: int) -> pd.DataFrame:
    """Return the light trials: 4 waveforms x 3 levels x ``repeats``, shuffled, 1.5-2 s apart."""
    combos = [
        (name, condition, duration, level)
        for name, variants in OPTO_CONDITIONS.items()
        for condition, duration in variants
        for level in OPTO_LEVELS
        for _ in range(repeats)
    ]
    order = rng.permutation(len(combos))
    onsets = start + np.cumsum(rng.uniform(1.5, 2.0, len(combos)))
    picked = [combos[i] for i in order]
    durations = np.array([c[2] for c in picked])
    return pd.DataFrame(
        {
            "start_time": onsets,
            "stop_time": onsets + durations,
            "condition": [c[1] for c in picked],
            "level": np.array([c[3] for c in picked], dtype=float),
            "stimulus_name": [c[0] for c in picked],
            "duration": durations,
        }
    )


def _eye(rng: np.random.Generator, t_start: float, t_stop: float, running: Running) -> pd.DataFrame:
    """Return ellipse fits at the eye camera's 30 Hz (every other 60 Hz fit)."""
    return simulate_eye(rng, t_start, t_stop, running).iloc[::2].reset_index(drop=True)


def invalid_intervals(
    plan: SessionPlan, schedule: Schedule, opto: pd.DataFrame, position: int
) -> pd.DataFrame:
    """Return the session's invalid intervals (start, stop, [scope, id, label]), unsorted."""
    movie = schedule.of(MOVIE_OF[plan.session_type])
    middle = float(movie["start_time"].iloc[len(movie) // 4])  # inside the first block
    sid = str(plan.ecephys_session_id)
    rows = [(middle, middle + 1.0, ["EcephysSession", sid, "stimulus"])]
    if position == 0:
        name = list(plan.probe_ids)[-1]
        spont = schedule.of("spontaneous").iloc[-2]
        rows = [
            (schedule.t_stop - 60.0, schedule.t_stop - 30.0,
             ["EcephysProbe", str(plan.probe_ids[name]), name]),
            *rows,
            (float(spont["start_time"]), float(spont["start_time"]) + 0.5,
             ["EcephysSession", sid, "all_probes"]),
            (float(opto["start_time"].iloc[0]) - 1.0, float(opto["start_time"].iloc[2]),
             ["EcephysSession", sid, "optotagging"]),
        ]  # fmt: skip
    elif position > 1:
        rows = []
    return pd.DataFrame(rows, columns=["start_time", "stop_time", "tags"])
