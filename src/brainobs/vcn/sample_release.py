"""Write a simulated Visual Coding Neuropixels release: the warehouse cache tree of the bucket.

Layout below ``root`` (a local mirror of the bucket ``allen-brain-observatory``)::

    visual-coding-neuropixels/ecephys-cache/
        manifest.json                                   the reference's path manifest (0.3.0)
        sessions.csv  probes.csv  channels.csv  units.csv
        brain_observatory_1.1_analysis_metrics.csv  functional_connectivity_analysis_metrics.csv
        session_<id>/session_<id>.nwb
        session_<id>/probe_<probe id>_lfp.nwb           for the probes with LFP
    _ground_truth/visual-coding-neuropixels/{units.parquet, release.json}

The warehouse route has no hashes and no versions. What a server can say about a file is its
size and, on S3, its ETag, which for a plain (single-part) upload is the MD5 of the bytes: a
cache can check those. So ``release.json`` records, for every file of the tree, its key (from
the bucket root), size and MD5 (:meth:`VcnSampleRelease.files`) - what an S3 listing of the
sample would report, for tests to compare with; the real release has no such list. The release
is written into a staging folder beside the tree and renamed into place, so an interrupted run
never leaves a half release.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from brainobs.errors import InvalidInputError, UnknownIdError
from brainobs.sample import SIZES, SampleRelease
from brainobs.vcn import sample_tables as tables
from brainobs.vcn.sample_design import ReleasePlan, SizeSpec, plan_release
from brainobs.vcn.sample_metrics import session_metrics
from brainobs.vcn.sample_session import WrittenSession, write_session
from brainobs.vcn.schemas import SESSION_TYPES

PROJECT = "visual-coding-neuropixels"
CACHE_PREFIX = f"{PROJECT}/ecephys-cache"
GROUND_TRUTH = "_ground_truth"
UNIT_TRUTH_COLUMNS = (
    "unit_id", "ecephys_session_id", "probe_name", "structure_acronym", "quality",
    "fast_spiking", "baseline_rate", "visual", "latency", "response_amplitude",
    "running_modulation", "preferred_direction", "preferred_orientation",
    "direction_selectivity", "orientation_kappa", "preferred_tf", "preferred_sf",
    "preferred_phase", "phase_modulation", "f1_modulation", "c50", "preferred_speed", "rf_x",
    "rf_y", "rf_sigma", "flash_preference", "preferred_image", "tagged",
)  # fmt: skip


class VcnSampleRelease(SampleRelease):
    """A written VCN sample: the warehouse cache tree and its ground truth."""

    @property
    def cache_dir(self) -> Path:
        """Return the cache tree's folder (where ``manifest.json`` is)."""
        return self.root / CACHE_PREFIX

    @property
    def manifest_path(self) -> Path:
        """Return the path of the cache tree's ``manifest.json``."""
        return self.cache_dir / "manifest.json"

    @property
    def manifest(self) -> Any:
        """Raise: a warehouse cache tree has no hashed release manifest (see :meth:`files`)."""
        raise InvalidInputError(
            "The Visual Coding Neuropixels release has no hashed manifest; its cache tree "
            "holds a path manifest (manifest_path). Use files() for the sample's sizes and MD5s."
        )

    def metadata_path(self, name: str) -> Path:
        """Return the path of table ``name`` (``units``, ``<session type>_analysis_metrics``...)."""
        return self.cache_dir / f"{name}.csv"

    def session_nwb_path(self, session_id: int) -> Path:
        """Return the path of ``session_<id>.nwb``."""
        return self.cache_dir / f"session_{session_id}" / f"session_{session_id}.nwb"

    def probe_lfp_path(self, session_id: int, probe_id: int) -> Path:
        """Return the path of a probe's ``probe_<id>_lfp.nwb``."""
        return self.cache_dir / f"session_{session_id}" / f"probe_{probe_id}_lfp.nwb"

    def data_path(self, file_id: int | str) -> Path:
        """Return the path of the file with bucket key ``file_id`` (the tree has no file ids)."""
        files = self.files()
        if str(file_id) not in files:
            raise UnknownIdError(f"{file_id!r} is not a key of the sample; see files().")
        return self.path_of(str(file_id))

    def files(self) -> dict[str, dict[str, Any]]:
        """Return bucket key -> {"size", "md5"} of every file of the cache tree."""
        return dict(self.info()["files"])

    def is_complete(self) -> bool:
        """Return True when the release of this size and seed is fully written."""
        try:
            info = self.info()
        except (OSError, ValueError):
            return False
        if (info.get("size"), info.get("seed")) != (self.size, self.seed):
            return False
        return all(
            self.path_of(key).is_file() and self.path_of(key).stat().st_size == entry["size"]
            for key, entry in info["files"].items()
        )


