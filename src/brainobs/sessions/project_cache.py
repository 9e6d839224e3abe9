"""What every project cache shares: constructors, manifest methods, cached tables.

A project cache is the user's entry point to one release (the reference toolkit's
``VisualBehaviorNeuropixelsProjectCache`` and friends). It owns a
:class:`~brainobs.storage.cache.ReleaseCache` and reads metadata tables through the Parquet
table cache, lazily: nothing is downloaded or parsed until a table is asked for.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import pandas as pd

from brainobs import config
from brainobs.errors import InvalidInputError
from brainobs.nwb import NwbFile
from brainobs.releases import Release
from brainobs.storage.cache import CacheMode, MirrorCache, ReleaseCache
from brainobs.storage.dandi_cache import open_dandi_cache
from brainobs.storage.fetchers import Fetcher
from brainobs.storage.local import LocalFetcher
from brainobs.storage.manifest import FileEntry, Manifest, latest_manifest_name
from brainobs.storage.remote import BlockCacheOptions
from brainobs.storage.s3 import S3Fetcher
from brainobs.storage.sources import is_dandi, make_fetcher
from brainobs.tables.cache import load_table_cached
from brainobs.tables.load import as_reference_frame
from brainobs.tables.schemas import TableSchema
from brainobs.types import PathLike

CacheT = TypeVar("CacheT", bound="ProjectCache")
#: What the reference counts as a downloaded manifest in a cache folder.
_DOWNLOADED_MANIFEST = re.compile(r".*_manifest_v.*\.json")


class ProjectCache(ABC):
    """Access to one release: manifests, metadata tables and files, cached locally."""

    RELEASE: ClassVar[Release]
    SCHEMAS: ClassVar[dict[str, TableSchema]]
    #: Hand tables out as the reference toolkit does (the drop-in flavour) rather than typed.
    REFERENCE_TABLES: ClassVar[bool] = False

    def __init__(self, release_cache: ReleaseCache) -> None:
        self.fetch_api = release_cache
        self._tables: dict[str, pd.DataFrame] = {}

    def __getstate__(self) -> dict[str, Any]:
        """Pickle without the loaded tables: a worker re-reads them from its Parquet cache."""
        return {**self.__dict__, "_tables": {}}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.fetch_api!r})"

    # --- constructors (reference names) ------------------------------------------------------
    @classmethod
    def from_s3_cache(
        cls: type[CacheT],
        cache_dir: PathLike | None = None,
        bucket_name_override: str | None = None,
        endpoint: str | None = None,
        show_progress: bool = True,
    ) -> CacheT:
        """Return a cache that downloads from the release's S3 bucket into ``cache_dir``.

        ``endpoint`` (or ``$BRAINOBS_S3_ENDPOINT``) points at an S3-compatible mirror.
        """
        bucket = bucket_name_override or cls.RELEASE.bucket
        fetcher = S3Fetcher(bucket, endpoint=endpoint, region=cls.RELEASE.region)
        return cls._with_fetcher(cache_dir, fetcher, show_progress)

    @classmethod
    def from_source(
        cls: type[CacheT],
        source: str,
        cache_dir: PathLike | None = None,
        endpoint: str | None = None,
        dandiset_version: str | None = None,
    ) -> CacheT:
        """Return a cache that downloads from ``source``: ``s3``, an http(s) mirror, a folder,
        or ``dandi`` (NWB files from the DANDI Archive: :meth:`from_dandi`)."""
        if is_dandi(source):
            return cls.from_dandi(cache_dir, dandiset_version, endpoint=endpoint)
        if dandiset_version is not None:
            raise InvalidInputError("A dandiset version applies to the DANDI source only.")
        fetcher = make_fetcher(cls.RELEASE, source, endpoint)
        return cls._with_fetcher(cache_dir, fetcher, show_progress=True)

    @classmethod
    def from_dandi(
        cls: type[CacheT],
        cache_dir: PathLike | None = None,
        dandiset_version: str | None = None,
        *,
        metadata_source: str = "s3",
        endpoint: str | None = None,
        api: str | None = None,
        show_progress: bool = True,
    ) -> CacheT:
        """Return a cache reading the release's NWB files from the DANDI Archive.

        DANDI holds the NWB files but not the metadata tables: those come from
        ``metadata_source`` (``s3``: the release's bucket, ``endpoint`` naming a mirror; or a
        folder such as a sample's, or an http(s) mirror), verified against its manifest.
        ``dandiset_version`` is ``draft``, a published version or None (the latest published);
        ``api`` (else ``$BRAINOBS_DANDI_API``) points at a DANDI mirror. Streaming
        (``stream=True``) reads DANDI by byte ranges; downloads are verified by SHA-256.
        """
        root = config.cache_dir(cache_dir)
        metadata = make_fetcher(cls.RELEASE, metadata_source, endpoint)
        release_cache = open_dandi_cache(
            cls.RELEASE, root, metadata, dandiset_version, api=api, show_progress=show_progress
        )
        return cls._opened(release_cache)

    @classmethod
    def from_local_cache(
        cls: type[CacheT], cache_dir: PathLike, use_static_cache: bool = False
    ) -> CacheT:
        """Return a cache over files already on disk (no network).

        With ``use_static_cache`` the folder is laid out like the bucket (a mount or a
        mirror) and files are read in place.
        """
        project = cls.RELEASE.project_name
        if use_static_cache:
            return cls._opened(MirrorCache(cache_dir, project))
        return cls._opened(ReleaseCache(cache_dir, project))

    @classmethod
    def from_sample(
        cls: type[CacheT], cache_dir: PathLike | None = None, size: str = "default", seed: int = 0
    ) -> CacheT:
        """Return a cache serving brainobs's built-in sample release (written on first use).

        The sample is written once into ``<cache_dir>/_samples/`` in the bucket layout (by
        the writer the release declares) and then served through the same manifest -> fetch
        -> verify -> cache path as real data.
        """
        root = config.cache_dir(cache_dir)
        folder = root / "_samples" / f"{cls.RELEASE.name}-{size}-seed{seed}"
        sample = cls.RELEASE.load_sample_writer()(folder, size=size, seed=seed)
        return cls._with_fetcher(root, LocalFetcher(sample.root), show_progress=False)

    @classmethod
    def _with_fetcher(
        cls: type[CacheT], cache_dir: PathLike | None, fetcher: Fetcher, show_progress: bool
    ) -> CacheT:
        release_cache = ReleaseCache(
            config.cache_dir(cache_dir),
            cls.RELEASE.project_name,
            fetcher,
            show_progress=show_progress,
        )
        return cls._opened(release_cache)

    @classmethod
    def _opened(cls: type[CacheT], release_cache: ReleaseCache) -> CacheT:
        cache = cls(release_cache)
        cache.fetch_api.load_last_manifest()
        return cache

    # --- manifests (reference names) ---------------------------------------------------------
    @property
    def manifest(self) -> Manifest:
        """Return the manifest in use."""
        return self.fetch_api.manifest

    def list_manifest_file_names(self) -> list[str]:
        """Return the names of the manifests available, oldest first."""
        return self.fetch_api.list_manifest_file_names()

    def latest_manifest_file(self) -> str:
        """Return the name of the newest manifest available."""
        return self.fetch_api.latest_manifest_file()

    def list_all_downloaded_manifests(self) -> list[str]:
        """Return the names of the manifests in the local cache, sorted by name.

        A mirror (``use_static_cache``) offers only its newest manifest, as in the reference.
        """
        if self.fetch_api.mode is CacheMode.MIRROR:
            return [self.fetch_api.latest_manifest_file()]
        folder = self.fetch_api.cache_dir
        names = [p.name for p in folder.iterdir()] if folder.is_dir() else []
        return sorted(n for n in names if _DOWNLOADED_MANIFEST.fullmatch(n))

    def latest_downloaded_manifest_file(self) -> str:
        """Return the newest manifest in the local cache (``""`` when there is none)."""
        names = self.list_all_downloaded_manifests()
        return latest_manifest_name(names) if names else ""

    def current_manifest(self) -> str:
        """Return the name of the manifest in use."""
        return self.fetch_api.manifest.name

    def load_manifest(self, manifest_name: str) -> Manifest | None:
        """Switch to manifest ``manifest_name`` (a file name or a version like ``0.5.0``)."""
        self._tables.clear()
        return self.fetch_api.load_manifest(manifest_name)

    def load_latest_manifest(self) -> Manifest | None:
        """Switch to the newest manifest."""
        self._tables.clear()
        return self.fetch_api.load_manifest(None)

    def compare_manifests(self, manifest_0_name: str, manifest_1_name: str) -> str:
        """Return the reference's summary of the files that changed from one manifest to another.

        Both are manifest file names or versions; ``manifest_0_name`` is the older one.
        """
        names = [_manifest_name(self.fetch_api, n) for n in (manifest_0_name, manifest_1_name)]
        old, new = (self.fetch_api.read_manifest(n) for n in names)
        lines = [*_changes(old.metadata_files, new.metadata_files),
                 *_changes(old.data_files, new.data_files)]  # fmt: skip
        if not lines:
            return "The two manifests are equivalent"
        return f"Changes going from\n{names[0]}\nto\n{names[1]}\n\n" + "".join(
            f"{line}\n" for line in lines
        )

    def construct_local_manifest(self) -> None:
        """Record the digest of every file already in the cache (slow: it hashes them all)."""
        self.fetch_api.construct_local_manifest()

    # --- tables ------------------------------------------------------------------------------
    def _table(self, name: str) -> pd.DataFrame:
        """Return metadata table ``name`` (downloaded, verified, parsed once, then cached).

        With :attr:`REFERENCE_TABLES` the table has the reference toolkit's types (text list
        reprs and dates, ``object`` text with NaN, the file's column order).
        """
        if name not in self._tables:
            schema = self.SCHEMAS[name]
            table = load_table_cached(
                self.fetch_api.metadata_path(name),
                schema,
                cache_dir=self._table_cache_dir(),
                reference_compatible=self.REFERENCE_TABLES,
            )
            self._tables[name] = (
                as_reference_frame(table, schema) if self.REFERENCE_TABLES else table
            )
        return self._tables[name].copy()

    def _table_cache_dir(self) -> Path:
        """Return where parsed tables are kept as Parquet (outside the AllenSDK layout)."""
        return self.fetch_api.tables_dir

    def _open_data_file(
        self, file_id: int, stream: bool, block_cache: BlockCacheOptions | None
    ) -> NwbFile:
        """Return a handle on data file ``file_id``: streamed by byte ranges, or downloaded."""
        location = self.fetch_api.open_data(file_id, stream=stream)
        return NwbFile.from_local_or_remote(location, block_cache=block_cache)

    # --- what every release's cache answers (the command line and the report use these) ----
    @abstractmethod
    def session_table(self, include_abnormal: bool = False) -> pd.DataFrame:
        """Return the release's main session table (what `brainobs sessions` prints)."""

    @abstractmethod
    def get_session(self, session_id: int, stream: bool = False) -> Any:
        """Return the session, experiment or behavior session with id ``session_id``."""


def _manifest_name(release_cache: ReleaseCache, name_or_version: str) -> str:
    """Return the manifest file name of a name or a version (``0.5.0``, ``v0.5.0``)."""
    if name_or_version.endswith(".json"):
        return name_or_version
    return release_cache.read_manifest(name_or_version).name


def _changes(old: Mapping[str, FileEntry], new: Mapping[str, FileEntry]) -> list[str]:
    """Return the reference's change lines between two groups of files, sorted by path.

    A path in both with another digest ``changed``; a path only in ``old`` is ``renamed`` to
    a path of ``new`` with its digest, else ``deleted``; a path only in ``new`` whose digest
    ``old`` lacks is ``created``.
    """
    before = {old[k].relative_path: old[k].file_hash for k in sorted(old)}
    after = {new[k].relative_path: new[k].file_hash for k in sorted(new)}
    named_before = set(before.values())
    name_after = {digest: path for path, digest in after.items()}
    lines = {}
    for path in before.keys() | after.keys():
        if path in before and path in after:
            if before[path] != after[path]:
                lines[path] = f"{path} changed"
        elif path in before:
            target = name_after.get(before[path])
            lines[path] = f"{path} renamed {target}" if target else f"{path} deleted"
        elif after[path] not in named_before:
            lines[path] = f"{path} created"
    return [lines[p] for p in sorted(lines)]
