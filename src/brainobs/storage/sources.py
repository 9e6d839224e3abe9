"""Turn what users type into a fetcher: one parser for every address brainobs accepts.

Two questions share one parser (:func:`parse_location`):

* where a release comes from (:func:`make_fetcher`): ``s3`` (the release's public bucket),
  ``s3://bucket``, an ``http(s)://`` base address serving the bucket's keys, or a folder laid
  out like the bucket; :func:`make_release_cache` also takes ``dandi`` (NWB files from the
  DANDI Archive, metadata tables from the bucket);
* where one file is (:func:`remote_object_for_url`): ``s3://bucket/key`` or
  ``http(s)://host/path/file`` (a query string, as in a signed URL, is kept).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from brainobs import config
from brainobs.config import TransferSettings
from brainobs.errors import InvalidInputError, SourceError
from brainobs.releases import Release
from brainobs.storage.cache import ReleaseCache
from brainobs.storage.dandi_cache import open_dandi_cache
from brainobs.storage.fetchers import Fetcher
from brainobs.storage.http import HTTPFetcher
from brainobs.storage.local import LocalFetcher
from brainobs.storage.remote import RemoteObject
from brainobs.storage.s3 import S3Fetcher


@dataclass(frozen=True)
class Location:
    """A parsed address: ``scheme`` (s3, http, https or file), the root, and a key under it."""

    scheme: str
    root: str
    key: str = ""
    query: str = ""


def is_url(location: str) -> bool:
    """Return whether ``location`` is an ``s3://``, ``http://`` or ``https://`` address."""
    return location.startswith(("s3://", "http://", "https://"))


def parse_location(text: str) -> Location:
    """Return ``text`` parsed: the bucket or base address, and the key after it.

    For ``s3://bucket/a/b`` the root is the bucket and the key ``a/b``; for
    ``https://host/a/b`` the root is ``https://host/a`` and the key ``b``; anything else is a
    local path (``file://`` stripped).
    """
    if not is_url(text):
        path = text[len("file://") :] if text.startswith("file://") else text
        return Location("file", str(Path(path).expanduser()))
    parts = urlsplit(text)
    if not parts.netloc:
        raise InvalidInputError(f"{text!r} has no host or bucket after {parts.scheme}://.")
    if parts.scheme == "s3":
        return Location("s3", parts.netloc, unquote(parts.path.lstrip("/")))
    folder, _, name = parts.path.rpartition("/")
    return Location(
        parts.scheme, f"{parts.scheme}://{parts.netloc}{folder}", unquote(name), parts.query
    )


DANDI = "dandi"


def is_dandi(source: str | None) -> bool:
    """Return whether ``source`` names the DANDI Archive (``dandi``)."""
    return isinstance(source, str) and source.strip().lower() == DANDI


def make_fetcher(
    release: Release,
    source: str | None = None,
    endpoint: str | None = None,
    settings: TransferSettings | None = None,
) -> Fetcher:
    """Return a fetcher serving the keys of ``release`` from ``source``.

    ``source`` is ``None``/``"s3"`` for the release's public bucket (``endpoint`` or
    ``$BRAINOBS_S3_ENDPOINT`` redirects it to a mirror), ``s3://bucket``, an ``http(s)://``
    base address serving the bucket's keys, or a local folder laid out like the bucket.
    """
    if is_dandi(source):
        raise InvalidInputError(
            "DANDI holds a release's NWB files but not its manifests and metadata tables, so it "
            "cannot stand in for the bucket here; open the cache with source 'dandi' "
            "(make_release_cache, from_dandi) or use the bucket."
        )
    if source in (None, "", "s3"):
        return S3Fetcher(
            release.bucket, endpoint=endpoint, region=release.region, settings=settings
        )
    location = parse_location(source)
    if location.scheme == "s3":
        if location.key:
            raise InvalidInputError(
                f"Source {source!r} names a folder inside the bucket; give the bucket only "
                f"(s3://{location.root}): keys start with the project name."
            )
        return S3Fetcher(location.root, endpoint=endpoint, region=release.region, settings=settings)
    if location.scheme in ("http", "https"):
        return HTTPFetcher(source, settings=settings)
    folder = Path(location.root)
    if not folder.is_dir():
        raise SourceError(
            f"Source {source!r} is neither 's3', an s3:// or http(s):// address, nor an "
            "existing folder laid out like the bucket."
        )
    return LocalFetcher(folder)


def make_release_cache(
    release: Release,
    source: str | None,
    cache_dir: str | Path,
    endpoint: str | None = None,
    *,
    dandiset_version: str | None = None,
    dandi_api: str | None = None,
    settings: TransferSettings | None = None,
    show_progress: bool = False,
) -> ReleaseCache:
    """Return the download cache of ``release`` in ``cache_dir`` over ``source``.

    ``source`` is what :func:`make_fetcher` takes, or ``dandi``: NWB files from the release's
    dandisets (``dandiset_version``: ``draft``, a published version, or None for the latest;
    ``dandi_api`` or ``$BRAINOBS_DANDI_API``: a mirror), metadata tables from its bucket
    (``endpoint``: a mirror of it).
    """
    if is_dandi(source):
        metadata = make_fetcher(release, "s3", endpoint, settings)
        return open_dandi_cache(release, cache_dir, metadata, dandiset_version, api=dandi_api,
                                settings=settings, show_progress=show_progress)  # fmt: skip
    if dandiset_version is not None:
        raise InvalidInputError("A dandiset version applies to the DANDI source only (dandi).")
    fetcher = make_fetcher(release, source, endpoint, settings)
    return ReleaseCache(cache_dir, release.project_name, fetcher, settings=settings,
                        show_progress=show_progress)  # fmt: skip


def remote_object_for_url(
    url: str,
    endpoint: str | None = None,
    settings: TransferSettings | None = None,
    size: int | None = None,
) -> RemoteObject:
    """Return the object at ``url`` (``s3://bucket/key`` or ``http(s)://...``).

    ``s3://`` addresses go to AWS unless ``endpoint`` (or ``$BRAINOBS_S3_ENDPOINT``) names a
    mirror.
    """
    location = parse_location(url)
    if location.scheme == "file" or (location.scheme == "s3" and not location.key):
        raise InvalidInputError(
            f"{url!r} is not a remote file address brainobs can read: use s3://bucket/key, "
            "https://host/path/file, or a local path."
        )
    fetcher: Fetcher
    if location.scheme == "s3":
        fetcher = S3Fetcher(location.root, endpoint=config.s3_endpoint(endpoint), settings=settings)
    else:
        fetcher = HTTPFetcher(location.root, settings=settings, query=location.query)
    return RemoteObject(fetcher, location.key, size=size)
