"""Write a simulated VBN release under the real S3 keys, with manifest and ground truth.

Layout below ``root`` (a local mirror of the bucket ``visual-behavior-neuropixels-data``)::

    visual-behavior-neuropixels/
        manifests/visual-behavior-neuropixels_project_manifest_v{0.4.0,0.5.0}.json
        project_metadata/{ecephys_sessions,behavior_sessions,units,probes,channels}.csv
        behavior_ecephys_sessions/<id>/ecephys_session_<id>.nwb
        behavior_ecephys_sessions/<id>/probe_<probeName>_lfp.nwb
        behavior_only_sessions/<id>/behavior_session_<id>.nwb
    .versions/<version id>/visual-behavior-neuropixels/...   files v0.5.0 replaced
    _ground_truth/visual-behavior-neuropixels/{units.parquet,behavior_sessions.parquet,release.json}

The two manifest versions differ as the real v0.4.0 and v0.5.0 do
(:mod:`brainobs.vbn.sample_versions`).

The release is written into a temporary folder beside ``root``'s project folder and renamed
into place, so an interrupted run never leaves a half release. Ecephys sessions planned
without files (the benchmark size) contribute rows to the metadata tables only; see
:mod:`brainobs.vbn.sample_metadata_only` for how their ``file_id`` stays consistent with the
manifest.
"""

from __future__ import annotations

import json
import shutil
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from brainobs.errors import InvalidInputError
from brainobs.sample import SIZES, SampleRelease
from brainobs.sample.behavior_session import write_behavior_only
from brainobs.storage.local import VERSIONS
from brainobs.vbn import sample_tables as mt
from brainobs.vbn.sample_design import Cohort, SizeSpec, plan_cohort
from brainobs.vbn.sample_many import many_sessions_size
from brainobs.vbn.sample_metadata_only import metadata_only_session
from brainobs.vbn.sample_session import WrittenSession, write_ecephys_session
from brainobs.vbn.sample_versions import (
    EARLIER,
    LATEST,
    PROJECT,
    AmplitudeFix,
    write_versions,
)

GROUND_TRUTH = "_ground_truth"
UNIT_TRUTH_COLUMNS = (
    "unit_id", "ecephys_session_id", "probe_name", "structure_acronym", "fast_spiking",
    "baseline_rate", "visual", "latency", "response_amplitude", "preferred_image",
    "change_gain", "novelty_gain", "passive_gain", "omission_gain", "running_modulation",
    "rf_x", "rf_y", "rf_sigma", "preferred_orientation", "flash_gain", "tagged", "quality",
)  # fmt: skip


@dataclass
class _Collected:
    """Rows gathered while the sessions are written."""

    probes: list[pd.DataFrame] = field(default_factory=list)
    channels: list[pd.DataFrame] = field(default_factory=list)
    units: list[pd.DataFrame] = field(default_factory=list)
    unit_truth: list[pd.DataFrame] = field(default_factory=list)
    behavior_truth: list[dict[str, Any]] = field(default_factory=list)
    spike_counts: dict[int, int] = field(default_factory=dict)

    def add_rows(self, sid: int, probes: pd.DataFrame, channels: pd.DataFrame,
                 units: pd.DataFrame) -> None:  # fmt: skip
        """Add the probe, channel and unit rows of session ``sid``."""
        self.probes.append(probes)
        self.channels.append(channels.assign(ecephys_session_id=sid))
        self.units.append(units.assign(ecephys_session_id=sid))


def build_release(root: Path, size: str | SizeSpec, seed: int) -> Path:
    """Write the release of ``size``/``seed`` atomically below ``root``; return the project dir.

    ``size`` is a name of :data:`brainobs.vbn.sample_design.SIZES` or a :class:`SizeSpec` (tests
    pass :func:`brainobs.vbn.sample_design.scaled_size` to run the benchmark path in seconds).
    """
    root.mkdir(parents=True, exist_ok=True)
    staging = root / f".staging-{PROJECT}-{uuid.uuid4().hex[:8]}"
    try:
        _write_all(staging, plan_cohort(size, seed))
        _move_into_place(staging / VERSIONS, root / VERSIONS)
        _move_into_place(staging / PROJECT, root / PROJECT)
        _move_into_place(staging / GROUND_TRUTH / PROJECT, root / GROUND_TRUTH / PROJECT)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return root / PROJECT


