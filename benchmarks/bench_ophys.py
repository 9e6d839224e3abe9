"""Benchmark: open a VBO experiment and align every cell's dF/F to every stimulus presentation,
brainobs versus the reference toolkit (AllenSDK 2.16.2), in one run.

Each side runs in its own child process that measures its own wall time and peak RSS
(``resource.getrusage``), on the same NWB file (default: the benchmark-size sample experiment,
a 75 min session of ~290 cells at ~31 Hz, written once with
``brainobs sample vbo --size benchmark --out /work/bench-data/vbo``):

* reference: ``BehaviorOphysExperiment.from_nwb_path`` (reads everything), then its own
  alignment helper (``swdb.analysis_tools.get_trace_around_timepoint``: the frames from the one
  at or after the onset, ``int(window * 31 Hz)`` frames each side) for every cell and every
  presentation, as its flash-response code calls it (without that code's per-row DataFrame
  writes, which alone would take hours);
* brainobs: ``BehaviorOphysExperiment.from_nwb_path`` (lazy), then
  ``get_aligned_traces("dff", stimulus_presentations, (-0.5, 0.75))``: presentation x time x
  cell on a common time base; once with the reference's semantics (``interpolate=False``: the
  frame at or after each sample time), once interpolated (the default), and with
  ``--dtype float32`` for half the output memory.

Both give the same values where their windows overlap (checked on the first cells). Targets:
brainobs >= 10x faster and <= 1/3 of the memory. The machine may be shared: each variant runs
``--repeat`` times (the reference ``--reference-repeat`` times) and the fastest run is compared;
the load average is printed before and after.

    python benchmarks/bench_ophys.py [--nwb PATH | --release /work/bench-data/vbo]
                                     [--reference-cells N] [--skip-reference]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.reference import reference_python  # noqa: E402

WINDOW = (-0.5, 0.75)
CHECK_CELLS = 5
DEFAULT_RELEASE = Path("/work/bench-data/vbo")

BROBS = """
import json, resource, sys, time
import numpy as np
from brainobs.vbo.experiment import BehaviorOphysExperiment
path, dtype, interpolate, check, out = sys.argv[1:6]
start = time.perf_counter()
experiment = BehaviorOphysExperiment.from_nwb_path(path)
presentations = experiment.stimulus_presentations
opened = time.perf_counter() - start
aligned = experiment.get_aligned_traces("dff", presentations, (-0.5, 0.75),
                                        interpolate=interpolate == "1", dtype=np.dtype(dtype))
wall = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
if out != "-":
    np.save(out, aligned.values[:, :, : int(check)])
print(json.dumps({"wall_s": wall, "open_s": opened, "align_s": wall - opened,
                  "peak_rss_mb": peak, "shape": list(aligned.shape),
                  "output_mb": aligned.nbytes / 2**20,
                  "rate": aligned.attrs["sampling_rate"]}))
"""

REFERENCE = """
import json, resource, sys, time, warnings
warnings.simplefilter("ignore")
import numpy as np
from allensdk.brain_observatory.behavior.behavior_ophys_experiment import BehaviorOphysExperiment
from allensdk.brain_observatory.behavior.swdb.analysis_tools import get_trace_around_timepoint
path, limit, check, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
start = time.perf_counter()
experiment = BehaviorOphysExperiment.from_nwb_path(path)
dff = experiment.dff_traces
presentations = experiment.stimulus_presentations
stamps = experiment.ophys_timestamps
opened = time.perf_counter() - start
onsets = presentations["start_time"].to_numpy()
cells = dff.index[: limit if limit > 0 else len(dff)]
responses = []
for cell in cells:
    trace = dff.loc[cell, "dff"]
    responses.append([get_trace_around_timepoint(trace, t, stamps, [-0.5, 0.75], 31.0)[0]
                      for t in onsets])
wall = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
width = max(len(r) for r in responses[0])
first = np.full((len(onsets), width, check), np.nan)
for c in range(check):
    for p, r in enumerate(responses[c]):
        if len(r) == width:
            first[p, :, c] = r
np.save(out, first)
print(json.dumps({"wall_s": wall, "open_s": opened, "align_s": wall - opened,
                  "peak_rss_mb": peak, "cells": len(cells), "all_cells": len(dff),
                  "presentations": len(onsets), "frames": width}))
