"""A release cache whose NWB files come from the DANDI Archive and metadata from the bucket.

DANDI holds a release's NWB files but not its metadata tables, so a DANDI cache combines two
sources, each for what it has:

* the manifest and the metadata tables come from the release's own source (its bucket, a
  mirror, or a sample folder) exactly as for :class:`~brainobs.storage.cache.ReleaseCache`,
  verified against the manifest's BLAKE2b;
* each data file (``file_id``) is found among the dandiset's assets by the release's DANDI
  mapping (named in its declaration, ``Release.dandi_mapping``), read or downloaded from DANDI
  and verified against the SHA-256 DANDI publishes.

Downloaded assets are kept content-addressed in ``<cache>/dandi/sha256/<digest>/<name>``
(:class:`DandiFiles`, which needs no manifest). When the bucket route already holds the same
bytes (same SHA-256) they are linked instead of downloaded; when a DANDI download has the
manifest's BLAKE2b it is linked, recorded, into the bucket layout, so the other routes reuse it.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from brainobs.config import TransferSettings
from brainobs.errors import InvalidInputError, UnknownIdError
from brainobs.releases import Release
from brainobs.storage.cache import FetchAction, ReleaseCache
from brainobs.storage.dandi import DandiAsset, DandiFetcher, DandiListing, check_version
from brainobs.storage.download import download_file, make_cache_folder
from brainobs.storage.fetchers import Fetcher
from brainobs.storage.hashing import file_digest
from brainobs.storage.manifest import FileEntry, Manifest
from brainobs.storage.records import DANDI_STORE, LOCKS
from brainobs.storage.remote import RemoteObject

_LABEL = r"[^_*\\/<>:|\"'?%@;.]+"  # dandi-cli's LABELREGEX
_ENTITY = re.compile(rf"^(?P<key>[a-z]+)-(?P<value>{_LABEL})$")
_MODALITIES = re.compile(r"^[a-z]+(\+[a-z]+)*$")


@dataclass(frozen=True)
class AssetName:
    """The parts of an organized asset path ``sub-<s>/sub-<s>_ses-<x>_probe-<p>_<mod>.nwb``."""

    subject: str
    entities: Mapping[str, str]
    modalities: tuple[str, ...]

    @property
    def session(self) -> str | None:
        """Return the ``ses-`` label (a session id, a start time or ``None``), if any."""
        return self.entities.get("ses")

    @property
    def probe(self) -> str | None:
        """Return the ``probe-`` label, if any."""
        return self.entities.get("probe")


def parse_asset_path(path: str) -> AssetName | None:
    """Return the parts of ``path`` named by dandi-cli's conventions; None if it has others."""
    folder, _, name = path.rpartition("/")
    if not name.endswith(".nwb") or "/" in folder:
        return None
    tokens = name[: -len(".nwb")].split("_")
    entities: dict[str, str] = {}
    modalities: tuple[str, ...] = ()
    if tokens and _MODALITIES.match(tokens[-1]):
        modalities = tuple(tokens.pop().split("+"))
    for token in tokens:
        match = _ENTITY.match(token)
        if match is None or match["key"] in entities:
            return None
        entities[match["key"]] = match["value"]
    subject = entities.pop("sub", None)
    if subject is None or tokens[0] != f"sub-{subject}" or folder != f"sub-{subject}":
        return None
    return AssetName(subject, entities, modalities)


@dataclass(frozen=True)
class DandiLocation:
    """Where one data file of a release is on DANDI, or what was looked for in vain."""

    file_id: str
    what: str  # e.g. "ecephys session 1055221968 (mouse 533537, 2020-10-07 14:01:41 UTC)"
    dandiset: str
    path: str | None
    looked_for: str = ""


#: Where a release's metadata table ``name`` is, as a local file.
MetadataPath = Callable[[str], Path]


class DandiMapping(Protocol):
    """How a release's data files are named on DANDI (its declaration names one).

    ``locate`` finds every data file of the metadata tables among the listed assets;
    ``asset_paths`` names where the release's conventions put each file (used to lay a sample
    release out as a dandiset).
    """

    def locate(
        self, metadata_path: MetadataPath, listings: Mapping[str, DandiListing]
    ) -> dict[str, DandiLocation]: ...

    def asset_paths(self, metadata_path: MetadataPath) -> dict[str, tuple[str, str]]: ...


