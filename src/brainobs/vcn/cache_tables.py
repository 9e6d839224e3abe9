"""The project cache's tables, built from the four warehouse tables as the reference builds them.

Pure functions on DataFrames (reference/format_ecephys.md §2.2): probes annotated with their
session, channels with their probe and session, units filtered (§2.2.1) and annotated with
their channel, probe and session; counts of units, channels and probes and the structures of
each session and probe. The reference's ``suppress`` lists and renames are kept.

Differences (docs/differences.md, "Visual Coding Neuropixels"): a session or probe without
channels gets an empty list of structures (the reference writes 0); structure lists are
Python lists; the unit filters are those of :mod:`brainobs.vcn.units`.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from brainobs.tables.filters import filter_units

SUPPRESS_FROM_UNITS = (
    "air_channel_index", "surface_channel_index", "has_nwb", "lfp_temporal_subsampling_factor",
    "epoch_name_quality_metrics", "epoch_name_waveform_metrics", "isi_experiment_id",
)  # fmt: skip
SUPPRESS_FROM_CHANNELS = (
    "air_channel_index", "surface_channel_index", "name", "date_of_acquisition", "published_at",
    "specimen_id", "session_type", "isi_experiment_id", "age_in_days", "sex", "genotype",
    "has_nwb", "lfp_temporal_subsampling_factor",
)  # fmt: skip
SUPPRESS_FROM_PROBES = (
    "air_channel_index", "surface_channel_index", "date_of_acquisition", "published_at",
    "specimen_id", "session_type", "isi_experiment_id", "age_in_days", "sex", "genotype",
    "has_nwb", "lfp_temporal_subsampling_factor",
)  # fmt: skip
SUPPRESS_FROM_SESSION_TABLE = ("has_nwb", "isi_experiment_id", "date_of_acquisition")
UNIT_RENAMES = {
    "PT_ratio": "waveform_PT_ratio",
    "amplitude": "waveform_amplitude",
    "duration": "waveform_duration",
    "halfwidth": "waveform_halfwidth",
    "recovery_slope": "waveform_recovery_slope",
    "repolarization_slope": "waveform_repolarization_slope",
    "spread": "waveform_spread",
    "velocity_above": "waveform_velocity_above",
    "velocity_below": "waveform_velocity_below",
    "l_ratio": "L_ratio",
}


def join_on(
    left: pd.DataFrame, right: pd.DataFrame, key: str | None, suffixes: tuple[str, str]
) -> pd.DataFrame:
    """Return the inner join of ``left`` (its rows, order and index) with the rows of ``right``
    whose index is ``left[key]`` (or ``left``'s index when ``key`` is None); columns both have
    get ``suffixes``, as ``pandas.merge`` names them."""
    both = (set(left.columns) & set(right.columns)) - {key}
    left = left.rename(columns={c: c + suffixes[0] for c in both})
    right = right.rename(columns={c: c + suffixes[1] for c in both})
    return left.join(right, on=key, how="inner")


def probes_with_lfp_rates(probes: pd.DataFrame) -> pd.DataFrame:
    """Return ``probes`` with ``lfp_sampling_rate`` divided by the temporal subsampling factor."""
    probes = probes.copy()
    if {"lfp_sampling_rate", "lfp_temporal_subsampling_factor"} <= set(probes.columns):
        probes["lfp_sampling_rate"] = (
            probes["lfp_sampling_rate"] / probes["lfp_temporal_subsampling_factor"]
        )
    return probes


def annotated_probes(probes: pd.DataFrame, sessions: pd.DataFrame) -> pd.DataFrame:
    """Return the probes joined with their session's columns (probes without one dropped)."""
    return join_on(probes, sessions, "ecephys_session_id", ("_probe", "_session"))


def annotated_channels(channels: pd.DataFrame, probes: pd.DataFrame) -> pd.DataFrame:
    """Return the channels joined with their (annotated) probe's columns."""
    return join_on(channels, probes, "ecephys_probe_id", ("_channel", "_probe"))


def filtered_units(
    units: pd.DataFrame, filter_by_validity: bool, thresholds: dict[str, float | None]
) -> pd.DataFrame:
    """Return the units renamed and filtered (quality ``good``, thresholds; ``quality`` dropped
    with the validity filter)."""
    units = units.rename(columns=UNIT_RENAMES)
    return filter_units(units, filter_by_validity=filter_by_validity, **thresholds)  # type: ignore[arg-type]


def annotated_units(units: pd.DataFrame, channels: pd.DataFrame) -> pd.DataFrame:
    """Return the units joined with their peak channel's annotated columns."""
    return join_on(units, channels, "ecephys_channel_id", ("_unit", "_channel"))


def count_owned(table: pd.DataFrame, owned: pd.DataFrame, key: str, name: str) -> pd.DataFrame:
    """Return ``table`` with column ``name``: how many rows of ``owned`` point to each row."""
    counts = owned[key].value_counts()
    table = table.copy()
    table[name] = counts.reindex(table.index, fill_value=0).to_numpy(dtype=np.int64)
    return table


def grouped_uniques(
    table: pd.DataFrame, owned: pd.DataFrame, key: str, field: str, name: str
) -> pd.DataFrame:
    """Return ``table`` with column ``name``: the distinct ``field`` values of the rows of
    ``owned`` pointing to each row, in order of first appearance (NaN included)."""
    groups: dict[object, list[object]] = {}
    for owner, value in zip(
        owned[key].to_numpy(), owned[field].to_numpy(dtype=object), strict=True
    ):
        values = groups.setdefault(owner, [])
        if not any(_same(value, seen) for seen in values):
            values.append(value)
    table = table.copy()
    table[name] = pd.Series(
        [groups.get(i, []) for i in table.index], index=table.index, dtype=object
    )
    return table


def _same(a: object, b: object) -> bool:
    """Return whether two cells are the same value (NaN equals NaN)."""
    # pandas-stubs' isna takes pandas scalar types only; pandas takes any object
    missing_a, missing_b = pd.isna(a), pd.isna(b)  # type: ignore[call-overload]
    return bool(missing_a and missing_b) or (not missing_a and not missing_b and a == b)


def drop_columns(table: pd.DataFrame, suppress: Iterable[str]) -> pd.DataFrame:
    """Return ``table`` without the named columns it has."""
    return table.drop(columns=[c for c in suppress if c in table.columns])
