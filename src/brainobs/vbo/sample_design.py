"""The simulated VBO cohort: mice, their training and imaging sessions, containers and planes.

Everything here is decided by one seeded ``numpy.random.Generator``: ids, dates, rigs, each
session's behavioural skill, each plane's depth and each container's cell count. Each mouse
belongs to one of the release's projects (:data:`PROJECTS`): single-plane projects image one
plane per session on a Scientifica rig at ~31 Hz; the Multiscope project images pairs of planes
(plane groups) at ~11 Hz each. A container is one field of view imaged across the mouse's
imaging sessions; its cells keep their ``cell_specimen_id`` in every session.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone

import numpy as np

from brainobs.sample.plans import BehaviorSessionPlan, Mouse


@dataclass(frozen=True)
class LineDesign:
    """A transgenic line: genotype strings of the release and the cell class it labels."""

    full_genotype: str
    cre_line: str
    driver_lines: tuple[str, ...]
    reporter_line: str
    indicator: str


LINES: dict[str, LineDesign] = {
    "Slc17a7": LineDesign(
        "Slc17a7-IRES2-Cre/wt;Camk2a-tTA/wt;Ai93(TITL-GCaMP6f)/wt", "Slc17a7-IRES2-Cre",
        ("Slc17a7-IRES2-Cre", "Camk2a-tTA"), "Ai93(TITL-GCaMP6f)", "GCaMP6f",
    ),
    "Sst": LineDesign(
        "Sst-IRES-Cre/wt;Ai148(TIT2L-GC6f-ICL-tTA2)/wt", "Sst-IRES-Cre", ("Sst-IRES-Cre",),
        "Ai148(TIT2L-GC6f-ICL-tTA2)", "GCaMP6f",
    ),
    "Vip": LineDesign(
        "Vip-IRES-Cre/wt;Ai148(TIT2L-GC6f-ICL-tTA2)/wt", "Vip-IRES-Cre", ("Vip-IRES-Cre",),
        "Ai148(TIT2L-GC6f-ICL-tTA2)", "GCaMP6f",
    ),
}  # fmt: skip


@dataclass(frozen=True)
class PlaneDesign:
    """One imaged plane of a session: area, depth (um) and plane group (-1: single plane)."""

    structure: str
    depth: int
    group: int = -1


@dataclass(frozen=True)
class ProjectDesign:
    """A project: rig, image sets (familiar in training, novel in imaging) and planes."""

    code: str
    rig: str
    familiar_set: str
    novel_set: str
    planes: tuple[PlaneDesign, ...]
    #: plane groups the rig acquires in turn (0: single plane); timestamps interleave them
    group_count: int = 0
    num_targeted_structures: int = 1
    num_depths_per_area: int = 1

    @property
    def is_multiplane(self) -> bool:
        """Return True for a Multiscope project."""
        return self.group_count > 1


PROJECTS: dict[str, ProjectDesign] = {
    "VisualBehavior": ProjectDesign(
        "VisualBehavior", "CAM2P.4", "A", "B", (PlaneDesign("VISp", 175),)
    ),
    "VisualBehaviorTask1B": ProjectDesign(
        "VisualBehaviorTask1B", "CAM2P.3", "B", "A", (PlaneDesign("VISp", 200),)
    ),
    # Groups 0 (VISp) and 2 (VISl) of the four the rig acquires: groups 1 and 3 stand for
    # planes that failed quality control, as some do in the release.
    "VisualBehaviorMultiscope": ProjectDesign(
        "VisualBehaviorMultiscope", "MESO.1", "A", "B",
        (PlaneDesign("VISp", 150, 0), PlaneDesign("VISp", 225, 0),
         PlaneDesign("VISl", 150, 2), PlaneDesign("VISl", 225, 2)),
        group_count=4, num_targeted_structures=2, num_depths_per_area=4,
    ),
}  # fmt: skip

#: Display-frame interval (s) of the imaging rigs: Scientifica ~30.9 Hz; Multiscope ~42.9 Hz
#: shared by its plane groups (~10.7 Hz per plane with four groups).
OPHYS_FRAME_PERIOD = {"CAM2P": 1 / 30.9, "MESO": 1 / 42.9}
#: Pixel size (um) of the 512 x 512 field of view.
PIXEL_SIZE_UM = 0.78
FOV_SHAPE = (512, 512)

#: (session type pattern, stage d-prime) of the behavior-only training history; ``{F}`` is the
#: project's familiar image set.
TRAINING_STAGES: tuple[tuple[str, float], ...] = (
    ("TRAINING_0_gratings_autorewards_15min", 0.3),
    ("TRAINING_1_gratings", 0.8),
    ("TRAINING_2_gratings_flashed", 1.2),
    ("TRAINING_3_images_{F}_10uL_reward", 1.4),
    ("TRAINING_4_images_{F}_training", 1.7),
    ("TRAINING_5_images_{F}_handoff_ready", 2.1),
    ("OPHYS_0_images_{F}_habituation", 2.3),
)
#: Active imaging sessions: ``{F}`` familiar set, ``{N}`` novel set; and their d-prime. (The
#: passive sessions 2 and 5 of the release, with the lick spout withdrawn, are not simulated.)
OPHYS_STAGES: dict[str, tuple[str, float]] = {
    "1": ("OPHYS_1_images_{F}", 2.4),
    "3": ("OPHYS_3_images_{F}", 2.4),
    "4": ("OPHYS_4_images_{N}", 1.8),
    "6": ("OPHYS_6_images_{N}", 2.1),
}


@dataclass(frozen=True)
class MouseDesign:
    """A simulated mouse: its line and its project."""

    line: str
    project: str


MICE: dict[str, MouseDesign] = {
    "slc17a7": MouseDesign("Slc17a7", "VisualBehavior"),
    "sst_multiscope": MouseDesign("Sst", "VisualBehaviorMultiscope"),
    "vip_task1b": MouseDesign("Vip", "VisualBehaviorTask1B"),
}


#: The reference reads a float column whose values are all 0 or 1 as boolean; a movie shown
#: once or twice would turn ``movie_repeat`` boolean and make the reference fail.
MIN_MOVIE_REPEATS = 3


@dataclass(frozen=True)
class SizeSpec:
    """How large a simulated release is.

    ``ophys_stages`` are keys of :data:`OPHYS_STAGES`; an imaging session shows two gray
    screens of ``gray_seconds``, ``active_flashes`` flashes of the change-detection task and
    ``movie_repeats`` repeats of the 30 s natural movie. ``cells`` is the number of cells of a
    container by line (each session detects most of them). ``failed_planes`` lists
    (mouse, session, plane) indexes that failed quality control: no experiment is released.
    ``contiguous`` stores the trace matrices contiguous and uncompressed, as the released
    files do; otherwise they are chunked and gzip-compressed. ``movie_repeats`` is at least
    :data:`MIN_MOVIE_REPEATS`.
    """

    name: str
    mice: tuple[str, ...]
    ophys_stages: tuple[str, ...]
    behavior_minutes: float
    active_flashes: int
    gray_seconds: float
    movie_repeats: int
    cells: dict[str, int]
    failed_planes: tuple[tuple[int, int, int], ...] = ()
    contiguous: bool = False


SIZES: dict[str, SizeSpec] = {
    "default": SizeSpec(
        "default", ("slc17a7", "sst_multiscope", "vip_task1b"), ("1", "4", "6"),
        behavior_minutes=3.0, active_flashes=240, gray_seconds=15.0, movie_repeats=3,
        cells={"Slc17a7": 80, "Sst": 14, "Vip": 30}, failed_planes=((1, 2, 3),),
    ),
    "benchmark": SizeSpec(
        "benchmark", ("slc17a7",), ("1",), behavior_minutes=3.0, active_flashes=4800,
        gray_seconds=300.0, movie_repeats=10, cells={"Slc17a7": 330, "Sst": 14, "Vip": 26},
        contiguous=True,
    ),
}  # fmt: skip


def scaled_size(name: str, scale: float) -> SizeSpec:
    """Return size ``name`` shrunk by ``scale`` (tests run the benchmark code path with it)."""
    spec = SIZES[name]
    return replace(
        spec,
        name=f"{name}-x{scale:g}",
        active_flashes=max(round(spec.active_flashes * scale), 80),
        gray_seconds=max(spec.gray_seconds * scale, 5.0),
        movie_repeats=max(round(spec.movie_repeats * scale), MIN_MOVIE_REPEATS),
        cells={k: max(round(v * scale), 6) for k, v in spec.cells.items()},
    )


@dataclass
class ContainerPlan:
    """A field of view imaged across sessions, and the block of its cell specimen ids."""

    ophys_container_id: int
    mouse: Mouse
    line: str
    plane: PlaneDesign
    n_cells: int
    first_cell_specimen_id: int
    seed: int


@dataclass
class ExperimentPlan:
    """One imaging plane of one session (an ``ophys_experiment``) and its file."""

    ophys_experiment_id: int
    container: ContainerPlan
    imaging_depth: int
    first_cell_roi_id: int
    file_id: int = -999

    @property
    def plane(self) -> PlaneDesign:
        """Return the plane design of the experiment's container."""
        return self.container.plane


