"""Shaped like the AllenSDK notebook "Unit Quality Metrics" (Visual Behavior Neuropixels).

The notebook's calls, arguments and columns, in its order (cell numbers are the notebook's).
It plots smoothed densities of each metric per brain region; the histograms are returned
here (the smoothing and the plots are matplotlib's and scipy's). The session whose waveforms
it shows is picked here as the Sst mouse's novel-image session.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: The notebook's grouping of structures into regions.
REGIONS = {
    "cortex": [
        "VISp",
        "VISl",
        "VISrl",
        "VISam",
        "VISpm",
        "VIS",
        "VISal",
        "VISmma",
        "VISmmp",
        "VISli",
    ],
    "thalamus": [
        "LGd",
        "LD",
        "LP",
        "VPM",
        "TH",
        "MGm",
        "MGv",
        "MGd",
        "PO",
        "LGv",
        "VL",
        "VPL",
        "POL",
        "Eth",
        "PoT",
        "PP",
        "PIL",
        "IntG",
        "IGL",
        "SGN",
        "VPL",
        "PF",
        "RT",
    ],
    "hippocampus": ["CA1", "CA2", "CA3", "DG", "SUB", "POST", "PRE", "ProS", "HPF"],
    "midbrain": [
        "MB",
        "SCig",
        "SCiw",
        "SCsg",
        "SCzo",
        "PPT",
        "APN",
        "NOT",
        "MRN",
        "OP",
        "LT",
        "RPF",
        "CP",
    ],
}
#: metric -> (histogram bins, log10 of the values first)
METRICS = {
    "presence_ratio": (np.linspace(0, 1, 100), False),
    "amplitude_cutoff": (np.linspace(0, 0.5, 200), False),
    "isi_violations": (np.linspace(0, 10, 200), False),
    "snr": (np.linspace(0, 10, 100), False),
    "isolation_distance": (np.linspace(0, 170, 50), False),
    "d_prime": (np.linspace(0, 15, 50), False),
    "nn_hit_rate": (np.linspace(0, 1, 100), False),
}


def _density(values: Any, bins: np.ndarray) -> np.ndarray:
    """Return the normalised histogram the notebook smooths and plots."""
    return np.histogram(values, bins=bins, density=True)[0]


def run(cache: Any, context: dict[str, Any]) -> dict[str, Any]:
    """Return what each cell shows, in order."""
    shown: dict[str, Any] = {}
    units = cache.get_unit_table()
    shown["7 units"] = len(units)
    shown["12 firing rate"] = _density(units["firing_rate"], np.linspace(0, 50, 100))
    log_bins = np.linspace(-3, 2, 100)
    shown["14 log firing rate"] = _density(np.log10(units["firing_rate"]), log_bins)
    well_isolated = units[units.nn_hit_rate > 0.9]["firing_rate"]
    shown["16 log firing rate, nn_hit_rate > 0.9"] = _density(np.log10(well_isolated), log_bins)
    for region, areas in REGIONS.items():
        in_region = units[units.structure_acronym.isin(areas)]
        shown[f"18 log firing rate {region}"] = _density(
            np.log10(in_region["firing_rate"]), log_bins
        )
        for metric, (bins, _) in METRICS.items():
            shown[f"{metric} {region}"] = _density(in_region[metric], bins)
        isi = np.log10(in_region["isi_violations"] + 1e-5)
        shown[f"36 log isi_violations {region}"] = _density(isi, np.linspace(-6, 2.5, 100))
    shown["24 presence ratio > 0.9"] = np.around(np.sum(units.presence_ratio > 0.9) / len(units), 2)
    shown["30 at the cutoff cap"] = np.around(np.sum(units.amplitude_cutoff == 0.5) / len(units), 2)
    shown["38 no isi violations"] = np.around(np.sum(units.isi_violations == 0.0) / len(units), 2)
    shown["59 metric ranges"] = {
        m: np.percentile(units[m].values[~np.isnan(units[m].values)], [0, 25, 50, 75, 100])
        for m in (
            "firing_rate",
            "presence_ratio",
            "amplitude_cutoff",
            "isi_violations",
            "snr",
            "isolation_distance",
            "d_prime",
            "nn_hit_rate",
        )
    }
    first = units[
        (units.isi_violations < 0.5) & (units.amplitude_cutoff < 0.1) & (units.presence_ratio > 0.9)
    ]
    shown["62 VCN default filters"] = len(first)
    shown["64 snr and rate filters"] = len(units[(units.snr > 1) & (units.firing_rate > 0.2)])
    shown.update(_waveforms(cache))
    return shown


def _waveforms(cache: Any) -> dict[str, Any]:
    """Cells 67-73: waveform metrics per area in one session and two example units."""
    sessions = cache.get_ecephys_session_table()
    novel_sst = sessions[
        sessions["genotype"].str.contains("Sst") & (sessions["experience_level"] == "Novel")
    ]
    session = cache.get_ecephys_session(ecephys_session_id=novel_sst.index[0])
    units = session.get_units()
    channels = session.get_channels()
    units = units.merge(channels, left_on="peak_channel_id", right_index=True)
    stats = units.pivot_table(
        index="structure_acronym",
        values=["velocity_above", "velocity_below", "waveform_duration"],
        aggfunc=["mean", "count"],
    )
    shown: dict[str, Any] = {
        "70 waveform features of well-sampled areas": stats[
            stats["count"]["waveform_duration"] > 50
        ]["mean"]
    }
    unit1 = units[
        (units["velocity_below"] < 0)
        & (units["waveform_duration"] > 0.4)
        & (units["structure_acronym"] == "CA1")
        & (units["quality"] == "good")
    ].iloc[1]
    unit2 = units[
        (units["velocity_below"] > 0)
        & (units["waveform_duration"] < 0.3)
        & (units["structure_acronym"] == "MRN")
        & (units["quality"] == "good")
    ].iloc[0]
    for unit in (unit1, unit2):
        shown[f"73 waveform of {unit.structure_acronym}"] = session.mean_waveforms[unit.name]
        shown[f"73 peak channel of {unit.structure_acronym}"] = unit["probe_channel_number"]
    return shown
