"""BehaviorSession on the sample release: reference shapes, local = streamed, laziness, errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from brainobs.analysis.performance import performance_metrics
from brainobs.errors import CorruptFileError, UnknownIdError
from brainobs.sample import SampleRelease
from brainobs.sessions.behavior import BehaviorSession
from brainobs.vbn.cache import VisualBehaviorNeuropixelsProjectCache as Cache
from tests.sessions.conftest import BUCKET, SMALL_BLOCKS

TRIAL_COLUMNS = [
    "start_time", "stop_time", "initial_image_name", "change_image_name", "is_change",
    "change_time", "go", "catch", "lick_times", "response_time", "response_latency",
    "reward_time", "reward_volume", "hit", "false_alarm", "miss", "correct_reject", "aborted",
    "auto_rewarded", "change_frame", "trial_length",
]  # fmt: skip
METADATA_KEYS = [
    "equipment_name", "sex", "age_in_days", "stimulus_frame_rate", "session_type",
    "date_of_acquisition", "reporter_line", "cre_line", "behavior_session_uuid", "driver_line",
    "mouse_id", "project_code", "full_genotype", "behavior_session_id",
]  # fmt: skip
FRAMES = (
    "trials",
    "stimulus_presentations",
    "licks",
    "rewards",
    "running_speed",
    "raw_running_speed",
    "eye_tracking",
)


@pytest.fixture(scope="module")
def session(local_cache: Cache, behavior_only_row: pd.Series) -> BehaviorSession:
    return local_cache.get_behavior_session(int(behavior_only_row.name))


def test_tables_have_the_reference_names_index_and_dtypes(session: BehaviorSession) -> None:
    trials = session.trials
    assert trials.index.name == "trials_id" and trials.index.dtype == np.int64
    assert list(trials.columns) == TRIAL_COLUMNS
    assert trials["change_frame"].dtype == np.int64 and (trials["change_frame"] >= -99).all()
    assert all(isinstance(x, np.ndarray) for x in trials["lick_times"])
    assert trials["hit"].dtype == bool
    presentations = session.stimulus_presentations
    assert presentations.index.name == "stimulus_presentations_id"
    assert presentations.index.equals(pd.RangeIndex(len(presentations)))
    assert list(presentations.columns[:3]) == ["stimulus_block", "image_index", "image_name"]
    assert "end_time" in presentations and "stop_time" not in presentations
    assert presentations["start_time"].is_monotonic_increasing
    assert list(session.licks.columns) == ["timestamps", "frame"]
    assert list(session.rewards.columns) == ["volume", "timestamps", "auto_rewarded"]
    assert list(session.running_speed.columns) == ["timestamps", "speed"]
    assert list(session.metadata) == METADATA_KEYS
    assert str(session.metadata["date_of_acquisition"].tz) == "UTC"
    assert session.task_parameters["response_window_sec"] == [0.15, 0.75]
    assert session.behavior_session_id == session.metadata["behavior_session_id"]


def test_behavior_only_session_has_no_eye_tracking(session: BehaviorSession) -> None:
    eye = session.eye_tracking
    assert eye.empty and eye.index.name == "frame" and eye["likely_blink"].dtype == bool
    assert session.eye_tracking_rig_geometry == {}


def test_stimulus_templates_and_timestamps(session: BehaviorSession) -> None:
    templates = session.stimulus_templates
    assert templates.index.name == "image_name" and list(templates.columns) == [
        "unwarped",
        "warped",
    ]
    shown = set(session.stimulus_presentations["image_name"].dropna()) - {"omitted"}
    assert shown <= set(templates.index)
    frames = session.stimulus_timestamps
    assert np.all(np.diff(frames) > 0) and len(frames) == len(session.running_speed)


def test_performance_methods_use_the_analysis_functions(session: BehaviorSession) -> None:
    metrics = session.get_performance_metrics()
    assert metrics == performance_metrics(session.trials, session.rewards)
    rolling = session.get_rolling_performance_df()
    assert rolling.index.equals(session.trials.index)
    np.testing.assert_array_equal(session.get_reward_rate(), rolling["reward_rate"].to_numpy())
    assert metrics["trial_count"] == len(session.trials)


def test_hit_rate_exceeds_false_alarm_rate_and_follows_the_truth(
    local_cache: Cache, vbn_release: SampleRelease
) -> None:
    truth = vbn_release.behavior_truth().set_index("behavior_session_id")
    table = local_cache.get_behavior_session_table()
    images = table[table["session_type"].str.contains("images")].index[-6:]
    dprimes = []
    for behavior_session_id in images:
        metrics = local_cache.get_behavior_session(
            int(behavior_session_id)
        ).get_performance_metrics()
        assert metrics["mean_hit_rate"] > metrics["mean_false_alarm_rate"]
        dprimes.append((metrics["mean_dprime"], truth.loc[behavior_session_id, "dprime"]))
    measured, expected = np.array(dprimes).T
    assert np.corrcoef(measured, expected)[0, 1] > 0


def test_recording_day_behavior_comes_from_the_ecephys_file(
    local_cache: Cache, ecephys_row: pd.Series
) -> None:
    behavior_session_id = int(ecephys_row["behavior_session_id"])
    row = local_cache.get_behavior_session_table().loc[behavior_session_id]
    assert row["file_id"] < 0
    session = local_cache.get_behavior_session(behavior_session_id)
    assert session.behavior_session_id == behavior_session_id
    assert "change_time_no_display_delay" in session.trials
    assert session.get_performance_metrics()["trial_count"] == len(session.trials)
    assert not session.eye_tracking.empty


def test_local_and_streamed_sessions_are_identical(
    local_cache: Cache, s3_cache: Cache, behavior_only_row: pd.Series
) -> None:
    behavior_session_id = int(behavior_only_row.name)
    local = local_cache.get_behavior_session(behavior_session_id)
    streamed = s3_cache.get_behavior_session(behavior_session_id, stream=True)
    assert streamed.nwb_file.remote is not None
    for name in FRAMES:
        pd.testing.assert_frame_equal(getattr(streamed, name), getattr(local, name), obj=name)
    assert streamed.metadata == local.metadata
    assert streamed.get_performance_metrics() == local.get_performance_metrics()
    assert not any(s3_cache.fetch_api.cache_dir.rglob("*.nwb"))  # nothing was downloaded


def test_construction_reads_metadata_only(s3_cache: Cache, behavior_only_row: pd.Series) -> None:
    entry = s3_cache.fetch_api.manifest.data_file(int(behavior_only_row["file_id"]))
    session = s3_cache.get_behavior_session(
        int(behavior_only_row.name), stream=True, block_cache=SMALL_BLOCKS
    )
    opened = session.nwb_file.bytes_transferred
    assert entry.size is not None and opened < 0.1 * entry.size
    _ = session.licks
    assert session.nwb_file.bytes_transferred < 0.5 * entry.size
    _ = session.running_speed, session.stimulus_presentations
    assert session.nwb_file.bytes_transferred > opened


def test_s3_url_opens_with_from_nwb_path(
    s3_bucket: str, vbn_release: SampleRelease, behavior_only_row: pd.Series
) -> None:
    key = vbn_release.manifest.data_file(int(behavior_only_row["file_id"])).key
    session = BehaviorSession.from_nwb_path(f"s3://{BUCKET}/{key}", endpoint=s3_bucket)
    local = BehaviorSession.from_nwb_path(vbn_release.path_of(key))
    pd.testing.assert_frame_equal(session.trials, local.trials)


def test_eye_tracking_blink_options(local_cache: Cache, ecephys_row: pd.Series) -> None:
    behavior_session_id = int(ecephys_row["behavior_session_id"])
    default = local_cache.get_behavior_session(behavior_session_id).eye_tracking
    blink = default["likely_blink"].to_numpy()
    assert default.index.name == "frame" and 0 < blink.sum() < len(blink)
    assert default.loc[blink, ["eye_area", "pupil_area", "pupil_width"]].isna().all().all()
    assert default.loc[blink, "pupil_area_raw"].notna().any()
    assert default["likely_blink"][default["eye_area_raw"].isna()].all()
    strict = local_cache.get_behavior_session(
        behavior_session_id, eye_tracking_z_threshold=1.0, eye_tracking_dilation_frames=0
    ).eye_tracking["likely_blink"]
    undilated = local_cache.get_behavior_session(
        behavior_session_id, eye_tracking_dilation_frames=0
    ).eye_tracking["likely_blink"]
    assert strict.sum() > undilated.sum() and undilated.sum() < blink.sum()
    assert not (undilated & ~default["likely_blink"]).any()


def test_unknown_behavior_session_id(local_cache: Cache) -> None:
    with pytest.raises(UnknownIdError, match="get_behavior_session_table") as caught:
        local_cache.get_behavior_session(12345)
    assert "brainobs sessions vbn" in str(caught.value)


def test_truncated_file_is_reported_with_the_repair_command(
    vbn_release: SampleRelease, behavior_only_row: pd.Series, tmp_path: Path
) -> None:
    source = vbn_release.data_path(int(behavior_only_row["file_id"]))
    truncated = tmp_path / source.name
    truncated.write_bytes(source.read_bytes()[: source.stat().st_size // 2])
    with pytest.raises(CorruptFileError, match="brainobs cache verify --repair") as caught:
        BehaviorSession.from_nwb_path(truncated)
    assert source.name in str(caught.value)


def test_truncated_file_in_a_static_cache(
    vbn_release: SampleRelease, behavior_only_row: pd.Series, tmp_path: Path
) -> None:
    mirror = tmp_path / "mirror"
    shutil.copytree(vbn_release.project_dir, mirror / vbn_release.project_dir.name)
    entry = vbn_release.manifest.data_file(int(behavior_only_row["file_id"]))
    damaged = mirror / entry.key
    damaged.write_bytes(damaged.read_bytes()[:4096])
    cache = Cache.from_local_cache(mirror, use_static_cache=True)
    with pytest.raises(CorruptFileError, match="verify --repair"):
        cache.get_behavior_session(int(behavior_only_row.name))
