"""A local cache of one release, in the reference toolkit's layout or read in place.

Two layouts, one class each:

:class:`ReleaseCache` keeps the AllenSDK's layout, so an existing AllenSDK cache folder is
reused as it is::

    cache_dir/
      <project>_project_manifest_vX.Y.Z.json   manifests, flat
      _manifest_last_used.txt                  name of the manifest loaded last
      _downloaded_data.json                    {absolute path: BLAKE2b} of files verified
      <project>-X.Y.Z/<key minus first part>   the data

With a fetcher it downloads what is missing (:attr:`CacheMode.DOWNLOAD`); without one it
serves what is on disk (:attr:`CacheMode.OFFLINE`). :class:`MirrorCache` reads a folder laid
out like the bucket (a mount or a mirror) in place (:attr:`CacheMode.MIRROR`, the reference's
"static cache").

Unlike the reference toolkit, a cached file is trusted only if it was verified: it is recorded
in ``_downloaded_data.json`` with the manifest's digest (and has the manifest's size, when the
manifest gives one). A file at the right path that was never recorded -- the reference's
leftover of an interrupted download, say -- is hashed once, then recorded or replaced. What
:meth:`ReleaseCache.fetch` will do for a file is named by :meth:`ReleaseCache.plan`.

The cache stays in its folder (:mod:`brainobs.storage.confine`): a link at a file's place
that leads out of the cache is moved aside, as a link, and the file fetched again; a folder
on the way that leads out stops the fetch with a :class:`~brainobs.errors.CacheError`.
Manifests are fetched with the transfer settings' retries and read up to
:data:`~brainobs.storage.manifest.MAX_MANIFEST_BYTES`.
"""

from __future__ import annotations

import os
import shutil
import warnings
from collections.abc import Iterable
from enum import Enum
from pathlib import Path

from brainobs import config
from brainobs.config import TransferSettings
from brainobs.errors import (
    CacheError,
    FileNotInCacheError,
    ManifestError,
    ManifestNotFoundError,
    OutdatedManifestWarning,
    SourceError,
)
from brainobs.storage.atomic import write_atomic
from brainobs.storage.confine import check_folder_inside, is_inside, leads_out
from brainobs.storage.download import (
    Expected,
    download_file,
    make_cache_folder,
    read_object,
    with_retries,
)
from brainobs.storage.fetchers import Fetcher
from brainobs.storage.hashing import blake2b_file
from brainobs.storage.manifest import (
    FileEntry,
    Manifest,
    compare_manifests,
    is_manifest_name,
    latest_manifest_name,
    manifest_file_name,
    pick_manifest_name,
    sort_manifest_names,
    version_from_name,
)
from brainobs.storage.records import (
    DOWNLOADED_DATA,
    LAST_USED,
    LOCKS,
    QUARANTINE,
    quarantine_file,
    read_downloaded_data,
    read_last_used,
    update_downloaded_data,
)
from brainobs.storage.remote import RemoteObject

__all__ = [
    "DOWNLOADED_DATA",
    "LAST_USED",
    "QUARANTINE",
    "CacheMode",
    "FetchAction",
    "MirrorCache",
    "ReleaseCache",
    "manifest_file_name",
    "read_object",
]


class CacheMode(Enum):
    """How a cache gets its files."""

    DOWNLOAD = "download"  # AllenSDK layout; missing files are fetched from the source
    OFFLINE = "offline"  # AllenSDK layout; only what is on disk
    MIRROR = "mirror"  # a folder laid out like the bucket, read in place


class FetchAction(Enum):
    """What :meth:`ReleaseCache.fetch` does for one file (pooch's ``Action``, for a cache)."""

    REUSE = "reuse"  # a verified copy is in the cache
    VERIFY = "verify"  # a copy never recorded is there: hash it once, then adopt or replace it
    LINK = "link"  # an identical file of another manifest version is cached: link to it
    SET_ASIDE = "set aside"  # a link leading out of the cache is there: move it aside, refetch
    DOWNLOAD = "download"  # fetch it from the source
    IN_PLACE = "in place"  # a mirror: read where it is
    MISSING = "missing"  # not here, and no source to fetch it from


