"""A folder keeps older object versions under .versions/, served by id locally and on S3."""

from __future__ import annotations

from pathlib import Path

import pytest

from brainobs.errors import SourceError
from brainobs.storage.local import VERSIONS, LocalFetcher
from tests.support.s3 import publish_release, s3_client

KEY = "visual-behavior-neuropixels/project_metadata/units.csv"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    current = tmp_path / KEY
    current.parent.mkdir(parents=True)
    current.write_bytes(b"unit_id,quality\n1,good\n")
    older = tmp_path / VERSIONS / "v-0.4.0" / KEY
    older.parent.mkdir(parents=True)
    older.write_bytes(b"unit_id\n1\n")
    return tmp_path


def test_an_older_version_is_served_by_its_id(folder: Path) -> None:
    fetcher = LocalFetcher(folder)
    assert fetcher.read_range(KEY, 0, 100) == b"unit_id,quality\n1,good\n"
    assert fetcher.read_range(KEY, 0, 100, version_id="v-0.4.0") == b"unit_id\n1\n"
    assert fetcher.size(KEY, version_id="v-0.4.0") == len(b"unit_id\n1\n")
    # an id the folder does not keep is the current object (a plain mirror keeps one version)
    assert fetcher.size(KEY, version_id="S3-assigned-id") == len(b"unit_id,quality\n1,good\n")
    assert fetcher.read_range(KEY, 0, 7, version_id="../..") == b"unit_id"
    assert fetcher.list_keys("") == [KEY]
    with pytest.raises(SourceError):
        fetcher.size("visual-behavior-neuropixels/missing.csv", version_id="v-0.4.0")


def test_published_to_s3_as_an_older_version(folder: Path, s3_endpoint: str) -> None:
    versions = publish_release(s3_endpoint, "local-versions", folder)
    client = s3_client(s3_endpoint)
    listed = client.list_object_versions(Bucket="local-versions", Prefix=KEY)["Versions"]
    assert len(listed) == 2 and [v["IsLatest"] for v in listed].count(True) == 1
    old = client.get_object(Bucket="local-versions", Key=KEY, VersionId=versions[(KEY, "v-0.4.0")])
    new = client.get_object(Bucket="local-versions", Key=KEY)
    assert old["Body"].read() == b"unit_id\n1\n"
    assert new["Body"].read() == b"unit_id,quality\n1,good\n"
    assert new["VersionId"] == versions[(KEY, None)]
