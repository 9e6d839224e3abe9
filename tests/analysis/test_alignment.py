"""Stimulus-aligned spike counts, spike times, PSTH and rasters against hand counts and oracles."""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brainobs.analysis.alignment import (
    presentationwise_spike_counts,
    presentationwise_spike_times,
)
from brainobs.analysis.psth import event_aligned_raster, psth
from brainobs.errors import InvalidInputError, UnknownIdError

DIMS = ("stimulus_presentation_id", "time_relative_to_stimulus_onset", "unit_id")


@pytest.fixture(scope="module", autouse=True, params=["compiled", "numpy"])
def counts_kernel(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run every test of this module with the compiled kernel, then with the numpy path."""
    from brainobs.analysis import alignment

    saved = os.environ.get("BRAINOBS_KERNELS")
    os.environ["BRAINOBS_KERNELS"] = request.param
    alignment.compiled_counts.cache_clear()
    if request.param == "compiled":
        assert alignment.compiled_counts() is not None, "numba is in the test extra"
    yield request.param
    if saved is None:
        del os.environ["BRAINOBS_KERNELS"]
    else:
        os.environ["BRAINOBS_KERNELS"] = saved
    alignment.compiled_counts.cache_clear()


def presentations_table(starts, duration=1.0, ids=None):
    """Return a presentations table with the given onsets."""
    starts = np.asarray(starts, dtype=float)
    index = pd.Index(
        np.arange(starts.size) if ids is None else ids, name="stimulus_presentation_id"
    )
    return pd.DataFrame({"start_time": starts, "stop_time": starts + duration}, index=index)


def oracle_counts(spikes, starts, edges, inclusive=False):
    """Count with plain loops: C[p, j, u] = #{t : lo <= t < hi} (or <= hi when inclusive)."""
    counts = np.zeros((len(starts), len(edges) - 1, len(spikes)), dtype=np.int64)
    for p, start in enumerate(starts):
        for j in range(len(edges) - 1):
            lo, hi = start + edges[j], start + edges[j + 1]
            for u, times in enumerate(spikes.values()):
                for t in times:
                    if lo <= t and (t <= hi if inclusive else t < hi):
                        counts[p, j, u] += 1
    return counts


def oracle_spike_times(spikes, starts, stops, reference=False):
    """Return sorted (spike_time, presentation row, unit, offset) tuples by plain loops."""
    rows = []
    for unit, times in spikes.items():
        for p, (start, stop) in enumerate(zip(starts, stops, strict=True)):
            for t in times:
                inside = (start < t <= stop) if reference else (start <= t < stop)
                if inside:
                    rows.append((t, p, unit, t - start))
    return sorted(rows, key=lambda r: r[0])


# --- presentationwise_spike_counts: hand-computed cases -----------------------------------


def test_counts_hand_computed_with_spikes_on_edges():
    spikes = {7: np.array([0.0, 0.05, 0.1, 0.1, 0.15, 0.2, 0.35]), 9: np.array([])}
    table = presentations_table([0.0], ids=[42])
    counts = presentationwise_spike_counts(spikes, table, [0.0, 0.1, 0.2, 0.3])
    assert counts.name == "spike_counts"
    assert counts.dims == DIMS
    assert counts.dtype == np.uint16
    # [0, .1): 0, .05   [.1, .2): .1, .1, .15   [.2, .3): .2   (.35 is outside)
    assert counts.sel(unit_id=7).values.ravel().tolist() == [2, 3, 1]
    assert counts.sel(unit_id=9).values.ravel().tolist() == [0, 0, 0]
    np.testing.assert_allclose(counts.time_relative_to_stimulus_onset, [0.05, 0.15, 0.25])
    assert counts.stimulus_presentation_id.values.tolist() == [42]
    assert counts.unit_id.values.tolist() == [7, 9]


def test_reference_mode_counts_interior_edges_twice():
    spikes = {1: np.array([0.0, 0.05, 0.1, 0.1, 0.15, 0.2, 0.3])}
    table = presentations_table([0.0])
    counts = presentationwise_spike_counts(spikes, table, [0.0, 0.1, 0.2, 0.3], edges="reference")
    # [0, .1]: 0, .05, .1, .1   [.1, .2]: .1, .1, .15, .2   [.2, .3]: .2, .3
    assert counts.values.ravel().tolist() == [4, 4, 2]


def test_overlapping_and_unordered_presentations_are_exact():
    spikes = {3: np.array([1.0, 1.2, 1.5, 2.05, 2.6])}
    table = presentations_table([2.0, 1.0, 1.1], ids=[10, 11, 12])
    counts = presentationwise_spike_counts(spikes, table, [0.0, 0.5, 1.0])
    # p10 [2, 2.5) [2.5, 3): 2.05 | 2.6 ; p11 [1, 1.5) [1.5, 2): 1.0, 1.2 | 1.5
    # p12 [1.1, 1.6) [1.6, 2.1): 1.2, 1.5 | 2.05  (1.2 and 1.5 also counted in p11)
    assert counts.sel(unit_id=3).values.tolist() == [[1, 1], [2, 1], [2, 1]]
    assert counts.stimulus_presentation_id.values.tolist() == [10, 11, 12]


def test_binarize_and_dtype():
    spikes = {1: np.array([0.1, 0.11, 0.5])}
    table = presentations_table([0.0])
    with pytest.warns(UserWarning, match="binarize"):
        binary = presentationwise_spike_counts(spikes, table, [0.0, 0.25, 1.0], binarize=True)
    assert binary.dtype == np.uint8
    assert binary.values.ravel().tolist() == [1, 1]
    wide = presentationwise_spike_counts(spikes, table, [0.0, 0.25, 1.0], dtype=np.float32)
    assert wide.dtype == np.float32
    assert wide.values.ravel().tolist() == [2.0, 1.0]


def test_overflowing_dtype_raises_instead_of_wrapping():
    spikes = {1: np.linspace(0.0, 0.9, 300)}
    with pytest.raises(InvalidInputError, match="uint32"):
        presentationwise_spike_counts(spikes, presentations_table([0.0]), [0, 1.0], dtype=np.uint8)


def test_time_domain_callback_shifts_windows():
    spikes = {1: np.array([0.15, 0.25, 1.15])}
    table = presentations_table([0.0, 1.0])
    counts = presentationwise_spike_counts(
        spikes, table, [0.0, 0.1, 0.2], time_domain_callback=lambda domain: domain + 0.1
    )
    # windows become [0.1, 0.2) [0.2, 0.3) and [1.1, 1.2) [1.2, 1.3)
    assert counts.values[:, :, 0].tolist() == [[1, 1], [1, 0]]


def test_nonuniform_edges_and_single_array_input():
    spikes = np.array([0.001, 0.01, 0.05, 0.3, 0.9])
    counts = presentationwise_spike_counts(spikes, presentations_table([0.0]), [0, 0.01, 0.1, 1.0])
    assert counts.unit_id.values.tolist() == [0]
    assert counts.values.ravel().tolist() == [1, 2, 2]


def test_data_layout_is_unit_major_view():
    spikes = {u: np.sort(np.random.default_rng(u).uniform(0, 5, 50)) for u in range(3)}
    counts = presentationwise_spike_counts(spikes, presentations_table([0, 1, 2]), [0, 0.5, 1])
    assert counts.data.base is not None
    assert np.array_equal(np.ascontiguousarray(counts.data), counts.values)


# --- property test against the brute-force oracle ------------------------------------------

GRID = np.round(np.arange(-1.0, 4.0, 0.125), 3)  # exact binary fractions: many on-edge spikes


@st.composite
def alignment_inputs(draw):
    """Draw spikes (half on a grid of edges), unordered overlapping onsets and bin edges."""
    n_units = draw(st.integers(1, 3))
    spikes = {}
    for unit in range(n_units):
        on_grid = draw(st.lists(st.sampled_from(GRID.tolist()), max_size=12))
        free = draw(st.lists(st.floats(-1.0, 4.0, allow_nan=False), max_size=12))
        spikes[100 + unit] = np.sort(np.array(on_grid + free, dtype=float))
    starts = draw(st.lists(st.sampled_from(GRID[8:24].tolist()), min_size=1, max_size=6))
    edges = draw(
        st.lists(
            st.sampled_from(np.arange(-0.5, 1.01, 0.125).tolist()),
            min_size=2,
            max_size=6,
            unique=True,
        )
    )
    return spikes, np.array(starts), np.sort(np.array(edges))


@settings(max_examples=150, deadline=None)
@given(alignment_inputs())
def test_counts_match_oracle(inputs):
    spikes, starts, edges = inputs
    table = presentations_table(starts)
    half_open = presentationwise_spike_counts(spikes, table, edges)
    assert np.array_equal(half_open.values, oracle_counts(spikes, starts, edges))
    reference = presentationwise_spike_counts(spikes, table, edges, edges="reference")
    assert np.array_equal(reference.values, oracle_counts(spikes, starts, edges, inclusive=True))


@settings(max_examples=100, deadline=None)
@given(alignment_inputs(), st.sampled_from(["half_open", "reference"]))
def test_spike_times_match_oracle(inputs, edges_mode):
    spikes, starts, _ = inputs
    table = presentations_table(starts, duration=0.5)
    frame = presentationwise_spike_times(spikes, table, edges=edges_mode)
    expected = oracle_spike_times(spikes, starts, starts + 0.5, edges_mode == "reference")
    got = sorted(
        zip(
            frame.index,
            frame.stimulus_presentation_id,
            frame.unit_id,
            frame.time_since_stimulus_presentation_onset,
            strict=True,
        ),
        key=lambda r: (r[0], r[2], r[1]),
    )
    want = sorted(expected, key=lambda r: (r[0], r[2], r[1]))
    assert [(t, p, u) for t, p, u, _ in got] == [(t, p, u) for t, p, u, _ in want]
    np.testing.assert_allclose([r[3] for r in got], [r[3] for r in want])
    assert frame.index.is_monotonic_increasing


def oracle_domain_counts(spikes, domain, inclusive=False):
    """Count by brute force into the bins of a per-row domain: [lo, hi), or [lo, hi]."""
    counts = np.zeros((domain.shape[0], domain.shape[1] - 1, len(spikes)), dtype=np.int64)
    for p, row in enumerate(domain):
        for j in range(row.size - 1):
            for u, times in enumerate(spikes.values()):
                upper = times <= row[j + 1] if inclusive else times < row[j + 1]
                counts[p, j, u] = np.count_nonzero((row[j] <= times) & upper)
    return counts


@settings(max_examples=60, deadline=None)
@given(alignment_inputs(), st.floats(0.5, 2.0), st.floats(0.0, 0.3))
def test_counts_with_callback_match_oracle(inputs, stretch, shift):
    spikes, starts, edges = inputs

    def warp(domain):
        rows = np.arange(domain.shape[0])[:, None]
        return domain[:, :1] + (domain - domain[:, :1]) * stretch + shift * rows

    table = presentations_table(starts)
    counts = presentationwise_spike_counts(spikes, table, edges, time_domain_callback=warp)
    domain = warp(starts[:, None] + edges[None, :])
    assert np.array_equal(counts.values, oracle_domain_counts(spikes, domain))


def test_spikes_exactly_on_inexact_float_edges():
    # Onsets and 1 ms edges that are not binary fractions: the absolute edges start + edge are
    # rounded, and spikes placed exactly on them (and one ulp either side) must follow the
    # comparison with the rounded edge, not the relative arithmetic.
    rng = np.random.default_rng(7)
    starts = np.sort(rng.uniform(1000.0, 1100.0, 25)) + 0.1234567
    edges = np.arange(-0.05, 0.1, 0.001)
    domain = starts[:, None] + edges[None, :]
    on_edges = domain[:, ::3].ravel()
    spikes = {
        1: np.sort(
            np.concatenate((on_edges, np.nextafter(on_edges, 0), np.nextafter(on_edges, 2e3)))
        )
    }
    table = presentations_table(starts)
    counts = presentationwise_spike_counts(spikes, table, edges)
    assert np.array_equal(counts.values, oracle_domain_counts(spikes, domain))
    reference = presentationwise_spike_counts(spikes, table, edges, edges="reference")
    expected = oracle_domain_counts(spikes, domain, inclusive=True)
    assert np.array_equal(reference.values, expected)


# --- presentationwise_spike_times ----------------------------------------------------------


def test_spike_times_overlapping_windows_list_spike_once_per_window():
    spikes = {5: np.array([1.2, 3.0])}
    table = presentations_table([1.0, 1.1], duration=0.5, ids=[20, 21])
    frame = presentationwise_spike_times(spikes, table)
    assert frame.index.name == "spike_time"
    assert list(frame.columns) == [
        "stimulus_presentation_id",
        "unit_id",
        "time_since_stimulus_presentation_onset",
    ]
    assert frame.stimulus_presentation_id.tolist() == [20, 21]
    np.testing.assert_allclose(frame.time_since_stimulus_presentation_onset, [0.2, 0.1])


def test_spike_times_window_convention_at_boundaries():
    spikes = {1: np.array([1.0, 1.5])}
    table = presentations_table([1.0], duration=0.5)
    assert presentationwise_spike_times(spikes, table).index.tolist() == [1.0]
    reference = presentationwise_spike_times(spikes, table, edges="reference")
    assert reference.index.tolist() == [1.5]


def test_spike_times_accepts_end_time_and_empty_result_keeps_columns():
    table = presentations_table([1.0]).rename(columns={"stop_time": "end_time"})
    full = presentationwise_spike_times({4: np.array([1.5])}, table)
    empty = presentationwise_spike_times({4: np.array([9.0])}, table)
    assert empty.empty
    assert list(empty.columns) == list(full.columns)
    assert empty.index.name == "spike_time"
    assert (empty.dtypes == full.dtypes).all()


# --- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "edges", [[0.0, 0.2, 0.1], [0.1, 0.1, 0.2], [0.0], [[0.0, 1.0]], [0.0, np.nan]]
)
def test_bad_bin_edges(edges):
    with pytest.raises(InvalidInputError, match="bin_edges"):
        presentationwise_spike_counts({1: np.array([0.1])}, presentations_table([0.0]), edges)


