"""Per-unit summary of one VBN ecephys session: rates, responses, tagging, quality, area.

Every number comes from the pure analysis functions (:mod:`brainobs.analysis`): firing rates
per kind of stimulus block from ``conditionwise_spike_statistics`` over the blocks, responses
from ``psth`` in fixed windows around image changes, repeated images, omissions and novel and
familiar images of the active block, and the light response from ``optotagging_responses``.
Spike times are read :data:`UNIT_BATCH` units at a time, so a worker holds one batch's spikes,
not the session's.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd

from brainobs.analysis.conditions import conditionwise_spike_statistics
from brainobs.analysis.epochs import stimulus_epochs
from brainobs.analysis.optotagging import OPTOTAGGING_COLUMNS, optotagging_responses
from brainobs.analysis.psth import psth
from brainobs.errors import InvalidInputError, MissingDataError, UnknownIdError
from brainobs.tables.filters import filter_units

#: Spikes of this many units are read and analysed at a time.
UNIT_BATCH = 256
#: Seconds after an image onset whose rate is the response (the flash lasts 0.25 s).
RESPONSE_WINDOW = (0.02, 0.27)
#: Seconds before an image onset whose rate is the baseline (grey screen).
BASELINE_WINDOW = (-0.25, 0.0)
#: Seconds after an omitted flash's expected onset whose rate is the omission response.
OMISSION_WINDOW = (0.0, 0.75)
#: Kinds of stimulus block a rate is given for (``rate_<kind>`` columns).
BLOCK_KINDS = ("active", "passive", "spontaneous", "gabors", "flashes")
#: Quality thresholds of ``passes_qc`` (the values of the Allen Institute's VBN tutorials):
#: amplitude cutoff at most 0.1, presence ratio at least 0.9, ISI violations at most 0.5.
QC_THRESHOLDS = (0.1, 0.9, 0.5)
#: Quality metrics copied from the units table.
QUALITY_METRICS = (
    "firing_rate", "amplitude", "snr", "presence_ratio", "isi_violations", "amplitude_cutoff",
    "isolation_distance", "d_prime", "nn_hit_rate", "waveform_duration", "PT_ratio",
    "max_drift",
)  # fmt: skip

#: Columns computed from spike times (every other unit column comes from the units table).
SPIKE_COLUMNS: tuple[tuple[str, str], ...] = (
    *((f"rate_{kind}", "float64") for kind in BLOCK_KINDS),
    ("image_response", "float64"),
    ("change_response", "float64"),
    ("change_modulation", "float64"),
    ("omission_response", "float64"),
    ("novelty_modulation", "float64"),
    ("opto_evoked_rate", "float64"),
    ("opto_rate_change", "float64"),
    ("opto_p_value", "float64"),
    ("is_tagged", "bool"),
)
UNIT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("ecephys_session_id", "int64"),
    ("unit_id", "int64"),
    ("probe_name", "string"),
    ("structure_acronym", "string"),
    ("probe_vertical_position", "float64"),
    ("peak_channel_id", "int64"),
    ("quality", "string"),
    *((name, "float64") for name in QUALITY_METRICS),
    ("passes_qc", "bool"),
    *SPIKE_COLUMNS,
)


def block_kind(stimulus_name: Any, active: bool) -> str | None:
    """Return the kind of a stimulus block (one of :data:`BLOCK_KINDS`), None if another."""
    name = str(stimulus_name).lower()
    if "image" in name:
        return "active" if active else "passive"
    for prefix, kind in (("spontaneous", "spontaneous"), ("gabor", "gabors"), ("flash", "flashes")):
        if name.startswith(prefix):
            return kind
    return None


def stimulus_blocks(presentations: pd.DataFrame) -> pd.DataFrame:
    """Return the session's stimulus blocks with their kind, start, stop and duration (s)."""
    epochs = stimulus_epochs(presentations, {})
    active = flag(presentations, "active").groupby(presentations["stimulus_block"]).any()
    epochs["kind"] = [
        block_kind(name, bool(active.get(block, False)))
        for name, block in zip(epochs["stimulus_name"], epochs["stimulus_block"], strict=True)
    ]
    return epochs[epochs["kind"].notna()].reset_index(drop=True)


