"""A small, deterministic session with the VBN session API, for fast report tests.

It has every stream the report reads (units, channels, probes, spikes, stimulus
presentations with changes and omissions, trials, licks, rewards, running, pupil,
optotagging, LFP, CSD) with the effects the report shows: units respond to flashes and more
to changes, the pupil dilates and running slows after changes, three units follow the light.
``missing`` names streams that raise MissingDataError, as a file without them would.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from brainobs.analysis.performance import performance_metrics, rolling_performance
from brainobs.errors import MissingDataError

AREAS = {"probeA": ["VISp", "CA1", "LGd"], "probeB": ["VISl", "LP"]}
FLASH_PERIOD = 0.75
SESSION_END = 400.0


def _channels() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the probes and channels tables (40 channels a probe, areas by depth)."""
    probes = pd.DataFrame(
        {"name": list(AREAS), "has_lfp_data": [True, False], "sampling_rate": 30000.0},
        index=pd.Index([101, 102], name="id"),
    )
    rows = []
    for probe_id, areas in zip(probes.index, AREAS.values(), strict=True):
        for k in range(40):
            depth = 3800.0 - 40.0 * k
            area = areas[min(k * len(areas) // 40, len(areas) - 1)]
            rows.append((probe_id * 1000 + k, probe_id, depth, area, k))
    channels = pd.DataFrame(
        rows,
        columns=["id", "probe_id", "probe_vertical_position", "structure_acronym", "number"],
    ).set_index("id")
    channels["probe_channel_number"] = channels.pop("number")
    channels["valid_data"] = True
    return probes, channels


def _presentations(rng: np.random.Generator) -> pd.DataFrame:
    """Return flashes every 0.75 s with a change every 6-11 flashes and some omissions."""
    starts = np.arange(10.0, SESSION_END - 10.0, FLASH_PERIOD)
    is_change = np.zeros(starts.size, bool)
    position = 8
    while position < starts.size:
        is_change[position] = True
        position += int(rng.integers(6, 12))
    omitted = (rng.random(starts.size) < 0.06) & ~is_change & ~np.roll(is_change, -1)
    image = np.cumsum(is_change) % 8
    return pd.DataFrame(
        {
            "stimulus_block": 0,
            "image_name": [
                f"im{i:03d}" if not o else "omitted" for i, o in zip(image, omitted, strict=True)
            ],
            "start_time": starts,
            "end_time": starts + 0.25,
            "is_change": is_change,
            "omitted": omitted,
            "active": True,
        },
        index=pd.Index(np.arange(starts.size), name="stimulus_presentations_id"),
    )


def _units(rng: np.random.Generator, channels: pd.DataFrame, n: int = 48) -> pd.DataFrame:
    """Return units with peak channels and quality metrics (most pass the thresholds)."""
    return pd.DataFrame(
        {
            "peak_channel_id": rng.choice(channels.index.to_numpy(), n),
            "amplitude_cutoff": np.clip(rng.exponential(0.05, n), 0, 0.5),
            "presence_ratio": np.clip(1 - rng.exponential(0.02, n), 0, 1),
            "isi_violations": rng.exponential(0.2, n),
            "firing_rate": rng.uniform(2, 10, n),
            "quality": "good",
        },
        index=pd.Index(5000 + np.arange(n), name="id"),
    )


def _spikes(
    rng: np.random.Generator, units: pd.DataFrame, stim: pd.DataFrame, pulses: np.ndarray
) -> dict[int, np.ndarray]:
    """Return spike times: background, flash and change responses, omission ramps, light."""
    flashes = stim.loc[~stim["omitted"], "start_time"].to_numpy()
    changes = stim.loc[stim["is_change"], "start_time"].to_numpy()
    omissions = stim.loc[stim["omitted"], "start_time"].to_numpy()
    spikes = {}
    for number, (unit, rate) in enumerate(units["firing_rate"].items()):
        parts = [rng.uniform(0, SESSION_END + 20, rng.poisson(rate * (SESSION_END + 20)))]
        parts.append(flashes[rng.random(flashes.size) < 0.5] + rng.normal(0.07, 0.015))
        parts.append(np.repeat(changes, 2) + rng.normal(0.08, 0.02, 2 * changes.size))
        if number % 4 == 0:
            parts.append(omissions + rng.uniform(0.1, 0.6, omissions.size))
        if number < 3:
            parts.append(pulses + rng.uniform(0.002, 0.006, pulses.size))
        spikes[int(unit)] = np.sort(np.concatenate(parts))
    return spikes


def _trials_and_licks(
    rng: np.random.Generator, stim: pd.DataFrame
) -> tuple[pd.DataFrame, np.ndarray]:
    """Return go trials at changes and catch trials at other flashes, and all lick times."""
    changes = stim.loc[stim["is_change"], "start_time"].to_numpy()
    sham = stim.loc[~stim["is_change"] & ~stim["omitted"], "start_time"].to_numpy()
    sham = np.sort(rng.choice(sham, changes.size // 3, replace=False))
    change_time = np.concatenate((changes, sham))
    go = np.concatenate((np.ones(changes.size, bool), np.zeros(sham.size, bool)))
    order = np.argsort(change_time)
    change_time, go = change_time[order], go[order]
    responded = rng.random(go.size) < np.where(go, 0.75, 0.2)
    lick_times = [
        c + 0.35 + np.arange(4) * 0.15 if r else np.zeros(0)
        for c, r in zip(change_time, responded, strict=True)
    ]
    trials = pd.DataFrame(
        {
            "start_time": change_time - 3.0,
            "stop_time": change_time + 1.5,
            "change_time_no_display_delay": change_time,
            "lick_times": lick_times,
            "go": go,
            "catch": ~go,
            "hit": go & responded,
            "miss": go & ~responded,
            "false_alarm": ~go & responded,
            "correct_reject": ~go & ~responded,
            "aborted": False,
            "auto_rewarded": False,
            "reward_volume": np.where(go & responded, 0.003, 0.0),
        },
        index=pd.Index(np.arange(go.size), name="trials_id"),
    )
    spontaneous = rng.uniform(0, SESSION_END, 60)
    licks = np.sort(np.concatenate([*lick_times, spontaneous]))
    return trials, licks


def _signal(
    rng: np.random.Generator, times: np.ndarray, events: np.ndarray, amplitude: float
) -> np.ndarray:
    """Return slow noise plus a bump of ``amplitude`` 0.5-2.5 s after each event."""
    values = np.convolve(rng.normal(0, 1, times.size), np.ones(30) / 30, mode="same")
    for event in events:
        window = (times > event + 0.3) & (times < event + 2.5)
        values[window] += amplitude * np.sin(np.pi * (times[window] - event - 0.3) / 2.2)
    return values


class FakeSession:
    """A BehaviorEcephysSession look-alike; streams in ``missing`` raise MissingDataError."""

    report_kind = "vbn_ecephys"

    def __init__(self, seed: int = 0, missing: Iterable[str] = ()) -> None:
        rng = np.random.default_rng(seed)
        self.missing = frozenset(missing)
        self._probes, self._channels = _channels()
        self._stim = _presentations(rng)
        self._units = _units(rng, self._channels)
        pulses = SESSION_END + 2.0 + np.arange(60) * 0.25
        self._opto = pd.DataFrame(
            {
                "start_time": pulses,
                "stop_time": pulses + 0.01,
                "stimulus_name": "pulse",
                "level": 1.0,
                "duration": 0.01,
                "condition": "a single square pulse",
            }
        )
        self._spikes = _spikes(rng, self._units, self._stim, pulses)
        self._trials, licks = _trials_and_licks(rng, self._stim)
        self._licks = pd.DataFrame({"timestamps": licks, "frame": np.arange(licks.size)})
        frames = np.arange(0.0, SESSION_END, 1 / 60)
        changes = self._stim.loc[self._stim["is_change"], "start_time"].to_numpy()
        speed = 20 + 3 * _signal(rng, frames, changes, -6.0)
        pupil = 2000 + 150 * _signal(rng, frames, changes, 1.5)
        blink = rng.random(frames.size) < 0.01
        self._running = pd.DataFrame({"timestamps": frames, "speed": speed})
        self._eye = pd.DataFrame(
            {
                "timestamps": frames,
                "pupil_area": np.where(blink, np.nan, pupil),
                "likely_blink": blink,
            }
        )
        self._rng = rng

    def _check(self, name: str) -> None:
        """Raise MissingDataError when ``name`` is one of the missing streams."""
        if name in self.missing:
            raise MissingDataError(f"the session file has no {name} (simulated)")

    @property
    def metadata(self) -> dict[str, Any]:
        self._check("metadata")
        return {
            "ecephys_session_id": 1234,
            "behavior_session_id": 4321,
            "session_type": "EPHYS_1_images_G_3uL_reward",
            "mouse_id": "555555",
            "full_genotype": "Sst-IRES-Cre/wt;Ai32(RCL-ChR2(H134R)_EYFP)/wt",
            "sex": "F",
            "age_in_days": 140,
        }

    @property
    def ecephys_session_id(self) -> int:
        return 1234

    @property
    def probes(self) -> pd.DataFrame:
        self._check("probes")
        return self._probes

    def get_channels(self, filter_by_validity: bool = True) -> pd.DataFrame:
        self._check("channels")
        return self._channels

    def get_units(self) -> pd.DataFrame:
        self._check("units")
        return self._units

    @property
    def spike_times(self) -> dict[int, np.ndarray]:
        self._check("spike_times")
        return self._spikes

    def get_spike_times(self, unit_ids: Sequence[int]) -> dict[int, np.ndarray]:
        self._check("spike_times")
        return {unit: self._spikes[unit] for unit in unit_ids}

    @property
    def stimulus_presentations(self) -> pd.DataFrame:
        self._check("stimulus_presentations")
        return self._stim

    @property
    def trials(self) -> pd.DataFrame:
        self._check("trials")
        return self._trials

    @property
    def licks(self) -> pd.DataFrame:
        self._check("licks")
        return self._licks

    @property
    def running_speed(self) -> pd.DataFrame:
        self._check("running_speed")
        return self._running

    @property
    def eye_tracking(self) -> pd.DataFrame:
        self._check("eye_tracking")
        return self._eye

    @property
    def optotagging_table(self) -> pd.DataFrame:
        self._check("optotagging_table")
        return self._opto

    def _trials_with_change_time(self) -> pd.DataFrame:
        trials = self.trials
        return trials.assign(change_time=trials["change_time_no_display_delay"])

    def get_rolling_performance_df(self) -> pd.DataFrame:
        return rolling_performance(self._trials_with_change_time())

    def get_performance_metrics(self) -> dict[str, float]:
        return performance_metrics(self._trials_with_change_time())

    def get_lfp(self, probe_id: int) -> xr.DataArray:
        self._check("lfp")
        channels = self._channels[self._channels["probe_id"] == probe_id].index[::4]
        time = np.arange(0.0, SESSION_END, 1 / 250)
        rng = np.random.default_rng(probe_id)
        waves = np.sin(2 * np.pi * 8 * time)[:, None] * np.linspace(1, -1, channels.size)
        data = 1e-4 * (waves + 0.3 * rng.normal(0, 1, (time.size, channels.size)))
        return xr.DataArray(
            data.astype(np.float32),
            dims=("time", "channel"),
            coords={"time": time, "channel": channels.to_numpy()},
            name="LFP",
        )

    def get_current_source_density(self, probe_id: int) -> xr.DataArray:
        self._check("csd")
        time = np.arange(-0.1, 0.25, 1 / 2500)
        depth = np.arange(0, 3840, 40)
        profile = np.sin(depth / 400.0)[:, None] * np.exp(-(((time - 0.06) / 0.02) ** 2))
        return xr.DataArray(
            profile * 1e3,
            dims=("virtual_channel_index", "time"),
            coords={
                "virtual_channel_index": np.arange(depth.size),
                "time": time,
                "vertical_position": ("virtual_channel_index", depth),
            },
            name="CSD",
            attrs={"units": "V/cm^2"},
        )
