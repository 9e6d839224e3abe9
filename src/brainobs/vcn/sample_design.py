"""The simulated Visual Coding Neuropixels release: its sizes, mice, sessions and database ids.

Everything here is drawn from one seeded ``numpy.random.Generator``: mice, dates, ids, probe
rigs and unit counts. Ids come from one increasing sequence, as in the Allen Institute's LIMS
(a session id is smaller than its probes', which are smaller than their channels' and units').
The later modules simulate and write what this plan describes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone

import numpy as np

from brainobs.sample.anatomy import N_CHANNELS

REPORTER = "Ai32(RCL-ChR2(H134R)_EYFP)"
#: genotype key -> (full genotype, cre line or None, specimen-name prefix)
GENOTYPES: dict[str, tuple[str, str | None, str]] = {
    "wt": ("wt/wt", None, "C57BL/6J"),
    "Sst": (f"Sst-IRES-Cre/wt;{REPORTER}/wt", "Sst-IRES-Cre", "Sst-IRES-Cre;Ai32"),
    "Pvalb": (f"Pvalb-IRES-Cre/wt;{REPORTER}/wt", "Pvalb-IRES-Cre", "Pvalb-IRES-Cre;Ai32"),
    "Vip": (f"Vip-IRES-Cre/wt;{REPORTER}/wt", "Vip-IRES-Cre", "Vip-IRES-Cre;Ai32"),
}
PROBE_NAMES = ("probeA", "probeB", "probeC", "probeD", "probeE", "probeF")
PUBLISHED_AT = "2019-10-03T00:00:00Z"
#: Pacific time of the rigs: the NWB files' session_start_time carry it (-08:00 in winter).
PACIFIC = timezone(timedelta(hours=-8))


@dataclass(frozen=True)
class SizeSpec:
    """How large a simulated release is.

    ``sessions`` lists (session type, genotype key, probe count) per session. ``repeats`` is
    the number of repeats of each stimulus's conditions (or of each movie); ``spontaneous_scale``
    shrinks the gray periods between blocks. ``contiguous`` stores the large arrays as the
    released files do (contiguous, uncompressed); otherwise chunked and gzip-compressed.
    """

    name: str
    sessions: tuple[tuple[str, str, int], ...]
    units_per_probe: int
    repeats: dict[str, int]
    spontaneous_scale: float
    lfp_probes: int
    lfp_seconds: float
    opto_repeats: int
    rate_scale: float = 1.0
    contiguous: bool = False


#: The repeats of the released sessions (reference/real_nwb_layouts/dandiset_00002{1,2}.md).
FULL_REPEATS: dict[str, int] = {
    "gabors": 15, "flashes": 75, "drifting_gratings": 15, "static_gratings": 50,
    "natural_scenes": 50, "natural_movie_one": 20, "natural_movie_three": 10,
    "drifting_gratings_contrast": 15, "drifting_gratings_75_repeats": 75, "dot_motion": 12,
    "natural_movie_one_more_repeats": 60, "natural_movie_one_shuffled": 20,
}  # fmt: skip

SIZES: dict[str, SizeSpec] = {
    "default": SizeSpec(
        "default",
        sessions=(
            ("brain_observatory_1.1", "Sst", 6),
            ("functional_connectivity", "Vip", 6),
            ("brain_observatory_1.1", "wt", 5),
        ),
        units_per_probe=20,
        repeats={
            "gabors": 3, "flashes": 10, "drifting_gratings": 4, "static_gratings": 4,
            "natural_scenes": 4, "natural_movie_one": 2, "natural_movie_three": 2,
            "drifting_gratings_contrast": 3, "drifting_gratings_75_repeats": 8, "dot_motion": 3,
            "natural_movie_one_more_repeats": 2, "natural_movie_one_shuffled": 2,
        },
        spontaneous_scale=0.03,
        lfp_probes=2,
        lfp_seconds=6.0,
        opto_repeats=2,
        rate_scale=0.8,
    ),
    "benchmark": SizeSpec(
        "benchmark",
        sessions=(("brain_observatory_1.1", "Sst", 6),),
        units_per_probe=340,
        repeats=dict(FULL_REPEATS),
        spontaneous_scale=1.0,
        lfp_probes=2,
        lfp_seconds=304.0,
        opto_repeats=15,
        rate_scale=1.0,
        contiguous=True,
    ),
}  # fmt: skip


def scaled_size(name: str, scale: float) -> SizeSpec:
    """Return size ``name`` shrunk by ``scale`` (tests run the benchmark code path with it)."""
    spec = SIZES[name]
    repeats = {k: max(round(v * scale), 1) for k, v in spec.repeats.items()}
    return replace(
        spec,
        name=f"{name}-x{scale:g}",
        units_per_probe=max(round(spec.units_per_probe * scale), 4),
        repeats=repeats,
        spontaneous_scale=spec.spontaneous_scale * scale,
        lfp_seconds=max(round(spec.lfp_seconds * scale), 3.0),
        opto_repeats=max(round(spec.opto_repeats * scale), 1),
    )


@dataclass
class Mouse:
    """One simulated mouse (a donor and its specimen)."""

    donor_id: int
    specimen_id: int
    genotype_key: str
    sex: str
    date_of_birth: datetime

    @property
    def genotype(self) -> str:
        """Return the full genotype."""
        return GENOTYPES[self.genotype_key][0]

    @property
    def cre_line(self) -> str | None:
        """Return the Cre line, or None for wild type."""
        return GENOTYPES[self.genotype_key][1]

    @property
    def specimen_name(self) -> str:
        """Return the specimen name (``Sst-IRES-Cre;Ai32-386129``)."""
        return f"{GENOTYPES[self.genotype_key][2]}-{self.donor_id % 1_000_000}"


@dataclass
class SessionPlan:
    """One recording session: its mouse, type, probes, ids and unit counts."""

    ecephys_session_id: int
    session_type: str
    mouse: Mouse
    date: datetime
    probe_ids: dict[str, int]
    lfp_probes: tuple[str, ...]
    first_channel_id: int
    unit_counts: dict[str, int]
    first_unit_id: int
    phase: str
    isi_experiment_id: int | None
    seed: int
    probe_numbers: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def age_in_days(self) -> int:
        """Return the mouse's age in days at the recording."""
        return (self.date.date() - self.mouse.date_of_birth.date()).days

    def channel_id_start(self, probe: str) -> int:
        """Return the id of channel 0 of ``probe``."""
        return self.first_channel_id + list(self.probe_ids).index(probe) * N_CHANNELS

    def unit_id_start(self, probe: str) -> int:
        """Return the first unit id available to ``probe`` (ids advance by at most 3)."""
        before = 0
        for name in self.probe_ids:
            if name == probe:
                return self.first_unit_id + 3 * before
            before += self.unit_counts[name]
        raise KeyError(probe)


