"""Benchmark: opening a VBN ecephys session with brainobs versus the reference toolkit.

In one run, on one session NWB (``--nwb``; default: the default sample release, written once
under the temp folder), each side in its own child process that measures its own wall time and
peak RSS (``resource.getrusage``):

* open the session, get the units table and every unit's spike times
  (targets: brainobs >= 10x faster, <= 1/3 of the memory);
* read 10 s of LFP on one probe (``--lfp`` and ``--probe``, default: the sample's first LFP
  probe); the reference loads the whole series first;
* brainobs only: the bytes transferred to read the spike times of one structure's units from
  loopback S3 (moto), as a fraction of the file size (target < 15%).

The reference runs in its own Python 3.11 virtual environment (tests/support/reference.py).

    python benchmarks/bench_session.py [--nwb PATH --lfp PATH --probe probeC] [--structure VISp]
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.reference import reference_python  # noqa: E402

UNITS_BROBS = """
import json, resource, sys, time
from brainobs.vbn.session import BehaviorEcephysSession
start = time.perf_counter()
session = BehaviorEcephysSession.from_nwb_path(sys.argv[1])
units = session.get_units()
spikes = session.spike_times
n = sum(len(v) for v in spikes.values())
print(json.dumps({"wall_s": time.perf_counter() - start, "units": len(units), "spikes": n,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""
UNITS_REFERENCE = """
import json, resource, sys, time, warnings
warnings.simplefilter("ignore")
from allensdk.brain_observatory.ecephys.behavior_ecephys_session import BehaviorEcephysSession
start = time.perf_counter()
session = BehaviorEcephysSession.from_nwb_path(sys.argv[1])
units = session.get_units()
spikes = session.spike_times
n = sum(len(v) for v in spikes.values())
print(json.dumps({"wall_s": time.perf_counter() - start, "units": len(units), "spikes": n,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""
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
    result = subprocess.run(
        [str(python), "-c", script, *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"PYTHONWARNINGS": "ignore", "PATH": "/usr/bin:/bin"},
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{python} failed:\n{result.stderr[-3000:]}")
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


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


def streamed_fraction(nwb: Path, structure: str | None, block_size: int) -> dict[str, Any]:
    """Return bytes read from loopback S3 for one structure's spike times, and the file size."""
    from brainobs.nwb import NwbFile
    from brainobs.storage.remote import BlockCacheOptions
    from brainobs.storage.s3 import S3Fetcher
    from brainobs.vbn.session import BehaviorEcephysSession
    from tests.support.s3 import _public_read_policy, moto_s3_server, s3_client

    local = BehaviorEcephysSession.from_nwb_path(nwb)
    channels = local.get_channels(filter_by_validity=False)
    units = local.get_units()
    acronyms = channels.loc[units["peak_channel_id"], "structure_acronym"].to_numpy()
    if structure is None:
        named = pd_series(acronyms).dropna()
        structure = str(named.value_counts().index[0])
    chosen = units.index[acronyms == structure]
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
    bucket = f"bench-session-{block_size}"  # moto's state is process-wide
    with moto_s3_server() as endpoint:
        client = s3_client(endpoint)
        client.create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "us-west-2"}
        )
        policy = json.dumps(_public_read_policy(bucket))
        client.put_bucket_policy(Bucket=bucket, Policy=policy)
        client.put_object(Bucket=bucket, Key=nwb.name, Body=nwb.read_bytes())
        options = BlockCacheOptions(block_size=block_size)
        file = NwbFile.from_fetcher(S3Fetcher(bucket, endpoint=endpoint), nwb.name, cache=options)
        session = BehaviorEcephysSession(file)
        session.get_units()
        spikes = session.get_spike_times(chosen)
        used = file.bytes_transferred
        file.close()
    size = nwb.stat().st_size
    return {
        "structure": structure,
        "units": len(chosen),
        "spikes": sum(len(v) for v in spikes.values()),
        "bytes": used,
        "size": size,
        "fraction": used / size,
    }


def warm_page_cache(path: Path) -> None:
    """Read ``path`` once so the measured runs find it in the page cache."""
    with path.open("rb") as handle:
        while handle.read(16 << 20):
            pass


def pd_series(values: Any) -> Any:
    """Return ``values`` as a pandas Series (imported here to keep the module light)."""
    import pandas as pd

    return pd.Series(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nwb", type=Path, help="ecephys session NWB (default: the sample)")
    parser.add_argument("--lfp", type=Path, help="LFP NWB of --probe")
    parser.add_argument("--probe", help="probe name of --lfp (e.g. probeC)")
    parser.add_argument("--structure", help="structure for the S3 test (default: most units)")
    parser.add_argument("--reference-python", help="interpreter with AllenSDK 2.16.2")
    args = parser.parse_args()
    if args.nwb is None:
        args.nwb, args.lfp, args.probe = default_files()
    reference = args.reference_python or str(reference_python())
    here = sys.executable
    rows = []
    # Both sides read from a warm page cache: whichever ran first would otherwise pay for
    # reading the file from disk. (Cold reads are I/O-bound for both toolkits alike.)
    warm_page_cache(args.nwb)
    ours = run_child(here, UNITS_BROBS, str(args.nwb))
    warm_page_cache(args.nwb)
    theirs = run_child(reference, UNITS_REFERENCE, str(args.nwb))
    print(f"session {args.nwb.name}: {ours['units']} units, {ours['spikes']:,} spikes")
    rows.append(("open + units + spike times", ours, theirs))
    if args.lfp is not None:
        lfp_args = (str(args.nwb), str(args.lfp), str(args.probe))
        rows.append(
            (
                "10 s of LFP, one probe",
                run_child(here, LFP_BROBS, *lfp_args),
                run_child(reference, LFP_REFERENCE, *lfp_args),
            )
        )
    print(f"\n{'task':<28} {'brainobs s':>11} {'AllenSDK s':>11} {'speed-up':>9} "
          f"{'brainobs MB':>12} {'AllenSDK MB':>12} {'memory':>7}")  # fmt: skip
    for task, a, b in rows:
        speed_up = b["wall_s"] / a["wall_s"]
        memory = a["peak_rss_mb"] / b["peak_rss_mb"]
        print(
            f"{task:<28} {a['wall_s']:>11.3f} {b['wall_s']:>11.3f} {speed_up:>8.1f}x "
            f"{a['peak_rss_mb']:>12.0f} {b['peak_rss_mb']:>12.0f} {memory:>7.2f}"
        )
    print("\nspike times of one structure's units from loopback S3 (moto), brainobs:")
    for block in (2 << 20, 256 << 10):
        s3 = streamed_fraction(args.nwb, args.structure, block)
        print(
            f"  {s3['structure']}: {s3['units']} units, {s3['spikes']:,} spikes, block "
            f"{block >> 10} KiB: {s3['bytes'] / 1e6:.2f} MB of {s3['size'] / 1e6:.2f} MB "
            f"= {100 * s3['fraction']:.1f}% of the file (target < 15%)"
        )


if __name__ == "__main__":
    main()
