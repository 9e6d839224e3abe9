from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from brainobs.config import TransferSettings
from brainobs.releases import VBN
from brainobs.sample.dandiset import SampleDandiset, write_dandiset
from brainobs.storage.dandi import DandiFetcher
from brainobs.storage.fetchers import Fetcher
from brainobs.storage.http import HTTPFetcher
from brainobs.storage.local import LocalFetcher
from brainobs.storage.s3 import S3Fetcher
from tests.support.dandi_server import DandiServer
from tests.support.range_server import RangeServer
from tests.support.release import TinyRelease

FAST = TransferSettings(connect_timeout=2.0, read_timeout=2.0, retries=3, backoff_initial=0.01)
TINY_DANDISET = "000999"


@pytest.fixture(scope="session")
def http_server(tiny_release: TinyRelease) -> Iterator[RangeServer]:
    with RangeServer(tiny_release.root) as server:
        yield server


@pytest.fixture(scope="session")
def tiny_dandiset(
    tiny_release: TinyRelease, tmp_path_factory: pytest.TempPathFactory
) -> SampleDandiset:
    """The tiny release laid out as a dandiset: every file an asset, its key the asset path."""
    files = {
        p.relative_to(tiny_release.root).as_posix(): p
        for p in tiny_release.root.rglob("*")
        if p.is_file()
    }
    return write_dandiset(files, tmp_path_factory.mktemp("dandi"), TINY_DANDISET)


@pytest.fixture(scope="session")
def dandi_server(tiny_dandiset: SampleDandiset) -> Iterator[DandiServer]:
    with DandiServer(tiny_dandiset.root) as server:
        yield server


@pytest.fixture(params=["local", "http", "s3", "dandi", "dandi-redirect"])
def fetcher(
    request: pytest.FixtureRequest, tiny_release: TinyRelease, http_server: RangeServer
) -> Fetcher:
    """Each fetcher over the same tiny release: the conformance suite runs on all of them.

    ``dandi`` reads the blobs' addresses, ``dandi-redirect`` the API's download redirect.
    """
    if request.param == "local":
        return LocalFetcher(tiny_release.root)
    if request.param == "http":
        http_server.reset()
        return HTTPFetcher(http_server.url, settings=FAST)
    if request.param.startswith("dandi"):
        server = request.getfixturevalue("dandi_server")
        server.reset()
        redirect = request.param == "dandi-redirect"
        return DandiFetcher(
            TINY_DANDISET, "draft", api=server.api_url, settings=FAST, redirect=redirect
        )
    endpoint = request.getfixturevalue("s3_endpoint")
    return S3Fetcher(VBN.bucket, endpoint=endpoint, settings=FAST)


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"
