"""A warehouse-layout cache: a folder with a path ``manifest.json``, filled from a source.

The Visual Coding Neuropixels release is laid out as the AllenSDK's ``EcephysProjectCache``
folder (:mod:`brainobs.storage.path_manifest`): no versions and no hashes. :class:`TreeCache`
keeps such a folder -- one brainobs filled, the bucket's ``ecephys-cache`` tree mirrored, or
one an AllenSDK install made, reused as it is -- and fills what is missing from a
:class:`TreeSource`: a bucket holding the tree (:class:`BucketSource`: S3, an HTTP mirror or a
local folder) or a release's own service (a release home provides it).

With no hash to check, a file is trusted only when what can be checked holds:

* its size is the size the source reports (S3's listing, ``Content-Length``);
* its MD5 is the S3 ETag, where the ETag is a plain MD5 (an object uploaded in one part);
* an HDF5 file (``.nwb``) is as long as its superblock says (:mod:`brainobs.storage.hdf5_eof`),
  which catches a truncated download before anything reads it, also for a file found in the
  folder that brainobs did not download; a CSV ends with a complete line.

Downloads go through :func:`~brainobs.storage.download.download_file` (``.part`` file, resume,
lock, checks before the rename), so an interrupted download never leaves a file at its final
path. What was checked is recorded in ``.brainobs-verified.json`` in the folder (path ->
size, modification time, MD5 when known); a file is reused without checks only while its
size and modification time match the record. Damaged files are moved to ``_quarantine/``.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from brainobs import config
from brainobs.config import TransferSettings
from brainobs.errors import (
    BrainobsError,
    CacheError,
    FileNotInCacheError,
    ManifestError,
    SourceError,
)
from brainobs.storage.atomic import write_atomic
from brainobs.storage.cache import CacheMode, FetchAction
from brainobs.storage.confine import (
    cache_lock,
    check_folder_inside,
    is_inside,
    is_regular_file,
    leads_out,
    move_entry,
    read_small_file,
)
from brainobs.storage.download import Expected, download_file, make_cache_folder
from brainobs.storage.hashing import file_digest
from brainobs.storage.hdf5_eof import truncation_problem
from brainobs.storage.path_manifest import PathManifest
from brainobs.storage.remote import RemoteObject
from brainobs.storage.tree_sources import RemoteEntry, TreeSource, content_problem
from brainobs.storage.verify import VerifyResult

MANIFEST = "manifest.json"
RECORD = ".brainobs-verified.json"
QUARANTINE = "_quarantine"
LOCKS = ".locks"
TABLES = ".tables"
#: Entries of the folder that are brainobs's bookkeeping, not data.
_BOOKKEEPING = frozenset({MANIFEST, RECORD, QUARANTINE, LOCKS, TABLES})
_MAX_RECORD_BYTES = 64 << 20


@dataclass(frozen=True)
class TreeCheck:
    """The outcome of checking one file of the tree (with the digests computed)."""

    relative: str
    problem: str | None
    md5: str | None = None
    sha256: str | None = None


def _recorded_digest(entry: dict[str, Any]) -> tuple[str | None, str]:
    """Return the strongest digest a record entry holds and its algorithm."""
    return (entry["sha256"], "sha256") if entry.get("sha256") else (entry.get("md5"), "md5")


class TreeCache:
    """A warehouse-layout cache folder, filled from ``source`` (None: only what is there).

    The folder is the one holding ``manifest_path`` (the reference's ``manifest=``, usually
    ``<folder>/manifest.json``); ``default_manifest`` is written there when there is none (the
    reference does the same); an existing one must have its version.
    """

    def __init__(
        self,
        manifest_path: str | os.PathLike[str],
        source: TreeSource | None,
        default_manifest: PathManifest,
        *,
        settings: TransferSettings | None = None,
        show_progress: bool = False,
        cache_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        self._manifest_path = Path(manifest_path).expanduser().absolute()
        self.folder = self._manifest_path.parent
        #: Where what brainobs derives from the folder (reports, summaries) goes.
        self.cache_dir = Path(cache_dir) if cache_dir is not None else self.folder / ".brainobs"
        self.source = source
        self.default_manifest = default_manifest
        self.settings = settings or TransferSettings.from_env()
        self.show_progress = show_progress
        self._manifest: PathManifest | None = None

    def __repr__(self) -> str:
        return f"TreeCache({str(self.folder)!r}, {self.source!r})"

    @property
    def mode(self) -> CacheMode:
        """Return DOWNLOAD with a source, OFFLINE without."""
        return CacheMode.DOWNLOAD if self.source is not None else CacheMode.OFFLINE

    def describe(self) -> str:
        """Return where files come from, for messages."""
        return self.source.describe() if self.source is not None else str(self.folder)

    # --- the manifest ------------------------------------------------------------------------
    @property
    def manifest_path(self) -> Path:
        """Return the path of the folder's path manifest (``manifest.json``)."""
        return self._manifest_path

    @property
    def manifest(self) -> PathManifest:
        """Return the folder's path manifest, writing the default one if there is none."""
        if self._manifest is None:
            self._manifest = self._load_manifest()
        return self._manifest

    def _load_manifest(self) -> PathManifest:
        """Return the manifest on disk (checked), else write and return the default."""
        expected = self.default_manifest.version
        if self.manifest_path.is_symlink() and leads_out(self.folder, self.manifest_path):
            raise CacheError(f"{self.manifest_path} is a link leading out of the cache folder.")
        body = read_small_file(self.manifest_path, 1 << 20)
        if body is not None:
            manifest = PathManifest.from_json(body, str(self.manifest_path))
            manifest.check_version(expected, str(self.manifest_path))
            return manifest
        if self.manifest_path.exists():
            raise ManifestError(f"{self.manifest_path} is not a readable path manifest.")
        if self.source is None and not self.folder.is_dir():
            raise FileNotInCacheError(
                f"{self.folder} holds no cache (no {self.manifest_path.name}). Give the "
                "manifest.json of an "
                "existing cache folder, or open one that downloads (from_s3_cache, "
                "from_warehouse)."
            )
        make_cache_folder(self.folder)
        write_atomic(self.manifest_path, self.default_manifest.to_json().encode())
        return self.default_manifest

    def path_of(self, key: str, *args: int | str) -> str:
        """Return the relative path of manifest entry ``key`` filled with ``args``."""
        return self.manifest.path(key, *args)

    def local_path(self, relative: str) -> Path:
        """Return where ``relative`` lives in the folder."""
        return self.folder / relative

    @property
    def tables_dir(self) -> Path:
        """Return where parsed tables are kept (the folder's, else the user cache's)."""
        folder = self.folder / TABLES
        if os.access(self.folder, os.W_OK):
            check_folder_inside(self.folder, folder, "write tables")
            return folder
        digest = hashlib.blake2b(str(self.folder).encode(), digest_size=8).hexdigest()
        return config.cache_dir() / TABLES / f"tree-{digest}"

    # --- the record of checked files ---------------------------------------------------------
    def record(self) -> dict[str, dict[str, Any]]:
        """Return the record: relative path -> size, mtime_ns and MD5 of checked files."""
        raw = read_small_file(self.folder / RECORD, _MAX_RECORD_BYTES)
        try:
            data = json.loads(raw) if raw is not None else {}
        except (ValueError, RecursionError):
            return {}
        if not isinstance(data, dict):
            return {}
        return {k: v for k, v in data.items() if isinstance(v, dict)}

    def _update_record(self, changes: dict[str, dict[str, Any] | None]) -> None:
        """Apply ``changes`` (None forgets a file) to the record, under a lock."""
        if not os.access(self.folder, os.W_OK):
            return  # a read-only folder (a mount): files are checked on each use instead
        with cache_lock(self._locks() / f"{RECORD}.lock"):
            data = self.record()
            for relative, entry in changes.items():
                if entry is None:
                    data.pop(relative, None)
                else:
                    data[relative] = entry
            write_atomic(self.folder / RECORD, json.dumps(data, indent=1, sort_keys=True).encode())

    def _remember(self, relative: str, md5: str | None, sha256: str | None = None) -> None:
        """Record ``relative`` as checked, with its current size and modification time."""
        stat = self.local_path(relative).stat()
        entry = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "md5": md5}
        if sha256:
            entry["sha256"] = sha256
        self._update_record({relative: entry})

    def _locks(self) -> Path:
        folder = self.folder / LOCKS
        check_folder_inside(self.folder, folder, "keep lock files")
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def is_recorded(self, relative: str) -> bool:
        """Return whether ``relative`` was checked and is unchanged since (stat only)."""
        entry = self.record().get(relative)
        path = self.local_path(relative)
        if entry is None or not is_regular_file(path):
            return False
        stat = path.stat()
        return bool(entry.get("size") == stat.st_size and entry.get("mtime_ns") == stat.st_mtime_ns)

    # --- plan and fetch ----------------------------------------------------------------------
    def plan(self, relative: str) -> FetchAction:
        """Return what :meth:`fetch` would do for ``relative`` (nothing is read or written)."""
        path = self.local_path(relative)
        check_folder_inside(self.folder, path.parent, "read or write files")
        if path.is_symlink() and leads_out(self.folder, path):
            return FetchAction.SET_ASIDE
        if path.is_file():
            return FetchAction.REUSE if self.is_recorded(relative) else FetchAction.VERIFY
        return FetchAction.DOWNLOAD if self.source is not None else FetchAction.MISSING

    def is_cached(self, relative: str) -> bool:
        """Return whether a checked copy of ``relative`` is in the folder."""
        return self.plan(relative) is FetchAction.REUSE

    def fetch(self, relative: str) -> Path:
        """Return the local path of ``relative``, checked; fetch it if missing or damaged."""
        path = self.local_path(relative)
        action = self.plan(relative)
        if action is FetchAction.SET_ASIDE:
            self.quarantine(path)
            action = self.plan(relative)
        if action is FetchAction.VERIFY:
            check = self.check(relative)
            if check.problem is None:
                self._remember(relative, check.md5, check.sha256)
                return path
            self.quarantine(path)
            action = self.plan(relative)
        if action is FetchAction.REUSE:
            return path
        if action is FetchAction.DOWNLOAD:
            self._download(relative)
            return path
        raise FileNotInCacheError(
            f"{relative} is not in the cache folder {self.folder}, and this cache does not "
            "download. Open it with a source (from_s3_cache, from_warehouse), or run "
            "`brainobs download` first."
        )

    def check(self, relative: str, deep: bool = False, use_source: bool = True) -> TreeCheck:
        """Return what the checks say of the local copy of ``relative``.

        Against the source when there is one and ``use_source`` (size, MD5), else against
        the record (size; MD5 too when ``deep``); and the content check (HDF5 end of file,
        CSV last line).
        """
        path = self.local_path(relative)
        size = path.stat().st_size
        remote = self.remote_entry(relative) if use_source else None
        recorded = self.record().get(relative, {})
        want_size = remote.size if remote is not None else recorded.get("size")
        if want_size is not None and size != want_size:
            return TreeCheck(relative, f"{size:,} bytes instead of the {want_size:,} expected")
        problem = content_problem(path)
        if problem is not None:
            return TreeCheck(relative, problem)
        want, algorithm = remote.digest if remote is not None else _recorded_digest(recorded)
        digest = None
        if want and (remote is not None or deep):
            digest = file_digest(path, algorithm)
            if digest != want:
                label = algorithm.upper().replace("SHA", "SHA-")
                return TreeCheck(relative, f"{label} {digest[:12]}... instead of {want[:12]}...")
        return TreeCheck(relative, None, digest if algorithm == "md5" else None,
                         digest if algorithm == "sha256" else None)  # fmt: skip

    def remote_entry(self, relative: str) -> RemoteEntry | None:
        """Return where the source serves ``relative`` (None: no source, or built)."""
        if self.source is None:
            return None
        try:
            return self.source.locate(relative)
        except SourceError:
            return None

    def _download(self, relative: str) -> None:
        """Fetch ``relative`` from the source, checked, and record it."""
        assert self.source is not None
        path = self.local_path(relative)
        built = self.source.build(relative)
        if built is not None:
            make_cache_folder(path.parent)
            write_atomic(path, built)
            self._remember(relative, None)
            return
        remote = self.source.locate(relative)
        if remote is None:
            raise SourceError(f"{self.source.describe()} does not serve {relative}.")
        digest, algorithm = remote.digest
        expected = Expected(
            digest, remote.size, algorithm=algorithm,
            check=lambda part: content_problem(part, path.name),
        )  # fmt: skip
        download_file(
            remote.fetcher, remote.key, path, expected, settings=self.settings,
            show_progress=self.show_progress, lock_dir=self._locks(),
        )  # fmt: skip
        self._remember(relative, remote.md5, remote.sha256)

    def open_data(self, relative: str, stream: bool = False) -> Path | RemoteObject:
        """Return a checked local copy of ``relative``, or with ``stream`` (when it is not
        cached) the remote object to read by byte ranges, after checking its HDF5 end."""
        if stream and self.source is not None and not self.is_cached(relative):
            remote = self.source.locate(relative)
            if remote is not None:
                return self._checked_remote(remote)
        return self.fetch(relative)

    def _checked_remote(self, remote: RemoteEntry) -> RemoteObject:
        """Return ``remote`` as a RemoteObject; raise if its HDF5 superblock says it is cut."""
        fetcher, key = remote.fetcher, remote.key
        size = remote.size if remote.size is not None else fetcher.size(key)
        problem = truncation_problem(lambda a, b: fetcher.read_range(key, a, b), size)
        if problem is not None:
            raise SourceError(
                f"{remote.describe()} is not whole: {problem}. The source serves a damaged "
                "copy; download from another source."
            )
        return RemoteObject(fetcher, key, None, size)

    # --- damaged files -----------------------------------------------------------------------
    def quarantine(self, path: Path) -> Path:
        """Move the entry ``path`` (a file, or a link as a link) to ``_quarantine/``."""
        if not is_inside(self.folder, path.parent):
            raise CacheError(
                f"{path} is not in the cache folder {self.folder}; brainobs moves only its own "
                "files. Remove the link on its way by hand."
            )
        relative = path.parent.resolve().relative_to(self.folder.resolve()) / path.name
        destination = self.folder / QUARANTINE / time.strftime("%Y%m%dT%H%M%S") / relative
        while destination.exists() or destination.is_symlink():
            destination = destination.with_name(destination.name + "~")
        move_entry(path, destination)
        self._update_record({relative.as_posix(): None})
        return destination

    def data_files(self) -> Iterator[str]:
        """Yield the relative path of every data file in the folder (bookkeeping left out)."""
        for path in sorted(self.folder.rglob("*")):
            relative = path.relative_to(self.folder)
            if relative.parts[0] in _BOOKKEEPING or relative == Path(self.manifest_path.name):
                continue
            if path.name.endswith((".part", ".lock")) or relative.parts[0].startswith("."):
                continue
            if path.is_file() or path.is_symlink():
                yield relative.as_posix()

    # --- verification ------------------------------------------------------------------------
    def verify(
        self, repair: bool = False, on_file: Callable[[VerifyResult], None] | None = None
    ) -> list[VerifyResult]:
        """Return the outcome of checking every data file in the folder (offline).

        Each file is checked against the record (size, MD5 when recorded) and by content
        (HDF5 end of file, CSV last line). With ``repair`` a damaged file is moved to
        ``_quarantine/`` and fetched again from the source.
        """
        results = []
        for relative in self.data_files():
            result = self._verify_one(relative)
            if result.status == "corrupt" and repair:
                result = self._repair(relative)
            results.append(result)
            if on_file is not None:
                on_file(result)
        return results

    def _verify_one(self, relative: str) -> VerifyResult:
        """Return whether the copy of ``relative`` passes the offline checks."""
        path, where = self.local_path(relative), str(self.manifest_path)
        if leads_out(self.folder, path):
            return VerifyResult(path, where, "corrupt", "a link leading out of the cache")
        if not path.is_file():
            return VerifyResult(path, where, "corrupt", "a broken link")
        check = self.check(relative, deep=True, use_source=False)
        if check.problem is not None:
            return VerifyResult(path, where, "corrupt", check.problem)
        return VerifyResult(path, where, "ok")

    def _repair(self, relative: str) -> VerifyResult:
        """Move the damaged copy of ``relative`` aside and fetch it again."""
        path, where = self.local_path(relative), str(self.manifest_path)
        try:
            moved = self.quarantine(path)
        except BrainobsError as exc:
            return VerifyResult(path, where, "repair-failed", str(exc))
        try:
            self.fetch(relative)
        except BrainobsError as exc:
            return VerifyResult(path, where, "repair-failed", f"moved to {moved}; {exc}")
        return VerifyResult(path, where, "repaired", f"damaged copy moved to {moved}")
