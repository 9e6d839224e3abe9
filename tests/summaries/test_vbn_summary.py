"""VBN's summary tables against hand computations, the session API and the simulation's truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import brainobs
from brainobs.analysis.optotagging import optotagging_responses
from brainobs.sample import SampleRelease
from brainobs.summaries import SummaryRun, load_summaries
from brainobs.vbn.cache import VisualBehaviorNeuropixelsProjectCache as Cache
from brainobs.vbn.summary import SUMMARIES
from brainobs.vbn.summary_units import BASELINE_WINDOW, OMISSION_WINDOW, RESPONSE_WINDOW


def test_the_release_declares_its_summaries() -> None:
    assert load_summaries("vbn") is SUMMARIES
    assert SUMMARIES.table_names == ["units", "sessions"]


def test_one_row_per_unit_and_per_session(
    many_cache: Cache, serial_run: SummaryRun, serial_tables: dict[str, pd.DataFrame]
) -> None:
    sessions = many_cache.get_ecephys_session_table()
    units, table = serial_tables["units"], serial_tables["sessions"]
    assert serial_run.ok and sorted(serial_run.computed) == sorted(sessions.index)
    assert sorted(table["ecephys_session_id"]) == sorted(sessions.index)
    assert (
        units.groupby("ecephys_session_id").size().to_dict()
        == table.set_index("ecephys_session_id")["unit_count"].to_dict()
    )
    for name in SUMMARIES.table_names:
        assert list(serial_tables[name].columns) == SUMMARIES.table(name).column_names
    manifest = many_cache.fetch_api.manifest
    hashes = {
        sid: manifest.data_file(sessions.loc[sid, "file_id"]).file_hash for sid in sessions.index
    }
    assert table.set_index("ecephys_session_id")["file_hash"].to_dict() == hashes


@pytest.fixture(scope="module")
def first(many_cache: Cache) -> tuple[int, object]:
    sid = int(many_cache.get_ecephys_session_table().index[0])
    return sid, many_cache.get_ecephys_session(sid)


def _rate(spikes: np.ndarray, onsets: np.ndarray, window: tuple[float, float]) -> float:
    lo, hi = onsets + window[0], onsets + window[1]
    counts = np.searchsorted(spikes, hi, "left") - np.searchsorted(spikes, lo, "left")
    return float(counts.mean() / (window[1] - window[0]))


def test_unit_columns_match_hand_computations(
    first: tuple[int, object], serial_tables: dict[str, pd.DataFrame]
) -> None:
    sid, session = first
    units = serial_tables["units"].set_index("unit_id")
    units = units[units["ecephys_session_id"] == sid]
    p = session.stimulus_presentations  # type: ignore[attr-defined]
    spikes = session.get_spike_times()  # type: ignore[attr-defined]
    active, change, omitted = (
        p[c].astype("boolean").fillna(False).astype(bool)
        for c in ("active", "is_change", "omitted")
    )
    changes = p.loc[active & change, "start_time"].to_numpy()
    omissions = p.loc[active & omitted, "start_time"].to_numpy()
    span = p.loc[active, "start_time"].min(), p.loc[active, "end_time"].max()
    for unit in list(spikes)[:12]:
        t = spikes[unit]
        row = units.loc[unit]
        in_active = np.searchsorted(t, span[1]) - np.searchsorted(t, span[0])
        assert row["rate_active"] == pytest.approx(in_active / (span[1] - span[0]))
        change = _rate(t, changes, RESPONSE_WINDOW) - _rate(t, changes, BASELINE_WINDOW)
        assert row["change_response"] == pytest.approx(change)
        omission = _rate(t, omissions, OMISSION_WINDOW) - _rate(t, omissions, BASELINE_WINDOW)
        assert row["omission_response"] == pytest.approx(omission)


def test_area_quality_and_tagging_come_from_the_session(
    first: tuple[int, object], serial_tables: dict[str, pd.DataFrame]
) -> None:
    sid, session = first
    rows = serial_tables["units"].set_index("unit_id")
    rows = rows[rows["ecephys_session_id"] == sid]
    units = session.get_units()  # type: ignore[attr-defined]
    channels = session.get_channels(filter_by_validity=False)  # type: ignore[attr-defined]
    areas = channels.loc[units["peak_channel_id"], "structure_acronym"].to_numpy()
    assert rows.loc[units.index, "structure_acronym"].tolist() == list(areas)
    np.testing.assert_array_equal(rows.loc[units.index, "snr"], units["snr"].astype(float))
    qc = (
        (units["amplitude_cutoff"] <= 0.1)
        & (units["presence_ratio"] >= 0.9)
        & (units["isi_violations"] <= 0.5)
    )
    assert rows.loc[units.index, "passes_qc"].tolist() == qc.tolist()
    tagging = optotagging_responses(
        session.get_spike_times(),  # type: ignore[attr-defined]
        session.optotagging_table,  # type: ignore[attr-defined]
        level=None,
    )
    assert rows.loc[tagging.index, "is_tagged"].tolist() == tagging["is_tagged"].tolist()
    np.testing.assert_allclose(rows.loc[tagging.index, "opto_p_value"], tagging["p_value"])


def test_session_row_holds_the_task_metrics(
    many_cache: Cache, first: tuple[int, object], serial_tables: dict[str, pd.DataFrame]
) -> None:
    sid, session = first
    row = serial_tables["sessions"].set_index("ecephys_session_id").loc[sid]
    metrics = session.get_performance_metrics()  # type: ignore[attr-defined]
    for name, value in metrics.items():
        assert row[name] == pytest.approx(value, nan_ok=True), name
    meta = many_cache.get_ecephys_session_table().loc[sid]
    assert row["experience_level"] == meta["experience_level"]
    assert row["mouse_id"] == int(meta["mouse_id"])
    assert row["date_of_acquisition"] == meta["date_of_acquisition"]
    assert row["engaged_fraction"] == pytest.approx(
        metrics["engaged_trial_count"] / metrics["trial_count"]
    )
    speed = session.running_speed  # type: ignore[attr-defined]
    assert 0 < row["running_speed_active"] < speed["speed"].max()


def test_effects_the_simulation_put_in_are_recovered(
    many_release: SampleRelease, serial_tables: dict[str, pd.DataFrame]
) -> None:
    truth = many_release.unit_truth().set_index("unit_id")
    units = serial_tables["units"].set_index("unit_id").join(truth[["visual", "omission_gain"]])
    sessions = serial_tables["sessions"].set_index("ecephys_session_id")
    novel = sessions.index[sessions["experience_level"] == "Novel"]
    in_novel = units["ecephys_session_id"].isin(novel)
    assert units.loc[~in_novel, "novelty_modulation"].isna().all()
    visual = units[units["visual"] & in_novel]
    assert visual["novelty_modulation"].median() > 0.05  # novel images drive visual units more
    assert units.loc[units["visual"], "change_modulation"].median() > 0.05
    omitting = units["omission_gain"] > 0
    assert (
        units.loc[omitting, "omission_response"].mean()
        > units.loc[~omitting, "omission_response"].mean()
    )


def test_summary_is_a_lazy_dataset(serial_run: SummaryRun) -> None:
    units = brainobs.summary("vbn", out=serial_run.out)
    assert units.schema.names == SUMMARIES.table("units").column_names
    import pyarrow.dataset as ds

    tagged = units.to_table(filter=ds.field("is_tagged"), columns=["unit_id"]).num_rows
    assert tagged == int(units.to_table().to_pandas()["is_tagged"].sum())
    sessions = brainobs.summary("vbn", "sessions", out=serial_run.out).to_table().to_pandas()
    by_level = sessions.groupby("experience_level")["mean_dprime"].mean()
    assert set(by_level.index) == {"Familiar", "Novel"}
