"""``BehaviorOphysExperiment``: one VBO imaging plane (cells, traces, images + behaviour), lazily.

The reference toolkit reads every trace matrix, every ROI mask, the projections and all the
behaviour when an experiment is opened. Here opening reads nothing but the file's skeleton;
each property reads its own datasets on first access, and the subset readers
(:meth:`BehaviorOphysExperiment.get_dff_traces`, :meth:`~BehaviorOphysExperiment.get_traces`,
:meth:`~BehaviorOphysExperiment.get_roi_masks`) read only the asked cells' columns or masks
(whole HDF5 chunks: on a file whose traces are chunked by cells that is a cell's share of the
matrix). Names, indexes, columns and dtypes are the reference's
(reference/format_ophys_behavior.md §4.3); differences are in docs/differences.md ("VBO").
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cached_property
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import xarray as xr

from brainobs.analysis.ophys import filter_events
from brainobs.errors import InvalidInputError, UnknownIdError
from brainobs.nwb import NwbFile, read_fields
from brainobs.sessions.behavior import BEHAVIOR_MEMBERS, BehaviorSession
from brainobs.sessions.behavior_tables import lab_meta_path
from brainobs.vbo import ophys_nwb as ophys
from brainobs.vbo.ophys_nwb import Image
from brainobs.vbo.responses import OphysResponsesMixin

OPHYS_MEMBERS = (
    "average_projection",
    "cell_specimen_table",
    "corrected_fluorescence_traces",
    "demixed_traces",
    "dff_traces",
    "events",
    "get_cell_specimen_ids",
    "get_cell_specimen_indices",
    "get_dff_traces",
    "get_segmentation_mask_image",
    "max_projection",
    "motion_correction",
    "neuropil_traces",
    "ophys_experiment_id",
    "ophys_session_id",
    "ophys_timestamps",
    "roi_masks",
    "segmentation_mask_image",
    "update_targeted_imaging_depth",
)
#: Trace tables: property column name -> trace kind in the file.
TRACE_COLUMNS = {
    "dff": "dff",
    "corrected_fluorescence": "corrected_fluorescence",
    "demixed_trace": "demixed_trace",
    "neuropil_trace": "neuropil_trace",
    "events": "events",
}
#: Ophys metadata keys (after the behaviour keys), in the reference's order.
OPHYS_METADATA_KEYS = (
    "indicator", "emission_lambda", "excitation_lambda", "ophys_container_id",
    "field_of_view_height", "field_of_view_width", "imaging_depth", "targeted_imaging_depth",
    "imaging_plane_group", "imaging_plane_group_count", "ophys_experiment_id",
    "ophys_frame_rate", "ophys_session_id", "project_code", "targeted_structure",
)  # fmt: skip


class BehaviorOphysExperiment(OphysResponsesMixin, BehaviorSession):
    """A VBO imaging plane: its cells, traces and images plus its session's behaviour.

    Open one with ``cache.get_behavior_ophys_experiment(id)`` or :meth:`from_nwb_path`.
    Every data property is read on first access and cached; the ``get_*`` readers read only
    the cells asked for. Keywords are the reference's: ``eye_tracking_z_threshold``,
    ``eye_tracking_dilation_frames`` (used, where the reference ignores them),
    ``events_filter_scale_seconds``, ``events_filter_n_time_steps``, ``exclude_invalid_rois``.
    """

    report_kind: ClassVar[str] = "vbo_ophys"

    def __init__(
        self,
        file: NwbFile,
        *,
        events_filter_scale_seconds: float = 2.0 / 31.0,
        events_filter_n_time_steps: int = 20,
        exclude_invalid_rois: bool = True,
        imaging_depths: pd.Series | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(file, **kwargs)
        ophys.require_ophys(file)
        if not (np.isfinite(events_filter_scale_seconds) and events_filter_scale_seconds > 0):
            raise InvalidInputError(
                "events_filter_scale_seconds must be a positive number of seconds, not "
                f"{events_filter_scale_seconds!r}."
            )
        if int(events_filter_n_time_steps) < 1:
            raise InvalidInputError("events_filter_n_time_steps must be 1 or more.")
        self._events_filter = (float(events_filter_scale_seconds), int(events_filter_n_time_steps))
        self._exclude_invalid_rois = bool(exclude_invalid_rois)
        self._imaging_depths = imaging_depths
        self._trace_rows: dict[str, np.ndarray] = {}

    def list_data_attributes_and_methods(self) -> list[str]:
        """Return the names of the experiment's data attributes and methods."""
        return sorted({*BEHAVIOR_MEMBERS, *OPHYS_MEMBERS})

    # --- metadata ----------------------------------------------------------------------------
    @cached_property
    def _ophys_fields(self) -> dict[str, Any]:
        """Return the OphysBehaviorMetadata fields of the file."""
        return read_fields(self._file, lab_meta_path(self._file, "metadata"))

    @cached_property
    def metadata(self) -> dict[str, Any]:
        """Return the behaviour metadata plus the imaging plane's (the reference's keys)."""
        metadata = dict(super().metadata)
        fields, plane = self._ophys_fields, ophys.read_imaging_plane(self._file)
        count = int(fields.get("imaging_plane_group_count", 0) or 0)
        multiplane = count > 1
        values = {
            "indicator": ophys.indicator_of(metadata.get("reporter_line")),
            "emission_lambda": plane["emission_lambda"],
            "excitation_lambda": plane["excitation_lambda"],
            "field_of_view_height": int(fields["field_of_view_height"]),
            "field_of_view_width": int(fields["field_of_view_width"]),
            "imaging_plane_group": int(fields["imaging_plane_group"]) if multiplane else None,
            "imaging_plane_group_count": count if multiplane else 0,
            "ophys_frame_rate": plane["ophys_frame_rate"],
            "project_code": fields.get("project_code", metadata.get("project_code")),
            "targeted_structure": plane["targeted_structure"],
        }
        for key in ("ophys_container_id", "imaging_depth", "targeted_imaging_depth",
                    "ophys_experiment_id", "ophys_session_id"):  # fmt: skip
            values[key] = int(fields[key])
        metadata.update({key: values[key] for key in OPHYS_METADATA_KEYS})
        return metadata

    @cached_property
    def ophys_experiment_id(self) -> int:
        """Return the experiment (imaging plane) id."""
        return int(self._ophys_fields["ophys_experiment_id"])

    @cached_property
    def ophys_session_id(self) -> int:
        """Return the imaging session id."""
        return int(self._ophys_fields["ophys_session_id"])

    def update_targeted_imaging_depth(
        self, ophys_experiment_ids: Iterable[int], experiment_table: pd.DataFrame | None = None
    ) -> None:
        """Set ``targeted_imaging_depth`` to the mean imaging depth (truncated) of experiments.

        The reference asks LIMS for the depths; here they come from ``experiment_table``
        (``cache.get_ophys_experiment_table()``), which an experiment opened through the
        cache already has.
        """
        depths = self._imaging_depths
        if experiment_table is not None:
            depths = experiment_table["imaging_depth"]
        if depths is None:
            raise InvalidInputError(
                "update_targeted_imaging_depth needs the experiments' imaging depths: pass "
                "experiment_table=cache.get_ophys_experiment_table()."
            )
        wanted = pd.Index(np.asarray(list(ophys_experiment_ids), dtype=np.int64))
        missing = wanted.difference(depths.index)
        if len(missing) or not len(wanted):
            raise UnknownIdError(
                f"no imaging depth for experiments {list(missing[:5])}; pass ids of the "
                "experiment table (at least one)."
            )
        self.metadata["targeted_imaging_depth"] = int(np.mean(depths.loc[wanted].to_numpy()))

    # --- cells -------------------------------------------------------------------------------
    @cached_property
    def _cells(self) -> pd.DataFrame:
        """Return the cell table (no masks) with each ROI's ``row`` in the file."""
        return ophys.read_cells(self._file, self._exclude_invalid_rois)

    @cached_property
    def cell_specimen_table(self) -> pd.DataFrame:
        """Return the cells indexed by ``cell_specimen_id``, each with its full-FOV ``roi_mask``."""
        table = self._cells.drop(columns=["row"])
        masks = ophys.read_roi_masks(self._file, self._cells["row"].to_numpy())
        table["roi_mask"] = list(masks)
        return table

    def get_cell_table(self) -> pd.DataFrame:
        """Return :attr:`cell_specimen_table` without ``roi_mask`` (no mask is read)."""
        return self._cells.drop(columns=["row"])

    @property
    def roi_masks(self) -> pd.DataFrame:
        """Return ``cell_roi_id`` and ``roi_mask`` of every cell."""
        return self.cell_specimen_table[["cell_roi_id", "roi_mask"]]

    def get_roi_masks(self, cell_specimen_ids: Iterable[int] | None = None) -> xr.DataArray:
        """Return the masks of the given cells (all when None) as a boolean DataArray
        (cell_specimen_id x y x x), reading only those masks."""
        cells = self._select_cells(cell_specimen_ids)
        masks = ophys.read_roi_masks(self._file, cells["row"].to_numpy())
        return xr.DataArray(
            masks,
            dims=("cell_specimen_id", "y", "x"),
            coords={"cell_specimen_id": cells.index.to_numpy(),
                    "cell_roi_id": ("cell_specimen_id", cells["cell_roi_id"].to_numpy())},
            name="roi_mask",
        )  # fmt: skip

    def get_cell_specimen_ids(self) -> np.ndarray:
        """Return the cell specimen ids in table order."""
        ids = self._cells.index
        if len(ids) and ids.isna().all():
            raise InvalidInputError(
                "cell_specimen_id values are not assigned in experiment "
                f"{self.ophys_experiment_id}."
            )
        return ids.to_numpy()

    def get_cell_specimen_indices(self, cell_specimen_ids: Iterable[int]) -> list[int]:
        """Return the table positions of the given cell specimen ids."""
        positions = []
        for i in cell_specimen_ids:
            position = self._cells.index.get_loc(i)
            if not isinstance(position, int):  # a slice or mask: the id is not unique
                raise InvalidInputError(
                    f"cell_specimen_id {i} names several cells of experiment "
                    f"{self.ophys_experiment_id}."
                )
            positions.append(position)
        return positions

    def _select_cells(self, cell_specimen_ids: Iterable[int] | None) -> pd.DataFrame:
        """Return the rows of the cell table of the given ids, in table order (all when None)."""
        cells = self._cells
        if cell_specimen_ids is None:
            return cells
        wanted = pd.Index(np.asarray(list(cell_specimen_ids), dtype=np.int64))
        missing = wanted.difference(cells.index.dropna().astype(np.int64))
        if len(missing):
            raise UnknownIdError(
                f"experiment {self.ophys_experiment_id} has no cells {list(missing[:5])}; its "
                f"{len(cells)} cell_specimen_ids are in cell_specimen_table.index."
            )
        return cells[cells.index.isin(wanted)]

    # --- images ------------------------------------------------------------------------------
    @cached_property
    def max_projection(self) -> Image:
        """Return the max projection of the field of view (``data``, ``spacing`` mm)."""
        return ophys.read_image(self._file, "max_projection")

    @cached_property
    def average_projection(self) -> Image:
        """Return the average projection of the field of view."""
        return ophys.read_image(self._file, "average_image")

    @cached_property
    def segmentation_mask_image(self) -> Image:
        """Return the sum of the cells' masks (int; overlaps count more than once)."""
        spacing = self.max_projection.spacing
        if self._file.has(f"{ophys.IMAGES}/segmentation_mask_image"):
            stored = ophys.read_image(self._file, "segmentation_mask_image")
            return Image(stored.data.astype(np.int64), spacing, "mm")
        masks = self.get_roi_masks().to_numpy()
        return Image(masks.sum(axis=0).astype(np.int64), spacing, "mm")

    def get_segmentation_mask_image(self) -> Image:
        """Return :attr:`segmentation_mask_image`."""
        return self.segmentation_mask_image

    @cached_property
    def motion_correction(self) -> pd.DataFrame:
        """Return the rigid motion-correction offsets ``x``, ``y`` (pixels) per frame."""
        return ophys.read_motion_correction(self._file)

    # --- traces ------------------------------------------------------------------------------
    @cached_property
    def ophys_timestamps(self) -> np.ndarray:
        """Return the 2-photon frame times (s)."""
        return ophys.read_ophys_timestamps(self._file)

    def _columns_of(self, kind: str) -> np.ndarray:
        """Return the cell-table row (in the file) of each column of trace ``kind``."""
        if kind not in self._trace_rows:
            self._trace_rows[kind] = ophys.trace_columns(self._file, kind)
        return self._trace_rows[kind]

    def _read_matrix(
        self, kind: str, cells: pd.DataFrame, *, missing: str = "raise"
    ) -> tuple[pd.DataFrame, np.ndarray]:
        """Return (cells that have trace ``kind``, their time x cell matrix), reading only them.

        ``missing="drop"`` leaves out cells the trace lacks (events may cover fewer ROIs).
        """
        column_of = pd.Series(np.arange(len(self._columns_of(kind))), index=self._columns_of(kind))
        has = cells["row"].isin(column_of.index).to_numpy()
        if not has.all() and missing == "raise":
            raise InvalidInputError(
                f"the {kind} traces of {self._file.name} lack ROIs "
                f"{cells.loc[~has, 'cell_roi_id'].tolist()[:5]} of the cell specimen table."
            )
        cells = cells[has]
        columns = column_of.loc[cells["row"].to_numpy()].to_numpy()
        all_columns = len(columns) == len(column_of) and np.array_equal(columns, column_of)
        values = ophys.read_trace_columns(self._file, kind, None if all_columns else columns)
        self._check_length(kind, values.shape[0])
        return cells, values

    def _check_length(self, kind: str, n_frames: int) -> None:
        """Raise if trace ``kind`` has not one value per ophys timestamp."""
        if n_frames != len(self.ophys_timestamps):
            raise InvalidInputError(
                f"the {kind} traces of {self._file.name} have {n_frames} frames but there are "
                f"{len(self.ophys_timestamps)} ophys timestamps; the file is inconsistent."
            )

    def _filtered(self, events: np.ndarray) -> np.ndarray:
        """Return events (time x cell) smoothed as the reference's ``filtered_events``."""
        scale, steps = self._events_filter
        rate = float(self.metadata["ophys_frame_rate"])
        return np.asarray(filter_events(events.T, rate, scale, steps)).T

    def get_traces(
        self, trace: str = "dff", cell_specimen_ids: Iterable[int] | None = None
    ) -> xr.DataArray:
        """Return a trace of the given cells (all when None) as (cell_specimen_id x time).

        ``trace`` is ``dff``, ``events``, ``filtered_events``, ``corrected_fluorescence``,
        ``demixed_trace`` or ``neuropil_trace``; only the asked cells' columns are read.
        """
        cells, values = self._trace_values(trace, cell_specimen_ids)
        return xr.DataArray(
            values.T,
            dims=("cell_specimen_id", "time"),
            coords={"cell_specimen_id": cells.index.to_numpy(), "time": self.ophys_timestamps,
                    "cell_roi_id": ("cell_specimen_id", cells["cell_roi_id"].to_numpy())},
            name=trace,
        )  # fmt: skip

    def _trace_values(
        self, trace: str, cell_specimen_ids: Iterable[int] | None
    ) -> tuple[pd.DataFrame, np.ndarray]:
        """Return (cells, time x cell values) of ``trace`` for the given cells."""
        kind = "events" if trace == "filtered_events" else trace
        missing = "drop" if kind == "events" and cell_specimen_ids is None else "raise"
        cells, values = self._read_matrix(kind, self._select_cells(cell_specimen_ids),
                                          missing=missing)  # fmt: skip
        return cells, self._filtered(values) if trace == "filtered_events" else values

    def get_dff_traces(
        self, cell_specimen_ids: Iterable[int] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return (ophys timestamps, cell x time dF/F) of the given cells in table order,
        reading only their columns (the reference's legacy ``get_dff_traces``)."""
        _, values = self._read_matrix("dff", self._select_cells(cell_specimen_ids))
        return self.ophys_timestamps, np.ascontiguousarray(values.T)

    def _trace_table(self, kind: str, column: str) -> pd.DataFrame:
        """Return ``cell_roi_id`` and one trace array per cell (index cell_specimen_id)."""
        cells, values = self._read_matrix(kind, self._cells)
        rows = np.ascontiguousarray(values.T)
        return pd.DataFrame({"cell_roi_id": cells["cell_roi_id"], column: list(rows)})

    @cached_property
    def dff_traces(self) -> pd.DataFrame:
        """Return each cell's dF/F: ``cell_roi_id``, ``dff`` (index cell_specimen_id)."""
        return self._trace_table("dff", "dff")

    @cached_property
    def corrected_fluorescence_traces(self) -> pd.DataFrame:
        """Return each cell's corrected fluorescence, with ``r`` and ``RMSE`` when stored."""
        table = self._trace_table("corrected_fluorescence", "corrected_fluorescence")
        fits = ophys.read_fit_values(self._file)
        if fits is not None:
            column = self._columns_of("corrected_fluorescence")
            fits.index = column[: len(fits)]
            rows = self._cells.loc[table.index, "row"].to_numpy()
            for name in ("r", "RMSE"):
                table[name] = fits[name].reindex(rows).to_numpy()
        return table

    @cached_property
    def demixed_traces(self) -> pd.DataFrame:
        """Return each cell's demixed trace: ``cell_roi_id``, ``demixed_trace``."""
        return self._trace_table("demixed_trace", "demixed_trace")

    @cached_property
    def neuropil_traces(self) -> pd.DataFrame:
        """Return each cell's neuropil trace (the file's; the reference returns demixed ones)."""
        return self._trace_table("neuropil_trace", "neuropil_trace")

    @cached_property
    def events(self) -> pd.DataFrame:
        """Return each cell's detected events, ``filtered_events``, ``lambda`` and ``noise_std``.

        Cells without event detection are left out, as in the reference.
        """
        cells, values = self._read_matrix("events", self._cells, missing="drop")
        parameters = ophys.read_event_parameters(self._file)
        parameters.index = self._columns_of("events")[: len(parameters)]
        rows = cells["row"].to_numpy()
        return pd.DataFrame(
            {
                "cell_roi_id": cells["cell_roi_id"],
                "events": list(np.ascontiguousarray(values.T)),
                "filtered_events": list(np.ascontiguousarray(self._filtered(values).T)),
                "lambda": parameters["lambda"].reindex(rows).to_numpy(),
                "noise_std": parameters["noise_std"].reindex(rows).to_numpy(),
            }
        )
