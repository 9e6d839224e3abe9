"""Stimulus-aligned analysis on a session: the reference toolkit's presentationwise API.

:class:`StimulusAnalysisMixin` gives an ecephys session the methods of the AllenSDK's
``EcephysSession`` (reference/format_ecephys.md §4.2.4): ``presentationwise_spike_counts``,
``presentationwise_spike_times``, ``conditionwise_spike_statistics``, ``stimulus_conditions``,
``get_stimulus_table`` and ``get_stimulus_epochs``. The numbers come from the pure functions
of :mod:`brainobs.analysis`; this module selects presentations and units, checks the ids, and
reads only the spike times of the units asked for.

Differences from the reference, all deliberate (docs/differences.md, "Stimulus-aligned
analysis"):

* Bins and presentation windows are half-open ``[lo, hi)``: a spike on an edge counts once.
* Presentations may be given in any order and may overlap.
* Unknown unit ids, presentation ids and stimulus names raise
  :class:`~brainobs.errors.UnknownIdError` (the reference returns empty tables or KeyErrors).
* The condition of a presentation ignores timing and the per-presentation bookkeeping columns
  of VBN tables (:data:`VBN_BOOKKEEPING_COLUMNS`), and compares values by meaning.
* ``get_stimulus_epochs``' default threshold drops spontaneous epochs shorter than 90 s under
  the name the tables use (``spontaneous``); the reference's key never matched.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr
from numpy.typing import ArrayLike, DTypeLike

from brainobs.analysis import alignment, conditions
from brainobs.analysis._validation import as_id_list, preview, validate_bin_edges
from brainobs.analysis.conditions import NON_STIMULUS_PARAMETERS, stimulus_condition_ids
from brainobs.analysis.epochs import (
    DEFAULT_EPOCH_THRESHOLDS,
    check_thresholds,
    stimulus_epochs,
    unused_columns,
)
from brainobs.errors import InvalidInputError, UnknownIdError

#: Per-presentation bookkeeping columns of VBN tables: frame numbers, trial links, counters
#: and outcomes. They differ between presentations of the same stimulus, so they are left out
#: of the stimulus condition (with the timing columns of :data:`NON_STIMULUS_PARAMETERS`).
VBN_BOOKKEEPING_COLUMNS: tuple[str, ...] = (
    "start_frame",
    "end_frame",
    "trials_id",
    "flashes_since_change",
    "rewarded",
    "is_sham_change",
    "stimulus_index",
    "stimulus_block_name",
    "movie_repeat",
)
#: Columns that do not define a stimulus condition (timing and bookkeeping).
CONDITION_IGNORED_COLUMNS: tuple[str, ...] = NON_STIMULUS_PARAMETERS + VBN_BOOKKEEPING_COLUMNS
#: Columns of PsychoPy detail the reference hides unless asked (format_ecephys.md §4.2.1).
DETAILED_STIMULUS_PARAMETERS: tuple[str, ...] = (
    "colorSpace",
    "flipHoriz",
    "flipVert",
    "depth",
    "interpolate",
    "mask",
    "opacity",
    "rgbPedestal",
    "tex",
    "texRes",
    "units",
    "rgb",
    "signalDots",
    "noiseDots",
    "fieldSize",
    "fieldShape",
    "fieldPos",
    "nDots",
    "dotSize",
    "dotLife",
    "color_triplet",
)


def checked_ids(ids: Any, known: pd.Index, what: str, where: str) -> list[Any]:
    """Return ``ids`` as a list after checking each is in ``known`` (``what``: the id kind)."""
    wanted = as_id_list(ids)
    if not wanted:
        raise InvalidInputError(f"{what} is empty; pass None for all, or a non-empty list")
    missing = [i for i in wanted if i not in known]
    if missing:
        raise UnknownIdError(
            f"{what} not in this session: {preview(missing)}; valid ids are in {where} "
            f"(they run from {known.min()} to {known.max()})"
        )
    return wanted


class StimulusAnalysisMixin:
    """The presentationwise and conditionwise methods of the reference's ecephys sessions.

    The session class provides ``stimulus_presentations``, ``get_spike_times(unit_ids)`` and
    ``_units`` (the units table of every unit in the file).
    """

    if TYPE_CHECKING:

        @property
        def stimulus_presentations(self) -> pd.DataFrame:
            """Return the presentations indexed by ``stimulus_presentation_id``."""

        @property
        def _units(self) -> pd.DataFrame:
            """Return the units table of every unit in the file."""

        def get_spike_times(self, unit_ids: Any = None) -> dict[int, np.ndarray]:
            """Return spike times of the given units."""

    # --- selection -----------------------------------------------------------------------------
    def _presentations_for(self, stimulus_presentation_ids: Any) -> pd.DataFrame:
        """Return the presentations with the given ids, in the given order (all when None)."""
        table = self.stimulus_presentations
        if stimulus_presentation_ids is None:
            return table
        ids = checked_ids(
            stimulus_presentation_ids,
            table.index,
            "stimulus_presentation_ids",
            "session.stimulus_presentations.index",
        )
        return table.loc[ids]

    def _unit_ids_for(self, unit_ids: Any) -> list[int]:
        """Return the requested unit ids (every unit when None), checked against the session."""
        known = self._units.index
        if unit_ids is None:
            return [int(u) for u in known]
        return checked_ids(unit_ids, known, "unit_ids", "session.get_units().index")

    def _spikes_of(self, unit_ids: list[int]) -> dict[int, np.ndarray]:
        """Return the spike times of ``unit_ids``, reading only those unless all are loaded."""
        if "spike_times" in self.__dict__:
            loaded: dict[int, np.ndarray] = self.__dict__["spike_times"]
            return {u: loaded[u] for u in unit_ids}
        return self.get_spike_times(unit_ids)

    # --- presentationwise / conditionwise -----------------------------------------------------
    def presentationwise_spike_counts(
        self,
        bin_edges: ArrayLike,
        stimulus_presentation_ids: ArrayLike | None,
        unit_ids: ArrayLike | None,
        binarize: bool = False,
        dtype: DTypeLike | None = None,
        large_bin_size_threshold: float = 0.001,
        time_domain_callback: Callable[[np.ndarray], np.ndarray] | None = None,
        output: alignment.Output = "dense",
    ) -> xr.DataArray:
        """Return spike counts as DataArray ``spike_counts`` (presentation x time bin x unit).

        ``bin_edges`` are seconds relative to each presentation's ``start_time``; bins are
        ``[lo, hi)``. Dims ``(stimulus_presentation_id, time_relative_to_stimulus_onset,
        unit_id)``, time coordinate = bin centres, uint16 (uint8 with ``binarize``) unless
        ``dtype`` is given. None for ids means all presentations / all units. Only the asked
        units' spike times are read. ``output="dask"`` computes the counts in blocks of units
        when asked, for requests whose dense array would not fit in memory. See
        :func:`brainobs.analysis.alignment.presentationwise_spike_counts`.
        """
        presentations = self._presentations_for(stimulus_presentation_ids)
        units = self._unit_ids_for(unit_ids)
        validate_bin_edges(bin_edges)
        return alignment.presentationwise_spike_counts(
            self._spikes_of(units),
            presentations,
            bin_edges,
            unit_ids=units,
            binarize=binarize,
            dtype=dtype,
            time_domain_callback=time_domain_callback,
            large_bin_size_threshold=large_bin_size_threshold,
            output=output,
        )

    def presentationwise_spike_times(
        self,
        stimulus_presentation_ids: ArrayLike | None = None,
        unit_ids: ArrayLike | None = None,
    ) -> pd.DataFrame:
        """Return one row per spike inside a presentation window, indexed by ``spike_time``.

        Columns ``stimulus_presentation_id, unit_id, time_since_stimulus_presentation_onset``;
        windows are ``[start_time, end_time)``; a spike inside two overlapping windows appears
        once per window. An empty result has the same columns.
        """
        presentations = self._presentations_for(stimulus_presentation_ids)
        units = self._unit_ids_for(unit_ids)
        return alignment.presentationwise_spike_times(
            self._spikes_of(units), presentations, unit_ids=units
        )

    def conditionwise_spike_statistics(
        self,
        stimulus_presentation_ids: ArrayLike | None = None,
        unit_ids: ArrayLike | None = None,
        use_rates: bool = False,
    ) -> pd.DataFrame:
        """Return spike statistics per ``(unit_id, stimulus_condition_id)``.

        Columns ``spike_count`` (omitted with ``use_rates``), ``stimulus_presentation_count``,
        ``spike_mean``, ``spike_std`` and ``spike_sem`` of per-presentation counts (or rates
        in spikes/s) in ``[start_time, end_time)``. Conditions are :attr:`stimulus_conditions`;
        every requested unit appears (all units when None), silent ones with zeros.
        """
        presentations = self._presentations_for(stimulus_presentation_ids)
        units = self._unit_ids_for(unit_ids)
        condition = self._condition_ids[0].loc[presentations.index]
        table = presentations.assign(stimulus_condition_id=condition.to_numpy())
        return conditions.conditionwise_spike_statistics(
            self._spikes_of(units), table, unit_ids=units, use_rates=use_rates
        )

    # --- stimulus tables -----------------------------------------------------------------------
    @cached_property
    def _condition_ids(self) -> tuple[pd.Series, pd.DataFrame]:
        """Return (condition id per presentation, distinct conditions) of the whole session."""
        return stimulus_condition_ids(self.stimulus_presentations, CONDITION_IGNORED_COLUMNS)

    @property
    def stimulus_conditions(self) -> pd.DataFrame:
        """Return the distinct stimulus conditions, indexed by ``stimulus_condition_id``.

        A condition is a distinct combination of the presentation columns other than timing
        and bookkeeping (:data:`CONDITION_IGNORED_COLUMNS`), numbered by first occurrence.
        """
        return self._condition_ids[1].copy()

    @property
    def stimulus_names(self) -> list[str]:
        """Return the distinct stimulus names in table order."""
        return list(pd.unique(self.stimulus_presentations["stimulus_name"].dropna()))

    def get_stimulus_table(
        self,
        stimulus_names: str | Collection[str] | None = None,
        include_detailed_parameters: bool = False,
        include_unused_parameters: bool = False,
    ) -> pd.DataFrame:
        """Return the presentations of the named stimuli, with ``stimulus_condition_id``.

        ``stimulus_names`` is one name or a list (None: all). PsychoPy detail columns are
        dropped unless ``include_detailed_parameters``; columns that are all missing, ``""``
        or ``"null"`` among the selected rows are dropped unless ``include_unused_parameters``.
        An unknown name raises :class:`~brainobs.errors.UnknownIdError`.
        """
        table = self.stimulus_presentations.assign(
            stimulus_condition_id=self._condition_ids[0].to_numpy()
        )
        if stimulus_names is not None:
            table = conditions.select_presentations(table, stimulus_names=stimulus_names)
        if not include_detailed_parameters:
            table = table.drop(columns=[c for c in DETAILED_STIMULUS_PARAMETERS if c in table])
        if not include_unused_parameters:
            table = table.drop(columns=unused_columns(table))
        return table.copy()

    def get_stimulus_epochs(
        self, duration_thresholds: Mapping[str, float] | None = None
    ) -> pd.DataFrame:
        """Return the runs of presentations of one stimulus block as epochs.

        Columns ``start_time, stop_time, duration, stimulus_name, stimulus_block``; an epoch
        starts at its first row's start and stops at its last row's end. Epochs whose
        stimulus name is a key of ``duration_thresholds`` and that are shorter than its value
        (seconds) are dropped; the default drops spontaneous epochs shorter than 90 s.
        """
        thresholds = check_thresholds(
            DEFAULT_EPOCH_THRESHOLDS if duration_thresholds is None else duration_thresholds
        )
        return stimulus_epochs(self.stimulus_presentations, thresholds)