@dataclass
class _Collected:
    """Rows gathered while the sessions are written."""

    probes: list[pd.DataFrame] = field(default_factory=list)
    channels: list[pd.DataFrame] = field(default_factory=list)
    units: list[pd.DataFrame] = field(default_factory=list)
    metrics: dict[str, list[pd.DataFrame]] = field(default_factory=dict)
    spike_counts: dict[str, int] = field(default_factory=dict)


def build_release(root: Path, size: str | SizeSpec, seed: int) -> Path:
    """Write the release of ``size``/``seed`` atomically below ``root``; return the cache tree.

    ``size`` is a name of :data:`brainobs.vcn.sample_design.SIZES` or a :class:`SizeSpec`
    (tests pass :func:`brainobs.vcn.sample_design.scaled_size` to run the benchmark path fast).
    """
    root.mkdir(parents=True, exist_ok=True)
    staging = root / f".staging-{PROJECT}-{uuid.uuid4().hex[:8]}"
    try:
        _write_all(staging, plan_release(size, seed))
        _move_into_place(staging / CACHE_PREFIX, root / CACHE_PREFIX)
        _move_into_place(staging / GROUND_TRUTH / PROJECT, root / GROUND_TRUTH / PROJECT)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return root / CACHE_PREFIX


def _move_into_place(source: Path, target: Path) -> None:
    """Replace ``target`` by ``source`` with renames (the old copy is removed afterwards)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    old = target.with_name(f".old-{target.name}-{uuid.uuid4().hex[:8]}")
    if target.exists():
        target.rename(old)
    source.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def _write_all(staging: Path, plan: ReleasePlan) -> None:
    """Write every file of the release into ``staging``."""
    tree = staging / CACHE_PREFIX
    collected = _Collected(metrics={t: [] for t in SESSION_TYPES})
    for position, session in enumerate(plan.sessions):
        folder = tree / f"session_{session.ecephys_session_id}"
        written = write_session(session, plan.size, position, folder, staging / "scratch")
        _collect(collected, written)
    shutil.rmtree(staging / "scratch", ignore_errors=True)
    _write_tables(tree, plan, collected)
    _write_ground_truth(staging, plan, collected)


def _collect(collected: _Collected, written: WrittenSession) -> None:
    """Gather a written session's rows, compute its metrics and drop its scratch spikes."""
    sim, spikes = written.simulation, written.spikes
    sid = sim.plan.ecephys_session_id
    collected.probes.append(written.probes)
    collected.channels.append(sim.channels)
    collected.units.append(sim.units.assign(ecephys_session_id=sid))
    collected.metrics[sim.plan.session_type].append(_metrics_of(written))
    collected.spike_counts[str(sid)] = spikes.total
    spikes.times_path.unlink()
    spikes.amplitudes_path.unlink()


def _metrics_of(written: WrittenSession) -> pd.DataFrame:
    """Return the analysis metrics of a written session, from its scratch spike file."""
    sim, spikes = written.simulation, written.spikes
    times: np.ndarray = np.zeros(0)
    if spikes.total:  # read by slices: a real-size session holds ~10^8 spikes
        times = np.memmap(spikes.times_path, dtype=np.float64, mode="r")
    ends = spikes.ends
    starts = np.r_[0, ends[:-1]]
    return session_metrics(
        sim.plan.session_type, sim.schedule, (sim.running.timestamps, sim.running.speed),
        sim.units["unit_id"].to_numpy(), lambda row: np.asarray(times[starts[row] : ends[row]]),
        sim.plan.seed,
    )  # fmt: skip


