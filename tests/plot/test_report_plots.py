"""Unit, stream and LFP figures: each returns its Axes with labelled axes (units included)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from brainobs.analysis.psth import psth
from brainobs.errors import InvalidInputError
from brainobs.plot.lfp import plot_csd, plot_lfp
from brainobs.plot.spikes import plot_response_heatmap
from brainobs.plot.streams import plot_event_aligned_trace, plot_lick_rate
from brainobs.plot.style import area_color, new_figure
from brainobs.plot.units import plot_metric_distribution, plot_unit_counts


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_unit_counts_bars_coloured_by_area():
    counts = pd.DataFrame({"all": [10, 4], "good": [6, 2]}, index=["VISp", "LGd"])
    ax = plot_unit_counts(counts)
    bars = ax.patches
    assert len(bars) == 4
    assert matplotlib.colors.to_hex(bars[0].get_facecolor()) == area_color("VISp")
    assert ax.get_ylabel() == "Units (count)"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["VISp", "LGd"]
    with pytest.raises(InvalidInputError):
        plot_unit_counts(pd.Series(dtype=float))


def test_metric_distribution_marks_threshold_and_fraction_kept():
    values = pd.Series([0.0, 0.05, 0.2, 0.5, np.nan], name="amplitude_cutoff")
    ax = plot_metric_distribution(values, 0.1, keep="below")
    assert ax.get_xlabel().startswith("Amplitude cutoff")
    assert [line.get_xdata()[0] for line in ax.lines] == [0.1]
    assert "50% kept" in ax.texts[0].get_text()
    above = plot_metric_distribution(np.array([0.9, 0.99, 1.0]), 0.95, keep="above", label="x")
    assert "67% kept" in above.texts[0].get_text()
    with pytest.raises(InvalidInputError):
        plot_metric_distribution(values, 0.1, keep="sideways")  # type: ignore[arg-type]


def test_event_aligned_trace_mean_and_sem():
    offsets = np.linspace(-1, 2, 31)
    samples = np.vstack([np.ones(31), 3 * np.ones(31), np.full(31, np.nan)])
    ax = plot_event_aligned_trace(offsets, samples, ylabel="Running speed (cm/s)")
    mean_line = ax.lines[0]
    np.testing.assert_allclose(mean_line.get_ydata(), 2.0)
    assert "n=2" in mean_line.get_label()
    assert ax.get_ylabel() == "Running speed (cm/s)"
    with pytest.raises(InvalidInputError):
        plot_event_aligned_trace(offsets, samples[:, :5])


def test_lick_rate_in_licks_per_second():
    ax = plot_lick_rate(
        np.array([0.31, 0.32, 0.33, 0.34]), n_events=2, window=(-1, 1), bin_width=0.1
    )
    heights = ax.patches[0].get_path().vertices[:, 1]
    assert heights.max() == pytest.approx(4 / (2 * 0.1))
    assert ax.get_ylabel() == "Lick rate (licks/s)"
    with pytest.raises(InvalidInputError):
        plot_lick_rate(np.zeros(1), n_events=0, window=(-1, 1))


def test_lfp_image_by_depth_in_microvolts():
    time = np.arange(0, 1, 0.01)
    lfp = xr.DataArray(
        np.ones((time.size, 3), np.float32) * 1e-4,
        dims=("time", "channel"),
        coords={"time": time, "channel": [7, 8, 9]},
    )
    figure, axes = new_figure()
    ax = plot_lfp(lfp, {7: 100.0, 8: 300.0, 9: 200.0}, ax=axes[0, 0])
    mesh = ax.collections[0]
    assert mesh.get_array().max() == pytest.approx(100.0)
    assert ax.get_ylabel() == "Depth along probe (µm)"
    assert figure.axes[-1].get_ylabel() == "LFP (µV)"
    with pytest.raises(InvalidInputError):
        plot_lfp(lfp.rename(channel="x"), {})
    with pytest.raises(InvalidInputError):
        plot_lfp(lfp, {1: 0.0})


def test_csd_by_depth_in_milliseconds():
    time = np.linspace(-0.1, 0.25, 8)
    csd = xr.DataArray(
        np.random.default_rng(0).normal(size=(4, 8)),
        dims=("virtual_channel_index", "time"),
        coords={"time": time, "vertical_position": ("virtual_channel_index", [0, 10, 20, 30])},
        attrs={"units": "V/cm^2"},
    )
    figure, axes = new_figure()
    ax = plot_csd(csd, ax=axes[0, 0])
    assert ax.get_xlabel() == "Time from flash onset (ms)"
    assert figure.axes[-1].get_ylabel() == "CSD (V/cm²)"
    with pytest.raises(InvalidInputError):
        plot_csd(csd.rename(time="t"))


def test_response_heatmap_groups_units_by_area():
    rng = np.random.default_rng(1)
    spikes = {u: np.sort(rng.uniform(0, 50, 400)) for u in range(6)}
    rates = psth(spikes, np.arange(5.0, 45.0, 1.0), np.arange(-0.3, 0.5, 0.02))
    areas = pd.Series(["VISp", "LP", "VISp", "LP", "VISp", "CA1"], index=range(6))
    ax = plot_response_heatmap(rates, areas)
    assert ax.images[0].get_array().shape == (6, rates.sizes["time_relative_to_stimulus_onset"])
    assert {t.get_text().strip() for t in ax.texts} == {"VISp", "LP", "CA1"}
    with pytest.raises(InvalidInputError):
        plot_response_heatmap(rates, areas, baseline=(5.0, 6.0))


def test_new_figure_is_not_registered_with_pyplot():
    before = plt.get_fignums()
    figure, axes = new_figure(2, 3)
    assert axes.shape == (2, 3)
    assert plt.get_fignums() == before
    assert not axes[0, 0].spines["top"].get_visible()
    assert figure.get_layout_engine() is not None
