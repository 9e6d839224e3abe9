"""A real VBO session's tables survive brainobs's behaviour code unchanged.

The trials, rewards and stimulus presentations of behavior session 994174745 (tests/data/real,
provenance in its README) are written into an NWB file in the released layout (trials with
``change_frame`` -99 for "none" and ragged ``lick_times``; one ``*_presentations`` table per
stimulus with nullable booleans as float 0/1/NaN; rewards in ``/processing/rewards``), and read
back through :class:`brainobs.sessions.behavior.BehaviorSession`: every value comes back, and
the performance metrics equal the reference toolkit's on the same tables
(tests/analysis/test_behavior_real_session.py holds them).
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from brainobs.sessions.behavior import BehaviorSession
from tests.analysis.test_behavior_real_session import ALLENSDK_METRICS

REAL = Path(__file__).resolve().parents[1] / "data" / "real" / "vbo_session_994174745"
FRAME_RATE = 60.0


def _real(name: str) -> pd.DataFrame:
    return pd.read_parquet(REAL / f"{name}.parquet")


def _write_session(path: Path) -> Path:
    """Write the real tables into an NWB file laid out like the released ones."""
    from pynwb import NWBFile, TimeSeries

    from brainobs.sample.nwb_tables import interval_table, presentation_tables
    from brainobs.sample.nwbext import BEHAVIOR_FILE_NAMESPACES, extension_class
    from brainobs.sample.nwbio import write_nwb

    trials, rewards, presentations = _real("trials"), _real("rewards"), _real("presentations")
    start = datetime(2019, 12, 13, 9, 10, 21, tzinfo=timezone.utc)
    nwb = NWBFile(session_description="OPHYS_4_images_A", identifier="994174745",
                  session_start_time=start)  # fmt: skip
    nwb.add_lab_meta_data(extension_class("BehaviorTaskParameters")(
        name="task_parameters", response_window_sec=["0.15", "0.75"],
        blank_duration_sec=["0.5", "0.5"], session_type="OPHYS_4_images_A",
        stimulus="images", stimulus_distribution="geometric", task="change detection",
        n_stimulus_frames=69837, stimulus_duration_sec=0.25, omitted_flash_fraction=0.05,
        reward_volume=0.007, auto_reward_volume=0.005,
        stimulus_name="Natural_Images_Lum_Matched_set_training_2017",
    ))  # fmt: skip
    frames = np.arange(int(presentations["end_frame"].max()) + 2) / FRAME_RATE
    stimulus = nwb.create_processing_module("stimulus", "Stimulus Times processing")
    frame_ts = TimeSeries(name="timestamps", data=frames, unit="s", timestamps=frames)
    stimulus.add(frame_ts)
    for table in presentation_tables(presentations, frame_ts):
        nwb.add_time_intervals(table)
    bounds = ["start_time", "stop_time"]
    stored = trials[bounds].join(trials.drop(columns=bounds))
    stored["change_frame"] = stored["change_frame"].fillna(-99).astype(np.int64)
    nwb.trials = interval_table("trials", "experimental trials", stored,
                                column_description="NOT IMPLEMENTED: <col>",
                                ragged=("lick_times",))  # fmt: skip
    module = nwb.create_processing_module("rewards", "Licking behavior processing module")
    volume = TimeSeries(name="volume", data=rewards["volume"].to_numpy(),
                        timestamps=rewards["timestamps"].to_numpy(), unit="mL")  # fmt: skip
    module.add(volume)
    module.add(TimeSeries(name="autorewarded", timestamps=volume, unit="mL",
                          data=rewards["auto_rewarded"].to_numpy(dtype=bool)))  # fmt: skip
    return write_nwb(nwb, path, namespaces=BEHAVIOR_FILE_NAMESPACES)


@pytest.fixture(scope="module")
def nwb_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write_session(tmp_path_factory.mktemp("real_session") / "behavior_994174745.nwb")


def test_trials_come_back_exactly(nwb_path: Path) -> None:
    trials = BehaviorSession.from_nwb_path(nwb_path).trials
    real = _real("trials").rename(columns={"stimulus_change": "is_change"})
    assert trials.index.name == "trials_id" and trials.index.equals(real.index)
    assert list(trials.columns[:2]) == ["start_time", "stop_time"]
    assert set(trials.columns) == set(real.columns)
    real["change_frame"] = real["change_frame"].fillna(-99).astype(np.int64)
    for a, b in zip(trials["lick_times"], real["lick_times"], strict=True):
        np.testing.assert_array_equal(a, np.asarray(b, dtype=float))
    columns = [c for c in real.columns if c != "lick_times"]
    pd.testing.assert_frame_equal(trials[columns], real[columns], check_dtype=True)


def test_rewards_come_back_exactly(nwb_path: Path) -> None:
    rewards = BehaviorSession.from_nwb_path(nwb_path).rewards
    pd.testing.assert_frame_equal(rewards, _real("rewards"))


def _expected_presentations() -> pd.DataFrame:
    """Return the real presentations as the reference's property shapes them on read."""
    real = _real("presentations").drop(columns=["image_set"])
    real = real.rename(columns={"stop_time": "end_time"})
    real["movie_repeat"] = real["movie_repeat"].fillna(-99).astype(np.int64)  # int fill
    return real


def test_presentations_come_back_exactly(nwb_path: Path) -> None:
    session = BehaviorSession.from_nwb_path(
        nwb_path, add_is_change_to_stimulus_presentations_table=False
    )
    ours = session.stimulus_presentations
    expected = _expected_presentations()
    assert ours.index.name == "stimulus_presentations_id"
    assert ours.index.equals(pd.RangeIndex(len(expected)))
    assert set(ours.columns) == set(expected.columns)
    ours = ours[list(expected.columns)]
    text = ["image_name", "stimulus_name"]
    for column in text:  # text: pandas 3 str vs the parquet's; missing stays missing
        assert ours[column].isna().equals(expected[column].isna()), column
        assert (ours[column].dropna() == expected[column].dropna()).all(), column
    pd.testing.assert_frame_equal(
        ours.drop(columns=text).reset_index(drop=True),
        expected.drop(columns=text).reset_index(drop=True),
    )


def test_recomputed_change_flags_follow_the_image_sequence(nwb_path: Path) -> None:
    ours = BehaviorSession.from_nwb_path(nwb_path).stimulus_presentations
    expected = _expected_presentations()
    flashes = expected["omitted"].eq(False).fillna(False).to_numpy(dtype=bool)
    names = expected["image_name"].to_numpy(dtype=object)[flashes]
    change = np.r_[False, names[1:] != names[:-1]]
    assert ours["is_change"].to_numpy()[flashes].tolist() == change.tolist()
    assert not ours.loc[~flashes, "is_change"].any()  # gray screen and movie rows
    unchanged = [c for c in expected.columns if c not in ("is_change", "flashes_since_change")]
    pd.testing.assert_frame_equal(ours[unchanged].drop(columns=["image_name", "stimulus_name"]),
                                  expected[unchanged].drop(columns=["image_name",
                                                                    "stimulus_name"]))  # fmt: skip


def test_performance_metrics_through_the_session_equal_the_reference(nwb_path: Path) -> None:
    session = BehaviorSession.from_nwb_path(nwb_path)
    assert session.get_performance_metrics() == ALLENSDK_METRICS
    expected = _real("allensdk_2.16.2_rolling_performance")
    rolling = session.get_rolling_performance_df()
    for column in expected.columns:
        np.testing.assert_array_equal(rolling[column], expected[column], err_msg=column)
