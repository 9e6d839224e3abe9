"""VCN from DANDI (000021, 000022): NWB files from the archive, tables from the bucket's tree."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from brainobs import EcephysProjectCache
from brainobs.sample.dandiset import SampleDandiset, write_sample_dandiset
from brainobs.storage.remote import RemoteObject
from brainobs.vcn.dandi import VCN_ON_DANDI
from brainobs.vcn.sample_release import CACHE_PREFIX, VcnSampleRelease
from tests.support.dandi_server import DandiServer


@pytest.fixture(scope="module")
def dandisets(
    vcn_release: VcnSampleRelease, tmp_path_factory: pytest.TempPathFactory
) -> list[SampleDandiset]:
    return write_sample_dandiset("vcn", vcn_release, tmp_path_factory.mktemp("vcn_dandi"))


@pytest.fixture(scope="module")
def archive(dandisets: list[SampleDandiset]) -> Iterator[DandiServer]:
    with DandiServer(dandisets[0].root) as server:
        yield server


def _cache(release: VcnSampleRelease, server: DandiServer, folder: Path):
    return EcephysProjectCache.from_dandi(folder, "draft", metadata_source=str(release.root),
                                          api=server.api_url, show_progress=False)  # fmt: skip


def test_the_sample_is_laid_out_as_two_dandisets(
    dandisets: list[SampleDandiset], vcn_release: VcnSampleRelease
) -> None:
    assert [d.dandiset for d in dandisets] == ["000021", "000022"]
    placed = VCN_ON_DANDI.asset_paths(vcn_release.metadata_path)
    nwb = {k for k in vcn_release.files() if k.endswith(".nwb")}
    assert set(placed) == nwb
    sessions = pd.read_csv(vcn_release.metadata_path("sessions"), index_col="id")
    sid = int(sessions.index[sessions["session_type"] == "functional_connectivity"][0])
    dandiset, path = placed[f"{CACHE_PREFIX}/session_{sid}/session_{sid}.nwb"]
    specimen = int(sessions.loc[sid, "specimen_id"])
    assert (dandiset, path) == ("000022", f"sub-{specimen}/sub-{specimen}_ses-{sid}.nwb")


def test_sessions_download_from_dandi_checked_by_sha256(
    vcn_release: VcnSampleRelease, archive: DandiServer, tmp_path: Path
) -> None:
    cache = _cache(vcn_release, archive, tmp_path)
    probes = pd.read_csv(vcn_release.metadata_path("probes"), index_col="id")
    sid = int(probes["ecephys_session_id"].iloc[-1])
    probe = int(probes[(probes["ecephys_session_id"] == sid) & probes["has_lfp_data"]].index[0])
    session = cache.get_session_data(sid)
    assert session.num_units > 0 and session.get_lfp(probe).shape[1] > 0
    relative = f"session_{sid}/session_{sid}.nwb"
    local = cache.tree.folder / relative
    assert local.read_bytes() == vcn_release.session_nwb_path(sid).read_bytes()
    assert len(cache.tree.record()[relative]["sha256"]) == 64
    assert archive.api_requests("assets")  # the listing came from the archive
    streamed = _cache(vcn_release, archive, tmp_path / "s").get_session_data(sid, stream=True)
    assert isinstance(streamed._file.source.remote, RemoteObject)
    assert len(streamed.get_spike_times(streamed.units.index[:1])) == 1
