"""The default VBN sample release: layout, manifest, tables, NWB files, ground truth."""

from __future__ import annotations

import gzip
import io
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from brainobs.sample import SampleRelease
from brainobs.storage.hashing import blake2b_file
from brainobs.storage.local import LocalFetcher
from brainobs.storage.manifest import Manifest
from brainobs.vbn.sample_release import write_vbn_release
from brainobs.vbn.schemas import VBN_SCHEMAS

REAL_LIST = Path(__file__).parents[1] / "data/real/manifests/vbn_manifest_v0.4.0_file_urls.txt.gz"
ROOT = "https://visual-behavior-neuropixels-data.s3.us-west-2.amazonaws.com/"


def _pattern(key: str) -> str:
    """Return a key with its digit runs replaced by a placeholder."""
    return re.sub(r"\d+", "N", key)


def test_keys_follow_the_real_key_patterns(vbn_release: SampleRelease) -> None:
    keys = {e.key for e in vbn_release.manifest.entries().values()}
    with gzip.open(REAL_LIST, "rt") as handle:
        real = {_pattern(line.split("?")[0].removeprefix(ROOT)) for line in handle if line.strip()}
    assert {_pattern(k) for k in keys} <= real
    kinds = {k.split("/")[1] for k in keys}
    assert kinds == {"project_metadata", "behavior_ecephys_sessions", "behavior_only_sessions"}


def test_manifest_hashes_and_sizes_match_files(vbn_release: SampleRelease) -> None:
    manifest = vbn_release.manifest
    assert manifest.data_pipeline[0]["name"] == "AllenSDK"
    for entry in manifest.entries().values():
        path = vbn_release.path_of(entry.key)
        assert entry.url.startswith(ROOT)
        assert path.stat().st_size == entry.size
        assert blake2b_file(path) == entry.file_hash


def _read(release: SampleRelease, name: str) -> pd.DataFrame:
    return pd.read_csv(release.metadata_path(name))


@pytest.mark.parametrize("name", sorted(VBN_SCHEMAS))
def test_csv_columns_equal_schema(vbn_release: SampleRelease, name: str) -> None:
    assert list(_read(vbn_release, name).columns) == VBN_SCHEMAS[name].csv_columns


def test_file_ids_match_manifest(vbn_release: SampleRelease) -> None:
    data_ids = set(vbn_release.manifest.data_files)
    behavior = _read(vbn_release, "behavior_sessions")
    ecephys = _read(vbn_release, "ecephys_sessions")
    probes = _read(vbn_release, "probes")
    with_ephys = behavior["ecephys_session_id"].notna()
    assert (behavior.loc[with_ephys, "file_id"] == -999).all()
    ids = pd.concat([behavior.loc[~with_ephys, "file_id"], ecephys["file_id"],
                     probes.loc[probes["has_lfp_data"], "file_id"]])  # fmt: skip
    assert set(ids.astype(str)) == data_ids
    assert (probes.loc[~probes["has_lfp_data"], "file_id"] == -999).all()


def test_units_table_is_consistent(vbn_release: SampleRelease) -> None:
    units = _read(vbn_release, "units")
    channels = _read(vbn_release, "channels")
    assert units["unit_id"].is_unique
    assert units["ecephys_channel_id"].isin(channels["ecephys_channel_id"]).all()
    assert units["amplitude_cutoff"].max() == 0.5
    assert 0.1 < (units["amplitude_cutoff"] == 0.5).mean() < 0.3
    assert set(units["quality"]) <= {"good", "noise"}
    assert units.groupby("ecephys_session_id").size().between(150, 400).all()


def test_nwb_files_open_in_pynwb(vbn_release: SampleRelease) -> None:
    import pynwb

    for entry in vbn_release.manifest.data_files.values():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pynwb.NWBHDF5IO(str(vbn_release.path_of(entry.key)), "r") as io:
                nwb = io.read()
                assert nwb.identifier


def test_nwbinspector_reports_no_critical(vbn_release: SampleRelease) -> None:
    from nwbinspector import Importance, inspect_nwbfile

    paths = {Path(e.key).name.split("_")[0]: vbn_release.path_of(e.key)
             for e in vbn_release.manifest.data_files.values()}  # fmt: skip
    for path in paths.values():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            messages = list(inspect_nwbfile(nwbfile_path=str(path)))
        # The released layout stores stimulus templates as images x height x width, which
        # check_data_orientation always flags; brainobs keeps the released layout.
        critical = [
            m for m in messages
            if m.importance == Importance.CRITICAL
            and not (m.check_function_name == "check_data_orientation"
                     and m.object_type == "StimulusTemplate")
        ]  # fmt: skip
        assert not critical, [str(m.message) for m in critical]


