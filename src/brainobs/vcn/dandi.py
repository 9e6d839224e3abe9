"""Where the Visual Coding Neuropixels files are on DANDI: dandisets 000021 and 000022.

The release declares this mapping (``VCN.dandi_mapping``). Sessions of type
``brain_observatory_1.1`` are in 000021, ``functional_connectivity`` in 000022
(docs/dandi.md gives the evidence); asset paths carry the specimen, session and probe ids:

* session file: ``sub-<specimen_id>/sub-<specimen_id>_ses-<session_id>.nwb``;
* a probe's LFP: ``sub-<s>/sub-<s>_ses-<session_id>_probe-<probe_id>_ecephys.nwb`` (``<s>``:
  the specimen id).

A data file's id is its key in the bucket's cache tree
(``visual-coding-neuropixels/ecephys-cache/session_<id>/session_<id>.nwb``...), the name the
warehouse-layout cache uses for it. The metadata tables (sessions, probes) say which
specimen, session type and probe each file belongs to.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from brainobs.storage.dandi import DandiListing
from brainobs.storage.dandi_cache import DandiLocation, MetadataPath

PREFIX = "visual-coding-neuropixels/ecephys-cache"
DANDISETS = {"brain_observatory_1.1": "000021", "functional_connectivity": "000022"}


@dataclass(frozen=True)
class _File:
    """One data file of the tree and where DANDI keeps it."""

    file_id: str
    what: str
    dandiset: str
    asset_path: str


def _files(metadata_path: MetadataPath) -> list[_File]:
    """Return every session and LFP file the tables point to, with its DANDI place."""
    sessions = pd.read_csv(metadata_path("sessions"), index_col="id")
    probes = pd.read_csv(metadata_path("probes"), index_col="id")
    files = []
    for sid, row in sessions.iterrows():
        dandiset = DANDISETS.get(str(row["session_type"]))
        if dandiset is None:
            continue
        stem = f"sub-{int(row['specimen_id'])}/sub-{int(row['specimen_id'])}_ses-{sid}"
        files.append(
            _File(
                f"{PREFIX}/session_{sid}/session_{sid}.nwb",
                f"session {sid} ({row['session_type']})",
                dandiset,
                f"{stem}.nwb",
            )
        )
        mine = probes[(probes["ecephys_session_id"] == sid) & probes["has_lfp_data"]]
        files += [
            _File(f"{PREFIX}/session_{sid}/probe_{pid}_lfp.nwb",
                  f"LFP file of probe {pid} (session {sid})", dandiset,
                  f"{stem}_probe-{pid}_ecephys.nwb")
            for pid in mine.index
        ]  # fmt: skip
    return files


class VcnOnDandi:
    """The VCN release on DANDI: every session and LFP file, in 000021 or 000022."""

    def locate(
        self, metadata_path: MetadataPath, listings: Mapping[str, DandiListing]
    ) -> dict[str, DandiLocation]:
        """Return file id -> location of every data file (path None when not on DANDI)."""
        out = {}
        for file in _files(metadata_path):
            listing = listings.get(file.dandiset)
            path = (
                file.asset_path
                if listing is not None and file.asset_path in listing.assets
                else None
            )
            out[file.file_id] = DandiLocation(
                file.file_id, file.what, file.dandiset, path, file.asset_path
            )
        return out

    def asset_paths(self, metadata_path: MetadataPath) -> dict[str, tuple[str, str]]:
        """Return file id -> (dandiset, asset path) as the dandisets name each data file."""
        return {f.file_id: (f.dandiset, f.asset_path) for f in _files(metadata_path)}


#: The mapping the VCN declaration names (``brainobs.vcn.dandi:VCN_ON_DANDI``).
VCN_ON_DANDI = VcnOnDandi()