@dataclass
class OphysSessionPlan:
    """One imaging session: its behavior session and the experiments released from it."""

    ophys_session_id: int
    behavior: BehaviorSessionPlan
    project: ProjectDesign
    line: str
    experiments: list[ExperimentPlan] = field(default_factory=list)


@dataclass
class Cohort:
    """The whole simulated release plan."""

    size: SizeSpec
    seed: int
    mice: list[Mouse]
    lines: dict[int, str]
    projects: dict[int, ProjectDesign]
    behavior_sessions: list[BehaviorSessionPlan]
    ophys_sessions: list[OphysSessionPlan]
    containers: list[ContainerPlan]

    @property
    def experiments(self) -> list[ExperimentPlan]:
        """Return every released experiment, in session order."""
        return [e for s in self.ophys_sessions for e in s.experiments]


class _Ids:
    """Allocator of increasing, realistic-looking database ids (one sequence, as in LIMS)."""

    def __init__(self, rng: np.random.Generator, start: int, max_gap: int) -> None:
        self.rng, self.value, self.max_gap = rng, start, max_gap

    def next(self) -> int:
        """Return the next id."""
        self.value += int(self.rng.integers(1, self.max_gap))
        return self.value

    def block(self, size: int) -> int:
        """Return the first of ``size`` consecutive fresh ids."""
        first = self.next()
        self.value += size
        return first


