"""What a cache folder holds, and clearing it."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from brainobs.storage.records import (
    DOWNLOADED_DATA,
    LAST_USED,
    read_downloaded_data,
    update_downloaded_data,
)
from brainobs.storage.verify import cached_manifests


@dataclass(frozen=True)
class CachedVersion:
    """One manifest version in the cache: how many of its files are there, and their size."""

    manifest: str
    project: str
    files: int
    bytes: int
    last_used: bool


def cache_inventory(cache_dir: Path) -> list[CachedVersion]:
    """Return one row per manifest stored in ``cache_dir``."""
    if not cache_dir.is_dir():
        return []
    last = (cache_dir / LAST_USED).read_text().strip() if (cache_dir / LAST_USED).is_file() else ""
    rows = []
    for manifest in cached_manifests(cache_dir):
        paths = [
            cache_dir / manifest.cache_folder / e.relative_path for e in manifest.entries().values()
        ]
        present = [p for p in paths if p.is_file()]
        rows.append(
            CachedVersion(
                manifest=manifest.name,
                project=manifest.project_name,
                files=len(present),
                bytes=sum(p.stat().st_size for p in present if not p.is_symlink()),
                last_used=manifest.name == last,
            )
        )
    return rows


def clear_cache(cache_dir: Path, project: str | None = None) -> int:
    """Delete the files of ``project`` (or everything brainobs put there); return a count."""
    if not cache_dir.is_dir():
        return 0
    removed = 0
    for item in sorted(cache_dir.iterdir()):
        if (
            project is None
            or item.name.startswith(f"{project}-")
            or item.name.startswith(f"{project}_project_manifest_v")
        ):
            if item.is_dir() and not item.is_symlink():
                shutil.rmtree(item)
            else:
                item.unlink()
            removed += 1
    if project is not None:
        stale = {p: None for p in read_downloaded_data(cache_dir) if not Path(p).exists()}
        if stale and (cache_dir / DOWNLOADED_DATA).exists():
            update_downloaded_data(cache_dir, stale)
    return removed