"""


def run_child(python: str | Path, script: str, *args: str) -> dict[str, Any]:
    """Return the JSON a child process prints last (it measures its own time and memory)."""
    result = subprocess.run(
        [str(python), "-c", script, *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{python} failed:\n{result.stderr[-3000:]}")
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def experiment_file(release: Path) -> Path:
    """Return the (first) experiment file of a sample release folder."""
    table = release / "visual-behavior-ophys" / "project_metadata" / "ophys_experiment_table.csv"
    if not table.exists():
        raise SystemExit(
            f"No VBO sample in {release}; write it once with\n"
            f"  brainobs sample vbo --size benchmark --out {release}"
        )
    oeid = int(pd.read_csv(table)["ophys_experiment_id"].iloc[0])
    name = f"behavior_ophys_experiment_{oeid}.nwb"
    return release / "visual-behavior-ophys" / "behavior_ophys_experiments" / name


def warm_page_cache(path: Path) -> None:
    """Read the file once so that every run below reads it from memory, not disk."""
    with path.open("rb") as handle:
        while handle.read(1 << 24):
            pass


def agreement(ours: np.ndarray, theirs: np.ndarray) -> float:
    """Return the fraction of the reference's values that brainobs's first samples equal."""
    width = min(ours.shape[1], theirs.shape[1])
    a, b = ours[:, :width], theirs[:, :width]
    compared = np.isfinite(b) & np.isfinite(a)
    return float(np.mean(a[compared] == b[compared])) if compared.any() else float("nan")


def fastest(runs: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Return the fastest of several runs, with every run's wall time and the largest peak."""
    done = list(runs)
    best = dict(min(done, key=lambda r: r["wall_s"]))
    best["walls"] = [round(r["wall_s"], 2) for r in done]
    best["peak_rss_mb"] = max(r["peak_rss_mb"] for r in done)
    return best


def load_average() -> str:
    """Return the machine's 1-minute load average and CPU count, for the report."""
    return f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nwb", type=Path, default=None)
    parser.add_argument("--release", type=Path, default=DEFAULT_RELEASE)
    parser.add_argument("--reference-cells", type=int, default=0,
                        help="align only the first N cells in the reference (0: all)")  # fmt: skip
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each brainobs variant; the fastest is reported")  # fmt: skip
    parser.add_argument("--reference-repeat", type=int, default=2,
                        help="runs of the reference; the fastest is reported")  # fmt: skip
    parser.add_argument("--skip-reference", action="store_true")
    args = parser.parse_args()
    path = args.nwb or experiment_file(args.release)
    print(f"file {path} ({path.stat().st_size / 2**30:.2f} GiB); {load_average()}")
    warm_page_cache(path)  # every run reads it from the page cache (a warm-up run follows)
    with tempfile.TemporaryDirectory() as tmp:
        runs = {
            "brainobs, frame at/after (the reference's rule)": ("float64", "0"),
            "brainobs, interpolated (default)": ("float64", "1"),
            "brainobs, interpolated, float32 output": ("float32", "1"),
        }
        results = {}
        run_child(sys.executable, BROBS, str(path), "float64", "1", "0", "-")  # warm-up, unused
        for k, (label, (dtype, interpolate)) in enumerate(runs.items()):
            out = f"{tmp}/brainobs.npy" if k == 0 else "-"
            results[label] = fastest(
                run_child(sys.executable, BROBS, str(path), dtype, interpolate,
                          str(CHECK_CELLS), out)
                for _ in range(args.repeat)
            )  # fmt: skip
            print(f"{label}: {_line(results[label])}")
        if args.skip_reference:
            return
        reference = fastest(
            run_child(reference_python(), REFERENCE, str(path), str(args.reference_cells),
                      str(CHECK_CELLS), f"{tmp}/reference.npy")
            for _ in range(args.reference_repeat)
        )  # fmt: skip
        _report_reference(reference, results)
        same = agreement(np.load(f"{tmp}/brainobs.npy"), np.load(f"{tmp}/reference.npy"))
        print(f"agreement on the first {CHECK_CELLS} cells (frame at/after vs reference): "
              f"{same:.4%} of values equal")  # fmt: skip
    print(load_average())


def _line(result: dict[str, Any]) -> str:
    """Return one run's figures as text."""
    return (
        f"{result['wall_s']:.2f} s (open {result['open_s']:.2f} s, align "
        f"{result['align_s']:.2f} s), peak RSS {result['peak_rss_mb']:.0f} MiB, output "
        f"{tuple(result['shape'])} = {result['output_mb']:.0f} MiB; runs {result['walls']} s"
    )


def _report_reference(reference: dict[str, Any], results: dict[str, dict[str, Any]]) -> None:
    """Print the reference's figures and the ratios (extrapolated when it ran on fewer cells)."""
    scale = reference["all_cells"] / reference["cells"]
    wall = reference["open_s"] + reference["align_s"] * scale
    note = "" if scale == 1 else f" (aligned {reference['cells']} cells, extrapolated x{scale:.1f})"
    print(
        f"reference: {wall:.2f} s (open {reference['open_s']:.2f} s, align "
        f"{reference['align_s'] * scale:.2f} s){note}, peak RSS "
        f"{reference['peak_rss_mb']:.0f} MiB, {reference['presentations']} presentations x "
        f"{reference['frames']} frames x {reference['all_cells']} cells; runs "
        f"{reference['walls']} s"
    )
    for label, result in results.items():
        print(
            f"  {label}: {wall / result['wall_s']:.1f}x faster, "
            f"{result['peak_rss_mb'] / reference['peak_rss_mb']:.2f} of the memory"
        )


if __name__ == "__main__":
    main()
