"""The reference toolkit and brainobs give the same VCN tables, counts, statistics, LFP and metrics.

The reference (AllenSDK 2.16.2, its own venv) opens a copy of the sample's cache folder
(``reference_vcn.py dump``), in which one ``all_probes`` invalid interval was moved into the
LFP's window so that the LFP masking shows; brainobs opens the same folder. Differences allowed
are the documented ones (docs/differences.md, "Visual Coding Neuropixels"):

* ``ecephys_structure_id`` is a nullable integer (the reference: float64);
* session units carry ``waveform_halfwidth`` too (the reference's unit objects drop it);
* with a quality threshold turned off, units with a NaN in that metric are kept;
* spike counts are in half-open bins (the reference counts a spike on an edge in both bins);
* tuning metrics with ``reference_quirks=True`` equal the reference's stimulus-analysis classes
  (the RF p-value's draws are seeded; off-screen RF widths come from a differently started fit).

It also fills a cache folder with the reference's ``from_warehouse`` against the loopback
warehouse, and brainobs reuses that folder as it is.
"""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd
import pytest

from brainobs import EcephysProjectCache
from brainobs.analysis.tuning import METRIC_COLUMNS
from brainobs.vcn.sample_release import VcnSampleRelease
from tests.compat.test_vbn_session_compat import load_frame, normalised
from tests.support.reference import run_reference
from tests.support.rma_server import WarehouseServer
from tests.support.tuning_reference import SCRIPT as TUNING_SCRIPT
from tests.support.tuning_reference import reference_metrics

pytestmark = pytest.mark.compat

SCRIPT = Path(__file__).with_name("reference_vcn.py")
EDGES = np.arange(0.0, 0.26, 0.01)