def _write_tables(tree: Path, plan: ReleasePlan, collected: _Collected) -> None:
    """Write manifest.json, the four tables and the two analysis-metrics tables."""
    tree.mkdir(parents=True, exist_ok=True)
    (tree / "manifest.json").write_text(tables.manifest_json(), encoding="utf-8")
    frames = {
        "sessions": tables.sessions_table(plan.sessions),
        "probes": tables.probes_table(pd.concat(collected.probes, ignore_index=True)),
        "channels": tables.channels_table(pd.concat(collected.channels, ignore_index=True)),
        "units": tables.units_table(pd.concat(collected.units, ignore_index=True)),
    }
    for session_type in SESSION_TYPES:
        name = f"{session_type}_analysis_metrics"
        frames[name] = tables.metrics_table(session_type, collected.metrics[session_type])
    for name, frame in frames.items():
        frame.to_csv(tree / f"{name}.csv")


def _md5(path: Path) -> str:
    """Return the MD5 hex digest of a file (the S3 ETag of a single-part upload)."""
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_ground_truth(staging: Path, plan: ReleasePlan, collected: _Collected) -> None:
    """Write the units' ground truth and release.json (sizes and MD5s of every file)."""
    folder = staging / GROUND_TRUTH / PROJECT
    folder.mkdir(parents=True, exist_ok=True)
    units = pd.concat(collected.units, ignore_index=True)
    units[list(UNIT_TRUTH_COLUMNS)].to_parquet(folder / "units.parquet", index=False)
    tree = staging / CACHE_PREFIX
    files = {
        f"{CACHE_PREFIX}/{p.relative_to(tree).as_posix()}": {"size": p.stat().st_size,
                                                              "md5": _md5(p)}
        for p in sorted(tree.rglob("*")) if p.is_file()
    }  # fmt: skip
    sessions = {
        str(s.ecephys_session_id): {
            "session_type": s.session_type, "genotype": s.mouse.genotype,
            "probes": s.probe_ids, "lfp_probes": list(s.lfp_probes),
            "spikes": collected.spike_counts[str(s.ecephys_session_id)],
        }
        for s in plan.sessions
    }  # fmt: skip
    info = {"size": plan.size.name, "seed": plan.seed, "sessions": sessions, "files": files}
    (folder / "release.json").write_text(json.dumps(info, indent=2, sort_keys=True))


def write_vcn_release(
    out_dir: str | Path, size: str = "default", seed: int = 0, *, overwrite: bool = False
) -> VcnSampleRelease:
    """Return the VCN sample release in ``out_dir``, writing it first unless already there.

    ``size="default"`` writes three sessions (``brain_observatory_1.1`` of an Sst-IRES-Cre;Ai32
    mouse, ``functional_connectivity`` of a Vip-IRES-Cre;Ai32 mouse, ``brain_observatory_1.1``
    of a wild-type mouse with five probes and no eye tracking), each with ~120 units, LFP on two
    probes and every stimulus of its type with few repeats (~15-20 min of recording): ~38 MB,
    ~25 s of CPU.

    ``size="benchmark"`` writes one real-size ``brain_observatory_1.1`` session: ~2,000 units on
    six probes, ~1.5 x 10^8 spikes, the released stimulus schedule and repeats (~2.5 h), large
    arrays contiguous and uncompressed as in the released files: ~3.2 GB, ~7 min of CPU,
    ~1.8 GB resident at most (most of it the scratch spike file mapped while the metrics are
    computed).

    The write is atomic: files appear only when complete.
    """
    if size not in SIZES:
        raise InvalidInputError(f"size must be one of {SIZES}, not {size!r}")
    release = VcnSampleRelease(Path(out_dir), size, int(seed), PROJECT)
    if overwrite or not release.is_complete():
        with warnings.catch_warnings():
            # The released files name the probes' manufacturer on the Device, as written
            # here; today's pynwb prefers a DeviceModel and says so once per probe.
            warnings.filterwarnings("ignore", "The 'manufacturer' field is deprecated")
            # Index columns are written unsigned, then widened to the released int64.
            warnings.filterwarnings("ignore", ".*is being converted to data type uint")
            build_release(release.root, size, int(seed))
    return release