def flag(table: pd.DataFrame, column: str) -> pd.Series:
    """Return a bool column (missing values False; all False when the column is absent)."""
    if column not in table.columns:
        return pd.Series(False, index=table.index)
    return table[column].astype("boolean").fillna(False).astype(bool)


def event_times(presentations: pd.DataFrame) -> dict[str, np.ndarray]:
    """Return the onsets (s) of the active block's changes, repeats, omissions, novel images."""
    active = flag(presentations, "active")
    change, omitted = flag(presentations, "is_change"), flag(presentations, "omitted")
    novel = flag(presentations, "is_image_novel")
    shown = (
        active
        & ~omitted
        & presentations["stimulus_name"].astype(str).str.contains("image", case=False)
    )
    repeat = shown & ~change
    masks = {
        "change": shown & change,
        "repeat": repeat,
        "omission": active & omitted,
        "novel": repeat & novel,
        "familiar": repeat & ~novel,
    }
    onsets = presentations["start_time"].to_numpy(dtype=float)
    return {name: onsets[mask.to_numpy()] for name, mask in masks.items()}


def unit_locations(session: Any, units: pd.DataFrame) -> pd.DataFrame:
    """Return each unit's probe name, area and depth (from its peak channel)."""
    channels = session.get_channels(filter_by_validity=False)
    peak = channels.reindex(units["peak_channel_id"].to_numpy())
    probe_names = session.probes["name"]
    return pd.DataFrame(
        {
            "probe_name": peak["probe_id"].map(probe_names).to_numpy(dtype=object),
            "structure_acronym": peak["structure_acronym"].to_numpy(dtype=object),
            "probe_vertical_position": pd.to_numeric(
                peak["probe_vertical_position"], errors="coerce"
            ).to_numpy(dtype=float),
        },
        index=units.index,
    )


def _window_rate(spikes: Mapping[int, np.ndarray], times: np.ndarray, window: Any) -> np.ndarray:
    """Return each unit's mean rate (spikes/s) in ``window`` around ``times`` (NaN if none)."""
    if times.size == 0:
        return np.full(len(spikes), np.nan)
    return np.asarray(psth(spikes, times, list(window)).values[0], dtype=float)


