"""Keep the cache's reads, writes, moves and deletes inside the cache folder.

A path in the cache may be a link: the cache itself links a file shared by two manifest
versions to its first copy (inside the cache). A link that leads *out* of the cache -- planted
by a user, another program or an attacker -- is never followed: brainobs does not read, write,
move or delete its target. Such a link at a file's place is moved aside (the link itself, into
``_quarantine/``); a folder on the way to a file that leads out stops the operation with a
:class:`~brainobs.errors.CacheError`.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
from pathlib import Path

from filelock import FileLock

from brainobs.errors import CacheError

__all__ = [
    "cache_lock",
    "check_folder_inside",
    "is_inside",
    "is_regular_file",
    "leads_out",
    "move_entry",
    "read_small_file",
]


def is_inside(root: Path, path: Path) -> bool:
    """Return whether ``path``, every link followed, lies in ``root`` (links followed too)."""
    try:
        return path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError, ValueError):  # a link loop, a NUL byte
        return False


def leads_out(root: Path, path: Path) -> bool:
    """Return whether ``path`` (a link, or a folder on its way) leads out of ``root``."""
    return not is_inside(root, path)


def is_regular_file(path: Path) -> bool:
    """Return whether ``path`` itself (not what a link points to) is a regular file."""
    try:
        return stat.S_ISREG(path.lstat().st_mode)
    except (OSError, ValueError):
        return False


def check_folder_inside(root: Path, folder: Path, what: str) -> None:
    """Raise CacheError if ``folder`` is reached through a link that leaves ``root``."""
    if not is_inside(root, folder):
        raise CacheError(
            f"{folder} leads out of the cache {root} through a link (to {_target(folder)}); "
            f"brainobs does not {what} through links that leave the cache. Remove the link, or "
            "choose the other place as the cache with cache_dir=... / BRAINOBS_CACHE_DIR."
        )


def _target(path: Path) -> str:
    """Return where ``path`` really leads, for messages."""
    try:
        return str(path.resolve())
    except (OSError, RuntimeError):
        return "a loop of links"


def cache_lock(path: Path) -> FileLock:
    """Return a lock on ``path``, a lock file of brainobs's; a link planted there is removed.

    Locking opens (and may truncate) the lock file, so a link at its place must never be
    followed: the link itself (never its target) is deleted first.
    """
    if path.is_symlink() or (path.exists() and not is_regular_file(path)):
        with contextlib.suppress(FileNotFoundError):
            if path.is_dir() and not path.is_symlink():
                raise CacheError(f"{path} is a folder where brainobs keeps a lock file; remove it.")
            path.unlink()
    return FileLock(str(path))


def move_entry(source: Path, destination: Path) -> None:
    """Move the entry ``source`` (a file, or a link as a link) to ``destination``.

    Across file systems (``EXDEV``) a link is re-created and a file copied, then the source
    entry is removed; nothing is followed, so a link's target is never moved or read.
    """
    destination.parent.mkdir(parents=True, exist_ok=True)
    try:
        source.rename(destination)
        return
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise CacheError(f"Cannot move {source} to {destination}: {exc.strerror}.") from exc
    try:
        if source.is_symlink():
            destination.symlink_to(source.readlink())
        else:
            shutil.copy2(source, destination, follow_symlinks=False)
        source.unlink()
    except OSError as exc:
        with contextlib.suppress(OSError):
            destination.unlink()
        raise CacheError(
            f"Cannot move {source} to {destination} (another file system): {exc.strerror}."
        ) from exc


def read_small_file(path: Path, limit: int) -> bytes | None:
    """Return the bytes of the regular file ``path`` if it has at most ``limit``, else None.

    A link, a device or a pipe is not read (None), so a planted ``/dev/zero`` cannot stall.
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except (OSError, ValueError):
        return None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        data = handle.read(limit + 1)
    return data if len(data) <= limit else None
