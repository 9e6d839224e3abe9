"""The simulated VBN cohort: mice, their training histories and the session plans.

Everything here is decided by one seeded ``numpy.random.Generator``: ids, dates, rigs, the
sequence of training stages and each session's behavioural skill (d-prime). The later modules
simulate and write what this plan describes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import numpy as np

REPORTER = "Ai32(RCL-ChR2(H134R)_EYFP)"
#: genotype key -> (full genotype, cre line or None)
GENOTYPES: dict[str, tuple[str, str | None]] = {
    "wt": ("wt/wt", None),
    "Sst": (f"Sst-IRES-Cre/wt;{REPORTER}/wt", "Sst-IRES-Cre"),
    "Vip": (f"Vip-IRES-Cre/wt;{REPORTER}/wt", "Vip-IRES-Cre"),
}

#: Image set names of the released files and the eight images of each set.
IMAGE_SETS: dict[str, tuple[str, ...]] = {
    "G": ("im012_r", "im036_r", "im044_r", "im047_r", "im078_r", "im083_r", "im104_r", "im111_r"),
    "H": ("im005_r", "im024_r", "im034_r", "im083_r", "im087_r", "im104_r", "im111_r", "im114_r"),
}
IMAGE_SET_STIMULUS = {
    "G": "Natural_Images_Lum_Matched_set_ophys_G_2019",
    "H": "Natural_Images_Lum_Matched_set_ophys_H_2019",
}
TEMPLATE_DATE = "2019.05.26"

#: (session_type, stage d-prime, repeats in the default history) in training order.
TRAINING_STAGES: tuple[tuple[str, float, int], ...] = (
    ("TRAINING_0_gratings_autorewards_15min_0uL_reward", 0.3, 1),
    ("TRAINING_1_gratings_10uL_reward", 0.8, 1),
    ("TRAINING_2_gratings_flashed_10uL_reward", 1.2, 1),
    ("TRAINING_3_images_G_10uL_reward", 1.4, 1),
    ("TRAINING_4_images_G_training_7uL_reward", 1.7, 1),
    ("TRAINING_5_images_G_epilogue_5uL_reward", 1.9, 1),
    ("TRAINING_5_images_G_handoff_ready_5uL_reward", 2.1, 1),
    ("HABITUATION_5_images_G_handoff_ready_3uL_reward", 2.3, 1),
)
EPHYS_STAGES: tuple[tuple[str, float], ...] = (
    ("EPHYS_1_images_G_3uL_reward", 2.4),
    ("EPHYS_1_images_H_3uL_reward", 2.1),
)
PROBE_NAMES = ("probeA", "probeB", "probeC", "probeD", "probeE", "probeF")


@dataclass(frozen=True)
class SizeSpec:
    """How large a simulated release is."""

    name: str
    genotypes: tuple[str, ...]
    stage_repeats: int
    behavior_minutes: float
    active_flashes: int
    units_per_probe: int
    gabor_repeats: int
    n_full_field_flashes: int
    opto_repeats: int
    lfp_probes: int
    lfp_seconds: float
    mean_rate_scale: float = 1.0
    metadata_only_sessions: int = 0


SIZES: dict[str, SizeSpec] = {
    "default": SizeSpec("default", ("wt", "Sst", "Vip"), 1, 4.0, 200, 32, 1, 20, 6, 2, 6.0, 0.6),
    "benchmark": SizeSpec("benchmark", ("Sst",), 1, 4.0, 4800, 340, 2, 150, 50, 2, 60.0, 2.6, 152),
}


@dataclass
class Mouse:
    """One simulated mouse."""

    mouse_id: int
    genotype_key: str
    sex: str
    date_of_birth: datetime
    skill: float

    @property
    def genotype(self) -> str:
        """Return the full genotype text."""
        return GENOTYPES[self.genotype_key][0]

    @property
    def cre_line(self) -> str | None:
        """Return the Cre driver line, or None for wild type."""
        return GENOTYPES[self.genotype_key][1]


@dataclass
class BehaviorSessionPlan:
    """One behavior session: a training day, or the behaviour of an ecephys session."""

    behavior_session_id: int
    mouse: Mouse
    session_type: str
    date: datetime
    equipment_name: str
    dprime: float
    session_number: int
    ecephys_session_id: int | None = None
    file_id: int = -999
    seed: int = 0

    @property
    def image_set(self) -> str | None:
        """Return the image-set letter, or None for grating stages."""
        if "_images_" not in self.session_type:
            return None
        return self.session_type.split("_images_")[1][0]

    @property
    def age_in_days(self) -> int:
        """Return the age in days at the session."""
        return (self.date.date() - self.mouse.date_of_birth.date()).days


@dataclass
class EcephysSessionPlan:
    """One ecephys session and its probes."""

    ecephys_session_id: int
    behavior: BehaviorSessionPlan
    probe_ids: dict[str, int]
    lfp_probes: tuple[str, ...]
    file_id: int
    lfp_file_ids: dict[str, int] = field(default_factory=dict)
    write_nwb: bool = True


@dataclass
class Cohort:
    """The whole simulated release plan."""

    size: SizeSpec
    seed: int
    mice: list[Mouse]
    behavior_sessions: list[BehaviorSessionPlan]
    ecephys_sessions: list[EcephysSessionPlan]


class _Ids:
    """Allocator of increasing, realistic-looking database ids."""

    def __init__(self, rng: np.random.Generator, start: int, max_gap: int) -> None:
        self.rng, self.value, self.max_gap = rng, start, max_gap

    def next(self) -> int:
        """Return the next id."""
        self.value += int(self.rng.integers(1, self.max_gap))
        return self.value


def plan_cohort(size: str = "default", seed: int = 0) -> Cohort:
    """Return the plan of a release of ``size`` drawn with ``seed``."""
    spec = SIZES[size]
    rng = np.random.default_rng([seed, 7_301])
    ids = {
        "mouse": _Ids(rng, 520_000 + int(rng.integers(0, 9000)), 900),
        "behavior": _Ids(rng, 1_040_000_000 + int(rng.integers(0, 10**6)), 400_000),
        "ecephys": _Ids(rng, 1_043_000_000 + int(rng.integers(0, 10**6)), 400_000),
        "file": _Ids(rng, 1000, 3),
    }
    mice, behavior, ecephys = [], [], []
    start = datetime(2020, 3, 2, 9, 0, tzinfo=timezone.utc)
    for i, key in enumerate(spec.genotypes):
        mouse = _draw_mouse(rng, ids["mouse"].next(), key, start + timedelta(days=21 * i))
        mice.append(mouse)
        sessions = _training_history(rng, spec, mouse, ids, start + timedelta(days=21 * i))
        behavior.extend(sessions)
        ecephys.extend(_ecephys_plans(rng, spec, sessions, ids))
    ecephys.extend(_metadata_only_sessions(rng, spec, mice, behavior, ids))
    return Cohort(spec, seed, mice, behavior, ecephys)


def _draw_mouse(rng: np.random.Generator, mouse_id: int, key: str, start: datetime) -> Mouse:
    """Return one mouse with a birth date ~10 weeks before training starts."""
    birth = start - timedelta(days=int(rng.integers(60, 80)))
    sex = "M" if rng.random() < 0.5 else "F"
    return Mouse(mouse_id, key, sex, birth, float(rng.normal(0.0, 0.15)))


def _training_history(
    rng: np.random.Generator,
    spec: SizeSpec,
    mouse: Mouse,
    ids: dict[str, _Ids],
    start: datetime,
) -> list[BehaviorSessionPlan]:
    """Return the mouse's behavior sessions: training, habituation, then two ephys days."""
    stages = [(t, d) for t, d, n in TRAINING_STAGES for _ in range(n * spec.stage_repeats)]
    stages += list(EPHYS_STAGES)
    out, day = [], start
    for number, (session_type, dprime) in enumerate(stages, start=1):
        day = _next_weekday(day + timedelta(days=1))
        on_rig = session_type.startswith(("HABITUATION", "EPHYS"))
        rig = f"NP.{int(rng.integers(0, 2))}" if on_rig else _behavior_box(rng)
        when = day.replace(hour=int(rng.integers(9, 16)), minute=int(rng.integers(0, 60)))
        when += timedelta(seconds=float(rng.uniform(0, 60)))
        out.append(
            BehaviorSessionPlan(
                ids["behavior"].next(), mouse, session_type, when, rig,
                max(dprime + mouse.skill + float(rng.normal(0, 0.1)), 0.1), number,
                seed=int(rng.integers(0, 2**31)),
            )
        )  # fmt: skip
    return out


