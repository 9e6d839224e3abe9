"""How an ``EcephysProjectCache`` is opened: every route the release's documentation describes.

A mixin of :class:`brainobs.vcn.cache.EcephysProjectCache` (its constructors, kept apart to keep
modules small): the warehouse's RMA queries, the bucket's ``ecephys-cache`` tree (S3, a mirror
or a folder), DANDI for the NWB files, an existing folder (fixed), and the built-in sample.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from brainobs import config
from brainobs.errors import InvalidInputError
from brainobs.storage.dandi import DandiFetcher
from brainobs.storage.dandi_cache import DandiFiles, dandiset_versions
from brainobs.storage.local import LocalFetcher
from brainobs.storage.s3 import S3Fetcher
from brainobs.storage.sources import is_dandi, make_fetcher
from brainobs.storage.tree_cache import TreeCache
from brainobs.storage.tree_dandi import DandiTreeSource
from brainobs.storage.tree_sources import BucketSource
from brainobs.types import PathLike
from brainobs.vcn.layout import MANIFEST_NAME
from brainobs.vcn.warehouse import WarehouseSource

#: The ``fetch_api`` of a cache that never fetches.
FIXED = object()


class CacheRoutes:
    """The constructors of the VCN project cache (a mixin; ``cls`` is the cache class)."""

    # --- constructors (reference names) ------------------------------------------------------
    @classmethod
    def from_warehouse(
        cls: Any,
        scheme: str | None = None,
        host: str | None = None,
        asynchronous: bool = False,
        manifest: PathLike | None = None,
        version: str | None = None,
        cache: bool = True,
        fetch_tries: int = 2,
        timeout: int = 1200,
        *,
        page_size: int = 5000,
    ) -> Any:
        """Return a cache filling the folder of ``manifest`` from the warehouse's RMA service.

        ``scheme`` and ``host`` (both, as in the reference) point at another warehouse.
        """
        source = (
            WarehouseSource(scheme, host, page_size=page_size)
            if scheme and host
            else WarehouseSource(page_size=page_size)
        )
        return cls(source, fetch_tries, None, manifest, version, cache)

    @classmethod
    def fixed(cls: Any, manifest: PathLike | None = None, version: str | None = None) -> Any:
        """Return a cache over an existing folder that never fetches (reference ``fixed``)."""
        return cls(FIXED, manifest=manifest, version=version)

    @classmethod
    def from_s3_cache(
        cls: Any,
        cache_dir: PathLike | None = None,
        bucket_name_override: str | None = None,
        endpoint: str | None = None,
        show_progress: bool = True,
    ) -> Any:
        """Return a cache filled from the public bucket's ``ecephys-cache`` tree.

        ``endpoint`` (or ``$BRAINOBS_S3_ENDPOINT``) points at an S3-compatible mirror.
        """
        bucket = bucket_name_override or cls.RELEASE.bucket
        fetcher = S3Fetcher(bucket, endpoint=endpoint, region=cls.RELEASE.region)
        return cls._over_bucket(cache_dir, fetcher, show_progress)

    @classmethod
    def from_source(
        cls: Any,
        source: str,
        cache_dir: PathLike | None = None,
        endpoint: str | None = None,
        dandiset_version: str | None = None,
    ) -> Any:
        """Return a cache filled from ``source``: ``s3``, ``warehouse``, an http(s) mirror of
        the bucket, a folder laid out like it, or ``dandi``."""
        if is_dandi(source):
            return cls.from_dandi(cache_dir, dandiset_version, endpoint=endpoint)
        if dandiset_version is not None:
            raise InvalidInputError("A dandiset version applies to the DANDI source only.")
        if source.strip().lower() == "warehouse":
            return cls.from_warehouse(manifest=cls._manifest_in(cache_dir))
        return cls._over_bucket(cache_dir, make_fetcher(cls.RELEASE, source, endpoint), True)

    @classmethod
    def from_local_cache(cls: Any, cache_dir: PathLike, use_static_cache: bool = False) -> Any:
        """Return a cache over a folder already on disk: ``cache_dir`` itself when it holds
        ``manifest.json``, else its ``visual-coding-neuropixels/ecephys-cache`` folder."""
        folder = Path(cache_dir).expanduser()
        manifest = folder / MANIFEST_NAME
        return cls.fixed(manifest if manifest.is_file() else cls._manifest_in(folder))

    @classmethod
    def from_sample(
        cls: Any, cache_dir: PathLike | None = None, size: str = "default", seed: int = 0
    ) -> Any:
        """Return a cache serving brainobs's sample release (written on first use), fetched
        into its own cache folder through the same checks as real data."""
        root = config.cache_dir(cache_dir)
        folder = root / "_samples" / f"{cls.RELEASE.name}-{size}-seed{seed}"
        sample = cls.RELEASE.load_sample_writer()(folder, size=size, seed=seed)
        fetcher = LocalFetcher(sample.root)
        tree = root / f"{cls.RELEASE.tree_prefix}-sample-{size}-seed{seed}" / MANIFEST_NAME
        source = BucketSource(fetcher, str(cls.RELEASE.tree_prefix))
        return cls(source, manifest=tree, show_progress=False, cache_dir=root)

    @classmethod
    def from_dandi(
        cls: Any,
        cache_dir: PathLike | None = None,
        dandiset_version: str | None = None,
        *,
        metadata_source: str = "s3",
        endpoint: str | None = None,
        api: str | None = None,
        show_progress: bool = True,
    ) -> Any:
        """Return a cache reading the NWB files from DANDI (000021, 000022).

        The tables come from ``metadata_source`` (``s3``: the bucket's tree, ``endpoint`` a
        mirror; or a folder or http(s) mirror laid out like the bucket). ``dandiset_version``
        is ``draft``, ``000021=<v>,000022=<v>``, or None (the latest published); ``api`` (else
        ``$BRAINOBS_DANDI_API``) points at a DANDI mirror. Downloads are checked against
        DANDI's size and SHA-256; ``stream=True`` reads DANDI by byte ranges.
        """
        release, root = cls.RELEASE, config.cache_dir(cache_dir)
        prefix = str(release.tree_prefix)
        metadata = BucketSource(make_fetcher(release, metadata_source, endpoint), prefix)
        versions = dandiset_versions(release.dandisets, dandiset_version)
        fetchers = {d: DandiFetcher(d, v, api=api, cache_dir=root) for d, v in versions.items()}
        trees: list[TreeCache] = []
        files = DandiFiles(root, fetchers, release.load(str(release.dandi_mapping)),
                           lambda name: trees[0].fetch(trees[0].path_of(name)))  # fmt: skip
        source = DandiTreeSource(metadata, files, prefix)
        manifest = root / f"{prefix}-dandi" / MANIFEST_NAME
        cache = cls(source, manifest=manifest, show_progress=show_progress, cache_dir=root)
        trees.append(cache.tree)
        return cache

    @classmethod
    def _manifest_in(cls: Any, cache_dir: PathLike | None) -> Path:
        """Return the manifest path of the release's tree in the cache root ``cache_dir``."""
        return config.cache_dir(cache_dir) / str(cls.RELEASE.tree_prefix) / MANIFEST_NAME

    @classmethod
    def _over_bucket(
        cls: Any, cache_dir: PathLike | None, fetcher: Any, show_progress: bool
    ) -> Any:
        """Return a cache filled from the release's tree in a bucket-like ``fetcher``."""
        source = BucketSource(fetcher, str(cls.RELEASE.tree_prefix))
        manifest = cls._manifest_in(cache_dir)
        return cls(source, manifest=manifest, show_progress=show_progress,
                   cache_dir=config.cache_dir(cache_dir))  # fmt: skip

    @classmethod
    def over_folder(
        cls: Any, manifest: PathLike, source: str | None = None, endpoint: str | None = None
    ) -> Any:
        """Return a cache over an existing folder, fetching from ``source`` (None: never)."""
        if source is None:
            return cls.fixed(manifest)
        if source.strip().lower() == "warehouse":
            return cls(WarehouseSource(), manifest=manifest)
        fetcher = make_fetcher(cls.RELEASE, source, endpoint)
        return cls(BucketSource(fetcher, str(cls.RELEASE.tree_prefix)), manifest=manifest)
