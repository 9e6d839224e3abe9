"""Metadata tables as data: file name, index, ordered columns and dtypes.

Each release's home declares its tables with these (``brainobs.vbn.schemas``...).

Each :class:`TableSchema` lists the columns of one released CSV in file order, *including the
index column*, with two dtypes per column:

``dtype``
    what brainobs returns after loading (list-valued columns become real Python lists, dates
    become tz-aware UTC datetimes, id counters become nullable ``Int64``);
``reference_dtype``
    what the reference toolkit (AllenSDK 2.16.2) returns for the same column: VBN never parses
    list reprs or dates (they stay ``string``), VBO parses both.

Dtype names: ``int64``, ``Int64`` (nullable), ``float64``, ``string``, ``bool``, ``list[str]``,
``list[int]``, ``list[float]``, ``datetime64[ns, UTC]``. A list-valued column is written to the
CSV as a Python list repr (``"['CA1', 'VISp']"``); a date as ``2020-08-19 14:47:08.574000+00:00``.

A writer of sample releases uses ``schema.csv_columns`` for the header; a reader uses
:func:`brainobs.tables.load.read_table`. This module is data only and its API is stable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = [
    "DATE",
    "DTYPES",
    "FLOAT",
    "INT",
    "NULLABLE_INT",
    "SCHEMA_VERSION",
    "STRING",
    "ColumnSpec",
    "TableSchema",
    "column",
]

#: Bumped whenever a schema or a load-time transform changes; keys the Parquet cache.
SCHEMA_VERSION = 1

DATE = "datetime64[ns, UTC]"
#: Every dtype name a column may have.
DTYPES = frozenset(
    {"int64", "Int64", "float64", "string", "bool", "list[str]", "list[int]", "list[float]", DATE}
)


@dataclass(frozen=True)
class ColumnSpec:
    """One column: its name, its dtype after loading, and the reference toolkit's dtype."""

    name: str
    dtype: str
    reference_dtype: str = ""
    required: bool = True
    in_release: bool = True
    int_null_sentinel: int | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if not self.reference_dtype:
            object.__setattr__(self, "reference_dtype", self.dtype)
        for dt in (self.dtype, self.reference_dtype):
            if dt not in DTYPES:
                raise ValueError(f"column {self.name!r}: unknown dtype {dt!r}")

    @property
    def is_list(self) -> bool:
        """Return True when the CSV cell holds a Python list repr."""
        return self.dtype.startswith("list[")

    @property
    def is_date(self) -> bool:
        """Return True when the column holds timestamps."""
        return self.dtype == DATE


@dataclass(frozen=True)
class TableSchema:
    """One metadata table: names, index column and ordered column specs (index included)."""

    name: str
    csv_name: str
    index: str
    specs: tuple[ColumnSpec, ...]
    release: str
    output_order: tuple[str, ...] = ()
    _by_name: Mapping[str, ColumnSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_name = {s.name: s for s in self.specs}
        if len(by_name) != len(self.specs):
            raise ValueError(f"table {self.name!r}: duplicate column names")
        if self.index not in by_name:
            raise ValueError(f"table {self.name!r}: index {self.index!r} is not a column")
        object.__setattr__(self, "_by_name", MappingProxyType(by_name))

    @property
    def columns(self) -> tuple[str, ...]:
        """Return the released CSV's column names in file order, index first."""
        return tuple(s.name for s in self.specs if s.in_release)

    @property
    def csv_columns(self) -> list[str]:
        """Return the header a writer should emit (same as :attr:`columns`, as a list)."""
        return list(self.columns)

    @property
    def known_columns(self) -> tuple[str, ...]:
        """Return every column a real file may have, including optional non-release ones."""
        return tuple(s.name for s in self.specs)

    @property
    def required_columns(self) -> tuple[str, ...]:
        """Return the columns a file must have to load."""
        return tuple(s.name for s in self.specs if s.required)

    @property
    def dtypes(self) -> dict[str, str]:
        """Return column name -> brainobs dtype after loading, for every known column."""
        return {s.name: s.dtype for s in self.specs}

    @property
    def reference_dtypes(self) -> dict[str, str]:
        """Return column name -> the reference toolkit's dtype after loading."""
        return {s.name: s.reference_dtype for s in self.specs}

    @property
    def list_columns(self) -> tuple[str, ...]:
        """Return the list-valued columns (Python list reprs in the CSV)."""
        return tuple(s.name for s in self.specs if s.is_list)

    @property
    def date_columns(self) -> tuple[str, ...]:
        """Return the timestamp columns."""
        return tuple(s.name for s in self.specs if s.is_date)

    @property
    def nullable_int_columns(self) -> tuple[str, ...]:
        """Return the columns that load as pandas nullable ``Int64``."""
        return tuple(s.name for s in self.specs if s.dtype == "Int64")

    def spec(self, name: str) -> ColumnSpec:
        """Return the spec of column ``name`` (KeyError naming the table if unknown)."""
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"table {self.name!r} has no column {name!r}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._by_name


def column(
    name: str, dtype: str, ref: str = "", *, required: bool = True, in_release: bool = True
) -> ColumnSpec:
    """Return the spec of one column (``ref``: the reference's dtype, when it differs)."""
    return ColumnSpec(name, dtype, ref, required=required, in_release=in_release)


#: Short names of the common dtypes, for schema declarations.
STRING = "string"
FLOAT = "float64"
INT = "int64"
NULLABLE_INT = "Int64"
