"""Anonymous (unsigned) reads over the S3 protocol: AWS public buckets or any S3 mirror.

Public Allen Institute buckets accept unsigned requests, which are plain HTTP GETs, so this
fetcher speaks the S3 REST protocol (GetObject with ``versionId`` and Range, ListObjectsV2
with continuation tokens) over the same HTTP transport as :mod:`brainobs.storage.http`,
instead of pulling in boto3 (~80 MB) to send unsigned requests.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from brainobs import config
from brainobs.config import TransferSettings
from brainobs.errors import SourceError
from brainobs.storage.http import HTTPFetcher

_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


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
        keys: list[str] = []
        token: str | None = None
        while True:
            params = {"list-type": "2", "prefix": prefix}
            if token:
                params["continuation-token"] = token
            body = self.transport.read_small(self.bucket_url + "/", params=params)
            page_keys, token = _parse_listing(body, self.describe())
            keys.extend(page_keys)
            if token is None:
                return sorted(keys)


def _parse_listing(body: bytes, source: str) -> tuple[list[str], str | None]:
    """Return the keys of one ListObjectsV2 page and the continuation token, if truncated."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise SourceError(f"{source} sent a listing that is not S3 XML: {exc}") from None
    keys = [el.text or "" for el in root.iter(f"{_NS}Key")]
    truncated = (root.findtext(f"{_NS}IsTruncated") or "false").lower() == "true"
    token = root.findtext(f"{_NS}NextContinuationToken") if truncated else None
    return keys, token
