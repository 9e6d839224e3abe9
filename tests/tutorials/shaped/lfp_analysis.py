"""Shaped like the AllenSDK notebook "LFP Analysis" (Visual Behavior Neuropixels).

The notebook's calls, arguments, columns and time windows, in its order (cell numbers are the
notebook's). It picks a probe with LFP through VISp (here the first of the table), reads one
second at 100 s, aligns the LFP to full-field flashes and to a VISp unit's spikes, takes the
window 500-510 s, and reads the CSD. The modern flavour's ``structure_acronyms`` are lists,
so its probe is picked by list membership instead of by the list repr's text.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def align(lfp: Any, window: np.ndarray, times: np.ndarray, ids: Any = None) -> Any:
    """Return the LFP around each of ``times`` (nearest samples), as channel x event x lag."""
    wanted = np.concatenate([window + t for t in times])
    ids = np.arange(len(times)) if ids is None else ids
    lags = pd.MultiIndex.from_product(
        (ids, window), names=("presentation_id", "time_from_presentation_onset")
    )
    nearest = lfp.sel(time=wanted, method="nearest").to_dataset(name="aligned_lfp")
    return nearest.assign(time=lags).unstack("time")["aligned_lfp"]


def visp_probe(probes: Any, modern: bool) -> Any:
    """Return the probe ids with LFP whose track lists VISp before another area (cell 10)."""
    valid = probes[probes["has_lfp_data"]]
    if modern:
        return valid[valid["structure_acronyms"].map(lambda areas: "VISp" in areas[:-1])]
    return valid[valid["structure_acronyms"].str.contains("'VISp',")]


def run(cache: Any, context: dict[str, Any]) -> dict[str, Any]:
    """Return what each cell shows, in order."""
    shown: dict[str, Any] = {}
    probes = cache.get_probe_table()
    valid = probes[probes["has_lfp_data"]]
    shown["8 fraction with LFP"] = len(valid) / len(probes)
    through_visp = visp_probe(probes, context.get("modern", False))
    shown["10 probes through VISp"] = through_visp.head().index
    probe_id = through_visp.index[0]
    session = cache.get_ecephys_session(
        ecephys_session_id=probes.loc[probe_id]["ecephys_session_id"]
    )
    lfp = session.get_lfp(probe_id)
    shown["16 lfp"] = [list(lfp.dims), list(lfp.shape), lfp.name]
    one_second = lfp.sel(time=slice(100, 101))
    shown["18 one second"] = one_second.values
    shown["20 channel 10"] = one_second.sel(channel=one_second.channel[10]).values
    shown["22 transposed"] = np.asarray(one_second.T)
    presentations = session.stimulus_presentations
    flashes = presentations[presentations["stimulus_name"].str.contains("flash")]
    aligned = align(
        lfp, np.arange(-0.5, 0.5, 1 / 500), flashes.start_time.values, flashes.index.values
    )
    shown["29 flash-aligned mean"] = aligned.mean(dim="presentation_id").data
    channels = session.get_channels()
    depths = [channels.loc[c]["probe_vertical_position"] for c in lfp.channel.values]
    in_brain = channels[
        (channels["probe_id"] == probe_id) & (~channels["structure_acronym"].str.contains("root"))
    ]
    shown["31 depths and brain surface"] = [depths, in_brain["probe_vertical_position"].max()]
    shown.update(_unit_and_csd(session, lfp, channels, presentations, probe_id))
    shown["55 areas of the probe"] = probes.loc[probe_id]["structure_acronyms"]
    return shown


def _unit_and_csd(
    session: Any, lfp: Any, channels: Any, presentations: Any, probe_id: int
) -> dict[str, Any]:
    """Cells 36-53: a VISp unit on an LFP channel, its spikes and the LFP, and the CSD."""
    shown: dict[str, Any] = {}
    units = session.get_units()
    on_lfp = units[
        (units.peak_channel_id.isin(lfp.channel.values))
        & (units.isi_violations < 0.5)
        & (units.amplitude > 200)
    ]
    on_lfp = on_lfp.merge(channels, left_on="peak_channel_id", right_index=True)
    visp = on_lfp[on_lfp.structure_acronym.str.contains("VISp")]
    unit_id = visp.index.values[0]
    peak_channel = on_lfp.loc[unit_id]["peak_channel_id"]
    shown["36 unit and peak channel"] = [
        unit_id,
        peak_channel,
        on_lfp.loc[unit_id]["probe_vertical_position"],
    ]
    spikes = session.spike_times[unit_id]
    shown["38 spikes 500-510 s"] = spikes[(spikes > 500) & (spikes < 510)]
    window = lfp.sel(time=slice(500, 510)).sel(channel=peak_channel, method="nearest")
    shown["38 lfp 500-510 s"] = window.values
    shown_stims = presentations[
        (presentations.start_time > 500)
        & (presentations.start_time < 510)
        & (~presentations.omitted)
    ]
    shown["40 stimuli 500-510 s"] = shown_stims.start_time.values
    rng = np.random.default_rng(seed=42)
    chosen = rng.choice(spikes, min((spikes.size, 1000)), replace=False)
    triggered = align(lfp, np.arange(-0.1, 0.1, 1 / 1250), chosen)
    shown["45 spike-triggered mean"] = triggered.mean(dim="presentation_id").data
    csd = session.get_current_source_density(probe_id)
    shown["51 csd"] = [
        list(csd.dims),
        csd.values,
        csd["time"].values,
        csd["vertical_position"].values,
    ]
    v1 = channels[
        (channels["probe_id"] == probe_id) & (channels["structure_acronym"].str.contains("VISp"))
    ]
    shown["53 end of cortex"] = v1["probe_vertical_position"].min()
    return shown
