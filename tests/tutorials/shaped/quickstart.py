"""Shaped like the AllenSDK notebook "Visual Behavior Neuropixels Quickstart".

The notebook's calls, arguments and columns, in its order (cell numbers are the notebook's).
It opens an Sst mouse's novel-image session (here the first such session of the table),
computes change responses of good VISp units sorted by depth, their receptive fields on the
gabor grid, and cortical responses to the shortest, strongest light pulses. Plot calls are
left out; the arrays they would show are returned.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tests.tutorials.shaped.psth import psth, receptive_field


def run(cache: Any, context: dict[str, Any]) -> dict[str, Any]:
    """Return what each cell shows, in order."""
    shown: dict[str, Any] = {}
    sessions = cache.get_ecephys_session_table()
    sst_novel = sessions.loc[
        (sessions["genotype"].str.contains("Sst")) & (sessions["experience_level"] == "Novel")
    ]
    shown["6 Sst novel sessions"] = sst_novel.head()
    session = cache.get_ecephys_session(ecephys_session_id=sst_novel.index[0])
    shown["10 metadata"] = session.metadata
    units = session.get_units()
    channels = session.get_channels()
    unit_channels = units.merge(channels, left_on="peak_channel_id", right_index=True)
    # (a dict: pandas orders tied counts and names the series differently across versions)
    shown["14 units per area"] = dict(unit_channels.value_counts("structure_acronym").items())
    by_depth = unit_channels.sort_values("probe_vertical_position", ascending=False)
    good = by_depth.loc[
        (by_depth["snr"] > 1) & (by_depth["isi_violations"] < 1) & (by_depth["firing_rate"] > 0.1)
    ]
    # Units of equal depth come in the sort's order, which is not stable and differs between
    # numpy versions: per-unit results are keyed by unit id.
    shown["17 good units and their depths"] = dict(good["probe_vertical_position"].items())
    spike_times = session.spike_times
    presentations = session.stimulus_presentations
    changes = presentations[presentations["active"] & presentations["is_change"]]
    change_times = changes["start_time"].values
    shown["19 change times"] = change_times
    area_units = good[good["structure_acronym"] == "VISp"]
    responses = {
        u: psth(spike_times[u], change_times - 1, 2.5, bin_size=0.01) for u in area_units.index
    }
    shown["22 VISp change responses"] = {u: rate for u, (rate, _) in responses.items()}
    shown["22 bins"] = next(iter(responses.values()))[1]
    gabors = presentations[presentations["stimulus_name"].str.contains("gabor")]
    xs, ys = np.sort(gabors.position_x.unique()), np.sort(gabors.position_y.unique())
    shown["26 gabor positions"] = [xs, ys]
    shown["27 receptive fields"] = {
        u: receptive_field(spike_times[u], gabors, xs, ys) for u in area_units.index
    }
    shown.update(optotagging(session, good, spike_times, first_cell=31))
    return shown


def optotagging(
    session: Any, good: Any, spike_times: dict[int, np.ndarray], first_cell: int
) -> dict[str, Any]:
    """Return the optotagging cells: the light table and cortical responses to short pulses."""
    shown: dict[str, Any] = {}
    opto = session.optotagging_table
    shown[f"{first_cell} optotagging table"] = opto.head()
    shortest, strongest = opto.duration.min(), opto.level.max()
    cortical = good[good["structure_acronym"].str.contains("VIS")]
    pulse_times = opto.loc[(opto["duration"] == shortest) & (opto["level"] == strongest)]
    starts = pulse_times["start_time"].values - 0.01
    rates = {u: psth(spike_times[u], starts, 0.03, bin_size=0.001)[0] for u in cortical.index}
    shown[f"{first_cell + 4} opto responses"] = rates
    baseline, light = slice(0, 9), slice(11, 18)
    shown[f"{first_cell + 7} opto-evoked rates"] = {
        u: rate[light].mean() - rate[baseline].mean() for u, rate in rates.items()
    }
    return shown
