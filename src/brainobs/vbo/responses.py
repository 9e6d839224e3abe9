"""Stimulus-aligned responses of an experiment's cells: the session-level face of
:mod:`brainobs.analysis.ophys`.

:class:`OphysResponsesMixin` gives :class:`~brainobs.vbo.experiment.BehaviorOphysExperiment`
its analysis methods: traces aligned to presentations as an xarray (presentation x time x
cell, on one time base), each presentation's mean response, mean responses per image, and
per condition (change, repeated image, omission). They read only the asked cells' traces.
By default they use the presentations of the change-detection block (image and omitted
flashes; active or passive).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

import numpy as np
import pandas as pd
import xarray as xr
from numpy.typing import DTypeLike

from brainobs.analysis import ophys as analysis
from brainobs.errors import InvalidInputError

#: Default windows (s from onset): aligned traces, response and baseline means.
ALIGN_WINDOW = (-0.5, 0.75)
RESPONSE_WINDOW = (0.0, 0.5)
BASELINE_WINDOW = (-0.25, 0.0)
TASK_BLOCK_PREFIX = "change_detection"


class _Traces(Protocol):
    """What the mixin needs from the experiment."""

    @property
    def stimulus_presentations(self) -> pd.DataFrame: ...

    @property
    def ophys_timestamps(self) -> np.ndarray: ...

    def _trace_values(
        self, trace: str, cell_specimen_ids: Iterable[int] | None
    ) -> tuple[pd.DataFrame, np.ndarray]: ...


def task_presentations(presentations: pd.DataFrame) -> pd.DataFrame:
    """Return the image and omitted flashes of the change-detection block(s)."""
    flashes = presentations["image_name"].notna().to_numpy(dtype=bool, copy=True)
    if "stimulus_block_name" in presentations.columns:
        names = presentations["stimulus_block_name"].astype(str)
        flashes &= names.str.startswith(TASK_BLOCK_PREFIX).to_numpy(dtype=bool)
    chosen = presentations[flashes]
    if chosen.empty:
        raise InvalidInputError(
            "this session has no image flashes of the change-detection task; pass "
            "presentations= (rows of stimulus_presentations) to align to others."
        )
    return chosen


def aligned_traces(
    source: _Traces,
    trace: str,
    presentations: pd.DataFrame | None,
    window: Sequence[float],
    cell_specimen_ids: Iterable[int] | None,
    **options: object,
) -> xr.DataArray:
    """Return ``trace`` of the cells around each presentation (presentation x time x cell)."""
    chosen = task_presentations(source.stimulus_presentations) if presentations is None else (
        presentations
    )  # fmt: skip
    cells, values = source._trace_values(trace, cell_specimen_ids)
    aligned = analysis.align_traces(
        values.T, source.ophys_timestamps, chosen, window,
        cell_ids=cells.index.to_numpy(), **options,  # type: ignore[arg-type]
    )  # fmt: skip
    aligned = aligned.assign_coords(cell_roi_id=("cell_specimen_id", cells["cell_roi_id"]))
    aligned.name = trace
    return aligned


def stimulus_responses(
    source: _Traces,
    trace: str,
    presentations: pd.DataFrame | None,
    response_window: Sequence[float],
    baseline_window: Sequence[float] | None,
    cell_specimen_ids: Iterable[int] | None,
) -> xr.DataArray:
    """Return each presentation's mean response per cell (presentation x cell)."""
    windows = [response_window] + ([baseline_window] if baseline_window is not None else [])
    start = min(float(w[0]) for w in windows)
    stop = max(float(w[1]) for w in windows)
    aligned = aligned_traces(source, trace, presentations, (start, stop), cell_specimen_ids)
    return analysis.response_means(aligned, response_window, baseline_window)


def _rows_of(source: _Traces, responses: xr.DataArray) -> pd.DataFrame:
    """Return the presentation rows the responses were computed on."""
    return source.stimulus_presentations.loc[responses["stimulus_presentations_id"].to_numpy()]


