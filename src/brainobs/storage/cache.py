"""A local cache of one release in the reference toolkit's layout.

Layout (so an existing AllenSDK cache folder is reused as it is)::

    cache_dir/
      <project>_project_manifest_vX.Y.Z.json   manifests, flat
      _manifest_last_used.txt                  name of the manifest loaded last
      _downloaded_data.json                    {absolute path: BLAKE2b} of files fetched
      <project>-X.Y.Z/<key minus first part>   the data

A *static* cache is a folder laid out like the bucket (``cache_dir/<project>/...``, e.g. a
mount): files are read in place and nothing is downloaded.

Unlike the reference toolkit, a file is trusted only if it was verified: it is recorded in
``_downloaded_data.json`` with the manifest's digest (and has the manifest's size, when the
manifest gives one). A file at the right path that was never recorded -- the reference's
leftover of an interrupted download, say -- is hashed once, then recorded or replaced.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path

from filelock import FileLock

from brainobs.config import TransferSettings
from brainobs.errors import (
    FileNotInCacheError,
    ManifestError,
    ManifestNotFoundError,
    OutdatedManifestWarning,
    SourceError,
)
from brainobs.storage.download import Expected, _make_folder, download_file
from brainobs.storage.fetchers import Fetcher
from brainobs.storage.hashing import blake2b_file
from brainobs.storage.manifest import (
    FileEntry,
    Manifest,
    compare_manifests,
    latest_manifest_name,
    manifest_file_name,
    pick_manifest_name,
    sort_manifest_names,
    version_from_name,
)

DOWNLOADED_DATA = "_downloaded_data.json"
LAST_USED = "_manifest_last_used.txt"
QUARANTINE = "_quarantine"
LOCKS = ".locks"


class ReleaseCache:
    """The cached files of one project (``visual-behavior-neuropixels``...) in ``cache_dir``.

    With a ``fetcher`` missing files are downloaded; without one (a local-only cache) they
    raise :class:`~brainobs.errors.FileNotInCacheError`.
    """

    def __init__(
        self,
        cache_dir: str | os.PathLike[str],
        project_name: str,
        fetcher: Fetcher | None = None,
        static: bool = False,
        settings: TransferSettings | None = None,
        show_progress: bool = False,
    ) -> None:
        self.cache_dir = Path(cache_dir).expanduser()
        self.project_name = project_name
        self.fetcher = fetcher
        self.static = static
        self.settings = settings or TransferSettings.from_env()
        self.show_progress = show_progress
        self._manifest: Manifest | None = None
        if fetcher is not None and not static:
            _make_folder(self.cache_dir)

    def __repr__(self) -> str:
        return f"ReleaseCache({str(self.cache_dir)!r}, {self.project_name!r}, {self.fetcher!r})"

    # --- manifests ---------------------------------------------------------------------------
    @property
    def manifest_prefix(self) -> str:
        """Return the key prefix of this project's manifests."""
        return f"{self.project_name}/manifests/"

    def list_manifest_file_names(self) -> list[str]:
        """Return the manifest file names available, oldest version first."""
        if self.static:
            folder = self.cache_dir / self.manifest_prefix
            names = [p.name for p in folder.glob("*.json")] if folder.is_dir() else []
        elif self.fetcher is not None:
            keys = self.fetcher.list_keys(self.manifest_prefix)
            names = [k.rsplit("/", 1)[-1] for k in keys if k.endswith(".json")]
        else:
            names = [
                p.name for p in self.cache_dir.glob(f"{self.project_name}_project_manifest_v*.json")
            ]
        return sort_manifest_names(names)

    def latest_manifest_file(self) -> str:
        """Return the name of the newest manifest available."""
        names = self.list_manifest_file_names()
        if not names:
            raise ManifestNotFoundError(f"No {self.project_name} manifests in {self._where()}.")
        return latest_manifest_name(names)

    def load_manifest(self, version_or_name: str | None = None) -> Manifest:
        """Return the manifest of a version (``0.5.0``) or file name (latest when None)."""
        version = version_or_name
        if version is not None and version.endswith(".json"):
            version = version_from_name(version)
        names = self._available_names(version)
        name = pick_manifest_name(names, version)
        manifest = Manifest.from_path(self._manifest_path(name))
        if manifest.project_name != self.project_name:
            raise ManifestError(
                f"Manifest {name} is for project {manifest.project_name!r}, "
                f"not {self.project_name!r}."
            )
        self._manifest = manifest
        if not self.static and self.cache_dir.is_dir() and os.access(self.cache_dir, os.W_OK):
            _write_atomic(self.cache_dir / LAST_USED, name.encode())
        if name != names[-1]:
            warnings.warn(
                f"Using manifest {name}; a newer one, {names[-1]}, exists. "
                "Load it with load_manifest() to get the latest data.",
                OutdatedManifestWarning,
                stacklevel=2,
            )
        return manifest

    def _available_names(self, version: str | None) -> list[str]:
        """Return the manifest names to choose from; a named version needs no listing."""
        try:
            names = self.list_manifest_file_names()
        except SourceError:
            if version is None:
                raise
            return [manifest_file_name(self.project_name, version.lstrip("v"))]
        if not names:
            hint = " Download one first (`brainobs download`)." if self.fetcher is None else ""
            raise ManifestNotFoundError(
                f"No {self.project_name} manifests in {self._where()}.{hint}"
            )
        return names

    def load_last_manifest(self) -> Manifest:
        """Return the manifest used last (per ``_manifest_last_used.txt``), else the latest."""
        last = self.cache_dir / LAST_USED
        names = self.list_manifest_file_names()
        if not self.static and last.is_file():
            name = last.read_text().strip()
            if name in names:
                return self.load_manifest(name)
        return self.load_manifest(None)

    @property
    def manifest(self) -> Manifest:
        """Return the manifest in use, loading the last-used or latest one on first access."""
        if self._manifest is None:
            return self.load_last_manifest()
        return self._manifest

    def _manifest_path(self, name: str) -> Path:
        """Return a local path of manifest ``name``, fetching it if needed."""
        if self.static:
            return self.cache_dir / self.manifest_prefix / name
        local = self.cache_dir / name
        if not local.is_file() and self.fetcher is not None:
            body = read_object(self.fetcher, self.manifest_prefix + name)
            Manifest.from_json(body, source=f"{name} from {self.fetcher.describe()}")
            _write_atomic(local, body)
        return local

    def compare_manifests(self, old: str, new: str) -> list[str]:
        """Return lines describing the files that differ between two manifest versions."""
        old_m = Manifest.from_path(
            self._manifest_path(pick_manifest_name(self.list_manifest_file_names(), old))
        )
        new_m = Manifest.from_path(
            self._manifest_path(pick_manifest_name(self.list_manifest_file_names(), new))
        )
        return [str(change) for change in compare_manifests(old_m, new_m)]

    # --- files -------------------------------------------------------------------------------
    def local_path(self, entry: FileEntry, manifest: Manifest | None = None) -> Path:
        """Return where ``entry`` of ``manifest`` (default: current) lives in the cache."""
        if self.static:
            return self.cache_dir / entry.key
        manifest = manifest or self.manifest
        return self.cache_dir / manifest.cache_folder / entry.relative_path

    def metadata_path(self, name: str) -> Path:
        """Return the local path of metadata table ``name``, downloading it if needed."""
        return self.fetch(self.manifest.metadata_file(name))

    def data_path(self, file_id: int | str) -> Path:
        """Return the local path of data file ``file_id``, downloading it if needed."""
        return self.fetch(self.manifest.data_file(file_id))

    def is_cached(self, entry: FileEntry) -> bool:
        """Return whether a verified copy of ``entry`` is in the cache (no I/O beyond stat)."""
        path = self.local_path(entry)
        if self.static:
            return path.is_file()
        return path.is_file() and self._recorded_ok(path, entry)

    def fetch(self, entry: FileEntry, manifest: Manifest | None = None) -> Path:
        """Return the local path of ``entry``, verified; download it if missing or damaged.

        ``manifest`` is the manifest ``entry`` comes from (default: the current one).
        """
        path = self.local_path(entry, manifest)
        if self.static:
            if not path.is_file():
                raise FileNotInCacheError(
                    f"{entry.key} is not in the static cache {self.cache_dir}."
                )
            return path
        if path.is_file() and self._trusted(path, entry):
            return path
        if self._link_duplicate(path, entry):
            return path
        if self.fetcher is None:
            raise FileNotInCacheError(
                f"{entry.relative_path} is not in "
                f"the local cache {self.cache_dir}. Download it with `brainobs download` or "
                "open the cache with from_s3_cache()."
            )
        download_file(
            self.fetcher,
            entry.key,
            path,
            Expected(entry.file_hash, entry.size),
            version_id=entry.version_id,
            settings=self.settings,
            show_progress=self.show_progress,
            lock_dir=self.cache_dir / LOCKS,
        )
        self.record(path, entry.file_hash)
        return path

    def fetch_many(self, entries: Iterable[FileEntry]) -> list[Path]:
        """Return the local paths of ``entries``, fetching each as needed."""
        return [self.fetch(entry) for entry in entries]

    def _recorded_ok(self, path: Path, entry: FileEntry) -> bool:
        recorded = self.downloaded_data().get(str(path.absolute()))
        size_ok = entry.size is None or path.stat().st_size == entry.size
        return recorded == entry.file_hash and size_ok

    def _trusted(self, path: Path, entry: FileEntry) -> bool:
        """Return whether ``path`` holds ``entry``; hash unrecorded files once."""
        if self._recorded_ok(path, entry):
            return True
        if (entry.size is None or path.stat().st_size == entry.size) and blake2b_file(
            path
        ) == entry.file_hash:
            self.record(path, entry.file_hash)
            return True
        self.quarantine(path)
        return False

    def _link_duplicate(self, path: Path, entry: FileEntry) -> bool:
        """Link ``path`` to an identical file already cached (another version); True if done."""
        for other, digest in self.downloaded_data().items():
            source = Path(other)
            if digest == entry.file_hash and source.is_file() and source != path.absolute():
                if entry.size is not None and source.stat().st_size != entry.size:
                    continue
                _make_folder(path.parent)
                path.unlink(missing_ok=True)
                try:
                    path.symlink_to(source.resolve())
                except OSError:
                    shutil.copy2(source, path)
                self.record(path, digest)
                return True
        return False

    # --- bookkeeping -------------------------------------------------------------------------
    def downloaded_data(self) -> dict[str, str]:
        """Return ``_downloaded_data.json``: absolute path -> BLAKE2b of verified files."""
        return read_downloaded_data(self.cache_dir)

    def record(self, path: Path, file_hash: str) -> None:
        """Record ``path`` as verified with ``file_hash``."""
        update_downloaded_data(self.cache_dir, {str(path.absolute()): file_hash})

    def quarantine(self, path: Path) -> Path:
        """Move a damaged file out of the data tree; return where it went."""
        return quarantine_file(self.cache_dir, path)

    def _where(self) -> str:
        return self.fetcher.describe() if self.fetcher and not self.static else str(self.cache_dir)


def read_object(fetcher: Fetcher, key: str) -> bytes:
    """Return the whole object ``key`` (for small files such as manifests)."""
    stream = fetcher.open(key)
    try:
        return b"".join(stream.chunks(1 << 20))
    finally:
        stream.close()


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
        _write_atomic(
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


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


__all__ = ["ReleaseCache", "manifest_file_name"]
