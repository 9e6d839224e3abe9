"""A Parquet cache of parsed metadata tables, so a warm load skips CSV parsing.

The first load of ``units.csv`` parses it and writes ``units.csv.parquet`` beside it (or into
``cache_dir``); later loads read the Parquet file when its stored key still matches: the CSV's
size and modification time, the schema's name and content, :data:`SCHEMA_VERSION` and the load
mode. Anything else (a changed CSV, an edited schema, a truncated or corrupt Parquet file) makes
brainobs parse the CSV again and rewrite the cache. Writes go to a temporary file in the same
folder and are moved into place with :func:`os.replace`, so a crash never leaves a half file and
two processes may write the same table at once. Pages carry CRCs (pyarrow >= 15) that are checked
on read, so a damaged file (even one cut short by a power loss, as the write is not fsync'ed) is
rebuilt rather than trusted. A cache folder that cannot be written is not an error: the parsed
table is returned uncached.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import json
import logging
import os
import tempfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from brainobs.tables.columns import UTC_NS
from brainobs.tables.load import read_table
from brainobs.tables.schemas import SCHEMA_VERSION, TableSchema

__all__ = ["cache_key", "cache_path", "load_table_cached"]

_log = logging.getLogger(__name__)
_KEY = b"brainobs.table_cache"
# Page CRCs (pyarrow >= 15) catch damage that would otherwise decode as wrong values.
_WRITE_CRC = (
    {"write_page_checksum": True}
    if "write_page_checksum" in inspect.signature(pq.write_table).parameters
    else {}
)
_READ_CRC = (
    {"page_checksum_verification": True}
    if "page_checksum_verification" in inspect.signature(pq.read_table).parameters
    else {}
)


def cache_path(
    csv_path: str | os.PathLike[str],
    cache_dir: str | os.PathLike[str] | None = None,
    *,
    reference_compatible: bool = False,
) -> Path:
    """Return where the Parquet copy of ``csv_path`` lives (``<csv>.parquet`` by default)."""
    csv = Path(csv_path)
    folder = csv.parent if cache_dir is None else Path(cache_dir)
    suffix = ".reference.parquet" if reference_compatible else ".parquet"
    return folder / (csv.name + suffix)


def _schema_digest(schema: TableSchema) -> str:
    """Return a short digest of the schema's content (any edit changes it)."""
    return hashlib.blake2b(repr(schema.specs).encode(), digest_size=8).hexdigest()


def cache_key(
    csv_path: str | os.PathLike[str], schema: TableSchema, *, reference_compatible: bool = False
) -> dict[str, object]:
    """Return the key a cached Parquet file must carry to stand for ``csv_path``."""
    stat = Path(csv_path).stat()
    return {
        "csv_size": stat.st_size,
        "csv_mtime_ns": stat.st_mtime_ns,
        "schema": schema.name,
        "schema_digest": _schema_digest(schema),
        "schema_version": SCHEMA_VERSION,
        "reference_compatible": reference_compatible,
    }


def _stored_key(path: Path) -> dict[str, object] | None:
    """Return the key stored in a Parquet file's metadata, or None if unreadable."""
    try:
        metadata = pq.read_schema(path).metadata or {}
        value = json.loads(metadata[_KEY])
    except (OSError, pa.ArrowException, KeyError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _restore_types(df: pd.DataFrame, table: pa.Table, schema: TableSchema) -> pd.DataFrame:
    """Return ``df`` with list columns as Python lists, dates as ns UTC, index dtype as loaded."""
    if schema.spec(schema.index).dtype == "Int64" and df.index.dtype != "Int64":
        df.index = df.index.astype("Int64")
    for name in df.columns:
        if name not in schema:
            continue
        spec = schema.spec(name)
        if spec.is_list and pd.api.types.is_object_dtype(df[name].dtype):
            df[name] = pd.Series(table.column(name).to_pylist(), index=df.index, dtype=object)
        elif isinstance(df[name].dtype, pd.DatetimeTZDtype):
            df[name] = df[name].astype(UTC_NS)
    return df


def _read_parquet(path: Path, schema: TableSchema) -> pd.DataFrame:
    """Return the DataFrame stored in a cache file."""
    table = pq.read_table(path, **_READ_CRC)
    return _restore_types(table.to_pandas(), table, schema)


def _text_columns(table: pa.Table) -> list[str]:
    """Return the top-level text columns (dictionary-encoded; numbers are not, for speed)."""
    return [
        f.name
        for f in table.schema
        if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
    ]


def _write_parquet(df: pd.DataFrame, path: Path, key: dict[str, object]) -> None:
    """Write ``df`` with ``key`` in its metadata to ``path`` atomically."""
    table = pa.Table.from_pandas(df, preserve_index=True)
    metadata = {**(table.schema.metadata or {}), _KEY: json.dumps(key).encode()}
    table = table.replace_schema_metadata(metadata)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as stream:
            pq.write_table(
                table,
                stream,
                use_dictionary=_text_columns(table),
                write_statistics=False,
                **_WRITE_CRC,
            )
        Path(tmp).replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            Path(tmp).unlink()
        raise


def load_table_cached(
    csv_path: str | os.PathLike[str],
    schema: TableSchema,
    cache_dir: str | os.PathLike[str] | None = None,
    *,
    reference_compatible: bool = False,
) -> pd.DataFrame:
    """Return the parsed table, from the Parquet cache when it is fresh, else parsing the CSV."""
    key = cache_key(csv_path, schema, reference_compatible=reference_compatible)
    target = cache_path(csv_path, cache_dir, reference_compatible=reference_compatible)
    if target.is_file() and _stored_key(target) == key:
        try:
            return _read_parquet(target, schema)
        except (OSError, pa.ArrowException, ValueError, KeyError) as exc:
            _log.warning("rebuilding unreadable table cache %s (%s)", target, exc)
    df = read_table(csv_path, schema, reference_compatible=reference_compatible)
    try:
        _write_parquet(df, target, key)
    except (OSError, pa.ArrowException) as exc:
        _log.warning("cannot write table cache %s (%s); continuing uncached", target, exc)
    return df
