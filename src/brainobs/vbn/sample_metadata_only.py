"""Rows of the ecephys sessions that the benchmark release lists without NWB files.

The benchmark release stands for the whole VBN release in its metadata tables (153 ecephys
sessions, ~900 probes, ~350,000 channels, 319,013 units) but writes only one realistic session
file: simulating and storing 153 sessions of ~10^8 spikes each would take hours and terabytes.

The scheme, chosen so that no table or manifest entry points to something that is not there:

* every session is a full row of ``ecephys_sessions.csv`` with the behavior session of its
  recording day in ``behavior_sessions.csv``; its probes, channels and units are rows of
  ``probes.csv``, ``channels.csv`` and ``units.csv``, drawn with the same models as the
  written session (placement along the probe tracks, area rates, quality metrics), so table
  queries, filters and joins behave as on the real release;
* a session without a file has ``file_id`` -999, and so do its probes: -999 is the release's
  own marker for "no file" (behavior sessions recorded with ecephys carry it). The manifest
  lists exactly the files that exist, so ``brainobs download`` of such a session fails with an
  unknown-id error instead of fetching something, and ``has_lfp_data`` still says whether
  the recording had LFP;
* ``firing_rate`` of their units is the rate the unit's simulated process would fire over a
  session (at real rates: these sessions stand for real ~2.5 h recordings), since no spikes
  are drawn;
* the mice of these sessions have only their recording days listed; ``session_number`` and
  the ``prior_exposures_*`` columns count the training sessions they would have had.

The ground truth (``release.json``) lists which ecephys sessions have files.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from brainobs.sample.behavior_session import stimulus_of
from brainobs.vbn.sample_design import EcephysSessionPlan
from brainobs.vbn.sample_session import probe_table
from brainobs.vbn.sample_simulation import session_units

#: Mean running speed (cm/s) of the simulated mice and the session-averaged evoked drive
#: (fraction of a unit's response amplitude) used for firing rates without spikes.
MEAN_SPEED = 5.0
EVOKED_DUTY = 0.03


@dataclass
class MetadataOnlySession:
    """The table rows of one session listed without a file."""

    probes: pd.DataFrame
    channels: pd.DataFrame
    units: pd.DataFrame


def metadata_only_session(plan: EcephysSessionPlan) -> MetadataOnlySession:
    """Return the probe, channel and unit rows of a session that has no NWB file."""
    rng = np.random.default_rng([plan.behavior.seed, 41])
    _, images = stimulus_of(plan.behavior.session_type)
    channels, population = session_units(rng, plan, images, rate_scale=1.0)
    units = population.table
    units["firing_rate"] = expected_firing_rate(rng, units)
    probes = probe_table(plan, channels, units, rng)
    return MetadataOnlySession(probes, channels, units)


def expected_firing_rate(rng: np.random.Generator, units: pd.DataFrame) -> np.ndarray:
    """Return the session-averaged rate (Hz) of each unit's simulated process, with jitter."""
    running = np.clip(1 + units["running_modulation"].to_numpy() * MEAN_SPEED / 20, 0.2, 3)
    rate = units["baseline_rate"].to_numpy() * running
    rate = rate + EVOKED_DUTY * units["response_amplitude"].to_numpy()
    return np.asarray(rate * rng.lognormal(0.0, 0.1, len(units)))
