"""Summary tables on disk: one Parquet file per table and session, each carrying its key.

Layout below a summaries folder (``<cache>/summaries/<release>/`` by default)::

    <table>/<session_id>.parquet     one partition per session (units/, sessions/...)
    _failures.json                   the sessions that failed in the last run, with tracebacks

Each partition stores in its Parquet metadata the key it was computed for: the data file's
hash from the manifest, the summary's version, a digest of the table's columns and of the
session's metadata row. A partition is reused only when it is readable, its pages pass their
CRC checks and its key is the one asked for; otherwise it is *stale* (its session's file or
the computation changed) or *corrupt* (truncated or damaged) and is computed again. Writes go
through :func:`brainobs.storage.atomic.atomic_write`, so a partition appears whole or not at
all, and pages carry CRCs (``write_page_checksum``) so later damage is detected. Any reader of
Parquet folders (pyarrow, pandas, polars, DuckDB) reads ``<table>/*.parquet`` as one table.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from brainobs.storage.atomic import atomic_write, write_atomic
from brainobs.summaries.spec import SummaryTable

__all__ = ["FAILURES_FILE", "Check", "PartitionState", "SummaryStore"]

KEY = b"brainobs.summary_key"
FAILURES_FILE = "_failures.json"


class PartitionState(Enum):
    """What a session's partition of one table is worth."""

    CURRENT = "current"  # readable, verified, computed for the key asked for
    MISSING = "missing"
    STALE = "stale"  # computed for another file hash, version or metadata
    CORRUPT = "corrupt"  # unreadable: truncated, damaged pages, no key


@dataclass(frozen=True)
class Check:
    """The state of one partition and why."""

    state: PartitionState
    reason: str = ""


class SummaryStore:
    """The partitions of a release's summary tables below ``root``."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).expanduser()

    def __repr__(self) -> str:
        return f"SummaryStore({str(self.root)!r})"

    def path(self, table: str, session_id: int) -> Path:
        """Return where the partition of ``session_id`` in ``table`` lives."""
        return self.root / table / f"{int(session_id)}.parquet"

    def files(self, table: str) -> list[Path]:
        """Return the partitions of ``table``, sorted by session id."""
        folder = self.root / table
        found = folder.glob("*.parquet") if folder.is_dir() else []
        return sorted((p for p in found if p.stem.isdigit()), key=lambda p: int(p.stem))

    def session_ids(self, table: str) -> list[int]:
        """Return the session ids that have a partition of ``table``."""
        return [int(p.stem) for p in self.files(table)]

    def check(self, table: str, session_id: int, key: Mapping[str, Any]) -> Check:
        """Return whether the partition is current for ``key``, missing, stale or corrupt."""
        path = self.path(table, session_id)
        if not path.is_file():
            return Check(PartitionState.MISSING)
        try:
            with path.open("rb") as stream:
                parquet = pq.ParquetFile(stream, page_checksum_verification=True)
                stored = _stored_key(parquet)
                if stored != dict(key):
                    return Check(PartitionState.STALE, _difference(stored, key))
                data = parquet.read()
                if data.num_rows != parquet.metadata.num_rows:
                    raise ValueError("row count differs from the footer")
        except (OSError, pa.ArrowException, ValueError, KeyError, TypeError) as exc:
            return Check(PartitionState.CORRUPT, " ".join(str(exc).split())[:200])
        return Check(PartitionState.CURRENT)

    def write(self, table: str, session_id: int, data: pa.Table, key: Mapping[str, Any]) -> int:
        """Write one partition atomically with ``key`` in its metadata; return its rows."""
        metadata = {**(data.schema.metadata or {}), KEY: json.dumps(dict(key)).encode()}
        data = data.replace_schema_metadata(metadata)
        with atomic_write(self.path(table, session_id)) as stream:
            pq.write_table(data, stream, write_page_checksum=True)
        return int(data.num_rows)

    def remove(self, table: str, session_id: int) -> None:
        """Delete one partition (nothing happens when there is none)."""
        self.path(table, session_id).unlink(missing_ok=True)

    def dataset(self, table: SummaryTable) -> ds.Dataset:
        """Return the table over every partition as a lazy pyarrow dataset."""
        files = [str(p) for p in self.files(table.name)]
        return ds.dataset(files, schema=table.schema(), format="parquet")

    def write_failures(self, failures: Iterable[Any]) -> Path:
        """Record the failures of the last run (session id, error, traceback); return the file."""
        rows = [
            {
                "session_id": f.session_id,
                "error_type": f.error_type,
                "message": f.message,
                "attempts": f.attempts,
                "traceback": f.traceback,
            }
            for f in failures
        ]
        path = self.root / FAILURES_FILE
        write_atomic(path, json.dumps(rows, indent=2, default=str).encode())
        return path

    def read_failures(self) -> list[dict[str, Any]]:
        """Return the failures recorded by the last run (empty when none)."""
        path = self.root / FAILURES_FILE
        return list(json.loads(path.read_text())) if path.is_file() else []


def _stored_key(parquet: pq.ParquetFile) -> dict[str, Any]:
    """Return the key stored in a partition; raise KeyError if it has none."""
    metadata = parquet.schema_arrow.metadata or {}
    value = json.loads(metadata[KEY])
    if not isinstance(value, dict):
        raise ValueError("the stored key is not an object")
    return value


def _difference(stored: Mapping[str, Any], wanted: Mapping[str, Any]) -> str:
    """Return which key fields differ, for messages."""
    names = sorted(k for k in {*stored, *wanted} if stored.get(k) != wanted.get(k))
    return f"{', '.join(names)} changed"
