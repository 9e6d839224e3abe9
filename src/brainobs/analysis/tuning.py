"""Unit tuning metrics from spike times: the reference's stimulus-analysis metrics (§5.4).

Pure functions of plain data: spike times (``dict`` unit id -> sorted seconds, e.g.
``session.spike_times``), a presentations table with the reference's columns (``stimulus_name,
start_time, stop_time``, the parameter columns, and ``stimulus_condition_id`` when the session
has it), and a running-speed table (``start_time, velocity``, or VBN's ``timestamps, speed``).
Each function returns one row per unit (index ``unit_id``) with the reference's column names:

* :func:`drifting_gratings_metrics`: ``pref_ori_dg, pref_tf_dg, c50_dg, f1_f0_dg, mod_idx_dg,
  g_osi_dg, g_dsi_dg``...
* :func:`static_gratings_metrics`: ``pref_sf_sg, pref_ori_sg, pref_phase_sg, g_osi_sg``...
* :func:`natural_scenes_metrics`: ``pref_image_ns, image_selectivity_ns``...
* :func:`natural_movies_metrics`: ``fano_nm, firing_rate_nm``...
* :func:`flashes_metrics`: ``on_off_ratio_fl, sustained_idx_fl``...
* :func:`receptive_field_metrics`: ``azimuth_rf, elevation_rf, width_rf, height_rf, area_rf,
  p_value_rf, on_screen_rf``...
* :func:`dot_motion_metrics`: ``pref_speed_dm, pref_dir_dm``...
* :func:`tuning_metrics`: all of the above that the presentations hold, joined;

plus ``firing_rate_X, fano_X, lifetime_sparseness_X, run_pval_X, run_mod_X`` and (except
drifting gratings and movies) ``time_to_peak_X``. Stimuli are found by the reference's names,
so VCN's ``gabors``/``flashes`` and VBN's ``gabor_20_deg_250ms``/``flash_250ms`` both work.
Every unit is computed at once from (unit, presentation) count arrays.

Where the reference is wrong brainobs differs, as docs/differences.md ("Tuning metrics") lists:
half-open windows, the F1/F0 cycle count, ``pref_image_ns`` is the image (frame), the RF
p-value is seeded (``seed=``), the RF smoothing is not truncated to integers, the Gaussian
fit's start uses the right widths, widths are positive. ``reference_quirks=True`` reproduces
the reference's numbers (except the RF p-value's random draws).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from numpy.typing import ArrayLike

from brainobs.analysis._validation import SpikeTimes, as_spike_mapping, select_unit_ids
from brainobs.analysis.tuning_columns import COLUMN_BUILDERS, Analysis, rf_columns
from brainobs.analysis.tuning_counts import check_trial_duration, spike_trains
from brainobs.analysis.tuning_inputs import (
    STIMULI,
    StimulusBlock,
    find_stimulus_name,
    stimulus_block,
)
from brainobs.analysis.tuning_rf import RF_COLUMNS, ReceptiveFieldGrid
from brainobs.errors import InvalidInputError

__all__ = [
    "METRIC_COLUMNS",
    "dot_motion_metrics",
    "drifting_gratings_metrics",
    "find_stimulus_name",
    "flashes_metrics",
    "natural_movies_metrics",
    "natural_scenes_metrics",
    "receptive_field_metrics",
    "receptive_fields",
    "static_gratings_metrics",
    "tuning_metrics",
]

#: Stimulus types computed by :func:`tuning_metrics` unless told otherwise (the released set).
DEFAULT_STIMULI = ("dg", "sg", "ns", "fl", "rf", "dm")

#: The columns of each stimulus type, in the reference's order.
METRIC_COLUMNS: dict[str, tuple[str, ...]] = {
    "dg": (
        "pref_ori_dg", "pref_ori_multi_dg", "pref_tf_dg", "pref_tf_multi_dg", "c50_dg",
        "f1_f0_dg", "mod_idx_dg", "g_osi_dg", "g_dsi_dg", "firing_rate_dg", "fano_dg",
        "lifetime_sparseness_dg", "run_pval_dg", "run_mod_dg",
    ),
    "sg": (
        "pref_sf_sg", "pref_sf_multi_sg", "pref_ori_sg", "pref_ori_multi_sg", "pref_phase_sg",
        "pref_phase_multi_sg", "g_osi_sg", "time_to_peak_sg", "firing_rate_sg", "fano_sg",
        "lifetime_sparseness_sg", "run_pval_sg", "run_mod_sg",
    ),
    "ns": (
        "pref_image_ns", "pref_image_multi_ns", "image_selectivity_ns", "firing_rate_ns",
        "fano_ns", "time_to_peak_ns", "lifetime_sparseness_ns", "run_pval_ns", "run_mod_ns",
    ),
    "nm": ("fano_nm", "firing_rate_nm", "lifetime_sparseness_nm", "run_pval_nm", "run_mod_nm"),
    "fl": (
        "on_off_ratio_fl", "sustained_idx_fl", "firing_rate_fl", "time_to_peak_fl", "fano_fl",
        "lifetime_sparseness_fl", "run_pval_fl", "run_mod_fl",
    ),
    "rf": (
        *RF_COLUMNS, "firing_rate_rf", "fano_rf", "time_to_peak_rf", "lifetime_sparseness_rf",
        "run_pval_rf", "run_mod_rf",
    ),
    "dm": (
        "pref_speed_dm", "pref_speed_multi_dm", "pref_dir_dm", "pref_dir_multi_dm",
        "firing_rate_dm", "fano_dm", "time_to_peak_dm", "lifetime_sparseness_dm", "run_mod_dm",
        "run_pval_dm",
    ),
}  # fmt: skip


def _units(
    spike_times: SpikeTimes, unit_ids: ArrayLike | None
) -> tuple[list[Any], list[np.ndarray]]:
    """Return (unit ids, their checked spike trains)."""
    spikes = as_spike_mapping(spike_times)
    ids = select_unit_ids(spikes, unit_ids)
    return ids, spike_trains(spikes, ids)


def _frame(kind: str, columns: dict[str, Any], ids: list[Any]) -> pd.DataFrame:
    """Return the metric columns of ``kind`` as a frame indexed by unit_id."""
    frame: pd.DataFrame = pd.DataFrame({name: columns[name] for name in METRIC_COLUMNS[kind]})
    frame.index = pd.Index(ids, name="unit_id")
    for name in frame.columns:
        if "_multi_" in name or name == "on_screen_rf":
            frame[name] = frame[name].astype(bool)
    return frame


def _default_duration(kind: str, block: StimulusBlock, trial_duration: float | None) -> float:
    """Return the trial duration: given, the stimulus type's, or (movies) the median frame."""
    if trial_duration is None:
        trial_duration = STIMULI[kind].trial_duration
    if trial_duration is None:
        trial_duration = float(np.median(block.stop - block.start))
    return check_trial_duration(trial_duration, STIMULI[kind].label)


