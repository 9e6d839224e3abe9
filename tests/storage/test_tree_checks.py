"""The checks of a warehouse-layout folder: HDF5 end of file, path manifest, CSV last line."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from brainobs.errors import ManifestError
from brainobs.storage.hdf5_eof import end_of_file, file_truncation_problem
from brainobs.storage.path_manifest import PathManifest
from brainobs.storage.tree_sources import content_problem


def _hdf5(path: Path, **options: object) -> Path:
    with h5py.File(path, "w", **options) as h5:
        h5["x"] = np.arange(50_000, dtype=np.float64)
    return path


@pytest.mark.parametrize(
    "options",
    [{}, {"libver": "latest"}, {"userblock_size": 1024}],
    ids=["superblock v0", "superblock v3", "user block"],
)
def test_whole_files_pass_and_cut_files_fail(tmp_path: Path, options: dict) -> None:
    path = _hdf5(tmp_path / "f.h5", **options)
    assert file_truncation_problem(path) is None
    whole = path.read_bytes()
    for cut in (len(whole) - 1, len(whole) // 2, 4096):
        path.write_bytes(whole[:cut])
        assert "truncated download" in str(file_truncation_problem(path)), cut
    path.write_bytes(whole + b"\0" * 100)  # longer than declared: HDF5 allows it
    assert file_truncation_problem(path) is None


def test_not_hdf5_and_unknown_superblocks(tmp_path: Path) -> None:
    text = tmp_path / "f.nwb"
    text.write_bytes(b"not an hdf5 file at all" * 100)
    assert "no HDF5 signature" in str(file_truncation_problem(text))
    text.write_bytes(b"")
    assert "too few" in str(file_truncation_problem(text))
    head = b"\x89HDF\r\n\x1a\n" + bytes([9]) + bytes(60)
    assert end_of_file(head) is None  # an unknown version: left to HDF5


def test_csv_must_end_with_a_complete_line(tmp_path: Path) -> None:
    csv = tmp_path / "units.csv"
    csv.write_text("id,a\n1,2\n")
    assert content_problem(csv) is None
    csv.write_text("id,a\n1,")
    assert "complete line" in str(content_problem(csv))
    part = tmp_path / "units.csv.part"
    part.write_text("id,a\n1,")
    assert content_problem(part, "units.csv") is not None and content_problem(part) is None


def test_path_manifest_resolves_inside_the_folder() -> None:
    manifest = PathManifest.build("0.3.0", (
        ("session_data", "dir", "session_%d", "BASEDIR"),
        ("session_nwb", "file", "session_%d.nwb", "session_data"),
        ("typewise", "file", "%s_analysis_metrics.csv", "BASEDIR"),
    ))  # fmt: skip
    assert manifest.path("session_nwb", 7, 7) == "session_7/session_7.nwb"
    again = PathManifest.from_json(manifest.to_json())
    assert again.path("typewise", "brain_observatory_1.1") == (
        "brain_observatory_1.1_analysis_metrics.csv"
    )
    with pytest.raises(ManifestError, match="leaves the cache folder"):
        manifest.path("typewise", "../../etc/passwd")
    with pytest.raises(ManifestError, match="no usable entry"):
        manifest.path("natural_movie", 1)
    with pytest.raises(ManifestError, match="version"):
        manifest.check_version("0.2.0", "manifest.json")
    with pytest.raises(ManifestError, match="not an AllenSDK path manifest"):
        PathManifest.from_json(b"[1, 2]")
