"""Session-wide test hooks: the fault-injection summary table."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from brainobs.releases import VBN
from brainobs.sample import SampleRelease
from brainobs.vbn.sample_release import write_vbn_release
from brainobs.vcn.sample_release import VcnSampleRelease, write_vcn_release
from tests.support.release import TinyRelease, write_tiny_release
from tests.support.s3 import moto_s3_server, publish_release

FAULT_SUMMARY: list[dict[str, Any]] = []


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


@pytest.fixture(scope="session")
def vbn_release(tmp_path_factory: pytest.TempPathFactory) -> SampleRelease:
    """The default VBN sample release (seed 0), written once per test session."""
    return write_vbn_release(tmp_path_factory.mktemp("vbn_sample"), size="default", seed=0)


@pytest.fixture(scope="session")
def vbo_release(tmp_path_factory: pytest.TempPathFactory) -> SampleRelease:
    """The default VBO sample release (seed 0), written once per test session."""
    from brainobs.vbo.sample_release import write_vbo_release

    return write_vbo_release(tmp_path_factory.mktemp("vbo_sample"), size="default", seed=0)


@pytest.fixture(scope="session")
def vcn_release(tmp_path_factory: pytest.TempPathFactory) -> VcnSampleRelease:
    """The default VCN sample release (seed 0), written once per test session."""
    return write_vcn_release(tmp_path_factory.mktemp("vcn_sample"), size="default", seed=0)
