"""What ``brainobs demo`` says about the VBN sample: the release, its sessions and one session."""

from __future__ import annotations

import pandas as pd

from brainobs.vbn.cache import VisualBehaviorNeuropixelsProjectCache
from brainobs.vbn.session import BehaviorEcephysSession

Paragraphs = list[tuple[str, str]]


def tour(cache: VisualBehaviorNeuropixelsProjectCache) -> tuple[Paragraphs, int]:
    """Return the tour's paragraphs (heading, text) and the id of the session to report."""
    sessions = cache.get_ecephys_session_table()
    behavior = cache.get_behavior_session_table()
    units = cache.get_unit_table()
    good = cache.get_unit_table(
        amplitude_cutoff_maximum=0.1, presence_ratio_minimum=0.95, isi_violations_maximum=0.5
    )
    counts = units["structure_acronym"].value_counts()
    columns = ["mouse_id", "genotype", "session_type", "experience_level", "unit_count"]
    with pd.option_context("display.width", 160, "display.max_colwidth", 36):
        listing = sessions[[c for c in columns if c in sessions.columns]].to_string()
    session_id = _tagged_session(sessions, cache.get_probe_table())
    session = cache.get_ecephys_session(session_id)
    paragraphs = [
        (
            "Release",
            f"{len(sessions)} ecephys sessions, {len(behavior)} behavior sessions, "
            f"{sessions['mouse_id'].nunique()} mice, {len(units)} units",
        ),
        ("Ecephys sessions", listing),
        (
            "Units per area (all sessions, quality filters off)",
            ", ".join(f"{area} {n}" for area, n in counts.items())
            + f"\n{len(good)} of {len(units)} units pass the usual quality thresholds",
        ),
        _describe_session(session, sessions.loc[session_id]),
    ]
    return paragraphs, session_id


def _describe_session(session: BehaviorEcephysSession, row: pd.Series) -> tuple[str, str]:
    """Return a paragraph on what one session holds and how the mouse did."""
    units = session.get_units()
    metrics = session.get_performance_metrics()
    return (
        f"Session {row.name}: {row['session_type']}, {row['genotype']}",
        f"{len(units)} units on {len(session.probes)} probes, "
        f"{len(session.stimulus_presentations)} stimulus presentations, "
        f"{len(session.trials)} trials, {len(session.licks)} licks\n"
        f"task: hit rate {metrics['mean_hit_rate']:.2f}, false-alarm rate "
        f"{metrics['mean_false_alarm_rate']:.2f}, max d' {metrics['max_dprime']:.2f}, "
        f"{metrics['engaged_trial_count']} engaged trials",
    )


def _tagged_session(sessions: pd.DataFrame, probes: pd.DataFrame | None = None) -> int:
    """Return the first session of an Sst or Vip mouse (optotagged units), else the first.

    Among those, a session with LFP comes first (its report has every section).
    """
    tagged = sessions["genotype"].astype(str).str.contains("Sst|Vip", regex=True).to_numpy()
    candidates = sessions.index[tagged] if tagged.any() else sessions.index
    if probes is not None:
        recorded = set(probes.loc[probes["has_lfp_data"].astype(bool), "ecephys_session_id"])
        with_lfp = [s for s in candidates if s in recorded]
        candidates = with_lfp or list(candidates)
    return int(candidates[0])
