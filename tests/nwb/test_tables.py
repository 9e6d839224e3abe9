"""DynamicTable, ragged-column and intervals readers, on pynwb output and hand-made variants."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from brainobs.errors import InvalidInputError, MissingDataError, UnknownIdError
from brainobs.nwb import (
    ColumnRules,
    NwbFile,
    presentation_table_names,
    read_dynamic_table,
    read_ids,
    read_intervals,
    read_presentations,
    read_ragged,
    read_region,
    read_region_ids,
    table_columns,
)
from tests.nwb.nwb_files import N_UNITS, WAVEFORM_CHANNELS, WAVEFORM_SAMPLES, SessionTruth

UNITS = "/units"
ELECTRODES = "/general/extracellular_ephys/electrodes"


def test_units_table_skips_ragged_columns(any_session: NwbFile, session: SessionTruth) -> None:
    units = read_dynamic_table(any_session, UNITS)
    assert list(units.columns) == ["quality", "firing_rate", "peak_channel_id"]
    assert units.index.name == "id"
    np.testing.assert_array_equal(units.index, session.unit_ids)
    assert units["quality"].tolist() == session.quality
    assert units["peak_channel_id"].dtype == np.int64


def test_rows_columns_and_ids_select(any_session: NwbFile, session: SessionTruth) -> None:
    picked = read_dynamic_table(any_session, UNITS, columns=["firing_rate"], rows=[150, 3, 3, -1])
    np.testing.assert_array_equal(picked.index, session.unit_ids[[150, 3, 3, 199]])
    assert list(picked.columns) == ["firing_rate"]
    by_id = read_dynamic_table(any_session, UNITS, ids=session.unit_ids[[10, 5]])
    np.testing.assert_array_equal(by_id.index, session.unit_ids[[10, 5]])
    by_slice = read_dynamic_table(any_session, UNITS, rows=slice(190, None))
    assert len(by_slice) == 10
    mask = np.zeros(N_UNITS, dtype=bool)
    mask[[1, 2]] = True
    assert (
        read_dynamic_table(any_session, UNITS, rows=mask).index.tolist()
        == session.unit_ids[[1, 2]].tolist()
    )
    assert len(read_dynamic_table(any_session, UNITS, rows=[])) == 0


def test_bad_selections_say_what_is_wrong(any_session: NwbFile) -> None:
    with pytest.raises(InvalidInputError, match="outside"):
        read_dynamic_table(any_session, UNITS, rows=[N_UNITS])
    with pytest.raises(InvalidInputError, match="mask"):
        read_dynamic_table(any_session, UNITS, rows=np.ones(3, dtype=bool))
    with pytest.raises(InvalidInputError, match="not both"):
        read_dynamic_table(any_session, UNITS, rows=[1], ids=[950000000])
    with pytest.raises(UnknownIdError, match="12345"):
        read_dynamic_table(any_session, UNITS, ids=[12345])
    with pytest.raises(MissingDataError, match="snr"):
        read_dynamic_table(any_session, UNITS, columns=["snr", "quality"])
    assert list(
        read_dynamic_table(any_session, UNITS, columns=["snr", "quality"], missing="ignore")
    ) == ["quality"]


def test_ragged_spike_times_of_selected_units(any_session: NwbFile, session: SessionTruth) -> None:
    rows = [199, 0, 7, 100, 101]
    spikes = read_ragged(any_session, UNITS, "spike_times", rows=rows)
    assert list(spikes) == session.unit_ids[rows].tolist()
    for row in rows:
        np.testing.assert_array_equal(spikes[session.unit_ids[row]], session.spike_times[row])
    assert spikes[session.unit_ids[7]].size == 0  # the silent unit
    amplitudes = read_ragged(any_session, UNITS, "spike_amplitudes", ids=session.unit_ids[[4]])
    np.testing.assert_array_equal(amplitudes[session.unit_ids[4]], session.spike_amplitudes[4])


def test_ragged_all_rows_and_slices(any_session: NwbFile, session: SessionTruth) -> None:
    everything = read_ragged(any_session, UNITS, "spike_times")
    assert len(everything) == N_UNITS
    for row in (0, 7, 199):
        np.testing.assert_array_equal(everything[session.unit_ids[row]], session.spike_times[row])
    tail = read_ragged(any_session, UNITS, "spike_times", rows=slice(5, 9))
    assert [v.size for v in tail.values()] == [len(session.spike_times[r]) for r in range(5, 9)]


def test_two_dimensional_waveforms(any_session: NwbFile, session: SessionTruth) -> None:
    waveforms = read_ragged(any_session, UNITS, "waveform_mean", rows=[2, 60])
    for row in (2, 60):
        block = waveforms[session.unit_ids[row]]
        assert block.shape == (WAVEFORM_CHANNELS, WAVEFORM_SAMPLES)
        np.testing.assert_array_equal(block, session.waveforms[row])
    frame = read_dynamic_table(
        any_session, UNITS, columns=["waveform_mean", "spike_times"], rows=[1]
    )
    np.testing.assert_array_equal(frame["waveform_mean"].iloc[0], session.waveforms[1])
    np.testing.assert_array_equal(frame["spike_times"].iloc[0], session.spike_times[1])


def test_non_ragged_column_is_refused_by_read_ragged(any_session: NwbFile) -> None:
    with pytest.raises(MissingDataError, match="read_dynamic_table"):
        read_ragged(any_session, UNITS, "quality")


def test_electrodes_table_decodes_references(any_session: NwbFile, session: SessionTruth) -> None:
    electrodes = read_dynamic_table(any_session, ELECTRODES)
    np.testing.assert_array_equal(electrodes.index, session.channel_ids)
    assert electrodes["group"].iloc[0] == "/general/extracellular_ephys/probeA"
    assert electrodes["group"].iloc[-1] == "/general/extracellular_ephys/probeB"
    assert electrodes["location"].iloc[:3].tolist() == ["VISp", "CA1", "None"]
    assert electrodes["valid_data"].dtype == bool


def test_electrical_series_region(any_session: NwbFile, session: SessionTruth) -> None:
    path = "/acquisition/probe_1_lfp/probe_1_lfp_data/electrodes"
    target, positions = read_region(any_session, path)
    assert target == ELECTRODES
    np.testing.assert_array_equal(positions, np.arange(0, 64, 2))
    np.testing.assert_array_equal(read_region_ids(any_session, path), session.channel_ids[::2])


def test_trials_with_rules_and_ragged_licks(any_session: NwbFile) -> None:
    rules = ColumnRules(bool_columns=["go"], null_int_columns=["change_frame"])
    trials = read_intervals(any_session, "trials", rules=rules)
    assert "lick_times" not in trials
    assert trials["go"].tolist() == [False, True] * 3
    assert trials["change_frame"].dtype == "Int64"
    assert trials["change_frame"].isna().tolist() == [True, False, False, True, False, False]
    licks = read_intervals(any_session, "trials", columns=["lick_times"])
    assert [len(v) for v in licks["lick_times"]] == list(range(6))
    with pytest.raises(MissingDataError, match="gabors_presentations"):
        read_intervals(any_session, "nothing")


def test_presentations_are_concatenated_in_time_order(any_session: NwbFile) -> None:
    assert presentation_table_names(any_session) == [
        "flashes_presentations",
        "gabors_presentations",
    ]
    rules = ColumnRules(bool_columns=["is_change"])
    frame = read_presentations(any_session, rules=rules, name_column="stimulus_name")
    assert frame["start_time"].is_monotonic_increasing and len(frame) == 9
    assert frame["stimulus_name"].tolist()[:3] == ["flashes", "gabors", "flashes"]
    gabors = frame[frame["stimulus_name"] == "gabors"]
    assert gabors["orientation"].tolist() == [0.0, 45.0, 90.0, 135.0, 180.0]
    assert str(frame["is_change"].dtype) == "boolean"
    assert gabors["is_change"].isna().tolist() == [False] * 4 + [True]
    assert frame.loc[frame["stimulus_name"] == "flashes", "orientation"].isna().all()
    only = read_presentations(any_session, columns=["color"])
    assert list(only.columns) == ["color"]
    with pytest.raises(MissingDataError, match="contrast"):
        read_presentations(any_session, columns=["contrast"])


# --- hand-made variants ------------------------------------------------------------------------


def test_variant_units(variants: dict) -> None:
    with NwbFile.open(variants["path"]) as nwb:
        assert table_columns(nwb, UNITS)[:2] == ["quality", "cluster_id"]  # bytes colnames
        assert read_ids(nwb, UNITS).dtype == np.int64  # stored as int32
        units = read_dynamic_table(nwb, UNITS, rules=ColumnRules(null_int_columns=["cluster_id"]))
        assert units["quality"].tolist()[:2] == ["good", "noise"]  # fixed-length bytes
        assert units["cluster_id"].isna().tolist() == [i == 3 for i in range(10)]
        assert int(units["cluster_id"].iloc[4]) == 8
        assert units["peak_channel"].tolist() == [5, 4, 3, 2, 1, 0, 0, 1, 2, 3]  # region rows
        spikes = read_ragged(nwb, UNITS, "spike_times", rows=[4, 1, 9])  # uint8 index
        for row in (4, 1, 9):
            np.testing.assert_array_equal(
                spikes[variants["ids"][row]], variants["spike_times"][row]
            )
        amplitudes = read_ragged(nwb, UNITS, "spike_amplitudes")  # int32 index, float32 values
        assert amplitudes[variants["ids"][4]].dtype == np.float32
        np.testing.assert_array_equal(
            read_region_ids(nwb, "/units/peak_channel"),
            2000 + np.array([5, 4, 3, 2, 1, 0, 0, 1, 2, 3]),
        )


def test_variant_float_booleans_and_null_ints(variants: dict) -> None:
    rules = ColumnRules(bool_columns=["go", "aborted"], null_int_columns=["change_frame"])
    with NwbFile.open(variants["path"]) as nwb:
        raw = read_intervals(nwb, "trials")
        assert raw["go"].dtype == np.float64 and raw["change_frame"].tolist()[0] == -99
        trials = read_intervals(nwb, "/intervals/trials", rules=rules)
        assert trials["go"].dtype == bool and trials["go"].tolist() == [True, False, False, True]
        assert trials["aborted"].dtype == bool
        assert trials["change_frame"].tolist()[1:3] == [120, 240]
        assert trials["change_frame"].isna().tolist() == [True, False, False, True]
        assert trials["change_image_name"].tolist() == ["im065", "im077", "", "im065"]
        licks = read_ragged(nwb, "/intervals/trials", "lick_times")  # uint16 index
        assert [len(v) for v in licks.values()] == [2, 0, 1, 0]
        electrodes = read_dynamic_table(
            nwb, ELECTRODES, rules=ColumnRules(bool_columns=["valid_data"])
        )
        assert electrodes["valid_data"].tolist() == [True, False, True, True, False, True]
        assert electrodes["group"].tolist()[2:4] == [
            "/general/extracellular_ephys/probeA",
            "/general/extracellular_ephys/probeB",
        ]


def test_variant_presentations_missing_column(variants: dict) -> None:
    with NwbFile.open(variants["path"]) as nwb:
        frame = read_presentations(nwb, rules=ColumnRules(bool_columns=["omitted"]))
        assert frame["stimulus_name"].tolist() == ["spontaneous", "flash", "flash", "flash"]
        assert frame["omitted"].tolist()[1:3] == [False, True]
        assert frame["omitted"].isna().tolist() == [True, False, False, True]
        assert "tags" not in frame and "timeseries" not in frame  # ragged: only when named
        flashes = read_intervals(nwb, "flash_presentations", columns=["tags", "timeseries"])
        assert [list(v) for v in flashes["tags"]] == [["stimulus_time_interval"]] * 3
        assert flashes["timeseries"].iloc[2].tolist() == [
            (2, 15, "/processing/stimulus/timestamps")
        ]
        with pytest.raises(InvalidInputError, match="stimulus_name"):
            read_presentations(nwb, rules=ColumnRules(bool_columns=["stimulus_name"]))


def test_frames_work_with_pandas_text_dtypes(variants: dict) -> None:
    with NwbFile.open(variants["path"]) as nwb:
        trials = read_intervals(nwb, "trials")
    assert pd.api.types.is_string_dtype(trials["change_image_name"])
    assert (trials["change_image_name"] == "im065").sum() == 2
