"""Opening ``s3://`` addresses against a real S3 protocol server (moto) on loopback."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from brainobs.nwb import NwbFile, read_dynamic_table, read_ragged
from brainobs.nwb.handle import RemoteSource
from tests.nwb.nwb_files import SessionTruth
from tests.support.s3 import publish_release

BUCKET = "brainobs-nwb-reader-tests"


@pytest.fixture(scope="module")
def s3_session(s3_endpoint: str, nwb_root: Path, session: SessionTruth) -> str:
    """The session file in a public bucket; returns the S3 endpoint."""
    publish_release(s3_endpoint, BUCKET, nwb_root)
    return s3_endpoint


def test_s3_url_reads_like_the_local_file(s3_session: str, session: SessionTruth) -> None:
    handle = NwbFile.open(f"s3://{BUCKET}/session.nwb", endpoint=s3_session)
    assert isinstance(handle.source, RemoteSource)
    assert handle.identifier == "1064644573"
    spikes = read_ragged(handle, "/units", "spike_times", rows=[42])
    np.testing.assert_array_equal(spikes[session.unit_ids[42]], session.spike_times[42])
    fraction = handle.bytes_transferred / session.path.stat().st_size
    print(f"bytes-read fraction, S3 default blocks, open + 1 unit / whole file: {fraction:.3f}")
    assert fraction < 0.5  # 2 MiB blocks on a 23 MB file; real files are 100 times larger
    clone = pickle.loads(pickle.dumps(handle))
    units = read_dynamic_table(clone, "/units", columns=["quality"], rows=[0, 1])
    assert units["quality"].tolist() == session.quality[:2]
    clone.close()
    handle.close()