class OphysResponsesMixin:
    """Stimulus-aligned analysis of an experiment's traces (see the module docstring)."""

    def get_aligned_traces(
        self: _Traces,
        trace: str = "dff",
        presentations: pd.DataFrame | None = None,
        window: Sequence[float] = ALIGN_WINDOW,
        *,
        cell_specimen_ids: Iterable[int] | None = None,
        sampling_rate: float | None = None,
        interpolate: bool = True,
        dtype: DTypeLike = np.float64,
    ) -> xr.DataArray:
        """Return ``trace`` around each presentation: (stimulus_presentations_id x time x
        cell_specimen_id), on a common time base (s from onset).

        ``presentations`` defaults to the change-detection flashes; ``sampling_rate`` to the
        frame rate; ``interpolate=False`` takes the frame at or after each sample time.
        See :func:`brainobs.analysis.ophys.align_traces`.
        """
        return aligned_traces(self, trace, presentations, window, cell_specimen_ids,
                              sampling_rate=sampling_rate, interpolate=interpolate,
                              dtype=dtype)  # fmt: skip

    def get_stimulus_responses(
        self: _Traces,
        trace: str = "dff",
        presentations: pd.DataFrame | None = None,
        response_window: Sequence[float] = RESPONSE_WINDOW,
        baseline_window: Sequence[float] | None = BASELINE_WINDOW,
        *,
        cell_specimen_ids: Iterable[int] | None = None,
    ) -> xr.DataArray:
        """Return each presentation's mean response per cell (stimulus_presentations_id x
        cell_specimen_id): the mean in ``response_window`` minus that in ``baseline_window``
        (s from onset; ``None``: no baseline)."""
        return stimulus_responses(self, trace, presentations, response_window,
                                  baseline_window, cell_specimen_ids)  # fmt: skip

    def get_image_responses(
        self: _Traces,
        trace: str = "dff",
        presentations: pd.DataFrame | None = None,
        response_window: Sequence[float] = RESPONSE_WINDOW,
        baseline_window: Sequence[float] | None = BASELINE_WINDOW,
        *,
        cell_specimen_ids: Iterable[int] | None = None,
    ) -> pd.DataFrame:
        """Return each cell's mean response to each image (cell_specimen_id x image_name),
        omitted flashes left out (windows as in :meth:`get_stimulus_responses`)."""
        responses = stimulus_responses(self, trace, presentations, response_window,
                                       baseline_window, cell_specimen_ids)  # fmt: skip
        return analysis.image_responses(responses, _rows_of(self, responses))

    def get_change_omission_responses(
        self: _Traces,
        trace: str = "dff",
        presentations: pd.DataFrame | None = None,
        response_window: Sequence[float] = RESPONSE_WINDOW,
        baseline_window: Sequence[float] | None = BASELINE_WINDOW,
        *,
        cell_specimen_ids: Iterable[int] | None = None,
    ) -> pd.DataFrame:
        """Return each cell's mean response to changes, repeated images, omissions and all
        images (columns ``change``, ``repeat``, ``omission``, ``image``)."""
        responses = stimulus_responses(self, trace, presentations, response_window,
                                       baseline_window, cell_specimen_ids)  # fmt: skip
        return analysis.change_omission_responses(responses, _rows_of(self, responses))

    def get_cell_responses(
        self: _Traces,
        trace: str = "dff",
        presentations: pd.DataFrame | None = None,
        response_window: Sequence[float] = RESPONSE_WINDOW,
        baseline_window: Sequence[float] | None = BASELINE_WINDOW,
        *,
        cell_specimen_ids: Iterable[int] | None = None,
    ) -> pd.DataFrame:
        """Return one row per cell: its change, repeat, omission and image responses, its
        preferred image and that image's response."""
        responses = stimulus_responses(self, trace, presentations, response_window,
                                       baseline_window, cell_specimen_ids)  # fmt: skip
        return analysis.cell_responses(responses, _rows_of(self, responses))
