"""Benchmark: loading VBN ``units.csv`` with brainobs versus the reference toolkit (AllenSDK).

Generates a realistic release-size ``units.csv`` (319,013 units, all 36 real columns, plausible
values, deterministic seed) unless ``--csv PATH`` is given, then times in one run:

* brainobs cold load: typed CSV parse (Arrow) + transforms + Parquet cache write;
* brainobs warm load: the Parquet cache;
* the reference: AllenSDK 2.16.2's own VBN loader
  (``VisualBehaviorNeuropixelsProjectCloudApi._get_unit_table``: ``pd.read_csv`` + ``set_index``),
  called on the local file in the reference's virtual environment (Python 3.11, pandas 1.5.3).

The reference interpreter is ``--reference-python``, else ``$BRAINOBS_REFERENCE_PYTHON``, else
``.venv-allensdk/bin/python`` in the repository, else ``/work/venv-allensdk/bin/python``. Without
one, only brainobs figures are printed.

    python benchmarks/bench_tables.py [--rows N] [--csv PATH] [--repeat R] [--reference-python PY]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from brainobs.tables import cache_path, load_table_cached, read_table
from brainobs.vbn.schemas import VBN_SCHEMAS

N_UNITS = 319_013
SCHEMA = VBN_SCHEMAS["units"]
REPO = Path(__file__).resolve().parent.parent

_STRUCTURES = {
    "VISp": 385, "VISl": 409, "VISal": 402, "VISrl": 417, "VISam": 394, "VISpm": 533,
    "CA1": 382, "CA3": 463, "DG": 726, "SUB": 502, "ProS": 484682470, "LP": 218, "LGd": 170,
    "LGv": 178, "APN": 215, "MRN": 128, "NOT": 628, "SCig": 10, "MB": 313, "TH": 549,
    "POL": 1029, "PO": 1020, "Eth": 560581551, "HPF": 1089, "root": 997,
}  # fmt: skip

_REFERENCE_SCRIPT = r"""
import json, statistics, sys, time
from allensdk.brain_observatory.behavior.behavior_project_cache.project_apis.data_io.\
behavior_neuropixels_project_cloud_api import VisualBehaviorNeuropixelsProjectCloudApi as Api
path, repeat = sys.argv[1], int(sys.argv[2])
times = []
for _ in range(repeat):
    api = object.__new__(Api)                     # skip manifest/S3 set-up, keep the code path
    api._get_metadata_path = lambda fname: path
    t0 = time.perf_counter()
    api._get_unit_table()                         # pd.read_csv(path) then set_index("unit_id")
    times.append(time.perf_counter() - t0)
df = api.get_unit_table()
import allensdk, pandas
print(json.dumps({"times": times, "shape": list(df.shape), "allensdk": allensdk.__version__,
                  "pandas": pandas.__version__, "python": sys.version.split()[0]}))
