"""Fault injection: every failure leaves no partial file at the final path, says what to
do, and a retry completes."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from brainobs.config import TransferSettings
from brainobs.errors import DownloadError, HashMismatchError, TransientError
from brainobs.storage import download as download_module
from brainobs.storage.download import Expected, download_file
from brainobs.storage.hashing import blake2b_file
from brainobs.storage.http import HTTPFetcher
from tests.conftest import FAULT_SUMMARY
from tests.support.range_server import Fault, RangeServer
from tests.support.release import TinyRelease

SETTINGS = TransferSettings(connect_timeout=2.0, read_timeout=0.5, retries=3, backoff_initial=0.01)
NO_RETRY = TransferSettings(connect_timeout=2.0, read_timeout=0.5, retries=0, backoff_initial=0.01)
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def big(tiny_release: TinyRelease) -> tuple[str, Expected, bytes]:
    entry = tiny_release.manifests["0.1.0"].data_files["1"]
    return (
        entry.key,
        Expected(entry.file_hash, entry.size),
        (tiny_release.root / entry.key).read_bytes(),
    )


@pytest.fixture
def server(http_server: RangeServer) -> RangeServer:
    http_server.reset()
    return http_server


def _final_state(target: Path, expected: Expected) -> str:
    if not target.exists():
        return "absent"
    return "verified" if blake2b_file(target) == expected.file_hash else "CORRUPT"


def _record(scenario: str, first: str, retry: str, final: str) -> None:
    FAULT_SUMMARY.append({"scenario": scenario, "first": first, "retry": retry, "final": final})


def _ranges(server: RangeServer, key: str) -> list[str | None]:
    return [r for k, r in server.state.requests if k == key]


@pytest.mark.parametrize(
    ("scenario", "fault"),
    [
        ("connection dropped mid-body", Fault("drop", after=1_000_000)),
        ("stalled past the read timeout", Fault("stall", after=700_000, seconds=2.0)),
        ("500 then 503 then success", Fault("status", status=500)),
    ],
)
def test_transient_faults_resume(
    scenario: str,
    fault: Fault,
    server: RangeServer,
    big,
    tmp_path: Path,
) -> None:
    key, expected, data = big
    server.inject(key, fault)
    if fault.kind == "status":
        server.inject(key, Fault("status", status=503))
    target = tmp_path / "f.nwb"
    download_file(HTTPFetcher(server.url, SETTINGS), key, target, expected, settings=SETTINGS)
    assert target.read_bytes() == data
    assert not target.with_name("f.nwb.part").exists()
    ranges = _ranges(server, key)
    if fault.kind in ("drop", "stall"):
        assert ranges[0] is None and ranges[1] == f"bytes={fault.after}-", (
            "must resume, not restart"
        )
        assert server.state.bytes_sent[key] == len(data)
    _record(
        scenario, f"retried ({len(ranges)} requests)", "resumed", _final_state(target, expected)
    )


def test_fault_without_retries_keeps_partial_out_of_sight(
    server: RangeServer,
    big,
    tmp_path: Path,
) -> None:
    key, expected, _ = big
    server.inject(key, Fault("drop", after=500_000))
    target = tmp_path / "f.nwb"
    with pytest.raises(TransientError) as info:
        download_file(HTTPFetcher(server.url, NO_RETRY), key, target, expected, settings=NO_RETRY)
    assert "f.nwb" in str(info.value) and "run the same command again" in str(info.value)
    assert not target.exists()
    assert target.with_name("f.nwb.part").stat().st_size == 500_000
    download_file(HTTPFetcher(server.url, NO_RETRY), key, target, expected, settings=NO_RETRY)
    assert _final_state(target, expected) == "verified"
    assert _ranges(server, key)[-1] == "bytes=500000-"
    _record("dropped, retries exhausted", "TransientError, .part kept", "resumed", "verified")


@pytest.mark.parametrize("kind", ["truncate", "corrupt"])
def test_bad_bytes_are_never_published(
    kind: str,
    server: RangeServer,
    big,
    tmp_path: Path,
) -> None:
    key, expected, data = big
    target = tmp_path / "f.nwb"
    server.inject(key, Fault(kind, after=1_234_567, times=2))  # both verification tries fail
    fetcher = HTTPFetcher(server.url, SETTINGS)
    with pytest.raises(HashMismatchError) as info:
        download_file(fetcher, key, target, expected, settings=SETTINGS)
    message = str(info.value)
    assert "ecephys_session_1.nwb" in message and "nothing was saved" in message
    assert not target.exists() and not target.with_name("f.nwb.part").exists()
    download_file(fetcher, key, target, expected, settings=SETTINGS)
    assert target.read_bytes() == data
    label = "truncated body" if kind == "truncate" else "corrupted bytes (hash mismatch)"
    _record(
        label, "HashMismatchError, nothing published", "complete", _final_state(target, expected)
    )


def test_single_corruption_is_refetched_transparently(
    server: RangeServer,
    big,
    tmp_path: Path,
) -> None:
    key, expected, data = big
    server.inject(key, Fault("corrupt", after=10))
    target = tmp_path / "f.nwb"
    download_file(HTTPFetcher(server.url, SETTINGS), key, target, expected, settings=SETTINGS)
    assert target.read_bytes() == data
    _record("one corrupted response", "re-fetched in the same call", "-", "verified")


def test_disk_full_keeps_partial_and_resumes(
    server: RangeServer,
    big,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key, expected, data = big
    target = tmp_path / "f.nwb"
    budget = {"left": 1_500_000}

    def full_disk(handle, block):
        if budget["left"] < len(block):
            raise OSError(errno.ENOSPC, "No space left on device")
        budget["left"] -= len(block)
        handle.write(block)

    monkeypatch.setattr(download_module, "_write_block", full_disk)
    with pytest.raises(DownloadError, match=r"disk is full.*Free some space"):
        download_file(HTTPFetcher(server.url, SETTINGS), key, target, expected, settings=SETTINGS)
    assert not target.exists()
    kept = target.with_name("f.nwb.part").stat().st_size
    assert 0 < kept <= 1_500_000
    monkeypatch.undo()
    download_file(HTTPFetcher(server.url, SETTINGS), key, target, expected, settings=SETTINGS)
    assert target.read_bytes() == data
    assert _ranges(server, key)[-1] == f"bytes={kept}-"
    _record("disk full during write", "DownloadError: free space", "resumed", "verified")


_CHILD = """
import sys
from brainobs.config import TransferSettings
from brainobs.storage.download import Expected, download_file
from brainobs.storage.http import HTTPFetcher
url, key, target, digest, size = sys.argv[1:6]
s = TransferSettings(read_timeout=5.0, retries=2, backoff_initial=0.01)
download_file(HTTPFetcher(url, s), key, target, Expected(digest, int(size)), settings=s)
print("done")
"""


def _child(
    server: RangeServer, key: str, target: Path, expected: Expected
) -> subprocess.Popen[str]:
    args = [server.url, key, str(target), expected.file_hash, str(expected.size)]
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


def test_sigkill_mid_download_then_resume(server: RangeServer, big, tmp_path: Path) -> None:
    key, expected, data = big
    target = tmp_path / "f.nwb"
    part = target.with_name("f.nwb.part")
    server.inject(key, Fault("throttle", rate=1_000_000))
    child = _child(server, key, target, expected)
    _wait_for(lambda: part.exists() and part.stat().st_size > 300_000)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert not target.exists()
    kept = part.stat().st_size
    download_file(HTTPFetcher(server.url, SETTINGS), key, target, expected, settings=SETTINGS)
    assert target.read_bytes() == data
    assert _ranges(server, key)[-1] == f"bytes={kept}-"
    _record("SIGKILL mid-download, restarted", f"killed at {kept} bytes", "resumed", "verified")


def test_two_processes_download_once(server: RangeServer, big, tmp_path: Path) -> None:
    key, expected, data = big
    target = tmp_path / "f.nwb"
    server.inject(key, Fault("throttle", rate=4_000_000))
    children = [_child(server, key, target, expected) for _ in range(2)]
    outputs = [c.communicate(timeout=60) for c in children]
    assert [c.returncode for c in children] == [0, 0], outputs
    assert target.read_bytes() == data
    assert len(_ranges(server, key)) == 1, "the file must be requested once"
    _record(
        "two processes, same file",
        "both succeed",
        "-",
        f"verified, {len(_ranges(server, key))} GET",
    )
