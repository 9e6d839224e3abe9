"""Benchmark brainobs.analysis.alignment.presentationwise_spike_counts.

Generates a synthetic session (Poisson-like spike trains plus stimulus-evoked spikes, and a VBN
task block of image flashes every 0.75 s), then times brainobs on every unit x every
presentation, measures its peak extra memory relative to the output array, and times a faithful
re-implementation of the reference algorithm (AllenSDK ``EcephysSession.
presentationwise_spike_counts`` / ``build_spike_histogram``: per unit, searchsorted of every
bin's lower and upper edge into the unit's spikes, written into the full array) on a subset of
units. Both are checked to give identical counts (brainobs in ``edges="reference"`` mode).

Full session scale (~2,000 units, ~10^8 spikes, ~5 GB output):

    python benchmarks/bench_alignment.py --units 2000 --spikes-per-unit 50000

The default is smaller so it runs in seconds.

On a session file (``--nwb PATH``, e.g. the benchmark-size sample session) it times brainobs's
``session.presentationwise_spike_counts`` for every unit and every presentation of the task
block (``stimulus_block`` 0, else ``active``) against the REAL AllenSDK
``EcephysSession.presentationwise_spike_counts`` in its own venv (tests/support/reference.py),
run on the same spike times and presentations through tests/compat/reference_alignment.py.
The reference runs on the first ``--reference-units`` units and is extrapolated to all units
(it needs the whole output plus per-unit temporaries; at full size it takes minutes); the
output says so. Counts of that subset must be identical (brainobs in ``edges="reference"``).

    python benchmarks/bench_alignment.py --nwb /tmp/vbn_bench/.../ecephys_session_1042309454.nwb
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from brainobs.analysis.alignment import presentationwise_spike_counts

REPO = Path(__file__).resolve().parents[1]
REFERENCE_SCRIPT = REPO / "tests" / "compat" / "reference_alignment.py"
FLASH_INTERVAL_S = 0.75  # VBN change-detection task: 250 ms image + 500 ms grey
FLASH_DURATION_S = 0.25


@dataclass(frozen=True)
class Session:
    """Synthetic inputs: spike times per unit and a presentations table."""

    spike_times: dict[int, np.ndarray]
    presentations: pd.DataFrame
    duration_s: float

    @property
    def n_spikes(self) -> int:
        """Return the total number of spikes of all units."""
        return sum(t.size for t in self.spike_times.values())


def make_session(units: int, spikes_per_unit: int, presentations: int, seed: int) -> Session:
    """Return a synthetic session whose task block fills a third of the recording."""
    rng = np.random.default_rng(seed)
    block_start = 600.0
    onsets = block_start + FLASH_INTERVAL_S * np.arange(presentations)
    onsets += rng.normal(0.0, 0.002, presentations)  # frame jitter
    duration = max(3.0 * (onsets[-1] + 1.0 - block_start), onsets[-1] + 600.0)
    table = pd.DataFrame(
        {"start_time": onsets, "stop_time": onsets + FLASH_DURATION_S},
        index=pd.Index(np.arange(presentations), name="stimulus_presentation_id"),
    )
    spikes: dict[int, np.ndarray] = {}
    for unit in range(units):
        evoked_n = spikes_per_unit // 10
        evoked = rng.choice(onsets, evoked_n) + rng.gamma(4.0, 0.01, evoked_n)
        background = rng.uniform(0.0, duration, spikes_per_unit - evoked_n)
        spikes[1_000_000 + unit] = np.sort(np.concatenate((background, evoked)))
    return Session(spikes, table, duration)


def reference_presentationwise_spike_counts(
    spike_times: dict[int, np.ndarray],
    presentations: pd.DataFrame,
    bin_edges: np.ndarray,
    unit_ids: list[int],
) -> xr.DataArray:
    """Return counts computed exactly as the AllenSDK does (both-ends-inclusive bins)."""
    domain = np.tile(bin_edges[None, :], (len(presentations), 1))
    domain += presentations["start_time"].to_numpy()[:, None]
    tiled = np.zeros((domain.shape[0], domain.shape[1] - 1, len(unit_ids)), dtype=np.uint16)
    starts, ends = domain[:, :-1], domain[:, 1:]
    for position, unit_id in enumerate(unit_ids):
        data = np.array(spike_times[unit_id])
        start_positions = np.searchsorted(data, starts.flat)
        end_positions = np.searchsorted(data, ends.flat, side="right")
        tiled[:, :, position].flat = end_positions - start_positions  # type: ignore[misc,assignment]
    return xr.DataArray(
        tiled,
        name="spike_counts",
        coords={
            "stimulus_presentation_id": presentations.index.values,
            "time_relative_to_stimulus_onset": bin_edges[:-1] + np.diff(bin_edges) / 2,
            "unit_id": np.asarray(unit_ids),
        },
        dims=["stimulus_presentation_id", "time_relative_to_stimulus_onset", "unit_id"],
    )


@dataclass(frozen=True)
class Timing:
    """Best and first-call wall time, CPU time, peak traced memory beyond the output."""

    wall_s: float
    cpu_s: float
    first_wall_s: float
    extra_peak_bytes: int
    output_bytes: int


def measure(
    run: Callable[[], xr.DataArray], repeat: int, memory: bool = True
) -> tuple[Timing, Any]:
    """Return the timing of ``run``: best of ``repeat`` timed calls, then one traced call."""
    walls, cpus = [], []
    result: Any = None
    for _ in range(max(1, repeat)):
        result = None  # free the previous output before the next call
        gc.collect()
        wall, cpu = time.perf_counter(), time.process_time()
        result = run()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    output = int(result.data.nbytes)
    extra = -1
    if memory:
        del result
        gc.collect()
        tracemalloc.start()
        result = run()
        extra = tracemalloc.get_traced_memory()[1] - output
        tracemalloc.stop()
    best = int(np.argmin(walls))
    return Timing(walls[best], cpus[best], walls[0], extra, output), result


def _mb(n_bytes: float) -> str:
    """Return ``n_bytes`` in MiB as text."""
    return f"{n_bytes / 2**20:,.1f} MiB"


def print_table(
    rows: list[tuple[str, str, str, str]], reference: str = "reference algorithm"
) -> None:
    """Print rows (metric, brainobs, reference, ratio) as an aligned text table."""
    header = ("metric", "brainobs", reference, "ratio")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    line = "  ".join("-" * w for w in widths)
    print(line)
    for row in [header, *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    print(line)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Return the command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=200, help="units (full session: 2000)")
    parser.add_argument("--spikes-per-unit", type=int, default=50_000, help="spikes per unit")
    parser.add_argument("--presentations", type=int, default=4_800, help="task-block flashes")
    parser.add_argument("--bins", type=int, default=250, help="bins per window")
    parser.add_argument("--bin-width", type=float, default=0.001, help="bin width (s)")
    parser.add_argument(
        "--reference-units", type=int, default=10, help="units timed with the reference algorithm"
    )
    parser.add_argument("--repeat", type=int, default=2, help="timed calls (best is kept)")
    parser.add_argument("--no-memory", action="store_true", help="skip the tracemalloc pass")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--nwb", type=Path, help="run on this VBN session file instead")
    parser.add_argument(
        "--peer-units", type=int, default=100, help="units counted by pynapple (extrapolated)"
    )
    parser.add_argument("--skip", nargs="*", default=[], help="peers to leave out")
    parser.add_argument(
        "--rounds", type=int, default=1, help="fresh processes per side (best kept, --nwb)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a table of figures and ratios."""
    args = parse_args(argv)
    if args.nwb is not None:
        return run_nwb(args)
    t0 = time.perf_counter()
    session = make_session(args.units, args.spikes_per_unit, args.presentations, args.seed)
    edges = np.arange(args.bins + 1) * args.bin_width
    units = list(session.spike_times)
    subset = units[: max(1, min(args.reference_units, len(units)))]
    print(
        f"session: {len(units):,} units, {session.n_spikes:,} spikes over "
        f"{session.duration_s:,.0f} s; {args.presentations:,} presentations x {args.bins} bins "
        f"of {args.bin_width * 1e3:g} ms (generated in {time.perf_counter() - t0:.1f} s)"
    )

    def ours_all() -> xr.DataArray:
        return presentationwise_spike_counts(session.spike_times, session.presentations, edges)

    ours, result = measure(ours_all, args.repeat, memory=not args.no_memory)
    in_windows = int(result.sum(dtype=np.int64))
    del result
    gc.collect()

    def ours_subset() -> xr.DataArray:
        return presentationwise_spike_counts(
            session.spike_times, session.presentations, edges, unit_ids=subset, edges="reference"
        )

    def reference_subset() -> xr.DataArray:
        return reference_presentationwise_spike_counts(
            session.spike_times, session.presentations, edges, subset
        )

    sub_ours, ours_counts = measure(ours_subset, args.repeat, memory=not args.no_memory)
    sub_ref, ref_counts = measure(reference_subset, args.repeat, memory=not args.no_memory)
    identical = bool(np.array_equal(ours_counts.values, ref_counts.values))
    report(args, session, subset, ours, sub_ours, sub_ref, in_windows, identical)
    return 0 if identical else 1


