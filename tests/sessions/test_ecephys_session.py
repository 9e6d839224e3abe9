"""BehaviorEcephysSession on the sample release: units, spikes, LFP; local = streamed; laziness."""

from __future__ import annotations

import h5py
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from brainobs.analysis.optotagging import optotagging_responses
from brainobs.errors import MissingDataError, UnknownIdError
from brainobs.sample import SampleRelease
from brainobs.sessions.behavior import BehaviorSession
from brainobs.vbn.cache import VisualBehaviorNeuropixelsProjectCache as Cache
from brainobs.vbn.session import BehaviorEcephysSession
from tests.sessions.conftest import SMALL_BLOCKS

UNIT_COLUMNS = [
    "PT_ratio", "amplitude", "amplitude_cutoff", "cluster_id", "cumulative_drift", "d_prime",
    "firing_rate", "isi_violations", "isolation_distance", "l_ratio", "local_index",
    "max_drift", "nn_hit_rate", "nn_miss_rate", "peak_channel_id", "presence_ratio",
    "quality", "recovery_slope", "repolarization_slope", "silhouette_score", "snr", "spread",
    "velocity_above", "velocity_below", "waveform_duration",
]  # fmt: skip
CHANNEL_COLUMNS = [
    "anterior_posterior_ccf_coordinate", "dorsal_ventral_ccf_coordinate", "filtering",
    "left_right_ccf_coordinate", "probe_channel_number", "probe_horizontal_position",
    "probe_id", "probe_vertical_position", "structure_acronym",
]  # fmt: skip


@pytest.fixture(scope="module")
def session(local_cache: Cache, ecephys_row: pd.Series) -> BehaviorEcephysSession:
    return local_cache.get_ecephys_session(int(ecephys_row.name))


@pytest.fixture(scope="module")
def streamed(s3_cache: Cache, ecephys_row: pd.Series) -> BehaviorEcephysSession:
    return s3_cache.get_ecephys_session(int(ecephys_row.name), stream=True)


def lfp_probe(session: BehaviorEcephysSession) -> int:
    return int(session.probes.index[session.probes["has_lfp_data"]][0])


def test_tables_match_the_metadata_tables(
    session: BehaviorEcephysSession, local_cache: Cache, ecephys_row: pd.Series
) -> None:
    units = session.get_units()
    assert units.index.name == "id" and list(units.columns) == UNIT_COLUMNS
    expected = local_cache.get_unit_table()
    expected = expected[expected["ecephys_session_id"] == ecephys_row.name]
    assert set(units.index) == set(expected.index)
    assert (units["peak_channel_id"] == expected.loc[units.index, "ecephys_channel_id"]).all()
    channels = session.get_channels(filter_by_validity=False)
    assert len(channels) == ecephys_row["channel_count"]
    assert list(session.get_channels().columns) == CHANNEL_COLUMNS
    assert len(session.get_channels()) == int(channels["valid_data"].sum())
    probes = session.probes
    assert len(probes) == ecephys_row["probe_count"]
    assert list(probes.columns) == [
        "name", "location", "sampling_rate", "lfp_sampling_rate", "has_lfp_data"
    ]  # fmt: skip
    table = local_cache.get_probe_table().loc[probes.index]
    assert (probes["has_lfp_data"] == table["has_lfp_data"]).all()
    assert session.metadata["ecephys_session_id"] == ecephys_row.name
    assert session.metadata["behavior_session_id"] == ecephys_row["behavior_session_id"]


def test_units_are_in_probe_order(session: BehaviorEcephysSession) -> None:
    units = session.get_units()
    channels = session.get_channels(filter_by_validity=False)
    probe_of_unit = channels.loc[units["peak_channel_id"], "probe_id"].to_numpy()
    rank = pd.Index(session.probes.index).get_indexer(probe_of_unit)
    assert np.all(np.diff(rank) >= 0)


def test_unit_filters(session: BehaviorEcephysSession) -> None:
    units = session.get_units()
    valid = session.get_units(filter_by_validity=True)
    assert "quality" not in valid.columns and 0 < len(valid) < len(units)
    in_brain = session.get_units(filter_out_of_brain_units=True)
    acronyms = session.get_channels(filter_by_validity=False)["structure_acronym"]
    assert acronyms.loc[in_brain["peak_channel_id"]].notna().all()
    zero = session.get_units(amplitude_cutoff_maximum=0)
    assert (zero["amplitude_cutoff"] <= 0).all() and len(zero) < len(units)


