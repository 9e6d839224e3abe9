"""The reference toolkit and brainobs read the same sample session files into equal tables.

The reference (AllenSDK 2.16.2, its own venv) opens one ecephys session file (with the LFP
file of one probe) and one behavior-only file with its own readers and writes every table to a
temporary folder (``reference_dump.py``); brainobs must return equal tables. The only
normalisations are listed in :data:`NORMALISATIONS`; each is a documented difference
(docs/differences.md, "Sessions") or a pandas version difference.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from brainobs.sample import SampleRelease
from brainobs.sessions.behavior import BehaviorSession
from brainobs.vbn.session import BehaviorEcephysSession
from tests.support.reference import run_reference

pytestmark = pytest.mark.compat

NORMALISATIONS = {
    "text": "text columns: pandas 3 `str` vs pandas 1.5 `object`; missing text as NaN",
    "boolean": "boolean presentation columns: reference `object` (True/False/NaN) -> `boolean`",
    "column order": "presentation columns after the leading ones: reference set order",
    "empty eye tracking": "reference's empty frame: object index, float likely_blink",
    "probes": "reference lfp_sampling_rate is `object` (None without LFP) -> float NaN",
    "metadata": "date_of_acquisition as an instant; UUID as text; rig Coordinates as lists",
}
DUMP = Path(__file__).with_name("reference_dump.py")
BOOLEAN_COLUMNS = ("is_change", "is_image_novel", "omitted", "rewarded", "is_sham_change")


@pytest.fixture(scope="module")
def files(vbn_release: SampleRelease) -> dict[str, Any]:
    """Return the sample files the suite compares: an Sst ecephys session and a behavior file."""
    sessions = pd.read_csv(vbn_release.metadata_path("ecephys_sessions"))
    probes = pd.read_csv(vbn_release.metadata_path("probes"))
    with_lfp = probes.loc[probes["has_lfp_data"], "ecephys_session_id"]
    sst = sessions["genotype"].str.startswith("Sst") & sessions["ecephys_session_id"].isin(with_lfp)
    session = sessions[sst].iloc[0]
    probe = probes[(probes["ecephys_session_id"] == session["ecephys_session_id"])]
    probe = probe[probe["has_lfp_data"]].iloc[0]
    behavior = pd.read_csv(vbn_release.metadata_path("behavior_sessions"))
    return {
        "ecephys": vbn_release.data_path(int(session["file_id"])),
        "behavior": vbn_release.data_path(
            int(behavior[behavior["file_id"] >= 0].iloc[-1]["file_id"])
        ),
        "probe_name": str(probe["name"]),
        "lfp": vbn_release.data_path(int(probe["file_id"])),
    }


@pytest.fixture(scope="module")
def ecephys(files: dict[str, Any]) -> BehaviorEcephysSession:
    return BehaviorEcephysSession.from_nwb_path(
        files["ecephys"], probe_data_path_map={files["probe_name"]: files["lfp"]}
    )


@pytest.fixture(scope="module")
def behavior(files: dict[str, Any]) -> BehaviorSession:
    return BehaviorSession.from_nwb_path(files["behavior"])


@pytest.fixture(scope="module")
def window(ecephys: BehaviorEcephysSession, files: dict[str, Any]) -> tuple[float, float]:
    """Return a 2 s LFP window inside the recording."""
    probe = int(ecephys.probes.index[ecephys.probes["name"] == files["probe_name"]][0])
    start = float(ecephys.get_lfp(probe)["time"][500])
    return start, start + 2.0


@pytest.fixture(scope="module")
def reference(
    files: dict[str, Any],
    ecephys: BehaviorEcephysSession,
    window: tuple[float, float],
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    """Return the folder the reference toolkit wrote its tables to."""
    out = tmp_path_factory.mktemp("reference")
    rate = float(ecephys.probes.set_index("name").loc[files["probe_name"], "lfp_sampling_rate"])
    args = [files["ecephys"], files["behavior"], files["probe_name"], files["lfp"], rate, *window]
    run_reference(DUMP.read_text(), str(out), *(str(a) for a in args))
    return out


def load_frame(path: Path) -> pd.DataFrame:
    """Return a DataFrame written by reference_dump.py, with the reference's dtypes."""
    doc = json.loads(path.read_text())
    columns = {}
    for name in doc["order"]:
        column = doc["columns"][name]
        values, dtype = column["values"], column["dtype"]
        if dtype == "object":
            array = np.empty(len(values), dtype=object)
            array[:] = [np.asarray(v) if isinstance(v, list) else v for v in values]
            columns[name] = pd.Series(array, dtype=object)
        else:
            columns[name] = pd.Series(values, dtype=dtype)
    frame = pd.DataFrame(columns)
    frame.index = pd.Index(doc["index"], dtype=doc["index_dtype"], name=doc["index_name"])
    return frame