def _index(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Return (a - b) / (a + b), NaN where both are zero."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(a + b > 0, (a - b) / (a + b), np.nan)


def response_columns(
    spikes: Mapping[int, np.ndarray], events: Mapping[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Return the image, change, omission and novelty response columns of a batch of units."""
    evoked = {name: _window_rate(spikes, events[name], RESPONSE_WINDOW) for name in events}
    base = {
        name: _window_rate(spikes, events[name], BASELINE_WINDOW)
        for name in ("repeat", "change", "omission")
    }
    omission = _window_rate(spikes, events["omission"], OMISSION_WINDOW)
    return {
        "image_response": evoked["repeat"] - base["repeat"],
        "change_response": evoked["change"] - base["change"],
        "change_modulation": _index(evoked["change"], evoked["repeat"]),
        "omission_response": omission - base["omission"],
        "novelty_modulation": _index(evoked["novel"], evoked["familiar"]),
    }


def block_rates(spikes: Mapping[int, np.ndarray], blocks: pd.DataFrame) -> pd.DataFrame:
    """Return each unit's rate (spikes/s) over every block of each kind (NaN for absent kinds)."""
    out = pd.DataFrame(np.nan, index=list(spikes), columns=[f"rate_{k}" for k in BLOCK_KINDS])
    if blocks.empty:
        return out
    table = blocks.assign(stimulus_condition_id=blocks["kind"])[
        ["start_time", "stop_time", "stimulus_condition_id"]
    ]
    counts = conditionwise_spike_statistics(spikes, table)["spike_count"].unstack()
    durations = blocks.groupby("kind")["duration"].sum()
    for kind in counts.columns:
        out[f"rate_{kind}"] = counts[kind].reindex(out.index).to_numpy() / durations[kind]
    return out


def optotagging_columns(spikes: Mapping[int, np.ndarray], pulses: pd.DataFrame | None) -> dict:
    """Return the light-response columns of a batch of units (NaN/None without light pulses)."""
    n = len(spikes)
    empty = {
        "opto_evoked_rate": np.full(n, np.nan),
        "opto_rate_change": np.full(n, np.nan),
        "opto_p_value": np.full(n, np.nan),
        "is_tagged": pd.array([None] * n, dtype="boolean"),
    }
    if pulses is None:
        return empty
    try:
        tagging = optotagging_responses(spikes, pulses, level=None)
    except (UnknownIdError, InvalidInputError):  # no 10 ms pulses in this table
        return empty
    assert set(OPTOTAGGING_COLUMNS) <= set(tagging.columns)
    return {
        "opto_evoked_rate": tagging["evoked_rate"].to_numpy(dtype=float),
        "opto_rate_change": tagging["rate_change"].to_numpy(dtype=float),
        "opto_p_value": tagging["p_value"].to_numpy(dtype=float),
        "is_tagged": pd.array(tagging["is_tagged"].to_numpy(dtype=bool), dtype="boolean"),
    }


def light_pulses(session: Any) -> pd.DataFrame | None:
    """Return the session's optotagging table, None when the file has none."""
    try:
        table = session.optotagging_table
    except MissingDataError:
        return None
    return table if isinstance(table, pd.DataFrame) and not table.empty else None


def _batches(ids: pd.Index, size: int) -> Iterator[list[int]]:
    """Yield the unit ids ``size`` at a time."""
    values = [int(i) for i in ids]
    for start in range(0, len(values), size):
        yield values[start : start + size]


def spike_metrics(session: Any, units: pd.DataFrame, blocks: pd.DataFrame) -> pd.DataFrame:
    """Return the rate, response and tagging columns of every unit, a batch at a time."""
    events = event_times(session.stimulus_presentations)
    pulses = light_pulses(session)
    frames = []
    for batch in _batches(units.index, UNIT_BATCH):
        spikes = session.get_spike_times(batch)
        frame = block_rates(spikes, blocks)
        for name, values in {
            **response_columns(spikes, events),
            **optotagging_columns(spikes, pulses),
        }.items():
            frame[name] = values
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=[name for name, _ in SPIKE_COLUMNS])
    return pd.concat(frames)


def unit_table(session: Any, blocks: pd.DataFrame) -> pd.DataFrame:
    """Return one row per unit of the session: area, quality, rates, responses, tagging."""
    units = session.get_units()
    table = pd.DataFrame(index=units.index)
    table["unit_id"] = units.index.to_numpy(dtype=np.int64)
    table = table.join(unit_locations(session, units))
    table["peak_channel_id"] = units["peak_channel_id"].to_numpy(dtype=np.int64)
    table["quality"] = units["quality"].astype(object) if "quality" in units else None
    for name in QUALITY_METRICS:
        column = units[name] if name in units else pd.Series(np.nan, index=units.index)
        table[name] = pd.to_numeric(column, errors="coerce").astype(float)
    amplitude_cutoff, presence_ratio, isi_violations = QC_THRESHOLDS
    passing = filter_units(
        units,
        amplitude_cutoff_maximum=amplitude_cutoff,
        presence_ratio_minimum=presence_ratio,
        isi_violations_maximum=isi_violations,
    )
    table["passes_qc"] = units.index.isin(passing.index)
    table = table.join(spike_metrics(session, units, blocks))
    return table.reset_index(drop=True)