class ReleaseCache:
    """The cached files of one project (``visual-behavior-neuropixels``...) in ``cache_dir``.

    With a ``fetcher`` missing files are downloaded; without one (an offline cache) they
    raise :class:`~brainobs.errors.FileNotInCacheError`.
    """

    def __init__(
        self,
        cache_dir: str | os.PathLike[str],
        project_name: str,
        fetcher: Fetcher | None = None,
        *,
        settings: TransferSettings | None = None,
        show_progress: bool = False,
    ) -> None:
        self.cache_dir = Path(cache_dir).expanduser()
        self.project_name = project_name
        self.fetcher = fetcher
        self.settings = settings or _settings_of(fetcher)
        self.show_progress = show_progress
        self._manifest: Manifest | None = None
        if fetcher is not None:
            make_cache_folder(self.cache_dir)

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}({str(self.cache_dir)!r}, {self.project_name!r}, {self.fetcher!r})"

    @property
    def mode(self) -> CacheMode:
        """Return how this cache gets its files."""
        return CacheMode.DOWNLOAD if self.fetcher is not None else CacheMode.OFFLINE

    @property
    def manifest_prefix(self) -> str:
        """Return the key prefix of this project's manifests."""
        return f"{self.project_name}/manifests/"

    @property
    def tables_dir(self) -> Path:
        """Return where tables derived from this release's files (Parquet) are kept."""
        folder = self.cache_dir / ".tables" / self.manifest.cache_folder
        check_folder_inside(self.cache_dir, folder, "write tables")
        return folder

    # --- manifests ---------------------------------------------------------------------------
    def list_manifest_file_names(self) -> list[str]:
        """Return the manifest file names available, oldest version first."""
        if self.fetcher is not None:
            fetcher = self.fetcher
            keys = with_retries(lambda: fetcher.list_keys(self.manifest_prefix), self.settings)
            names = [k.rsplit("/", 1)[-1] for k in keys]
        else:
            names = [
                p.name for p in self.cache_dir.glob(f"{self.project_name}_project_manifest_v*.json")
            ]
        return sort_manifest_names(n for n in names if is_manifest_name(n, self.project_name))

    def latest_manifest_file(self) -> str:
        """Return the name of the newest manifest available."""
        names = self.list_manifest_file_names()
        if not names:
            raise ManifestNotFoundError(f"No {self.project_name} manifests in {self.describe()}.")
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
        self._remember_last_used(name)
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
                f"No {self.project_name} manifests in {self.describe()}.{hint}"
            )
        return names

    def load_last_manifest(self) -> Manifest:
        """Return the manifest used last (per ``_manifest_last_used.txt``), else the latest."""
        name = self._last_used()
        if name is not None and name in self.list_manifest_file_names():
            return self.load_manifest(name)
        return self.load_manifest(None)

    def _last_used(self) -> str | None:
        """Return the name recorded as used last, if any."""
        return read_last_used(self.cache_dir)

    def _remember_last_used(self, name: str) -> None:
        """Record ``name`` as the manifest used last (when the cache folder is writable)."""
        if self.cache_dir.is_dir() and os.access(self.cache_dir, os.W_OK):
            write_atomic(self.cache_dir / LAST_USED, name.encode())

    @property
    def manifest(self) -> Manifest:
        """Return the manifest in use, loading the last-used or latest one on first access."""
        if self._manifest is None:
            return self.load_last_manifest()
        return self._manifest

    def _manifest_path(self, name: str) -> Path:
        """Return a local path of manifest ``name``, fetching (and checking) it if needed.

        A link at its place that leads out of the cache is not read: it is replaced by a
        fresh copy (the link, not its target) or, offline, refused.
        """
        local = self.cache_dir / name
        foreign = local.is_symlink() and leads_out(self.cache_dir, local)
        if foreign and self.fetcher is None:
            raise CacheError(
                f"{local} is a link leading out of the cache; brainobs does not read manifests "
                "through it. Remove the link and download the manifest again."
            )
        if (foreign or not local.is_file()) and self.fetcher is not None:
            body = read_object(self.fetcher, self.manifest_prefix + name, self.settings)
            Manifest.from_json(body, source=f"{name} from {self.fetcher.describe()}")
            write_atomic(local, body)
        return local

    def read_manifest(self, version_or_name: str) -> Manifest:
        """Return the manifest of a version (``0.5.0``) or file name, without switching to it."""
        version = version_or_name
        if version.endswith(".json"):
            version = version_from_name(version)
        name = pick_manifest_name(self.list_manifest_file_names(), version)
        return Manifest.from_path(self._manifest_path(name))

    def compare_manifests(self, old: str, new: str) -> list[str]:
        """Return lines describing the files that differ between two manifests (version/name)."""
        changes = compare_manifests(self.read_manifest(old), self.read_manifest(new))
        return [str(change) for change in changes]

    def construct_local_manifest(self) -> int:
        """Record the digest of every file in the versions' data folders (the reference's
        method, for caches that lost their record); return how many files were hashed.

        A file recorded this way is still checked against the manifest's digest before use.
        """
        found = {}
        for folder in sorted(self.cache_dir.glob(f"{self.project_name}-*")):
            for path in sorted(folder.rglob("*")):
                if path.is_file() and not path.name.endswith((".json", ".part")):
                    found[str(path.absolute())] = blake2b_file(path)
        update_downloaded_data(self.cache_dir, found)
        return len(found)

    # --- files -------------------------------------------------------------------------------
    def local_path(self, entry: FileEntry, manifest: Manifest | None = None) -> Path:
        """Return where ``entry`` of ``manifest`` (default: current) lives in the cache."""
        manifest = manifest or self.manifest
        return self.cache_dir / manifest.cache_folder / entry.relative_path

    def metadata_path(self, name: str) -> Path:
        """Return the local path of metadata table ``name``, downloading it if needed."""
        return self.fetch(self.manifest.metadata_file(name))

    def data_path(self, file_id: int | str) -> Path:
        """Return the local path of data file ``file_id``, downloading it if needed."""
        return self.fetch(self.manifest.data_file(file_id))

    def open_data(self, file_id: int | str, stream: bool = False) -> Path | RemoteObject:
        """Return a verified local copy of data file ``file_id``, or with ``stream`` the
        remote object to read by byte ranges (a cached copy is preferred when there is one).
        """
        entry = self.manifest.data_file(file_id)
        if stream and self.mode is CacheMode.DOWNLOAD and not self.is_cached(entry):
            assert self.fetcher is not None
            return RemoteObject(self.fetcher, entry.key, entry.version_id, entry.size)
        return self.fetch(entry)

    def is_cached(self, entry: FileEntry) -> bool:
        """Return whether a verified copy of ``entry`` is in the cache (no I/O beyond stat)."""
        return self.plan(entry) in (FetchAction.REUSE, FetchAction.IN_PLACE)

    def plan(self, entry: FileEntry, manifest: Manifest | None = None) -> FetchAction:
        """Return what :meth:`fetch` would do for ``entry`` (nothing is read or written).

        Raises CacheError when a folder on the way to the file leads out of the cache.
        """
        path = self.local_path(entry, manifest)
        check_folder_inside(self.cache_dir, path.parent, "read or write files")
        if path.is_symlink() and leads_out(self.cache_dir, path):
            return FetchAction.SET_ASIDE
        if path.is_file():
            return FetchAction.REUSE if self._recorded_ok(path, entry) else FetchAction.VERIFY
        if self._duplicate_of(path, entry) is not None:
            return FetchAction.LINK
        return FetchAction.DOWNLOAD if self.fetcher is not None else FetchAction.MISSING

    def fetch(self, entry: FileEntry, manifest: Manifest | None = None) -> Path:
        """Return the local path of ``entry``, verified; download it if missing or damaged.

        ``manifest`` is the manifest ``entry`` comes from (default: the current one).
        """
        path = self.local_path(entry, manifest)
        action = self.plan(entry, manifest)
        if action is FetchAction.SET_ASIDE:
            self.quarantine(path)  # the link itself: its target is not touched
            action = self.plan(entry, manifest)
        if action is FetchAction.VERIFY:
            if self._adopt_or_quarantine(path, entry):
                return path
            action = self.plan(entry, manifest)  # quarantined: now link or download
        if action is FetchAction.REUSE:
            return path
        if action is FetchAction.LINK:
            self._link(path, entry)
        elif action is FetchAction.DOWNLOAD:
            self._download(path, entry)
        else:
            raise FileNotInCacheError(
                f"{entry.relative_path} is not in the local cache {self.cache_dir}. Download it "
                "with `brainobs download` or open the cache with from_s3_cache()."
            )
        return path

    def fetch_many(self, entries: Iterable[FileEntry]) -> list[Path]:
        """Return the local paths of ``entries``, fetching each as needed."""
        return [self.fetch(entry) for entry in entries]

    def _download(self, path: Path, entry: FileEntry) -> None:
        """Download ``entry`` to ``path``, verified, and record it."""
        assert self.fetcher is not None
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

    def _recorded_ok(self, path: Path, entry: FileEntry) -> bool:
        """Return whether ``path`` is recorded with ``entry``'s digest and has its size."""
        recorded = self.downloaded_data().get(str(path.absolute()))
        size_ok = entry.size is None or path.stat().st_size == entry.size
        return recorded == entry.file_hash and size_ok

    def _adopt_or_quarantine(self, path: Path, entry: FileEntry) -> bool:
        """Return True after recording an unrecorded good copy; quarantine a bad one."""
        if (entry.size is None or path.stat().st_size == entry.size) and blake2b_file(
            path
        ) == entry.file_hash:
            self.record(path, entry.file_hash)
            return True
        self.quarantine(path)
        return False

    def _duplicate_of(self, path: Path, entry: FileEntry) -> Path | None:
        """Return a verified cached file with ``entry``'s bytes at another path, if any."""
        for other, digest in self.downloaded_data().items():
            source = Path(other)
            if digest != entry.file_hash or source == path.absolute() or not source.is_file():
                continue
            if not is_inside(self.cache_dir, source):  # a record never leads out of the cache
                continue
            if entry.size is None or source.stat().st_size == entry.size:
                return source
        return None

    def _link(self, path: Path, entry: FileEntry) -> None:
        """Link ``path`` to an identical cached file (copy where links are not allowed)."""
        source = self._duplicate_of(path, entry)
        assert source is not None
        make_cache_folder(path.parent)
        path.unlink(missing_ok=True)
        try:
            path.symlink_to(source.resolve())
        except OSError:
            shutil.copy2(source, path)
        self.record(path, entry.file_hash)

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

    def describe(self) -> str:
        """Return where files come from, for messages."""
        return self.fetcher.describe() if self.fetcher is not None else str(self.cache_dir)


