"""The VCN project cache over the sample: reference tables, default unit filters, metrics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from brainobs import EcephysProjectCache
from brainobs.errors import InvalidInputError, UnknownIdError
from brainobs.vcn.sample_release import VcnSampleRelease
from brainobs.vcn.schemas import metric_columns
from tests.conftest import seed_samples


@pytest.fixture(scope="module")
def cache(vcn_release: VcnSampleRelease, tmp_path_factory: pytest.TempPathFactory):
    return EcephysProjectCache.from_source(
        str(vcn_release.root), tmp_path_factory.mktemp("vcn_cache")
    )


@pytest.fixture(scope="module")
def raw(vcn_release: VcnSampleRelease) -> dict[str, pd.DataFrame]:
    """The sample's four tables as plain pandas reads them."""
    read = lambda n: pd.read_csv(vcn_release.metadata_path(n), index_col="id")  # noqa: E731
    return {n: read(n) for n in ("sessions", "probes", "channels", "units")}


def _session_of_units(raw: dict[str, pd.DataFrame]) -> pd.Series:
    probe = raw["units"]["ecephys_channel_id"].map(raw["channels"]["ecephys_probe_id"])
    return probe.map(raw["probes"]["ecephys_session_id"])


def _default_mask(units: pd.DataFrame) -> pd.Series:
    return (
        (units["quality"] == "good")
        & (units["amplitude_cutoff"] <= 0.1)
        & (units["presence_ratio"] >= 0.95)
        & (units["isi_violations"] <= 0.5)
    )


def test_session_table_counts_and_structures(cache, raw) -> None:
    sessions = cache.get_session_table()
    assert sessions.index.name == "id" and sessions.index.dtype == np.int64
    assert list(sessions.columns) == [
        "published_at", "specimen_id", "session_type", "age_in_days", "sex", "full_genotype",
        "unit_count", "channel_count", "probe_count", "ecephys_structure_acronyms",
    ]  # fmt: skip
    units = raw["units"]
    expected = units[_default_mask(units)].groupby(_session_of_units(raw)).size()
    assert sessions["unit_count"].to_dict() == expected.to_dict()
    probes = raw["probes"]
    assert (
        sessions["probe_count"].to_dict() == probes.groupby("ecephys_session_id").size().to_dict()
    )
    first = sessions.index[0]
    channels = raw["channels"][raw["channels"]["ecephys_probe_id"].isin(
        probes.index[probes["ecephys_session_id"] == first])]  # fmt: skip
    structures = sessions.loc[first, "ecephys_structure_acronyms"]
    assert isinstance(structures, list)
    assert [s for s in structures if isinstance(s, str)] == list(
        channels["ecephys_structure_acronym"].dropna().unique()
    )
    assert any(isinstance(s, float) and np.isnan(s) for s in structures)  # NaN kept, as reference


def test_probes_channels_and_their_lfp_rate(cache, raw) -> None:
    probes = cache.get_probes()
    stored = raw["probes"]
    np.testing.assert_allclose(
        probes["lfp_sampling_rate"],
        stored["lfp_sampling_rate"] / stored["lfp_temporal_subsampling_factor"],
    )
    assert "air_channel_index" not in probes and "unit_count" in probes
    channels = cache.get_channels()
    assert len(channels) == len(raw["channels"]) and channels.index.name == "id"
    assert channels["unit_count"].sum() == _default_mask(raw["units"]).sum()
    assert {"ecephys_session_id", "phase", "has_lfp_data"} <= set(channels.columns)


