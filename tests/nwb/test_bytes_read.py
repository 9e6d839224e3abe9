"""Reading a few rows of a remote file moves only those rows' bytes (counted at the source)."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from brainobs.nwb import NwbFile, read_dynamic_table, read_ragged
from brainobs.storage.http import HTTPFetcher
from brainobs.storage.local import LocalFetcher
from tests.nwb.conftest import FAST, SMALL_BLOCKS
from tests.nwb.nwb_files import SessionTruth
from tests.support.range_server import RangeServer


def _report(name: str, fraction: float) -> None:
    """Print a measured fraction (visible with ``pytest -s``)."""
    print(f"bytes-read fraction, {name}: {fraction:.4f}")


def _extent(path: Path, dataset: str) -> tuple[int, int]:
    """Return the start and length of the bytes a dataset occupies in the file."""
    with h5py.File(path, "r") as h5:
        ds = h5[dataset]
        if ds.chunks is None:
            return int(ds.id.get_offset()), int(ds.id.get_storage_size())
        chunks = [ds.id.get_chunk_info(i) for i in range(ds.id.get_num_chunks())]
        first = min(c.byte_offset for c in chunks)
        return first, max(c.byte_offset + c.size for c in chunks) - first


def _opened(nwb_root: Path) -> NwbFile:
    handle = NwbFile.from_fetcher(LocalFetcher(nwb_root), "session.nwb", block_cache=SMALL_BLOCKS)
    assert handle.has("/units")
    assert handle.remote is not None
    handle.remote.reset_stats()
    return handle


def test_two_of_200_units_read_a_small_fraction(session: SessionTruth, nwb_root: Path) -> None:
    handle = _opened(nwb_root)
    spikes = read_ragged(handle, "/units", "spike_times", rows=[17, 160])
    np.testing.assert_array_equal(spikes[session.unit_ids[160]], session.spike_times[160])
    assert handle.remote is not None
    moved = handle.remote.bytes_transferred
    start, size = _extent(session.path, "/units/spike_times")
    fraction = moved / size
    _report("2 of 200 units' spike_times / spike_times dataset", fraction)
    _report("same, / whole file", moved / session.path.stat().st_size)
    assert fraction < 0.1
    wanted = sum(len(session.spike_times[r]) for r in (17, 160)) * 8
    inside = sum(
        max(0, min(b, start + size) - max(a, start)) for a, b in handle.remote.stats.ranges
    )
    assert inside < wanted + 4 * SMALL_BLOCKS.block_size  # only blocks around the 2 units
    handle.close()


def test_opening_and_unit_metadata_read_little(session: SessionTruth, nwb_root: Path) -> None:
    handle = NwbFile.from_fetcher(LocalFetcher(nwb_root), "session.nwb", block_cache=SMALL_BLOCKS)
    units = read_dynamic_table(handle, "/units", columns=["quality", "firing_rate"])
    assert len(units) == 200
    fraction = handle.bytes_transferred / session.path.stat().st_size
    _report("open + 2 scalar unit columns / whole file", fraction)
    assert fraction < 0.1
    handle.close()


def test_all_units_read_the_whole_dataset_once(session: SessionTruth, nwb_root: Path) -> None:
    handle = _opened(nwb_root)
    read_ragged(handle, "/units", "spike_times")
    assert handle.remote is not None
    nbytes = sum(len(t) for t in session.spike_times) * 8
    assert 0.95 * nbytes <= handle.remote.bytes_transferred < 1.1 * nbytes
    assert handle.remote.stats.requests < 10  # in a few large reads, not one per unit
    handle.close()


def test_http_source_sends_what_the_counter_says(
    session: SessionTruth, server: RangeServer
) -> None:
    fetcher = HTTPFetcher(server.url, settings=FAST)
    handle = NwbFile.from_fetcher(fetcher, "session.nwb", block_cache=SMALL_BLOCKS)
    server.reset()
    spikes = read_ragged(handle, "/units", "spike_times", rows=[3, 4])
    np.testing.assert_array_equal(spikes[session.unit_ids[4]], session.spike_times[4])
    sent = server.state.bytes_sent["session.nwb"]
    assert sent == handle.bytes_transferred + 1  # + the 1-byte size probe
    _report("HTTP: open + 2 units' spike_times / whole file", sent / session.path.stat().st_size)
    assert sent < session.path.stat().st_size / 10
    handle.close()
