"""Benchmark: VBN's dataset-wide summaries over many sessions, serially and on 2 Dask workers.

In one run, each measurement in its own child process (which reports its own wall time and
peak RSS, and its workers' peak RSS):

* a many-session sample (``--sessions N`` small sessions, written once under ``--work``):
  the summaries serially from a local cache, then on a LocalCluster of ``--workers`` worker
  processes (1 thread each) from the same cache: speed-up and peak memory per worker;
  then serially streamed by byte ranges from the source (a fresh cache): bytes read per
  session against the file sizes;
* with ``--real-size``, the benchmark-size session (one realistic file: ~2,000 units,
  ~10^8 spikes, 2.4 GB; written once, about two minutes): seconds and peak memory for one
  real session read from a local file, and bytes read when streamed, the figures the cost
  model of docs/scale.md extrapolates to the full releases.

The machine's load average is printed with each figure: on a shared machine the speed-up of
2 workers is bounded by the cores the other processes leave free.

    python benchmarks/bench_scale.py [--sessions 12] [--workers 2] [--repeat 2] [--work DIR]
                                     [--real-size] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import nullcontext
from pathlib import Path
from typing import Any

CHILD = """
import json, os, sys, time
from contextlib import nullcontext
import brainobs.vbn.summary  # imported before timing, as on the warmed workers
from brainobs.parallel import peak_rss
from brainobs.summaries import summarize
from brainobs.vbn.cache import VisualBehaviorNeuropixelsProjectCache as Cache

spec = json.loads(sys.argv[1])
if spec["kind"] == "mirror":
    cache = Cache.from_local_cache(spec["source"], use_static_cache=True)
else:
    cache = Cache.from_source(spec["source"], spec["cache_dir"])
start = time.perf_counter()
if spec["workers"]:
    from distributed import Client, LocalCluster
    context = LocalCluster(n_workers=spec["workers"], threads_per_worker=1, processes=True,
                           dashboard_address=None)
else:
    context = nullcontext(None)
with context as cluster:
    client = Client(cluster) if cluster is not None else None
    started = time.perf_counter() - start
    if client is not None:  # warm the workers: imports happen once per worker, not per session
        client.run(lambda: __import__("brainobs.vbn.summary"))
    warm = time.perf_counter() - start
    t0 = time.perf_counter()
    run = summarize(cache, out=spec["out"], client=client, stream=spec["stream"], force=True)
    wall = time.perf_counter() - t0
    if client is not None:
        client.close()
assert run.ok, run.describe()
sessions = {str(s): {"seconds": i.seconds, "cpu_seconds": i.cpu_seconds,
                     "worker": i.worker, "peak_rss": i.peak_rss,
                     "bytes_read": run.bytes_read.get(s), "units": run.rows[s]["units"]}
            for s, i in run.info.items()}
print(json.dumps({"wall_s": wall, "cluster_start_s": started, "warm_s": warm,
                  "driver_peak_rss": peak_rss(),
                  "sessions": sessions, "load": os.getloadavg()}))
"""


def run_child(spec: dict[str, Any], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Return what one child process measured."""
    result = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(spec)],
        capture_output=True, text=True, check=False, env={**os.environ, **(env or {})},
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"child failed:\n{result.stderr[-4000:]}")
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def mb(value: float | None) -> str:
    """Return bytes as MB text."""
    return "n/a" if value is None else f"{value / 1e6:,.0f} MB"


def file_sizes(release: Any) -> dict[str, int]:
    """Return the size of each ecephys session file of a sample release, by session id."""
    sizes = {}
    for entry in release.manifest.data_files.values():
        name = entry.key.rsplit("/", 1)[-1]
        if name.startswith("ecephys_session_"):
            sizes[name.removeprefix("ecephys_session_").removesuffix(".nwb")] = int(entry.size)
    return sizes


def prepare_many(work: Path, n_sessions: int) -> tuple[Any, Path]:
    """Return the many-session sample and a cache holding its session files (verified)."""
    from brainobs.vbn.cache import VisualBehaviorNeuropixelsProjectCache as Cache
    from brainobs.vbn.sample_release import write_vbn_release

    start = time.perf_counter()
    release = write_vbn_release(work / f"many-{n_sessions}", sessions=n_sessions)
    print(f"sample of {n_sessions} sessions ready in {time.perf_counter() - start:.0f} s")
    cache_dir = work / f"cache-many-{n_sessions}"
    cache = Cache.from_source(str(release.root), cache_dir)
    for file_id in cache.get_ecephys_session_table()["file_id"]:
        cache.fetch_api.data_path(int(file_id))
    return release, cache_dir


def per_worker_peak(result: dict[str, Any]) -> dict[str, int]:
    """Return each worker's peak RSS (the largest its sessions reported)."""
    peaks: dict[str, int] = {}
    for info in result["sessions"].values():
        peaks[info["worker"]] = max(peaks.get(info["worker"], 0), info["peak_rss"] or 0)
    return peaks