def test_tagged_units_follow_light_pulses(vbn_release: SampleRelease) -> None:
    import pynwb

    truth = vbn_release.unit_truth()
    ecephys = _read(vbn_release, "ecephys_sessions")
    for row in ecephys.itertuples():
        tagged = truth[(truth["ecephys_session_id"] == row.ecephys_session_id) & truth["tagged"]]
        assert tagged.empty == (row.genotype == "wt/wt")
        if tagged.empty:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pynwb.NWBHDF5IO(str(vbn_release.data_path(row.file_id)), "r") as io:
                nwb = io.read()
                units = nwb.units.to_dataframe(index=True)
                opto = nwb.processing["optotagging"]["optogenetic_stimulation"].to_dataframe()
        pulses = opto.loc[opto["stimulus_name"] == "pulse", "start_time"].to_numpy()
        untagged = truth[(truth["ecephys_session_id"] == row.ecephys_session_id) & ~truth["tagged"]]

        tagged_rate = [_pulse_response(units, u, pulses) for u in tagged["unit_id"]]
        other_rate = [_pulse_response(units, u, pulses) for u in untagged["unit_id"][:40]]
        assert np.mean(tagged_rate) > 0.3
        assert np.mean(other_rate) < 0.1


def _pulse_response(units: pd.DataFrame, unit_id: int, pulses: np.ndarray) -> float:
    """Return the mean number of spikes a unit fires 0-10 ms after a light pulse."""
    spikes = np.asarray(units.loc[unit_id, "spike_times"])
    lag = spikes[None, :] - pulses[:, None]
    return float(((lag > 0) & (lag < 0.01)).sum() / len(pulses))


def test_behaviour_ground_truth(vbn_release: SampleRelease) -> None:
    truth = vbn_release.behavior_truth()
    behavior = _read(vbn_release, "behavior_sessions")
    merged = behavior.merge(truth[["behavior_session_id", "dprime"]], on="behavior_session_id")
    for _, sessions in merged.groupby("mouse_id"):
        d = sessions.sort_values("session_number")["dprime"].to_numpy()
        assert d[-3] > d[0] + 1.0  # habituation skill well above the first training day


def test_ecephys_hit_rate_exceeds_false_alarm_rate(vbn_release: SampleRelease) -> None:
    import pynwb

    hits = misses = fas = crs = 0
    for file_id in _read(vbn_release, "ecephys_sessions")["file_id"]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pynwb.NWBHDF5IO(str(vbn_release.data_path(file_id)), "r") as io:
                trials = io.read().trials.to_dataframe()
        hits += trials["hit"].sum()
        misses += trials["miss"].sum()
        fas += trials["false_alarm"].sum()
        crs += trials["correct_reject"].sum()
    assert hits / (hits + misses) > fas / max(fas + crs, 1)


def test_same_seed_gives_identical_hashes(vbn_release: SampleRelease, tmp_path: Path) -> None:
    again = write_vbn_release(tmp_path, size="default", seed=0)
    first = {k: e.file_hash for k, e in vbn_release.manifest.entries().items()}
    second = {k: e.file_hash for k, e in again.manifest.entries().items()}
    assert first == second


def test_second_call_reuses_the_release(vbn_release: SampleRelease) -> None:
    before = vbn_release.manifest_path.stat().st_mtime_ns
    write_vbn_release(vbn_release.root, size="default", seed=0)
    assert vbn_release.manifest_path.stat().st_mtime_ns == before


def _session_file(release: SampleRelease, with_lfp: bool) -> tuple[pd.Series, pd.DataFrame]:
    """Return the row of a recording with (or without) LFP and its probes."""
    sessions = _read(release, "ecephys_sessions")
    probes = _read(release, "probes")
    lfp = set(probes.loc[probes["has_lfp_data"], "ecephys_session_id"])
    row = sessions[sessions["ecephys_session_id"].isin(lfp) == with_lfp].iloc[0]
    return row, probes[probes["ecephys_session_id"] == row["ecephys_session_id"]]


def test_recordings_follow_the_released_schedule(vbn_release: SampleRelease) -> None:
    from brainobs.vbn.session import BehaviorEcephysSession

    row, _ = _session_file(vbn_release, with_lfp=True)
    with BehaviorEcephysSession.from_nwb_path(vbn_release.data_path(row["file_id"])) as session:
        p = session.stimulus_presentations
        names = p.groupby("stimulus_block")["stimulus_name"].first().tolist()
        assert names[1] == names[3] == "spontaneous" and "gabor" in names[2]
        assert names[4] == "flash_250ms" and names[0] == names[5]
        gray = p[p["stimulus_name"] == "spontaneous"]["duration"].round().tolist()
        assert gray == [10.0, 289.0]
        active, replay = p[p["stimulus_block"] == 0], p[p["stimulus_block"] == 5]
        assert len(active) == len(replay) == 800 and active["active"].all()
        for column in ("image_name", "omitted", "is_change", "duration"):
            assert active[column].tolist() == replay[column].tolist(), column
        assert not replay["active"].any() and not replay["rewarded"].any()
        flashes = p[p["stimulus_name"] == "flash_250ms"]["start_time"].diff().dropna()
        assert np.allclose(flashes, 130 / 60, atol=0.01)
        assert len(session.rewards) >= 16 and p["end_time"].max() > 1600
        assert session.optotagging_table["start_time"].min() > p["end_time"].max()


