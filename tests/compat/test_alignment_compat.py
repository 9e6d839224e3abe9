"""brainobs's presentationwise and conditionwise results equal the AllenSDK's on the same data.

The reference toolkit (AllenSDK 2.16.2, its own venv) runs its ``EcephysSession`` methods on the
sample session's spike times and task-block presentations (``reference_alignment.py`` builds a
real ``EcephysSession`` over a minimal api object; the numbers are the AllenSDK's code). In
``edges="reference"`` mode brainobs must give identical results; in the default mode the only
differences allowed are the documented edge fixes (docs/differences.md, "Stimulus-aligned
analysis"): a spike exactly on a bin's upper edge, which the reference counts in that bin too,
and a spike exactly on a presentation's start (brainobs counts it) or stop (the reference does).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from brainobs.analysis.alignment import presentationwise_spike_counts, presentationwise_spike_times
from brainobs.analysis.conditions import conditionwise_spike_statistics
from brainobs.sample import SampleRelease
from brainobs.vbn.session import BehaviorEcephysSession
from tests.support.reference import run_reference, write_alignment_inputs

pytestmark = pytest.mark.compat

SCRIPT = Path(__file__).with_name("reference_alignment.py")
N_UNITS = 40


@pytest.fixture(scope="module")
def session(vbn_release: SampleRelease) -> BehaviorEcephysSession:
    sessions = pd.read_csv(vbn_release.metadata_path("ecephys_sessions"))
    row = sessions[sessions["genotype"].str.startswith("Sst")].iloc[0]
    return BehaviorEcephysSession.from_nwb_path(vbn_release.data_path(int(row["file_id"])))


@pytest.fixture(scope="module")
def inputs(session: BehaviorEcephysSession) -> dict[str, Any]:
    """Return the compared data: task-block flashes, 40 units, 1 ms bins with edge hits."""
    p = session.stimulus_presentations
    table = p[p["stimulus_block"] == 0]
    units = session.get_units().index[:N_UNITS].to_numpy()
    spikes = session.get_spike_times(units)
    edges = np.round(np.arange(-0.05, 0.3001, 0.001), 6)
    # Put edge hits in: an edge at the exact offset of one unit's spike from one onset.
    first = spikes[int(units[0])]
    onset = float(table["start_time"].iloc[3])
    spike = float(first[np.searchsorted(first, onset + 0.1)])
    edges = np.sort(np.append(edges, spike - onset))
    return {"table": table, "units": units, "spikes": spikes, "edges": edges}


@pytest.fixture(scope="module")
def reference(
    inputs: dict[str, Any],
    session: BehaviorEcephysSession,
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    out = tmp_path_factory.mktemp("alignment_reference")
    parameters = list(session.stimulus_conditions.columns)
    arrays, columns = write_alignment_inputs(
        out, inputs["spikes"], inputs["table"], parameters, inputs["edges"]
    )
    run_reference(SCRIPT.read_text(), str(arrays), str(columns), str(out), "compat")
    return out


def on_upper_edges(inputs: dict[str, Any]) -> np.ndarray:
    """Return per (presentation, bin, unit) the spikes exactly on the bin's upper edge."""
    domain = inputs["table"]["start_time"].to_numpy()[:, None] + inputs["edges"][None, :]
    hits = np.zeros((domain.shape[0], domain.shape[1] - 1, inputs["units"].size), np.int64)
    for position, unit in enumerate(inputs["units"]):
        spikes = inputs["spikes"][int(unit)]
        upper = domain[:, 1:]
        flat = upper.reshape(-1)
        count = np.searchsorted(spikes, flat, "right") - np.searchsorted(spikes, flat, "left")
        hits[:, :, position] = count.reshape(upper.shape)
    return hits


def test_counts_equal_in_reference_mode(inputs: dict[str, Any], reference: Path) -> None:
    ours = presentationwise_spike_counts(
        inputs["spikes"], inputs["table"], inputs["edges"], inputs["units"], edges="reference"
    )
    np.testing.assert_array_equal(ours.values, np.load(reference / "counts.npy"))


