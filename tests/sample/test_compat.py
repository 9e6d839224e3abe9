"""The reference toolkit (AllenSDK 2.16.2, its own venv) opens the sample files."""

from __future__ import annotations

import json
import subprocess

import pandas as pd
import pytest

from brainobs.sample import SampleRelease
from tests.support.reference import reference_python

pytestmark = pytest.mark.compat

SCRIPT = r"""
import json, sys, warnings
warnings.simplefilter("ignore")
from allensdk.brain_observatory.behavior.behavior_session import BehaviorSession
from allensdk.brain_observatory.ecephys.behavior_ecephys_session import BehaviorEcephysSession
e = BehaviorEcephysSession.from_nwb_path(sys.argv[1])
b = BehaviorSession.from_nwb_path(sys.argv[2])
print(json.dumps({
    "units": list(e.get_units().shape),
    "channels": list(e.get_channels(filter_by_validity=False).shape),
    "probes": list(e.probes.shape), "trials": list(e.trials.shape),
    "presentations": list(e.stimulus_presentations.shape),
    "blocks": sorted(int(x) for x in e.stimulus_presentations["stimulus_block"].unique()),
    "opto": list(e.optotagging_table.shape), "eye": list(e.eye_tracking.shape),
    "spike_trains": len(e.spike_times),
    "waveform": list(next(iter(e.mean_waveforms.values())).shape),
    "behavior_trials": list(b.trials.shape),
    "behavior_presentations": list(b.stimulus_presentations.shape),
    "licks": list(b.licks.shape), "rewards": list(b.rewards.shape),
}))
"""


def test_reference_toolkit_opens_sample_files(vbn_release: SampleRelease) -> None:
    python = reference_python()
    ecephys = pd.read_csv(vbn_release.metadata_path("ecephys_sessions")).iloc[0]
    behavior = pd.read_csv(vbn_release.metadata_path("behavior_sessions"))
    behavior_only = behavior[behavior["file_id"] > 0].iloc[-1]
    result = subprocess.run(
        [str(python), "-c", SCRIPT, str(vbn_release.data_path(ecephys["file_id"])),
         str(vbn_release.data_path(behavior_only["file_id"]))],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    shapes = json.loads(result.stdout.strip().splitlines()[-1])
    units = pd.read_csv(vbn_release.metadata_path("units"))
    assert (
        shapes["units"][0] == (units["ecephys_session_id"] == ecephys["ecephys_session_id"]).sum()
    )
    assert shapes["units"][1] == 25
    assert shapes["probes"][0] == ecephys["probe_count"]
    assert shapes["channels"][0] == ecephys["channel_count"]
    assert shapes["blocks"] == [0, 1, 2, 3, 4, 5]
    assert shapes["opto"][1] == 6 and shapes["trials"][1] == 20
    assert shapes["spike_trains"] == shapes["units"][0]
    assert shapes["waveform"] == [384, 82]
    assert shapes["behavior_trials"][1] == 21 and shapes["licks"][1] == 2