Row = tuple[str, str, str, str]


def speed_rows(
    session: Session,
    subset: list[int],
    ours: Timing,
    sub_ours: Timing,
    sub_ref: Timing,
    in_windows: int,
) -> list[Row]:
    """Return table rows on time and throughput (reference extrapolated from the subset)."""
    n_units = len(session.spike_times)
    sub_spikes = sum(session.spike_times[u].size for u in subset)
    ref_all_s = sub_ref.wall_s / len(subset) * n_units
    ours_rate, ref_rate = session.n_spikes / ours.cpu_s, sub_spikes / sub_ref.cpu_s
    per_unit_ours, per_unit_ref = (t.wall_s / len(subset) * 1e3 for t in (sub_ours, sub_ref))
    return [
        ("units timed", f"{n_units:,}", f"{len(subset):,} (extrapolated)", ""),
        (
            "wall time, all units",
            f"{ours.wall_s:.2f} s",
            f"{ref_all_s:.1f} s (est.)",
            f"{ref_all_s / ours.wall_s:.1f}x",
        ),
        ("first call, all units", f"{ours.first_wall_s:.2f} s", "", ""),
        (
            "session spikes/s/core",
            f"{ours_rate / 1e6:.1f} M",
            f"{ref_rate / 1e6:.2f} M",
            f"{ours_rate / ref_rate:.1f}x",
        ),
        ("in-window spikes/s/core", f"{in_windows / ours.cpu_s / 1e6:.1f} M", "", ""),
        (
            "time per unit (subset, ref. edges)",
            f"{per_unit_ours:.2f} ms",
            f"{per_unit_ref:.2f} ms",
            f"{per_unit_ref / per_unit_ours:.1f}x",
        ),
    ]


