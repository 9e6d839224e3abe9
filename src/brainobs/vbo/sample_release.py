"""Write a simulated VBO release under the real S3 keys, with manifest and ground truth.

Layout below ``root`` (a local mirror of the bucket ``visual-behavior-ophys-data``)::

    visual-behavior-ophys/
        manifests/visual-behavior-ophys_project_manifest_v1.1.0.json
        project_metadata/{behavior_session_table,ophys_session_table,
                          ophys_experiment_table,ophys_cells_table}.csv
        behavior_sessions/behavior_session_<behavior_session_id>.nwb
        behavior_ophys_experiments/behavior_ophys_experiment_<ophys_experiment_id>.nwb
    _ground_truth/visual-behavior-ophys/{cells,rois,experiments,behavior_sessions}.parquet
    _ground_truth/visual-behavior-ophys/release.json

As in the release, an imaging session's behavior session has no file of its own (``file_id``
-999): its behaviour is in each of its experiments' files. File ids number the experiment files
first, then the behavior-only files. The release is written into a temporary folder beside
``root``'s project folder and renamed into place, so an interrupted run never leaves a half
release.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from brainobs.errors import InvalidInputError
from brainobs.releases import VBO
from brainobs.sample import SIZES, SampleRelease
from brainobs.storage.manifest import FileEntry, Manifest, entry_for_file
from brainobs.vbo import sample_tables as mt
from brainobs.vbo.sample_behavior import write_behavior_session
from brainobs.vbo.sample_cells import CELL_TRUTH_COLUMNS, container_cells, detected_cells
from brainobs.vbo.sample_design import (
    Cohort,
    ExperimentPlan,
    OphysSessionPlan,
    SizeSpec,
    plan_cohort,
)
from brainobs.vbo.sample_nwb import PlaneData, write_experiment
from brainobs.vbo.sample_session import OphysSessionSimulation, simulate_session
from brainobs.vbo.sample_traces import plane_stimulus

PROJECT = VBO.project_name
BUCKET_URL = VBO.https_root
MANIFEST_VERSION = "1.1.0"
GROUND_TRUTH = "_ground_truth"
DATA_PIPELINE = (
    {"name": "AllenSDK", "version": "2.16.2", "comment": "layout of the released files"},
    {"name": "brainobs.sample", "version": "1", "comment": "simulated data"},
)
EXPERIMENT_DIR = "behavior_ophys_experiments"
BEHAVIOR_DIR = "behavior_sessions"


@dataclass
class _Collected:
    """What the metadata tables and the ground truth gather while files are written."""

    trials: dict[int, pd.DataFrame] = field(default_factory=dict)
    rois: list[pd.DataFrame] = field(default_factory=list)
    experiments: list[dict[str, Any]] = field(default_factory=list)
    behavior: list[dict[str, Any]] = field(default_factory=list)
    data_files: dict[str, Path] = field(default_factory=dict)


def build_release(root: Path, size: str | SizeSpec, seed: int) -> Path:
    """Write the release of ``size``/``seed`` atomically below ``root``; return the project dir.

    ``size`` is a name of :data:`brainobs.vbo.sample_design.SIZES` or a :class:`SizeSpec` (tests
    pass :func:`brainobs.vbo.sample_design.scaled_size` to run the benchmark path in seconds).
    """
    root.mkdir(parents=True, exist_ok=True)
    staging = root / f".staging-{PROJECT}-{uuid.uuid4().hex[:8]}"
    try:
        _write_all(staging, plan_cohort(size, seed))
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
    rows = mt.session_rows(cohort)
    collected = _Collected()
    imaging = {s.behavior.behavior_session_id for s in cohort.ophys_sessions}
    for plan in cohort.behavior_sessions:
        if plan.behavior_session_id in imaging:
            continue
        path = project / BEHAVIOR_DIR / f"behavior_session_{plan.behavior_session_id}.nwb"
        first = rows.loc[plan.behavior_session_id, "prior_exposures_to_image_set"] == 0
        content = write_behavior_session(plan, cohort.size.behavior_minutes, path,
                                         first_exposure=bool(first))  # fmt: skip
        collected.data_files[str(plan.file_id)] = path
        collected.trials[plan.behavior_session_id] = content.tables.trials
        collected.behavior.append(_behavior_truth(plan, content.engaged_until_time))
    cells = _all_cells(cohort)
    depths = mt.targeted_depths(cohort)
    for session in cohort.ophys_sessions:
        _write_session(project, cohort, session, rows, cells, depths, collected)
    _write_metadata_and_manifest(project, cohort, rows, collected)
    _write_ground_truth(staging / GROUND_TRUTH / PROJECT, cohort, cells, collected)


def _all_cells(cohort: Cohort) -> dict[int, pd.DataFrame]:
    """Return the cells of every container, keyed by container id."""
    from brainobs.sample.plans import IMAGE_SETS

    out = {}
    for container in cohort.containers:
        project = cohort.projects[container.mouse.mouse_id]
        familiar, novel = IMAGE_SETS[project.familiar_set], IMAGE_SETS[project.novel_set]
        out[container.ophys_container_id] = container_cells(container, list(familiar),
                                                            list(novel))  # fmt: skip
    return out


def _write_session(
    project: Path,
    cohort: Cohort,
    session: OphysSessionPlan,
    rows: pd.DataFrame,
    cells: dict[int, pd.DataFrame],
    depths: dict[int, int],
    collected: _Collected,
) -> None:
    """Simulate one imaging session and write the file of each of its experiments."""
    row = rows.loc[session.behavior.behavior_session_id]
    first = row["prior_exposures_to_image_set"] == 0
    from brainobs.sample.behavior_session import stimulus_of

    images = stimulus_of(session.behavior.session_type)[1]
    sim = simulate_session(session, cohort.size, frozenset(images) if first else frozenset())
    collected.trials[session.behavior.behavior_session_id] = sim.tables.trials
    collected.behavior.append(_behavior_truth(session.behavior, _engaged_until(sim)))
    stimulus = plane_stimulus(sim.flashes, sim.images, str(row["experience_level"]))
    for experiment in session.experiments:
        plane = _plane_data(experiment, cells, sim, stimulus, depths, cohort.size.contiguous)
        path = (
            project
            / EXPERIMENT_DIR
            / (f"behavior_ophys_experiment_{experiment.ophys_experiment_id}.nwb")
        )
        write_experiment(sim, plane, path)
        collected.data_files[str(experiment.file_id)] = path
        collected.rois.append(
            plane.cells.assign(ophys_experiment_id=experiment.ophys_experiment_id)
        )
        collected.experiments.append(_experiment_truth(experiment, sim, row, plane))


def _plane_data(
    experiment: ExperimentPlan,
    cells: dict[int, pd.DataFrame],
    sim: OphysSessionSimulation,
    stimulus: Any,
    depths: dict[int, int],
    contiguous: bool,
) -> PlaneData:
    """Return the cells one experiment detects (with their ROI ids) and what its file needs."""
    container_id = experiment.container.ophys_container_id
    found = detected_cells(cells[container_id], experiment.ophys_experiment_id)
    rng = np.random.default_rng([experiment.ophys_experiment_id, 13])
    # ROI ids leave gaps (the ROIs that failed classification) and do not follow cell order.
    ids = np.sort(rng.choice(3 * len(cells[container_id]), len(found), replace=False))
    found["cell_roi_id"] = experiment.first_cell_roi_id + rng.permutation(ids)
    found = found.sort_values("cell_roi_id").reset_index(drop=True)
    tuning = found[[f"tuning_{name}" for name in sim.images]].to_numpy(dtype=float)
    return PlaneData(experiment, found, tuning, stimulus, depths[container_id], contiguous)


def _engaged_until(sim: OphysSessionSimulation) -> float:
    """Return the time the simulated mouse stopped engaging in the task."""
    flashes = sim.flashes
    index = min(sim.sim.engaged_until_flash, len(flashes) - 1)
    return float(flashes["start_time"].iloc[index])


def _behavior_truth(plan: Any, engaged_until: float) -> dict[str, Any]:
    """Return the ground truth of one behavior session."""
    return {
        "behavior_session_id": plan.behavior_session_id, "mouse_id": plan.mouse.mouse_id,
        "session_type": plan.session_type, "dprime": plan.dprime,
        "engaged_until_time": engaged_until,
    }  # fmt: skip


def _experiment_truth(
    experiment: ExperimentPlan, sim: OphysSessionSimulation, row: pd.Series, plane: PlaneData
) -> dict[str, Any]:
    """Return the ground truth of one experiment."""
    timestamps = sim.plane_timestamps(experiment.plane.group)
    return {
        "ophys_experiment_id": experiment.ophys_experiment_id,
        "ophys_container_id": experiment.container.ophys_container_id,
        "ophys_session_id": sim.plan.ophys_session_id, "line": experiment.container.line,
        "experience_level": row["experience_level"], "novelty": plane.stimulus.novelty,
        "session_type": sim.plan.behavior.session_type,
        "targeted_structure": experiment.plane.structure, "imaging_depth": experiment.imaging_depth,
        "frame_period": float(np.mean(np.diff(timestamps))), "n_frames": len(timestamps),
        "n_rois": len(plane.cells),
    }  # fmt: skip


def _metadata_frames(
    cohort: Cohort, rows: pd.DataFrame, collected: _Collected
) -> dict[str, pd.DataFrame]:
    """Return the four metadata tables, keyed by their release names."""
    return {
        "behavior_session_table": mt.behavior_session_table(cohort, rows, collected.trials),
        "ophys_session_table": mt.ophys_session_table(cohort, rows),
        "ophys_experiment_table": mt.ophys_experiment_table(cohort, rows),
        "ophys_cells_table": mt.ophys_cells_table(collected.rois),
    }


def _version_id(seed: int, key: str) -> str:
    """Return a deterministic S3-style object version id for ``key``."""
    digest = hashlib.blake2b(f"{seed}:{key}".encode(), digest_size=24).hexdigest()
    return digest[:32]


def _write_metadata_and_manifest(
    project: Path, cohort: Cohort, rows: pd.DataFrame, collected: _Collected
) -> None:
    """Write the CSVs and the manifest that lists every file with its hash and size."""
    folder = project / "project_metadata"
    folder.mkdir(parents=True, exist_ok=True)
    entries: dict[str, FileEntry] = {}
    for name, table in _metadata_frames(cohort, rows, collected).items():
        path = folder / f"{name}.csv"
        table.to_csv(path, index=False)
        entries[name] = _entry(project, path, cohort.seed)
    data = {fid: _entry(project, path, cohort.seed) for fid, path in collected.data_files.items()}
    manifest = Manifest(PROJECT, MANIFEST_VERSION, entries, data, "file_id", DATA_PIPELINE)
    out = project / "manifests" / manifest.name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(manifest.to_json(), encoding="utf-8")


def _entry(project: Path, path: Path, seed: int) -> FileEntry:
    """Return the manifest entry of a written file."""
    key = f"{PROJECT}/{path.relative_to(project).as_posix()}"
    return entry_for_file(path, f"{BUCKET_URL}/{key}", _version_id(seed, key))


def _write_ground_truth(
    folder: Path, cohort: Cohort, cells: dict[int, pd.DataFrame], collected: _Collected
) -> None:
    """Write the ground truth: cells, ROIs, experiments, behavior sessions and the release."""
    folder.mkdir(parents=True, exist_ok=True)
    truth = pd.concat(cells.values(), ignore_index=True)
    tuning = [c for c in truth.columns if c.startswith("tuning_")]
    truth[[*CELL_TRUTH_COLUMNS, *tuning]].to_parquet(folder / "cells.parquet", index=False)
    rois = pd.concat(collected.rois, ignore_index=True)
    rois[
        ["cell_roi_id", "cell_specimen_id", "ophys_experiment_id", "center_x", "center_y"]
    ].to_parquet(folder / "rois.parquet", index=False)
    pd.DataFrame(collected.experiments).to_parquet(folder / "experiments.parquet", index=False)
    pd.DataFrame(collected.behavior).to_parquet(folder / "behavior_sessions.parquet", index=False)
    mice = [{"mouse_id": m.mouse_id, "line": cohort.lines[m.mouse_id],
             "project_code": cohort.projects[m.mouse_id].code} for m in cohort.mice]  # fmt: skip
    info = {
        "size": cohort.size.name, "seed": cohort.seed, "manifest_version": MANIFEST_VERSION,
        "mice": mice, "experiments": len(collected.experiments),
        "containers": len(cohort.containers),
    }  # fmt: skip
    (folder / "release.json").write_text(json.dumps(info, indent=2, sort_keys=True))


def write_vbo_release(
    out_dir: str | Path, size: str = "default", seed: int = 0, *, overwrite: bool = False
) -> SampleRelease:
    """Return the VBO sample release in ``out_dir``, writing it first unless already there.

    ``size="default"`` (~75 MB, ~25 s of CPU) writes three mice, each with seven behavior-only
    training sessions and three imaging sessions (familiar image set, first novel session,
    later novel session):
    an excitatory (Slc17a7) mouse imaged in one plane at ~31 Hz, an Sst mouse imaged with the
    Multiscope in four planes (two areas, two depths) at ~11 Hz, and a Vip mouse of the
    Task1B project (trained on image set B) in one plane; one Multiscope plane fails quality
    control in the last session. The sessions are shortened (15 s gray screens, 240 flashes,
    three movie repeats) and the traces compressed.

    ``size="benchmark"`` writes one real-size experiment: a 75 min session (5 min gray screens,
    an hour of task with 4,800 flashes, ten movie repeats) of ~290 cells at ~31 Hz (~139,000
    frames) with the trace matrices contiguous and uncompressed, as in the released files
    (1.4 GB, ~30 s of CPU, < 1 GB of memory), plus its mouse's seven training sessions.

    The write is atomic: files appear only when complete. Ground truth (per cell: line, depth,
    preferred images, change, omission and novelty gains...) is in
    ``<out_dir>/_ground_truth/visual-behavior-ophys/``.
    """
    if size not in SIZES:
        raise InvalidInputError(f"size must be one of {SIZES}, not {size!r}")
    release = SampleRelease(Path(out_dir), size, int(seed), PROJECT)
    if overwrite or not release.is_complete():
        build_release(release.root, size, int(seed))
    return release


def cell_truth(release: SampleRelease) -> pd.DataFrame:
    """Return the ground truth of every cell of a VBO sample release."""
    return pd.read_parquet(release.ground_truth_dir / "cells.parquet")


def experiment_truth(release: SampleRelease) -> pd.DataFrame:
    """Return the ground truth of every experiment of a VBO sample release."""
    return pd.read_parquet(release.ground_truth_dir / "experiments.parquet")