def _next_weekday(day: datetime) -> datetime:
    """Return ``day`` moved forward to Monday if it falls on a weekend."""
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _behavior_box(rng: np.random.Generator) -> str:
    """Return a behavior training rig name like ``BEH.G-Box3``."""
    return f"BEH.{'BDFG'[int(rng.integers(0, 4))]}-Box{int(rng.integers(1, 7))}"


def _ecephys_plans(
    rng: np.random.Generator,
    spec: SizeSpec,
    sessions: list[BehaviorSessionPlan],
    ids: dict[str, _Ids],
) -> list[EcephysSessionPlan]:
    """Link the EPHYS behavior sessions to new ecephys sessions; give files to the others."""
    plans = []
    for session in sessions:
        if not session.session_type.startswith("EPHYS"):
            session.file_id = ids["file"].next()
            continue
        plan = _one_ecephys_plan(rng, spec, session, ids)
        plans.append(plan)
    return plans


def _one_ecephys_plan(
    rng: np.random.Generator,
    spec: SizeSpec,
    session: BehaviorSessionPlan,
    ids: dict[str, _Ids],
) -> EcephysSessionPlan:
    """Return the ecephys plan of one EPHYS behavior session."""
    ecephys_id = ids["ecephys"].next()
    session.ecephys_session_id = ecephys_id
    probe_base = ecephys_id + 4_000_000 + int(rng.integers(0, 1000))
    probe_ids = {name: probe_base + k for k, name in enumerate(PROBE_NAMES)}
    lfp = tuple(sorted(rng.choice(PROBE_NAMES, spec.lfp_probes, replace=False).tolist()))
    plan = EcephysSessionPlan(ecephys_id, session, probe_ids, lfp, ids["file"].next())
    plan.lfp_file_ids = {name: ids["file"].next() for name in lfp}
    return plan


def _metadata_only_sessions(
    rng: np.random.Generator,
    spec: SizeSpec,
    mice: list[Mouse],
    behavior: list[BehaviorSessionPlan],
    ids: dict[str, _Ids],
) -> list[EcephysSessionPlan]:
    """Return extra sessions that appear in the metadata tables only (benchmark size)."""
    plans = []
    for k in range(spec.metadata_only_sessions):
        mouse = _draw_mouse(
            rng,
            ids["mouse"].next(),
            spec.genotypes[k % len(spec.genotypes)],
            datetime(2020, 1, 6, tzinfo=timezone.utc) + timedelta(days=k),
        )
        mice.append(mouse)
        stage, dprime = EPHYS_STAGES[k % 2]
        when = datetime(2020, 4, 1, 10, tzinfo=timezone.utc) + timedelta(days=k, hours=k % 5)
        session = BehaviorSessionPlan(
            ids["behavior"].next(), mouse, stage, when, f"NP.{k % 2}", dprime, 1 + k % 2
        )
        behavior.append(session)
        plan = _one_ecephys_plan(rng, spec, session, ids)
        plan.write_nwb = False
        plans.append(plan)
    return plans
