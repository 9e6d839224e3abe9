"""The same summaries serially, on a LocalCluster of 2 processes, and on `dask` processes.

The third cluster is what a user starts on real machines: `dask scheduler` and two
`dask worker` processes, here on loopback, driven by `brainobs summarize --scheduler`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import cloudpickle
import distributed
import pandas as pd
import pytest

import brainobs
from brainobs.cli.main import main
from brainobs.sample import SampleRelease
from brainobs.summaries import summarize
from brainobs.vbn.cache import VisualBehaviorNeuropixelsProjectCache as Cache
from tests.summaries import helpers
from tests.summaries.helpers import assert_same_tables, failing, read_tables

cloudpickle.register_pickle_by_value(helpers)  # workers need not import the tests

SRC = str(Path(brainobs.__file__).resolve().parents[1])


@pytest.fixture(scope="module")
def local_cluster() -> Iterator[object]:
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def test_local_cluster_gives_the_same_tables(
    local_cluster: object,
    many_cache: Cache,
    tmp_path: Path,
    serial_tables: dict[str, pd.DataFrame],
) -> None:
    run = summarize(many_cache, out=tmp_path, client=local_cluster)
    assert run.ok and len(run.computed) == 4
    assert_same_tables(read_tables(tmp_path), serial_tables)
    workers = {info.worker for info in run.info.values()}
    assert all(not w.endswith(f":{os.getpid()}") for w in workers)  # ran in worker processes
    assert all(info.peak_rss and info.peak_rss > 50e6 for info in run.info.values())


def test_a_failing_session_on_the_cluster(
    local_cluster: object, many_cache: Cache, tmp_path: Path
) -> None:
    ids = [int(i) for i in many_cache.get_ecephys_session_table().index]
    run = summarize(many_cache, out=tmp_path, client=local_cluster, summaries=failing(ids[0]))
    assert list(run.failures) == [ids[0]] and sorted(run.computed) == sorted(ids[1:])
    assert "simulated failure in session" in run.failures[ids[0]].traceback


def _start(*args: str, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")])}
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "dask", *args], stdout=out, stderr=subprocess.STDOUT, env=env
        )


def _address(scheduler_file: Path, process: subprocess.Popen[bytes], log: Path) -> str:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if scheduler_file.is_file():
            try:
                return str(json.loads(scheduler_file.read_text())["address"])
            except (ValueError, KeyError):
                pass  # being written
        if process.poll() is not None:
            break
        time.sleep(0.2)
    raise AssertionError(f"dask scheduler did not start:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def dask_processes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A `dask scheduler` and two `dask worker` processes on loopback; yield the address."""
    folder = tmp_path_factory.mktemp("dask")
    scheduler_file = folder / "scheduler.json"
    processes = [
        _start("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
               "--scheduler-file", str(scheduler_file), log=folder / "scheduler.log"),
    ]  # fmt: skip
    try:
        address = _address(scheduler_file, processes[0], folder / "scheduler.log")
        assert address.startswith("tcp://127.0.0.1:")
        for k in range(2):
            processes.append(
                _start("worker", address, "--nthreads", "1", "--no-nanny", "--host", "127.0.0.1",
                       "--no-dashboard", "--local-directory", str(folder / f"w{k}"),
                       log=folder / f"worker{k}.log")
            )  # fmt: skip
        with distributed.Client(address) as client:
            client.wait_for_workers(2, timeout=120)
        yield address
    finally:
        for process in processes[::-1]:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=3)
            except subprocess.TimeoutExpired:  # a graceful close takes seconds; not needed here
                process.kill()
                process.wait()


def test_dask_processes_give_the_same_tables_streaming(
    dask_processes: str,
    many_release: SampleRelease,
    tmp_path: Path,
    serial_tables: dict[str, pd.DataFrame],
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "out"
    cache = str(tmp_path / "cache")
    args = ["summarize", "vbn", "--source", str(many_release.root), "--cache-dir", cache,
            "--out", str(out), "--scheduler", dask_processes, "--stream"]  # fmt: skip
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "4 sessions computed, 0 reused, 0 failed" in printed
    assert f"units: {len(serial_tables['units'])} rows" in printed
    assert_same_tables(read_tables(out), serial_tables)
    assert not list((tmp_path / "cache").rglob("*.nwb"))  # streamed, never downloaded
    assert main(args) == 0
    assert "0 sessions computed, 4 reused" in capsys.readouterr().out
