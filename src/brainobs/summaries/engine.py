"""Compute a release's summary tables over its sessions, keep them, and serve them lazily.

:func:`summarize` lists the sessions the release's :class:`~brainobs.summaries.spec.SummarySet`
covers, keys each one by its data file's hash from the manifest (with the summary's version,
the tables' columns and the session's metadata), reuses the partitions that are current,
and computes the others through :func:`brainobs.parallel.map_sessions`: serially, or on a
Dask cluster where each worker opens its session from the shared cache or by byte ranges and
sends back only the session's tables. Each session's tables are written as soon as they
arrive, so an interrupted run resumes where it stopped; a session that fails is reported with
its id and traceback (and in ``_failures.json``) while the others are kept.
:func:`summary` returns a table as a lazy pyarrow dataset that pandas, polars and DuckDB read.

This module imports pyarrow only when it runs, so ``import brainobs`` stays fast.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from brainobs import config
from brainobs.errors import InvalidInputError, UnknownIdError
from brainobs.parallel import SessionFailure, TaskInfo, map_sessions
from brainobs.releases import get_release
from brainobs.summaries.spec import SessionTask, SummarySet, SummaryTable

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.dataset as ds

    from brainobs.summaries.store import SummaryStore

__all__ = ["SummaryRun", "load_summaries", "summaries_dir", "summarize", "summary"]


def load_summaries(release: str) -> SummarySet:
    """Return the summaries a release declares (``Release.summaries``)."""
    spec: SummarySet = get_release(release).load_summaries()
    return spec


def summaries_dir(release: str, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Return the default folder of a release's summaries: ``<cache dir>/summaries/<release>``."""
    return config.cache_dir(cache_dir) / "summaries" / get_release(release).name


