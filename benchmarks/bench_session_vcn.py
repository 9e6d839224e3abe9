"""Benchmark: opening a Visual Coding session with brainobs versus the reference toolkit.

In one run, on one VCN session NWB (``--nwb``; default: the default sample release, written
once under the temp folder), each side in its own child process that measures its own wall
time and peak RSS (``resource.getrusage``): open the session (``EcephysSession.from_nwb_path``,
default unit filters), get the units table and every retained unit's spike times, and sum
each unit's spike times (so that every value is read, also where brainobs maps them). Targets:
brainobs >= 10x faster, <= 1/3 of the memory. Each side runs ``--repeat`` times (best wall
time, its peak RSS), alternating, and the machine's load average is printed beside the figures
(the machine may be shared).

The benchmark-size session (about 2,000 units, 1.5 x 10^8 spikes, the released schedule) is
written once, outside git:

    brainobs sample vcn --size benchmark --out /work/bench-data/vcn
    python benchmarks/bench_session_vcn.py --nwb \\
        /work/bench-data/vcn/visual-coding-neuropixels/ecephys-cache/session_<id>/session_<id>.nwb

The reference runs in its own Python 3.11 virtual environment (tests/support/reference.py).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.reference import reference_python  # noqa: E402

MEASURE = """
import json, resource, sys, time, warnings
warnings.simplefilter("ignore")
start = time.perf_counter()
session = EcephysSession.from_nwb_path(sys.argv[1])
units = session.units
spikes = session.spike_times
n = sum(len(v) for v in spikes.values())
total = sum(float(v.sum()) for v in spikes.values())
print(json.dumps({"wall_s": time.perf_counter() - start, "units": len(units), "spikes": n,
                  "spike_sum": total,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""
BROBS = "from brainobs.vcn.session import EcephysSession\n" + MEASURE
REFERENCE = "from allensdk.brain_observatory.ecephys.ecephys_session import EcephysSession\n" + (
    MEASURE
)


def run_child(python: str, script: str, nwb: Path) -> dict[str, Any]:
    """Return the JSON figures one child process prints last."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "PYTHONPATH": str(REPO / "src")}
    done = subprocess.run(
        [python, "-c", script, str(nwb)], capture_output=True, text=True, env=env, timeout=7200
    )
    if done.returncode != 0:
        raise RuntimeError(f"{python} failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def default_nwb() -> Path:
    """Return a session file of the default sample release (written once under the temp dir)."""
    from brainobs.vcn.sample_release import write_vcn_release

    release = write_vcn_release(Path(tempfile.gettempdir()) / "brainobs-bench-vcn")
    sessions = sorted(release.cache_dir.glob("session_*/session_*.nwb"))
    return sessions[0]


def best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Return the run with the least wall time."""
    return min(runs, key=lambda r: r["wall_s"])


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark; print and return the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nwb", type=Path, default=None, help="a VCN session_<id>.nwb")
    parser.add_argument("--repeat", type=int, default=2, help="runs per side (best kept)")
    parser.add_argument("--no-reference", action="store_true", help="time brainobs only")
    args = parser.parse_args(argv)
    nwb = args.nwb or default_nwb()
    size = nwb.stat().st_size / 2**30
    print(f"session {nwb.name} ({size:.2f} GiB), load average {os.getloadavg()}")
    ours_runs, theirs_runs = [], []
    for _ in range(args.repeat):
        ours_runs.append(run_child(sys.executable, BROBS, nwb))
        if not args.no_reference:
            theirs_runs.append(run_child(str(reference_python()), REFERENCE, nwb))
    ours = best(ours_runs)
    print(f"brainobs: {ours['wall_s']:.2f} s, {ours['peak_rss_mb']:.0f} MB peak, "
          f"{ours['units']} units, {ours['spikes']:,} spikes")  # fmt: skip
    figures: dict[str, Any] = {"brainobs": ours, "load_average": os.getloadavg()}
    if theirs_runs:
        theirs = best(theirs_runs)
        assert (theirs["units"], theirs["spikes"]) == (ours["units"], ours["spikes"])
        assert abs(theirs["spike_sum"] - ours["spike_sum"]) <= 1e-9 * abs(ours["spike_sum"])
        speed = theirs["wall_s"] / ours["wall_s"]
        memory = ours["peak_rss_mb"] / theirs["peak_rss_mb"]
        print(f"AllenSDK: {theirs['wall_s']:.2f} s, {theirs['peak_rss_mb']:.0f} MB peak")
        print(f"speed-up {speed:.1f}x (target >= 10x); memory {memory:.2f} of the reference's "
              "(target <= 0.33)")  # fmt: skip
        figures.update(reference=theirs, speedup=speed, memory_ratio=memory)
    print(f"load average after: {os.getloadavg()}")
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
