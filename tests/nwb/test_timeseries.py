"""TimeSeries windows: found by a search that reads a few small pieces, read by slice."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from brainobs.errors import InvalidInputError, MissingDataError
from brainobs.nwb import NwbFile, read_timeseries, read_timestamps, timeseries_info
from brainobs.nwb.timeseries import search_sorted
from brainobs.storage.local import LocalFetcher
from tests.nwb.conftest import SMALL_BLOCKS
from tests.nwb.nwb_files import RUNNING_SAMPLES, SessionTruth

SPEED = "/processing/running/speed"


def _expected(session: SessionTruth, start: float, stop: float) -> np.ndarray:
    times = session.running_times
    return (times >= start) & (times < stop)


@pytest.mark.parametrize("window", [(100.0, 101.0), (0.0, 7.0), (3000.0, 1e9), (-5.0, 0.0)])
def test_window_matches_numpy(
    any_session: NwbFile, session: SessionTruth, window: tuple[float, float]
) -> None:
    times, speed = read_timeseries(any_session, SPEED, *window)
    keep = _expected(session, *window)
    np.testing.assert_array_equal(times, session.running_times[keep])
    np.testing.assert_array_equal(speed, session.running_speed[keep])


def test_open_ended_windows(any_session: NwbFile, session: SessionTruth) -> None:
    times, _ = read_timeseries(any_session, SPEED, stop=6.0)
    np.testing.assert_array_equal(times, session.running_times[session.running_times < 6.0])
    times, data = read_timeseries(any_session, SPEED)
    assert len(times) == len(data) == RUNNING_SAMPLES


def test_window_search_reads_little(session: SessionTruth, nwb_root: Path) -> None:
    handle = NwbFile.from_fetcher(LocalFetcher(nwb_root), "session.nwb", block_cache=SMALL_BLOCKS)
    info = timeseries_info(handle, SPEED)
    assert handle.remote is not None
    handle.remote.reset_stats()
    times, _ = read_timeseries(handle, SPEED, 1000.0, 1000.5)
    assert len(times) == 30
    timestamps_bytes = RUNNING_SAMPLES * 8
    assert handle.remote.bytes_transferred < timestamps_bytes / 4
    assert info.n_samples == RUNNING_SAMPLES and info.unit == "cm/s" and info.rate is None
    handle.close()


def test_search_sorted_agrees_with_numpy(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    regular = np.arange(300_000) / 1250.0
    bursty = np.sort(rng.exponential(1.0, 300_000) ** 3)  # far from regular
    repeated = np.repeat(np.arange(100_000.0), 3)
    with h5py.File(tmp_path / "t.h5", "w") as h5:
        for name, values in (("regular", regular), ("bursty", bursty), ("repeated", repeated)):
            h5[name] = values
            probes = np.concatenate([rng.choice(values, 20), rng.uniform(-1, values[-1] + 1, 20)])
            for value in [*probes, values[0], values[-1], -np.inf, np.inf]:
                for side in ("left", "right"):
                    expected = np.searchsorted(values, value, side=side)
                    assert search_sorted(h5[name], value, side) == expected, (name, value, side)


def test_regular_series_with_scaling(any_session: NwbFile) -> None:
    info = timeseries_info(any_session, "/acquisition/v_sig")
    assert info.rate == 60.0 and info.starting_time == 10.0 and info.conversion == 0.001
    times, volts = read_timeseries(any_session, "/acquisition/v_sig", 11.0, 11.1)
    np.testing.assert_allclose(times, 10.0 + np.arange(60, 66) / 60.0)
    np.testing.assert_allclose(volts, np.arange(60, 66) * 0.001 - 0.5)
    _, raw = read_timeseries(any_session, "/acquisition/v_sig", 11.0, 11.1, scaled=False)
    assert raw.dtype == np.int16 and raw.tolist() == list(range(60, 66))
    assert len(read_timestamps(any_session, "/acquisition/v_sig")) == 1000
    edge, _ = read_timeseries(any_session, "/acquisition/v_sig", 10.0 + 5 / 60, 10.0 + 7 / 60)
    assert len(edge) == 2


def test_bad_windows_and_non_series(any_session: NwbFile) -> None:
    with pytest.raises(InvalidInputError, match="before it starts"):
        read_timeseries(any_session, SPEED, 10.0, 5.0)
    with pytest.raises(MissingDataError):
        read_timeseries(any_session, "/processing/running/absent")
    with pytest.raises(MissingDataError):
        read_timeseries(any_session, "/units")
