"""NwbFile: lazy opening, picklability, metadata access and damaged files."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path
from types import SimpleNamespace

import h5py
import numpy as np
import pytest

from brainobs.errors import CorruptFileError, DownloadError, MissingDataError, TransientError
from brainobs.nwb import NwbFile, read_ragged
from brainobs.nwb.handle import LocalSource, RemoteSource
from brainobs.storage.http import HTTPFetcher
from brainobs.storage.local import LocalFetcher
from tests.nwb.conftest import FAST, SMALL_BLOCKS
from tests.nwb.nwb_files import SessionTruth
from tests.support.range_server import RangeServer


def test_open_is_lazy_and_close_reopens(session: SessionTruth) -> None:
    handle = NwbFile.open(str(session.path))
    assert not handle.is_open
    assert handle.identifier == "1064644573"
    assert handle.is_open
    handle.close()
    assert not handle.is_open
    assert handle.has("/units")
    handle.close()
    handle.close()  # closing twice is harmless


def test_context_manager_closes(session: SessionTruth) -> None:
    with NwbFile.open(session.path) as handle:
        assert handle.nwb_version.startswith("2.")
        h5 = handle.h5
    assert not handle.is_open and not h5.id.valid


def test_metadata_access(any_session: NwbFile) -> None:
    assert any_session.identifier == "1064644573"
    assert any_session.has("/units/spike_times") and not any_session.has("/units/nothing")
    assert "units" in any_session.keys("/")
    assert any_session.keys("/absent") == []
    attrs = any_session.attrs("/units")
    assert attrs["neurodata_type"] == "Units"
    assert attrs["colnames"][:3] == ["quality", "firing_rate", "peak_channel_id"]
    assert any_session.scalar("/general/subject/subject_id") == "mouse1"


def test_missing_paths_raise_missing_data_error(session: SessionTruth) -> None:
    with NwbFile.open(session.path) as handle:
        with pytest.raises(MissingDataError, match="/processing/eye_tracking") as info:
            handle.group("/processing/eye_tracking")
        assert "running" in str(info.value)  # says what is there instead
        with pytest.raises(MissingDataError, match="group, not a dataset"):
            handle.dataset("/units")
        with pytest.raises(LookupError):
            handle.attrs("/nothing/here")


def test_variant_metadata(variants: dict) -> None:
    with NwbFile.open(variants["path"]) as handle:
        assert handle.identifier == "715093703"  # fixed-length bytes
        assert handle.nwb_version == "2.2.2"  # a bytes attribute
        attrs = handle.attrs("/general/metadata")
        assert attrs["blank_duration_sec"] == ["0.5", "0.5"]
        assert attrs["driver_line"] == ["Sst-IRES-Cre"]
        assert attrs["has_lfp"] is True
        assert attrs["session_type"] == "EPHYS_1_images_G_3uL_reward"
        region = handle.attrs("/units/peak_channel")
        assert region["table"] == "/general/extracellular_ephys/electrodes"


@pytest.mark.parametrize("how", ["local", "fetcher", "http"])
def test_handle_pickles_as_its_location(
    how: str, session: SessionTruth, nwb_root: Path, request: pytest.FixtureRequest
) -> None:
    from tests.nwb.conftest import open_session

    handle = open_session(how, session, nwb_root, request)
    before = read_ragged(handle, "/units", "spike_times", rows=[3])
    blob = pickle.dumps(handle)
    assert len(blob) < 2000  # the location, not the data
    clone = pickle.loads(blob)
    assert not clone.is_open
    assert type(clone.source) is type(handle.source)
    after = read_ragged(clone, "/units", "spike_times", rows=[3])
    np.testing.assert_array_equal(after[session.unit_ids[3]], before[session.unit_ids[3]])
    expected = LocalSource if how == "local" else RemoteSource
    assert isinstance(clone.source, expected)
    clone.close()
    handle.close()


def test_unopened_handle_pickles_without_opening(server: RangeServer) -> None:
    handle = NwbFile.from_fetcher(HTTPFetcher(server.url, settings=FAST), "session.nwb")
    clone = pickle.loads(pickle.dumps(handle))
    assert not handle.is_open and not clone.is_open
    assert clone.identifier == "1064644573"
    clone.close()


def test_remote_handle_counts_bytes(session: SessionTruth, nwb_root: Path) -> None:
    handle = NwbFile.from_fetcher(LocalFetcher(nwb_root), "session.nwb", block_cache=SMALL_BLOCKS)
    assert handle.bytes_transferred == 0
    _ = handle.identifier
    assert handle.remote is not None
    assert 0 < handle.bytes_transferred < session.path.stat().st_size / 10
    assert NwbFile.open(session.path).remote is None


# --- damaged files ---------------------------------------------------------------------------


def _truncated(session: SessionTruth, tmp_path: Path, keep: float) -> Path:
    data = session.path.read_bytes()
    path = tmp_path / "truncated.nwb"
    path.write_bytes(data[: int(len(data) * keep)])
    return path


@pytest.mark.parametrize("keep", [0.0, 0.001, 0.5, 0.99])
def test_truncated_file_is_corrupt(session: SessionTruth, tmp_path: Path, keep: float) -> None:
    path = _truncated(session, tmp_path, keep)
    handle = NwbFile.open(path)
    with pytest.raises(CorruptFileError) as info:
        _ = handle.identifier
    message = str(info.value)
    assert str(path) in message and "brainobs cache verify --repair" in message
    assert isinstance(info.value, OSError)


def test_truncated_remote_file_is_corrupt(session: SessionTruth, tmp_path: Path) -> None:
    _truncated(session, tmp_path, 0.5)
    handle = NwbFile.from_fetcher(LocalFetcher(tmp_path), "truncated.nwb")
    with pytest.raises(CorruptFileError, match=r"truncated\.nwb"):
        handle.has("/units")


def test_garbage_and_non_nwb_files_are_corrupt(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.nwb"
    garbage.write_bytes(np.random.default_rng(0).bytes(5000))
    with pytest.raises(CorruptFileError, match=r"garbage\.nwb"):
        NwbFile.open(garbage).has("/units")
    plain = tmp_path / "plain.h5"
    with h5py.File(plain, "w") as h5:
        h5["x"] = np.arange(3)
    with pytest.raises(CorruptFileError, match=r"nwb_version.*identifier"):
        NwbFile.open(plain).has("/x")
    with pytest.raises(FileNotFoundError, match=r"missing\.nwb does not exist"):
        NwbFile.open(tmp_path / "missing.nwb").has("/x")


def test_transfer_failures_are_not_reported_as_damage(nwb_root: Path) -> None:
    fetcher = FailingFetcher(nwb_root)
    handle = NwbFile.from_fetcher(fetcher, "session.nwb", block_cache=SMALL_BLOCKS)
    assert handle.has("/units")
    assert handle.remote is not None
    handle.remote.fetcher.failing = True  # type: ignore[attr-defined]
    with pytest.raises(DownloadError, match="connection dropped"):
        read_ragged(handle, "/units", "spike_times", rows=[150])
    handle.remote.fetcher.failing = False  # type: ignore[attr-defined]
    assert len(read_ragged(handle, "/units", "spike_times", rows=[150])) == 1
    handle.close()


class FailingFetcher(LocalFetcher):
    """A LocalFetcher that fails every range read while ``failing`` is set."""

    transport = SimpleNamespace(settings=FAST)

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.failing = False

    def read_range(self, key: str, start: int, stop: int, version_id: str | None = None) -> bytes:
        if self.failing:
            raise TransientError("connection dropped")
        return super().read_range(key, start, stop, version_id)


def test_damaged_compressed_chunk_is_corrupt(tmp_path: Path, variants: dict) -> None:
    path = tmp_path / "damaged.nwb"
    shutil.copy(variants["path"], path)
    with h5py.File(path, "a") as h5:
        data = h5.create_dataset(
            "packed", data=np.arange(100_000.0), chunks=(50_000,), compression="gzip"
        )
        chunk = data.id.get_chunk_info(1)
    with path.open("r+b") as handle:
        handle.seek(chunk.byte_offset + chunk.size // 2)
        handle.write(b"\x00" * 64)
    with NwbFile.open(path) as nwb:
        np.testing.assert_array_equal(nwb.dataset("/packed")[:10], np.arange(10.0))
        with pytest.raises(CorruptFileError, match="reading /packed"), nwb.reading("/packed"):
            nwb.dataset("/packed")[60_000:60_010]
