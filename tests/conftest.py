"""Session-wide test hooks: the reference toolkit set up first, the fault-injection summary."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock

from brainobs.releases import RELEASES, VBN
from brainobs.sample import SampleRelease
from brainobs.vbn.sample_release import write_vbn_release
from brainobs.vcn.sample_release import VcnSampleRelease, write_vcn_release
from tests.support.reference import reference_python
from tests.support.release import TinyRelease, write_tiny_release
from tests.support.s3 import moto_s3_server, publish_release

#: Rows that the running test recorded (in the process that runs it, a worker under xdist).
FAULT_ROWS: list[dict[str, Any]] = []
#: Rows gathered from the test reports (in the process that prints the summary).
FAULT_SUMMARY: list[dict[str, Any]] = []


#: Tests that run the reference toolkit (AllenSDK) in its own virtual environment.
USES_REFERENCE = ("tests/compat", "tests/sample/test_compat.py", "tests/tutorials")


def _selects_reference_tests(config: pytest.Config) -> bool:
    root = Path(config.rootpath)
    users = [(root / name).resolve() for name in USES_REFERENCE]
    for arg in config.args or [str(root)]:
        path = (Path(config.invocation_params.dir) / arg.split("::")[0]).resolve()
        if any(path == user or path in user.parents or user in path.parents for user in users):
            return True
    return False


def pytest_sessionstart(session: pytest.Session) -> None:
    """Create the reference toolkit's venv before any test starts, when selected tests use it.

    Creating it takes minutes on a loaded machine; inside a test it would count against that
    test's timeout (and every other worker's, waiting on its lock). Runs in the controller,
    before xdist starts its workers, or in the single process without xdist.
    """
    if hasattr(session.config, "workerinput") or not _selects_reference_tests(session.config):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line("reference toolkit: preparing .venv-allensdk (once; minutes if new)")
    reference_python()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Carry the rows a test recorded in its report, which xdist sends to the controller."""
    outcome = yield
    if call.when == "call" and FAULT_ROWS:
        report = outcome.get_result()  # type: ignore[attr-defined]
        report.user_properties.extend(("fault_row", row) for row in FAULT_ROWS)
        FAULT_ROWS.clear()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Gather the fault rows of each test, wherever it ran."""
    FAULT_SUMMARY.extend(value for name, value in report.user_properties if name == "fault_row")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the fault-injection scenarios and how each ended."""
    if not FAULT_SUMMARY:
        return
    write = terminalreporter.write_line
    terminalreporter.section("download fault injection")
    width = max([34, *(len(row["scenario"]) for row in FAULT_SUMMARY)])
    write(f"{'scenario':<{width}} {'first try':<44} {'retry':<10} {'final file'}")
    for row in FAULT_SUMMARY:
        write(f"{row['scenario']:<{width}} {row['first']:<44.44} {row['retry']:<10} {row['final']}")


@pytest.fixture(scope="session")
def tiny_release(tmp_path_factory: pytest.TempPathFactory) -> TinyRelease:
    """A two-version generated release in the bucket layout (storage tests)."""
    return write_tiny_release(tmp_path_factory.mktemp("bucket"))


@pytest.fixture(scope="session")
def s3_endpoint(tiny_release: TinyRelease) -> Iterator[str]:
    """moto's S3 server on loopback holding ``tiny_release`` in a public versioned bucket.

    moto keeps its buckets in process-wide state, so the whole test session shares this one
    server: tests that need other objects put them in other buckets.
    """
    with moto_s3_server() as endpoint:
        publish_release(endpoint, VBN.bucket, tiny_release.root)
        yield endpoint


def shared_folder(tmp_path_factory: pytest.TempPathFactory, name: str) -> tuple[Path, FileLock]:
    """Return a folder every process of this test run sees, and the lock that guards it.

    Under pytest-xdist each worker has its own base temp folder; their parent is the run's,
    so a sample written there once (under the lock) is reused by the other workers, as the
    writers reuse a complete release of the same size and seed.
    """
    base = tmp_path_factory.getbasetemp()
    run = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    return run / name, FileLock(str(run / f"{name}.lock"))


@pytest.fixture(scope="session")
def vbn_release(tmp_path_factory: pytest.TempPathFactory) -> SampleRelease:
    """The default VBN sample release (seed 0), written once per test run."""
    folder, lock = shared_folder(tmp_path_factory, "vbn_sample")
    with lock:
        return write_vbn_release(folder, size="default", seed=0)


@pytest.fixture(scope="session")
def vbo_release(tmp_path_factory: pytest.TempPathFactory) -> SampleRelease:
    """The default VBO sample release (seed 0), written once per test run."""
    from brainobs.vbo.sample_release import write_vbo_release

    folder, lock = shared_folder(tmp_path_factory, "vbo_sample")
    with lock:
        return write_vbo_release(folder, size="default", seed=0)


@pytest.fixture(scope="session")
def vcn_release(tmp_path_factory: pytest.TempPathFactory) -> VcnSampleRelease:
    """The default VCN sample release (seed 0), written once per test run."""
    folder, lock = shared_folder(tmp_path_factory, "vcn_sample")
    with lock:
        return write_vcn_release(folder, size="default", seed=0)


def seed_samples(cache_dir: Path, *releases: SampleRelease | VcnSampleRelease) -> None:
    """Place hard-linked copies of written samples where ``from_sample`` looks for them.

    ``from_sample`` writes a missing sample to ``<cache_dir>/_samples/<name>-<size>-seed<seed>``
    and reuses a complete one; tests of what comes after the writing start from these.
    """
    for release in releases:
        (name,) = (r.name for r in RELEASES.values() if r.project_name == release.project_name)
        target = cache_dir / "_samples" / f"{name}-{release.size}-seed{release.seed}"
        shutil.copytree(release.root, target, copy_function=os.link)
