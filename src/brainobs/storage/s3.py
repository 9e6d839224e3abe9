"""Anonymous (unsigned) reads over the S3 protocol: AWS public buckets or any S3 mirror.

Public Allen Institute buckets accept unsigned requests, which are plain HTTP GETs, so this
fetcher speaks the S3 REST protocol (GetObject with ``versionId`` and Range, ListObjectsV2
with continuation tokens) over the same HTTP transport as :mod:`brainobs.storage.http`,
instead of pulling in boto3 (~80 MB) to send unsigned requests.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import quote

from brainobs import config
from brainobs.config import TransferSettings
from brainobs.errors import SourceError
from brainobs.storage.http import HTTPTransport, _ResponseStream

_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


class S3Fetcher:
    """Serves objects of ``bucket`` over the S3 protocol, without credentials.

    ``endpoint`` (argument, else ``$BRAINOBS_S3_ENDPOINT``) points at a mirror or a test
    server and uses path-style addresses (``{endpoint}/{bucket}/{key}``); without it,
    AWS's virtual-hosted address ``https://{bucket}.s3.{region}.amazonaws.com`` is used.
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
            self.bucket_url = f"{self.endpoint.rstrip('/')}/{bucket}"
        else:
            self.bucket_url = f"https://{bucket}.s3.{region}.amazonaws.com"
        self.transport = HTTPTransport(settings)

    def __repr__(self) -> str:
        return f"S3Fetcher({self.bucket!r}, endpoint={self.endpoint!r})"

    def describe(self) -> str:
        """Return a short description of the source."""
        return f"s3://{self.bucket}" + (f" at {self.endpoint}" if self.endpoint else "")

    def url_of(self, key: str) -> str:
        """Return the HTTP address of ``key``."""
        return f"{self.bucket_url}/{quote(key)}"

    @staticmethod
    def _params(version_id: str | None) -> dict[str, str] | None:
        return {"versionId": version_id} if version_id else None

    def size(self, key: str, version_id: str | None = None) -> int:
        """Return the size in bytes of ``key``."""
        return self.transport.head_size(self.url_of(key), self._params(version_id))

    def open(self, key: str, version_id: str | None = None, start: int = 0) -> _ResponseStream:
        """Return a stream of ``key`` from byte ``start``."""
        return self.transport.open(self.url_of(key), self._params(version_id), start)

    def read_range(self, key: str, start: int, stop: int, version_id: str | None = None) -> bytes:
        """Return bytes ``[start, stop)`` of ``key``."""
        return self.transport.read_range(self.url_of(key), self._params(version_id), start, stop)

    def list_keys(self, prefix: str) -> list[str]:
        """Return every key under ``prefix`` (ListObjectsV2, following continuation tokens)."""
        keys: list[str] = []
        token: str | None = None
        while True:
            params = {"list-type": "2", "prefix": prefix}
            if token:
                params["continuation-token"] = token
            response = self.transport.get(self.bucket_url + "/", params=params, stream=False)
            page_keys, token = _parse_listing(response.content, self.describe())
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