@dataclass
class ReleasePlan:
    """The whole simulated release."""

    size: SizeSpec
    seed: int
    sessions: list[SessionPlan]


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


def plan_release(size: str | SizeSpec = "default", seed: int = 0) -> ReleasePlan:
    """Return the plan of a release of ``size`` drawn with ``seed``."""
    spec = SIZES[size] if isinstance(size, str) else size
    rng = np.random.default_rng([seed, 14_021])
    ids = _Ids(rng, 715_000_000 + int(rng.integers(0, 10**5)), 3_000_000)
    day = datetime(2019, 1, 8, 9, 0, tzinfo=PACIFIC)
    sessions = []
    for session_type, genotype, n_probes in spec.sessions:
        day += timedelta(days=int(rng.integers(3, 20)))
        mouse = _draw_mouse(rng, ids, genotype, day)
        sessions.append(_session_plan(rng, spec, ids, mouse, session_type, n_probes, day))
    return ReleasePlan(spec, seed, sessions)


def _draw_mouse(rng: np.random.Generator, ids: _Ids, genotype: str, day: datetime) -> Mouse:
    """Return a mouse of ``genotype`` about four months old on ``day``."""
    donor = ids.next()
    birth = day - timedelta(days=int(rng.integers(95, 135)))
    sex = "M" if rng.random() < 0.6 else "F"
    return Mouse(donor, ids.next(), genotype, sex, birth)


def _session_plan(
    rng: np.random.Generator,
    spec: SizeSpec,
    ids: _Ids,
    mouse: Mouse,
    session_type: str,
    n_probes: int,
    day: datetime,
) -> SessionPlan:
    """Return the plan of one session recorded with ``n_probes`` probes."""
    session_id = ids.next()
    when = day.replace(hour=int(rng.integers(9, 17)), minute=int(rng.integers(0, 60)))
    when += timedelta(seconds=int(rng.integers(0, 60)))
    names = PROBE_NAMES[:n_probes]
    probe_base = ids.block(n_probes)
    probe_ids = {name: probe_base + 2 * k for k, name in enumerate(names)}
    lfp = tuple(sorted(rng.choice(names, min(spec.lfp_probes, n_probes), replace=False).tolist()))
    first_channel = ids.block(N_CHANNELS * n_probes)
    counts = rng.normal(spec.units_per_probe, spec.units_per_probe * 0.15, n_probes)
    unit_counts = {n: max(int(c), 4) for n, c in zip(names, counts, strict=True)}
    first_unit = ids.block(3 * sum(unit_counts.values()))
    isi = None if rng.random() < 0.3 else int(rng.integers(600_000_000, 700_000_000))
    plan = SessionPlan(
        session_id, session_type, mouse, when, probe_ids, lfp, first_channel, unit_counts,
        first_unit, "3a" if when.month < 3 else "PXI", isi, int(rng.integers(0, 2**31)),
    )  # fmt: skip
    plan.probe_numbers = {name: _probe_numbers(rng) for name in names}
    return plan


def _probe_numbers(rng: np.random.Generator) -> dict[str, float]:
    """Return a probe's spike-band and (before subsampling) LFP-band sampling rates."""
    return {
        "sampling_rate": 29999.9 + float(np.round(rng.normal(0, 0.05), 6)),
        "lfp_sampling_rate": 2499.99 + float(np.round(rng.normal(0, 0.005), 6)),
        "air_gap": float(rng.integers(20, 40)),
    }