def memory_rows(
    n_units: int, subset: list[int], ours: Timing, sub_ours: Timing, sub_ref: Timing
) -> list[Row]:
    """Return table rows on peak memory beyond the output array (traced by tracemalloc)."""
    # The reference's temporaries are per-unit arrays of presentations x bins, so its peak
    # beyond the output does not grow with the number of units: the subset figure holds.
    ref_output = sub_ref.output_bytes / len(subset) * n_units
    return [
        ("output array, all units", _mb(ours.output_bytes), _mb(ref_output) + " (est.)", ""),
        (
            "peak memory beyond output",
            _mb(ours.extra_peak_bytes),
            _mb(sub_ref.extra_peak_bytes),
            "",
        ),
        (
            "  as a fraction of the output",
            f"{ours.extra_peak_bytes / ours.output_bytes:.4f}",
            f"{sub_ref.extra_peak_bytes / ref_output:.4f} (est.)",
            "",
        ),
        (
            f"  same, {len(subset)}-unit subset",
            f"{sub_ours.extra_peak_bytes / sub_ours.output_bytes:.3f}",
            f"{sub_ref.extra_peak_bytes / sub_ref.output_bytes:.3f}",
            "",
        ),
    ]


def report(
    args: argparse.Namespace,
    session: Session,
    subset: list[int],
    ours: Timing,
    sub_ours: Timing,
    sub_ref: Timing,
    in_windows: int,
    identical: bool,
) -> None:
    """Print the figures: throughput, memory, and the ratio to the reference algorithm."""
    rows = speed_rows(session, subset, ours, sub_ours, sub_ref, in_windows)
    if ours.extra_peak_bytes >= 0:
        rows += memory_rows(len(session.spike_times), subset, ours, sub_ours, sub_ref)
    rows.append(("identical counts (subset)", "yes" if identical else "NO", "", ""))
    print_table(rows)
    max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"in-window spikes: {in_windows:,}; process max RSS {max_rss:,.0f} MiB; "
        f"CPU/wall (brainobs) {ours.cpu_s / ours.wall_s:.2f} cores; best of {args.repeat} "
        "calls (the first call also pays the OS for the output's fresh pages)"
    )


