"""The drop-in flavour's classes have the reference toolkit's methods, members and returns."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from tests.support.reference import run_reference
from tests.tutorials.conftest import Prepared, copy_cache

#: Public names of the AllenSDK's cache the drop-in flavour lacks (docs/differences.md).
ABSENT = {"cloud_api_class", "from_lims"}
SCRIPT = r"""
import json, warnings
warnings.simplefilter("ignore")
from allensdk.brain_observatory.behavior.behavior_project_cache import (
    VisualBehaviorNeuropixelsProjectCache as Cache)
print(json.dumps({"cache": [n for n in dir(Cache) if not n.startswith("_")]}))
"""


@pytest.fixture(scope="module")
def dropin(prepared: Prepared) -> Any:
    from brainobs.allensdk import VisualBehaviorNeuropixelsProjectCache as DropIn

    return DropIn.from_local_cache(copy_cache(prepared.folder, prepared.scratch / "api"))


@pytest.mark.compat
def test_the_reference_methods_are_there() -> None:
    from brainobs.allensdk import VisualBehaviorNeuropixelsProjectCache

    reference = run_reference(SCRIPT)
    assert set(reference["cache"]) - set(dir(VisualBehaviorNeuropixelsProjectCache)) == ABSENT


def test_sessions_list_the_reference_members_and_have_them(dropin: Any) -> None:
    session = dropin.get_ecephys_session(dropin.get_ecephys_session_table().index[0])
    names = session.list_data_attributes_and_methods()
    assert "behavior_data_class" in names and "presentationwise_spike_counts" not in names
    assert all(hasattr(session, name) for name in names)
    probes = session.get_probes_obj()
    assert [p.name for p in probes] == list(session.probes["name"])
    assert probes.to_dataframe().equals(session.probes)
    behavior_class = session.behavior_data_class()
    assert behavior_class.__module__ == "brainobs.vbn.dropin"
    recording_day = dropin.get_ecephys_session_table()["behavior_session_id"].iloc[0]
    behaviour = dropin.get_behavior_session(recording_day)  # read from the session's file
    assert isinstance(behaviour, behavior_class)
    assert behaviour.trials["change_image_name"].dtype == object


def test_tables_and_returns_are_the_reference_kind(dropin: Any) -> None:
    from brainobs import VisualBehaviorNeuropixelsProjectCache as Modern

    sessions = dropin.get_ecephys_session_table(filter_abnormalities=False)
    assert sessions["structure_acronyms"].map(type).eq(str).all()
    assert sessions["date_of_acquisition"].dtype == object
    assert sessions["abnormal_histology"].dropna().tolist() == ["['Thalamus']"]
    assert sessions.columns.dtype == object and sessions.index.dtype == "Int64"
    assert len(dropin.get_ecephys_session_table()) == len(sessions) - 1
    channels = dropin.get_channel_table()
    assert "valid_data" in channels and not channels["valid_data"].all()
    assert set(channels["structure_acronym"]) >= {"root", "VISp", "MRN"}
    assert dropin.load_manifest(dropin.list_manifest_file_names()[0]) is None
    assert dropin.load_latest_manifest() is None
    modern = Modern.from_local_cache(dropin.fetch_api.cache_dir)
    typed = modern.get_ecephys_session_table(filter_abnormalities=False)
    assert isinstance(typed["structure_acronyms"].iloc[0], list)
    assert str(typed["date_of_acquisition"].dtype) == "datetime64[ns, UTC]"
    pd.testing.assert_index_equal(typed.index, sessions.index)