def test_unknown_unit_ids_list_valid_ones():
    spikes = {11: np.array([0.1]), 12: np.array([0.2])}
    with pytest.raises(UnknownIdError, match=r"99.*valid ids include 11, 12") as caught:
        presentationwise_spike_counts(spikes, presentations_table([0.0]), [0, 1], unit_ids=[11, 99])
    assert isinstance(caught.value, LookupError)


def test_windows_with_start_after_end():
    table = pd.DataFrame({"start_time": [0.0, 2.0], "stop_time": [1.0, 1.5]})
    with pytest.raises(InvalidInputError, match="start after they end"):
        presentationwise_spike_times({1: np.array([0.5])}, table)


@pytest.mark.parametrize(
    ("spikes", "table", "match"),
    [
        ({}, presentations_table([0.0]), "spike_times is empty"),
        ({1: np.array([0.1])}, presentations_table([]), "presentations is empty"),
        ({1: np.array([0.3, 0.1])}, presentations_table([0.0]), "not sorted"),
        ({1: np.array([0.1, np.nan])}, presentations_table([0.0]), "NaN"),
        ({1: np.array([0.1])}, pd.DataFrame({"onset": [0.0]}), "start_time"),
        ({1: np.array([0.1])}, presentations_table([np.nan]), "missing"),
    ],
)
def test_bad_inputs(spikes, table, match):
    with pytest.raises(InvalidInputError, match=match):
        presentationwise_spike_counts(spikes, table, [0.0, 1.0])


