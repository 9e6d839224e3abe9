"""Fault injection: every failure leaves no partial file at the final path, says what to
do, and a retry completes. Each scenario runs on two routes: a plain HTTP server (the bucket
route) and the loopback DANDI archive (SHA-256 verification, blob addresses from the API)."""

from __future__ import annotations

import dataclasses
import errno
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from brainobs.config import TransferSettings
from brainobs.errors import DownloadError, HashMismatchError, TransientError
from brainobs.storage import download as download_module
from brainobs.storage.dandi import DandiFetcher
from brainobs.storage.download import Expected, download_file
from brainobs.storage.fetchers import Fetcher
from brainobs.storage.hashing import file_digest
from brainobs.storage.http import HTTPFetcher
from tests.conftest import FAULT_ROWS
from tests.storage.conftest import TINY_DANDISET
from tests.support.range_server import Fault, RangeServer
from tests.support.release import TinyRelease

SETTINGS = TransferSettings(connect_timeout=2.0, read_timeout=0.5, retries=3, backoff_initial=0.01)
NO_RETRY = TransferSettings(connect_timeout=2.0, read_timeout=0.5, retries=0, backoff_initial=0.01)
REPO = Path(__file__).resolve().parents[2]


@dataclass
class Route:
    """One way to the big file of the tiny release: its server, key and what it must hash to.

    ``served_key`` is what the server logs and injects faults by (the bucket key, or the blob
    behind the DANDI asset).
    """

    name: str
    server: RangeServer
    key: str
    served_key: str
    expected: Expected
    data: bytes
    make: Callable[[TransferSettings], Fetcher]

    def inject(self, *faults: Fault) -> None:
        """Inject copies of ``faults`` (parametrized faults are shared by both routes)."""
        self.server.inject(self.served_key, *(dataclasses.replace(f) for f in faults))

    def ranges(self) -> list[str | None]:
        return [r for k, r in self.server.state.requests if k == self.served_key]


@pytest.fixture(params=["http", "dandi"])
def route(request: pytest.FixtureRequest, tiny_release: TinyRelease) -> Route:
    entry = tiny_release.manifests["0.1.0"].data_files["1"]
    data = (tiny_release.root / entry.key).read_bytes()
    if request.param == "http":
        server = request.getfixturevalue("http_server")
        server.reset()
        expected = Expected(entry.file_hash, entry.size)
        return Route("http", server, entry.key, entry.key, expected, data,
                     lambda s: HTTPFetcher(server.url, s))  # fmt: skip
    server = request.getfixturevalue("dandi_server")
    server.reset()

    def make(settings: TransferSettings) -> Fetcher:
        return DandiFetcher(TINY_DANDISET, "draft", api=server.api_url, settings=settings)

    expected = make(TransferSettings()).expected(entry.key)  # type: ignore[attr-defined]
    server.reset()
    blob = server.blob_key(TINY_DANDISET, "draft", entry.key)
    return Route("dandi", server, entry.key, blob, expected, data, make)


def _final_state(target: Path, expected: Expected) -> str:
    if not target.exists():
        return "absent"
    digest = file_digest(target, expected.algorithm)
    return "verified" if digest == expected.file_hash else "CORRUPT"


def _record(route: Route, scenario: str, first: str, retry: str, final: str) -> None:
    FAULT_ROWS.append(
        {"scenario": f"{route.name}: {scenario}", "first": first, "retry": retry, "final": final}
    )


@pytest.mark.parametrize(
    ("scenario", "fault"),
    [
        ("connection dropped mid-body", Fault("drop", after=1_000_000)),
        ("stalled past the read timeout", Fault("stall", after=700_000, seconds=2.0)),
        ("500 then 503 then success", Fault("status", status=500)),
    ],
)
def test_transient_faults_resume(scenario: str, fault: Fault, route: Route, tmp_path: Path) -> None:
    route.inject(fault)
    if fault.kind == "status":
        route.inject(Fault("status", status=503))
    target = tmp_path / "f.nwb"
    download_file(route.make(SETTINGS), route.key, target, route.expected, settings=SETTINGS)
    assert target.read_bytes() == route.data
    assert not target.with_name("f.nwb.part").exists()
    ranges = route.ranges()
    if fault.kind in ("drop", "stall"):
        assert ranges[0] is None and ranges[1] == f"bytes={fault.after}-", (
            "must resume, not restart"
        )
        assert route.server.state.bytes_sent[route.served_key] == len(route.data)
    final = _final_state(target, route.expected)
    _record(route, scenario, f"retried ({len(ranges)} requests)", "resumed", final)


def test_fault_without_retries_keeps_partial_out_of_sight(route: Route, tmp_path: Path) -> None:
    route.inject(Fault("drop", after=500_000))
    target = tmp_path / "f.nwb"
    fetcher = route.make(NO_RETRY)
    with pytest.raises(TransientError) as info:
        download_file(fetcher, route.key, target, route.expected, settings=NO_RETRY)
    assert "f.nwb" in str(info.value) and "run the same command again" in str(info.value)
    assert not target.exists()
    assert target.with_name("f.nwb.part").stat().st_size == 500_000
    download_file(fetcher, route.key, target, route.expected, settings=NO_RETRY)
    assert _final_state(target, route.expected) == "verified"
    assert route.ranges()[-1] == "bytes=500000-"
    _record(route, "dropped, retries exhausted", "TransientError, .part kept", "resumed",
            "verified")  # fmt: skip


