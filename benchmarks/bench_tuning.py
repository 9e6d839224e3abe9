"""Benchmark brainobs.analysis.tuning against the AllenSDK's stimulus-analysis classes.

All metrics of every unit of a session (drifting and static gratings, natural scenes, flashes,
receptive-field gabors, and dot motion / contrast gratings when shown) in one run: brainobs's
``tuning_metrics`` on all units, and the REAL AllenSDK classes (``DriftingGratings``,
``StaticGratings``, ``NaturalScenes``, ``Flashes``, ``ReceptiveFieldMapping``, ``DotMotion``) in
their own venv (tests/support/reference.py) through tests/compat/reference_tuning.py, on the
same spikes, presentations and running speed. The reference takes about a second per unit, so
it runs on ``--reference-units`` and four times as many units, and its time for all units is
extrapolated from those two runs (time = fixed + per-unit x units; the output says so). The
extrapolation is linear, so it leaves out the reference's memory growth: its PSTHs hold
presentations x 1 ms bins x units (about 5 GB per stimulus at 2,000 units). On the
reference's units brainobs (``reference_quirks=True``) must give the reference's values.

Synthetic session (default): tests/support/tuning_sim.py, units of known tuning on the real
brain_observatory_1.1 schedule (gabors 3,645, flashes 150, drifting gratings 628, static
gratings 6,000, natural scenes 5,950 presentations); ``--schedule functional_connectivity``
adds dot motion and contrast gratings. Full size:

    python benchmarks/bench_tuning.py --units 2000 --rate-scale 3

A VCN session file (``--nwb PATH``) is read by brainobs's VCN session and by the AllenSDK's
``EcephysSession.from_nwb_path``:

    python benchmarks/bench_tuning.py --nwb /path/session_<id>.nwb
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from brainobs.analysis.tuning import METRIC_COLUMNS, find_stimulus_name, tuning_metrics

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.reference import run_reference  # noqa: E402
from tests.support.tuning_reference import (  # noqa: E402
    SCRIPT,
    reference_metrics,
    write_tuning_inputs,
)
from tests.support.tuning_sim import BRAIN_OBSERVATORY, simulate_session  # noqa: E402

SCHEDULES = {
    "brain_observatory": BRAIN_OBSERVATORY,
    "functional_connectivity": (
        ("gabors", 15), ("flashes", 75), ("drifting_gratings_75_repeats", 15),
        ("drifting_gratings_contrast", 15), ("dot_motion", 15),
    ),
}  # fmt: skip
#: Columns not compared here: p-values (random draws), fit widths (MINPACK versions), and
#: pref_image_ns (a condition id in quirks mode, and the reference numbers conditions over the
#: whole session; the compatibility suite compares it with shared ids).
UNCOMPARED = {"p_value_rf", "width_rf", "height_rf", "pref_image_ns"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Return the command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=200, help="units (full session: 2000)")
    parser.add_argument("--rate-scale", type=float, default=1.0, help="baseline rate factor")
    parser.add_argument("--schedule", choices=sorted(SCHEDULES), default="brain_observatory")
    parser.add_argument("--reference-units", type=int, default=10, help="first reference run")
    parser.add_argument("--no-reference", action="store_true", help="time brainobs only")
    parser.add_argument("--memory", action="store_true", help="also trace brainobs's memory")
    parser.add_argument("--nwb", type=Path, help="a VCN session NWB file instead of synthetic")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def synthetic_inputs(args: argparse.Namespace) -> dict[str, Any]:
    """Return the simulated session's spikes, presentations and running speed."""
    start = time.perf_counter()
    rates = np.random.default_rng(args.seed).uniform(0.5, 4.0, args.units) * args.rate_scale
    session = simulate_session(args.units, SCHEDULES[args.schedule], args.seed, baseline=rates)
    print(f"simulated {args.units} units in {time.perf_counter() - start:.1f} s")
    return {
        "spike_times": session.spike_times,
        "presentations": session.presentations,
        "running_speed": session.running_speed,
    }


def nwb_inputs(path: Path) -> dict[str, Any]:
    """Return spikes, presentations and running speed of a VCN session file (brainobs)."""
    try:
        from brainobs import EcephysSession  # type: ignore[attr-defined]
    except ImportError as error:
        raise SystemExit(
            f"--nwb needs brainobs's VCN EcephysSession (issue 14): {error}"
        ) from error
    session = EcephysSession.from_nwb_path(path)
    return {
        "spike_times": session.spike_times,
        "presentations": session.stimulus_presentations,
        "running_speed": session.running_speed,
    }


