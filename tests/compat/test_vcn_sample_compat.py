"""The reference toolkit (AllenSDK 2.16.2, its own venv) opens the VCN sample with its own readers.

Three routes: ``EcephysSession.from_nwb_path`` on a session file; an ``EcephysSession`` over
``EcephysNwbSessionApi`` given the probe's LFP file; and ``EcephysProjectCache`` over the
sample's cache tree (its ``manifest.json``), which reads the four tables and a metrics table
and opens a session with its LFP. The counts must be those the sample wrote.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd
import pytest

from brainobs.vcn.sample_release import VcnSampleRelease
from tests.support.reference import run_reference

pytestmark = pytest.mark.compat

SCRIPT = r"""
import json, sys, warnings
warnings.simplefilter("ignore")
import pynwb
from allensdk.brain_observatory.ecephys.ecephys_session import EcephysSession
from allensdk.brain_observatory.ecephys.ecephys_session_api import EcephysNwbSessionApi
from allensdk.brain_observatory.ecephys.ecephys_project_cache import EcephysProjectCache
from allensdk.brain_observatory.ecephys.ecephys_project_api import EcephysProjectFixedApi
from reference_dump import read_each_file_once  # tests/compat
read_each_file_once()

session_path, lfp_path, probe_id, manifest, session_id = sys.argv[1:6]
probe_id, session_id = int(probe_id), int(session_id)
s = EcephysSession.from_nwb_path(session_path)
p = s.stimulus_presentations
natural = s.stimulus_conditions[s.stimulus_conditions["stimulus_name"] == "natural_scenes"]
out = {
    "units": len(s.units), "spike_trains": len(s.spike_times),
    "presentations": len(p), "by_name": p["stimulus_name"].value_counts().to_dict(),
    "running": len(s.running_speed), "invalid_times": len(s.invalid_times),
    "scene_conditions": {str(k): float(v) for k, v in natural["frame"].items()},
    "opto": len(s.optogenetic_stimulation_epochs), "probes": len(s.probes),
    "session_type": s.session_type, "age_in_days": s.age_in_days,
}
api = EcephysNwbSessionApi(path=session_path, probe_lfp_paths={
    probe_id: lambda: pynwb.NWBHDF5IO(lfp_path, "r").read()})
with_lfp = EcephysSession(api=api)
out["lfp"] = list(with_lfp.get_lfp(probe_id).shape)
out["csd"] = list(with_lfp.get_current_source_density(probe_id).shape)
cache = EcephysProjectCache(manifest=manifest, fetch_api=EcephysProjectFixedApi(),
                            stream_writer=lambda *a, **k: None)
sessions = cache.get_session_table()
out["cache_unit_counts"] = {str(k): int(v) for k, v in sessions["unit_count"].items()}
out["cache_units"] = len(cache.get_units())
out["cache_channels"] = len(cache.get_channels())
out["cache_probes"] = len(cache.get_probes())
metrics = cache.get_unit_analysis_metrics_by_session_type("brain_observatory_1.1")
out["cache_metrics"] = list(metrics.shape)
session = cache.get_session_data(session_id)
out["cache_session_units"] = len(session.units)
out["cache_lfp"] = list(session.get_lfp(probe_id).shape)
print(json.dumps(out))
"""


def _default_filter(units: pd.DataFrame) -> pd.Series:
    """Return the reference's default unit filter (NaN metrics fail it)."""
    return (
        (units["quality"] == "good")
        & (units["amplitude_cutoff"] <= 0.1)
        & (units["presence_ratio"] >= 0.95)
        & (units["isi_violations"] <= 0.5)
    )