@pytest.mark.parametrize("kind", ["truncate", "corrupt"])
def test_bad_bytes_are_never_published(kind: str, route: Route, tmp_path: Path) -> None:
    target = tmp_path / "f.nwb"
    route.inject(Fault(kind, after=1_234_567, times=2))  # both verification tries fail
    fetcher = route.make(SETTINGS)
    with pytest.raises(HashMismatchError) as info:
        download_file(fetcher, route.key, target, route.expected, settings=SETTINGS)
    message = str(info.value)
    assert "ecephys_session_1.nwb" in message and "nothing was saved" in message
    assert not target.exists() and not target.with_name("f.nwb.part").exists()
    download_file(fetcher, route.key, target, route.expected, settings=SETTINGS)
    assert target.read_bytes() == route.data
    label = "truncated body" if kind == "truncate" else "corrupted bytes (hash mismatch)"
    final = _final_state(target, route.expected)
    _record(route, label, "HashMismatchError, nothing published", "complete", final)


def test_single_corruption_is_refetched_transparently(route: Route, tmp_path: Path) -> None:
    route.inject(Fault("corrupt", after=10))
    target = tmp_path / "f.nwb"
    download_file(route.make(SETTINGS), route.key, target, route.expected, settings=SETTINGS)
    assert target.read_bytes() == route.data
    _record(route, "one corrupted response", "re-fetched in the same call", "-", "verified")


def test_disk_full_keeps_partial_and_resumes(
    route: Route, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key, expected, data = route.key, route.expected, route.data
    target = tmp_path / "f.nwb"
    budget = {"left": 1_500_000}

    def full_disk(handle, block):
        if budget["left"] < len(block):
            raise OSError(errno.ENOSPC, "No space left on device")
        budget["left"] -= len(block)
        handle.write(block)

    monkeypatch.setattr(download_module, "_write_block", full_disk)
    fetcher = route.make(SETTINGS)
    with pytest.raises(DownloadError, match=r"disk is full.*Free some space"):
        download_file(fetcher, key, target, expected, settings=SETTINGS)
    assert not target.exists()
    kept = target.with_name("f.nwb.part").stat().st_size
    assert 0 < kept <= 1_500_000
    monkeypatch.undo()
    download_file(fetcher, key, target, expected, settings=SETTINGS)
    assert target.read_bytes() == data
    assert route.ranges()[-1] == f"bytes={kept}-"
    _record(route, "disk full during write", "DownloadError: free space", "resumed", "verified")


_CHILD = """
import sys
from brainobs.config import TransferSettings
from brainobs.storage.dandi import DandiFetcher
from brainobs.storage.download import Expected, download_file
from brainobs.storage.http import HTTPFetcher
url, key, target, digest, size, algorithm, route, dandiset = sys.argv[1:9]
s = TransferSettings(read_timeout=5.0, retries=2, backoff_initial=0.01)
if route == "dandi":
    fetcher = DandiFetcher(dandiset, "draft", api=url + "/api", settings=s)
else:
    fetcher = HTTPFetcher(url, s)
download_file(fetcher, key, target, Expected(digest, int(size), algorithm), settings=s)
print("done")
"""


def _child(route: Route, target: Path) -> subprocess.Popen[str]:
    expected = route.expected
    args = [route.server.url, route.key, str(target), expected.file_hash, str(expected.size),
            expected.algorithm, route.name, TINY_DANDISET]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    return subprocess.Popen(
        [sys.executable, "-c", _CHILD, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _wait_for(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def test_sigkill_mid_download_then_resume(route: Route, tmp_path: Path) -> None:
    key, expected, data = route.key, route.expected, route.data
    target = tmp_path / "f.nwb"
    part = target.with_name("f.nwb.part")
    route.inject(Fault("throttle", rate=1_000_000))
    child = _child(route, target)
    _wait_for(lambda: part.exists() and part.stat().st_size > 300_000)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert not target.exists()
    kept = part.stat().st_size
    download_file(route.make(SETTINGS), key, target, expected, settings=SETTINGS)
    assert target.read_bytes() == data
    assert route.ranges()[-1] == f"bytes={kept}-"
    _record(route, "SIGKILL mid-download, restarted", f"killed at {kept} bytes", "resumed",
            "verified")  # fmt: skip


def test_two_processes_download_once(route: Route, tmp_path: Path) -> None:
    target = tmp_path / "f.nwb"
    route.inject(Fault("throttle", rate=4_000_000))
    children = [_child(route, target) for _ in range(2)]
    outputs = [c.communicate(timeout=60) for c in children]
    assert [c.returncode for c in children] == [0, 0], outputs
    assert target.read_bytes() == route.data
    assert len(route.ranges()) == 1, "the file must be requested once"
    _record(route, "two processes, same file", "both succeed", "-",
            f"verified, {len(route.ranges())} GET")  # fmt: skip
