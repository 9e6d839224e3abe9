"""Output paths checked before any work: a bad one fails in a second, not after rendering.

Each check raises :class:`~brainobs.errors.InvalidInputError` naming the option, the path and
the fix. Writability is probed by creating (and removing) a file, which also catches
read-only file systems and privileges that ``os.access`` does not see.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from brainobs.errors import InvalidInputError

TABLE_SUFFIXES = (".csv", ".parquet")
REPORT_SUFFIXES = (".html", ".htm")


def check_table_output(option: str, output: str) -> Path:
    """Return ``output`` as a path after checking a table can be written there."""
    path = _plain_path(option, output)
    if path.suffix.lower() not in TABLE_SUFFIXES:
        raise InvalidInputError(f"{option} {output}: use a .csv or .parquet file name.")
    if path.is_dir():
        raise InvalidInputError(f"{option} {output} is a folder; give a file name in it.")
    folder = path.parent
    if not folder.is_dir():
        raise InvalidInputError(
            f"{option} {output}: the folder {folder} does not exist; create it first "
            f"(mkdir -p {folder}) or write elsewhere."
        )
    _probe_writable(option, output, folder)
    return path


def check_report_output(option: str, out: str) -> Path:
    """Return ``out`` (a folder, or a file ending in .html) after checking it can be written."""
    path = _plain_path(option, out)
    if path.suffix.lower() in REPORT_SUFFIXES:
        if path.is_dir():
            raise InvalidInputError(f"{option} {out} is a folder; give a file name in it.")
        folder = path.parent
    else:
        if path.exists() and not path.is_dir():
            raise InvalidInputError(
                f"{option} {out} is a file, not a folder: give a folder to write the report "
                "into, or a file name ending in .html."
            )
        folder = path
    _probe_writable(option, out, _nearest_existing(option, out, folder))
    return path


def check_folder_output(option: str, out: str) -> Path:
    """Return ``out`` after checking it is (or can become) a writable folder."""
    path = _plain_path(option, out)
    if path.exists() and not path.is_dir():
        raise InvalidInputError(f"{option} {out} is a file; give a folder.")
    _probe_writable(option, out, _nearest_existing(option, out, path))
    return path


def _plain_path(option: str, text: str) -> Path:
    """Return ``text`` as a path; refuse empty text and control characters."""
    if not text or not text.isprintable():
        raise InvalidInputError(f"{option} {text!r}: give a plain path.")
    return Path(text).expanduser()


def _nearest_existing(option: str, text: str, folder: Path) -> Path:
    """Return the closest folder at or above ``folder`` that exists (created folders go in it)."""
    current = folder.absolute()
    while not current.exists():
        current = current.parent
    if not current.is_dir():
        raise InvalidInputError(f"{option} {text}: {current} is a file, so no folder fits there.")
    return current


def _probe_writable(option: str, text: str, folder: Path) -> None:
    """Raise InvalidInputError unless a file can be created in ``folder``."""
    try:
        fd, probe = tempfile.mkstemp(prefix=".brainobs-probe-", dir=folder)
    except OSError as exc:
        raise InvalidInputError(
            f"{option} {text}: cannot write in {folder} ({exc.strerror}); choose a folder you "
            "can write to."
        ) from None
    os.close(fd)
    with contextlib.suppress(OSError):
        Path(probe).unlink()