class DandiFiles:
    """A release's data files on DANDI: found by its mapping, kept in a verified store.

    ``dandi`` maps each of the release's dandisets to its fetcher; ``mapping`` finds each file
    id's asset from the metadata tables (``metadata_path``). Downloads land in
    ``<cache_dir>/dandi/sha256/<digest>/<name>``, verified by SHA-256; a file is there only
    once verified. Nothing here needs a manifest, so any release layout can use it.
    """

    def __init__(
        self,
        cache_dir: str | os.PathLike[str],
        dandi: Mapping[str, DandiFetcher],
        mapping: DandiMapping,
        metadata_path: MetadataPath,
        *,
        settings: TransferSettings | None = None,
        show_progress: bool = False,
    ) -> None:
        self.cache_dir = Path(cache_dir).expanduser()
        self.dandi = dict(dandi)
        self.mapping = mapping
        self.metadata_path = metadata_path
        self.settings = settings or TransferSettings.from_env()
        self.show_progress = show_progress
        self._locations: dict[str, DandiLocation] | None = None

    def describe(self) -> str:
        """Return the dandisets the files come from, for messages."""
        return "; ".join(f.describe() for f in self.dandi.values())

    def locations(self) -> dict[str, DandiLocation]:
        """Return file id -> DANDI location of every data file of the metadata tables."""
        if self._locations is None:
            listings = {d: f.listing for d, f in self.dandi.items()}
            self._locations = self.mapping.locate(self.metadata_path, listings)
        return self._locations

    def location(self, file_id: int | str) -> DandiLocation:
        """Return the DANDI location of data file ``file_id``; raise if it has no asset."""
        key = str(int(file_id)) if not isinstance(file_id, str) else file_id
        found = self.locations().get(key)
        if found is None:
            raise UnknownIdError(
                f"File id {file_id} is not a data file of the metadata tables; their file_id "
                "columns list the valid ids."
            )
        if found.path is None:
            raise UnknownIdError(
                f"The {found.what} has no asset in {self.dandi[found.dandiset].describe()}: "
                f"looked for {found.looked_for}. It may be in another version "
                "(--dandiset-version) or only in the release's bucket (source='s3')."
            )
        return found

    def asset(self, file_id: int | str) -> tuple[DandiFetcher, DandiAsset]:
        """Return the fetcher and the asset of data file ``file_id``."""
        found = self.location(file_id)
        fetcher = self.dandi[found.dandiset]
        assert found.path is not None
        return fetcher, fetcher.asset(found.path)

    def store_path(self, asset: DandiAsset) -> Path:
        """Return where a verified copy of ``asset`` is kept (addressed by its SHA-256)."""
        assert asset.sha256 is not None
        return self.cache_dir / DANDI_STORE / asset.sha256 / asset.path.rsplit("/", 1)[-1]

    def stored(self, asset: DandiAsset) -> Path | None:
        """Return the store's copy of ``asset``, if it holds one."""
        path = self.store_path(asset)
        return path if path.is_file() and path.stat().st_size == asset.size else None

    def adopt(self, asset: DandiAsset, copy: Path) -> Path | None:
        """Return the store's copy of ``asset`` linked to ``copy`` (a verified file of another
        route) when ``copy`` has the asset's size and SHA-256; None otherwise."""
        if copy.stat().st_size != asset.size or file_digest(copy, "sha256") != asset.sha256:
            return None
        _link_or_copy(copy, self.store_path(asset))
        return self.store_path(asset)

    def download(self, fetcher: DandiFetcher, asset: DandiAsset) -> Path:
        """Return the store's copy of ``asset``, downloaded and verified if it is not there."""
        expected = fetcher.expected(asset.path)
        return self.stored(asset) or download_file(
            fetcher,
            asset.path,
            self.store_path(asset),
            expected,
            settings=self.settings,
            show_progress=self.show_progress,
            lock_dir=self.cache_dir / LOCKS,
        )


