"""The sample's two manifest versions: v0.5.0 and the v0.4.0 it corrected.

The release changelog (reference/format_ecephys.md §2.1.6) says v0.5.0 added ``quality`` to
units.csv and fixed amplitudes that were 2x off (units' ``amplitude``, ``recovery_slope`` and
``repolarization_slope``; spike amplitudes and mean waveforms in the session NWB files) except
in the sessions that were already right. The sample's v0.4.0 is that release before the fix:
its units.csv lacks ``quality`` and doubles one recording's amplitudes, and that recording's
NWB file is the 2x version. Every other file is shared by both manifests.

As in the bucket, both versions of a changed file live under one key; the folder keeps the
current one at the key and the older one under ``.versions/<version id>/<key>``, where
:class:`~brainobs.storage.local.LocalFetcher` serves it (and the test suite publishes it to S3
as an older object version).
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import h5py
import pandas as pd

from brainobs.storage.local import VERSIONS
from brainobs.storage.manifest import FileEntry, Manifest, entry_for_file

PROJECT = "visual-behavior-neuropixels"
BUCKET_URL = "https://visual-behavior-neuropixels-data.s3.us-west-2.amazonaws.com"
LATEST, EARLIER = "0.5.0", "0.4.0"
DATA_PIPELINE = (
    {"name": "AllenSDK", "version": "2.16.2", "comment": "layout of the released files"},
    {"name": "brainobs.sample", "version": "1", "comment": "simulated data"},
)
#: Units columns that were 2x off before v0.5.0.
DOUBLED_COLUMNS = ("amplitude", "recovery_slope", "repolarization_slope")
#: Datasets of a session file that were 2x off before v0.5.0.
DOUBLED_DATASETS = (
    "units/spike_amplitudes", "units/waveform_mean",
    *(f"units/{c}" for c in DOUBLED_COLUMNS),
)  # fmt: skip


@dataclass(frozen=True)
class AmplitudeFix:
    """The recording whose amplitudes v0.5.0 fixed: its ecephys session and file id."""

    ecephys_session_id: int
    file_id: int


def version_id(seed: int, key: str, version: str = LATEST) -> str:
    """Return a deterministic S3-style object version id of ``key`` in ``version``."""
    digest = hashlib.blake2b(f"{seed}:{key}:{version}".encode(), digest_size=24).hexdigest()
    return digest[:32]


def write_versions(
    bucket: Path,
    metadata: dict[str, pd.DataFrame],
    data_files: dict[str, Path],
    seed: int,
    fix: AmplitudeFix | None,
) -> list[Manifest]:
    """Write the CSVs, the older objects and both manifests below ``bucket``; return them."""
    project = bucket / PROJECT
    folder = project / "project_metadata"
    folder.mkdir(parents=True, exist_ok=True)
    latest: dict[str, FileEntry] = {}
    for name, table in metadata.items():
        table.to_csv(folder / f"{name}.csv", index=False)
        latest[name] = _entry(bucket, folder / f"{name}.csv", seed)
    data = {file_id: _entry(bucket, path, seed) for file_id, path in data_files.items()}
    newest = Manifest(PROJECT, LATEST, latest, data, "file_id", DATA_PIPELINE)
    earlier_meta, earlier_data = dict(latest), dict(data)
    units = _earlier_units(metadata["units"], fix)
    earlier_meta["units"] = _older_object(
        bucket, latest["units"], seed, lambda p: units.to_csv(p, index=False)
    )
    if fix is not None:
        old = data[str(fix.file_id)]
        earlier_data[str(fix.file_id)] = _older_object(
            bucket, old, seed, lambda p: _doubled_nwb(data_files[str(fix.file_id)], p)
        )
    earlier = replace(newest, manifest_version=EARLIER, metadata_files=earlier_meta,
                      data_files=earlier_data)  # fmt: skip
    for manifest in (earlier, newest):
        out = project / "manifests" / manifest.name
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(manifest.to_json(), encoding="utf-8")
    return [earlier, newest]


def _entry(bucket: Path, path: Path, seed: int) -> FileEntry:
    """Return the manifest entry (current version) of a file written at its key."""
    key = path.relative_to(bucket).as_posix()
    return entry_for_file(path, f"{BUCKET_URL}/{key}", version_id(seed, key))


def _older_object(
    bucket: Path, current: FileEntry, seed: int, write: Callable[[Path], None]
) -> FileEntry:
    """Write the v0.4.0 version of ``current``'s key with ``write(path)``; return its entry."""
    vid = version_id(seed, current.key, EARLIER)
    path = bucket / VERSIONS / vid / current.key
    path.parent.mkdir(parents=True, exist_ok=True)
    write(path)
    return entry_for_file(path, current.url, vid)


def _earlier_units(units: pd.DataFrame, fix: AmplitudeFix | None) -> pd.DataFrame:
    """Return units.csv as v0.4.0 had it: no ``quality``, one recording's amplitudes 2x."""
    out = units.drop(columns=["quality"])
    if fix is not None:
        rows = out["ecephys_session_id"] == fix.ecephys_session_id
        for column in DOUBLED_COLUMNS:
            out.loc[rows, column] = out.loc[rows, column] * 2
    return out


def _doubled_nwb(source: Path, target: Path) -> None:
    """Copy the session file ``source`` to ``target`` with the pre-v0.5.0 2x amplitudes."""
    shutil.copyfile(source, target)
    with h5py.File(target, "r+") as h5:
        for name in DOUBLED_DATASETS:
            dataset = h5[name]
            for start in range(0, dataset.shape[0], 1 << 20):
                block = slice(start, min(start + (1 << 20), dataset.shape[0]))
                dataset[block] = dataset[block] * 2