def many_sessions(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Run and print the serial, cluster and streamed runs over the many-session sample.

    Serial and cluster runs alternate ``--repeat`` times; the fastest of each is kept (the
    machine's other load only ever slows a run down).
    """
    release, cache_dir = prepare_many(work, args.sessions)
    base = {"kind": "source", "source": str(release.root), "cache_dir": str(cache_dir)}
    runs: dict[str, list[dict[str, Any]]] = {"serial": [], "cluster": []}
    for _ in range(args.repeat):
        for mode, workers in (("serial", 0), ("cluster", args.workers)):
            out = str(work / f"out-{uuid.uuid4().hex}")
            runs[mode].append(run_child({**base, "stream": False, "workers": workers, "out": out}))
    serial, cluster = (min(runs[m], key=lambda r: r["wall_s"]) for m in ("serial", "cluster"))
    fresh = str(work / f"cache-stream-{uuid.uuid4().hex}")
    streamed = run_child({**base, "cache_dir": fresh, "stream": True, "workers": 0,
                          "out": str(work / f"out-{uuid.uuid4().hex}")})  # fmt: skip
    sizes = file_sizes(release)
    report_many(args, runs, serial, cluster, streamed, sizes)
    return {"runs": runs, "streamed": streamed, "file_sizes": sizes}


def report_many(
    args: argparse.Namespace,
    runs: dict[str, list[dict[str, Any]]],
    serial: dict[str, Any],
    cluster: dict[str, Any],
    streamed: dict[str, Any],
    sizes: dict[str, int],
) -> None:
    """Print the figures of the many-session runs."""
    n = len(serial["sessions"])
    per = statistics.median(s["seconds"] for s in serial["sessions"].values())
    cpu = statistics.median(s["cpu_seconds"] for s in serial["sessions"].values())
    units = sum(s["units"] for s in serial["sessions"].values())
    each, total = mb(statistics.mean(sizes.values())), mb(sum(sizes.values()))
    print(f"\n{n} sessions, {units} units, session files {each} each ({total} in all)")
    walls = {m: ", ".join(f"{r['wall_s']:.1f}" for r in rs) for m, rs in runs.items()}
    loads = {m: ", ".join(f"{r['load'][0]:.1f}" for r in rs) for m, rs in runs.items()}
    rss = mb(serial["driver_peak_rss"])
    print(f"  serial:    {serial['wall_s']:6.1f} s best of [{walls['serial']}] s")
    print(f"             {per:.2f} s/session wall, {cpu:.2f} s CPU (medians), peak RSS {rss}")
    print(f"             load average [{loads['serial']}]")
    speedup = serial["wall_s"] / cluster["wall_s"]
    start, warm = cluster["cluster_start_s"], cluster["warm_s"] - cluster["cluster_start_s"]
    print(f"  {args.workers} workers: {cluster['wall_s']:6.1f} s best of [{walls['cluster']}] s")
    print(f"             speed-up {speedup:.2f}x; cluster start {start:.1f} s and warm-up")
    print(f"             {warm:.1f} s not counted; load average [{loads['cluster']}]")
    for worker, peak in sorted(per_worker_peak(cluster).items()):
        count = sum(1 for s in cluster["sessions"].values() if s["worker"] == worker)
        print(f"             worker {worker}: {count} sessions, peak RSS {mb(peak)}")
    print(f"             driver peak RSS {mb(cluster['driver_peak_rss'])}")
    read = [s["bytes_read"] for s in streamed["sessions"].values()]
    share = sum(read) / sum(sizes[sid] for sid in streamed["sessions"])
    print(f"  streamed:  {streamed['wall_s']:6.1f} s, {mb(statistics.mean(read))} read per session")
    print(f"             = {share:.0%} of the files (2 MiB blocks: a small file is read whole)")


def real_size(work: Path) -> dict[str, Any]:
    """Run and print one realistic session: local (in place) and streamed."""
    from brainobs.vbn.sample_release import write_vbn_release

    start = time.perf_counter()
    release = write_vbn_release(work / "real-size", size="benchmark")
    print(f"\nbenchmark-size sample ready in {time.perf_counter() - start:.0f} s")
    size = next(iter(file_sizes(release).values()))
    env = {"BRAINOBS_CACHE_DIR": str(work / "user-cache")}
    local = run_child({"kind": "mirror", "source": str(release.root), "workers": 0, "stream": False,
                       "out": str(work / uuid.uuid4().hex)}, env)  # fmt: skip
    streamed = run_child({"kind": "source", "source": str(release.root), "workers": 0,
                          "stream": True, "out": str(work / uuid.uuid4().hex),
                          "cache_dir": str(work / f"cache-{uuid.uuid4().hex}")})  # fmt: skip
    (session,) = local["sessions"].values()
    (remote,) = streamed["sessions"].values()
    share = remote["bytes_read"] / size
    print(f"one real-size session ({session['units']} units, file {mb(size)}):")
    print(f"  local file: {session['seconds']:6.1f} s ({session['cpu_seconds']:.1f} s CPU), "
          f"peak RSS {mb(local['driver_peak_rss'])}")  # fmt: skip
    print(f"  streamed:   {remote['seconds']:6.1f} s ({remote['cpu_seconds']:.1f} s CPU), "
          f"read {mb(remote['bytes_read'])} ({share:.0%} of the file)")  # fmt: skip
    print(f"              peak RSS {mb(streamed['driver_peak_rss'])}")
    print(f"  load average {local['load'][0]:.1f} / {streamed['load'][0]:.1f}")
    return {"local": local, "streamed": streamed, "file_size": size}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print the figures (and write them as JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=12, help="sessions of the sample (even)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of the cluster")
    parser.add_argument("--repeat", type=int, default=2, help="serial/cluster runs, alternating")
    parser.add_argument("--work", type=Path, default=None, help="folder for samples and outputs")
    parser.add_argument("--real-size", action="store_true", help="also one realistic session")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = parser.parse_args(argv)
    print(f"cores: {os.cpu_count()}, load average at start: {os.getloadavg()[0]:.1f}")
    context = nullcontext(str(args.work)) if args.work else tempfile.TemporaryDirectory()
    with context as folder:
        work = Path(folder)
        work.mkdir(parents=True, exist_ok=True)
        figures = {"many": many_sessions(args, work)}
        if args.real_size:
            figures["real_size"] = real_size(work)
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
