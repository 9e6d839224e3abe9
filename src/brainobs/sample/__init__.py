"""Simulated sample releases of the Allen Brain Observatory datasets.

``write_vbn_release(out_dir)`` writes a small Visual Behavior Neuropixels release in exactly
the layout of the S3 bucket (metadata CSVs, NWB files with the released HDF5 paths, types and
extension namespaces, and a manifest with BLAKE2b hashes and sizes), plus the simulation's
ground truth in ``<out_dir>/_ground_truth/visual-behavior-neuropixels/``. Every code path that
serves real data can serve it: point a cache at ``out_dir`` as if it were the bucket.

The simulation is deterministic: the same ``size`` and ``seed`` give byte-identical files.
Writing the NWB files needs pynwb (``pip install brainobs[sample]``).
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from brainobs.errors import InvalidInputError
from brainobs.storage.manifest import Manifest

__all__ = ["SIZES", "SampleRelease", "write_vbn_release"]

SIZES = ("default", "benchmark")


@dataclass(frozen=True)
class SampleRelease:
    """A written sample release: where it is and what it holds."""

    root: Path
    size: str
    seed: int

    @property
    def project_dir(self) -> Path:
        """Return the folder standing for the bucket's project prefix."""
        return self.root / "visual-behavior-neuropixels"

    @property
    def manifest_path(self) -> Path:
        """Return the path of the release manifest."""
        return (
            self.project_dir
            / "manifests"
            / "visual-behavior-neuropixels_project_manifest_v0.5.0.json"
        )

    @property
    def manifest(self) -> Manifest:
        """Return the parsed manifest."""
        return Manifest.from_path(self.manifest_path)

    @property
    def ground_truth_dir(self) -> Path:
        """Return the folder of the simulation's ground truth (outside the project prefix)."""
        return self.root / "_ground_truth" / "visual-behavior-neuropixels"

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
        except (OSError, ValueError):
            return False
        if (info.get("size"), info.get("seed")) != (self.size, self.seed):
            return False
        return all(self.path_of(e.key).is_file() for e in manifest.entries().values())


def write_vbn_release(
    out_dir: str | Path, size: str = "default", seed: int = 0, *, overwrite: bool = False
) -> SampleRelease:
    """Return the VBN sample release in ``out_dir``, writing it first unless already there.

    ``size="default"`` (~65 MB, ~20 s) writes 3 mice (wild type, Sst-IRES-Cre;Ai32,
    Vip-IRES-Cre;Ai32), each with eight behavior-only training sessions and two ecephys sessions
    (familiar image set G, novel set H) of ~200 units on 6 probes with LFP on 2 probes. Large
    arrays are chunked and gzip-compressed; signals are rounded to binary steps near their
    instruments' resolution so that they compress (:mod:`brainobs.sample.quantize`).

    ``size="benchmark"`` (~2.4 GB, about two minutes) writes one realistic session file
    (~2,000 units on 6 probes, ~10^8 spikes, ~1 h, large arrays contiguous and uncompressed as
    in the released files) and metadata tables of release size: 153 ecephys sessions and
    319,013 units, the other 152 sessions listed without files (``file_id`` -999, see
    :mod:`brainobs.sample.metadata_only`). Memory stays near 1 GB.

    The write is atomic: files appear only when complete.
    """
    if size not in SIZES:
        raise InvalidInputError(f"size must be one of {SIZES}, not {size!r}")
    release = SampleRelease(Path(out_dir), size, int(seed))
    if overwrite or not release.is_complete():
        from brainobs.sample.release import build_release

        with warnings.catch_warnings():
            # The released files name the probes' manufacturer on the Device, as written
            # here; today's pynwb prefers a DeviceModel and says so once per probe.
            warnings.filterwarnings("ignore", "The 'manufacturer' field is deprecated")
            build_release(release.root, size, int(seed))
    return release