def time_brainobs(inputs: dict[str, Any]) -> dict[str, float]:
    """Return the wall seconds of each stimulus type's metrics of all units."""
    seconds: dict[str, float] = {}
    for kind in ("dg", "sg", "ns", "fl", "rf", "dm"):
        if find_stimulus_name(inputs["presentations"], kind) is None:
            continue
        start = time.perf_counter()
        tuning_metrics(**inputs, stimuli=[kind])
        seconds[kind] = time.perf_counter() - start
    return seconds


def peak_memory(inputs: dict[str, Any]) -> int:
    """Return the peak traced memory (bytes) of a second brainobs run (tracing slows it)."""
    tracemalloc.start()
    tuning_metrics(**inputs)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def run_reference_classes(source: Path, out: Path, n_units: int) -> dict[str, float]:
    """Return the reference classes' wall seconds on the first ``n_units`` units."""
    out.mkdir(parents=True, exist_ok=True)
    figures = run_reference(
        SCRIPT.read_text(), str(source), str(out), "bench", str(n_units), timeout=7200
    )
    return {k: float(v) for k, v in figures.items()}


def extrapolate(
    small: dict[str, float], large: dict[str, float], n1: int, n2: int, n: int
) -> dict[str, float]:
    """Return each class's time for ``n`` units from its times at ``n1`` and ``n2`` units."""
    out = {}
    for key in small:
        per_unit = max((large[key] - small[key]) / (n2 - n1), 0.0)
        out[key] = small[key] + per_unit * (n - n1)
    return out


def largest_difference(ours: pd.DataFrame, folder: Path, kinds: list[str]) -> float:
    """Return the largest relative difference between brainobs and the reference on its units."""
    worst = 0.0
    for kind in kinds:
        theirs = reference_metrics(folder, kind)
        theirs = theirs.rename(columns={"pref_images_multi_ns": "pref_image_multi_ns"})
        for column in set(METRIC_COLUMNS[kind]) - UNCOMPARED:
            a = ours.loc[theirs.index, column].to_numpy(float)
            b = theirs[column].to_numpy(float)
            both = np.isfinite(a) & np.isfinite(b)
            if (np.isfinite(a) != np.isfinite(b)).any():
                return float("inf")
            scale = np.maximum(np.abs(b[both]), 1e-12)
            worst = max(worst, float(np.max(np.abs(a[both] - b[both]) / scale, initial=0.0)))
    return worst


def report(name: str, seconds: float, extra: str = "") -> None:
    """Print one timing line."""
    print(f"  {name:<34} {seconds:10.2f} s {extra}")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark; print and return its figures."""
    args = parse_args(argv)
    inputs = nwb_inputs(args.nwb) if args.nwb else synthetic_inputs(args)
    n_units = len(inputs["spike_times"])
    n_spikes = sum(np.asarray(t).size for t in inputs["spike_times"].values())
    counts = inputs["presentations"]["stimulus_name"].value_counts().to_dict()
    print(f"session: {n_units} units, {n_spikes:,} spikes, presentations {counts}")
    ours = time_brainobs(inputs)
    wall = sum(ours.values())
    print("brainobs tuning_metrics, all units:")
    for key, seconds in ours.items():
        report(key, seconds)
    report("all metrics", wall)
    figures: dict[str, Any] = {"units": n_units, "spikes": n_spikes, "brainobs_s": wall}
    if args.memory:
        figures["brainobs_peak_bytes"] = peak_memory(inputs)
        print(f"  peak traced memory {figures['brainobs_peak_bytes'] / 2**20:.0f} MiB")
    if args.no_reference:
        return figures
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        source = args.nwb or write_tuning_inputs(folder, **inputs)
        n1 = min(args.reference_units, n_units)
        n2 = min(4 * n1, n_units)
        small = run_reference_classes(source, folder / "small", n1)
        large = run_reference_classes(source, folder / "large", n2) if n2 > n1 else small
        total = extrapolate(small, large, n1, n2, n_units) if n2 > n1 else small
        compared = reference_metrics(folder / "large", next(iter(large))).index
        subset = tuning_metrics(**inputs, unit_ids=compared, reference_quirks=True)
        difference = largest_difference(subset, folder / "large", list(large))
    print(f"AllenSDK classes, measured on {n1} and {n2} units, extrapolated to {n_units}:")
    for key, seconds in total.items():
        ratio = f"ratio {seconds / ours[key]:.0f}x" if key in ours else ""
        report(f"{key} ({large[key]:.1f} s for {n2} units)", seconds, ratio)
    reference_s = sum(total.values())
    report("all classes", reference_s)
    print(f"ratio AllenSDK / brainobs: {reference_s / wall:.0f}x (target >= 20x)")
    print(f"largest relative difference on the reference's units (quirks mode): {difference:.2e}")
    figures.update(reference_s=reference_s, ratio=reference_s / wall, difference=difference)
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
