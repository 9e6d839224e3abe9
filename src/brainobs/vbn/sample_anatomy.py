"""Where the VBN sample's probes go, and the anatomy-dependent details of its channels and units.

The six insertions follow the released recordings: each probe enters one visual cortical area
and passes through hippocampus into thalamus or midbrain (probe C, through VISp, ends in the
midbrain reticular nucleus as recording 1064735073's probe C does). Channels above the brain
surface are labelled ``root``, as the released tables label them; midbrain units mostly have
the narrow waveforms of the released data (APN and MRN average ~0.3 ms).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from brainobs.sample.anatomy import probe_channels

#: probe -> ordered (structure, thickness um) from the brain surface down.
VBN_TRACKS: dict[str, tuple[tuple[str, float], ...]] = {
    "probeA": (("VISam", 850), ("CA1", 250), ("DG-mo", 300), ("CA3", 200), ("LP", 650),
               ("PO", 300), ("APN", 800)),
    "probeB": (("VISpm", 850), ("CA1", 250), ("DG-sg", 300), ("LP", 700), ("MRN", 900)),
    "probeC": (("VISp", 950), ("POST", 200), ("CA1", 200), ("DG-mo", 250), ("HPF", 100),
               ("NB", 300), ("MRN", 600), ("MB", 500)),
    "probeD": (("VISl", 900), ("CA1", 250), ("DG-po", 250), ("LGd", 700), ("APN", 900)),
    "probeE": (("VISrl", 900), ("CA1", 250), ("CA3", 250), ("LP", 700), ("SCig", 900)),
    "probeF": (("VISal", 900), ("ProS", 150), ("CA1", 200), ("DG-mo", 300), ("MGv", 400),
               ("PIL", 300), ("MB", 700)),
}  # fmt: skip
#: What the released tables call a site outside the brain.
OUT_OF_BRAIN = "root"
#: Midbrain structures whose units are mostly narrow-spiking.
MIDBRAIN = frozenset({"APN", "MRN", "MB", "NB", "SCig", "NOT"})
NARROW_FRACTION = 0.7


def vbn_probe_channels(
    rng: np.random.Generator, probe: str, probe_id: int, first_channel_id: int
) -> pd.DataFrame:
    """Return the 384 channels of a VBN probe; LFP sites (every 4th) always hold valid data."""
    channels = probe_channels(rng, probe, probe_id, first_channel_id, VBN_TRACKS)
    lfp_site = channels["probe_channel_number"] % 4 == 2
    channels.loc[lfp_site, "valid_data"] = True
    return channels


def label_out_of_brain(channels: pd.DataFrame) -> pd.DataFrame:
    """Return ``channels`` with the sites above the brain surface labelled ``root``."""
    out = channels.copy()
    outside = out["structure_acronym_full"].isna()
    out.loc[outside, "structure_acronym_full"] = OUT_OF_BRAIN
    return out


def in_brain_only(channels: pd.DataFrame) -> pd.DataFrame:
    """Return ``channels`` with ``root`` sites unlabelled again (what the LFP model expects)."""
    out = channels.copy()
    outside = out["structure_acronym_full"] == OUT_OF_BRAIN
    out.loc[outside, "structure_acronym_full"] = np.nan
    return out


def narrow_midbrain_waveforms(rng: np.random.Generator, units: pd.DataFrame) -> pd.DataFrame:
    """Return ``units`` with most midbrain units given narrow waveform metrics."""
    out = units.copy()
    n = len(out)
    narrow = out["structure_acronym"].isin(MIDBRAIN).to_numpy() & (rng.random(n) < NARROW_FRACTION)
    duration = np.clip(rng.normal(0.26, 0.04, n), 0.15, None)
    halfwidth = np.clip(rng.normal(0.13, 0.02, n), 0.07, None)
    out["waveform_duration"] = np.where(narrow, duration, out["waveform_duration"])
    out["waveform_halfwidth"] = np.where(narrow, halfwidth, out["waveform_halfwidth"])
    return out