"""


def _metric(rng: np.random.Generator, values: np.ndarray, nan_fraction: float) -> np.ndarray:
    """Return ``values`` with a random fraction set to NaN."""
    out = values.astype(float)
    out[rng.random(out.size) < nan_fraction] = np.nan
    return out


def _ids(rng: np.random.Generator, n: int, start: int) -> np.ndarray:
    """Return ``n`` unique increasing ids above ``start``."""
    return start + np.cumsum(rng.integers(1, 40, n))


def _layout(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Return the id and position columns: sessions -> probes -> channels -> units."""
    n_sessions, n_probes = 153, 153 * 6
    probe_of_unit = np.sort(rng.integers(0, n_probes, n))
    session_ids = _ids(rng, n_sessions, 1_043_000_000)
    probe_ids = _ids(rng, n_probes, 1_048_000_000)
    local_index = rng.integers(0, 384, n)
    channel_base = 1_049_000_000 + 400 * np.arange(n_probes)
    return {
        "unit_id": _ids(rng, n, 1_050_000_000),
        "ecephys_channel_id": channel_base[probe_of_unit] + local_index,
        "ecephys_probe_id": probe_ids[probe_of_unit],
        "ecephys_session_id": session_ids[probe_of_unit // 6],
        "local_index": local_index,
        "probe_horizontal_position": np.array([43, 11, 59, 27])[local_index % 4],
        "probe_vertical_position": 20 * (local_index // 2 + 1),
    }


def _quality_metrics(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Return spike-sorting quality metrics with realistic ranges, caps and NaNs."""
    amp_cut = np.minimum(rng.beta(0.6, 6.0, n), 0.5)
    amp_cut[rng.random(n) < 0.2] = 0.5  # ~20 % of VBN units sit at the 0.5 cap
    return {
        "amplitude_cutoff": _metric(rng, amp_cut, 0.01),
        "cumulative_drift": rng.gamma(2.0, 60.0, n),
        "d_prime": _metric(rng, rng.gamma(3.0, 1.2, n), 0.02),
        "firing_rate": rng.lognormal(1.0, 1.2, n),
        "isi_violations": _metric(rng, rng.exponential(0.3, n), 0.01),
        "isolation_distance": _metric(rng, rng.gamma(4.0, 15.0, n), 0.02),
        "l_ratio": _metric(rng, rng.exponential(0.05, n), 0.02),
        "max_drift": rng.gamma(2.0, 20.0, n),
        "nn_hit_rate": _metric(rng, rng.beta(5, 1.5, n), 0.02),
        "nn_miss_rate": _metric(rng, rng.beta(1, 30, n), 0.02),
        "presence_ratio": np.minimum(1.0, rng.beta(20, 0.6, n)).round(2),
        "silhouette_score": _metric(rng, rng.normal(0.1, 0.08, n), 0.03),
        "snr": rng.gamma(3.0, 1.0, n),
    }


def _waveform_metrics(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Return waveform metrics (µV, ms, µm, ms/mm) with occasional NaNs."""
    return {
        "amplitude": rng.gamma(4.0, 40.0, n),
        "waveform_duration": rng.choice([0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8], n),
        "waveform_halfwidth": rng.gamma(4.0, 0.06, n),
        "PT_ratio": rng.gamma(3.0, 0.2, n),
        "recovery_slope": -rng.gamma(2.0, 0.05, n),
        "repolarization_slope": rng.gamma(3.0, 0.2, n),
        "spread": rng.choice(np.arange(10.0, 200.0, 10.0), n),
        "velocity_above": _metric(rng, rng.normal(0.0, 0.8, n), 0.3),
        "velocity_below": _metric(rng, rng.normal(0.0, 0.8, n), 0.3),
    }


def make_units_frame(n: int = N_UNITS, seed: int = 0) -> pd.DataFrame:
    """Return a synthetic units table with every column of units.csv, in file order."""
    rng = np.random.default_rng(seed)
    names = np.array(list(_STRUCTURES))
    structure_ids = np.array(list(_STRUCTURES.values()))
    which = rng.integers(0, names.size, n)
    columns: dict[str, object] = {
        **_layout(rng, n),
        **_quality_metrics(rng, n),
        **_waveform_metrics(rng, n),
        "anterior_posterior_ccf_coordinate": rng.normal(8400, 900, n).round(),
        "dorsal_ventral_ccf_coordinate": rng.normal(3300, 900, n).round(),
        "left_right_ccf_coordinate": rng.normal(7800, 700, n).round(),
        "structure_acronym": names[which],
        "structure_id": structure_ids[which],
        "quality": np.where(rng.random(n) < 0.8, "good", "noise"),
        "valid_data": rng.random(n) < 0.995,
    }
    return pd.DataFrame({name: columns[name] for name in SCHEMA.csv_columns})


def write_units_csv(path: Path, n: int, seed: int) -> Path:
    """Write the synthetic units table as pandas (and the Allen writer) writes CSVs."""
    make_units_frame(n, seed).to_csv(path, index=False)
    return path


def _times(fn: Callable[[], object], repeat: int, before: Callable[[], object]) -> list[float]:
    """Return wall times of ``repeat`` calls of ``fn``, running ``before`` untimed each time."""
    out = []
    for _ in range(repeat):
        before()
        gc.collect()
        t0 = time.perf_counter()
        result = fn()
        out.append(time.perf_counter() - t0)
        del result  # freed untimed, as the reference run keeps its table until the next call
    return out


def bench_brainobs(csv: Path, repeat: int) -> dict[str, list[float]]:
    """Return brainobs timings: parse only, cold (parse + cache write), warm (Parquet)."""
    cache_dir = Path(tempfile.mkdtemp(prefix="bench_tables_"))
    parquet = cache_path(csv, cache_dir)

    def drop() -> None:
        parquet.unlink(missing_ok=True)

    out = {
        "parse only (read_table)": _times(lambda: read_table(csv, SCHEMA), repeat, lambda: None),
        "cold (parse + Parquet write)": _times(
            lambda: load_table_cached(csv, SCHEMA, cache_dir), repeat, drop
        ),
        "warm (Parquet cache)": _times(
            lambda: load_table_cached(csv, SCHEMA, cache_dir), repeat, lambda: None
        ),
    }
    drop()
    cache_dir.rmdir()
    return out


def find_reference_python(explicit: str | None) -> str | None:
    """Return the reference venv's interpreter, or None when none is usable."""
    candidates = [explicit] if explicit else [
        os.environ.get("BRAINOBS_REFERENCE_PYTHON"),
        str(REPO / ".venv-allensdk" / "bin" / "python"),
        "/work/venv-allensdk/bin/python",
    ]  # fmt: skip
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            probe = subprocess.run(
                [candidate, "-c", "import allensdk"], capture_output=True, timeout=300
            )
            if probe.returncode == 0:
                return candidate
    return None


@dataclass
class ReferenceResult:
    """Timings and versions reported by the reference run."""

    times: list[float]
    shape: tuple[int, int]
    allensdk: str
    pandas: str
    python: str


def bench_reference(python: str, csv: Path, repeat: int) -> ReferenceResult:
    """Return the reference loader's timings and versions (run in its own venv)."""
    run = subprocess.run(
        [python, "-c", _REFERENCE_SCRIPT, str(csv), str(repeat)],
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if run.returncode != 0:
        raise RuntimeError(f"reference run failed:\n{run.stderr[-3000:]}")
    raw = json.loads(run.stdout.strip().splitlines()[-1])
    return ReferenceResult(
        [float(t) for t in raw["times"]],
        (int(raw["shape"][0]), int(raw["shape"][1])),
        str(raw["allensdk"]),
        str(raw["pandas"]),
        str(raw["python"]),
    )


def _ratio(reference: float | None, ours: float) -> str:
    """Return how much faster (or slower) brainobs is, as text."""
    if reference is None:
        return "n/a"
    if reference >= ours:
        return f"{reference / ours:.1f}x faster"
    return f"{ours / reference:.1f}x slower"


def _report(csv: Path, ours: dict[str, list[float]], ref: ReferenceResult | None) -> None:
    """Print the timing table with ratios to the reference."""
    shape = read_table(csv, SCHEMA).shape
    size_mb = csv.stat().st_size / 1e6
    print(f"\nunits.csv: {shape[0]:,} rows x {shape[1]} columns (+ index), {size_mb:.1f} MB")
    print(f"brainobs: python {sys.version.split()[0]}, pandas {pd.__version__}")
    width = 40
    print(f"\n{'load':{width}s} {'median s':>9s} {'min s':>8s} {'vs reference':>14s}")
    ref_time = None
    if ref is not None:
        ref_time = statistics.median(ref.times)
        label = "reference (read_csv + set_index)"
        print(f"{label:{width}s} {ref_time:9.3f} {min(ref.times):8.3f} {'1.0x':>14s}")
    for name, values in ours.items():
        med = statistics.median(values)
        ratio = _ratio(ref_time, med)
        print(f"{'brainobs ' + name:{width}s} {med:9.3f} {min(values):8.3f} {ratio:>14s}")
    if ref is not None:
        print(
            f"\nreference: allensdk {ref.allensdk}, python {ref.python}, pandas {ref.pandas}; "
            f"shape {ref.shape} (brainobs {shape})"
        )
    else:
        print(
            "\n(no reference toolkit found: pass --reference-python or set "
            "BRAINOBS_REFERENCE_PYTHON; only brainobs figures shown)"
        )


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--csv", type=Path, help="an existing units.csv (default: generate)")
    parser.add_argument("--rows", type=int, default=N_UNITS, help="rows to generate")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--reference-python", help="the AllenSDK venv's python")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench_tables_") as tmp:
        csv = args.csv
        if csv is None:
            t0 = time.perf_counter()
            csv = write_units_csv(Path(tmp) / "units.csv", args.rows, args.seed)
            print(f"generated {csv} in {time.perf_counter() - t0:.1f} s")
        ours = bench_brainobs(csv, args.repeat)
        python = find_reference_python(args.reference_python)
        ref = bench_reference(python, csv, args.repeat) if python else None
        _report(csv, ours, ref)


if __name__ == "__main__":
    main()
