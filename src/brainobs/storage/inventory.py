"""What a cache folder holds, and clearing it.

The cache knows its own files: those its manifests list (in their version folders), their
partial downloads and lock files, the manifests, its records and the tables derived from them.
Clearing removes only those -- a file a user put in the cache folder stays, and a link is
removed as a link, never followed.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from brainobs.storage.confine import is_inside, is_regular_file
from brainobs.storage.manifest import Manifest
from brainobs.storage.records import (
    DANDI_STORE,
    DOWNLOADED_DATA,
    LAST_USED,
    LOCKS,
    read_last_used,
    update_downloaded_data,
)
from brainobs.storage.verify import cached_manifests, dandi_store_files

TABLES = ".tables"


@dataclass(frozen=True)
class CachedVersion:
    """One manifest version in the cache: how many of its files are there, and their size."""

    manifest: str
    project: str
    files: int
    bytes: int
    last_used: bool


@dataclass
class ClearResult:
    """What :func:`clear_cache` removed, and the entries it left because it did not make them."""

    removed: int = 0
    kept: list[Path] = field(default_factory=list)


def _own_files(cache_dir: Path, manifest: Manifest) -> Iterator[Path]:
    """Yield the paths of ``manifest``'s files in the cache that stay inside it."""
    folder = cache_dir / manifest.cache_folder
    for entry in manifest.entries().values():
        path = folder / entry.relative_path
        if is_inside(cache_dir, path.parent):
            yield path


def cache_inventory(cache_dir: Path) -> list[CachedVersion]:
    """Return one row per manifest stored in ``cache_dir`` (links out of the cache not counted)."""
    if not cache_dir.is_dir():
        return []
    last = read_last_used(cache_dir) or ""
    rows = []
    for manifest in cached_manifests(cache_dir):
        present = [p for p in _own_files(cache_dir, manifest) if is_inside(cache_dir, p)]
        present = [p for p in present if p.is_file()]
        rows.append(
            CachedVersion(
                manifest=manifest.name,
                project=manifest.project_name,
                files=len(present),
                bytes=sum(p.lstat().st_size for p in present if is_regular_file(p)),
                last_used=manifest.name == last,
            )
        )
    stored = [p for _, p in dandi_store_files(cache_dir) if is_regular_file(p)]
    if stored:
        size = sum(p.stat().st_size for p in stored)
        rows.append(
            CachedVersion("DANDI downloads (by SHA-256)", "dandi", len(stored), size, False)
        )
    return rows


def clear_cache(cache_dir: Path, project: str | None = None) -> ClearResult:
    """Delete the files brainobs made for ``project`` (or for every project); say what stayed."""
    result = ClearResult()
    if not cache_dir.is_dir():
        return result
    manifests = [m for m in cached_manifests(cache_dir) if project in (None, m.project_name)]
    forget: dict[str, str | None] = {}
    for manifest in manifests:
        for path in _own_files(cache_dir, manifest):
            for entry in (path, path.with_name(path.name + ".part")):
                if _remove_entry(entry):
                    result.removed += 1
                    forget[str(entry.absolute())] = None
        folder = cache_dir / manifest.cache_folder
        result.kept += _prune_empty_folders(cache_dir, folder)
        _remove_tree(cache_dir, cache_dir / TABLES / manifest.cache_folder)
        result.removed += _remove_entry(cache_dir / manifest.name)
    if project is None:
        for name in (DOWNLOADED_DATA, LAST_USED):
            result.removed += _remove_entry(cache_dir / name)
        result.removed += _clear_dandi(cache_dir)
        _remove_tree(cache_dir, cache_dir / LOCKS)
        _remove_tree(cache_dir, cache_dir / TABLES, only_empty=True)
    elif forget and (cache_dir / DOWNLOADED_DATA).exists():
        update_downloaded_data(cache_dir, forget)
    if project is not None and read_last_used(cache_dir) in {m.name for m in manifests}:
        _remove_entry(cache_dir / LAST_USED)
    return result


def _clear_dandi(cache_dir: Path) -> int:
    """Remove the files downloaded from DANDI and the cached listings; return how many files."""
    removed = 0
    for _, path in dandi_store_files(cache_dir):
        removed += _remove_entry(path)
        with contextlib.suppress(OSError):
            path.parent.rmdir()
    _remove_tree(cache_dir, cache_dir / DANDI_STORE.parent / "listings")
    for folder in (cache_dir / DANDI_STORE, cache_dir / DANDI_STORE.parent):
        _remove_tree(cache_dir, folder, only_empty=True)
    return removed


def _remove_entry(path: Path) -> bool:
    """Remove the file or link ``path`` itself (never a link's target); return whether done."""
    if not (path.is_symlink() or is_regular_file(path)):
        return False
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    return True


def _prune_empty_folders(cache_dir: Path, folder: Path) -> list[Path]:
    """Remove the empty folders under ``folder`` (and it); return the entries left in it."""
    if folder.is_symlink() or not folder.is_dir() or not is_inside(cache_dir, folder):
        return [folder] if folder.is_symlink() else []
    kept: list[Path] = []
    for child in sorted(folder.iterdir()):
        if child.is_dir() and not child.is_symlink():
            kept += _prune_empty_folders(cache_dir, child)
        else:
            kept.append(child)
    if not kept:
        folder.rmdir()
    return kept


def _remove_tree(cache_dir: Path, folder: Path, only_empty: bool = False) -> None:
    """Remove ``folder``, a folder only brainobs writes to (links in it are not followed)."""
    if folder.is_symlink() or not folder.is_dir() or not is_inside(cache_dir, folder):
        return
    if only_empty:
        with contextlib.suppress(OSError):
            folder.rmdir()
        return
    shutil.rmtree(folder)
