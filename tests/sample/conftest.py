"""Fixtures: the default VBN sample release, written once per test session."""

from __future__ import annotations

import pytest

from brainobs.sample import SampleRelease, write_vbn_release


@pytest.fixture(scope="session")
def vbn_release(tmp_path_factory: pytest.TempPathFactory) -> SampleRelease:
    """Return the default VBN sample release (seed 0) in a session temp dir."""
    return write_vbn_release(tmp_path_factory.mktemp("vbn_sample"), size="default", seed=0)