def plan_cohort(size: str | SizeSpec = "default", seed: int = 0) -> Cohort:
    """Return the plan of a release of ``size`` drawn with ``seed``."""
    spec = SIZES[size] if isinstance(size, str) else size
    rng = np.random.default_rng([seed, 8_317])
    mouse_ids = _Ids(rng, 440_000 + int(rng.integers(0, 9000)), 4000)
    lims = _Ids(rng, 850_000_000 + int(rng.integers(0, 10**6)), 300_000)
    cohort = Cohort(spec, seed, [], {}, {}, [], [], [])
    start = datetime(2019, 3, 4, 9, 0, tzinfo=timezone.utc)
    for i, key in enumerate(spec.mice):
        design = MICE[key]
        project = PROJECTS[design.project]
        mouse = _draw_mouse(rng, mouse_ids.next(), LINES[design.line], start)
        cohort.mice.append(mouse)
        cohort.lines[mouse.mouse_id] = design.line
        cohort.projects[mouse.mouse_id] = project
        first_day = start + timedelta(days=11 * i)
        history = _training_history(rng, mouse, project, lims, first_day)
        cohort.behavior_sessions.extend(history)
        _imaging_sessions(rng, cohort, i, design.line, project, lims, history[-1].date)
    _assign_file_ids(cohort)
    return cohort


def _draw_mouse(
    rng: np.random.Generator, mouse_id: int, line: LineDesign, start: datetime
) -> Mouse:
    """Return one mouse, ~11 weeks old when training starts."""
    birth = start - timedelta(days=int(rng.integers(70, 90)))
    sex = "M" if rng.random() < 0.5 else "F"
    return Mouse(
        mouse_id, line.full_genotype, line.cre_line, sex, birth, float(rng.normal(0.0, 0.15)),
        reporter_line=line.reporter_line, driver_lines=line.driver_lines,
    )  # fmt: skip


def _session_type(pattern: str, project: ProjectDesign) -> str:
    """Return a session type with the project's familiar and novel image sets filled in."""
    return pattern.format(F=project.familiar_set, N=project.novel_set)