class DandiReleaseCache(ReleaseCache):
    """Metadata from ``metadata_fetcher`` (bucket layout), data files from DANDI.

    ``dandi`` maps each of the release's dandisets to its fetcher; ``mapping`` finds a file id's
    asset (:class:`DandiFiles`). A copy the bucket route verified is reused when it has the
    asset's SHA-256, and a DANDI download with the manifest's BLAKE2b is linked, recorded,
    into the bucket layout.
    """

    def __init__(
        self,
        cache_dir: str | os.PathLike[str],
        project_name: str,
        metadata_fetcher: Fetcher,
        dandi: Mapping[str, DandiFetcher],
        mapping: DandiMapping,
        *,
        settings: TransferSettings | None = None,
        show_progress: bool = False,
    ) -> None:
        super().__init__(
            cache_dir,
            project_name,
            metadata_fetcher,
            settings=settings,
            show_progress=show_progress,
        )
        self.dandi = dict(dandi)
        self.mapping = mapping
        self._files: tuple[str, DandiFiles] | None = None

    def __repr__(self) -> str:
        return f"DandiReleaseCache({str(self.cache_dir)!r}, {self.project_name!r}, {self.dandi!r})"

    def describe(self) -> str:
        """Return where files come from, for messages."""
        return f"{self.files.describe()} (metadata tables from {super().describe()})"

    @property
    def files(self) -> DandiFiles:
        """Return the DANDI files of the current manifest's metadata tables."""
        name = self.manifest.name
        if self._files is None or self._files[0] != name:
            files = DandiFiles(
                self.cache_dir,
                self.dandi,
                self.mapping,
                self.metadata_path,
                settings=self.settings,
                show_progress=self.show_progress,
            )
            self._files = (name, files)
        return self._files[1]

    def locations(self) -> dict[str, DandiLocation]:
        """Return file id -> DANDI location of every data file of the current manifest."""
        return self.files.locations()

    def location(self, file_id: int | str) -> DandiLocation:
        """Return the DANDI location of data file ``file_id``; raise if it has no asset."""
        return self.files.location(file_id)

    # --- files ---------------------------------------------------------------------------
    def open_data(self, file_id: int | str, stream: bool = False) -> Path | RemoteObject:
        """Return a verified local copy of data file ``file_id`` (downloaded from DANDI), or
        with ``stream`` the DANDI asset to read by byte ranges (a local copy is preferred).
        """
        if not stream:
            return self.data_path(file_id)
        fetcher, asset = self.files.asset(file_id)
        fetcher.expected(asset.path)  # refuse assets without a published digest here too
        cached = self._local_copy(asset, self._entry(file_id))
        return cached or RemoteObject(fetcher, asset.path, None, asset.size)

    def data_path(self, file_id: int | str) -> Path:
        """Return the local path of data file ``file_id``, downloading it from DANDI if needed."""
        fetcher, asset = self.files.asset(file_id)
        entry = self._entry(file_id)
        fetcher.expected(asset.path)
        cached = self._local_copy(asset, entry)
        if cached is not None:
            return cached
        stored = self.files.download(fetcher, asset)
        if entry is not None:
            self._share_with_bucket_layout(stored, entry)
        return stored

    def fetch(self, entry: FileEntry, manifest: Manifest | None = None) -> Path:
        """Return the local path of ``entry``: metadata through the bucket route, data files
        from DANDI."""
        file_id = self._file_id_of(entry, manifest)
        if file_id is None:
            return super().fetch(entry, manifest)
        return self.data_path(file_id)

    def plan(self, entry: FileEntry, manifest: Manifest | None = None) -> FetchAction:
        """Return what :meth:`fetch` would do for ``entry`` (data files: the DANDI copy)."""
        file_id = self._file_id_of(entry, manifest)
        if file_id is None:
            return super().plan(entry, manifest)
        _, asset = self.files.asset(file_id)
        stored = asset.sha256 is not None and self.files.stored(asset)
        return FetchAction.REUSE if stored else FetchAction.DOWNLOAD

    def _file_id_of(self, entry: FileEntry, manifest: Manifest | None) -> str | None:
        """Return the file id of data entry ``entry`` (None for metadata tables)."""
        files = (manifest or self.manifest).data_files
        return next((fid for fid, e in files.items() if e == entry), None)

    def _entry(self, file_id: int | str) -> FileEntry | None:
        """Return the manifest's entry of ``file_id`` (None when the manifest lacks it)."""
        key = str(int(file_id)) if not isinstance(file_id, str) else file_id
        return self.manifest.data_files.get(key)

    def _local_copy(self, asset: DandiAsset, entry: FileEntry | None) -> Path | None:
        """Return a verified local copy of ``asset``: the store's, or the bucket route's when
        it has the same SHA-256 (then linked into the store)."""
        stored = self.files.stored(asset)
        if stored is not None or entry is None or super().plan(entry) is not FetchAction.REUSE:
            return stored
        return self.files.adopt(asset, self.local_path(entry))

    def _share_with_bucket_layout(self, stored: Path, entry: FileEntry) -> None:
        """Link a DANDI download into the bucket layout, recorded, when it has the manifest's
        bytes (its size and BLAKE2b), so the bucket route reuses it."""
        local = self.local_path(entry)
        if local.exists() or local.is_symlink():
            return
        if entry.size is not None and stored.stat().st_size != entry.size:
            return
        if file_digest(stored, "blake2b") == entry.file_hash:
            _link_or_copy(stored, local)
            self.record(local, entry.file_hash)


