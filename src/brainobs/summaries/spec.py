"""What a release declares to get dataset-wide summaries: its tables and one function per session.

A release's home builds a :class:`SummarySet` (``brainobs.vbn.summary.SUMMARIES``...) and names
it in its declaration (``Release(summaries="<module>:SUMMARIES")``); the engine
(:mod:`brainobs.summaries.engine`) finds it there. Tables are declared as data: each column's
name and one of the type names of :data:`COLUMN_TYPES`, so every session's partition has the
same schema and an empty summary still has its columns.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from brainobs.errors import InvalidInputError, UnknownIdError

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

__all__ = [
    "COLUMN_TYPES",
    "SessionSummary",
    "SessionTask",
    "SummarySet",
    "SummaryTable",
]

#: The column types a summary table may declare, by name.
COLUMN_TYPES = ("int64", "float64", "bool", "string", "timestamp")


def _arrow_type(name: str) -> pa.DataType:
    """Return the Arrow type of a declared column type name."""
    import pyarrow as pa

    types = {
        "int64": pa.int64(),
        "float64": pa.float64(),
        "bool": pa.bool_(),
        "string": pa.string(),
        "timestamp": pa.timestamp("ns", tz="UTC"),
    }
    return types[name]


@dataclass(frozen=True)
class SummaryTable:
    """One dataset-wide table: its name, what a row is, and its columns as (name, type) pairs."""

    name: str
    description: str
    columns: tuple[tuple[str, str], ...]

    def __post_init__(self) -> None:
        unknown = [(c, t) for c, t in self.columns if t not in COLUMN_TYPES]
        if unknown:
            raise InvalidInputError(
                f"summary table {self.name!r} declares {unknown}; column types are {COLUMN_TYPES}."
            )

    @property
    def column_names(self) -> list[str]:
        """Return the column names, in order."""
        return [name for name, _ in self.columns]

    def schema(self) -> pa.Schema:
        """Return the table's Arrow schema."""
        import pyarrow as pa

        return pa.schema([(name, _arrow_type(kind)) for name, kind in self.columns])

    def digest(self) -> str:
        """Return a short digest of the columns (a changed declaration changes it)."""
        return hashlib.blake2b(repr(self.columns).encode(), digest_size=8).hexdigest()


@dataclass(frozen=True)
class SessionTask:
    """What a worker needs to summarise one session (small: it travels with the task)."""

    session_id: int
    file_id: int
    file_hash: str
    metadata: Mapping[str, Any]
    stream: bool = False


@dataclass
class SessionSummary:
    """What a release's function returns for one session: a DataFrame per summary table.

    ``bytes_read`` is what the session's files cost when streamed by byte ranges (None when
    read from a local copy).
    """

    tables: dict[str, pd.DataFrame]
    bytes_read: int | None = None


@dataclass(frozen=True)
class SummarySet:
    """A release's dataset-wide summaries: tables, the sessions they cover, the function.

    ``sessions(cache)`` returns the sessions to summarise, indexed by session id, with a
    ``file_id`` column (the manifest's data file whose hash keys each session's partition) and
    the metadata columns the function wants (sent with the task); a release whose manifest
    carries no hashes adds a ``file_hash`` column of its own file identifiers.
    ``compute(cache, task)`` opens one session and returns its :class:`SessionSummary`; it
    runs where the session is (a Dask worker). ``version`` names the computation: change it
    when the results change, and every partition is recomputed.
    """

    release: str
    version: str
    session_column: str
    tables: tuple[SummaryTable, ...]
    sessions: Callable[[Any], pd.DataFrame]
    compute: Callable[[Any, SessionTask], SessionSummary]
    description: str = ""

    def table(self, name: str | None = None) -> SummaryTable:
        """Return the table called ``name`` (the first one declared when None)."""
        if name is None:
            return self.tables[0]
        for table in self.tables:
            if table.name == name:
                return table
        raise UnknownIdError(
            f"{self.release} has no summary table {name!r}; its tables are "
            f"{[t.name for t in self.tables]}."
        )

    @property
    def table_names(self) -> list[str]:
        """Return the names of the tables, in declaration order."""
        return [t.name for t in self.tables]