def task_block(presentations: pd.DataFrame) -> pd.DataFrame:
    """Return the task block's presentations (stimulus_block 0, else the active rows)."""
    block = presentations[presentations["stimulus_block"] == 0]
    if block.empty:
        block = presentations[presentations["active"].eq(True).fillna(False).to_numpy()]
    return block


def run_reference_counts(
    spikes: dict[int, np.ndarray], table: pd.DataFrame, edges: np.ndarray
) -> tuple[dict[str, Any], np.ndarray]:
    """Return (figures, counts) of the AllenSDK's presentationwise_spike_counts on ``spikes``."""
    sys.path.insert(0, str(REPO))
    from tests.support.reference import run_reference, write_alignment_inputs

    with tempfile.TemporaryDirectory() as folder:
        arrays, parameters = write_alignment_inputs(
            Path(folder), spikes, table, ["stimulus_name"], edges
        )
        figures = run_reference(
            REFERENCE_SCRIPT.read_text(),
            *(str(a) for a in (arrays, parameters, folder, "bench", len(spikes))),
            timeout=3600,
        )
        return figures, np.load(Path(folder) / "counts.npy")


def run_side(
    python: str | Path, script: str, args: argparse.Namespace, units: int
) -> dict[str, Any]:
    """Return one side's figures from a fresh child process (first and warm call)."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    from peers import run_json

    argv = [str(args.nwb), str(args.bins), str(args.bin_width), str(units)]
    figures = run_json(python, script, *argv, *([] if args.no_memory else ["--trace"]))
    figures["load"] = "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    return figures


def best(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    """Return ``new`` with each time the smaller of its own and ``old``'s."""
    if old is None:
        return new
    merged = dict(new)
    for key in ("first_s", "warm_s", "cpu_s", "first_cpu_s"):
        merged[key] = min(old[key], new[key])
    return merged


