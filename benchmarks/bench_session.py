"""Benchmark: opening a VBN ecephys session with brainobs, its peers and the reference toolkit.

In one run, on one session NWB (``--nwb``; default: the default sample release, written once
under the temp folder), each toolkit in a child process of its own interpreter (its own venv:
benchmarks/peers.py creates ``.venv-bench-<peer>`` from PyPI on first use), which measures its
own wall time and peak RSS:

* open the session, get the units table and every unit's spike times and sum each unit's
  spike times (so that every value is read, however the toolkit hands them back), twice in
  one process (the first call, then the warm call), from a warm page cache: brainobs; plain
  h5py reading the same datasets (the floor every ratio is taken against); pynwb; lazynwb; pynapple;
  remfile + h5py streaming the file from a loopback HTTP server; the AllenSDK 2.16.2 (its
  venv, tests/support/reference.py). Targets: brainobs <= 1.5x the floor, >= 50x faster than
  the AllenSDK, <= 1/4 of its memory, ahead of every peer;
* 10 s of LFP on one probe (``--lfp`` and ``--probe``), brainobs and the AllenSDK;
* streaming one structure's spike times from the loopback HTTP server (bytes counted by the
  server): brainobs, remfile + h5py, pynwb over remfile, lazynwb. Target: brainobs <= 1.1x
  the bytes of the requested spikes.

The machine's load (``os.getloadavg``) is printed with every figure.

    python benchmarks/bench_session.py --nwb PATH [--lfp PATH --probe probeC] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import session_scripts as scripts  # noqa: E402
from peers import peer_python, peer_version, run_json  # noqa: E402
from tests.support.reference import reference_python  # noqa: E402

LFP_BROBS = """
import json, resource, sys, time
from brainobs.vbn.session import BehaviorEcephysSession
paths = {sys.argv[3]: sys.argv[2]}
session = BehaviorEcephysSession.from_nwb_path(sys.argv[1], probe_data_path_map=paths)
probe = int(session.probes.index[session.probes["name"] == sys.argv[3]][0])
start = time.perf_counter()
lfp = session.get_lfp(probe)
t0 = float(lfp["time"][0]) + 1.0
window = lfp.sel(time=slice(t0, t0 + 10.0)).values
print(json.dumps({"wall_s": time.perf_counter() - start, "samples": int(window.shape[0]),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""
LFP_REFERENCE = """
import json, resource, sys, time, warnings
from pathlib import Path
warnings.simplefilter("ignore")
from allensdk.brain_observatory.ecephys._probe import ProbeWithLFPMeta
from allensdk.brain_observatory.ecephys.behavior_ecephys_session import BehaviorEcephysSession
meta = {sys.argv[3]: ProbeWithLFPMeta(lfp_csd_filepath=Path(sys.argv[2]), lfp_sampling_rate=1250.0)}
session = BehaviorEcephysSession.from_nwb_path(sys.argv[1], probe_meta=meta)
probe = int(session.probes.index[session.probes["name"] == sys.argv[3]][0])
start = time.perf_counter()
lfp = session.get_lfp(probe)
t0 = float(lfp["time"][0]) + 1.0
window = lfp.sel(time=slice(t0, t0 + 10.0)).values
print(json.dumps({"wall_s": time.perf_counter() - start, "samples": int(window.shape[0]),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run_child(python: str | Path, script: str, *args: str) -> dict[str, Any]:
    """Return the JSON a child process prints last (it measures its own time and memory)."""
    return run_json(python, script, *args)


def load() -> str:
    """Return the machine's load averages (1, 5, 15 min) as text."""
    return "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


DEFAULT_SAMPLE = """
import json, sys
import pandas as pd
from brainobs.vbn.sample_release import write_vbn_release
release = write_vbn_release(sys.argv[1])
sessions = pd.read_csv(release.metadata_path("ecephys_sessions"))
session = sessions.iloc[0]
probes = pd.read_csv(release.metadata_path("probes"))
probe = probes[(probes["ecephys_session_id"] == session["ecephys_session_id"])]
probe = probe[probe["has_lfp_data"]].iloc[0]
print(json.dumps([str(release.data_path(int(session["file_id"]))),
                  str(release.data_path(int(probe["file_id"]))), str(probe["name"])]))
"""


def default_files() -> tuple[Path, Path, str]:
    """Return the default sample's first ecephys session, one of its LFP files and probe.

    The sample is written in a child process: Linux keeps a process's peak RSS across exec,
    so writing it here would inflate the peak memory the measured children report.
    """
    folder = Path(tempfile.gettempdir()) / "brainobs-bench-sample"
    result = subprocess.run(
        [sys.executable, "-c", DEFAULT_SAMPLE, str(folder)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    )
    session, lfp, probe = json.loads(result.stdout.strip().splitlines()[-1])
    return Path(session), Path(lfp), probe


def warm_page_cache(path: Path) -> None:
    """Read ``path`` once so the measured runs find it in the page cache."""
    with path.open("rb") as handle:
        while handle.read(16 << 20):
            pass


Row = tuple[str, str | Path, str, bool]  # name, interpreter, script, streamed


def session_rows(reference: str | None, skip: set[str]) -> list[Row]:
    """Return the toolkits timed on open + units + all spike times (the floor second)."""
    rows: list[Row] = [
        ("brainobs", sys.executable, scripts.BRAINOBS, False),
        ("h5py (floor)", "h5py", scripts.H5PY, False),
        ("h5py + np.memmap", "h5py", scripts.H5PY_MAP, False),
        ("pynwb", "pynwb", scripts.PYNWB, False),
        ("lazynwb", "lazynwb", scripts.LAZYNWB, False),
        ("pynapple", "pynapple", scripts.PYNAPPLE, False),
        ("remfile + h5py (HTTP)", "remfile", scripts.REMFILE, True),
    ]
    if reference is not None:
        rows.append(("AllenSDK 2.16.2", reference, scripts.ALLENSDK, False))
    return [row for row in rows if row[1] not in skip and row[0] not in skip]


def interpreter(name: str | Path) -> str:
    """Return the interpreter for a row: a path as given, a peer name through its venv."""
    text = str(name)
    return text if "/" in text else str(peer_python(text))


def best_of(rounds: int, measure: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Return the figures of ``rounds`` runs: the smallest of each time and of the memory."""
    runs = [measure() for _ in range(max(1, rounds))]
    best = dict(runs[0])
    for key in ("first_s", "warm_s", "first_cpu_s", "warm_cpu_s", "peak_rss_mb"):
        best[key] = min(r[key] for r in runs)
    best["load"] = load()
    return best


def time_sessions(args: argparse.Namespace, url: str, rows: list[Row]) -> dict[str, Any]:
    """Return each row's figures (warm page cache before each run)."""
    results = {}
    for name, python, script, streamed in rows:

        def once(python: str | Path = python, script: str = script, streamed: bool = streamed):
            warm_page_cache(args.nwb)
            return run_child(interpreter(python), script, url if streamed else str(args.nwb))

        try:
            results[name] = best_of(args.rounds, once)
        except (RuntimeError, subprocess.SubprocessError) as exc:
            print(f"{name}: failed ({_error_line(str(exc))})")
        else:
            print(f"  {name}: {results[name]}", flush=True)
    return results


def print_sessions(results: dict[str, Any]) -> None:
    """Print the open + units + spike times table: every row against the floor."""
    floor = results.get("h5py (floor)")
    reference = results.get("AllenSDK 2.16.2")

    def ratio(row: dict[str, Any], other: dict[str, Any] | None, key: str) -> float:
        return row[key] / other[key] if other else float("nan")

    print(
        f"\n{'open + units + all spike times':<24} {'first s':>8} {'warm s':>7} "
        f"{'first cpu':>9} {'warm cpu':>8} {'warm/floor':>10} {'cpu/floor':>9} "
        f"{'AllenSDK/x':>10} {'peak MB':>8} {'MB/AllenSDK':>11}  load"
    )
    for name, r in results.items():
        speed = ratio(reference, r, "first_s") if reference else float("nan")
        print(
            f"{name:<24} {r['first_s']:>8.3f} {r['warm_s']:>7.3f} {r['first_cpu_s']:>9.3f} "
            f"{r['warm_cpu_s']:>8.3f} {ratio(r, floor, 'warm_s'):>9.2f}x "
            f"{ratio(r, floor, 'warm_cpu_s'):>8.2f}x {speed:>9.1f}x {r['peak_rss_mb']:>8.0f} "
            f"{ratio(r, reference, 'peak_rss_mb'):>11.3f}  {r['load']}"
        )
    print(
        "wall and CPU seconds; the best of the rounds; ratios to the floor are warm calls; "
        "AllenSDK/x is the AllenSDK's first call over the row's"
    )
    if floor is not None:
        differ = [name for name, r in results.items() if not same_spikes(r, floor)]
        print(f"every row read the floor's spike times (count and sum): {_agree(differ)}")


def same_spikes(row: dict[str, Any], floor: dict[str, Any]) -> bool:
    """Return whether a row read as many spike times as the floor, summing to the same total."""
    total, expected = row["spike_sum"], floor["spike_sum"]
    close = abs(total - expected) <= 1e-9 * max(abs(expected), 1.0)
    return bool(row["spikes"] == floor["spikes"] and close)


def _agree(differ: list[str]) -> str:
    """Return 'yes', or which rows differ."""
    return "yes" if not differ else "no: " + ", ".join(differ)


def _error_line(text: str) -> str:
    """Return the last line of a child's traceback that names an error."""
    lines = [line for line in text.strip().splitlines() if "Error" in line]
    return (lines or text.strip().splitlines() or ["?"])[-1].strip()


def stream_rows(skip: set[str]) -> list[tuple[str, str, str]]:
    """Return the toolkits timed on streaming one structure's spike times."""
    rows = [
        ("brainobs", sys.executable, scripts.STREAM_BRAINOBS),
        ("remfile + h5py", "remfile", scripts.STREAM_REMFILE),
        ("pynwb + remfile", "pynwb", scripts.STREAM_PYNWB),
        ("lazynwb", "lazynwb", scripts.STREAM_LAZYNWB),
    ]
    return [row for row in rows if row[1] not in skip and row[0] not in skip]


def chosen_units(nwb: Path, structure: str | None) -> tuple[str, list[int]]:
    """Return the structure with the most units (or the given one) and its units' positions."""
    import numpy as np
    import pandas as pd

    from brainobs.vbn.session import BehaviorEcephysSession

    with BehaviorEcephysSession.from_nwb_path(nwb) as session:
        channels = session.get_channels(filter_by_validity=False)
        units = session.get_units()
        acronyms = channels.loc[units["peak_channel_id"], "structure_acronym"].to_numpy()
        if structure is None:
            structure = str(pd.Series(acronyms).dropna().value_counts().index[0])
        ids = units.index[acronyms == structure]
        positions = pd.Index(session._file.h5["units/id"][()]).get_indexer(ids)
    return structure, sorted(int(p) for p in np.asarray(positions))


def stream(args: argparse.Namespace, server: Any, url: str, skip: set[str]) -> None:
    """Print the bytes each toolkit moves to read one structure's spike times over HTTP."""
    structure, positions = chosen_units(args.nwb, args.structure)
    print(f"\nstreaming {structure}'s spike times ({len(positions)} units) over loopback HTTP:")
    print(f"{'toolkit':<18} {'MB moved':>9} {'spike MB':>9} {'ratio':>6} {'wall s':>7}  load")
    for name, python, script in stream_rows(skip):
        server.reset()
        try:
            figures = run_child(interpreter(python), script, url, json.dumps(positions))
        except (RuntimeError, subprocess.SubprocessError) as exc:
            print(f"{name}: failed ({_error_line(str(exc))})")
            continue
        moved = server.state.bytes_sent[args.nwb.name]
        wanted = figures["spikes"] * 8
        print(
            f"{name:<18} {moved / 1e6:>9.1f} {wanted / 1e6:>9.1f} {moved / wanted:>5.3f}x "
            f"{figures['wall_s']:>7.2f}  {load()}",
            flush=True,
        )


def lfp(args: argparse.Namespace, reference: str | None) -> None:
    """Print 10 s of LFP on one probe, brainobs against the AllenSDK."""
    lfp_args = (str(args.nwb), str(args.lfp), str(args.probe))
    ours = run_child(sys.executable, LFP_BROBS, *lfp_args)
    line = (
        f"\n10 s of LFP, one probe: brainobs {ours['wall_s']:.3f} s, {ours['peak_rss_mb']:.0f} MB"
    )
    if reference is not None:
        theirs = run_child(reference, LFP_REFERENCE, *lfp_args)
        line += (
            f"; AllenSDK {theirs['wall_s']:.3f} s, {theirs['peak_rss_mb']:.0f} MB "
            f"({theirs['wall_s'] / ours['wall_s']:.1f}x)"
        )
    print(f"{line}  {load()}")


def main() -> None:
    from tests.support.range_server import RangeServer

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nwb", type=Path, help="ecephys session NWB (default: the sample)")
    parser.add_argument("--lfp", type=Path, help="LFP NWB of --probe")
    parser.add_argument("--probe", help="probe name of --lfp (e.g. probeC)")
    parser.add_argument("--structure", help="structure streamed (default: most units)")
    parser.add_argument("--reference-python", help="interpreter with AllenSDK 2.16.2")
    parser.add_argument("--no-reference", action="store_true", help="skip the AllenSDK")
    parser.add_argument("--skip", nargs="*", default=[], help="peers or rows to leave out")
    parser.add_argument("--rounds", type=int, default=1, help="runs per row (best is kept)")
    args = parser.parse_args()
    if args.nwb is None:
        args.nwb, args.lfp, args.probe = default_files()
    reference = None if args.no_reference else args.reference_python or str(reference_python())
    skip = set(args.skip)
    size = args.nwb.stat().st_size
    print(f"session {args.nwb.name} ({size / 1e9:.2f} GB); {os.cpu_count()} cores; {load()}")
    with RangeServer(args.nwb.parent) as server:
        url = f"{server.url}/{args.nwb.name}"
        results = time_sessions(args, url, session_rows(reference, skip))
        print_sessions(results)
        versions = [
            f"{p}: {peer_version(p)}"
            for p in ("h5py", "pynwb", "lazynwb", "pynapple", "remfile")
            if p not in skip
        ]
        print("peers: " + ", ".join(versions))
        if args.lfp is not None:
            lfp(args, reference)
        stream(args, server, url, skip)


if __name__ == "__main__":
    main()
