"""Pick a fetcher from a source description: ``s3`` (default), an HTTPS base or a folder."""

from __future__ import annotations

from pathlib import Path

from brainobs.config import TransferSettings
from brainobs.errors import SourceError
from brainobs.releases import Release
from brainobs.storage.fetchers import Fetcher
from brainobs.storage.http import HTTPFetcher
from brainobs.storage.local import LocalFetcher
from brainobs.storage.s3 import S3Fetcher


def make_fetcher(
    release: Release,
    source: str | None = None,
    endpoint: str | None = None,
    settings: TransferSettings | None = None,
) -> Fetcher:
    """Return a fetcher for ``release`` from ``source``.

    ``source`` is ``None``/``"s3"`` for the release's public bucket (``endpoint`` or
    ``$BRAINOBS_S3_ENDPOINT`` redirects it to a mirror), an ``http(s)://`` base address
    serving the bucket's keys, or a local folder laid out like the bucket.
    """
    if source in (None, "", "s3"):
        return S3Fetcher(
            release.bucket, endpoint=endpoint, region=release.region, settings=settings
        )
    if source.startswith("s3://"):
        bucket = source[5:].split("/", 1)[0]
        return S3Fetcher(bucket, endpoint=endpoint, region=release.region, settings=settings)
    if source.startswith(("http://", "https://")):
        return HTTPFetcher(source, settings=settings)
    folder = Path(source).expanduser()
    if not folder.is_dir():
        raise SourceError(
            f"Source {source!r} is neither 's3', an s3:// or http(s):// address, nor an "
            "existing folder laid out like the bucket."
        )
    return LocalFetcher(folder)
