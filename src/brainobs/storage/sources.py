"""Turn what users type into a fetcher: one parser for every address brainobs accepts.

Two questions share one parser (:func:`parse_location`):

* where a release comes from (:func:`make_fetcher`): ``s3`` (the release's public bucket),
  ``s3://bucket``, an ``http(s)://`` base address serving the bucket's keys, or a folder laid
  out like the bucket;
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
