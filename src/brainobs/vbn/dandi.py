"""Where the Visual Behavior Neuropixels files are on DANDI: dandiset 000713.

The release declares this mapping (``VBN.dandi_mapping``). Asset paths in 000713 carry no
session id (docs/dandi.md gives the evidence); they follow dandi-cli's conventions with the
session's start time as its label:

* behavior-only session: ``sub-<mouse_id>/sub-<mouse_id>_ses-<start>_image.nwb``, where
  ``<start>`` is ``date_of_acquisition`` in UTC as ``%Y%m%dT%H%M%S`` (fractions cut off);
* ecephys session: ``sub-<mouse_id>/sub-<mouse_id>_ses-<start>.nwb``, where ``<start>`` is
  the UTC clock time of ``date_of_acquisition`` read as US Pacific time and written in UTC
  (observed: 2020-10-07 14:01:41 UTC is ``ses-20201007T210141``);
* a probe's LFP: ``sub-<mouse_id>/sub-<mouse_id>_ses-None_probe-<ecephys_probe_id>_ecephys.nwb``.

So sessions are found by mouse and start time (both readings are tried, the usual one first),
and LFP files by probe id. The metadata tables (from the bucket or the sample) say which
mouse, time and probe each ``file_id`` belongs to.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pandas as pd

from brainobs.storage.dandi import DandiListing
from brainobs.storage.dandi_cache import DandiLocation, MetadataPath, parse_asset_path

if TYPE_CHECKING:
    from pandas.api.typing import NaTType

DANDISET = "000713"
PACIFIC = ZoneInfo("America/Los_Angeles")
_STAMP = "%Y%m%dT%H%M%S"


@dataclass(frozen=True)
class _File:
    """One data file of the metadata tables and what identifies it on DANDI."""

    file_id: str
    kind: str  # "ecephys", "behavior" or "lfp"
    what: str
    mouse: str
    start: pd.Timestamp | None = None
    probe: str | None = None


def session_labels(start: pd.Timestamp, kind: str) -> tuple[str, str]:
    """Return the ``ses-`` labels a session starting at ``start`` may have, likeliest first.

    Behavior-only files are labelled with the UTC time, ecephys files with the UTC clock time
    read as US Pacific time (see the module docstring).
    """
    utc = start.tz_convert("UTC")
    as_pacific = utc.tz_localize(None).tz_localize(PACIFIC).tz_convert("UTC")
    labels = (utc.strftime(_STAMP), as_pacific.strftime(_STAMP))
    return labels if kind == "behavior" else (labels[1], labels[0])


def _read(path: Path, columns: list[str]) -> pd.DataFrame:
    """Return ``columns`` of the CSV at ``path``, rows with a data file only."""
    table = pd.read_csv(path, usecols=columns)
    table["file_id"] = pd.to_numeric(table["file_id"], errors="coerce")
    if "date_of_acquisition" in table:
        table["date_of_acquisition"] = pd.to_datetime(
            table["date_of_acquisition"], utc=True, format="ISO8601"
        )
    return table


def _files(metadata_path: MetadataPath) -> list[_File]:
    """Return every data file the VBN metadata tables point to."""
    ecephys = _read(
        metadata_path("ecephys_sessions"),
        ["ecephys_session_id", "mouse_id", "date_of_acquisition", "file_id"],
    )
    behavior = _read(
        metadata_path("behavior_sessions"),
        ["behavior_session_id", "mouse_id", "date_of_acquisition", "file_id"],
    )
    probes = _read(metadata_path("probes"), ["ecephys_probe_id", "ecephys_session_id", "file_id"])
    mouse_of = dict(zip(ecephys["ecephys_session_id"], ecephys["mouse_id"], strict=True))
    files = _session_files("ecephys", ecephys) + _session_files("behavior", behavior)
    probes = probes[probes["file_id"] >= 0]
    files += [
        _File(
            str(int(file_id)),
            "lfp",
            f"LFP file of probe {probe_id} (ecephys session {session_id})",
            str(mouse_of.get(session_id, "")),
            probe=str(probe_id),
        )
        for file_id, probe_id, session_id in zip(
            probes["file_id"].tolist(),
            probes["ecephys_probe_id"].tolist(),
            probes["ecephys_session_id"].tolist(),
            strict=True,
        )
    ]
    return files


def _session_files(kind: str, sessions: pd.DataFrame) -> list[_File]:
    """Return the data files of the sessions of one kind (rows with a ``file_id``)."""
    sessions = sessions[sessions["file_id"] >= 0]
    return [
        _session_file(kind, session_id, file_id, mouse_id, start)
        for session_id, file_id, mouse_id, start in zip(
            sessions[f"{kind}_session_id"].tolist(),
            sessions["file_id"].tolist(),
            sessions["mouse_id"].tolist(),
            sessions["date_of_acquisition"].tolist(),
            strict=True,
        )
    ]


def _session_file(
    kind: str, session_id: int, file_id: float, mouse_id: int, start: pd.Timestamp | NaTType
) -> _File:
    """Return the data file of one session (``start``: ``date_of_acquisition``, NaT if none)."""
    when = f"{start:%Y-%m-%d %H:%M:%S} UTC" if pd.notna(start) else "no acquisition date"
    return _File(
        str(int(file_id)),
        kind,
        f"{kind} session {session_id} (mouse {mouse_id}, {when})",
        str(mouse_id),
        start=start if pd.notna(start) else None,
    )


class _AssetIndex:
    """The assets of a listing by (subject, session label) and by probe."""

    def __init__(self, listing: DandiListing) -> None:
        self.by_session: dict[tuple[str, str], list[str]] = defaultdict(list)
        self.by_probe: dict[str, list[str]] = defaultdict(list)
        for path in listing.assets:
            name = parse_asset_path(path)
            if name is None:
                continue
            if name.probe is not None:
                self.by_probe[name.probe].append(path)
            elif name.session is not None:
                self.by_session[(name.subject, name.session)].append(path)

    def find(self, file: _File) -> tuple[str | None, str]:
        """Return the asset path of ``file`` (None if none or several) and what was sought."""
        if file.kind == "lfp":
            found = self.by_probe.get(file.probe or "", [])
            return _one(found, f"an asset named *_probe-{file.probe}_*.nwb")
        if file.start is None:
            return None, "nothing: the metadata table gives no acquisition date"
        labels = session_labels(file.start, file.kind)
        for label in labels:
            found = self.by_session.get((file.mouse, label), [])
            if found:
                return _one(found, f"sub-{file.mouse}/sub-{file.mouse}_ses-{label}*.nwb")
        sought = " or ".join(f"sub-{file.mouse}/sub-{file.mouse}_ses-{x}*.nwb" for x in labels)
        return None, sought


def _one(found: list[str], sought: str) -> tuple[str | None, str]:
    """Return the single path in ``found``, or None with why."""
    if len(found) == 1:
        return found[0], sought
    if not found:
        return None, sought
    return None, f"{sought}, but several assets match ({', '.join(sorted(found))})"


class VbnOnDandi:
    """The VBN release on DANDI: every data file of the metadata tables, located in 000713."""

    dandiset = DANDISET

    def locate(
        self, metadata_path: MetadataPath, listings: Mapping[str, DandiListing]
    ) -> dict[str, DandiLocation]:
        """Return file id -> location of every data file (path None when not on DANDI)."""
        index = _AssetIndex(listings[DANDISET])
        out: dict[str, DandiLocation] = {}
        for file in _files(metadata_path):
            path, sought = index.find(file)
            out[file.file_id] = DandiLocation(file.file_id, file.what, DANDISET, path, sought)
        return out

    def asset_paths(self, metadata_path: MetadataPath) -> dict[str, tuple[str, str]]:
        """Return file id -> (dandiset, asset path) as 000713 names each data file."""
        out: dict[str, tuple[str, str]] = {}
        for file in _files(metadata_path):
            stem = f"sub-{file.mouse}/sub-{file.mouse}"
            if file.kind == "lfp":
                out[file.file_id] = (DANDISET, f"{stem}_ses-None_probe-{file.probe}_ecephys.nwb")
            elif file.start is not None:
                label = session_labels(file.start, file.kind)[0]
                suffix = "_image" if file.kind == "behavior" else ""
                out[file.file_id] = (DANDISET, f"{stem}_ses-{label}{suffix}.nwb")
        return out


#: The mapping the VBN declaration names (``brainobs.vbn.dandi:VBN_ON_DANDI``).
VBN_ON_DANDI = VbnOnDandi()