def test_empty_unit_ids_and_bad_edges_mode():
    spikes, table = {1: np.array([0.1])}, presentations_table([0.0])
    with pytest.raises(InvalidInputError, match="unit_ids is empty"):
        presentationwise_spike_counts(spikes, table, [0, 1], unit_ids=[])
    with pytest.raises(InvalidInputError, match="half_open"):
        presentationwise_spike_counts(spikes, table, [0, 1], edges="inclusive")


def test_callback_errors():
    spikes, table = {1: np.array([0.1])}, presentations_table([0.0, 1.0])
    with pytest.raises(InvalidInputError, match="shape"):
        presentationwise_spike_counts(spikes, table, [0, 1], time_domain_callback=lambda d: d[:1])
    with pytest.raises(InvalidInputError, match=r"row 0, edge 0"):
        presentationwise_spike_counts(
            spikes, table, [0, 1], time_domain_callback=lambda d: d[:, ::-1].copy()
        )


def test_stop_column_required_for_spike_times():
    with pytest.raises(InvalidInputError, match="end_time"):
        presentationwise_spike_times({1: np.array([0.1])}, pd.DataFrame({"start_time": [0.0]}))


# --- psth and rasters ----------------------------------------------------------------------


def test_psth_rates_and_smoothing():
    spikes = {1: np.array([0.005, 1.005, 1.015]), 2: np.array([])}
    rates = psth(spikes, [0.0, 1.0], np.arange(0, 0.031, 0.01))
    assert rates.dims == ("time_relative_to_stimulus_onset", "unit_id")
    assert rates.attrs["units"] == "spikes/s"
    # bin [0, .01): 2 spikes over 2 events x 0.01 s = 100 spikes/s; [.01, .02): 50
    np.testing.assert_allclose(rates.sel(unit_id=1).values, [100.0, 50.0, 0.0])
    np.testing.assert_allclose(rates.sel(unit_id=2).values, 0.0)
    smooth = psth(spikes, [0.0, 1.0], np.arange(0, 0.031, 0.01), smoothing_sigma=0.01)
    assert smooth.sel(unit_id=1).values[2] > 0.0
    assert smooth.sel(unit_id=1).values[0] < 100.0