def _training_history(
    rng: np.random.Generator,
    mouse: Mouse,
    project: ProjectDesign,
    lims: _Ids,
    start: datetime,
) -> list[BehaviorSessionPlan]:
    """Return the mouse's behavior-only sessions: training stages, then habituation."""
    out: list[BehaviorSessionPlan] = []
    day = start
    for number, (pattern, dprime) in enumerate(TRAINING_STAGES, start=1):
        # The release lists ~40 training days per mouse; the sample lists one per stage.
        day = _next_weekday(day + timedelta(days=int(rng.integers(3, 9))))
        session_type = _session_type(pattern, project)
        rig = project.rig if session_type.startswith("OPHYS") else _behavior_box(rng)
        out.append(_behavior_plan(rng, lims, mouse, session_type, day, rig, dprime, number))
        out[-1].project_code = project.code
    return out


def _behavior_plan(
    rng: np.random.Generator,
    lims: _Ids,
    mouse: Mouse,
    session_type: str,
    day: datetime,
    rig: str,
    dprime: float,
    number: int,
) -> BehaviorSessionPlan:
    """Return one behavior session plan on ``day`` at a random time of the morning."""
    when = day.replace(hour=int(rng.integers(8, 14)), minute=int(rng.integers(0, 60)))
    when += timedelta(milliseconds=int(rng.integers(0, 60_000)))  # LIMS keeps milliseconds
    skill = max(dprime + mouse.skill + float(rng.normal(0, 0.1)), 0.1)
    return BehaviorSessionPlan(
        lims.next(), mouse, session_type, when, rig, skill, number,
        seed=int(rng.integers(0, 2**31)),
    )  # fmt: skip


def _next_weekday(day: datetime) -> datetime:
    """Return ``day`` moved forward to Monday if it falls on a weekend."""
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _behavior_box(rng: np.random.Generator) -> str:
    """Return a behavior training rig name like ``BEH.B-Box3``."""
    return f"BEH.{'BDF'[int(rng.integers(0, 3))]}-Box{int(rng.integers(1, 7))}"


def _imaging_sessions(
    rng: np.random.Generator,
    cohort: Cohort,
    mouse_index: int,
    line: str,
    project: ProjectDesign,
    lims: _Ids,
    last_training: datetime,
) -> None:
    """Plan the mouse's containers and its imaging sessions with their experiments."""
    mouse = cohort.mice[-1]
    spec = cohort.size
    containers = [
        ContainerPlan(lims.next(), mouse, line, plane, spec.cells[line], 0,
                      int(rng.integers(0, 2**31)))
        for plane in project.planes
    ]  # fmt: skip
    for container in containers:
        container.first_cell_specimen_id = lims.block(container.n_cells)
    cohort.containers.extend(containers)
    day = last_training
    for s, key in enumerate(spec.ophys_stages):
        pattern, dprime = OPHYS_STAGES[key]
        day = _next_weekday(day + timedelta(days=1))
        behavior = _behavior_plan(rng, lims, mouse, _session_type(pattern, project), day,
                                  project.rig, dprime, len(TRAINING_STAGES) + s + 1)  # fmt: skip
        behavior.project_code = project.code
        cohort.behavior_sessions.append(behavior)
        session = OphysSessionPlan(lims.next(), behavior, project, line)
        for p, container in enumerate(containers):
            if (mouse_index, s, p) in spec.failed_planes:
                continue
            jitter = int(rng.integers(-3, 4)) if project.is_multiplane else 0
            session.experiments.append(
                ExperimentPlan(lims.next(), container, container.plane.depth + jitter,
                               lims.block(3 * container.n_cells))
            )  # fmt: skip
        cohort.ophys_sessions.append(session)


def _assign_file_ids(cohort: Cohort) -> None:
    """Number the files as the release does: experiments first, then behavior-only sessions."""
    experiments = sorted(cohort.experiments, key=lambda e: e.ophys_experiment_id)
    for file_id, experiment in enumerate(experiments):
        experiment.file_id = file_id
    imaging = {s.behavior.behavior_session_id for s in cohort.ophys_sessions}
    behavior_only = [b for b in cohort.behavior_sessions if b.behavior_session_id not in imaging]
    for offset, plan in enumerate(sorted(behavior_only, key=lambda b: b.behavior_session_id)):
        plan.file_id = len(experiments) + offset