@pytest.fixture(scope="module")
def case(vcn_release: VcnSampleRelease, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Return the tables of the sample and what the reference read from a copy of its tree."""
    tree = tmp_path_factory.mktemp("vcn_tree") / "ecephys-cache"
    shutil.copytree(vcn_release.cache_dir, tree)
    sessions = pd.read_csv(tree / "sessions.csv", index_col="id")
    probes = pd.read_csv(tree / "probes.csv", index_col="id")
    session_id = int(sessions.index[sessions["session_type"] == "brain_observatory_1.1"][0])
    probe_id = int(probes[(probes["ecephys_session_id"] == session_id) & probes["has_lfp_data"]]
                   .index[0])  # fmt: skip
    session_path = tree / f"session_{session_id}" / f"session_{session_id}.nwb"
    lfp_path = tree / f"session_{session_id}" / f"probe_{probe_id}_lfp.nwb"
    result = run_reference(
        SCRIPT, str(session_path), str(lfp_path), str(probe_id), str(tree / "manifest.json"),
        str(session_id),
    )  # fmt: skip
    return {"tree": tree, "session_id": session_id, "probe_id": probe_id, "result": result,
            "session_path": session_path, "lfp_path": lfp_path, "sessions": sessions,
            "probes": probes}  # fmt: skip


def _units(tree: Path) -> pd.DataFrame:
    """Return units.csv with each unit's session and peak-channel structure."""
    units = pd.read_csv(tree / "units.csv", index_col="id")
    channels = pd.read_csv(tree / "channels.csv", index_col="id")
    probes = pd.read_csv(tree / "probes.csv", index_col="id")
    units["structure"] = units["ecephys_channel_id"].map(channels["ecephys_structure_acronym"])
    probe = units["ecephys_channel_id"].map(channels["ecephys_probe_id"])
    units["ecephys_session_id"] = probe.map(probes["ecephys_session_id"])
    return units


def test_session_file_tables_have_the_written_counts(case: dict[str, Any]) -> None:
    result, units = case["result"], _units(case["tree"])
    mine = units[units["ecephys_session_id"] == case["session_id"]]
    expected = mine[_default_filter(mine) & mine["structure"].notna()]
    assert result["units"] == result["spike_trains"] == len(expected) > 0
    with h5py.File(case["session_path"], "r") as h5:
        rows = sum(len(h5[f"intervals/{n}/id"]) for n in h5["intervals"] if "presentations" in n)
        running = len(h5["processing/running/running_speed/timestamps"])
        invalid = len(h5["intervals/invalid_times/id"])
        opto = len(h5["processing/optotagging/optogenetic_stimulation/id"])
    assert result["presentations"] == rows
    assert result["by_name"]["invalid_presentation"] > 0  # masked by a "stimulus" interval
    assert result["running"] == running and result["invalid_times"] == invalid
    assert result["opto"] == opto and result["session_type"] == "brain_observatory_1.1"
    assert result["probes"] == (case["probes"]["ecephys_session_id"] == case["session_id"]).sum()


def test_lfp_and_csd_open_with_the_session(case: dict[str, Any]) -> None:
    with h5py.File(case["lfp_path"], "r") as h5:
        data = h5[f"acquisition/probe_{case['probe_id']}_lfp/probe_{case['probe_id']}_lfp_data"]
        shape = list(data["data"].shape)
        csd = h5["processing/current_source_density/ecephys_csd/current_source_density/data"]
        csd_shape = list(csd.shape[::-1])  # the reference transposes to channels x time
    assert case["result"]["lfp"] == shape == case["result"]["cache_lfp"]
    assert case["result"]["csd"] == csd_shape


def test_project_cache_reads_the_tree(case: dict[str, Any]) -> None:
    result, units, tree = case["result"], _units(case["tree"]), case["tree"]
    passing = units[_default_filter(units)]
    assert result["cache_units"] == len(passing)
    counts = passing.groupby("ecephys_session_id").size()
    assert {int(k): v for k, v in result["cache_unit_counts"].items()} == counts.to_dict()
    assert result["cache_channels"] == len(pd.read_csv(tree / "channels.csv"))
    assert result["cache_probes"] == len(case["probes"])
    metrics = pd.read_csv(tree / "brain_observatory_1.1_analysis_metrics.csv")
    annotated = metrics["ecephys_unit_id"].isin(passing.index).sum()
    assert result["cache_metrics"][0] == annotated
    assert result["cache_session_units"] == result["units"]


def test_pref_image_ns_holds_scene_condition_ids(case: dict[str, Any]) -> None:
    metrics = pd.read_csv(
        case["tree"] / "brain_observatory_1.1_analysis_metrics.csv", index_col="ecephys_unit_id"
    )
    units = _units(case["tree"])
    mine = metrics.loc[metrics.index.isin(units.index[units["ecephys_session_id"]
                                                       == case["session_id"]])]  # fmt: skip
    scenes = {int(k): v for k, v in case["result"]["scene_conditions"].items()}
    ids = mine["pref_image_ns"].dropna().astype(int)
    assert len(ids) > 0 and ids.isin(list(scenes)).all()
    assert all(scenes[i] >= 0 for i in ids)  # a scene, never the blank (frame -1)
    assert np.isfinite(mine["pref_image_ns"]).all()
