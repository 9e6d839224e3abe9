"""Probe tracks and channels: where each of the 384 sites of each probe sits in the brain.

Each probe enters one visual cortical area and passes through hippocampus and thalamus into
the midbrain, as the VBN insertions do. Channel 0 is the tip. Site positions follow the
Neuropixels 1.0 checkerboard (x = 43, 11, 59, 27 um; two sites per 20 um row).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

N_CHANNELS = 384
#: probe -> ordered (structure, thickness um) from the brain surface down.
TRACKS: dict[str, tuple[tuple[str, float], ...]] = {
    "probeA": (
        ("VISam", 900),
        ("CA1", 250),
        ("DG-mo", 300),
        ("CA3", 200),
        ("LP", 700),
        ("APN", 900),
    ),
    "probeB": (("VISpm", 900), ("CA1", 250), ("DG-sg", 300), ("LP", 800), ("MB", 1000)),
    "probeC": (("VISp", 950), ("CA1", 250), ("DG-mo", 300), ("LGd", 600), ("MB", 1000)),
    "probeD": (("VISl", 900), ("CA1", 250), ("DG-po", 250), ("LGd", 700), ("APN", 900)),
    "probeE": (("VISrl", 900), ("CA1", 250), ("CA3", 250), ("LP", 700), ("SCig", 900)),
    "probeF": (("VISal", 900), ("CA1", 250), ("DG-mo", 300), ("LP", 700), ("MB", 900)),
}
#: CCF structure ids of the acronyms used (Allen CCFv3).
STRUCTURE_IDS: dict[str, int] = {
    "VISp": 385, "VISl": 409, "VISal": 402, "VISrl": 417, "VISam": 394, "VISpm": 533,
    "CA1": 382, "CA3": 463, "DG": 726, "LGd": 170, "LP": 218, "APN": 215, "MB": 313, "SCig": 10,
    "MRN": 128, "NB": 880, "POST": 1037, "HPF": 1089, "ProS": 484682470, "SUB": 502,
    "PO": 1020, "TH": 549, "MGv": 1072, "PIL": 560581563, "NOT": 628,
}  # fmt: skip
#: Entry point (AP, DV, LR um) of each probe on the cortical surface.
ENTRY: dict[str, tuple[float, float, float]] = {
    "probeA": (8000.0, 900.0, 7900.0), "probeB": (8600.0, 900.0, 7600.0),
    "probeC": (9100.0, 1100.0, 8400.0), "probeD": (9000.0, 1300.0, 9300.0),
    "probeE": (8300.0, 1200.0, 9200.0), "probeF": (8500.0, 1250.0, 9500.0),
}  # fmt: skip


def site_positions() -> tuple[np.ndarray, np.ndarray]:
    """Return (vertical, horizontal) positions (um) of the 384 sites, tip first."""
    channel = np.arange(N_CHANNELS)
    vertical = 20.0 * (channel // 2 + 1)
    horizontal = np.array([43.0, 11.0, 59.0, 27.0])[channel % 4]
    return vertical, horizontal


def stripped(acronym: str | float) -> str | float:
    """Return ``acronym`` without its substructure suffix (``DG-mo`` -> ``DG``)."""
    return acronym.split("-")[0] if isinstance(acronym, str) else acronym


def probe_channels(
    rng: np.random.Generator,
    probe: str,
    probe_id: int,
    first_channel_id: int,
    tracks: Mapping[str, tuple[tuple[str, float], ...]] | None = None,
) -> pd.DataFrame:
    """Return the 384 channels of ``probe`` with positions, CCF coordinates and structures.

    ``tracks`` (default :data:`TRACKS`) gives each probe's structures from the surface down.
    """
    track = (tracks or TRACKS)[probe]
    vertical, horizontal = site_positions()
    surface = float(rng.uniform(3100, 3500))  # vertical position of the brain surface
    depth = surface - vertical
    structures = np.full(N_CHANNELS, np.nan, dtype=object)
    top = 0.0
    for name, thickness in track:
        inside = (depth >= top) & (depth < top + thickness)
        structures[inside] = name
        top += thickness
    structures[(depth >= top)] = track[-1][0]
    ap, dv, lr = _ccf(rng, probe, depth)
    valid = np.ones(N_CHANNELS, dtype=bool)
    valid[191] = False  # the Neuropixels 1.0 reference site
    valid[rng.choice(N_CHANNELS, 2, replace=False)] = False
    return pd.DataFrame(
        {
            "ecephys_channel_id": first_channel_id + np.arange(N_CHANNELS),
            "ecephys_probe_id": probe_id,
            "probe_channel_number": np.arange(N_CHANNELS),
            "probe_vertical_position": vertical,
            "probe_horizontal_position": horizontal,
            "anterior_posterior_ccf_coordinate": ap,
            "dorsal_ventral_ccf_coordinate": dv,
            "left_right_ccf_coordinate": lr,
            "structure_acronym_full": structures,
            "valid_data": valid,
            "depth": depth,
        }
    )


def _ccf(
    rng: np.random.Generator, probe: str, depth: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return CCF (AP, DV, LR) of sites at ``depth`` below the entry point; NaN outside."""
    direction = np.array([rng.normal(60, 20), 1000.0, rng.normal(-250, 40)])
    direction /= np.linalg.norm(direction)
    entry = np.array(ENTRY[probe]) + rng.normal(0, 80, 3)
    coords = entry[None, :] + depth[:, None] * direction[None, :]
    coords = np.round(coords)
    coords[depth < 0] = np.nan
    return coords[:, 0], coords[:, 1], coords[:, 2]
