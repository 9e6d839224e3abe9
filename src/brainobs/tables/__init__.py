"""Metadata tables: schemas as data, typed CSV loading, a Parquet cache and row filters."""

from brainobs.tables.cache import cache_path, load_table_cached
from brainobs.tables.export import to_release_frame
from brainobs.tables.filters import (
    filter_abnormal_sessions,
    filter_expression,
    filter_units,
    filter_valid_channels,
)
from brainobs.tables.load import read_table
from brainobs.tables.schemas import (
    SCHEMA_VERSION,
    ColumnSpec,
    TableSchema,
)

__all__ = [
    "SCHEMA_VERSION",
    "ColumnSpec",
    "TableSchema",
    "cache_path",
    "filter_abnormal_sessions",
    "filter_expression",
    "filter_units",
    "filter_valid_channels",
    "load_table_cached",
    "read_table",
    "to_release_frame",
]
