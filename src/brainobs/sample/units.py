"""Simulated units: placement on the probes, response properties and quality metrics.

Each unit gets a peak channel in a structure, a baseline rate typical of that structure, and
(for visually driven structures) an image tuning with a preferred image, a change and a
novelty gain, an omission response in a subset, a receptive field on the gabor grid, a
full-field flash response, a running modulation and, in Sst/Vip mice, optotagging for the
units of the matching Cre population. Quality metrics are drawn to resemble the released
distributions (amplitude_cutoff capped at 0.5, presence ratio near 0.99, ...).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from brainobs.sample.anatomy import stripped

#: structure -> (median baseline Hz, P(visually responsive), response latency s)
AREA_PROPERTIES: dict[str, tuple[float, float, float]] = {
    "VISp": (3.0, 0.85, 0.045), "VISl": (3.0, 0.8, 0.055), "VISal": (3.0, 0.8, 0.06),
    "VISrl": (2.8, 0.7, 0.06), "VISam": (2.8, 0.65, 0.065), "VISpm": (2.8, 0.7, 0.065),
    "LGd": (9.0, 0.9, 0.035), "LP": (7.0, 0.65, 0.055), "CA1": (1.2, 0.1, 0.12),
    "CA3": (1.6, 0.1, 0.12), "DG": (0.8, 0.08, 0.12), "APN": (12.0, 0.3, 0.07),
    "MB": (9.0, 0.2, 0.07), "SCig": (6.0, 0.7, 0.045),
    "MRN": (10.0, 0.2, 0.07), "NB": (8.0, 0.15, 0.08), "POST": (2.0, 0.3, 0.08),
    "HPF": (1.5, 0.1, 0.12), "ProS": (1.5, 0.1, 0.12), "SUB": (2.0, 0.1, 0.12),
    "PO": (7.0, 0.5, 0.06), "TH": (6.0, 0.3, 0.06), "MGv": (8.0, 0.2, 0.05),
    "PIL": (7.0, 0.2, 0.06), "NOT": (9.0, 0.6, 0.05),
}  # fmt: skip
#: relative density of units per channel in each structure
DENSITY = {"VIS": 1.0, "LGd": 0.9, "LP": 0.9, "CA1": 0.9, "CA3": 0.5, "DG": 0.4}
TAG_FRACTION = {"Sst-IRES-Cre": 0.07, "Vip-IRES-Cre": 0.05}


@dataclass
class UnitPopulation:
    """The units of one session: a table plus per-unit image gains over ``images``."""

    table: pd.DataFrame
    images: list[str]
    image_gain: np.ndarray  # units x images, peak rate increase (Hz)


def is_cortex(structure: str) -> bool:
    """Return True for the visual cortical areas."""
    return structure.startswith("VIS")


def place_units(
    rng: np.random.Generator, channels: pd.DataFrame, n_units: int, first_unit_id: int
) -> pd.DataFrame:
    """Return ``n_units`` units on in-brain valid channels of one probe, tip first."""
    inside = channels[channels["structure_acronym_full"].notna() & channels["valid_data"]]
    area = inside["structure_acronym_full"].map(stripped)
    weight = area.map(lambda a: DENSITY.get("VIS" if is_cortex(a) else a, 0.6)).to_numpy()
    picks = np.sort(rng.choice(len(inside), n_units, p=weight / weight.sum()))
    rows = inside.iloc[picks]
    ids = first_unit_id + np.cumsum(rng.integers(1, 4, n_units))
    return pd.DataFrame(
        {
            "unit_id": ids,
            "ecephys_channel_id": rows["ecephys_channel_id"].to_numpy(),
            "ecephys_probe_id": rows["ecephys_probe_id"].to_numpy(),
            "structure_acronym": rows["structure_acronym_full"].map(stripped).to_numpy(),
            "probe_channel_number": rows["probe_channel_number"].to_numpy(),
            "local_index": np.arange(n_units) + rng.integers(0, 5),
            "cluster_id": np.sort(rng.choice(n_units * 3, n_units, replace=False)),
        }
    )


def unit_population(
    rng: np.random.Generator,
    units: pd.DataFrame,
    images: list[str],
    cre_line: str | None,
    rate_scale: float = 1.0,
) -> UnitPopulation:
    """Return ``units`` with response properties and their image gains."""
    table = units.copy()
    n = len(table)
    props = np.array([AREA_PROPERTIES[a] for a in table["structure_acronym"]])
    cortex = table["structure_acronym"].map(is_cortex).to_numpy()
    fast = cortex & (rng.random(n) < 0.2)
    table["fast_spiking"] = fast
    table["baseline_rate"] = props[:, 0] * rate_scale * rng.lognormal(0, 0.7, n) * (1 + 1.5 * fast)
    table["visual"] = rng.random(n) < props[:, 1]
    table["latency"] = props[:, 2] + rng.uniform(0, 0.02, n)
    table["response_amplitude"] = np.where(table["visual"], rng.lognormal(np.log(12), 0.5, n), 0)
    table["change_gain"] = rng.uniform(1.5, 2.5, n)
    table["novelty_gain"] = rng.uniform(1.3, 1.8, n)
    table["passive_gain"] = rng.uniform(0.7, 0.95, n)
    table["omission_gain"] = np.where(table["visual"] & cortex & (rng.random(n) < 0.2), 0.6, 0.0)
    table["running_modulation"] = rng.normal(0.2, 0.2, n)
    _receptive_fields(rng, table)
    table["tagged"] = cortex & (rng.random(n) < TAG_FRACTION.get(cre_line or "", 0.0))
    table["opto_latency"] = rng.uniform(0.002, 0.004, n)
    gains, preferred = _image_gains(rng, table["response_amplitude"].to_numpy(), len(images))
    table["preferred_image"] = np.array(images, dtype=object)[preferred]
    table["preferred_image"] = table["preferred_image"].where(table["visual"], None)
    return UnitPopulation(table, list(images), gains)


def _receptive_fields(rng: np.random.Generator, table: pd.DataFrame) -> None:
    """Add receptive-field centre, size, orientation preference and flash gain columns."""
    n = len(table)
    table["rf_x"] = np.round(rng.uniform(-35, 35, n), 1)
    table["rf_y"] = np.round(rng.uniform(-35, 35, n), 1)
    table["rf_sigma"] = rng.uniform(8, 15, n)
    table["preferred_orientation"] = rng.choice([0.0, 45.0, 90.0], n)
    table["flash_gain"] = np.where(table["visual"], rng.uniform(0.5, 1.2, n), 0.0)


def _image_gains(
    rng: np.random.Generator, amplitude: np.ndarray, n_images: int
) -> tuple[np.ndarray, np.ndarray]:
    """Return (units x images response gains, preferred image index per unit)."""
    n = len(amplitude)
    preferred = rng.integers(0, n_images, n)
    tuning = rng.uniform(0.1, 0.55, (n, n_images))
    tuning[np.arange(n), preferred] = 1.0
    return amplitude[:, None] * tuning, preferred


def quality_metrics(rng: np.random.Generator, table: pd.DataFrame) -> pd.DataFrame:
    """Return ``table`` with released-style quality and waveform metrics."""
    out = table.copy()
    n = len(out)
    capped = rng.random(n) < 0.2
    out["amplitude_cutoff"] = np.where(capped, 0.5, np.minimum(rng.beta(0.7, 8, n), 0.5))
    out["presence_ratio"] = np.round(np.clip(1 - rng.beta(1, 25, n), 0.3, 0.99), 2)
    out["isi_violations"] = np.where(rng.random(n) < 0.3, 0.0, rng.exponential(0.3, n))
    out["isolation_distance"] = rng.lognormal(np.log(55), 0.5, n)
    out["l_ratio"] = np.minimum(rng.lognormal(np.log(0.015), 1.4, n), 2.0)
    out["d_prime"] = np.clip(rng.normal(4.2, 1.3, n), 0.6, None)
    out["nn_hit_rate"] = rng.beta(8, 2, n)
    out["nn_miss_rate"] = rng.beta(1, 60, n)
    out["silhouette_score"] = np.clip(rng.normal(0.12, 0.07, n), -0.2, 0.6)
    out["max_drift"] = np.round(rng.lognormal(np.log(25), 0.5, n), 2)
    out["cumulative_drift"] = np.round(rng.lognormal(np.log(180), 0.6, n), 2)
    out["snr"] = rng.lognormal(np.log(3.0), 0.4, n)
    _waveform_metrics(rng, out)
    noise = (out["snr"] < 1.9) | (rng.random(n) < 0.05)
    out["quality"] = np.where(noise, "noise", "good")
    return out


def _waveform_metrics(rng: np.random.Generator, out: pd.DataFrame) -> None:
    """Add amplitude, width, slope, spread and velocity metrics (fast-spiking are narrow)."""
    n = len(out)
    fast = out["fast_spiking"].to_numpy()
    out["amplitude"] = rng.lognormal(np.log(130), 0.45, n)
    out["waveform_duration"] = np.where(fast, rng.normal(0.3, 0.04, n), rng.normal(0.68, 0.1, n))
    out["waveform_halfwidth"] = np.where(fast, rng.normal(0.14, 0.02, n), rng.normal(0.25, 0.05, n))
    out["PT_ratio"] = rng.uniform(0.3, 0.65, n)
    out["repolarization_slope"] = out["amplitude"] * rng.uniform(0.004, 0.008, n)
    out["recovery_slope"] = -out["amplitude"] * rng.uniform(0.0005, 0.0012, n)
    out["spread"] = np.round(rng.normal(80, 25, n).clip(20, 200), -1)
    for name in ("velocity_above", "velocity_below"):
        values = rng.normal(0.0, 0.6, n)
        out[name] = np.where(rng.random(n) < 0.25, np.nan, values)
