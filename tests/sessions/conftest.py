"""Project caches over the sample release, local and on a moto S3 bucket (sessions tests)."""

from __future__ import annotations

import pandas as pd
import pytest

from brainobs.sample import SampleRelease
from brainobs.storage.remote import BlockCacheOptions
from brainobs.vbn.cache import VisualBehaviorNeuropixelsProjectCache as Cache
from tests.support.s3 import publish_release

#: moto keeps buckets process-wide: this one is the sessions tests' own.
BUCKET = "vbn-sessions"
#: Small blocks so that byte counts on the small sample files mean something.
SMALL_BLOCKS = BlockCacheOptions(block_size=8 << 10, cache_size=32 << 20, max_readahead=256 << 10)


@pytest.fixture(scope="session")
def local_cache(vbn_release: SampleRelease, tmp_path_factory: pytest.TempPathFactory) -> Cache:
    """A cache that downloads from the sample release folder."""
    return Cache.from_source(str(vbn_release.root), tmp_path_factory.mktemp("sessions_local"))


@pytest.fixture(scope="session")
def s3_bucket(vbn_release: SampleRelease, s3_endpoint: str) -> str:
    """The moto endpoint, with the sample release published in bucket ``vbn-sessions``."""
    publish_release(s3_endpoint, BUCKET, vbn_release.root)
    return s3_endpoint


@pytest.fixture(scope="session")
def s3_cache(s3_bucket: str, tmp_path_factory: pytest.TempPathFactory) -> Cache:
    """A cache over the sample release on (moto) S3; sessions are streamed from it."""
    return Cache.from_s3_cache(
        tmp_path_factory.mktemp("sessions_s3"),
        bucket_name_override=BUCKET,
        endpoint=s3_bucket,
        show_progress=False,
    )


@pytest.fixture(scope="session")
def ecephys_row(local_cache: Cache) -> pd.Series:
    """The ecephys session of a Sst mouse with LFP (it has tagged units and an LFP probe)."""
    sessions = local_cache.get_ecephys_session_table(filter_abnormalities=False)
    probes = local_cache.get_probe_table()
    with_lfp = set(probes.loc[probes["has_lfp_data"], "ecephys_session_id"])
    sst = sessions[sessions["genotype"].str.startswith("Sst") & sessions.index.isin(with_lfp)]
    return sst.iloc[0]


@pytest.fixture(scope="session")
def behavior_only_row(local_cache: Cache) -> pd.Series:
    """The last behavior-only session (an image-change session with its own NWB file)."""
    sessions = local_cache.get_behavior_session_table()
    return sessions[sessions["file_id"] >= 0].iloc[-1]
