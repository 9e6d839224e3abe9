"""The cache's bookkeeping: which files were verified, and where damaged ones go.

``_downloaded_data.json`` (the AllenSDK's name, so its caches are reused) maps the absolute
path of every verified file to its BLAKE2b digest; brainobs trusts a cached file only when it is
recorded there with the manifest's digest. A file that fails verification is moved under
``_quarantine/<time>/`` rather than deleted, so nothing a user put there is lost; a link that
leads out of the cache is moved there as a link (its target is never touched).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path

from brainobs.errors import CacheError
from brainobs.storage.atomic import write_atomic
from brainobs.storage.confine import (
    cache_lock,
    check_folder_inside,
    is_inside,
    move_entry,
    read_small_file,
)

DOWNLOADED_DATA = "_downloaded_data.json"
LAST_USED = "_manifest_last_used.txt"
QUARANTINE = "_quarantine"
LOCKS = ".locks"
#: Files downloaded from the DANDI Archive, content-addressed: ``<store>/<sha256>/<name>``.
DANDI_STORE = Path("dandi") / "sha256"
#: The largest record read (a record of every file of every release is a few MB).
MAX_RECORD_BYTES = 256 << 20


def read_downloaded_data(cache_dir: Path) -> dict[str, str]:
    """Return the verified-files record of ``cache_dir`` (empty when absent or unreadable).

    A record that is a link, or too big, is not read.
    """
    raw = read_small_file(cache_dir / DOWNLOADED_DATA, MAX_RECORD_BYTES)
    try:
        data = json.loads(raw) if raw is not None else {}
    except (ValueError, RecursionError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def read_last_used(cache_dir: Path) -> str | None:
    """Return the manifest name recorded as used last (None when absent or unreadable)."""
    raw = read_small_file(cache_dir / LAST_USED, 4096)
    text = raw.decode("utf-8", errors="replace").strip() if raw is not None else ""
    return text or None


def locks_folder(cache_dir: Path) -> Path:
    """Return the cache's lock folder, created, after checking it stays in the cache."""
    folder = cache_dir / LOCKS
    check_folder_inside(cache_dir, folder, "keep lock files")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def update_downloaded_data(cache_dir: Path, changes: Mapping[str, str | None]) -> None:
    """Apply ``changes`` (path -> hash, or None to forget) to the record, under a lock."""
    with cache_lock(locks_folder(cache_dir) / f"{DOWNLOADED_DATA}.lock"):
        data = read_downloaded_data(cache_dir)
        for path, digest in changes.items():
            if digest is None:
                data.pop(path, None)
            else:
                data[path] = digest
        write_atomic(
            cache_dir / DOWNLOADED_DATA, json.dumps(data, indent=2, sort_keys=True).encode()
        )


def quarantine_file(cache_dir: Path, path: Path) -> Path:
    """Move the entry ``path`` of the cache under ``_quarantine/`` and forget it.

    ``path`` itself is moved: a link is moved as a link, never what it points to. Returns the
    new path.
    """
    if not is_inside(cache_dir, path.parent):
        raise CacheError(
            f"{path} is not in the cache {cache_dir} (a folder on its way leads out through a "
            "link); brainobs moves only its own files. Remove the link by hand."
        )
    stamp = time.strftime("%Y%m%dT%H%M%S")
    relative = path.parent.resolve().relative_to(cache_dir.resolve()) / path.name
    destination = cache_dir / QUARANTINE / stamp / relative
    check_folder_inside(cache_dir, cache_dir / QUARANTINE, "move files")
    while destination.exists() or destination.is_symlink():
        destination = destination.with_name(destination.name + "~")
    move_entry(path, destination)
    update_downloaded_data(cache_dir, {str(path.absolute()): None})
    return destination
