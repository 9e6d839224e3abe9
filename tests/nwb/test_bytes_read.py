"""Reading a few rows of a remote file moves only those rows' bytes (counted at the source)."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from brainobs.nwb import NwbFile, read_dynamic_table, read_ragged
from brainobs.nwb.selection import byte_ranges
from brainobs.storage.http import HTTPFetcher
from brainobs.storage.local import LocalFetcher
from brainobs.storage.remote import RemoteObject
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


def test_a_run_of_units_costs_its_own_bytes(session: SessionTruth, nwb_root: Path) -> None:
    # Default block cache: a bulk read of a run of units is fetched exactly, not in blocks,
    # so the spike bytes moved are the units' own (plus the index rows, read once).
    handle = NwbFile.from_fetcher(LocalFetcher(nwb_root), "session.nwb")
    read_dynamic_table(handle, "/units", columns=["quality"])
    assert handle.remote is not None
    handle.remote.reset_stats()
    rows = list(range(40, 120))
    read_ragged(handle, "/units", "spike_times", rows=rows)
    wanted = sum(len(session.spike_times[r]) for r in rows) * 8
    start, size = _extent(session.path, "/units/spike_times")
    inside = sum(
        max(0, min(b, start + size) - max(a, start)) for a, b in handle.remote.stats.ranges
    )
    _report("80 adjacent units: spike bytes moved / their bytes", inside / wanted)
    assert wanted <= inside < 1.01 * wanted + 4096
    assert handle.remote.bytes_transferred < 1.1 * wanted
    handle.close()


def test_planned_reads_fetch_exact_rows_of_every_layout(tmp_path: Path) -> None:
    values = np.arange(100_000, dtype=np.float64)
    with h5py.File(tmp_path / "layouts.h5", "w") as h5:
        h5.create_dataset("contiguous", data=values)
        h5.create_dataset("chunked", data=values, chunks=(7_000,))
        h5.create_dataset("gzip", data=values, chunks=(7_000,), compression="gzip")
        h5.create_dataset("table", data=values.reshape(-1, 4), chunks=(500, 2))
    with h5py.File(tmp_path / "layouts.h5", "r") as h5:
        runs = [(10, 20), (6_990, 14_010)]
        contiguous = byte_ranges(h5["contiguous"], runs)
        offset = h5["contiguous"].id.get_offset()
        assert contiguous == [(offset + 80, offset + 160), (offset + 55_920, offset + 112_080)]
        chunked = byte_ranges(h5["chunked"], runs)
        assert sum(b - a for a, b in chunked) == (10 + 7_020) * 8  # the rows, no more
        gzip = byte_ranges(h5["gzip"], runs)
        chunks = [h5["gzip"].id.get_chunk_info(i) for i in range(3)]  # rows 0 to 21,000
        assert sum(b - a for a, b in gzip) == sum(c.size for c in chunks)  # whole chunks
        assert byte_ranges(h5["table"], runs) == []  # split along columns: not planned
    for name in ("contiguous", "chunked", "gzip"):
        file = RemoteObject(LocalFetcher(tmp_path), "layouts.h5").open()
        with h5py.File(file, "r") as h5:
            dataset = h5[name]
            planned = byte_ranges(dataset, [(6_990, 14_010)])
            file.reset_stats()
            file.pin(planned)
            np.testing.assert_array_equal(dataset[6_990:14_010], values[6_990:14_010])
            file.unpin()
            assert file.stats.ranges == planned  # nothing fetched besides the plan