@pytest.fixture(scope="module")
def case(vcn_release: VcnSampleRelease, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Return the copied folder, the session and probe compared, and the reference's dump."""
    tree = tmp_path_factory.mktemp("vcn_compat") / "ecephys-cache"
    shutil.copytree(vcn_release.cache_dir, tree)
    sessions = pd.read_csv(tree / "sessions.csv", index_col="id")
    probes = pd.read_csv(tree / "probes.csv", index_col="id")
    sid = int(sessions.index[sessions["session_type"] == "brain_observatory_1.1"][0])
    probe = int(probes[(probes["ecephys_session_id"] == sid) & probes["has_lfp_data"]].index[0])
    nwb = tree / f"session_{sid}" / f"session_{sid}.nwb"
    lfp = tree / f"session_{sid}" / f"probe_{probe}_lfp.nwb"
    with h5py.File(lfp, "r") as h5:
        times = h5[f"acquisition/probe_{probe}_lfp/probe_{probe}_lfp_data/timestamps"][:]
    with h5py.File(nwb, "r+") as h5:  # move the all_probes interval into the LFP window
        tags = h5["intervals/invalid_times/tags"].asstr()[:]
        row = list(tags).index("all_probes") // 3
        h5["intervals/invalid_times/start_time"][row] = times[1000]
        h5["intervals/invalid_times/stop_time"][row] = times[1200]
    out = tmp_path_factory.mktemp("vcn_reference")
    compat = str(Path(__file__).parent)
    run_reference(SCRIPT.read_text(), "dump", compat, str(out), str(tree / "manifest.json"),
                  str(sid), str(probe), timeout=1200)  # fmt: skip
    return {"tree": tree, "sid": sid, "probe": probe, "out": out, "nwb": nwb}


@pytest.fixture(scope="module")
def cache(case: dict) -> EcephysProjectCache:
    return EcephysProjectCache.fixed(manifest=case["tree"] / "manifest.json")


@pytest.fixture(scope="module")
def session(cache: EcephysProjectCache, case: dict) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cache.get_session_data(case["sid"])


def _same(ours: pd.DataFrame, theirs: pd.DataFrame, name: str, extra: tuple[str, ...] = ()) -> None:
    """Assert the reference's columns are ours, in its order where asked, with equal values."""
    ours, theirs = normalised(ours), normalised(theirs)
    assert set(ours.columns) - set(theirs.columns) == set(extra), name
    ours = ours[list(theirs.columns)]
    for column in ("ecephys_structure_id",):  # nullable Int64 here, float64 there
        if column in ours:
            ours[column] = ours[column].astype("float64")
    for column in ("ecephys_structure_acronyms",):  # lists here, arrays there
        if column in ours:
            ours[column] = [np.asarray(v).astype(str).tolist() for v in ours[column]]
            theirs[column] = [np.asarray(v).astype(str).tolist() for v in theirs[column]]
    pd.testing.assert_frame_equal(ours, theirs, obj=name)


CACHE_TABLES = {
    "cache_sessions": lambda c: c.get_session_table(),
    "cache_probes": lambda c: c.get_probes(),
    "cache_channels": lambda c: c.get_channels(),
    "cache_units": lambda c: c.get_units(),
    "cache_metrics": lambda c: c.get_unit_analysis_metrics_by_session_type("brain_observatory_1.1"),
}


@pytest.mark.parametrize("name", list(CACHE_TABLES))
def test_cache_tables(cache: EcephysProjectCache, case: dict, name: str) -> None:
    _same(CACHE_TABLES[name](cache), load_frame(case["out"] / f"{name}.json"), name)


def test_disabled_threshold_keeps_nan_metric_units(cache: EcephysProjectCache, case: dict) -> None:
    theirs = load_frame(case["out"] / "cache_units_relaxed.json")
    ours = cache.get_units(amplitude_cutoff_maximum=np.inf)
    kept_nan = ours.index[ours["amplitude_cutoff"].isna()]
    assert len(kept_nan) > 0 and set(ours.index) - set(kept_nan) == set(theirs.index)


SESSION_TABLES = {
    "probes": lambda s: s.probes,
    "channels": lambda s: s.channels,
    "stimulus_presentations": lambda s: s.stimulus_presentations,
    "stimulus_conditions": lambda s: s.stimulus_conditions,
    "invalid_times": lambda s: s.invalid_times,
    "running_speed": lambda s: s.running_speed,
    "optogenetic_stimulation_epochs": lambda s: s.optogenetic_stimulation_epochs,
    "intervals": lambda s: s.inter_presentation_intervals.reset_index(),
    "epochs": lambda s: s.get_stimulus_epochs(duration_thresholds={}),
    "pupil": lambda s: s.get_pupil_data(),
    "gaze": lambda s: s.get_screen_gaze_data(include_filtered_data=True),
}


@pytest.mark.parametrize("name", list(SESSION_TABLES))
def test_session_tables(session: Any, case: dict, name: str) -> None:
    theirs = load_frame(case["out"] / f"{name}.json")
    ours = SESSION_TABLES[name](session)
    if name == "invalid_times":
        ours = ours.assign(tags=[np.asarray(t) for t in ours["tags"]])
        theirs["tags"] = [np.asarray(t).astype(str) for t in theirs["tags"]]
        for a, b in zip(ours.pop("tags"), theirs.pop("tags"), strict=True):
            assert list(a) == list(b)
    _same(ours, theirs, name)


def test_units_and_spike_times(session: Any, case: dict) -> None:
    _same(session.units, load_frame(case["out"] / "units.json"), "units", ("waveform_halfwidth",))
    with np.load(case["out"] / "spike_times.npz") as theirs:
        assert set(theirs.files) == {str(u) for u in session.spike_times}
        for unit in theirs.files:
            np.testing.assert_array_equal(session.spike_times[int(unit)], theirs[unit])


def test_metadata(session: Any, case: dict) -> None:
    import json

    theirs = json.loads((case["out"] / "metadata.json").read_text())
    ours = dict(session.metadata)
    assert pd.Timestamp(ours.pop("session_start_time")) == pd.Timestamp(
        theirs.pop("session_start_time")
    )
    assert [str(v) for v in ours.pop("structure_acronyms")] == [
        str(v) for v in theirs.pop("structure_acronyms")
    ]
    assert ours == theirs


def test_presentationwise_counts_differ_only_at_bin_edges(session: Any, case: dict) -> None:
    with np.load(case["out"] / "counts.npz") as saved:
        theirs, ids, units = saved["counts"], saved["ids"], saved["units"]
    ours = session.presentationwise_spike_counts(EDGES, ids, units).values
    starts = session.stimulus_presentations.loc[ids, "start_time"].to_numpy()
    for p, j, u in zip(*np.nonzero(ours != theirs), strict=True):
        spikes = session.spike_times[int(units[u])]
        edges = starts[p] + EDGES[j : j + 2]
        on_edge = np.isin(spikes, edges).sum()
        assert on_edge and theirs[p, j, u] - ours[p, j, u] <= on_edge  # counted twice there
    assert (ours != theirs).sum() <= 10


@pytest.mark.parametrize("rates", [False, True])
def test_conditionwise_statistics(session: Any, case: dict, rates: bool) -> None:
    theirs = load_frame(case["out"] / f"conditionwise_{'rates' if rates else 'counts'}.json")
    theirs["stimulus_condition_id"] = theirs["stimulus_condition_id"].astype(np.int64)
    theirs = theirs.set_index(["unit_id", "stimulus_condition_id"]).sort_index()
    table = session.stimulus_presentations
    gabors = table.index[table["stimulus_name"] == "gabors"]
    ours = session.conditionwise_spike_statistics(gabors, theirs.index.levels[0], use_rates=rates)
    ours = ours.sort_index()
    assert ours.index.equals(theirs.index) and list(ours.columns) == list(theirs.columns)
    np.testing.assert_allclose(ours.to_numpy(float), theirs.to_numpy(float), equal_nan=True)


@pytest.mark.parametrize("mask", [True, False])
def test_lfp_masked_and_csd(session: Any, case: dict, mask: bool) -> None:
    with np.load(case["out"] / f"lfp_{mask}.npz") as theirs:
        lfp = session.get_lfp(case["probe"], mask_invalid_intervals=mask)
        np.testing.assert_array_equal(lfp.values, theirs["data"])  # NaN where masked
        np.testing.assert_array_equal(lfp["time"].values, theirs["time"])
        np.testing.assert_array_equal(lfp["channel"].values, theirs["channel"])
        assert np.isnan(theirs["data"]).any() == mask
    with np.load(case["out"] / "csd.npz") as theirs:
        csd = session.get_current_source_density(case["probe"])
        np.testing.assert_array_equal(csd.values, theirs["data"])


@pytest.fixture(scope="module")
def reference_tuning(case: dict, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("vcn_tuning")
    run_reference(TUNING_SCRIPT.read_text(), str(case["nwb"]), str(out), "compat", timeout=1200)
    return out


@pytest.mark.parametrize("kind", ["dg", "sg", "ns", "fl", "rf"])
def test_stimulus_analysis_classes_equal_the_session_metrics(
    case: dict, reference_tuning: Path, kind: str
) -> None:
    from brainobs import EcephysSession

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        session = EcephysSession.from_nwb_path(case["nwb"])
        ours = session.get_tuning_metrics(stimuli=[kind], reference_quirks=True)
    theirs = reference_metrics(reference_tuning, kind)
    theirs = theirs.rename(columns={"pref_images_multi_ns": "pref_image_multi_ns"}).loc[ours.index]
    on_screen = theirs["on_screen_rf"].astype(bool).to_numpy() if kind == "rf" else None
    for column in METRIC_COLUMNS[kind]:
        a, b = ours[column].to_numpy(float), theirs[column].to_numpy(float)
        if column == "p_value_rf":  # 1000 bootstrap draws each: a standard error <= 0.016
            assert np.nanmax(np.abs(a - b)) <= 0.08
        elif column in ("width_rf", "height_rf"):
            np.testing.assert_allclose(a[on_screen], b[on_screen], rtol=1e-5, err_msg=column)
        else:
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True, err_msg=column)


# --- a cache folder the AllenSDK made -------------------------------------------------------
@pytest.fixture(scope="module")
def allensdk_folder(
    vcn_release: VcnSampleRelease, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Path, int, int, dict]]:
    folder = tmp_path_factory.mktemp("allensdk_made")
    probes = pd.read_csv(vcn_release.metadata_path("probes"), index_col="id")
    sid = int(probes["ecephys_session_id"].iloc[0])
    probe = int(probes[(probes["ecephys_session_id"] == sid) & probes["has_lfp_data"]].index[0])
    with WarehouseServer(vcn_release) as server:
        result = run_reference(SCRIPT.read_text(), "warehouse", str(Path(__file__).parent),
                               str(folder / "manifest.json"), server.host, str(sid),
                               str(probe), timeout=1200)  # fmt: skip
    yield folder, sid, probe, result


