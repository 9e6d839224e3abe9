"""Hostile NWB files give a CorruptFileError or InvalidInputError, never a MemoryError, a huge
allocation, an HDF5 crash or a silently wrong array.

Every file is crafted with h5py (tests/security/hostile_nwb.py): small on disk, hostile in
what it declares. Peaks are measured with tracemalloc (numpy reports its buffers to it).
"""

from __future__ import annotations

import pickle
import tracemalloc
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from brainobs.errors import CorruptFileError, InvalidInputError
from brainobs.nwb import (
    NwbFile,
    lazy_timeseries,
    read_dynamic_table,
    read_ids,
    read_ragged,
    read_timeseries,
)
from brainobs.nwb.guards import MAX_CHUNKS_PER_READ
from tests.security.hostile_nwb import gzip_bomb, regular_series, skeleton, units_table

BUDGET = "256M"


def _peak(call: Callable[[], object]) -> tuple[BaseException | None, int]:
    """Return the exception ``call`` raised (or None) and the peak of traced allocations."""
    tracemalloc.start()
    error: BaseException | None = None
    try:
        call()
    except BaseException as exc:
        error = exc
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return error, peak


@pytest.fixture(scope="module")
def huge(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Datasets declaring 2**40 elements, in a file of a few kilobytes."""
    path = tmp_path_factory.mktemp("hostile") / "huge.nwb"
    with skeleton(path) as f:
        regular_series(f, "huge", shape=(2**40,), dtype="f8", chunks=(1 << 20,))
        regular_series(f, "tiny_chunks", shape=(2**40,), dtype="f8", chunks=(1,))
        regular_series(f, "fat_chunks", shape=(2**30,), dtype="f8", chunks=(2**27,))
        f.create_dataset("general/huge_scalar", shape=(2**40,), dtype="f8", chunks=(1 << 20,))
        units = f.create_group("units")
        units.create_dataset("id", shape=(2**40,), dtype="i8", chunks=(1 << 20,))
    assert path.stat().st_size < 1 << 20
    return path


def test_a_dataset_declaring_2_to_the_40_elements(huge: Path) -> None:
    nwb = NwbFile.open(huge, memory_budget=BUDGET)
    error, peak = _peak(lambda: read_timeseries(nwb, "acquisition/huge"))
    assert isinstance(error, InvalidInputError) and peak < 32 << 20
    message = str(error)
    assert "acquisition/huge/data" in message and "8.0 TiB" in message and "256.0 MiB" in message
    with pytest.raises(InvalidInputError, match="memory budget"):
        lazy_timeseries(nwb, "acquisition/huge", dims=("time",)).values  # noqa: B018
    with pytest.raises(InvalidInputError, match="units/id"):
        read_ids(nwb, "units")
    with pytest.raises(InvalidInputError, match="huge_scalar"):
        nwb.scalar("general/huge_scalar")
    # a window of it is readable (HDF5's fill value: zeros)
    times, values = read_timeseries(nwb, "acquisition/huge", 10.0, 10.01)
    assert values.shape == (10,) and times[0] == pytest.approx(10.0)


def test_whole_dataset_reads_of_sessions_are_budgeted(huge: Path) -> None:
    """Session readers that take a whole dataset (eye tracking, templates, CSD positions)
    read through NwbFile.values, which checks the budget first."""
    nwb = NwbFile.open(huge, memory_budget=BUDGET)
    error, peak = _peak(lambda: nwb.values("general/huge_scalar"))
    assert isinstance(error, InvalidInputError) and peak < 32 << 20
    assert "general/huge_scalar" in str(error)


def test_the_default_budget_refuses_it_too(huge: Path) -> None:
    error, peak = _peak(lambda: read_timeseries(NwbFile.open(huge), "acquisition/huge"))
    assert isinstance(error, InvalidInputError) and peak < 32 << 20


def test_one_element_chunks_are_refused_before_hdf5(huge: Path) -> None:
    nwb = NwbFile.open(huge)
    with pytest.raises(CorruptFileError, match=f"at most {MAX_CHUNKS_PER_READ:,}") as info:
        read_timeseries(nwb, "acquisition/tiny_chunks", 0.0, 10_000.0)  # 10 million chunks
    assert "tiny_chunks/data" in str(info.value) and "\n" not in str(info.value)
    _, values = read_timeseries(nwb, "acquisition/tiny_chunks", 0.0, 1.0)  # 1,000 chunks
    assert values.shape == (1000,)


def test_chunks_larger_than_the_budget(huge: Path) -> None:
    nwb = NwbFile.open(huge, memory_budget=BUDGET)
    with pytest.raises(CorruptFileError, match=r"chunks of 1\.0 GiB"):
        read_timeseries(nwb, "acquisition/fat_chunks", 0.0, 0.01)


@pytest.fixture(scope="module")
def bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2 GiB of zeros gzip-compressed into about 2 MB, and a chunk that inflates too far."""
    path = tmp_path_factory.mktemp("hostile") / "bomb.nwb"
    with skeleton(path) as f:
        gzip_bomb(f, "bomb")
        series = regular_series(
            f, "overflow", shape=(1024,), dtype="f8", chunks=(1024,), compression="gzip"
        )
        f[f"{series}/data"].id.write_direct_chunk((0,), zlib.compress(bytes(64 << 20)))
    assert path.stat().st_size < 8 << 20
    return path


def test_a_gzip_bomb_is_refused_by_its_declared_size(bomb: Path) -> None:
    nwb = NwbFile.open(bomb, memory_budget=BUDGET)
    error, peak = _peak(lambda: read_timeseries(nwb, "acquisition/bomb"))
    assert isinstance(error, InvalidInputError), error
    assert "2.0 GiB" in str(error) and peak < 32 << 20
    _, values = read_timeseries(nwb, "acquisition/bomb", 0.0, 5.0)  # a window inflates 1 chunk
    assert values.shape == (5000,) and not values.any()


def test_a_chunk_that_could_inflate_past_the_budget(bomb: Path) -> None:
    """8 KiB declared, 64 MiB compressed inside: HDF5 would inflate it whole, unchecked."""
    nwb = NwbFile.open(bomb, memory_budget="16M")
    with pytest.raises(InvalidInputError, match="decompression bomb") as info:
        read_timeseries(nwb, "acquisition/overflow")
    assert "acquisition/overflow/data" in str(info.value)
    # with a budget that allows it, HDF5 inflates it and keeps the declared 1,024 values
    _, values = read_timeseries(NwbFile.open(bomb, memory_budget="1G"), "acquisition/overflow")
    assert values.shape == (1024,)


def test_the_budget_from_the_environment(bomb: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRAINOBS_MEMORY_BUDGET", "1M")
    with pytest.raises(InvalidInputError, match=r"memory budget of 1\.0 MiB"):
        read_timeseries(NwbFile.open(bomb), "acquisition/bomb", 0.0, 200.0)  # 1.5 MiB
    monkeypatch.setenv("BRAINOBS_MEMORY_BUDGET", "many")
    with pytest.raises(InvalidInputError, match="BRAINOBS_MEMORY_BUDGET='many'"):
        read_timeseries(NwbFile.open(bomb), "acquisition/bomb", 0.0, 1.0)


def test_the_budget_travels_with_the_handle(bomb: Path) -> None:
    nwb = pickle.loads(pickle.dumps(NwbFile.open(bomb, memory_budget="2M")))
    assert nwb.memory_budget == 2 << 20
    with pytest.raises(InvalidInputError, match=r"2\.0 MiB"):
        read_timeseries(nwb, "acquisition/bomb", 0.0, 300.0)
    with pytest.raises(InvalidInputError, match="memory_budget"):
        NwbFile.open(bomb, memory_budget="-3")


def test_a_memory_error_inside_a_read_is_a_brainobs_error(bomb: Path) -> None:
    nwb = NwbFile.open(bomb)
    with (
        pytest.raises(InvalidInputError, match="needs more memory than this machine has"),
        nwb.reading("the bomb"),
    ):
        raise MemoryError


# --- ragged indices and table shapes ---------------------------------------------------------
@pytest.mark.parametrize(
    ("index", "dtype", "words"),
    [
        ([3, 7, 12], "int64", "runs past its data"),
        ([3, 2, 10], "int64", "runs backwards"),
        ([-1, 5, 10], "int64", "runs backwards"),  # row 0 spans [0, -1)
        ([3, 7, 10], "int64", None),  # a good index (the control case)
        ([3, 7, 2**63 + 5], "uint64", "a row spans"),
        ([3.0, 7.0, 10.0], "float64", "not a 1-D integer index"),
    ],
)
def test_a_ragged_index_that_cannot_be_right(
    index: list[float], dtype: str, words: str | None, tmp_path: Path
) -> None:
    path = tmp_path / "ragged.nwb"
    with skeleton(path) as f:
        units_table(f, np.array(index), 10, dtype)
    nwb = NwbFile.open(path)
    if words is None:
        spikes = read_ragged(nwb, "units", "spike_times")
        assert [len(v) for v in spikes.values()] == [3, 4, 3]
        return
    with pytest.raises(CorruptFileError, match=words) as info:
        read_ragged(nwb, "units", "spike_times")
    assert "units/spike_times" in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(CorruptFileError):
        read_dynamic_table(nwb, "units", ["spike_times"])


def test_an_index_of_the_wrong_length_and_a_short_column(tmp_path: Path) -> None:
    path = tmp_path / "short.nwb"
    with skeleton(path) as f:
        units_table(f, np.array([2, 4, 6]), 6)
        del f["units/spike_times_index"]
        f["units/spike_times_index"] = np.array([2, 6], dtype=np.int64)
        del f["units/quality"]
        f["units/quality"] = np.array(["good"], dtype=object)
    nwb = NwbFile.open(path)
    with pytest.raises(CorruptFileError, match="has 2 entries for a table of 3 rows"):
        read_ragged(nwb, "units", "spike_times")
    with pytest.raises(CorruptFileError, match=r"'quality' of units .* has 1 values for 3 rows"):
        read_dynamic_table(nwb, "units")


def test_a_regular_clock_without_a_rate(tmp_path: Path) -> None:
    path = tmp_path / "rate.nwb"
    with skeleton(path) as f:
        series = regular_series(f, "speed", data=np.zeros(10))
        f[f"{series}/starting_time"].attrs["rate"] = 0.0
    with pytest.raises(CorruptFileError, match=r"rate 0\.0"):
        read_timeseries(NwbFile.open(path), "acquisition/speed", 0.0, 1.0)


def test_a_good_file_still_reads(tmp_path: Path) -> None:
    path = tmp_path / "good.nwb"
    with skeleton(path) as f:
        data = units_table(f, np.array([2, 2, 5], dtype=np.uint8), 5, "uint8")
    nwb = NwbFile.open(path, memory_budget="1M")
    spikes = read_ragged(nwb, "units", "spike_times")
    assert [v.tolist() for v in spikes.values()] == [data[:2].tolist(), [], data[2:5].tolist()]
    table = read_dynamic_table(nwb, "units", ["spike_times", "quality"], rows=[2, 0])
    assert table.index.tolist() == [102, 100] and table["quality"].tolist() == ["good", "good"]
