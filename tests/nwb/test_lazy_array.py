"""Lazy xarray arrays over LFP: a selection reads only its window."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import xarray as xr

from brainobs.nwb import NwbFile, lazy_dataarray, lazy_timeseries
from brainobs.storage.local import LocalFetcher
from tests.nwb.conftest import SMALL_BLOCKS
from tests.nwb.nwb_files import LFP_CHANNELS, LFP_SAMPLES, SessionTruth

LFP = "/acquisition/probe_1_lfp/probe_1_lfp_data"


def _backend(array: xr.DataArray) -> object:
    """Return the backend array under a lazily indexed DataArray."""
    return array.variable._data.array  # type: ignore[union-attr]


def test_lfp_is_lazy_and_selects_windows(any_session: NwbFile, session: SessionTruth) -> None:
    lfp = lazy_timeseries(any_session, LFP)
    assert lfp.dims == ("time", "channel") and lfp.shape == (LFP_SAMPLES, LFP_CHANNELS)
    assert lfp.dtype == np.float32 and lfp.attrs["unit"] == "volts"
    np.testing.assert_array_equal(lfp["channel"], session.channel_ids[::2])
    assert _backend(lfp).reads == 0  # type: ignore[attr-defined]
    window = lfp.sel(time=slice(3.0, 3.5))
    keep = (session.lfp_times >= 3.0) & (session.lfp_times <= 3.5)
    np.testing.assert_array_equal(window.values, session.lfp[keep])
    one = lfp.sel(channel=session.channel_ids[[4, 10]]).isel(time=slice(100, 110))
    np.testing.assert_array_equal(one.values, session.lfp[100:110][:, [2, 5]])
    picked = lfp.isel(time=[5, 1, 5], channel=3)
    np.testing.assert_array_equal(picked.values, session.lfp[[5, 1, 5], 3])
    assert lfp.isel(time=slice(10, 10)).values.shape == (0, LFP_CHANNELS)
    assert lfp.isel(time=np.array([], dtype=int)).values.shape == (0, LFP_CHANNELS)
    assert float(lfp[7, 2]) == session.lfp[7, 2]


def test_lfp_window_reads_only_its_bytes(session: SessionTruth, nwb_root: Path) -> None:
    handle = NwbFile.from_fetcher(LocalFetcher(nwb_root), "session.nwb", block_cache=SMALL_BLOCKS)
    lfp = lazy_timeseries(handle, LFP)
    assert handle.remote is not None
    handle.remote.reset_stats()
    window = lfp.sel(time=slice(10.0, 10.8)).values  # 1000 of 20000 samples
    assert window.shape == (1000, LFP_CHANNELS)
    data_bytes = LFP_SAMPLES * LFP_CHANNELS * 4
    window_bytes = window.nbytes
    moved = handle.remote.bytes_transferred
    print(f"bytes-read fraction, LFP 0.8 s window / LFP data: {moved / data_bytes:.4f}")
    assert moved < window_bytes + 3 * SMALL_BLOCKS.block_size
    assert moved < data_bytes / 10
    handle.close()


def test_lazy_dataarray_pickles_and_builds_on_any_dataset(
    any_session: NwbFile, session: SessionTruth
) -> None:
    waveforms = lazy_dataarray(
        any_session,
        "/units/waveform_mean",
        dims=("row", "sample"),
        coords={"sample": np.arange(20) / 30.0},
        name="waveform_mean",
        attrs={"unit": "V"},
    )
    assert waveforms.name == "waveform_mean" and waveforms.attrs == {"unit": "V"}
    clone = pickle.loads(pickle.dumps(waveforms))
    np.testing.assert_array_equal(clone[8:16].values, session.waveforms[1])
    assert "values with dtype" in repr(waveforms)  # the repr does not load the data


def test_lazy_scaled_integer_series(any_session: NwbFile) -> None:
    v_sig = lazy_timeseries(any_session, "/acquisition/v_sig", dims=("time",))
    assert v_sig.dtype == np.float64
    np.testing.assert_allclose(
        v_sig.sel(time=slice(11.0, 11.05)).values, np.arange(60, 64) * 0.001 - 0.5
    )


def test_empty_window_reads_as_empty_array(any_session: NwbFile) -> None:
    # A window outside the LFP selects no samples; beside a channel vector (what transposing
    # a selection asks for) h5py cannot select nothing, so it must not be asked.
    lfp = lazy_timeseries(any_session, LFP)
    outside = lfp.sel(time=slice(1e6, 1e6 + 1))
    assert outside.T.values.shape == (LFP_CHANNELS, 0)
    picked = lfp.isel(time=slice(10, 10), channel=[0, 2])
    assert picked.values.shape == (0, 2) and picked.values.dtype == lfp.dtype
    assert lfp.isel(time=slice(5, 5), channel=1).values.shape == (0,)
