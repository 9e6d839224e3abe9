"""A tiny generated release in the real bucket layout, for storage tests.

Two manifest versions of the VBN project: v0.1.0 and v0.2.0, where one metadata table
changes, one data file is deleted, one created, and the rest are shared (so the cache can
de-duplicate them).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from brainobs.releases import VBN
from brainobs.storage.manifest import Manifest, entry_for_file

PROJECT = VBN.project_name
URL_ROOT = VBN.https_root


@dataclass
class TinyRelease:
    root: Path
    manifests: dict[str, Manifest]

    def key_of(self, version: str, file_id: str) -> str:
        return self.manifests[version].data_files[file_id].key


def _write(root: Path, key: str, data: bytes) -> Path:
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _manifest(root: Path, version: str, metadata: dict[str, str], data: dict[str, str]) -> Manifest:
    def entry(key: str):
        return entry_for_file(
            root / key, f"{URL_ROOT}/{key}", version_id=f"v-{version}-{zlib.crc32(key.encode())}"
        )

    manifest = Manifest(
        project_name=PROJECT,
        manifest_version=version,
        metadata_files={name: entry(key) for name, key in metadata.items()},
        data_files={fid: entry(key) for fid, key in data.items()},
        data_pipeline=({"name": "AllenSDK", "version": "2.16.2", "comment": "test"},),
    )
    _write(root, f"{PROJECT}/manifests/{manifest.name}", manifest.to_json().encode())
    return manifest


def write_tiny_release(root: Path, big_size: int = 3 << 20, seed: int = 0) -> TinyRelease:
    """Write the two-version release under ``root``; return it with its manifests."""
    rng = np.random.default_rng(seed)
    meta = f"{PROJECT}/project_metadata"
    sessions = f"{PROJECT}/behavior_ecephys_sessions"
    keys = {
        "units_v1": _write(root, f"{meta}/units.csv", b"unit_id,a\n1,2\n"),
        "sessions": _write(root, f"{meta}/ecephys_sessions.csv", b"ecephys_session_id,x\n7,8\n"),
        "big": _write(root, f"{sessions}/1/ecephys_session_1.nwb", rng.bytes(big_size)),
        "small": _write(root, f"{sessions}/2/ecephys_session_2.nwb", rng.bytes(40_000)),
        "gone": _write(root, f"{sessions}/3/ecephys_session_3.nwb", rng.bytes(10_000)),
    }
    rel = {k: p.relative_to(root).as_posix() for k, p in keys.items()}
    v1 = _manifest(
        root,
        "0.1.0",
        {"units": rel["units_v1"], "ecephys_sessions": rel["sessions"]},
        {"1": rel["big"], "2": rel["small"], "3": rel["gone"]},
    )
    # v0.2.0 lives beside v0.1.0 in the bucket: changed units.csv under a new key would
    # break the layout, so the changed table is written to the same key after hashing v1.
    units_v2 = _write(root, f"{meta}/units-0.2.0.csv", b"unit_id,a\n1,3\n")
    new = _write(root, f"{sessions}/4/ecephys_session_4.nwb", rng.bytes(20_000))
    v2 = _manifest(
        root,
        "0.2.0",
        {"units": units_v2.relative_to(root).as_posix(), "ecephys_sessions": rel["sessions"]},
        {"1": rel["big"], "2": rel["small"], "4": new.relative_to(root).as_posix()},
    )
    return TinyRelease(root, {"0.1.0": v1, "0.2.0": v2})
