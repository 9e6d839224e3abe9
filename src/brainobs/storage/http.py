"""HTTP(S) transport with Range requests, and a fetcher for plain HTTPS mirrors.

Every body is read with a bound: a byte range up to its length, a listing or other small
answer up to :data:`MAX_SMALL_BODY`. Whether a source honours Range requests is learnt once:
a server that answers a ranged read with the whole file is remembered, and every later ranged
read of it fails at once with a :class:`~brainobs.errors.SourceError` (rather than fetching
the whole file again for every block).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Mapping
from urllib.parse import quote, urlsplit

import requests
import urllib3

from brainobs.config import TransferSettings
from brainobs.errors import SourceError, TransientError

_TRANSIENT_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")
#: The largest small answer read whole (an S3 listing page is under 1 MB).
MAX_SMALL_BODY = 16 << 20


class _ResponseStream:
    """The body of one GET, from the offset the server actually answered with."""

    def __init__(self, response: requests.Response, url: str, offset: int, total: int | None):
        self._response = response
        self._url = url
        self._offset = offset
        self._total = total

    @property
    def offset(self) -> int:
        return self._offset

    @property
    def total_size(self) -> int | None:
        return self._total

    def chunks(self, chunk_size: int) -> Iterator[bytes]:
        raw = self._response.raw
        # read1 hands over whatever has arrived, so bytes received before a stall or a drop
        # are kept (and the transfer resumes after them) instead of lost inside read().
        read = raw.read1 if hasattr(raw, "read1") else raw.read
        try:
            while True:
                block = read(chunk_size)
                if not block:
                    return
                yield block
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise TransientError(f"Transfer of {self._url} broke off: {exc}") from exc

    def close(self) -> None:
        self._response.close()


class HTTPTransport:
    """GETs with timeouts and byte ranges; maps failures onto brainobs errors."""

    def __init__(self, settings: TransferSettings | None = None) -> None:
        self.settings = settings or TransferSettings.from_env()
        self._local = threading.local()
        self._ignores_ranges: set[str] = set()  # servers found to answer ranges with 200

    def __getstate__(self) -> dict[str, object]:
        """Pickle the settings only: connection pools are per process (and per thread)."""
        return {"settings": self.settings}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__init__(state["settings"])  # type: ignore[misc]

    @property
    def session(self) -> requests.Session:
        """Return this thread's connection pool (requests sessions are not thread-safe)."""
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            self._local.session = session
        return session

    def get(
        self,
        url: str,
        params: Mapping[str, str] | None = None,
        start: int = 0,
        stop: int | None = None,
        stream: bool = True,
    ) -> requests.Response:
        """Return the response to a GET of ``url`` (bytes ``[start, stop)`` when ranged)."""
        headers = {"Accept-Encoding": "identity"}
        if start or stop is not None:
            last = "" if stop is None else str(stop - 1)
            headers["Range"] = f"bytes={start}-{last}"
        timeout = (self.settings.connect_timeout, self.settings.read_timeout)
        try:
            response = self.session.get(
                url, params=params, headers=headers, stream=stream, timeout=timeout
            )
        except requests.RequestException as exc:
            raise TransientError(f"Could not reach {url}: {exc}") from exc
        self._raise_for_status(response, url)
        return response

    def head_size(self, url: str, params: Mapping[str, str] | None = None) -> int:
        """Return the object size the server reports for ``url``."""
        response = self.get(url, params=params, start=0, stop=1)
        response.close()
        if response.status_code == 200:
            self._ignores_ranges.add(_server_of(url))
        total = _total_from_headers(response.headers)
        if total is None:
            raise SourceError(f"{url} does not report its size (no Content-Range).")
        return total

    def open(self, url: str, params: Mapping[str, str] | None, start: int) -> _ResponseStream:
        """Return a stream of ``url`` from byte ``start``."""
        response = self.get(url, params=params, start=start)
        if response.status_code == 416:
            response.close()
            return _ResponseStream(response, url, start, start)
        if response.status_code == 206:
            match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
            offset = int(match.group(1)) if match else start
        else:
            offset = 0  # the server ignored the Range header: the body starts at byte 0
        total = _total_from_headers(response.headers)
        response.raw.decode_content = False
        return _ResponseStream(response, url, offset, total)

    def read_range(
        self, url: str, params: Mapping[str, str] | None, start: int, stop: int
    ) -> bytes:
        """Return bytes ``[start, stop)`` of ``url`` (never more than ``stop - start``)."""
        if stop <= start:
            return b""
        if _server_of(url) in self._ignores_ranges:
            raise _no_ranges_error(url)
        response = self.get(url, params=params, start=start, stop=stop)
        if response.status_code == 416:
            response.close()
            return b""
        whole = response.status_code == 200 and start == 0
        if response.status_code != 206 and not (whole and _length(response) == stop):
            response.close()
            self._ignores_ranges.add(_server_of(url))
            raise _no_ranges_error(url)
        match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
        if match is not None and int(match.group(1)) != start:
            response.close()
            raise TransientError(f"{url} answered a range from {match.group(1)}, not {start}.")
        return read_body(response, stop - start, url)

    def read_small(self, url: str, params: Mapping[str, str] | None = None) -> bytes:
        """Return the whole (small) answer to a GET of ``url``, at most MAX_SMALL_BODY."""
        return read_body(self.get(url, params=params), MAX_SMALL_BODY, url)

    @staticmethod
    def _raise_for_status(response: requests.Response, url: str) -> None:
        status = response.status_code
        if status < 400 or status == 416:
            return
        response.close()
        if status in _TRANSIENT_STATUS:
            raise TransientError(f"{url} answered {status} {response.reason} (temporary).")
        if status == 404:
            raise SourceError(f"{url} does not exist (404).")
        raise SourceError(f"{url} answered {status} {response.reason}.")


