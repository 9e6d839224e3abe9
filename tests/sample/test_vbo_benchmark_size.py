"""The VBO benchmark size's code path, run at a small fraction of its scale."""

from __future__ import annotations

from dataclasses import replace

import h5py
import numpy as np
import pandas as pd
import pytest

from brainobs.sample import SampleRelease
from brainobs.vbo.sample_design import MIN_MOVIE_REPEATS, SIZES, SizeSpec, scaled_size
from brainobs.vbo.sample_release import build_release, experiment_truth
from brainobs.vbo.sample_traces import BATCH

SCALE = 0.05


@pytest.fixture(scope="module")
def spec() -> SizeSpec:
    """The benchmark size scaled down, with enough cells to be written in several batches."""
    scaled = scaled_size("benchmark", SCALE)
    return replace(scaled, cells={**scaled.cells, "Slc17a7": 2 * BATCH + 5})


@pytest.fixture(scope="module")
def tiny(spec: SizeSpec, tmp_path_factory: pytest.TempPathFactory) -> SampleRelease:
    root = tmp_path_factory.mktemp("vbo_benchmark")
    build_release(root, spec, seed=5)
    return SampleRelease(root, spec.name, 5, "visual-behavior-ophys")


def test_full_size_is_one_real_size_experiment() -> None:
    full = SIZES["benchmark"]
    assert full.mice == ("slc17a7",) and full.ophys_stages == ("1",) and full.contiguous
    minutes = (2 * full.gray_seconds + full.active_flashes * 0.75 + full.movie_repeats * 30) / 60
    assert 70 < minutes < 80  # an hour of task between two 5 min gray screens, then the movie
    assert full.cells["Slc17a7"] >= 300 and full.movie_repeats == 10


def test_scaled_size_keeps_the_benchmark_path(spec: SizeSpec) -> None:
    assert spec.contiguous and spec.mice == ("slc17a7",)
    assert spec.movie_repeats >= MIN_MOVIE_REPEATS
    assert spec.active_flashes < SIZES["benchmark"].active_flashes


def test_benchmark_file_stores_traces_as_the_release_does(
    tiny: SampleRelease, spec: SizeSpec
) -> None:
    experiments = pd.read_csv(tiny.metadata_path("ophys_experiment_table"))
    assert len(experiments) == 1
    path = tiny.data_path(int(experiments["file_id"].iloc[0]))
    with h5py.File(path, "r") as h5:
        ophys = h5["processing/ophys"]
        for name in ("dff", "corrected_fluorescence", "demixed_trace", "neuropil_trace"):
            data = ophys[f"{name}/traces/data"]
            assert data.chunks is None and data.compression is None, name  # contiguous
        assert ophys["event_detection/data"].compression == "gzip"
        stamps = ophys["dff/traces/timestamps"][:]
        dff = ophys["dff/traces/data"][:]
    assert round(1 / np.mean(np.diff(stamps))) == 31
    expected = 2 * spec.gray_seconds + spec.active_flashes * 0.75 + spec.movie_repeats * 30
    assert stamps[-1] - stamps[0] == pytest.approx(expected, rel=0.03)
    assert dff.shape == (len(stamps), experiment_truth(tiny)["n_rois"].iloc[0])
    # every batch of cells was written: no column is left empty
    assert np.isfinite(dff).all() and dff.std(axis=0).min() > 0
