"""Shaped like the VBN overview tutorial (AllenNeuralDynamics/neurips-vbn-tutorial).

Its calls, arguments, columns, windows and indices, in its order (cell numbers are the
notebook's): the metadata tables, an Sst mouse's novel-image session (here the first), units
per area, good units by the recommended quality filters, change responses and receptive fields
of VISp units, optotagging, the LFP of the session's probe with LFP (one second at 100 s,
flash-aligned, channels above 2800 um), trials, and behaviour around the 16th reward.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tests.tutorials.shaped.lfp_analysis import align
from tests.tutorials.shaped.psth import psth, receptive_field
from tests.tutorials.shaped.quickstart import optotagging


def run(cache: Any, context: dict[str, Any]) -> dict[str, Any]:
    """Return what each cell shows, in order."""
    shown: dict[str, Any] = {}
    getters = (
        (29, cache.get_ecephys_session_table),
        (32, cache.get_behavior_session_table),
        (35, cache.get_probe_table),
        (38, cache.get_channel_table),
        (41, cache.get_unit_table),
    )
    for cell, getter in getters:
        table = getter()
        shown[f"{cell} count and head"] = [len(table), table.head()]
    sessions = cache.get_ecephys_session_table()
    chosen = sessions.loc[
        (sessions["genotype"].str.contains("Sst")) & (sessions["experience_level"] == "Novel")
    ]
    shown["53 Sst novel head"] = chosen.head()
    session = cache.get_ecephys_session(ecephys_session_id=chosen.index[0])
    shown["57 metadata"] = session.metadata
    unit_channels = session.get_units().merge(
        session.get_channels(), left_on="peak_channel_id", right_index=True
    )
    # (a dict: pandas orders tied counts and names the series differently across versions)
    shown["62 units per area"] = dict(unit_channels.value_counts("structure_acronym").items())
    unit_channels = unit_channels.sort_values("probe_vertical_position", ascending=False)
    good = unit_channels.loc[
        (unit_channels["quality"] == "good")
        & (unit_channels["isi_violations"] < 0.5)
        & (unit_channels["amplitude_cutoff"] < 0.1)
        & (unit_channels["presence_ratio"] > 0.9)
    ]
    spike_times = session.spike_times
    presentations = session.stimulus_presentations
    shown["67 columns"] = sorted(presentations.columns)
    shown["69 first row of each block"] = presentations.groupby("stimulus_block")[
        ["stimulus_block", "stimulus_name", "active", "duration", "start_time"]
    ].head(1)
    changes = presentations[presentations["active"] & presentations["is_change"]]
    visp = good[good["structure_acronym"] == "VISp"]
    shown["78 VISp change responses"] = {
        u: psth(spike_times[u], changes["start_time"].values - 1, 2.5, bin_size=0.01)[0]
        for u in visp.index
    }
    gabors = presentations[presentations["stimulus_name"].str.contains("gabor")]
    xs, ys = np.sort(gabors.position_x.unique()), np.sort(gabors.position_y.unique())
    shown["82 gabor parameters"] = [
        gabors["orientation"].unique(),
        gabors["temporal_frequency"].unique()[0],
        gabors["spatial_frequency"].unique()[0],
        xs,
        ys,
    ]
    shown["84 receptive fields"] = {
        u: receptive_field(spike_times[u], gabors, xs, ys) for u in visp.index
    }
    shown.update(optotagging(session, good, spike_times, first_cell=88))
    shown.update(_lfp(session, presentations))
    shown.update(_behaviour(session, presentations))
    return shown


def _lfp(session: Any, presentations: Any) -> dict[str, Any]:
    """Cells 100-118: probes, one second of LFP, flash-aligned LFP, channels near the top."""
    probes = session.probes
    shown: dict[str, Any] = {"100 probes": probes}
    probe_id = probes.index[probes["has_lfp_data"].astype(bool)][0]
    lfp = session.get_lfp(probe_id)
    second = lfp.sel(time=slice(100, 101))
    shown["103 one second"] = second.values
    shown["105 channel 10"] = second.sel(channel=second.channel[10]).values
    shown["107 transposed"] = np.asarray(second.T)
    flashes = presentations[presentations["stimulus_name"].str.contains("flash")]
    aligned = align(
        lfp, np.arange(-0.5, 0.5, 1 / 500), flashes.start_time.values, flashes.index.values
    )
    shown["113 flash-aligned mean"] = aligned.mean(dim="presentation_id").data
    channels = session.get_channels()
    in_brain = channels[
        (channels["probe_id"] == probe_id) & (~channels["structure_acronym"].str.contains("root"))
    ]
    shown["115 brain surface"] = in_brain["probe_vertical_position"].max()
    shown["118 top channels"] = in_brain[in_brain["probe_vertical_position"] > 2800][
        "structure_acronym"
    ]
    return shown


def _behaviour(session: Any, presentations: Any) -> dict[str, Any]:
    """Cells 121-135: trials, eye, running, licks, and each around the 16th reward."""
    eye, running, licks = session.eye_tracking, session.running_speed, session.licks
    no_blinks = eye[~eye["likely_blink"]]
    shown: dict[str, Any] = {
        "121 trials head": session.trials.head(),
        "127 eye head": eye.head(),
        "129 no blinks head": no_blinks.head(),
        "131 running head": running.head(),
        "133 licks head": licks.head(),
    }
    reward_time = session.rewards.iloc[15]["timestamps"]
    window = f"{reward_time - 3.0} and timestamps <= {reward_time + 3.0} "
    shown["135 running"] = running.query(f"timestamps >= {window}")
    shown["135 pupil"] = no_blinks.query(f"timestamps >= {window}")[["timestamps", "pupil_area"]]
    behaviour = presentations[presentations["active"]]
    behaviour = behaviour[(behaviour["omitted"] == False)]  # noqa: E712 (the tutorial's test)
    flashes = behaviour.query(
        f"end_time >= {reward_time - 3.0} and start_time <= {reward_time + 3.0}"
    )
    shown["135 flashes"] = flashes[["start_time", "end_time", "image_name"]]
    shown["135 licks"] = licks.query(f"timestamps >= {window}")
    return shown