def test_flags_are_stored_as_the_released_recordings_store_them(vbn_release: SampleRelease) -> None:
    import h5py

    row, _ = _session_file(vbn_release, with_lfp=False)
    with h5py.File(vbn_release.data_path(row["file_id"])) as h5:
        images = next(g for name, g in h5["intervals"].items() if name.startswith("Natural"))
        for flag in ("is_change", "omitted", "rewarded", "is_sham_change", "is_image_novel"):
            assert images[flag].dtype == np.float64, flag  # a nullable boolean in the full table
        assert images["active"].dtype == bool


def test_anatomy_areas_and_out_of_brain_labels(vbn_release: SampleRelease) -> None:
    channels = _read(vbn_release, "channels")
    units = _read(vbn_release, "units")
    probes = _read(vbn_release, "probes")
    assert channels["structure_acronym"].notna().all()
    assert (
        (channels["structure_acronym"] == "root").groupby(channels["ecephys_probe_id"]).any().all()
    )
    assert "root" not in set(units["structure_acronym"])
    per_session = units.groupby("ecephys_session_id")["structure_acronym"]
    assert per_session.apply(lambda a: (a == "MRN").sum()).min() >= 10
    visp = probes[probes["structure_acronyms"].str.contains("'VISp',")]
    assert (visp["name"] == "probeC").all() and len(visp) == len(
        _read(vbn_release, "ecephys_sessions")
    )
    midbrain = units[units["structure_acronym"].isin(["APN", "MRN"])]
    assert midbrain["waveform_duration"].median() < 0.35 < units["waveform_duration"].median()


def test_lfp_covers_the_windows_the_tutorials_read(vbn_release: SampleRelease) -> None:
    import h5py

    _, probes = _session_file(vbn_release, with_lfp=True)
    probe = probes[probes["has_lfp_data"]].iloc[0]
    assert (_read(vbn_release, "probes")["has_lfp_data"]).sum() == 1
    with h5py.File(vbn_release.data_path(probe["file_id"])) as h5:
        series = h5[f"acquisition/probe_{probe['ecephys_probe_id']}_lfp"]
        times = next(iter(series.values()))["timestamps"][:]
    for t0, t1 in ((100.0, 101.0), (500.0, 510.0)):
        inside = times[(times >= t0) & (times <= t1)]
        assert len(inside) >= 1249 * (t1 - t0) and np.diff(inside).max() < 0.001


def test_sessions_of_the_release_kind(vbn_release: SampleRelease) -> None:
    sessions = _read(vbn_release, "ecephys_sessions")
    flagged = sessions[sessions["abnormal_histology"].notna()]
    assert len(flagged) == 1 and flagged["abnormal_activity"].notna().all()
    assert flagged["genotype"].iloc[0] == "wt/wt" and flagged["session_number"].iloc[0] == 2
    behavior = _read(vbn_release, "behavior_sessions")
    habituation = behavior[behavior["session_type"].str.startswith("HABITUATION")]
    truth = vbn_release.behavior_truth().set_index("behavior_session_id")
    assert (truth.loc[habituation["behavior_session_id"], "n_trials"] > 100).all()


def test_manifest_versions_differ_as_the_changelog_says(vbn_release: SampleRelease) -> None:
    import h5py

    folder = vbn_release.project_dir / "manifests"
    earlier, latest = (Manifest.from_path(p) for p in sorted(folder.glob("*.json")))
    assert (earlier.manifest_version, latest.manifest_version) == ("0.4.0", "0.5.0")
    changed = {k for k, e in latest.entries().items() if earlier.entries()[k] != e}
    assert len(changed) == 2 and "metadata/units" in changed
    [nwb] = changed - {"metadata/units"}
    old, new = earlier.entries()[nwb], latest.entries()[nwb]
    assert old.key == new.key and old.version_id != new.version_id
    fetcher = LocalFetcher(vbn_release.root)
    entry = earlier.metadata_files["units"]
    stream = fetcher.open(entry.key, entry.version_id)
    old_units = pd.read_csv(io.BytesIO(b"".join(stream.chunks(1 << 20))))
    stream.close()
    new_units = _read(vbn_release, "units")
    assert "quality" not in old_units and "quality" in new_units
    fixed = vbn_release.info()["amplitudes_fixed_in_latest"]
    ratio = old_units["amplitude"] / new_units["amplitude"]
    assert np.allclose(ratio[new_units["ecephys_session_id"].isin(fixed)], 2.0)
    assert np.allclose(ratio[~new_units["ecephys_session_id"].isin(fixed)], 1.0)
    older = fetcher.path_of(f".versions/{old.version_id}/{old.key}")
    with h5py.File(older) as before, h5py.File(vbn_release.path_of(new.key)) as after:
        for name, factor in (("spike_amplitudes", 2), ("spike_times", 1)):
            np.testing.assert_array_equal(
                before[f"units/{name}"][:1000], factor * after[f"units/{name}"][:1000]
            )
