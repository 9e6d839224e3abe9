"""Shaped like the AllenSDK notebook "Identifying experiments and sessions of interest using
the data manifest".

The notebook's calls, arguments and columns, in its order (cell numbers are the notebook's).
The mouse whose training history it lists and the session whose units it maps are picked as
the notebook picks them (a mouse of the release, the second session of the table). Cell 74
groups units by probe to plot them in CCF space; pandas 3 no longer hands the grouping
column to ``groupby(...).apply``, so the groups are walked explicitly.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def run(cache: Any, context: dict[str, Any]) -> dict[str, Any]:
    """Return what each cell shows, in order."""
    shown: dict[str, Any] = {}
    sessions = cache.get_ecephys_session_table()
    shown["21 columns"] = sessions.columns
    shown["25 sessions by image set and experience"] = sessions.pivot_table(
        index=["session_number", "experience_level"],
        columns=["image_set"],
        values="behavior_session_id",
        aggfunc=len,
    )
    shown["28 genotypes"] = np.sort(sessions.genotype.unique())
    by_sex = sessions.pivot_table(
        values="session_number", index="genotype", columns="sex", aggfunc=len
    )
    shown["29 sessions by genotype and sex"] = by_sex.rename(
        columns={"session_number": "session_count"}
    )
    shown["31 mice by genotype and sex"] = sessions.pivot_table(
        values="mouse_id", index="genotype", columns="sex", aggfunc=lambda x: len(np.unique(x))
    )
    everything = cache.get_ecephys_session_table(filter_abnormalities=False)
    shown["33 counts"] = [len(sessions), len(everything)]
    flags = everything[["abnormal_histology", "abnormal_activity"]]
    both = ~everything["abnormal_histology"].isnull() & ~everything["abnormal_activity"].isnull()
    shown["35 flagged session"] = flags[both].iloc[0]
    _behavior(cache, sessions, shown)
    _units_probes_channels(cache, sessions, shown)
    return shown


def _behavior(cache: Any, sessions: Any, shown: dict[str, Any]) -> None:
    """Cells 40-56: the behavior sessions, their systems, mice, stages and one history."""
    behavior = cache.get_behavior_session_table()
    shown["40 behavior sessions"] = [len(behavior), behavior.head()]
    shown["42 columns"] = behavior.columns
    shown["44 equipment"] = np.sort(behavior.equipment_name.unique())
    shown["47 mice"] = len(behavior.mouse_id.unique())
    shown["51 session types"] = np.sort(behavior.session_type.unique())
    mouse = sessions["mouse_id"].iloc[0]
    history = behavior[behavior["mouse_id"] == mouse].sort_values(by="date_of_acquisition")
    columns = [
        "session_type",
        "equipment_name",
        "date_of_acquisition",
        "prior_exposures_to_image_set",
        "prior_exposures_to_omissions",
    ]
    shown["56 training history"] = history[columns]


def _units_probes_channels(cache: Any, sessions: Any, shown: dict[str, Any]) -> None:
    """Cells 60-74: units of one session, its probes, channels and units in CCF space."""
    units = cache.get_unit_table()
    shown["60 units"] = [len(units), units.head()]
    session_id = sessions.index.values[1]
    session_units = units[units["ecephys_session_id"] == session_id]
    shown["62 session units"] = session_units.head()
    probes_of_units = np.sort(session_units.ecephys_probe_id.unique())
    shown["63 probes recorded"] = len(probes_of_units)
    probes = cache.get_probe_table()
    session_probes = probes[probes.ecephys_session_id == session_id].index.values
    shown["65 same probes"] = bool(np.all(probes_of_units == session_probes))
    shown["67 probes head"] = probes.head()
    channels = cache.get_channel_table()
    shown["69 channels head"] = channels.head()
    shown["70 last channel"] = channels.probe_channel_number.max()
    merged = session_units.merge(channels, left_on="ecephys_channel_id", right_index=True)
    placed = {}
    for probe_id, group in merged.groupby("ecephys_probe_id_x"):
        placed[str(probe_id)] = np.stack(
            [
                group["left_right_ccf_coordinate_x"].to_numpy(),
                group["anterior_posterior_ccf_coordinate_x"].to_numpy(),
                -group["dorsal_ventral_ccf_coordinate_x"].to_numpy(),
            ]
        )
    shown["74 units in CCF by probe"] = placed
