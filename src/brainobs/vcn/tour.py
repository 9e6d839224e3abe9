"""What ``brainobs demo`` says about the VCN sample: the release, its sessions and one session."""

from __future__ import annotations

import warnings

import pandas as pd

from brainobs.vcn.cache import EcephysProjectCache

Paragraphs = list[tuple[str, str]]


def tour(cache: EcephysProjectCache) -> tuple[Paragraphs, int]:
    """Return the tour's paragraphs (heading, text) and the id of the session to report."""
    sessions = cache.get_session_table()
    units = cache.get_units()
    every = cache.get_units(filter_by_validity=False, amplitude_cutoff_maximum=None,
                            presence_ratio_minimum=None, isi_violations_maximum=None)  # fmt: skip
    columns = ["session_type", "full_genotype", "unit_count", "probe_count"]
    with pd.option_context("display.width", 160, "display.max_colwidth", 48):
        listing = sessions[columns].to_string()
    counts = units["ecephys_structure_acronym"].value_counts()
    session_id = int(sessions.index[sessions["session_type"] == "brain_observatory_1.1"][0])
    paragraphs = [
        ("Release", f"{len(sessions)} sessions of {sessions['session_type'].nunique()} types, "
                    f"{len(every)} units ({len(units)} pass the default quality filters)"),
        ("Sessions", listing),
        ("Units per area (default filters)",
         ", ".join(f"{area} {n}" for area, n in counts.items())),
        _describe_session(cache, session_id),
    ]  # fmt: skip
    return paragraphs, session_id


def _describe_session(cache: EcephysProjectCache, session_id: int) -> tuple[str, str]:
    """Return a paragraph on what one session holds and how its units are tuned."""
    session = cache.get_session_data(session_id)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the sample's invalid intervals: noted in the report
        metrics = session.get_tuning_metrics(stimuli=["dg", "rf"])
    fields = int((metrics["p_value_rf"] < 0.01).sum())
    selective = int((metrics["g_osi_dg"] > 0.2).sum())
    return (
        f"Session {session_id}: {session.session_type}, {session.full_genotype}",
        f"{session.num_units} units on {session.num_probes} probes, "
        f"{session.num_stimulus_presentations} stimulus presentations of "
        f"{len(session.stimulus_names)} stimuli\n"
        f"tuning from the spikes: {selective} units with global OSI > 0.2, {fields} with a "
        "significant receptive field on the gabor grid",
    )