def test_counts_differ_only_by_edge_double_counts(inputs: dict[str, Any], reference: Path) -> None:
    ours = presentationwise_spike_counts(
        inputs["spikes"], inputs["table"], inputs["edges"], inputs["units"]
    )
    theirs = np.load(reference / "counts.npy").astype(np.int64)
    difference = theirs - ours.values.astype(np.int64)
    hits = on_upper_edges(inputs)
    assert hits.sum() >= 1  # the crafted edge hit is there
    np.testing.assert_array_equal(difference, hits)


def spike_rows(frame: pd.DataFrame) -> set[tuple[float, int, int]]:
    """Return the (spike time, presentation, unit) rows of a presentationwise frame."""
    return set(
        zip(
            frame.index.to_numpy(dtype=float).tolist(),
            frame["stimulus_presentation_id"].astype(int).tolist(),
            frame["unit_id"].astype(int).tolist(),
            strict=True,
        )
    )


def test_spike_times_equal(inputs: dict[str, Any], reference: Path) -> None:
    saved = np.load(reference / "spike_times.npz")
    theirs = pd.DataFrame(
        {
            "stimulus_presentation_id": saved["stimulus_presentation_id"],
            "unit_id": saved["unit_id"],
            "time_since_stimulus_presentation_onset": saved["offset"],
        },
        index=pd.Index(saved["spike_time"], name="spike_time"),
    )
    args = (inputs["spikes"], inputs["table"], inputs["units"])
    same = presentationwise_spike_times(*args, edges="reference")
    assert spike_rows(same) == spike_rows(theirs)
    np.testing.assert_array_equal(np.sort(same.index), np.sort(theirs.index))
    merged = same.reset_index().merge(
        theirs.reset_index(), on=["spike_time", "stimulus_presentation_id", "unit_id"]
    )
    np.testing.assert_allclose(
        merged["time_since_stimulus_presentation_onset_x"],
        merged["time_since_stimulus_presentation_onset_y"],
        rtol=0,
        atol=1e-12,
    )
    ours = spike_rows(presentationwise_spike_times(*args))
    start = dict(zip(inputs["table"].index, inputs["table"]["start_time"], strict=True))
    stop = dict(zip(inputs["table"].index, inputs["table"]["end_time"], strict=True))
    assert all(row[0] == start[row[1]] for row in ours - spike_rows(theirs))
    assert all(row[0] == stop[row[1]] for row in spike_rows(theirs) - ours)


@pytest.mark.parametrize("use_rates", [False, True])
def test_conditionwise_statistics_equal(
    inputs: dict[str, Any], reference: Path, use_rates: bool
) -> None:
    conditions = np.load(reference / "conditions.npy")
    table = inputs["table"].assign(stimulus_condition_id=conditions)
    ours = conditionwise_spike_statistics(
        inputs["spikes"], table, inputs["units"], use_rates=use_rates, edges="reference"
    ).sort_index()
    saved = np.load(reference / ("stats_rates.npz" if use_rates else "stats_counts.npz"))
    theirs = pd.DataFrame({k: saved[k] for k in saved.files})
    theirs = theirs.astype({"unit_id": np.int64, "stimulus_condition_id": np.int64})
    theirs = theirs.set_index(["unit_id", "stimulus_condition_id"]).sort_index()
    assert ours.index.equals(theirs.index)
    for column in ours.columns:
        np.testing.assert_allclose(
            ours[column].to_numpy(float),
            theirs[column].to_numpy(float),
            rtol=1e-12,
            equal_nan=True,
            err_msg=column,
        )


def test_condition_ids_match_the_reference(
    session: BehaviorEcephysSession, reference: Path, inputs: dict[str, Any]
) -> None:
    """On the same columns, brainobs numbers the conditions exactly as the reference does."""
    ours = session.get_stimulus_table()["stimulus_condition_id"].loc[inputs["table"].index]
    theirs = np.load(reference / "conditions.npy")
    codes_ours = pd.factorize(ours.to_numpy())[0]
    codes_theirs = pd.factorize(theirs)[0]
    np.testing.assert_array_equal(codes_ours, codes_theirs)
