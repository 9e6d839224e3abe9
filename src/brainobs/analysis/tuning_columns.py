"""The metric columns of each stimulus type, from the counted responses (§5.4).

:class:`Analysis` holds one stimulus's counts for all units; each ``*_columns`` function returns
that stimulus's columns, named and ordered as the reference's ``METRICS_COLUMNS``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from brainobs.analysis import tuning_formulas as tf
from brainobs.analysis.binning import spikes_in_windows
from brainobs.analysis.tuning_counts import (
    PreferredBins,
    Responses,
    bin_centres,
    count_responses,
    psth_edges,
)
from brainobs.analysis.tuning_inputs import (
    StimulusBlock,
    find_stimulus_name,
    mean_running_speed,
    stimulus_block,
)
from brainobs.analysis.tuning_rf import (
    RF_COLUMNS,
    ReceptiveFieldGrid,
    chi_square_p_values,
    rf_statistics,
)

__all__ = ["COLUMN_BUILDERS", "Analysis", "rf_columns"]

Columns = dict[str, Any]


@dataclass
class Analysis:
    """Counts and preferred conditions of all units for one stimulus."""

    trains: Sequence[np.ndarray]
    block: StimulusBlock
    responses: Responses
    speeds: np.ndarray  # mean running speed of each presentation
    psth_resolution: float
    preferred: np.ndarray = field(init=False)  # condition index of each unit's best response

    def __post_init__(self) -> None:
        """Find each unit's preferred (non-blank) condition."""
        self.preferred = tf.preferred_condition(self.responses.means, self.block.null)

    @classmethod
    def build(
        cls,
        trains: Sequence[np.ndarray],
        block: StimulusBlock,
        running_speed: pd.DataFrame | None,
        trial_duration: float,
        psth_resolution: float,
        reference_quirks: bool,
    ) -> Analysis:
        """Return the analysis of ``block`` for the given spike trains."""
        responses = count_responses(trains, block, trial_duration, reference_quirks)
        speeds = mean_running_speed(running_speed, block.start, block.stop)
        return cls(trains, block, responses, speeds, psth_resolution)

    @property
    def quirks(self) -> bool:
        """Return True in reference-compatibility mode."""
        return self.responses.reference_quirks

    def column(self, name: str) -> np.ndarray:
        """Return the parsed value of parameter ``name`` for each condition."""
        return np.asarray(self.block.values[name].to_numpy(), dtype=np.float64)

    def preferred_psth(self) -> tuple[np.ndarray, np.ndarray]:
        """Return (unit x bin PSTH at the preferred condition, bin centres)."""
        edges = psth_edges(self.responses.trial_duration, self.psth_resolution, self.quirks)
        bins = PreferredBins(self.block, edges, self.quirks)
        return bins.psth(self.trains, self.preferred), bin_centres(edges)

    def shared(self, suffix: str, time_to_peak: bool = True) -> dict[str, np.ndarray]:
        """Return the columns every stimulus has: rate, fano, sparseness, running, peak time."""
        fano, p_value, modulation = self._at_preferred()
        columns = {
            f"firing_rate_{suffix}": self.responses.firing_rate,
            f"fano_{suffix}": fano,
            f"lifetime_sparseness_{suffix}": tf.lifetime_sparseness(
                self.responses.sums[:, ~self.block.null]
            ),
            f"run_pval_{suffix}": p_value,
            f"run_mod_{suffix}": modulation,
        }
        if time_to_peak:
            psth, centres = self.preferred_psth()
            columns[f"time_to_peak_{suffix}"] = tf.time_to_peak(psth, centres)
        return columns

    def _at_preferred(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return fano factor, running p-value and modulation at each unit's preferred condition."""
        n = self.responses.n_units
        fano, p_value, modulation = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
        for condition in np.unique(self.preferred):
            rows = np.flatnonzero(self.preferred == condition)
            members = self.block.members(int(condition))
            counts = self.responses.trial_counts[np.ix_(rows, members)]
            fano[rows] = tf.fano_factor(counts)
            p_value[rows], modulation[rows] = tf.running_modulation(counts, self.speeds[members])
        return fano, p_value, modulation

    def preference(
        self, name: str, suffix: str, values: np.ndarray | None = None
    ) -> dict[str, np.ndarray]:
        """Return ``pref_<name>_<suffix>`` and ``pref_<name>_multi_<suffix>``."""
        column = self.column(name) if values is None else values
        best, ties = tf.preferred_value(self.responses.means, column)
        return {f"pref_{name}_{suffix}": best, f"pref_{name}_multi_{suffix}": ties}

    def selectivity_at(self, match: dict[str, np.ndarray], harmonic: int) -> np.ndarray:
        """Return the global selectivity over orientations at each unit's matched values.

        ``match`` maps parameter -> each unit's value (e.g. its preferred TF); the conditions
        combined are those with exactly those values, sorted by orientation.
        """
        keys = np.column_stack(list(match.values()))
        out = np.full(self.responses.n_units, np.nan)
        orientation = self.column("orientation")
        for key in np.unique(keys, axis=0):
            rows = np.flatnonzero((keys == key).all(axis=1))
            chosen = np.ones(self.block.n_conditions, dtype=bool)
            for name, value in zip(match, key, strict=True):
                chosen &= self.column(name) == value
            cols = np.flatnonzero(chosen)
            cols = cols[np.argsort(orientation[cols], kind="stable")]
            means = self.responses.means[np.ix_(rows, cols)]
            out[rows] = tf.global_selectivity(means, orientation[cols], harmonic)
        return out

    def f1_f0(self) -> np.ndarray:
        """Return F1/F0 at each unit's preferred condition (drifting gratings)."""
        tf_of = self.column("temporal_frequency")[self.preferred]
        duration = self.responses.trial_duration
        out = np.full(self.responses.n_units, np.nan)
        if self.quirks:
            edges = np.arange(0, duration, 0.001)
            bins = PreferredBins(self.block, edges, reference_quirks=True)
            last_centre = float(bin_centres(edges).max())
            for row, counts in bins.trial_bins(self.trains, self.preferred):
                out[row] = tf.f1_f0_binned(counts, tf_of[row], last_centre)
            return out
        for row, train in enumerate(self.trains):
            onsets = self.block.start[self.block.members(int(self.preferred[row]))]
            trials, index = spikes_in_windows(train, onsets, onsets + duration, "left")
            out[row] = tf.f1_f0_spikes(train[index] - onsets[trials], trials, tf_of[row], duration)
        return out


def contrast_analysis(
    trains: Sequence[np.ndarray], block: StimulusBlock, reference_quirks: bool
) -> Responses:
    """Return the counted responses to the contrast-tuning gratings (whole presentations)."""
    return count_responses(trains, block, 2.0, reference_quirks)


def c50_column(contrast: Responses, preferred_orientation: np.ndarray) -> np.ndarray:
    """Return c50 at each unit's preferred drifting-grating orientation."""
    block = contrast.block
    _, first = np.unique(block.codes, return_index=True)
    by_appearance = np.argsort(first, kind="stable")  # conditions in order of first showing
    orientation = block.values["orientation"].to_numpy(dtype=np.float64)[by_appearance]
    contrasts = block.values["contrast"].to_numpy(dtype=np.float64)[by_appearance]
    out = np.full(preferred_orientation.size, np.nan)
    for row, ori in enumerate(preferred_orientation):
        chosen = orientation == ori
        means = contrast.means[row, by_appearance][chosen]
        out[row] = tf.c50(contrasts[chosen], means)
    return out


def _dg_columns(a: Analysis, presentations: pd.DataFrame) -> Columns:
    """Return the drifting-grating columns (c50 from the contrast gratings, when shown)."""
    columns: Columns = {**a.preference("ori", "dg", a.column("orientation"))}
    columns.update(a.preference("tf", "dg", a.column("temporal_frequency")))
    columns["c50_dg"] = _c50(a, presentations, columns["pref_ori_dg"])
    columns["f1_f0_dg"] = a.f1_f0()
    psth, centres = a.preferred_psth()
    tf_at_best = a.column("temporal_frequency")[a.preferred]
    sample_rate = float(1 / np.mean(np.diff(centres)))
    columns["mod_idx_dg"] = tf.modulation_index(psth, tf_at_best, sample_rate)
    match = {"temporal_frequency": columns["pref_tf_dg"]}
    columns["g_osi_dg"] = a.selectivity_at(match, harmonic=2)
    columns["g_dsi_dg"] = a.selectivity_at(match, harmonic=1)
    return {**columns, **a.shared("dg", time_to_peak=False)}


def _c50(a: Analysis, presentations: pd.DataFrame, preferred_orientation: np.ndarray) -> Any:
    """Return c50 per unit, or NaN when the session has no contrast-tuning gratings."""
    name = find_stimulus_name(presentations, "dg_contrast")
    if name is None:
        return np.full(len(a.trains), np.nan)
    block = stimulus_block(presentations, "dg_contrast", name)
    return c50_column(contrast_analysis(a.trains, block, a.quirks), preferred_orientation)


def _sg_columns(a: Analysis, presentations: pd.DataFrame) -> Columns:
    """Return the static-grating columns."""
    columns: Columns = {}
    for name, column in (("sf", "spatial_frequency"), ("ori", "orientation"), ("phase", "phase")):
        columns.update(a.preference(name, "sg", a.column(column)))
    match = {"spatial_frequency": columns["pref_sf_sg"], "phase": columns["pref_phase_sg"]}
    columns["g_osi_sg"] = a.selectivity_at(match, harmonic=2)
    return {**columns, **a.shared("sg")}


def _ns_columns(a: Analysis, presentations: pd.DataFrame) -> Columns:
    """Return the natural-scene columns (pref_image_ns is the image, or the quirk's id)."""
    frame = a.column("frame")
    columns: Columns = {
        "pref_image_ns": a.block.condition_ids[a.preferred] if a.quirks else frame[a.preferred]
    }
    shown = np.where(frame >= 0, frame, np.nan)
    columns["pref_image_multi_ns"] = tf.preferred_value(a.responses.means, shown)[1]
    columns["image_selectivity_ns"] = tf.image_selectivity(a.responses.means[:, ~a.block.null])
    return {**columns, **a.shared("ns")}


def _nm_columns(a: Analysis, presentations: pd.DataFrame) -> Columns:
    """Return the natural-movie columns."""
    return a.shared("nm", time_to_peak=False)


def _fl_columns(a: Analysis, presentations: pd.DataFrame) -> Columns:
    """Return the flash columns."""
    color = a.column("color")
    means = a.responses.means
    on, off = np.flatnonzero(color == 1.0), np.flatnonzero(color == -1.0)
    ratio = np.full(means.shape[0], np.nan)
    if on.size and off.size:
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(means[:, off[0]] > 0, means[:, on[0]] / means[:, off[0]], np.nan)
    psth, _ = a.preferred_psth()
    with np.errstate(invalid="ignore", divide="ignore"):
        sustained = np.mean(psth, axis=1) / np.amax(psth, axis=1)
    return {"on_off_ratio_fl": ratio, "sustained_idx_fl": sustained, **a.shared("fl")}


def _dm_columns(a: Analysis, presentations: pd.DataFrame) -> Columns:
    """Return the dot-motion columns."""
    columns = {**a.preference("speed", "dm", a.column("Speed"))}
    columns.update(a.preference("dir", "dm", a.column("Dir")))
    return {**columns, **a.shared("dm")}


COLUMN_BUILDERS: dict[str, Callable[[Analysis, pd.DataFrame], Columns]] = {
    "dg": _dg_columns,
    "sg": _sg_columns,
    "ns": _ns_columns,
    "nm": _nm_columns,
    "fl": _fl_columns,
    "dm": _dm_columns,
}


def _reference_rf_counts(a: Analysis) -> np.ndarray:
    """Return the reference's map counts: two bins [0, 0.1245], [0.1245, 0.249], both closed."""
    edges = np.linspace(0, 0.249, 3)
    lo, mid, hi = (a.block.start + e for e in edges)
    out = np.zeros((len(a.trains), lo.size), dtype=np.int64)
    for row, train in enumerate(a.trains):
        first = np.searchsorted(train, mid, "right") - np.searchsorted(train, lo, "left")
        second = np.searchsorted(train, hi, "right") - np.searchsorted(train, mid, "left")
        out[row] = first + second
    return out


def rf_columns(a: Analysis, options: dict[str, Any]) -> Columns:
    """Return the receptive-field columns."""
    grid = ReceptiveFieldGrid.from_block(a.block)
    counts = a.responses.trial_counts
    enough = counts.sum(axis=1) >= options.get("minimum_spike_count", 10.0)
    p_value = np.full(counts.shape[0], np.nan)
    if enough.any():
        rng = np.random.default_rng(options.get("seed", 0))
        shuffles = int(options.get("n_shuffles", 1000))
        p_value[enough] = chi_square_p_values(
            counts[enough].astype(np.float64), grid.cell, rng, shuffles
        )
    if a.quirks:  # the reference sums uint16 counts and smooths them as uint16
        maps = grid.maps(_reference_rf_counts(a)).astype(np.uint16)
    else:
        maps = grid.maps(counts.astype(np.float64))
    threshold = float(options.get("mask_threshold", 0.5))
    stats = rf_statistics(maps, grid, enough, p_value, threshold, a.quirks)
    return {**{c: stats[c].to_numpy() for c in RF_COLUMNS}, **a.shared("rf")}