def summary(
    release: str,
    table: str | None = None,
    *,
    out: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> ds.Dataset:
    """Return summary ``table`` of ``release`` (its first table when None) as a lazy dataset.

    Nothing is read until asked: ``.to_table(filter=..., columns=...).to_pandas()``, or
    ``polars.scan_pyarrow_dataset(...)``, or DuckDB's ``FROM`` on the dataset. ``out`` is
    the folder :func:`summarize` wrote (default: :func:`summaries_dir` of ``cache_dir``).
    """
    from brainobs.summaries.store import SummaryStore

    spec = load_summaries(release)
    root = Path(out) if out is not None else summaries_dir(release, cache_dir)
    return SummaryStore(root).dataset(spec.table(table))


@dataclass
class SummaryRun:
    """What one :func:`summarize` call did, session by session."""

    summaries: SummarySet
    out: Path
    computed: list[int] = field(default_factory=list)
    reused: list[int] = field(default_factory=list)
    rebuilt: dict[int, str] = field(default_factory=dict)
    failures: dict[int, SessionFailure] = field(default_factory=dict)
    info: dict[int, TaskInfo] = field(default_factory=dict)
    bytes_read: dict[int, int | None] = field(default_factory=dict)
    rows: dict[int, dict[str, int]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Return True when no session failed."""
        return not self.failures

    def table(self, name: str | None = None) -> ds.Dataset:
        """Return summary table ``name`` as written (a lazy pyarrow dataset)."""
        from brainobs.summaries.store import SummaryStore

        return SummaryStore(self.out).dataset(self.summaries.table(name))

    def describe(self) -> str:
        """Return a short account: sessions computed, reused, rebuilt, failed."""
        lines = [
            f"{self.summaries.release} summaries in {self.out}: {len(self.computed)} sessions "
            f"computed, {len(self.reused)} reused, {len(self.failures)} failed"
        ]
        lines += [f"  rebuilt {sid}: {why}" for sid, why in self.rebuilt.items()]
        lines += [f"  failed {failure}" for failure in self.failures.values()]
        return "\n".join(lines)

    def raise_for_failures(self) -> None:
        """Raise :class:`~brainobs.parallel.SessionsFailedError` if any session failed."""
        from brainobs.parallel import MapResult

        MapResult(failures=dict(self.failures)).raise_for_failures()


@dataclass
class SessionTables:
    """What travels back from a worker: one session's tables (Arrow) and its bytes read."""

    tables: dict[str, pa.Table]
    bytes_read: int | None


def summarize(
    cache: Any,
    session_ids: Iterable[int] | None = None,
    *,
    client: Any = None,
    stream: bool = False,
    out: str | os.PathLike[str] | None = None,
    summaries: SummarySet | None = None,
    retries: int = 2,
    max_in_flight: int | None = None,
    force: bool = False,
    show_progress: bool = False,
) -> SummaryRun:
    """Compute the release's summary tables for the sessions that are not current; return how.

    ``cache`` is a project cache (``VisualBehaviorNeuropixelsProjectCache``...); its release
    declares the summaries (``summaries`` replaces them). ``session_ids`` limits the run (all
    the sessions the summaries cover by default). ``client`` is a ``dask.distributed``
    client, a scheduler address or an executor (see :func:`brainobs.parallel.map_sessions`);
    ``stream`` reads the sessions' files by byte ranges instead of downloading them. Tables
    go to ``out`` (default ``<cache dir>/summaries/<release>``); ``force`` recomputes every
    session.
    """
    from brainobs.summaries.store import SummaryStore

    spec = summaries if summaries is not None else cache.RELEASE.load_summaries()
    store = SummaryStore(Path(out) if out is not None else _default_out(cache, spec.release))
    tasks = plan_tasks(cache, spec, session_ids, stream)
    keys = {sid: partition_keys(spec, task) for sid, task in tasks.items()}
    run = SummaryRun(spec, store.root)
    todo = _triage(store, spec, keys, run, force)
    outcome = map_sessions(
        partial(summarize_session, cache, spec, {sid: tasks[sid] for sid in todo}),
        todo,
        client=client,
        retries=retries,
        on_result=partial(_write_session, store, spec, keys),
        max_in_flight=max_in_flight,
        show_progress=show_progress,
        desc=f"{spec.release} summaries",
    )
    run.computed = list(outcome.results)
    run.failures, run.info = dict(outcome.failures), dict(outcome.info)
    run.rows = {sid: written["rows"] for sid, written in outcome.results.items()}
    run.bytes_read = {sid: written["bytes_read"] for sid, written in outcome.results.items()}
    store.write_failures(run.failures.values())
    return run


def _default_out(cache: Any, release: str) -> Path:
    """Return where a cache's summaries go: its cache folder, or the user's for a mirror."""
    from brainobs.storage.cache import CacheMode

    fetch_api = cache.fetch_api
    if fetch_api.mode is CacheMode.MIRROR:
        return summaries_dir(release)
    return summaries_dir(release, fetch_api.cache_dir)


def plan_tasks(
    cache: Any, spec: SummarySet, session_ids: Iterable[int] | None, stream: bool
) -> dict[int, SessionTask]:
    """Return the task of every session to summarise, with its file hash from the manifest."""
    table = spec.sessions(cache)
    if session_ids is not None:
        wanted = list(dict.fromkeys(int(s) for s in session_ids))
        unknown = [s for s in wanted if s not in table.index]
        if unknown:
            raise UnknownIdError(
                f"{spec.release} summaries cover no session {unknown[:5]}; they cover "
                f"{len(table)} sessions with data files (ids {table.index.min()} to "
                f"{table.index.max()}). List them with `brainobs sessions {spec.release}`."
            )
        table = table.loc[wanted]
    tasks = {}
    # the labels from the index itself (iterrows types them as bare Hashable)
    for session_id, (_, row) in zip(table.index, table.iterrows(), strict=True):
        file_id = int(row["file_id"])
        metadata = {str(k): _plain(v) for k, v in row.items() if k != "file_hash"}
        file_hash = _file_hash(cache, row, file_id)
        tasks[int(session_id)] = SessionTask(int(session_id), file_id, file_hash, metadata, stream)
    return tasks


def _file_hash(cache: Any, row: pd.Series, file_id: int) -> str:
    """Return what identifies a session's file: the summaries' ``file_hash``, else the manifest's.

    A release whose manifest has no hashes (a warehouse layout) gives its own identifier
    (a version id, a size and date) in a ``file_hash`` column of its sessions table.
    """
    if "file_hash" in row.index and isinstance(row["file_hash"], str) and row["file_hash"]:
        return row["file_hash"]
    return str(cache.fetch_api.manifest.data_file(file_id).file_hash)


def _plain(value: Any) -> Any:
    """Return a metadata value as a plain Python object (numbers, text, lists, None)."""
    import numpy as np
    import pandas as pd

    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in value]
    # pandas-stubs' isna lists pandas' scalar types only, narrower than np.isscalar's
    # (np.generic, memoryview); pandas takes any object (False for non-missing ones)
    if value is None or (np.isscalar(value) and pd.isna(value)):  # type: ignore[arg-type]
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value.item() if isinstance(value, np.generic) else value


def partition_keys(spec: SummarySet, task: SessionTask) -> dict[str, dict[str, Any]]:
    """Return, per table, the key a session's partition must carry to be current."""
    metadata = json.dumps(dict(task.metadata), sort_keys=True, default=str)
    common = {
        "release": spec.release,
        "version": spec.version,
        "file_hash": task.file_hash,
        "metadata": hashlib.blake2b(metadata.encode(), digest_size=8).hexdigest(),
    }
    return {t.name: {**common, "columns": t.digest()} for t in spec.tables}


def _triage(
    store: SummaryStore,
    spec: SummarySet,
    keys: Mapping[int, Mapping[str, Mapping[str, Any]]],
    run: SummaryRun,
    force: bool,
) -> list[int]:
    """Return the sessions to compute; note reused ones and remove stale or corrupt partitions."""
    from brainobs.summaries.store import PartitionState

    todo = []
    for sid, table_keys in keys.items():
        checks = {name: store.check(name, sid, key) for name, key in table_keys.items()}
        if not force and all(c.state is PartitionState.CURRENT for c in checks.values()):
            run.reused.append(sid)
            continue
        todo.append(sid)
        damaged = (PartitionState.STALE, PartitionState.CORRUPT)
        bad = [f"{n} {c.state.value} ({c.reason})" for n, c in checks.items() if c.state in damaged]
        if bad:
            run.rebuilt[sid] = "; ".join(bad)
        for name in spec.table_names:
            store.remove(name, sid)
    return todo


def summarize_session(
    cache: Any, spec: SummarySet, tasks: Mapping[int, SessionTask], session_id: int
) -> SessionTables:
    """Return one session's summary tables, checked against their declared columns.

    Runs where the session is read (a Dask worker): only the tables travel back.
    """
    task = tasks[session_id]
    result = spec.compute(cache, task)
    tables = {
        table.name: conform(spec, table, result.tables.get(table.name), session_id)
        for table in spec.tables
    }
    return SessionTables(tables, result.bytes_read)


def conform(
    spec: SummarySet, table: SummaryTable, frame: pd.DataFrame | None, session_id: int
) -> pa.Table:
    """Return ``frame`` as an Arrow table of the declared columns; raise if they differ."""
    import pyarrow as pa

    if frame is None:
        raise InvalidInputError(
            f"the {spec.release} summary of session {session_id} returned no {table.name!r} table"
        )
    frame = frame.reset_index(drop=True)
    if spec.session_column in table.column_names:
        frame[spec.session_column] = session_id
    missing = [c for c in table.column_names if c not in frame.columns]
    extra = [c for c in frame.columns if c not in table.column_names]
    if missing or extra:
        raise InvalidInputError(
            f"the {spec.release} summary table {table.name!r} of session {session_id} lacks "
            f"{missing} and has undeclared {extra}; declare the columns in its SummaryTable."
        )
    columns = frame[table.column_names]
    return pa.Table.from_pandas(columns, schema=table.schema(), preserve_index=False)


def _write_session(
    store: SummaryStore,
    spec: SummarySet,
    keys: Mapping[int, Mapping[str, Mapping[str, Any]]],
    session_id: int,
    result: SessionTables,
) -> dict[str, Any]:
    """Write one session's tables as they arrive; return their row counts and bytes read."""
    rows = {
        name: store.write(name, session_id, result.tables[name], keys[session_id][name])
        for name in spec.table_names
    }
    return {"rows": rows, "bytes_read": result.bytes_read}