def _move_into_place(source: Path, target: Path) -> None:
    """Replace ``target`` by ``source`` with renames (the old copy is removed afterwards)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    old = target.with_name(f".old-{target.name}-{uuid.uuid4().hex[:8]}")
    if target.exists():
        target.rename(old)
    source.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def _write_all(staging: Path, cohort: Cohort) -> None:
    """Write every file of the release into ``staging``."""
    project = staging / PROJECT
    collected = _Collected()
    data_files: dict[str, Path] = {}
    for plan in cohort.behavior_sessions:
        if plan.file_id < 0:
            continue
        key = f"behavior_only_sessions/{plan.behavior_session_id}"
        path = project / key / f"behavior_session_{plan.behavior_session_id}.nwb"
        content = write_behavior_only(plan, cohort.size.minutes_of(plan.session_type), path)
        data_files[str(plan.file_id)] = path
        collected.behavior_truth.append(_behavior_truth(plan, content.tables.trials,
                                                        content.engaged_until_time))  # fmt: skip
    for eplan in cohort.ecephys_sessions:
        if not eplan.write_nwb:
            rows = metadata_only_session(eplan)
            collected.add_rows(eplan.ecephys_session_id, rows.probes, rows.channels, rows.units)
            continue
        folder = project / "behavior_ecephys_sessions" / str(eplan.ecephys_session_id)
        written = write_ecephys_session(eplan, cohort.size, folder, staging / "scratch")
        _collect_session(collected, written, data_files, folder)
    metadata = _metadata_frames(cohort, collected)
    fix = _amplitude_fix(cohort)
    write_versions(staging, metadata, data_files, cohort.seed, fix)
    _write_ground_truth(staging / GROUND_TRUTH / PROJECT, cohort, collected, fix)


def _amplitude_fix(cohort: Cohort) -> AmplitudeFix | None:
    """Return the last recording with a file and no LFP: its amplitudes were 2x in v0.4.0."""
    plans = [p for p in cohort.ecephys_sessions if p.write_nwb and not p.lfp_probes]
    return AmplitudeFix(plans[-1].ecephys_session_id, plans[-1].file_id) if plans else None


def _behavior_truth(plan: Any, trials: pd.DataFrame, engaged_until: float) -> dict[str, Any]:
    """Return the ground truth of one behavior session."""
    return {
        "behavior_session_id": plan.behavior_session_id, "mouse_id": plan.mouse.mouse_id,
        "session_type": plan.session_type, "session_number": plan.session_number,
        "dprime": plan.dprime, "engaged_until_time": engaged_until,
        "ecephys_session_id": plan.ecephys_session_id, "n_trials": len(trials),
    }  # fmt: skip


def _collect_session(
    collected: _Collected, written: WrittenSession, data_files: dict[str, Path], folder: Path
) -> None:
    """Gather the rows and files of one written ecephys session."""
    sim = written.simulation
    plan = sim.plan
    sid = plan.ecephys_session_id
    data_files[str(plan.file_id)] = folder / f"ecephys_session_{sid}.nwb"
    for name, file_id in plan.lfp_file_ids.items():
        data_files[str(file_id)] = folder / f"probe_{name}_lfp.nwb"
    collected.add_rows(sid, written.probes, sim.channels, written.units)
    collected.unit_truth.append(written.units.assign(ecephys_session_id=sid))
    collected.spike_counts[sid] = written.n_spikes
    engaged = sim.frame_times[min(sim.sim.engaged_until_flash * 45, len(sim.frame_times) - 1)]
    collected.behavior_truth.append(
        _behavior_truth(plan.behavior, sim.tables.trials, float(engaged))
        | {"novel_images": sorted(sim.novel_images)}
    )


def _metadata_frames(cohort: Cohort, collected: _Collected) -> dict[str, pd.DataFrame]:
    """Return the five metadata tables, keyed by their release names."""
    units = pd.concat(collected.units, ignore_index=True)
    channels = pd.concat(collected.channels, ignore_index=True)
    channels["_full_acronym"] = channels["structure_acronym_full"]
    probes = pd.concat(collected.probes, ignore_index=True)
    behavior = mt.behavior_sessions_table(cohort)
    return {
        "behavior_sessions": behavior,
        "ecephys_sessions": mt.ecephys_sessions_table(cohort, behavior, probes, channels),
        "probes": mt.to_csv_frame("probes", probes),
        "channels": mt.to_csv_frame("channels", mt.channels_table(channels, units)),
        "units": mt.to_csv_frame("units", mt.units_table(units, channels)),
    }


def _write_ground_truth(
    folder: Path, cohort: Cohort, collected: _Collected, fix: AmplitudeFix | None
) -> None:
    """Write the ground truth: units, behaviour sessions and a description of the release."""
    folder.mkdir(parents=True, exist_ok=True)
    units = pd.concat(collected.unit_truth, ignore_index=True)
    truth = units[list(UNIT_TRUTH_COLUMNS)].copy()
    truth["preferred_image"] = truth["preferred_image"].astype("string")
    truth.to_parquet(folder / "units.parquet", index=False)
    behavior = pd.DataFrame(collected.behavior_truth)
    behavior["novel_images"] = behavior.get("novel_images", pd.Series(dtype=object)).map(
        lambda v: list(v) if isinstance(v, list) else []
    )
    behavior.to_parquet(folder / "behavior_sessions.parquet", index=False)
    mice = [{"mouse_id": m.mouse_id, "genotype": m.genotype, "cre_line": m.cre_line,
             "skill": m.skill} for m in cohort.mice]  # fmt: skip
    info = {
        "size": cohort.size.name, "seed": cohort.seed, "manifest_version": LATEST,
        "manifest_versions": [EARLIER, LATEST],
        "amplitudes_fixed_in_latest": [fix.ecephys_session_id] if fix else [],
        "mice": mice,
        "ecephys_sessions_with_files": {str(k): {"spikes": v}
                                        for k, v in collected.spike_counts.items()},
        "metadata_only_ecephys_sessions": [p.ecephys_session_id for p in cohort.ecephys_sessions
                                           if not p.write_nwb],
    }  # fmt: skip
    (folder / "release.json").write_text(json.dumps(info, indent=2, sort_keys=True))


def write_vbn_release(
    out_dir: str | Path,
    size: str = "default",
    seed: int = 0,
    *,
    overwrite: bool = False,
    sessions: int | None = None,
) -> SampleRelease:
    """Return the VBN sample release in ``out_dir``, writing it first unless already there.

    ``size="default"`` (~130 MB, ~30 s of CPU) writes 3 mice (wild type, Sst-IRES-Cre;Ai32,
    Vip-IRES-Cre;Ai32), each with eight behavior-only training sessions (the habituation one
    16 min long) and two ecephys sessions (familiar image set G, novel set H) on the released
    schedule: 800 task flashes replayed passively flash for flash, 10 s and 289 s of gray
    screen, gabors, full-field flashes and optotagging (~29 min), ~320 units on 6 probes
    (twice as many on probe C, through VISp), LFP on probe C of the Sst mouse's novel day over
    the windows the LFP tutorials use. The wild-type mouse's second recording is flagged
    abnormal. Manifests v0.4.0 and v0.5.0 differ as the released ones do
    (:mod:`brainobs.vbn.sample_versions`). Large arrays are chunked and gzip-compressed;
    signals are rounded to binary steps near their instruments' resolution so that they
    compress (:mod:`brainobs.sample.quantize`).

    ``size="benchmark"`` (~2.4 GB, about two minutes) writes one realistic session file
    (~2,000 units on 6 probes, ~10^8 spikes, ~1 h, large arrays contiguous and uncompressed as
    in the released files) and metadata tables of release size: 153 ecephys sessions and
    319,013 units, the other 152 sessions listed without files (``file_id`` -999, see
    :mod:`brainobs.vbn.sample_metadata_only`). Memory stays near 1 GB.

    ``sessions=N`` (with the default size) writes N small ecephys sessions instead, two per
    mouse, for dataset-wide work (:mod:`brainobs.vbn.sample_many`).

    The write is atomic: files appear only when complete.
    """
    if size not in SIZES:
        raise InvalidInputError(f"size must be one of {SIZES}, not {size!r}")
    spec: str | SizeSpec = size
    if sessions is not None:
        if size != "default":
            raise InvalidInputError(f"sessions= goes with the default size, not {size!r}.")
        spec = many_sessions_size(sessions)
        size = spec.name
    release = SampleRelease(Path(out_dir), size, int(seed), PROJECT)
    if overwrite or not release.is_complete():
        with warnings.catch_warnings():
            # The released files name the probes' manufacturer on the Device, as written
            # here; today's pynwb prefers a DeviceModel and says so once per probe.
            warnings.filterwarnings("ignore", "The 'manufacturer' field is deprecated")
            build_release(release.root, spec, int(seed))
    return release