def _link_or_copy(source: Path, target: Path) -> None:
    """Make ``target`` a hard link to ``source`` (a copy across file systems), atomically."""
    make_cache_folder(target.parent)
    tmp = target.with_name(f".{target.name}.link")
    tmp.unlink(missing_ok=True)
    try:
        os.link(source, tmp)
    except OSError:
        shutil.copy2(source, tmp)
    tmp.replace(target)


def dandiset_versions(
    dandisets: tuple[str, ...], version: str | Mapping[str, str] | None
) -> dict[str, str | None]:
    """Return the version to use of each dandiset (None: its most recent published one).

    ``version`` is None, ``"draft"``, one published version (releases with one dandiset), a
    mapping dandiset -> version, or the text ``"000021=0.x,000022=0.y"``.
    """
    if version is None or version == "draft":
        return {d: version for d in dandisets}
    if isinstance(version, str) and "=" in version:
        pairs = (item.partition("=") for item in version.split(","))
        version = {d.strip(): v.strip() for d, _, v in pairs}
    if isinstance(version, str):
        if len(dandisets) != 1:
            raise InvalidInputError(
                f"{version!r} can name a version of one dandiset only; name one per dandiset, "
                f"e.g. {','.join(f'{d}=VERSION' for d in dandisets)}, or use 'draft'."
            )
        return {dandisets[0]: check_version(version)}
    unknown = sorted(set(version) - set(dandisets))
    if unknown:
        raise InvalidInputError(
            f"Dandisets {unknown} do not hold this release; its dandisets are {list(dandisets)}."
        )
    return {d: check_version(version[d]) if d in version else None for d in dandisets}


def open_dandi_cache(
    release: Release,
    cache_dir: str | os.PathLike[str],
    metadata_fetcher: Fetcher,
    version: str | Mapping[str, str] | None = None,
    *,
    api: str | None = None,
    settings: TransferSettings | None = None,
    show_progress: bool = False,
) -> DandiReleaseCache:
    """Return a cache of ``release`` with data files from its dandisets and metadata from
    ``metadata_fetcher``, using the DANDI mapping the release declares."""
    if release.layout != "cloud_cache":
        raise InvalidInputError(
            f"{release.title} has a warehouse layout (no manifest versions): open it from DANDI "
            "with its project cache's from_dandi() (`--source dandi`)."
        )
    if not release.dandisets or release.dandi_mapping is None:
        raise InvalidInputError(
            f"brainobs cannot read {release.title} from DANDI yet (its declaration names no "
            "DANDI mapping); use its bucket instead (source='s3')."
        )
    mapping = release.load(release.dandi_mapping)
    versions = dandiset_versions(release.dandisets, version)
    fetchers = {
        d: DandiFetcher(d, v, api=api, settings=settings, cache_dir=cache_dir)
        for d, v in versions.items()
    }
    return DandiReleaseCache(
        cache_dir,
        release.project_name,
        metadata_fetcher,
        fetchers,
        mapping,
        settings=settings,
        show_progress=show_progress,
    )