def _metrics(
    kind: str,
    units: tuple[list[Any], list[np.ndarray]],
    presentations: pd.DataFrame,
    running_speed: pd.DataFrame | None,
    options: dict[str, Any],
) -> pd.DataFrame:
    """Return the metrics of one stimulus type for already-checked units."""
    block = stimulus_block(presentations, kind, options.get("stimulus_name"))
    duration = _default_duration(kind, block, options.get("trial_duration"))
    quirks = bool(options.get("reference_quirks", False))
    analysis = Analysis.build(
        units[1], block, running_speed, duration, options.get("psth_resolution", 0.001), quirks
    )
    if kind == "rf":
        columns = rf_columns(analysis, options)
    else:
        columns = COLUMN_BUILDERS[kind](analysis, presentations)
    return _frame(kind, columns, units[0])


def _run_one(
    kind: str,
    spike_times: SpikeTimes,
    presentations: pd.DataFrame,
    running_speed: pd.DataFrame | None,
    unit_ids: ArrayLike | None,
    options: dict[str, Any],
) -> pd.DataFrame:
    """Return the metrics of one stimulus type (the public functions' common body)."""
    return _metrics(kind, _units(spike_times, unit_ids), presentations, running_speed, options)


def drifting_gratings_metrics(
    spike_times: SpikeTimes,
    presentations: pd.DataFrame,
    running_speed: pd.DataFrame | None = None,
    unit_ids: ArrayLike | None = None,
    *,
    stimulus_name: str | None = None,
    trial_duration: float = 2.0,
    psth_resolution: float = 0.001,
    reference_quirks: bool = False,
) -> pd.DataFrame:
    """Return the drifting-grating metrics (``*_dg``) of each unit, indexed by ``unit_id``.

    The stimulus is ``drifting_gratings`` (or ``drifting_gratings_75_repeats``) unless
    ``stimulus_name`` says otherwise; ``c50_dg`` needs ``drifting_gratings_contrast``
    presentations in the same table (else NaN). Without ``running_speed`` the running columns
    are NaN.
    """
    options = {
        "stimulus_name": stimulus_name, "trial_duration": trial_duration,
        "psth_resolution": psth_resolution, "reference_quirks": reference_quirks,
    }  # fmt: skip
    return _run_one("dg", spike_times, presentations, running_speed, unit_ids, options)


