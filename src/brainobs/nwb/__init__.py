"""brainobs.nwb: the only code in brainobs that reads HDF5.

Lazy, picklable handles on local or remote NWB files (:class:`NwbFile`), readers that take
only the asked rows, columns and time windows out of them, and lazy xarray arrays for the
big datasets.
"""

from brainobs.nwb.fields import read_fields
from brainobs.nwb.handle import NwbFile
from brainobs.nwb.intervals import (
    presentation_table_names,
    read_intervals,
    read_presentations,
)
from brainobs.nwb.lazy_array import H5BackendArray, lazy_dataarray, lazy_timeseries
from brainobs.nwb.normalize import ColumnRules
from brainobs.nwb.tables import (
    read_dynamic_table,
    read_ids,
    read_ragged,
    read_region,
    read_region_ids,
    table_columns,
)
from brainobs.nwb.timeseries import (
    TimeSeriesInfo,
    read_timeseries,
    read_timestamps,
    timeseries_info,
)

__all__ = [
    "ColumnRules",
    "H5BackendArray",
    "NwbFile",
    "TimeSeriesInfo",
    "lazy_dataarray",
    "lazy_timeseries",
    "presentation_table_names",
    "read_dynamic_table",
    "read_fields",
    "read_ids",
    "read_intervals",
    "read_presentations",
    "read_ragged",
    "read_region",
    "read_region_ids",
    "read_timeseries",
    "read_timestamps",
    "table_columns",
    "timeseries_info",
]
