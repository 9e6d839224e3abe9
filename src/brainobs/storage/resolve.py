"""Turn the ids users know (sessions, probes, files) into manifest entries."""

from __future__ import annotations

import csv
from collections.abc import Iterable

from brainobs.errors import UnknownIdError
from brainobs.storage.cache import ReleaseCache
from brainobs.storage.manifest import FileEntry

#: Columns naming the session a row with a file belongs to: an id in one of them fetches the
#: row's file too (a VBN ecephys session's LFP files, a VBO imaging session's planes).
SESSION_ID_COLUMNS = ("ecephys_session_id", "ophys_session_id")


def entries_for_ids(cache: ReleaseCache, ids: Iterable[str | int]) -> list[FileEntry]:
    """Return the data files of ``ids``: file ids, or ids in a metadata table's first column.

    An id matches a metadata row when it is the row's index (first column) or one of its
    :data:`SESSION_ID_COLUMNS`; the row's ``file_id`` names the file (negative: none).
    """
    manifest = cache.manifest
    by_id = _file_ids_by_row_id(cache)
    entries: list[FileEntry] = []
    for raw in ids:
        key = str(raw).strip()
        file_ids = [f for f in by_id.get(key, []) if f is not None]
        if key in manifest.data_files:
            file_ids = [key, *file_ids]
        if not file_ids and key in by_id:
            raise UnknownIdError(
                f"{key} is listed in the metadata tables of manifest {manifest.name} but has "
                "no file of its own in this release (file_id -999)."
            )
        if not file_ids:
            raise UnknownIdError(
                f"{key} is neither a file id of manifest {manifest.name} nor an id in its "
                "metadata tables. List the sessions with `brainobs sessions <release>`."
            )
        entries += [
            manifest.data_files[f] for f in dict.fromkeys(file_ids) if f in manifest.data_files
        ]
    return list(dict.fromkeys(entries))


def _file_ids_by_row_id(cache: ReleaseCache) -> dict[str, list[str | None]]:
    """Return metadata row id -> the file ids its rows point to (None: a row without file)."""
    column = cache.manifest.metadata_file_id_column_name
    out: dict[str, list[str | None]] = {}
    for name in cache.manifest.metadata_files:
        with cache.metadata_path(name).open(newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, [])
            if column not in header:
                continue
            file_col = header.index(column)
            id_cols = [0] + [i for i, h in enumerate(header) if h in SESSION_ID_COLUMNS and i]
            for row in reader:
                file_id = _as_file_id(row[file_col])
                for col in id_cols:
                    out.setdefault(row[col].strip(), []).append(file_id)
    return out


def _as_file_id(text: str) -> str | None:
    try:
        value = int(float(text))
    except ValueError:
        return None
    return str(value) if value >= 0 else None