class MirrorCache(ReleaseCache):
    """A folder laid out like the bucket (``root/<project>/...``), read in place.

    Nothing is downloaded, recorded or moved: a mirror is the user's (a mount, a copy).
    Tables derived from it are kept in the user's brainobs cache folder.
    """

    def __init__(self, root: str | os.PathLike[str], project_name: str) -> None:
        super().__init__(root, project_name, fetcher=None)

    @property
    def mode(self) -> CacheMode:
        """Return :attr:`CacheMode.MIRROR`."""
        return CacheMode.MIRROR

    @property
    def tables_dir(self) -> Path:
        """Return where derived tables are kept: the user cache, not the mirror."""
        return config.cache_dir() / ".tables" / self.manifest.cache_folder

    def list_manifest_file_names(self) -> list[str]:
        """Return the manifest file names in the mirror, oldest version first."""
        folder = self.cache_dir / self.manifest_prefix
        if not folder.is_dir():
            return []
        names = (p.name for p in folder.glob("*.json"))
        return sort_manifest_names(n for n in names if is_manifest_name(n, self.project_name))

    def _last_used(self) -> str | None:
        return None

    def _remember_last_used(self, name: str) -> None:
        return None

    def _manifest_path(self, name: str) -> Path:
        return self.cache_dir / self.manifest_prefix / name

    def construct_local_manifest(self) -> int:
        """Record nothing: a mirror is read in place and never trusted by a record."""
        return 0

    def local_path(self, entry: FileEntry, manifest: Manifest | None = None) -> Path:
        """Return the path of ``entry`` in the mirror."""
        return self.cache_dir / entry.key

    def plan(self, entry: FileEntry, manifest: Manifest | None = None) -> FetchAction:
        """Return IN_PLACE when the mirror holds ``entry``, else MISSING."""
        return FetchAction.IN_PLACE if self.local_path(entry).is_file() else FetchAction.MISSING

    def fetch(self, entry: FileEntry, manifest: Manifest | None = None) -> Path:
        """Return the path of ``entry`` in the mirror; raise if the mirror lacks it."""
        if self.plan(entry) is FetchAction.MISSING:
            raise FileNotInCacheError(f"{entry.key} is not in the mirror {self.cache_dir}.")
        return self.local_path(entry)


def _settings_of(fetcher: Fetcher | None) -> TransferSettings:
    """Return the transfer settings ``fetcher`` was built with, else the environment's."""
    settings = getattr(getattr(fetcher, "transport", None), "settings", None)
    return settings if isinstance(settings, TransferSettings) else TransferSettings.from_env()