def run_nwb(args: argparse.Namespace) -> int:
    """Benchmark brainobs against the numpy floor, pynapple and the AllenSDK on a session file."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    import alignment_scripts as scripts
    from brainobs.vbn.session import BehaviorEcephysSession
    from peers import peer_python, peer_version

    print(f"{args.nwb.name}: {os.cpu_count()} cores; load {os.getloadavg()[0]:.2f}", flush=True)
    sides: dict[str, dict[str, Any]] = {}
    for _ in range(max(1, args.rounds)):  # interleaved: no side always runs first
        for name, script in (("brainobs", scripts.BRAINOBS), ("numpy floor", scripts.FLOOR)):
            sides[name] = best(sides.get(name), run_side(sys.executable, script, args, 0))
    if "pynapple" not in args.skip:
        try:
            pynapple = peer_python("pynapple")
            sides[f"{peer_version('pynapple')} (subset)"] = run_side(
                pynapple, scripts.PYNAPPLE, args, args.peer_units
            )
        except RuntimeError as exc:
            print(f"pynapple failed: {str(exc).strip().splitlines()[-1]}")
    for name, figures in sides.items():
        print(f"  {name}: {figures}", flush=True)
    session = BehaviorEcephysSession.from_nwb_path(args.nwb)
    table = task_block(session.stimulus_presentations)
    spikes = session.spike_times
    edges = np.arange(args.bins + 1) * args.bin_width
    units = list(spikes)
    spread = np.linspace(0, len(units) - 1, max(1, min(args.reference_units, len(units))))
    subset = [units[int(i)] for i in np.unique(spread.astype(int))]  # spread over probes
    sub_spikes = {u: spikes[u] for u in subset}
    mine = presentationwise_spike_counts(sub_spikes, table, edges, subset, edges="reference")
    figures, theirs = run_reference_counts(sub_spikes, table, edges)
    identical = bool(np.array_equal(mine.values, theirs))
    print_nwb_report(sides, figures, len(units), identical)
    return 0 if identical else 1


def _ratio(a: float, b: float) -> str:
    """Return a / b as text (x)."""
    return f"{a / b:.2f}x" if b > 0 else "-"


def print_nwb_report(
    sides: dict[str, dict[str, Any]], ref: dict[str, Any], n_units: int, identical: bool
) -> None:
    """Print every side against the numpy floor and the AllenSDK (extrapolated to all units)."""
    floor = sides["numpy floor"]
    ours = sides["brainobs"]
    scale = n_units / ref["units"]
    ref_wall = ref["wall_s"] * scale
    print(
        f"\n{'counts, all units':<26} {'first s':>8} {'warm s':>7} {'first cpu':>9} "
        f"{'warm cpu':>8} {'warm/floor':>10} {'cpu/floor':>9} {'AllenSDK/x':>10} "
        f"{'spikes/s/core':>13} {'peak/output':>11}  load"
    )
    for name, side in sides.items():
        scale_side = n_units / side["units"]  # subsets are extrapolated linearly
        first, warm = side["first_s"] * scale_side, side["warm_s"] * scale_side
        first_cpu, cpu = side["first_cpu_s"] * scale_side, side["cpu_s"] * scale_side
        rate = side["spikes"] / side["cpu_s"] if side["cpu_s"] > 0 else float("nan")
        peak = "-"
        if side["extra_peak_bytes"] >= 0:
            peak = f"{(side['output_bytes'] + side['extra_peak_bytes']) / side['output_bytes']:.3f}"
        print(
            f"{name:<26} {first:>8.3f} {warm:>7.3f} {first_cpu:>9.3f} {cpu:>8.3f} "
            f"{_ratio(warm, floor['warm_s']):>10} {_ratio(cpu, floor['cpu_s']):>9} "
            f"{_ratio(ref_wall, warm):>10} {rate / 1e6:>11.1f} M {peak:>11}  {side['load']}"
        )
    ref_peak = (ref["peak_bytes"] - ref["output_bytes"]) / ref["output_bytes"] + 1
    ref_over_floor = _ratio(ref_wall, floor["first_s"])
    print(
        f"{'AllenSDK 2.16.2 (est.)':<28} {ref_wall:>8.1f} {'':>8} {ref_over_floor:>11} "
        f"{'':>10} {'1.00x':>10} {'':>13} {ref_peak:>11.3f}"
    )
    same_checksum = {
        n: s["checksum"] == ours["checksum"] for n, s in sides.items() if "floor" not in n
    }
    print(
        f"output {ours['output_bytes'] / 2**20:,.0f} MiB; {ours['spikes']:,} spikes; "
        f"AllenSDK timed on {ref['units']} of {n_units} units and extrapolated; identical counts "
        f"(brainobs edges='reference' vs AllenSDK, those units): {'yes' if identical else 'NO'}; "
        f"same counts as brainobs (first 20 units): {same_checksum}"
    )
    print(
        json.dumps(
            {
                "speedup": ref_wall / ours["warm_s"],
                "over_floor_warm": ours["warm_s"] / floor["warm_s"],
                "over_floor_cpu": ours["cpu_s"] / floor["cpu_s"],
                "over_floor_first": ours["first_s"] / floor["first_s"],
                "spikes_per_s_core": ours["spikes"] / ours["cpu_s"],
            }
        )
    )


if __name__ == "__main__":
    sys.exit(main())
