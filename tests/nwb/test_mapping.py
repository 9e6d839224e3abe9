"""Memory-mapped reads of large contiguous datasets: the same values as a read, private to the
process, and refused (read instead) whenever the stored bytes are not the values as they are."""

from __future__ import annotations

import mmap
import os
from pathlib import Path

import h5py
import numpy as np
import pytest

from brainobs.errors import InvalidInputError
from brainobs.nwb import NwbFile, mapping, read_ragged
from tests.security.hostile_nwb import skeleton

ROWS = 300_000  # 2.4 MB of float64: above MAP_AT_LEAST


def _write(path: Path, **dataset: object) -> np.ndarray:
    """Write dataset ``values`` (float64 unless ``dtype`` says) and return what it holds."""
    data = np.asarray(dataset.pop("data", np.arange(ROWS) * 0.25))
    userblock = int(dataset.pop("userblock", 0))  # type: ignore[call-overload]
    with h5py.File(path, "w", userblock_size=userblock) as f:
        f.create_dataset("values", data=data, **dataset)  # type: ignore[arg-type]
    return data


def _is_a_map(values: np.ndarray) -> bool:
    """Return whether ``values`` lies in a memory map (not in memory of its own)."""
    base: object = values
    while isinstance(base, np.ndarray):
        base = base.base
    return isinstance(base, memoryview) and isinstance(base.obj, mmap.mmap)


def _mapped(path: Path, selection: slice = slice(None)) -> np.ndarray | None:
    with h5py.File(path, "r") as f:
        return mapping.mapped_values(f["values"], selection)


@pytest.mark.parametrize("userblock", [0, 512])
def test_a_mapped_selection_holds_what_a_read_gives(tmp_path: Path, userblock: int) -> None:
    path = tmp_path / "values.h5"
    data = _write(path, userblock=userblock)
    got = _mapped(path, slice(1_000, ROWS - 7))
    assert got is not None
    np.testing.assert_array_equal(got, data[1_000 : ROWS - 7])
    assert _is_a_map(got)


def test_mapped_values_are_private_copies_on_write(tmp_path: Path) -> None:
    path = tmp_path / "values.h5"
    data = _write(path)
    got = _mapped(path)
    assert got is not None and got.flags.writeable
    got[:10] = -1.0
    with h5py.File(path, "r") as f:
        np.testing.assert_array_equal(f["values"][:10], data[:10])
    assert _mapped(path)[:10].tolist() == data[:10].tolist()  # type: ignore[index]


def test_a_mapped_array_outlives_its_file(tmp_path: Path) -> None:
    path = tmp_path / "values.h5"
    data = _write(path)
    got = _mapped(path)
    path.unlink()  # what `brainobs cache clear` does while a session's arrays are alive
    _write(path, data=np.zeros(ROWS))  # and a new download of the same key
    np.testing.assert_array_equal(got, data)  # type: ignore[arg-type]


def test_the_open_file_is_mapped_not_whatever_its_path_now_names(tmp_path: Path) -> None:
    path = tmp_path / "values.h5"
    data = _write(path)
    with h5py.File(path, "r") as f:
        path.unlink()
        _write(path, data=np.arange(ROWS) * -1.0)  # same layout, other values
        got = mapping.mapped_values(f["values"], slice(None))
    np.testing.assert_array_equal(got, data)  # type: ignore[arg-type]


def test_a_file_read_through_python_is_not_mapped(tmp_path: Path) -> None:
    path = tmp_path / "values.h5"
    _write(path)
    with path.open("rb") as handle, h5py.File(handle, "r") as f:
        assert mapping.mapped_values(f["values"], slice(None)) is None  # how remote files open


@pytest.mark.parametrize(
    "storage",
    [
        {"chunks": (4096,)},
        {"chunks": (4096,), "compression": "gzip"},
        {"data": (np.arange(ROWS) * 0.25).astype(">f8")},
        {"data": np.array(["x" * 10] * ROWS, dtype="S10")},
        {"data": np.arange(1_000) * 0.25},  # too small to be worth a map
    ],
    ids=["chunked", "compressed", "big-endian", "text", "small"],
)
def test_storage_that_is_not_the_values_is_read(tmp_path: Path, storage: dict[str, object]) -> None:
    path = tmp_path / "values.h5"
    _write(path, **storage)
    assert _mapped(path) is None


def test_a_file_shortened_after_it_was_opened_is_not_mapped(tmp_path: Path) -> None:
    path = tmp_path / "values.h5"
    _write(path)
    with h5py.File(path, "r") as f:
        with path.open("r+b") as handle:
            handle.truncate(path.stat().st_size - 4096)
        # A map would reach past the end of the file: a crash (SIGBUS) on first touch.
        assert mapping.mapped_values(f["values"], slice(None)) is None


def _units_with_spike_times_last(path: Path, ends: list[int]) -> np.ndarray:
    """Write a units table whose spike times are the last bytes of the file; return them."""
    with skeleton(path) as f:
        group = f.create_group("units")
        group.attrs["colnames"] = np.array(["spike_times"], dtype=object)
        group["id"] = np.arange(len(ends), dtype=np.int64) + 100
        group["spike_times_index"] = np.array(ends, dtype=np.int64)
        data = np.arange(ends[-1]) * 0.25
        group["spike_times"] = data
    return data


def test_ragged_values_of_a_local_file_are_mapped(tmp_path: Path) -> None:
    path = tmp_path / "units.nwb"
    data = _units_with_spike_times_last(path, [100, ROWS // 2, ROWS])
    with NwbFile.open(path) as nwb:
        got = read_ragged(nwb, "units", "spike_times")
    assert all(_is_a_map(values) for values in got.values())
    np.testing.assert_array_equal(np.concatenate(list(got.values())), data)
    np.testing.assert_array_equal(got[101], data[100 : ROWS // 2])


@pytest.mark.parametrize("setting", ["0", "off", "FALSE"])
def test_mapping_can_be_turned_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setting: str
) -> None:
    path = tmp_path / "values.h5"
    _write(path)
    monkeypatch.setenv("BRAINOBS_MAP_FILES", setting)
    assert _mapped(path) is None


def test_a_bad_mapping_setting_says_what_to_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "values.h5"
    _write(path)
    monkeypatch.setenv("BRAINOBS_MAP_FILES", "sometimes")
    with pytest.raises(InvalidInputError, match=r"BRAINOBS_MAP_FILES='sometimes'.*set it to 1"):
        _mapped(path)


def test_files_are_not_mapped_where_a_map_would_keep_them_from_being_deleted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "values.h5"
    _write(path)
    monkeypatch.setattr(os, "name", "nt")
    assert _mapped(path) is None
