"""VCN's dataset-wide summary: the tuning metrics of every unit of every session.

Declared in the VCN release (``summaries="brainobs.vcn.summary:SUMMARIES"``) and computed by
:func:`brainobs.summarize` (``brainobs summarize vcn``) into one table, ``units``: per unit
(the units each session's default quality filters keep) its session, session type, area,
probe and depth, firing rate and SNR, and every tuning metric of
:func:`brainobs.analysis.tuning.tuning_metrics` -- computed from the spikes, with the
reference's errors fixed, rather than read from the released metrics tables. Metrics of a
stimulus a session does not show are missing; the ``*_multi_*`` and ``on_screen_rf`` flags are
stored as 1.0/0.0 so that "not shown" can be missing too.

The warehouse layout has no hashes, so each session's partition is keyed by what identifies
its file: the size and MD5 the source reports (the S3 listing), else the checked copy's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from brainobs.analysis.tuning import DEFAULT_STIMULI, METRIC_COLUMNS
from brainobs.summaries.spec import SessionSummary, SessionTask, SummarySet, SummaryTable

#: Names the computation; bump it when a metric or a filter changes.
VERSION = "1"
UNIT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("unit_id", "int64"),
    ("ecephys_session_id", "int64"),
    ("session_type", "string"),
    ("ecephys_structure_acronym", "string"),
    ("probe_description", "string"),
    ("probe_vertical_position", "int64"),
    ("firing_rate", "float64"),
    ("snr", "float64"),
    *((name, "float64") for kind in DEFAULT_STIMULI for name in METRIC_COLUMNS[kind]),
)


def sessions_with_files(cache: Any) -> pd.DataFrame:
    """Return the sessions with ``file_id`` (the session id) and ``file_hash`` columns."""
    table = cache.get_session_table()
    table = table[["session_type", "full_genotype", "published_at"]].copy()
    table["file_id"] = table.index.astype(np.int64)
    table["file_hash"] = [cache.session_file_identity(int(sid)) for sid in table.index]
    return table


def summarize_session(cache: Any, task: SessionTask) -> SessionSummary:
    """Return the ``units`` rows of one session (opened here, closed after)."""
    session = cache.get_session_data(task.session_id, stream=task.stream)
    try:
        units = session.units
        metrics = session.get_tuning_metrics()
        remote = session._file.remote if task.stream else None
        bytes_read = None if remote is None else int(remote.bytes_transferred)
    finally:
        session.close()
    return SessionSummary({"units": unit_rows(task, units, metrics)}, bytes_read)


def unit_rows(task: SessionTask, units: pd.DataFrame, metrics: pd.DataFrame) -> pd.DataFrame:
    """Return the summary rows of a session's units: their columns and tuning metrics."""
    area = "ecephys_structure_acronym" if "ecephys_structure_acronym" in units else (
        "structure_acronym")  # fmt: skip
    frame = pd.DataFrame(
        {
            "unit_id": units.index.to_numpy(dtype=np.int64),
            "ecephys_session_id": np.full(len(units), task.session_id, dtype=np.int64),
            "session_type": str(task.metadata.get("session_type")),
            "ecephys_structure_acronym": units[area].astype(object).to_numpy(),
            "probe_description": units["probe_description"].astype(object).to_numpy(),
            "probe_vertical_position": units["probe_vertical_position"].to_numpy(np.int64),
            "firing_rate": units["firing_rate"].to_numpy(float),
            "snr": units["snr"].to_numpy(float),
        }
    )
    found = metrics.reindex(units.index).astype(float)
    names = [name for name, _ in UNIT_COLUMNS[8:]]
    values = found.reindex(columns=names).to_numpy(dtype=float)
    return pd.concat([frame, pd.DataFrame(values, columns=names)], axis=1)


SUMMARIES = SummarySet(
    release="vcn",
    version=VERSION,
    session_column="ecephys_session_id",
    tables=(SummaryTable("units", "one row per unit of every session: tuning", UNIT_COLUMNS),),
    sessions=sessions_with_files,
    compute=summarize_session,
    description="Visual Coding Neuropixels units: tuning metrics from the spikes, every session.",
)
