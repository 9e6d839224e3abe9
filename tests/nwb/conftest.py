"""Fixtures for the NWB reader tests: files written once per test session, served three ways."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from brainobs.config import TransferSettings
from brainobs.nwb import NwbFile
from brainobs.storage.http import HTTPFetcher
from brainobs.storage.local import LocalFetcher
from brainobs.storage.remote import BlockCacheOptions
from tests.nwb.nwb_files import SessionTruth, write_session, write_variants
from tests.support.range_server import RangeServer

FAST = TransferSettings(connect_timeout=2.0, read_timeout=2.0, retries=2, backoff_initial=0.01)
SMALL_BLOCKS = BlockCacheOptions(block_size=64 << 10, cache_size=4 << 20, max_readahead=0)


@pytest.fixture(scope="session")
def nwb_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the test files under bucket-like keys."""
    return tmp_path_factory.mktemp("nwb")


@pytest.fixture(scope="session")
def session(nwb_root: Path) -> SessionTruth:
    """The pynwb-written session file and what it holds."""
    return write_session(nwb_root / "session.nwb")


@pytest.fixture(scope="session")
def variants(nwb_root: Path) -> dict[str, Any]:
    """The hand-made file of storage variations (``path`` plus what it holds)."""
    path = nwb_root / "variants.nwb"
    return {"path": path, **write_variants(path)}


@pytest.fixture(scope="session")
def server(nwb_root: Path, session: SessionTruth) -> Iterator[RangeServer]:
    """A Range-capable HTTP server on loopback serving ``nwb_root``."""
    with RangeServer(nwb_root) as running:
        yield running


@pytest.fixture(params=["local", "fetcher", "http"])
def any_session(
    request: pytest.FixtureRequest, session: SessionTruth, nwb_root: Path
) -> Iterator[NwbFile]:
    """The session file opened from disk, over a LocalFetcher, and over HTTP."""
    handle = open_session(request.param, session, nwb_root, request)
    yield handle
    handle.close()


def open_session(
    how: str, session: SessionTruth, nwb_root: Path, request: pytest.FixtureRequest
) -> NwbFile:
    """Return the session file opened ``how`` (local, fetcher or http)."""
    if how == "local":
        return NwbFile.open(session.path)
    if how == "fetcher":
        return NwbFile.from_fetcher(LocalFetcher(nwb_root), "session.nwb", block_cache=SMALL_BLOCKS)
    server: RangeServer = request.getfixturevalue("server")
    fetcher = HTTPFetcher(server.url, settings=FAST)
    return NwbFile.from_fetcher(fetcher, "session.nwb", block_cache=SMALL_BLOCKS)
