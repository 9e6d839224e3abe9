"""The simulated VBN cohort: mice, their training histories and the session plans.

Everything here is decided by one seeded ``numpy.random.Generator``: ids, dates, rigs, the
sequence of training stages, each session's behavioural skill (d-prime) and each probe's unit
count. The benchmark size adds ecephys sessions that are listed in the metadata tables only
(see :mod:`brainobs.vbn.sample_metadata_only`). The later modules simulate and write what this
plan describes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone

import numpy as np

from brainobs.sample.anatomy import N_CHANNELS
from brainobs.sample.plans import BehaviorSessionPlan, Mouse

REPORTER = "Ai32(RCL-ChR2(H134R)_EYFP)"
#: genotype key -> (full genotype, cre line or None)
GENOTYPES: dict[str, tuple[str, str | None]] = {
    "wt": ("wt/wt", None),
    "Sst": (f"Sst-IRES-Cre/wt;{REPORTER}/wt", "Sst-IRES-Cre"),
    "Vip": (f"Vip-IRES-Cre/wt;{REPORTER}/wt", "Vip-IRES-Cre"),
}

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
    """How large a simulated release is.

    A recording runs the released schedule (see :mod:`brainobs.vbn.sample_blocks`):
    ``active_flashes`` flashes of the task, replayed passively flash for flash, gray screens of
    ``gray_seconds``, ``gabor_repeats`` passes over the gabor grid, ``n_full_field_flashes``
    flashes and ``opto_repeats`` of each light condition. Behavior-only sessions last
    ``behavior_minutes`` (habituation sessions ``habituation_minutes`` when set).
    LFP is written for the probes ``lfp_probe_names`` of the recording days ``lfp_days`` of
    mice whose Cre line is in ``lfp_cre_lines``, over the full-field flashes and the
    ``lfp_windows`` (seconds on the session clock: the windows the LFP tutorials select);
    the other probes have no LFP file. ``ecephys_files_per_mouse`` of each simulated mouse's two
    recording days get NWB files; ``metadata_only_sessions`` more ecephys sessions (of further
    mice) appear in the metadata tables only, and their units bring units.csv to
    ``release_units`` rows when that is set. ``contiguous`` stores the large arrays (spikes,
    waveforms, LFP) as the released files do: contiguous and uncompressed; otherwise they are
    chunked and gzip-compressed. ``abnormal_sessions`` (0 or 1) recordings are flagged with
    abnormal histology and activity, as 50 released ones are. The ``dense_probes`` record
    twice as many units as the others (the VISp insertion, which the tutorials analyse).
    """

    name: str
    genotypes: tuple[str, ...]
    stage_repeats: int
    behavior_minutes: float
    active_flashes: int
    units_per_probe: int
    gabor_repeats: int
    n_full_field_flashes: int
    opto_repeats: int
    lfp_probe_names: tuple[str, ...]
    lfp_windows: tuple[tuple[float, float], ...] = ()
    lfp_cre_lines: tuple[str, ...] = ("Sst-IRES-Cre",)
    lfp_days: tuple[int, ...] = (1, 2)
    gray_seconds: tuple[float, float] = (10.0, 289.0)
    habituation_minutes: float = 0.0
    mean_rate_scale: float = 1.0
    ecephys_files_per_mouse: int = 2
    metadata_only_sessions: int = 0
    release_units: int = 0
    contiguous: bool = False
    abnormal_sessions: int = 1
    dense_probes: tuple[str, ...] = ("probeC",)

    def minutes_of(self, session_type: str) -> float:
        """Return how long a behavior-only session of ``session_type`` lasts (minutes)."""
        if session_type.startswith("HABITUATION") and self.habituation_minutes:
            return self.habituation_minutes
        return self.behavior_minutes


#: Units in the real release's units.csv (v0.5.0) and its ecephys sessions.
RELEASE_UNITS = 319_013
RELEASE_ECEPHYS_SESSIONS = 153

SIZES: dict[str, SizeSpec] = {
    "default": SizeSpec(
        "default", ("wt", "Sst", "Vip"), stage_repeats=1, behavior_minutes=4.0,
        habituation_minutes=16.0, active_flashes=800, units_per_probe=45, gabor_repeats=1,
        n_full_field_flashes=24, opto_repeats=10, lfp_probe_names=("probeC",), lfp_days=(2,),
        lfp_windows=((98.0, 103.0), (497.0, 513.0)), mean_rate_scale=0.4,
    ),
    "benchmark": SizeSpec(
        "benchmark", ("Sst",), stage_repeats=1, behavior_minutes=4.0,
        active_flashes=2000, units_per_probe=340, gabor_repeats=3,
        n_full_field_flashes=150, opto_repeats=50, lfp_probe_names=("probeC", "probeE"),
        gray_seconds=(10.0, 60.0), mean_rate_scale=1.6, ecephys_files_per_mouse=1,
        metadata_only_sessions=RELEASE_ECEPHYS_SESSIONS - 2, release_units=RELEASE_UNITS,
        contiguous=True, dense_probes=(),
    ),
}  # fmt: skip


def scaled_size(name: str, scale: float) -> SizeSpec:
    """Return size ``name`` shrunk by ``scale`` (tests run the benchmark code path with it)."""
    spec = SIZES[name]

    def shrink(value: float, least: int) -> int:
        """Return ``value`` scaled, at least ``least``."""
        return max(round(value * scale), least)

    return replace(
        spec,
        name=f"{name}-x{scale:g}",
        behavior_minutes=max(spec.behavior_minutes * scale, 1.0),
        gabor_repeats=shrink(spec.gabor_repeats, 1),
        active_flashes=shrink(spec.active_flashes, 80),
        units_per_probe=shrink(spec.units_per_probe, 4),
        n_full_field_flashes=shrink(spec.n_full_field_flashes, 4),
        opto_repeats=shrink(spec.opto_repeats, 2),
        gray_seconds=(spec.gray_seconds[0], max(spec.gray_seconds[1] * scale, 5.0)),
        metadata_only_sessions=shrink(
            spec.metadata_only_sessions, min(spec.metadata_only_sessions, 3)
        ),
        release_units=shrink(spec.release_units, 0),
    )


@dataclass
class EcephysSessionPlan:
    """One ecephys session: its probes, unit counts, database ids and files.

    A session with ``write_nwb`` False is listed in the metadata tables only: its ``file_id``
    and its probes' LFP file ids are -999, the release's marker for "no file".
    """

    ecephys_session_id: int
    behavior: BehaviorSessionPlan
    probe_ids: dict[str, int]
    lfp_probes: tuple[str, ...]
    file_id: int
    session_number: int
    first_channel_id: int
    unit_counts: dict[str, int] = field(default_factory=dict)
    first_unit_id: int = 0
    lfp_file_ids: dict[str, int] = field(default_factory=dict)
    write_nwb: bool = True
    abnormal_histology: str | None = None
    abnormal_activity: str | None = None

    def unit_id_start(self, probe: str) -> int:
        """Return the first unit id available to ``probe`` (ids advance by at most 3)."""
        before = 0
        for name in self.probe_ids:
            if name == probe:
                return self.first_unit_id + 3 * before
            before += self.unit_counts[name]
        raise KeyError(probe)


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

    def block(self, size: int) -> int:
        """Return the first of ``size`` consecutive fresh ids."""
        first = self.next()
        self.value += size
        return first


def plan_cohort(size: str | SizeSpec = "default", seed: int = 0) -> Cohort:
    """Return the plan of a release of ``size`` drawn with ``seed``."""
    spec = SIZES[size] if isinstance(size, str) else size
    rng = np.random.default_rng([seed, 7_301])
    ids = {
        "mouse": _Ids(rng, 520_000 + int(rng.integers(0, 9000)), 900),
        # One sequence for every database id, as in the Allen Institute's LIMS: session,
        # probe, channel and unit ids never collide.
        "lims": _Ids(rng, 1_040_000_000 + int(rng.integers(0, 10**6)), 200_000),
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
    ecephys.extend(_metadata_only_sessions(rng, spec, mice, behavior, ecephys, ids))
    _flag_abnormal(rng, spec, ecephys)
    return Cohort(spec, seed, mice, behavior, ecephys)


def _flag_abnormal(
    rng: np.random.Generator, spec: SizeSpec, ecephys: list[EcephysSessionPlan]
) -> None:
    """Flag the second recording of the first wild-type mouse with files as abnormal.

    Like the release's flagged sessions it lists a damaged region (histology) and the time
    (s) of epileptiform activity; the session table hides it unless asked.
    """
    candidates = [
        p for p in ecephys
        if p.write_nwb and p.behavior.mouse.cre_line is None and p.session_number == 2
    ]  # fmt: skip
    if spec.abnormal_sessions and candidates:
        plan = candidates[0]
        plan.abnormal_histology = str(["Thalamus"])
        plan.abnormal_activity = str([int(rng.integers(300, 1500))])


def _draw_mouse(rng: np.random.Generator, mouse_id: int, key: str, start: datetime) -> Mouse:
    """Return one mouse with a birth date ~10 weeks before training starts."""
    birth = start - timedelta(days=int(rng.integers(60, 80)))
    sex = "M" if rng.random() < 0.5 else "F"
    return Mouse(mouse_id, *GENOTYPES[key], sex, birth, float(rng.normal(0.0, 0.15)))


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
                ids["lims"].next(), mouse, session_type, when, rig,
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
    plans: list[EcephysSessionPlan] = []
    for session in sessions:
        if not session.session_type.startswith("EPHYS"):
            session.file_id = ids["file"].next()
            continue
        write = len(plans) < spec.ecephys_files_per_mouse
        day = len(plans) + 1
        records = session.mouse.cre_line in spec.lfp_cre_lines and day in spec.lfp_days
        lfp = tuple(p for p in spec.lfp_probe_names if p in PROBE_NAMES) if records else ()
        plan = _one_ecephys_plan(session, ids, PROBE_NAMES, lfp if write else None)
        plan.session_number = day
        counts = rng.normal(spec.units_per_probe, spec.units_per_probe * 0.1, len(PROBE_NAMES))
        counts *= [2.0 if name in spec.dense_probes else 1.0 for name in PROBE_NAMES]
        _assign_units(plan, np.maximum(counts.astype(np.int64), 5), ids)
        plans.append(plan)
    return plans


def _one_ecephys_plan(
    session: BehaviorSessionPlan,
    ids: dict[str, _Ids],
    probes: tuple[str, ...],
    lfp: tuple[str, ...] | None,
) -> EcephysSessionPlan:
    """Return the ecephys plan of one EPHYS behavior session recorded with ``probes``.

    ``lfp`` names the probes whose LFP files are written; None lists the session without any
    file (every probe then had LFP, and file ids are -999).
    """
    ecephys_id = ids["lims"].next()
    session.ecephys_session_id = ecephys_id
    probe_base = ids["lims"].block(len(probes))
    probe_ids = {name: probe_base + k for k, name in enumerate(probes)}
    first_channel = ids["lims"].block(N_CHANNELS * len(probes))
    write_nwb = lfp is not None
    file_id = ids["file"].next() if write_nwb else -999
    lfp_probes = probes if lfp is None else lfp
    plan = EcephysSessionPlan(ecephys_id, session, probe_ids, lfp_probes, file_id, 1, first_channel)
    plan.write_nwb = write_nwb
    if lfp:
        plan.lfp_file_ids = {name: ids["file"].next() for name in lfp}
    return plan


def _assign_units(plan: EcephysSessionPlan, counts: np.ndarray, ids: dict[str, _Ids]) -> None:
    """Give ``plan`` its per-probe unit counts and a block of unit ids."""
    plan.unit_counts = {name: int(n) for name, n in zip(plan.probe_ids, counts, strict=True)}
    plan.first_unit_id = ids["lims"].block(3 * int(np.sum(counts)))


def _metadata_only_sessions(
    rng: np.random.Generator,
    spec: SizeSpec,
    mice: list[Mouse],
    behavior: list[BehaviorSessionPlan],
    planned: list[EcephysSessionPlan],
    ids: dict[str, _Ids],
) -> list[EcephysSessionPlan]:
    """Return the sessions listed in the metadata tables only: two recording days per mouse."""
    n = spec.metadata_only_sessions
    probe_sets = [_probe_subset(rng) for _ in range(n)]
    counts = _unit_counts(rng, spec, probe_sets, sum(sum(p.unit_counts.values()) for p in planned))
    plans: list[EcephysSessionPlan] = []
    while len(plans) < n:
        key = str(rng.choice(list(GENOTYPES), p=GENOTYPE_SHARE))
        first_day = datetime(2019, 9, 2, 9, tzinfo=timezone.utc) + timedelta(days=5 * len(mice))
        mouse = _draw_mouse(rng, ids["mouse"].next(), key, first_day)
        mice.append(mouse)
        history = int(rng.integers(25, 45))
        for day, (stage, dprime) in enumerate(EPHYS_STAGES[: min(2, n - len(plans))]):
            k = len(plans)
            session = _recording_day(rng, mouse, stage, dprime, first_day, history, day, ids)
            behavior.append(session)
            plan = _one_ecephys_plan(session, ids, probe_sets[k], lfp=None)
            plan.session_number = day + 1
            _assign_units(plan, counts[k], ids)
            plans.append(plan)
    return plans


#: Share of wild type, Sst and Vip mice among the metadata-only mice (as in the release).
GENOTYPE_SHARE = (0.45, 0.25, 0.30)


def _recording_day(
    rng: np.random.Generator,
    mouse: Mouse,
    stage: str,
    dprime: float,
    first_day: datetime,
    history: int,
    day: int,
    ids: dict[str, _Ids],
) -> BehaviorSessionPlan:
    """Return the behavior session of recording day ``day`` after ``history`` training days."""
    when = _next_weekday(first_day + timedelta(days=int(history * 1.4) + day))
    when = when.replace(hour=int(rng.integers(9, 16)), minute=int(rng.integers(0, 60)))
    session = BehaviorSessionPlan(
        ids["lims"].next(), mouse, stage, when, f"NP.{int(rng.integers(0, 2))}",
        max(dprime + mouse.skill, 0.1), history + day + 1, seed=int(rng.integers(0, 2**31)),
    )  # fmt: skip
    session.unlisted_sessions = history
    # Training shows gratings for ~8 sessions, then set G; set H is new on the novel day.
    session.unlisted_image_set_exposures = history - 8 if session.image_set == "G" else 0
    return session


def _probe_subset(rng: np.random.Generator) -> tuple[str, ...]:
    """Return the probes of a recording: mostly all six, sometimes four or five."""
    n = int(rng.choice([6, 5, 4], p=[0.82, 0.12, 0.06]))
    return tuple(sorted(rng.choice(PROBE_NAMES, n, replace=False).tolist()))


def _unit_counts(
    rng: np.random.Generator, spec: SizeSpec, probe_sets: list[tuple[str, ...]], planned: int
) -> list[np.ndarray]:
    """Return per-probe unit counts, summing with ``planned`` to ``spec.release_units`` if set."""
    sizes = [len(p) for p in probe_sets]
    weights = rng.gamma(16.0, 1 / 16.0, sum(sizes))
    if spec.release_units:
        remaining = spec.release_units - planned
        if remaining < sum(sizes):
            raise ValueError(f"release_units {spec.release_units} is below the planned units")
        flat = rng.multinomial(remaining, weights / weights.sum())
    else:
        flat = np.maximum((weights * spec.units_per_probe).astype(np.int64), 5)
    return np.split(flat, np.cumsum(sizes)[:-1])