def _total_from_headers(headers: Mapping[str, str]) -> int | None:
    """Return the full object size from Content-Range, else Content-Length (None: not said)."""
    match = _CONTENT_RANGE.match(headers.get("Content-Range", ""))
    if match and match.group(3) != "*":
        return int(match.group(3))
    length = headers.get("Content-Length", "")
    if "Content-Range" not in headers and length.isdigit():
        return int(length)
    return None


def _length(response: requests.Response) -> int | None:
    """Return the Content-Length of ``response`` (None when absent or not a number)."""
    length = response.headers.get("Content-Length", "")
    return int(length) if length.isdigit() else None


def _server_of(url: str) -> str:
    """Return the scheme and host of ``url``: what "a source" means for Range support."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _no_ranges_error(url: str) -> SourceError:
    return SourceError(
        f"{_server_of(url)} ignores Range requests (it answers a request for part of {url} "
        "with the whole file), so files cannot be read from it by byte ranges. Download the "
        "files instead (leave out --stream / stream=True), or use a server with Range support."
    )


def read_body(response: requests.Response, limit: int, url: str) -> bytes:
    """Return the body of ``response``; raise SourceError if it holds more than ``limit``."""
    body = bytearray()
    try:
        raw = response.raw
        raw.decode_content = False
        while block := raw.read(min(1 << 20, limit + 1 - len(body))):
            body += block
            if len(body) > limit:
                raise SourceError(
                    f"{url} sent more than the {limit:,} bytes asked for; the server is "
                    "misbehaving. Try another source."
                )
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
        if isinstance(exc, SourceError):
            raise
        raise TransientError(f"Transfer of {url} broke off: {exc}") from exc
    finally:
        response.close()
    return bytes(body)


class HTTPFetcher:
    """Serves ``<base_url>/<key>`` from any HTTP(S) server that honours Range requests.

    Object versions are sent as ``?versionId=`` (what S3's HTTPS interface understands;
    plain servers ignore it). ``query`` is added to every address (a signed URL's
    signature). Plain servers cannot list keys.
    """

    def __init__(
        self, base_url: str, settings: TransferSettings | None = None, query: str = ""
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.query = query
        self.transport = HTTPTransport(settings)

    def __repr__(self) -> str:
        return f"HTTPFetcher({self.base_url!r})"

    def describe(self) -> str:
        """Return a short description of the source."""
        return f"HTTP server {self.base_url}"

    def url_of(self, key: str) -> str:
        """Return the URL of ``key``."""
        url = f"{self.base_url}/{quote(key)}"
        return f"{url}?{self.query}" if self.query else url

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
        """Plain HTTP has no listing: raise, saying how to name a manifest instead."""
        raise SourceError(
            f"{self.describe()} cannot list files, so manifests cannot be discovered there. "
            "Name the manifest version explicitly (--manifest VERSION), or use an S3 source."
        )
