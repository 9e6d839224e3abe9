"""Shaped like the AllenSDK notebook "Aligning behavioral data to task events with the stimulus
and trials tables".

The notebook's calls, arguments, columns and indices, in its order (cell numbers are the
notebook's): the stimulus blocks, the passive replay matching the active block image for
image, flash timing, omissions, response latencies from the trials' change frames and the
licks, and running, pupil, licks and flashes around the 16th reward. The session is the Sst
mouse's novel-image session.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def run(cache: Any, context: dict[str, Any]) -> dict[str, Any]:
    """Return what each cell shows, in order."""
    shown: dict[str, Any] = {}
    sessions = cache.get_ecephys_session_table()
    novel_sst = sessions[
        sessions["genotype"].str.contains("Sst") & (sessions["experience_level"] == "Novel")
    ]
    session = cache.get_ecephys_session(ecephys_session_id=novel_sst.index[0])
    presentations = session.stimulus_presentations
    shown["11 columns"] = sorted(presentations.columns)
    first_rows = presentations.groupby("stimulus_block")[
        ["stimulus_block", "stimulus_name", "active", "duration", "start_time"]
    ].head(1)
    shown["13 first row of each block"] = first_rows
    active_images = presentations[presentations["stimulus_block"] == 0]
    passive_images = presentations[presentations["stimulus_block"] == 5]
    shown["17 replay matches"] = bool(
        np.all(active_images["image_name"].values == passive_images["image_name"].values)
    )
    active = presentations[presentations["active"]]
    shown_flashes = active[~active["omitted"]]
    shown["21 durations"] = shown_flashes.duration.values
    shown["21 inter-flash intervals"] = shown_flashes["start_time"].diff().values
    shown["23 omitted fraction"] = np.sum(active.omitted) / len(active)
    shown.update(_latencies(session, presentations))
    shown.update(_around_reward(session, presentations))
    return shown


def _latencies(session: Any, presentations: Any) -> dict[str, Any]:
    """Cells 26-34: trials, change times with display delay, and hit response latencies."""
    trials = session.trials
    shown: dict[str, Any] = {"26 trials head": trials.head()}

    def change_time(row: Any) -> float:
        frame = row["change_frame"]
        if np.isnan(frame) or frame < 0:
            return np.nan
        return presentations[presentations.start_frame == frame]["start_time"].values[0]

    trials["change_time_with_display_delay"] = trials.apply(change_time, axis=1)
    shown["30 change times with display delay"] = trials["change_time_with_display_delay"]
    licks = session.licks
    hits = trials[trials["hit"]]
    first_lick = licks.timestamps.values[
        np.searchsorted(licks.timestamps, hits["change_time_with_display_delay"])
    ]
    shown["34 response latencies"] = first_lick - hits["change_time_with_display_delay"].values
    return shown


def _around_reward(session: Any, presentations: Any) -> dict[str, Any]:
    """Cells 37-47: eye tracking, running and licks, and each of them around one reward."""
    eye, running, licks = session.eye_tracking, session.running_speed, session.licks
    no_blinks = eye[~eye["likely_blink"]]
    shown: dict[str, Any] = {
        "39 eye head": eye.head(),
        "41 eye without blinks head": no_blinks.head(),
        "43 running head": running.head(),
        "45 licks head": licks.head(),
    }
    reward_time = session.rewards.iloc[15]["timestamps"]
    lo, hi = reward_time - 3.0, reward_time + 3.0
    shown["47 running"] = running.query(f"timestamps >= {lo} and timestamps <= {hi} ")
    shown["47 pupil"] = no_blinks.query(f"timestamps >= {lo} and timestamps <= {hi} ")[
        ["timestamps", "pupil_area"]
    ]
    behaviour = presentations[presentations["active"]]
    behaviour = behaviour[~behaviour["omitted"]]
    flashes = behaviour.query(f"end_time >= {lo} and start_time <= {hi}")
    shown["47 flashes"] = flashes[["start_time", "end_time", "image_name"]]
    shown["47 licks"] = licks.query(f"timestamps >= {lo} and timestamps <= {hi} ")
    colours = dict(zip(flashes["image_name"].unique(), ["0.3", "0.8"], strict=False))
    shown["47 flash colours"] = [colours[name] for name in flashes["image_name"]]
    return shown