def test_spike_times_of_a_subset(session: BehaviorEcephysSession) -> None:
    every = session.spike_times
    assert list(every) == session.get_units().index.tolist()
    subset = session.get_units().index[[5, 2, 40]]
    some = session.get_spike_times(subset)
    assert set(some) == set(subset)
    for unit in subset:
        np.testing.assert_array_equal(some[unit], every[unit])
        assert np.all(np.diff(some[unit]) >= 0)
    assert len(session.spike_amplitudes[subset[0]]) == len(every[subset[0]])
    assert session.mean_waveforms[subset[0]].shape[0] == 384


def test_spike_times_are_views_of_one_read(session: BehaviorEcephysSession) -> None:
    # All units come from one read of the dataset, in file order: each unit's array is a view
    # into it (no copy per unit), which the alignment kernel then uses in place.
    spikes = session.get_spike_times()
    bases = {id(times.base) for times in spikes.values()}
    assert len(bases) == 1 and next(iter(spikes.values())).base is not None
    with h5py.File(session._file.source.path, "r") as h5:
        ends = h5["units/spike_times_index"][()].astype(np.int64)
        ids = h5["units/id"][()]
        flat = h5["units/spike_times"][()]
    starts = np.concatenate([[0], ends[:-1]])
    for position in (0, 5, len(ids) - 1):
        expected = flat[starts[position] : ends[position]]
        np.testing.assert_array_equal(spikes[int(ids[position])], expected)
    subset = [int(ids[7]), int(ids[3]), int(ids[4])]  # asked out of order
    picked = session.get_spike_times(subset)
    assert sorted(picked) == sorted(subset)
    for unit in subset:
        np.testing.assert_array_equal(picked[unit], spikes[unit])


def test_tagged_units_follow_the_light(local_cache: Cache, vbn_release: SampleRelease) -> None:
    truth = vbn_release.unit_truth()
    sessions = local_cache.get_ecephys_session_table(filter_abnormalities=False)
    for session_id in sessions.index[sessions["genotype"].str.match("(Sst|Vip)")]:
        tagged = truth[(truth["ecephys_session_id"] == session_id) & truth["tagged"]]
        if tagged.empty:
            continue
        session = local_cache.get_ecephys_session(int(session_id))
        responses = optotagging_responses(
            session.spike_times, session.optotagging_table, level=None, alpha=0.01
        )
        is_tagged = responses.index.isin(tagged["unit_id"])
        assert responses.loc[is_tagged, "is_tagged"].mean() > 0.5
        assert responses.loc[~is_tagged, "is_tagged"].mean() < 0.1
        return
    pytest.fail("no Sst/Vip session with tagged units in the sample release")


def test_local_and_streamed_sessions_are_identical(
    session: BehaviorEcephysSession, streamed: BehaviorEcephysSession
) -> None:
    assert streamed.nwb_file.remote is not None
    pd.testing.assert_frame_equal(streamed.get_units(), session.get_units())
    pd.testing.assert_frame_equal(streamed.get_channels(False), session.get_channels(False))
    pd.testing.assert_frame_equal(streamed.probes, session.probes)
    pd.testing.assert_frame_equal(streamed.optotagging_table, session.optotagging_table)
    pd.testing.assert_frame_equal(streamed.stimulus_presentations, session.stimulus_presentations)
    pd.testing.assert_frame_equal(streamed.eye_tracking, session.eye_tracking)
    for unit, times in session.spike_times.items():
        np.testing.assert_array_equal(streamed.spike_times[unit], times)
    probe = lfp_probe(session)
    window = slice(*session.get_lfp(probe)["time"].values[[100, 600]])
    xr.testing.assert_identical(
        streamed.get_lfp(probe).sel(time=window).load(), session.get_lfp(probe).sel(time=window)
    )


def test_one_structures_spike_times_read_a_fraction_of_the_file(
    s3_cache: Cache, ecephys_row: pd.Series
) -> None:
    session = s3_cache.get_ecephys_session(
        int(ecephys_row.name), stream=True, block_cache=SMALL_BLOCKS
    )
    size = s3_cache.fetch_api.manifest.data_file(int(ecephys_row["file_id"])).size
    assert size is not None
    assert session.nwb_file.bytes_transferred < 0.02 * size  # construction: metadata only
    units = session.get_units()
    before = session.nwb_file.bytes_transferred
    assert before < 0.1 * size  # the units table without any spike
    table = s3_cache.get_unit_table()
    chosen = table.index[
        (table["ecephys_session_id"] == ecephys_row.name) & (table["structure_acronym"] == "VISp")
    ]
    spikes = session.get_spike_times(chosen)
    assert len(spikes) == len(chosen) > 0
    used = session.nwb_file.bytes_transferred - before
    everything = sum(v.nbytes for v in session.get_spike_times(units.index).values())
    assert used < 0.5 * everything


