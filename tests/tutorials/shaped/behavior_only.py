"""Shaped like the AllenSDK notebook "Analyzing behavior-only sessions from the Visual Behavior
Neuropixels dataset".

The notebook's calls, arguments, columns and time window, in its order (cell numbers are the
notebook's). It lists one mouse's sessions (here the first mouse of the table), opens one of
its habituation sessions (its own NWB file), samples licks and rewards, plots 775-800 s of
running, licks, rewards and stimuli, and computes hit rates per image overall and while the
mouse was engaged. Plot colours are the notebook's business; the selections are returned.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def run(cache: Any, context: dict[str, Any]) -> dict[str, Any]:
    """Return what each cell shows, in order."""
    shown: dict[str, Any] = {}
    table = cache.get_behavior_session_table()
    shown["7 head"] = table.head()
    mouse_id = table["mouse_id"].iloc[0]
    mouse_sessions = table[table["mouse_id"] == mouse_id].sort_values(by="date_of_acquisition")
    shown["9 the mouse's sessions"] = mouse_sessions
    shown["10 count"] = len(mouse_sessions)
    habituation = mouse_sessions[
        mouse_sessions["session_type"].str.startswith("HABITUATION")
        & (mouse_sessions["file_id"] >= 0)
    ]
    session = cache.get_behavior_session(habituation.index[-1])
    shown["15 list_data_attributes_and_methods"] = session.list_data_attributes_and_methods()
    shown["19 task_parameters"] = session.task_parameters
    presentations = session.stimulus_presentations
    shown["22 presentations head"] = presentations.head(5)
    shown["25 licks sample"] = session.licks.sample(5, random_state=42)
    shown["27 rewards sample"] = session.rewards.sample(5, random_state=42)
    shown["29 running head"] = session.running_speed.head()
    images = np.sort(list(session.stimulus_presentations["image_name"].unique()))
    shown["32 images"] = images
    shown.update(_window(session, presentations, 775, 800))
    shown.update(_hit_rates(session))
    return shown


def _window(session: Any, presentations: Any, initial_time: float, final_time: float) -> dict:
    """Cell 36: running, licks, rewards and stimuli between the two times."""
    running = session.running_speed.query(
        "timestamps >= @initial_time and timestamps <= @final_time"
    )
    licks = session.licks.query("timestamps >= @initial_time and timestamps <= @final_time")
    rewards = session.rewards.query("timestamps >= @initial_time and timestamps <= @final_time")
    stimuli = presentations.query("end_time >= @initial_time and start_time <= @final_time")
    return {
        "36 running": running,
        "36 licks": licks["timestamps"].values,
        "36 rewards": rewards["timestamps"].values,
        "36 stimuli": stimuli[["start_time", "end_time", "image_name"]],
    }


def _hit_rates(session: Any) -> dict[str, Any]:
    """Cells 39-48: trials, metrics and hit rates per image, all and engaged trials."""
    trials = session.trials
    shown: dict[str, Any] = {"39 trials head": trials.head()}
    shown["42 performance metrics"] = session.get_performance_metrics()
    per_image = trials.pivot_table(index="change_image_name", values=["hit", "miss"], aggfunc=sum)
    per_image["hit_rate"] = per_image["hit"] / (per_image["hit"] + per_image["miss"])
    shown["44 hit rate per image"] = per_image
    rolling = session.get_rolling_performance_df()
    shown["46 reward rate"] = rolling["reward_rate"].values
    engaged = trials[rolling["reward_rate"] > 2]
    engaged_rates = engaged.pivot_table(
        index="change_image_name", values=["hit", "miss"], aggfunc=sum
    )
    engaged_rates["hit_rate"] = engaged_rates["hit"] / (
        engaged_rates["hit"] + engaged_rates["miss"]
    )
    shown["48 hit rate per image, engaged"] = engaged_rates
    return shown
