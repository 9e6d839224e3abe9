from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from brainobs.config import TransferSettings
from brainobs.releases import VBN
from brainobs.storage.fetchers import Fetcher
from brainobs.storage.http import HTTPFetcher
from brainobs.storage.local import LocalFetcher
from brainobs.storage.s3 import S3Fetcher
from tests.support.range_server import RangeServer
from tests.support.release import TinyRelease

FAST = TransferSettings(connect_timeout=2.0, read_timeout=2.0, retries=3, backoff_initial=0.01)


@pytest.fixture(scope="session")
def http_server(tiny_release: TinyRelease) -> Iterator[RangeServer]:
    with RangeServer(tiny_release.root) as server:
        yield server


@pytest.fixture(params=["local", "http", "s3"])
def fetcher(
    request: pytest.FixtureRequest, tiny_release: TinyRelease, http_server: RangeServer
) -> Fetcher:
    """Each fetcher over the same tiny release: the conformance suite runs on all three."""
    if request.param == "local":
        return LocalFetcher(tiny_release.root)
    if request.param == "http":
        http_server.reset()
        return HTTPFetcher(http_server.url, settings=FAST)
    endpoint = request.getfixturevalue("s3_endpoint")
    return S3Fetcher(VBN.bucket, endpoint=endpoint, settings=FAST)


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"