def static_gratings_metrics(
    spike_times: SpikeTimes,
    presentations: pd.DataFrame,
    running_speed: pd.DataFrame | None = None,
    unit_ids: ArrayLike | None = None,
    *,
    stimulus_name: str | None = None,
    trial_duration: float = 0.25,
    psth_resolution: float = 0.001,
    reference_quirks: bool = False,
) -> pd.DataFrame:
    """Return the static-grating metrics (``*_sg``) of each unit, indexed by ``unit_id``."""
    options = {
        "stimulus_name": stimulus_name, "trial_duration": trial_duration,
        "psth_resolution": psth_resolution, "reference_quirks": reference_quirks,
    }  # fmt: skip
    return _run_one("sg", spike_times, presentations, running_speed, unit_ids, options)


def natural_scenes_metrics(
    spike_times: SpikeTimes,
    presentations: pd.DataFrame,
    running_speed: pd.DataFrame | None = None,
    unit_ids: ArrayLike | None = None,
    *,
    stimulus_name: str | None = None,
    trial_duration: float = 0.25,
    psth_resolution: float = 0.001,
    reference_quirks: bool = False,
) -> pd.DataFrame:
    """Return the natural-scene metrics (``*_ns``) of each unit, indexed by ``unit_id``.

    ``pref_image_ns`` is the preferred image's ``frame`` (the reference gives its
    stimulus_condition_id; ``reference_quirks=True`` does too).
    """
    options = {
        "stimulus_name": stimulus_name, "trial_duration": trial_duration,
        "psth_resolution": psth_resolution, "reference_quirks": reference_quirks,
    }  # fmt: skip
    return _run_one("ns", spike_times, presentations, running_speed, unit_ids, options)


def natural_movies_metrics(
    spike_times: SpikeTimes,
    presentations: pd.DataFrame,
    running_speed: pd.DataFrame | None = None,
    unit_ids: ArrayLike | None = None,
    *,
    stimulus_name: str | None = None,
    trial_duration: float | None = None,
    reference_quirks: bool = False,
) -> pd.DataFrame:
    """Return the natural-movie metrics (``*_nm``): each movie frame is a condition.

    ``trial_duration`` defaults to the median frame presentation (the reference has no
    default). The movie is the first of ``natural_movie_one``, ``natural_movie_three``... in
    table order unless ``stimulus_name`` is given.
    """
    options = {
        "stimulus_name": stimulus_name, "trial_duration": trial_duration,
        "reference_quirks": reference_quirks,
    }  # fmt: skip
    return _run_one("nm", spike_times, presentations, running_speed, unit_ids, options)


def flashes_metrics(
    spike_times: SpikeTimes,
    presentations: pd.DataFrame,
    running_speed: pd.DataFrame | None = None,
    unit_ids: ArrayLike | None = None,
    *,
    stimulus_name: str | None = None,
    trial_duration: float = 0.25,
    psth_resolution: float = 0.001,
    reference_quirks: bool = False,
) -> pd.DataFrame:
    """Return the full-field flash metrics (``*_fl``) of each unit (VCN ``flashes``, VBN
    ``flash_250ms``), indexed by ``unit_id``."""
    options = {
        "stimulus_name": stimulus_name, "trial_duration": trial_duration,
        "psth_resolution": psth_resolution, "reference_quirks": reference_quirks,
    }  # fmt: skip
    return _run_one("fl", spike_times, presentations, running_speed, unit_ids, options)


def dot_motion_metrics(
    spike_times: SpikeTimes,
    presentations: pd.DataFrame,
    running_speed: pd.DataFrame | None = None,
    unit_ids: ArrayLike | None = None,
    *,
    stimulus_name: str | None = None,
    trial_duration: float = 1.0,
    psth_resolution: float = 0.001,
    reference_quirks: bool = False,
) -> pd.DataFrame:
    """Return the dot-motion metrics (``*_dm``) of each unit, indexed by ``unit_id``."""
    options = {
        "stimulus_name": stimulus_name, "trial_duration": trial_duration,
        "psth_resolution": psth_resolution, "reference_quirks": reference_quirks,
    }  # fmt: skip
    return _run_one("dm", spike_times, presentations, running_speed, unit_ids, options)


