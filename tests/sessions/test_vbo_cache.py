"""VisualBehaviorOphysProjectCache on the VBO sample: local and on (moto) S3, streamed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import brainobs
from brainobs.errors import UnknownIdError
from brainobs.sample import SampleRelease
from brainobs.sessions.behavior import BehaviorSession
from brainobs.storage.remote import BlockCacheOptions
from brainobs.vbo.cache import VisualBehaviorOphysProjectCache as Cache
from brainobs.vbo.experiment import BehaviorOphysExperiment
from tests.support.s3 import publish_release

BUCKET = "vbo-sessions"
SMALL_BLOCKS = BlockCacheOptions(block_size=8 << 10, cache_size=32 << 20, max_readahead=64 << 10)


@pytest.fixture(scope="module")
def cache(vbo_release: SampleRelease, tmp_path_factory: pytest.TempPathFactory) -> Cache:
    """A cache that downloads from the sample release folder."""
    return Cache.from_source(str(vbo_release.root), tmp_path_factory.mktemp("vbo_local"))


@pytest.fixture(scope="module")
def s3_cache(
    vbo_release: SampleRelease, s3_endpoint: str, tmp_path_factory: pytest.TempPathFactory
) -> Cache:
    """A cache over the sample published on moto S3 (sessions are streamed from it)."""
    publish_release(s3_endpoint, BUCKET, vbo_release.root)
    return Cache.from_s3_cache(tmp_path_factory.mktemp("vbo_s3"), bucket_name_override=BUCKET,
                               endpoint=s3_endpoint, show_progress=False)  # fmt: skip


def test_top_level_import_and_declaration() -> None:
    assert brainobs.VisualBehaviorOphysProjectCache is Cache
    assert brainobs.BehaviorOphysExperiment is BehaviorOphysExperiment
    assert Cache.RELEASE is brainobs.RELEASES["vbo"]
    assert issubclass(BehaviorOphysExperiment, BehaviorSession)


def test_tables_and_manifest(cache: Cache) -> None:
    assert cache.current_manifest() == "visual-behavior-ophys_project_manifest_v1.1.0.json"
    assert cache.list_manifest_file_names() == [cache.current_manifest()]
    assert cache.latest_manifest_file() == cache.current_manifest()
    assert "equivalent" in cache.compare_manifests(cache.current_manifest(),
                                                   cache.current_manifest())  # fmt: skip
    experiments = cache.get_ophys_experiment_table()
    sessions = cache.get_ophys_session_table()
    cells = cache.get_ophys_cells_table()
    assert experiments.index.name == "ophys_experiment_id" and sessions.index.dtype == "Int64"
    assert set(cells["ophys_experiment_id"]) == set(experiments.index)
    assert cache.session_table().equals(experiments)


def test_experiment_opens_lazily_and_matches_its_row(cache: Cache) -> None:
    experiments = cache.get_ophys_experiment_table()
    row = experiments.iloc[0]
    experiment = cache.get_behavior_ophys_experiment(int(row.name))
    assert isinstance(experiment, BehaviorOphysExperiment)
    assert not {"cell_specimen_table", "dff_traces", "_cells"} & set(vars(experiment))
    metadata = experiment.metadata
    for key in ("ophys_session_id", "ophys_container_id", "imaging_depth", "session_type",
                "targeted_imaging_depth", "behavior_session_id", "cre_line"):  # fmt: skip
        assert metadata[key] == row[key], key
    assert metadata["ophys_experiment_id"] == row.name
    cells = cache.get_ophys_cells_table()
    mine = cells[cells["ophys_experiment_id"] == row.name]
    assert sorted(experiment.cell_specimen_table["cell_roi_id"]) == sorted(mine.index)
    assert set(experiment.cell_specimen_table.index) == set(mine["cell_specimen_id"])
    experiment.close()


def test_behavior_session_of_an_imaging_session_is_read_from_its_first_plane(
    cache: Cache,
) -> None:
    behavior = cache.get_behavior_session_table()
    imaging = behavior[behavior["ophys_session_id"].notna()].iloc[-1]
    assert imaging["file_id"] == -999
    session = cache.get_behavior_session(int(imaging.name))
    assert type(session) is BehaviorSession
    first = cache.get_behavior_ophys_experiment(int(imaging["ophys_experiment_id"][0]))
    assert session.nwb_file.name == first.nwb_file.name
    assert session.behavior_session_id == imaging.name
    pd.testing.assert_frame_equal(session.trials.drop(columns=["lick_times"]),
                                  first.trials.drop(columns=["lick_times"]))  # fmt: skip
    own = behavior[behavior["file_id"] >= 0].iloc[0]
    alone = cache.get_behavior_session(int(own.name))
    assert alone.behavior_session_id == own.name and alone.eye_tracking.empty
    assert len(alone.trials) == own["trial_count"]


def test_get_session_dispatches_by_id(cache: Cache) -> None:
    experiments = cache.get_ophys_experiment_table()
    behavior = cache.get_behavior_session_table()
    assert isinstance(cache.get_session(int(experiments.index[0])), BehaviorOphysExperiment)
    own = int(behavior.index[behavior["file_id"] >= 0][0])
    assert type(cache.get_session(own)) is BehaviorSession
    session = int(cache.get_ophys_session_table().index[0])
    with pytest.raises(UnknownIdError, match="imaging session"):
        cache.get_session(session)
    with pytest.raises(UnknownIdError, match="brainobs sessions vbo"):
        cache.get_session(12345)
    with pytest.raises(UnknownIdError, match="container"):
        cache.get_container_cell_responses(12345)


def test_streamed_experiment_equals_the_downloaded_one(cache: Cache, s3_cache: Cache) -> None:
    experiments = cache.get_ophys_experiment_table()
    oeid = int(experiments.index[experiments["equipment_name"] != "MESO.1"][0])
    local = cache.get_behavior_ophys_experiment(oeid)
    streamed = s3_cache.get_behavior_ophys_experiment(oeid, stream=True, block_cache=SMALL_BLOCKS)
    remote = streamed.nwb_file.remote
    assert remote is not None
    size = remote.size
    cell = int(local.cell_specimen_table.index[5])
    timestamps, dff = streamed.get_dff_traces([cell])
    np.testing.assert_array_equal(dff[0], local.dff_traces.loc[cell, "dff"])
    np.testing.assert_array_equal(timestamps, local.ophys_timestamps)
    assert streamed.nwb_file.bytes_transferred < 0.2 * size  # one cell, not the file
    pd.testing.assert_frame_equal(streamed.cell_specimen_table.drop(columns=["roi_mask"]),
                                  local.cell_specimen_table.drop(columns=["roi_mask"]))  # fmt: skip
    np.testing.assert_array_equal(streamed.max_projection.data, local.max_projection.data)
    behavior = s3_cache.get_behavior_session(int(local.behavior_session_id), stream=True)
    assert len(behavior.trials) == len(local.trials)
    assert not s3_cache.fetch_api.is_cached(s3_cache.fetch_api.manifest.data_file(
        int(experiments.loc[oeid, "file_id"])))  # fmt: skip
