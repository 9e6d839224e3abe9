"""A VBN sample of four small sessions, its cache, and its summaries computed serially."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from brainobs.sample import SampleRelease
from brainobs.summaries import SummaryRun, summarize
from brainobs.vbn.cache import VisualBehaviorNeuropixelsProjectCache as Cache
from brainobs.vbn.sample_release import write_vbn_release
from tests.summaries.helpers import read_tables


@pytest.fixture(scope="session")
def many_release(tmp_path_factory: pytest.TempPathFactory) -> SampleRelease:
    """Four small ecephys sessions of two mice (Sst, Vip), familiar and novel."""
    return write_vbn_release(tmp_path_factory.mktemp("vbn_many"), sessions=4, seed=3)


@pytest.fixture(scope="session")
def many_cache(many_release: SampleRelease, tmp_path_factory: pytest.TempPathFactory) -> Cache:
    return Cache.from_source(str(many_release.root), tmp_path_factory.mktemp("many_cache"))


@pytest.fixture(scope="session")
def serial_run(many_cache: Cache, tmp_path_factory: pytest.TempPathFactory) -> SummaryRun:
    """The summaries of every session, computed serially (the reference of the other runs)."""
    return summarize(many_cache, out=tmp_path_factory.mktemp("serial"))


@pytest.fixture(scope="session")
def serial_tables(serial_run: SummaryRun) -> dict[str, pd.DataFrame]:
    return read_tables(Path(serial_run.out))
