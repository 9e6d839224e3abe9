"""One conformance suite that every fetcher (local, HTTP, S3) passes."""

from __future__ import annotations

import pytest

from brainobs.errors import SourceError
from brainobs.storage.fetchers import Fetcher
from brainobs.storage.http import HTTPFetcher
from tests.support.release import TinyRelease


def _key(release: TinyRelease) -> tuple[str, bytes, str | None]:
    entry = release.manifests["0.1.0"].data_files["1"]
    return entry.key, (release.root / entry.key).read_bytes(), None


def _version(fetcher: Fetcher, release: TinyRelease) -> str | None:
    """The version id the source knows the object by (S3 assigns its own)."""
    from brainobs.storage.s3 import S3Fetcher

    if isinstance(fetcher, S3Fetcher):
        raw = fetcher.read_range(
            "visual-behavior-neuropixels/manifests/"
            "visual-behavior-neuropixels_project_manifest_v0.1.0.json",
            0,
            1 << 30,
        )
        from brainobs.storage.manifest import Manifest

        return Manifest.from_json(raw).data_files["1"].version_id
    return None


def test_is_a_fetcher(fetcher: Fetcher) -> None:
    assert isinstance(fetcher, Fetcher)
    assert fetcher.describe()


def test_size(fetcher: Fetcher, tiny_release: TinyRelease) -> None:
    key, data, _ = _key(tiny_release)
    assert fetcher.size(key, _version(fetcher, tiny_release)) == len(data)


def test_full_stream(fetcher: Fetcher, tiny_release: TinyRelease) -> None:
    key, data, _ = _key(tiny_release)
    stream = fetcher.open(key, _version(fetcher, tiny_release))
    try:
        assert stream.offset == 0
        assert stream.total_size == len(data)
        assert b"".join(stream.chunks(65536)) == data
    finally:
        stream.close()


def test_stream_from_offset(fetcher: Fetcher, tiny_release: TinyRelease) -> None:
    key, data, _ = _key(tiny_release)
    stream = fetcher.open(key, _version(fetcher, tiny_release), start=1_000_001)
    try:
        assert stream.offset == 1_000_001
        assert b"".join(stream.chunks(65536)) == data[1_000_001:]
    finally:
        stream.close()


@pytest.mark.parametrize(("start", "stop"), [(0, 1), (10, 20), (5, 5), (3_000_000, 4_000_000)])
def test_read_range(fetcher: Fetcher, tiny_release: TinyRelease, start: int, stop: int) -> None:
    key, data, _ = _key(tiny_release)
    assert fetcher.read_range(key, start, stop, _version(fetcher, tiny_release)) == data[start:stop]


def test_missing_key_is_a_clear_error(fetcher: Fetcher) -> None:
    with pytest.raises(SourceError, match="no_such_file"):
        fetcher.open("visual-behavior-neuropixels/no_such_file.nwb")
    with pytest.raises(SourceError):
        fetcher.size("visual-behavior-neuropixels/no_such_file.nwb")


def test_list_keys(fetcher: Fetcher, tiny_release: TinyRelease) -> None:
    prefix = "visual-behavior-neuropixels/manifests/"
    if type(fetcher) is HTTPFetcher:
        with pytest.raises(SourceError, match="--manifest"):
            fetcher.list_keys(prefix)
        return
    assert fetcher.list_keys(prefix) == [
        prefix + "visual-behavior-neuropixels_project_manifest_v0.1.0.json",
        prefix + "visual-behavior-neuropixels_project_manifest_v0.2.0.json",
    ]
    everything = fetcher.list_keys("visual-behavior-neuropixels/")
    assert len(everything) == len([p for p in tiny_release.root.rglob("*") if p.is_file()])
    assert fetcher.list_keys("visual-behavior-neuropixels/nothing_here/") == []