def test_psth_from_presentations_matches_counts_mean():
    rng = np.random.default_rng(3)
    spikes = {u: np.sort(rng.uniform(0, 20, 400)) for u in range(4)}
    table = presentations_table(rng.uniform(0, 19, 30))
    edges = np.linspace(-0.2, 0.8, 21)
    counts = presentationwise_spike_counts(spikes, table, edges)
    expected = counts.mean("stimulus_presentation_id").values / np.diff(edges)[:, None]
    np.testing.assert_allclose(psth(spikes, table, edges).values, expected)


def test_psth_smoothing_needs_uniform_bins():
    with pytest.raises(InvalidInputError, match="equally wide"):
        psth({1: np.array([0.1])}, [0.0], [0, 0.1, 0.3], smoothing_sigma=0.01)


def test_event_aligned_raster():
    spikes = {1: np.array([0.95, 1.05, 2.0, 2.2]), 2: np.array([1.0])}
    raster = event_aligned_raster(spikes, [2.0, 1.0], window=(-0.1, 0.2))
    assert list(raster.columns) == ["event_index", "unit_id", "time_relative_to_event"]
    assert raster.event_index.tolist() == [0, 1, 1, 1]
    assert raster.unit_id.tolist() == [1, 1, 1, 2]
    np.testing.assert_allclose(raster.time_relative_to_event, [0.0, -0.05, 0.05, 0.0])
    empty = event_aligned_raster(spikes, [50.0], window=(-0.1, 0.2))
    assert empty.empty
    assert list(empty.columns) == list(raster.columns)
    with pytest.raises(InvalidInputError, match="start < stop"):
        event_aligned_raster(spikes, [1.0], window=(0.2, -0.1))