def test_an_allensdk_made_folder_is_reused_as_it_is(
    allensdk_folder: tuple[Path, int, int, dict], vcn_release: VcnSampleRelease, tmp_path: Path
) -> None:
    folder, sid, probe, result = allensdk_folder
    before = {p: p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}
    cache = EcephysProjectCache.fixed(manifest=folder / "manifest.json")
    # a copy: a cache over a folder keeps its table index there, and the sample is shared
    copy = shutil.copytree(vcn_release.cache_dir, tmp_path / "sample")
    sample = EcephysProjectCache.fixed(manifest=copy / "manifest.json")
    assert len(cache.get_units()) == result["units"]
    for name in (
        "sessions",
        "probes",
        "channels",
        "units",
        "brain_observatory_1.1_analysis_metrics",
    ):
        pd.testing.assert_frame_equal(
            cache._table(name).sort_index(), sample._table(name).sort_index(), obj=name
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        session = cache.get_session_data(sid)
        assert len(session.units) == result["session_units"]
        assert list(session.get_lfp(probe).shape) == result["lfp"]
    after = {p: p.stat().st_mtime_ns for p in before}
    assert after == before  # read where the AllenSDK put them; nothing rewritten or moved
    assert f"session_{sid}/session_{sid}.nwb" in cache.tree.record()