def normalised(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with text columns as ``object`` (the "text" normalisation)."""
    out = frame.copy()
    for name in out.columns:
        if out[name].dtype == object or pd.api.types.is_string_dtype(out[name]):
            out[name] = out[name].astype(object).where(out[name].notna(), np.nan)
    if pd.api.types.is_string_dtype(out.index) and out.index.dtype != object:
        out.index = out.index.astype(object)
    return out


def assert_same(ours: pd.DataFrame, theirs: pd.DataFrame, name: str) -> None:
    """Assert equal frames; array cells (``lick_times``) are compared one by one."""
    ours, theirs = normalised(ours), normalised(theirs)
    arrays = [c for c in ours.columns if len(ours) and isinstance(ours[c].iloc[0], np.ndarray)]
    for column in arrays:
        for a, b in zip(ours[column], theirs[column], strict=True):
            np.testing.assert_array_equal(a, np.asarray(b, dtype=a.dtype), err_msg=column)
    pd.testing.assert_frame_equal(ours.drop(columns=arrays), theirs.drop(columns=arrays), obj=name)


def reference_presentations(path: Path, ours: pd.DataFrame) -> pd.DataFrame:
    """Return the reference's presentations with the "boolean" and "column order" normalisations."""
    theirs = load_frame(path)
    for name in BOOLEAN_COLUMNS:
        if name in theirs and theirs[name].dtype == object:
            theirs[name] = theirs[name].astype("boolean")
    assert set(theirs.columns) == set(ours.columns)
    assert list(theirs.columns[:5]) == list(ours.columns[:5])
    return theirs[list(ours.columns)]


def test_units_channels_probes(ecephys: BehaviorEcephysSession, reference: Path) -> None:
    assert_same(ecephys.get_units(), load_frame(reference / "units.json"), "units")
    channels = load_frame(reference / "channels.json")
    assert_same(ecephys.get_channels(filter_by_validity=False), channels, "channels")
    probes = load_frame(reference / "probes.json")
    probes["lfp_sampling_rate"] = probes["lfp_sampling_rate"].astype(float)
    ours = ecephys.probes
    with_lfp = ours["has_lfp_data"] & probes["has_lfp_data"]
    assert with_lfp.sum() == 1  # the reference was given one probe's LFP file
    assert_same(ours[with_lfp], probes[with_lfp], "probes with LFP")
    columns = ["name", "location", "sampling_rate"]
    assert_same(ours[columns], probes[columns], "probes")


def test_spike_arrays(ecephys: BehaviorEcephysSession, reference: Path) -> None:
    for name in ("spike_times", "spike_amplitudes", "mean_waveforms"):
        with np.load(reference / f"{name}.npz") as theirs:
            ours = getattr(ecephys, name)
            if name != "mean_waveforms":
                assert set(theirs.files) == {str(u) for u in ours}
            for unit in theirs.files:
                np.testing.assert_array_equal(ours[int(unit)], theirs[unit], err_msg=name)


def test_optotagging(ecephys: BehaviorEcephysSession, reference: Path) -> None:
    theirs = load_frame(reference / "optotagging.json")
    assert_same(ecephys.optotagging_table, theirs, "optotagging")


def test_lfp_window_and_csd(
    ecephys: BehaviorEcephysSession, reference: Path, window: tuple[float, float]
) -> None:
    with np.load(reference / "lfp.npz") as theirs:
        lfp = ecephys.get_lfp(int(theirs["probe_id"])).sel(time=slice(*window))
        np.testing.assert_array_equal(lfp.values, theirs["data"])
        np.testing.assert_array_equal(lfp["time"].values, theirs["time"])
        np.testing.assert_array_equal(lfp["channel"].values, theirs["channel"])
        csd = ecephys.get_current_source_density(int(theirs["probe_id"]))
    with np.load(reference / "csd.npz") as theirs:
        np.testing.assert_array_equal(csd.values, theirs["data"])
        np.testing.assert_array_equal(csd["time"].values, theirs["time"])
        np.testing.assert_array_equal(csd["vertical_position"].values, theirs["vertical"])
        np.testing.assert_array_equal(csd["horizontal_position"].values, theirs["horizontal"])


@pytest.mark.parametrize("prefix", ["ecephys", "behavior"])
def test_behaviour_tables(
    prefix: str, ecephys: BehaviorEcephysSession, behavior: BehaviorSession, reference: Path
) -> None:
    session = ecephys if prefix == "ecephys" else behavior
    for name in ("trials", "licks", "rewards", "running_speed", "raw_running_speed"):
        assert_same(getattr(session, name), load_frame(reference / f"{prefix}_{name}.json"), name)
    ours = session.stimulus_presentations
    theirs = reference_presentations(reference / f"{prefix}_stimulus_presentations.json", ours)
    assert_same(ours, theirs, "stimulus_presentations")
    rolling = load_frame(reference / f"{prefix}_rolling.json")
    assert_same(session.get_rolling_performance_df(), rolling, "rolling performance")
    np.testing.assert_array_equal(
        session.get_reward_rate(), np.load(reference / f"{prefix}_reward_rate.npy")
    )
    np.testing.assert_array_equal(
        session.stimulus_timestamps, np.load(reference / f"{prefix}_stimulus_timestamps.npy")
    )


@pytest.mark.parametrize("prefix", ["ecephys", "behavior"])
def test_eye_tracking(
    prefix: str, ecephys: BehaviorEcephysSession, behavior: BehaviorSession, reference: Path
) -> None:
    session = ecephys if prefix == "ecephys" else behavior
    theirs = load_frame(reference / f"{prefix}_eye_tracking.json")
    ours = session.eye_tracking
    if theirs.empty:  # the "empty eye tracking" normalisation
        assert ours.empty and list(ours.columns) == list(theirs.columns)
        assert ours.index.name == theirs.index.name == "frame"
        return
    assert_same(ours, theirs, "eye_tracking")
    rig = json.loads((reference / f"{prefix}_rig.json").read_text())
    assert session.eye_tracking_rig_geometry == rig


@pytest.mark.parametrize("prefix", ["ecephys", "behavior"])
def test_metadata_task_parameters_and_metrics(
    prefix: str, ecephys: BehaviorEcephysSession, behavior: BehaviorSession, reference: Path
) -> None:
    session = ecephys if prefix == "ecephys" else behavior
    theirs = json.loads((reference / f"{prefix}_metadata.json").read_text())
    ours = dict(session.metadata)
    assert pd.Timestamp(theirs.pop("date_of_acquisition")) == ours.pop("date_of_acquisition")
    assert str(ours.pop("behavior_session_uuid")) == theirs.pop("behavior_session_uuid")
    assert ours == theirs and list(ours) == list(theirs)
    parameters = json.loads((reference / f"{prefix}_task_parameters.json").read_text())
    assert json.loads(json.dumps(session.task_parameters)) == parameters
    metrics = json.loads((reference / f"{prefix}_metrics.json").read_text())
    ours_metrics = session.get_performance_metrics()
    assert list(ours_metrics) == list(metrics)
    np.testing.assert_allclose(
        list(ours_metrics.values()), list(metrics.values()), rtol=1e-12, equal_nan=True
    )


def test_stimulus_templates(
    ecephys: BehaviorEcephysSession, behavior: BehaviorSession, reference: Path
) -> None:
    for prefix, session in (("ecephys", ecephys), ("behavior", behavior)):
        with np.load(reference / f"{prefix}_templates.npz") as theirs:
            ours = session.stimulus_templates
            assert list(ours.index) == theirs["names"].tolist()
            np.testing.assert_array_equal(np.stack(ours["warped"]), theirs["warped"])
            np.testing.assert_array_equal(np.stack(ours["unwarped"]), theirs["unwarped"])