# --- the many-unit kernel: shared buffers, groups, batches, output kinds ----------------------


def shared_and_copied(n_units=12, seed=5):
    """Return the same spike times as views of one buffer and as separate arrays."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(0, 400, n_units)
    sizes[3] = 0  # a silent unit
    trains = [np.sort(np.round(rng.uniform(0, 30, n), 3)) for n in sizes]  # many on-grid spikes
    flat = np.concatenate(trains)
    ends = np.cumsum(sizes)
    views = {100 + u: flat[e - n : e] for u, (n, e) in enumerate(zip(sizes, ends, strict=True))}
    copies = {unit: times.copy() for unit, times in views.items()}
    return views, copies


@pytest.fixture
def small_batches(monkeypatch):
    """Make groups of units and batches of spikes tiny, so every loop runs many times."""
    from brainobs.analysis import _validation, binning

    monkeypatch.setattr(binning, "BATCH_SPIKES", 7)
    monkeypatch.setattr(binning, "PAIRS_PER_GROUP", 40)
    monkeypatch.setattr(_validation, "GROUP_SPIKES", 300)


@pytest.mark.parametrize("mode", ["half_open", "reference"])
def test_shared_buffer_and_copies_give_oracle_counts(small_batches, mode):
    views, copies = shared_and_copied()
    starts = np.round(np.random.default_rng(1).uniform(0, 28, 9), 3)
    table = presentations_table(starts)
    edges = np.round(np.arange(-0.1, 0.5001, 0.05), 3)
    expected = oracle_counts(copies, starts, edges, inclusive=mode == "reference")
    for spikes in (views, copies):
        counts = presentationwise_spike_counts(spikes, table, edges, edges=mode)
        assert np.array_equal(counts.values, expected)
    subset = [107, 101, 110]  # out of file order: still used in place
    picked = presentationwise_spike_counts(views, table, edges, unit_ids=subset, edges=mode)
    assert np.array_equal(picked.values, counts.sel(unit_id=subset).values)


def test_shared_buffer_times_psth_raster_match_copies(small_batches):
    views, copies = shared_and_copied()
    starts = np.array([20.0, 3.0, 3.2, 11.5])  # unordered and overlapping
    table = presentations_table(starts, duration=0.6)
    expected = oracle_spike_times(copies, starts, starts + 0.6)
    frame = presentationwise_spike_times(views, table)
    got = list(zip(frame.index, frame.stimulus_presentation_id, frame.unit_id, strict=True))
    assert sorted(got) == sorted((t, p, u) for t, p, u, _ in expected)
    pd.testing.assert_frame_equal(frame, presentationwise_spike_times(copies, table))
    edges = np.arange(0, 0.61, 0.1)
    np.testing.assert_allclose(
        psth(views, starts, edges).values, psth(copies, starts, edges).values
    )
    raster = event_aligned_raster(views, starts, (-0.1, 0.3))
    pd.testing.assert_frame_equal(raster, event_aligned_raster(copies, starts, (-0.1, 0.3)))
    assert raster.groupby("unit_id", sort=False).size().index.is_monotonic_increasing


def test_unsorted_or_nan_unit_in_a_shared_buffer_is_refused():
    flat = np.array([0.1, 0.2, 0.05, 0.3, np.nan, 0.9])
    table = presentations_table([0.0])
    with pytest.raises(InvalidInputError, match="unit 'b' are not sorted"):
        presentationwise_spike_counts({"a": flat[:2], "b": flat[1:4]}, table, [0, 1])
    with pytest.raises(InvalidInputError, match="unit 'c' contain NaN"):
        presentationwise_spike_counts({"a": flat[:2], "c": flat[3:6]}, table, [0, 1])
    # across two units' boundary the order does not matter
    counts = presentationwise_spike_counts({"a": flat[:2], "d": flat[2:4]}, table, [0, 1])
    assert counts.values.ravel().tolist() == [2, 2]


def test_integer_spike_times_are_converted():
    spikes = {1: np.array([0, 1, 2, 5])}
    counts = presentationwise_spike_counts(spikes, presentations_table([0]), [0, 2, 4])
    assert counts.values.ravel().tolist() == [2, 1]


def test_dask_output_equals_dense(monkeypatch):
    pytest.importorskip("dask")
    from brainobs.analysis import alignment

    monkeypatch.setattr(alignment, "DASK_BLOCK_BYTES", 3 * 9 * 12 * 2)  # 3 units per block
    views, _ = shared_and_copied()
    table = presentations_table(np.arange(9) * 3.0)
    edges = np.round(np.arange(0, 0.6001, 0.05), 3)
    dense = presentationwise_spike_counts(views, table, edges)
    lazy = presentationwise_spike_counts(views, table, edges, output="dask")
    assert type(lazy.data).__module__.startswith("dask")
    assert lazy.data.numblocks[2] == 4
    assert lazy.dims == dense.dims and lazy.dtype == dense.dtype
    assert np.array_equal(lazy.values, dense.values)
    per_unit = lazy.sum(("stimulus_presentation_id", "time_relative_to_stimulus_onset"))
    np.testing.assert_array_equal(
        per_unit.compute().values,
        dense.values.sum(axis=(0, 1), dtype=np.int64),
    )


def test_dense_output_that_does_not_fit_says_its_size(monkeypatch):
    from brainobs.analysis import _validation
    from brainobs.errors import OutputTooLargeError

    monkeypatch.setattr(_validation, "available_memory", lambda: 1000)
    spikes = {1: np.array([0.1]), 2: np.array([0.2])}
    with pytest.raises(
        OutputTooLargeError,
        match=r"1.4 MiB \(2 x 3 x 250000 uint8.*only 1,000 bytes.*output='dask'",
    ):
        presentationwise_spike_counts(
            spikes, presentations_table([0, 1, 2]), np.arange(250001) * 1e-6, dtype=np.uint8
        )
    with pytest.raises(InvalidInputError, match="output='sparse' is not known"):
        presentationwise_spike_counts(spikes, presentations_table([0]), [0, 1], output="sparse")


def test_counts_do_not_import_dask_on_first_call():
    # xarray's general constructor imports Dask (seconds) the first time it looks for duck
    # arrays; the counts and the PSTH are wrapped without it, so a first call costs what the
    # later ones do.
    import subprocess
    import sys

    code = (
        "import sys, numpy as np, pandas as pd\n"
        "from brainobs.analysis.alignment import presentationwise_spike_counts\n"
        "from brainobs.analysis.psth import psth\n"
        "table = pd.DataFrame({'start_time': [0.0, 1.0], 'stop_time': [0.5, 1.5]})\n"
        "counts = presentationwise_spike_counts({3: np.array([0.1, 1.2])}, table, [0, 0.25, 0.5])\n"
        "rates = psth({3: np.array([0.1, 1.2])}, table, [0, 0.25, 0.5])\n"
        "print('dask' in sys.modules)\n"
        "assert counts.data.sum() == 2 and rates.dims[1] == 'unit_id'\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_counts_without_numba_use_the_numpy_path(monkeypatch):
    import sys

    from brainobs.analysis import alignment

    monkeypatch.delenv("BRAINOBS_KERNELS", raising=False)
    monkeypatch.setitem(sys.modules, "numba", None)  # import numba raises ImportError
    monkeypatch.delitem(sys.modules, "brainobs.analysis._count_kernel", raising=False)
    alignment.compiled_counts.cache_clear()
    try:
        assert alignment.compiled_counts() is None
        spikes = {1: np.array([0.05, 0.1, 0.95])}
        counts = presentationwise_spike_counts(spikes, presentations_table([0.0]), [0, 0.1, 1])
        assert counts.values.ravel().tolist() == [1, 2]
    finally:
        alignment.compiled_counts.cache_clear()
