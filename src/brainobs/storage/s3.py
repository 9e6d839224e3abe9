"""Anonymous (unsigned) reads over the S3 protocol: AWS public buckets or any S3 mirror.

Public Allen Institute buckets accept unsigned requests, which are plain HTTP GETs, so this
fetcher speaks the S3 REST protocol (GetObject with ``versionId`` and Range, ListObjectsV2
with continuation tokens) over the same HTTP transport as :mod:`brainobs.storage.http`,
instead of pulling in boto3 (~80 MB) to send unsigned requests.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from brainobs import config
from brainobs.config import TransferSettings
from brainobs.errors import SourceError
from brainobs.storage.http import HTTPFetcher

_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


@dataclass(frozen=True)
class ObjectInfo:
    """What an S3 listing says of one object: its size and ETag (quotes removed)."""

    size: int
    etag: str

    @property
    def md5(self) -> str | None:
        """Return the object's MD5 when its ETag is one (a single-part upload), else None."""
        tag = self.etag.lower()
        return tag if len(tag) == 32 and all(c in "0123456789abcdef" for c in tag) else None


class S3Fetcher(HTTPFetcher):
    """Serves objects of ``bucket`` over the S3 protocol, without credentials.

    ``endpoint`` (argument, else ``$BRAINOBS_S3_ENDPOINT``) points at a mirror or a test
    server and uses path-style addresses (``{endpoint}/{bucket}/{key}``); without it,
    AWS's virtual-hosted address ``https://{bucket}.s3.{region}.amazonaws.com`` is used.
    Object reads are those of :class:`HTTPFetcher`; S3 adds listing.
    """

    def __init__(
        self,
        bucket: str,
        endpoint: str | None = None,
        region: str = "us-west-2",
        settings: TransferSettings | None = None,
    ) -> None:
        self.bucket = bucket
        self.endpoint = config.s3_endpoint(endpoint)
        if self.endpoint:
            bucket_url = f"{self.endpoint.rstrip('/')}/{bucket}"
        else:
            bucket_url = f"https://{bucket}.s3.{region}.amazonaws.com"
        super().__init__(bucket_url, settings)

    @property
    def bucket_url(self) -> str:
        """Return the HTTP address of the bucket."""
        return self.base_url

    def __repr__(self) -> str:
        return f"S3Fetcher({self.bucket!r}, endpoint={self.endpoint!r})"

    def describe(self) -> str:
        """Return a short description of the source."""
        return f"s3://{self.bucket}" + (f" at {self.endpoint}" if self.endpoint else "")

    def list_keys(self, prefix: str) -> list[str]:
        """Return every key under ``prefix`` (ListObjectsV2, following continuation tokens)."""
        return sorted(self.list_objects(prefix))

    def list_objects(self, prefix: str) -> dict[str, ObjectInfo]:
        """Return key -> size and ETag of every object under ``prefix``."""
        objects: dict[str, ObjectInfo] = {}
        token: str | None = None
        while True:
            params = {"list-type": "2", "prefix": prefix}
            if token:
                params["continuation-token"] = token
            body = self.transport.read_small(self.bucket_url + "/", params=params)
            page, token = _parse_listing(body, self.describe())
            objects.update(page)
            if token is None:
                return objects


def _parse_listing(body: bytes, source: str) -> tuple[dict[str, ObjectInfo], str | None]:
    """Return the objects of one ListObjectsV2 page and the continuation token, if truncated."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise SourceError(f"{source} sent a listing that is not S3 XML: {exc}") from None
    objects = {}
    for item in root.iter(f"{_NS}Contents"):
        size = item.findtext(f"{_NS}Size") or ""
        etag = (item.findtext(f"{_NS}ETag") or "").strip('"')
        objects[item.findtext(f"{_NS}Key") or ""] = ObjectInfo(
            int(size) if size.isdigit() else -1, etag
        )
    truncated = (root.findtext(f"{_NS}IsTruncated") or "false").lower() == "true"
    token = root.findtext(f"{_NS}NextContinuationToken") if truncated else None
    return objects, token