def test_units_default_filters_and_nan_metrics(cache, raw) -> None:
    units = raw["units"]
    assert units["amplitude_cutoff"].isna().any()  # the sample has units with NaN metrics
    table = cache.get_units()
    assert sorted(table.index) == sorted(units.index[_default_mask(units)])
    assert "quality" not in table and "waveform_PT_ratio" in table and "L_ratio" in table
    assert {"local_index_unit", "local_index_channel", "genotype"} <= set(table.columns)
    # a threshold turned off keeps units with a NaN in that metric (the reference drops them)
    relaxed = cache.get_units(amplitude_cutoff_maximum=None)
    expected = (units["quality"] == "good") & (units["presence_ratio"] >= 0.95) & (
        units["isi_violations"] <= 0.5)  # fmt: skip
    assert sorted(relaxed.index) == sorted(units.index[expected])
    nan_cutoff = units.index[units["amplitude_cutoff"].isna() & expected]
    assert len(nan_cutoff) and set(nan_cutoff) <= set(relaxed.index)
    assert not set(nan_cutoff) & set(table.index)
    every = cache.get_units(filter_by_validity=False, amplitude_cutoff_maximum=np.inf,
                            presence_ratio_minimum=None, isi_violations_maximum=None)  # fmt: skip
    assert len(every) == len(units) and "quality" in every
    strict = cache.get_units(presence_ratio_minimum=0.99)
    assert (strict["presence_ratio"] >= 0.99).all() and len(strict) < len(table)


def test_unknown_unit_filter_is_refused(cache) -> None:
    with pytest.raises(InvalidInputError, match="amplitude_cutoff_maximum"):
        cache.get_units(amplitude_cutof_maximum=0.2)


@pytest.mark.parametrize("session_type", ["brain_observatory_1.1", "functional_connectivity"])
def test_metrics_by_session_type(cache, raw, session_type: str) -> None:
    bare = cache.get_unit_analysis_metrics_by_session_type(session_type, annotate=False)
    assert bare.index.name == "ecephys_unit_id"
    assert list(bare.columns) == list(metric_columns(session_type))
    annotated = cache.get_unit_analysis_metrics_by_session_type(session_type)
    units = cache.get_units()
    assert set(annotated.index) == set(units.index) & set(bare.index)
    assert list(annotated.columns) == [*units.columns, *bare.columns]
    assert annotated.index.name == "ecephys_unit_id"


def test_metrics_for_one_session(cache) -> None:
    sessions = cache.get_session_table()
    sid = int(sessions.index[0])
    metrics = cache.get_unit_analysis_metrics_for_session(sid)
    assert (metrics["ecephys_session_id"] == sid).all() and len(metrics) > 0
    assert len(metrics) == sessions.loc[sid, "unit_count"]


def test_unknown_session_type_and_id(cache) -> None:
    with pytest.raises(ValueError, match="Available types"):
        cache.get_unit_analysis_metrics_by_session_type("visual_behavior")
    with pytest.raises(UnknownIdError, match="no session 42"):
        cache.get_session_data(42)


def test_convenience_lists(cache, raw) -> None:
    assert set(cache.get_all_session_types()) == {"brain_observatory_1.1",
                                                  "functional_connectivity"}  # fmt: skip
    assert set(cache.get_all_full_genotypes()) == set(raw["sessions"]["genotype"])
    assert "VISp" in cache.get_structure_acronyms()
    assert set(cache.get_all_sexes()) <= {"M", "F"} and len(cache.get_all_ages()) >= 1


def test_versioned_manifest_methods_say_why_not(cache) -> None:
    with pytest.raises(InvalidInputError, match="no versioned manifests"):
        cache.list_manifest_file_names()
    path = Path(cache.get_cache_path(None, "session_nwb", 7, 7))
    assert path == cache.tree.folder / "session_7" / "session_7.nwb"


def test_from_sample_and_top_level_import(tmp_path: Path, vcn_release: VcnSampleRelease) -> None:
    import brainobs

    seed_samples(tmp_path, vcn_release)  # the writing itself: tests/sample/test_vcn_release.py
    sample = brainobs.EcephysProjectCache.from_sample(tmp_path)
    assert isinstance(sample, EcephysProjectCache)
    assert len(sample.get_session_table()) == 3
    assert "EcephysSession" in brainobs.__all__
