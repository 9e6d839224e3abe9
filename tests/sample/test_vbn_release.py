"""The default VBN sample release: layout, manifest, tables, NWB files, ground truth."""

from __future__ import annotations

import gzip
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from brainobs.sample import SampleRelease
from brainobs.storage.hashing import blake2b_file
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