def test_lfp_is_lazy_and_reads_only_the_window(
    s3_cache: Cache, ecephys_row: pd.Series, vbn_release: SampleRelease
) -> None:
    session = s3_cache.get_ecephys_session(
        int(ecephys_row.name), stream=True, block_cache=SMALL_BLOCKS
    )
    probe = lfp_probe(session)
    lfp = session.get_lfp(probe)
    assert lfp.name == "LFP" and lfp.dims == ("time", "channel") and lfp.dtype == np.float32
    assert lfp.attrs["unit"] == "volts"
    file = session._lfp_files.file_of(probe, "")
    start = file.bytes_transferred
    window = lfp.sel(time=slice(float(lfp.time[1000]), float(lfp.time[1500])))
    assert file.bytes_transferred == start  # selecting reads nothing
    values = window.values
    used = file.bytes_transferred - start
    file_id = int(s3_cache.get_probe_table().loc[probe, "file_id"])
    lfp_path = vbn_release.data_path(file_id)
    with h5py.File(lfp_path) as h5:
        stored = h5[f"/acquisition/probe_{probe}_lfp/probe_{probe}_lfp_data/data"]
        np.testing.assert_array_equal(values, stored[1000:1501])
        # the window lies in the first of the dataset's two chunks: only that one travels
        assert stored.chunks[0] > 1501 and used < 0.75 * stored.id.get_storage_size()
    assert int(session.probes.loc[probe, "lfp_sampling_rate"]) == 1249


def test_current_source_density(session: BehaviorEcephysSession) -> None:
    csd = session.get_current_source_density(lfp_probe(session))
    assert csd.name == "CSD" and csd.dims == ("virtual_channel_index", "time")
    assert csd.sizes["virtual_channel_index"] == 384
    assert csd["vertical_position"].dtype.kind == "i"


def test_probe_without_lfp_raises(session: BehaviorEcephysSession) -> None:
    no_lfp = int(session.probes.index[~session.probes["has_lfp_data"]][0])
    with pytest.raises(MissingDataError, match="has no LFP data"):
        session.get_lfp(no_lfp)
    with pytest.raises(MissingDataError, match="has no LFP data"):
        session.get_current_source_density(no_lfp)
    with pytest.raises(UnknownIdError, match="no probe 7"):
        session.get_lfp(7)


def test_from_nwb_path_with_probe_data_path_map(
    session: BehaviorEcephysSession, local_cache: Cache, ecephys_row: pd.Series
) -> None:
    path = local_cache.fetch_api.data_path(int(ecephys_row["file_id"]))
    bare = BehaviorEcephysSession.from_nwb_path(path)
    probe = lfp_probe(session)
    with pytest.raises(MissingDataError, match="probe_data_path_map"):
        bare.get_lfp(probe)
    name = str(session.probes.loc[probe, "name"])
    lfp_file = local_cache.fetch_api.data_path(
        int(local_cache.get_probe_table().loc[probe, "file_id"])
    )
    mapped = BehaviorEcephysSession.from_nwb_path(path, probe_data_path_map={name: lfp_file})
    xr.testing.assert_identical(mapped.get_lfp(probe), session.get_lfp(probe))


def test_unknown_ecephys_session_id(local_cache: Cache) -> None:
    with pytest.raises(UnknownIdError, match="get_ecephys_session_table") as caught:
        local_cache.get_ecephys_session(99)
    assert "brainobs sessions vbn" in str(caught.value)


def test_list_data_attributes_and_methods(session: BehaviorEcephysSession) -> None:
    from brainobs.vbn.dropin import REFERENCE_ECEPHYS_MEMBERS

    names = session.list_data_attributes_and_methods()
    assert set(REFERENCE_ECEPHYS_MEMBERS) < set(names)  # the reference's, and extras
    assert all(hasattr(session, name) for name in names)
    assert [p.name for p in session.get_probes_obj()] == session.probes["name"].tolist()
    assert session.behavior_data_class() is BehaviorSession
