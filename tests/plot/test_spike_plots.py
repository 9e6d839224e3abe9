"""Spike figures: each returns an Axes with labelled axes and the expected artists."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from brainobs.analysis.optotagging import optotagging_responses
from brainobs.analysis.psth import event_aligned_raster, psth
from brainobs.errors import InvalidInputError
from brainobs.plot.spikes import plot_psth_by_area, plot_raster, plot_tagged_unit_responses
from brainobs.plot.style import area_color


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def spikes():
    rng = np.random.default_rng(0)
    events = np.arange(1.0, 21.0, 1.0)
    spikes = {}
    for unit in range(6):
        background = rng.uniform(0, 22, 100)
        evoked = events + 0.003 + 0.002 * rng.random(events.size) if unit < 2 else []
        spikes[unit] = np.sort(np.concatenate((background, evoked)))
    return spikes, events


def test_plot_raster_rows_and_labels(spikes):
    times, events = spikes
    raster = event_aligned_raster(times, events, (-0.1, 0.3), unit_ids=[0, 3])
    ax = plot_raster(raster)
    offsets = ax.collections[0].get_offsets()
    assert len(offsets) == len(raster)
    expected_rows = raster.groupby(["unit_id", "event_index"], sort=False).ngroup()
    np.testing.assert_array_equal(offsets[:, 1], expected_rows)
    assert ax.get_xlabel() == "Time from event (s)"
    assert ax.get_ylabel() == "Unit x event"
    single = plot_raster(event_aligned_raster(times, events, (-0.1, 0.3), unit_ids=[0]))
    assert single.get_ylabel() == "Event"


def test_plot_psth_by_area_one_line_per_area(spikes):
    times, events = spikes
    rates = psth(times, events, np.arange(-0.05, 0.1001, 0.005))
    areas = pd.Series({0: "VISp", 1: "VISp", 2: "LGd", 3: "LGd", 4: "CA1"})  # unit 5: no area
    _, given_ax = plt.subplots()
    ax = plot_psth_by_area(rates, areas, ax=given_ax)
    assert ax is given_ax
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["VISp (n=2)", "LGd (n=2)", "CA1 (n=1)"]
    assert ax.get_lines()[0].get_color() == area_color("VISp")
    np.testing.assert_allclose(
        ax.get_lines()[1].get_ydata(), rates.sel(unit_id=[2, 3]).mean("unit_id").values
    )
    assert ax.get_ylabel() == "Firing rate (spikes/s)"
    assert ax.get_xlabel() == "Time from stimulus onset (s)"


def test_plot_tagged_unit_responses(spikes):
    times, events = spikes
    table = pd.DataFrame(
        {"start_time": events, "stop_time": events + 0.01, "stimulus_name": "pulse", "level": 1.0}
    )
    tagging = optotagging_responses(times, table)
    assert tagging.is_tagged.tolist() == [True, True, False, False, False, False]
    rates = psth(times, events, np.arange(-0.01, 0.0301, 0.001))
    ax = plot_tagged_unit_responses(rates, tagging)
    labels = [line.get_label() for line in ax.get_lines() if not line.get_label().startswith("_")]
    assert labels == ["tagged mean (n=2)", "untagged mean (n=4)"]
    assert len(ax.get_lines()) == 2 + 2  # one thin line per tagged unit, two means
    assert ax.get_xlabel() == "Time from light onset (s)"


def test_plot_input_errors(spikes):
    times, events = spikes
    with pytest.raises(InvalidInputError, match="event_aligned_raster"):
        plot_raster(pd.DataFrame({"time": [0.1]}))
    rates = psth(times, events, np.arange(0, 0.1, 0.01))
    with pytest.raises(InvalidInputError, match="dims"):
        plot_psth_by_area(rates.expand_dims("extra"), {0: "VISp"})
    with pytest.raises(InvalidInputError, match="is_tagged"):
        plot_tagged_unit_responses(rates, pd.DataFrame({"p_value": [0.1]}))
