"""``brainobs summarize vcn``: every unit's tuning metrics, keyed by the sessions' files."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import brainobs
from brainobs import EcephysProjectCache
from brainobs.vcn.sample_release import VcnSampleRelease
from brainobs.vcn.summary import UNIT_COLUMNS


@pytest.fixture(scope="module")
def run(vcn_release: VcnSampleRelease, tmp_path_factory: pytest.TempPathFactory):
    cache = EcephysProjectCache.from_source(str(vcn_release.root), tmp_path_factory.mktemp("s"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = brainobs.summarize(cache)
    return cache, result


def test_every_session_unit_has_a_row_of_metrics(run, vcn_release: VcnSampleRelease) -> None:
    cache, result = run
    assert result.ok and sorted(result.computed) == sorted(cache.get_session_table().index)
    units = result.table("units").to_table().to_pandas()
    assert list(units.columns) == [name for name, _ in UNIT_COLUMNS]
    assert len(units) == cache.get_session_table()["unit_count"].sum()
    fc = units[units["session_type"] == "functional_connectivity"]
    assert fc["pref_sf_sg"].isna().all() and fc["pref_speed_dm"].notna().any()
    truth = vcn_release.unit_truth().set_index("unit_id").loc[units["unit_id"]]
    strong = (truth["visual"] & (truth["response_amplitude"] > 10)).to_numpy()
    dg = units["pref_ori_dg"].to_numpy()[strong]
    assert np.mean(dg == truth["preferred_direction"].to_numpy()[strong]) > 0.85


def test_a_second_run_finds_every_partition_current(run) -> None:
    cache, first = run
    again = brainobs.summarize(cache)
    assert again.computed == [] and sorted(again.reused) == sorted(first.computed)
    assert again.out == first.out == cache.tree.cache_dir / "summaries" / "vcn"
    identity = cache.session_file_identity(int(cache.get_session_table().index[0]))
    assert identity.startswith("size=")
