"""Simulated sample releases of the Allen Brain Observatory datasets.

``write_release("vbn", out_dir)`` writes a small release in exactly the layout of its S3
bucket (metadata CSVs, NWB files with the released HDF5 paths, types and extension namespaces,
and a manifest with BLAKE2b hashes and sizes), plus the simulation's ground truth in
``<out_dir>/_ground_truth/<project>/``. Every code path that serves real data can serve it:
point a cache at ``out_dir`` as if it were the bucket.

This package holds what the releases' simulators share (mice and behavior plans, the
change-detection task, units, spikes, LFP, running and eye tracking, NWB writing); each
release's own writer lives in its home (``brainobs.vbn.sample_release``...) and is found
through :mod:`brainobs.releases`. The simulation is deterministic: the same ``size`` and
``seed`` give byte-identical files. Writing the NWB files needs pynwb
(``pip install brainobs[sample]``).
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from brainobs.errors import InvalidInputError, ManifestNotFoundError
from brainobs.releases import RELEASES, get_release
from brainobs.storage.manifest import Manifest, sort_manifest_names

__all__ = ["SIZES", "SampleRelease", "write_release"]

SIZES = ("default", "benchmark")


@dataclass(frozen=True)
class SampleRelease:
    """A written sample release: where it is and what it holds."""

    root: Path
    size: str
    seed: int
    project_name: str = "visual-behavior-neuropixels"

    @property
    def project_dir(self) -> Path:
        """Return the folder standing for the bucket's project prefix."""
        return self.root / self.project_name

    @property
    def manifest_path(self) -> Path:
        """Return the path of the newest release manifest."""
        folder = self.project_dir / "manifests"
        names = sort_manifest_names(p.name for p in folder.glob("*.json"))
        if not names:
            raise ManifestNotFoundError(f"{folder} holds no manifest; write the sample first.")
        return folder / names[-1]

    @property
    def manifest(self) -> Manifest:
        """Return the parsed manifest."""
        return Manifest.from_path(self.manifest_path)

    @property
    def ground_truth_dir(self) -> Path:
        """Return the folder of the simulation's ground truth (outside the project prefix)."""
        return self.root / "_ground_truth" / self.project_name

    def path_of(self, key: str) -> Path:
        """Return the local path of bucket key ``key`` (``visual-behavior-neuropixels/...``)."""
        return self.root / key

    def metadata_path(self, name: str) -> Path:
        """Return the path of metadata table ``name`` (e.g. ``units``)."""
        return self.path_of(self.manifest.metadata_file(name).key)

    def data_path(self, file_id: int | str) -> Path:
        """Return the path of data file ``file_id``."""
        return self.path_of(self.manifest.data_file(file_id).key)

    def unit_truth(self) -> pd.DataFrame:
        """Return the ground truth of every unit (area, tagging, preferred image, RF, ...)."""
        return pd.read_parquet(self.ground_truth_dir / "units.parquet")

    def behavior_truth(self) -> pd.DataFrame:
        """Return the ground truth of every behavior session (d-prime, engagement, novelty)."""
        return pd.read_parquet(self.ground_truth_dir / "behavior_sessions.parquet")

    def info(self) -> dict:
        """Return the release description (size, seed, mice)."""
        return dict(json.loads((self.ground_truth_dir / "release.json").read_text()))

    def is_complete(self) -> bool:
        """Return True when the release of this size and seed is fully written."""
        try:
            info = self.info()
            manifest = self.manifest
        except (OSError, ValueError, ManifestNotFoundError):
            return False
        if (info.get("size"), info.get("seed")) != (self.size, self.seed):
            return False
        return all(self.path_of(e.key).is_file() for e in manifest.entries().values())


def write_release(
    name: str, out_dir: str | Path, size: str = "default", seed: int = 0, *, overwrite: bool = False
) -> SampleRelease:
    """Return the sample of release ``name`` in ``out_dir``, written first unless already there.

    ``size`` is ``"default"`` (seconds, tens of MB) or ``"benchmark"`` (one real-size session);
    each release's writer documents what its sizes hold.
    """
    if size not in SIZES:
        raise InvalidInputError(f"size must be one of {SIZES}, not {size!r}")
    writer = get_release(name).load_sample_writer()
    return writer(out_dir, size=size, seed=seed, overwrite=overwrite)


def __getattr__(name: str) -> object:
    """Forward a release's sample writer, which brainobs <= 0.1 exported here by name."""
    for release in RELEASES.values():
        if release.sample_writer and release.sample_writer.rpartition(":")[2] == name:
            warnings.warn(
                f"brainobs.sample.{name} moved: use "
                f"brainobs.sample.write_release({release.name!r}, ...).",
                DeprecationWarning,
                stacklevel=2,
            )
            return release.load_sample_writer()
    raise AttributeError(f"module 'brainobs.sample' has no attribute {name!r}")
