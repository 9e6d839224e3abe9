"""The cache's bookkeeping: which files were verified, and where damaged ones go.

``_downloaded_data.json`` (the AllenSDK's name, so its caches are reused) maps the absolute
path of every verified file to its BLAKE2b digest; brainobs trusts a cached file only when it is
recorded there with the manifest's digest. A file that fails verification is moved under
``_quarantine/<time>/`` rather than deleted, so nothing a user put there is lost.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path

from filelock import FileLock

from brainobs.storage.atomic import write_atomic

DOWNLOADED_DATA = "_downloaded_data.json"
LAST_USED = "_manifest_last_used.txt"
QUARANTINE = "_quarantine"
LOCKS = ".locks"


def read_downloaded_data(cache_dir: Path) -> dict[str, str]:
    """Return the verified-files record of ``cache_dir`` (empty when absent or unreadable)."""
    try:
        data = json.loads((cache_dir / DOWNLOADED_DATA).read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def update_downloaded_data(cache_dir: Path, changes: Mapping[str, str | None]) -> None:
    """Apply ``changes`` (path -> hash, or None to forget) to the record, under a lock."""
    (cache_dir / LOCKS).mkdir(parents=True, exist_ok=True)
    with FileLock(str(cache_dir / LOCKS / f"{DOWNLOADED_DATA}.lock")):
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
    """Move ``path`` under ``cache_dir/_quarantine/`` and forget it; return the new path."""
    stamp = time.strftime("%Y%m%dT%H%M%S")
    try:
        relative = path.absolute().relative_to(cache_dir.absolute())
    except ValueError:
        relative = Path(path.name)
    destination = cache_dir / QUARANTINE / stamp / relative
    destination.parent.mkdir(parents=True, exist_ok=True)
    path.replace(destination)
    update_downloaded_data(cache_dir, {str(path.absolute()): None})
    return destination