def receptive_field_metrics(
    spike_times: SpikeTimes,
    presentations: pd.DataFrame,
    running_speed: pd.DataFrame | None = None,
    unit_ids: ArrayLike | None = None,
    *,
    stimulus_name: str | None = None,
    trial_duration: float = 0.25,
    psth_resolution: float = 0.001,
    minimum_spike_count: float = 10.0,
    mask_threshold: float = 0.5,
    n_shuffles: int = 1000,
    seed: int | np.random.Generator | None = 0,
    reference_quirks: bool = False,
) -> pd.DataFrame:
    """Return the receptive-field metrics (``*_rf``) from the gabor grid, indexed by ``unit_id``.

    Units with fewer than ``minimum_spike_count`` spikes in the gabor trials get NaN RF columns
    and ``on_screen_rf=False``. ``p_value_rf`` compares each unit's chi-square statistic with
    ``n_shuffles`` bootstrap resamples drawn from ``seed`` (shared by all units), so results
    are reproducible. Azimuth and elevation are in degrees (the reference's convention: grid
    position (0, 0) is azimuth 50, elevation 10).
    """
    options = {
        "stimulus_name": stimulus_name, "trial_duration": trial_duration,
        "psth_resolution": psth_resolution, "minimum_spike_count": minimum_spike_count,
        "mask_threshold": mask_threshold, "n_shuffles": n_shuffles, "seed": seed,
        "reference_quirks": reference_quirks,
    }  # fmt: skip
    return _run_one("rf", spike_times, presentations, running_speed, unit_ids, options)


def receptive_fields(
    spike_times: SpikeTimes,
    presentations: pd.DataFrame,
    unit_ids: ArrayLike | None = None,
    *,
    stimulus_name: str | None = None,
    trial_duration: float = 0.25,
) -> xr.DataArray:
    """Return each unit's receptive-field map: spikes in the first ``trial_duration`` s of the
    gabors summed per grid position, dims ``(unit_id, y_position, x_position)`` (y descending:
    row 0 is the top of the screen)."""
    ids, trains = _units(spike_times, unit_ids)
    block = stimulus_block(presentations, "rf", stimulus_name)
    duration = check_trial_duration(trial_duration, "receptive-field mapping gabors")
    analysis = Analysis.build(trains, block, None, duration, 0.001, False)
    grid = ReceptiveFieldGrid.from_block(block)
    return xr.DataArray(
        grid.maps(analysis.responses.trial_counts.astype(np.int64)),
        dims=("unit_id", "y_position", "x_position"),
        coords={"unit_id": np.asarray(ids), "y_position": grid.y, "x_position": grid.x},
        name="spike_counts",
    )


def _stimuli_to_run(presentations: pd.DataFrame, stimuli: Iterable[str] | None) -> list[str]:
    """Return the stimulus types to compute: those asked for, or the released set present."""
    if stimuli is None:
        found = [k for k in DEFAULT_STIMULI if find_stimulus_name(presentations, k) is not None]
        if not found:
            raise InvalidInputError(
                "presentations hold none of the analysed stimuli (drifting/static gratings, "
                "natural scenes, flashes, gabors, dot motion); check stimulus_name"
            )
        return found
    kinds = [stimuli] if isinstance(stimuli, str) else list(stimuli)
    unknown = [k for k in kinds if k not in METRIC_COLUMNS]
    if unknown:
        raise InvalidInputError(
            f"unknown stimulus types {unknown}; choose among {', '.join(METRIC_COLUMNS)}"
        )
    return kinds


def tuning_metrics(
    spike_times: SpikeTimes,
    presentations: pd.DataFrame,
    running_speed: pd.DataFrame | None = None,
    unit_ids: ArrayLike | None = None,
    *,
    stimuli: Iterable[str] | None = None,
    seed: int | np.random.Generator | None = 0,
    reference_quirks: bool = False,
) -> pd.DataFrame:
    """Return every tuning metric of each unit: one row per unit, indexed by ``unit_id``.

    ``stimuli`` lists stimulus types among ``dg, sg, ns, nm, fl, rf, dm``; by default every
    type of the released metric tables (all but ``nm``) that the presentations hold. Each type
    uses its default trial duration; call the per-stimulus functions for other options.
    """
    units = _units(spike_times, unit_ids)
    frames = []
    for kind in _stimuli_to_run(presentations, stimuli):
        options: dict[str, Any] = {"reference_quirks": reference_quirks, "seed": seed}
        frames.append(_metrics(kind, units, presentations, running_speed, options))
    return pd.concat(frames, axis=1)
