"""The DANDI Archive as a source: a dandiset version's assets, read by byte ranges.

The archive's REST API (facts and where they come from: docs/dandi.md) lists the assets of a
dandiset version page by page (``/dandisets/{id}/versions/{version}/assets/?metadata=true``);
each asset has a path (``sub-<subject>/sub-<subject>_ses-<session>...nwb``), a size, content
URLs (the API's ``/assets/{id}/download/`` redirect and the blob store's address) and the
SHA-256 digest DANDI publishes. :class:`DandiFetcher` serves those assets behind the same
:class:`~brainobs.storage.fetchers.Fetcher` interface as a bucket, keyed by asset path, and
says what a download must hash to (:meth:`DandiFetcher.expected`).

A listing is fetched once per dandiset version and kept in ``<cache>/dandi/listings/``: a
published version never changes, so its listing is reused without asking; the draft's is
reused while the archive reports the same ``modified`` time and asset count, else fetched
again.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from brainobs.config import TransferSettings
from brainobs.errors import InvalidInputError, SourceError, TransientError, UnknownIdError
from brainobs.storage.atomic import write_atomic
from brainobs.storage.download import Expected
from brainobs.storage.http import _TRANSIENT_STATUS, HTTPTransport, _ResponseStream

DEFAULT_API = "https://api.dandiarchive.org/api"
API_ENV = "BRAINOBS_DANDI_API"
PAGE_SIZE = 1000  # the archive's maximum page size
MAX_JSON_BYTES = 256 << 20  # the largest API answer read (a page of 1,000 assets is ~4 MB)
_DANDISET = re.compile(r"^\d{6}$")
_VERSION = re.compile(r"^(0\.\d{6}\.\d{4}|draft)$")
_ASSET_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def dandi_api(api: str | None = None) -> str:
    """Return the API base address: ``api``, else ``$BRAINOBS_DANDI_API``, else the archive's."""
    value = api or os.environ.get(API_ENV) or DEFAULT_API
    parts = urlsplit(value)
    where = "api=" if api else f"${API_ENV}=" if os.environ.get(API_ENV) else ""
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInputError(
            f"{where}{value!r} is not the http(s) address of a DANDI API; use e.g. "
            f"{DEFAULT_API} (a mirror or test server: its .../api base)."
        )
    if parts.query or parts.fragment or parts.username or parts.password:
        raise InvalidInputError(
            f"{where}{value!r} carries a query, fragment or credentials; give the plain API "
            f"base address, e.g. {DEFAULT_API}."
        )
    return value.rstrip("/")


def check_dandiset(dandiset: str) -> str:
    """Return ``dandiset`` if it is a six-digit dandiset identifier (``000713``)."""
    if not isinstance(dandiset, str) or not _DANDISET.match(dandiset):
        raise InvalidInputError(
            f"{dandiset!r} is not a dandiset identifier: six digits, e.g. '000713'."
        )
    return dandiset


def check_version(version: str) -> str:
    """Return ``version`` if it names a dandiset version (``draft`` or ``0.YYMMDD.HHMM``)."""
    if not isinstance(version, str) or not _VERSION.match(version):
        raise InvalidInputError(
            f"{version!r} is not a dandiset version: 'draft' or a published version such as "
            "'0.240702.1725' (omit it for the most recent published version)."
        )
    return version


@dataclass(frozen=True)
class DandiAsset:
    """One asset of a dandiset version: its path, size, digest and content addresses."""

    asset_id: str
    path: str
    size: int
    sha256: str | None
    content_urls: tuple[str, ...] = ()
    modified: str = ""

    @classmethod
    def from_api(cls, item: Any, source: str) -> DandiAsset:
        """Return the asset an API listing entry (with ``metadata``) describes, validated."""
        if not isinstance(item, dict) or not isinstance(item.get("metadata"), dict):
            raise SourceError(
                f"{source} listed an asset without metadata; brainobs needs a DANDI API that "
                "answers ?metadata=true (the archive's API since 2023)."
            )
        metadata = item["metadata"]
        asset_id, path, size = item.get("asset_id"), item.get("path"), item.get("size")
        if not isinstance(asset_id, str) or not _ASSET_ID.match(asset_id):
            raise SourceError(f"{source} listed an asset with a malformed id {asset_id!r}.")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise SourceError(f"{source} listed asset {path!r} with a bad size {size!r}.")
        digest = metadata.get("digest") if isinstance(metadata.get("digest"), dict) else {}
        sha256 = digest.get("dandi:sha2-256")
        if sha256 is not None and not (isinstance(sha256, str) and _SHA256.match(sha256)):
            raise SourceError(f"{source} gave asset {path!r} a malformed SHA-256 {sha256!r}.")
        urls = metadata.get("contentUrl") or ()
        return cls(
            asset_id=asset_id,
            path=check_asset_path(path, source),
            size=size,
            sha256=sha256,
            content_urls=tuple(u for u in urls if isinstance(u, str)),
            modified=str(item.get("modified", "")),
        )


def check_asset_path(path: Any, source: str) -> str:
    """Return ``path`` if it is a relative asset path that stays inside a dandiset."""
    if (
        not isinstance(path, str)
        or not path
        or path.startswith("/")
        or "\\" in path
        or "\x00" in path
        or any(part in ("", ".", "..") for part in path.split("/"))
    ):
        raise SourceError(f"{source} listed an asset with an unsafe path {path!r}.")
    return path


@dataclass(frozen=True)
class DandiListing:
    """The blob assets of one dandiset version, by path, and the version's change stamp."""

    dandiset: str
    version: str
    modified: str
    assets: Mapping[str, DandiAsset] = field(default_factory=dict)

    def to_json(self) -> bytes:
        """Return the listing as JSON (what the local listing cache stores)."""
        doc = {**asdict(self), "assets": [asdict(a) for a in self.assets.values()]}
        return json.dumps(doc, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, text: bytes) -> DandiListing:
        """Return the listing stored by :meth:`to_json`."""
        doc = json.loads(text)
        assets = [
            DandiAsset(**{**a, "content_urls": tuple(a["content_urls"])}) for a in doc["assets"]
        ]
        return cls(doc["dandiset"], doc["version"], doc["modified"], {a.path: a for a in assets})


class DandiClient:
    """The archive's REST calls brainobs makes: dandiset, version info, asset listing."""

    def __init__(
        self,
        api: str | None = None,
        settings: TransferSettings | None = None,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self.api = dandi_api(api)
        self.transport = HTTPTransport(settings)
        self.page_size = page_size

    def get_json(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        """Return the JSON answer to ``GET {api}/{path}`` (None for 404), retrying transients."""
        settings = self.transport.settings
        for attempt in range(settings.retries + 1):
            try:
                return self._get_json_once(f"{self.api}/{path}", params)
            except TransientError:
                if attempt == settings.retries:
                    raise
                time.sleep(settings.backoff(attempt + 1))
        raise AssertionError("unreachable")  # pragma: no cover

    def _get_json_once(self, url: str, params: Mapping[str, str] | None) -> Any:
        timeout = (self.transport.settings.connect_timeout, self.transport.settings.read_timeout)
        try:
            with self.transport.session.get(url, params=params, timeout=timeout, stream=True) as r:
                if r.status_code == 404:
                    return None
                if r.status_code in _TRANSIENT_STATUS:
                    raise TransientError(f"{url} answered {r.status_code}; will retry.")
                if r.status_code >= 400:
                    raise SourceError(f"{url} answered {r.status_code} {r.reason}.")
                body = _read_bounded(r.iter_content(1 << 20), url)
        except requests.RequestException as exc:
            raise TransientError(f"Could not read {url}: {exc}") from exc
        try:
            return json.loads(body)
        except ValueError:
            raise SourceError(f"{url} did not answer JSON; is {self.api} a DANDI API?") from None

    def dandiset(self, dandiset: str) -> dict[str, Any]:
        """Return the dandiset's record (its draft and most recent published version)."""
        doc = self.get_json(f"dandisets/{check_dandiset(dandiset)}/")
        if not isinstance(doc, dict):
            raise UnknownIdError(
                f"Dandiset {dandiset} is not on {self.api}. Check the number "
                f"(https://dandiarchive.org/dandiset/{dandiset}) or the API address "
                f"(${API_ENV})."
            )
        return doc

    def latest_version(self, dandiset: str) -> str:
        """Return the most recent published version of ``dandiset``, else ``draft``."""
        published = self.dandiset(dandiset).get("most_recent_published_version")
        return str(published["version"]) if isinstance(published, dict) else "draft"

    def versions(self, dandiset: str) -> list[str]:
        """Return the names of the dandiset's versions, oldest first."""
        return [str(v.get("version")) for v in self._pages(f"dandisets/{dandiset}/versions/", {})]

    def version_info(self, dandiset: str, version: str) -> dict[str, Any]:
        """Return the version's record (``modified``, ``asset_count``, ``status``...)."""
        path = f"dandisets/{check_dandiset(dandiset)}/versions/{check_version(version)}/info/"
        doc = self.get_json(path)
        if isinstance(doc, dict):
            return doc
        self.dandiset(dandiset)  # raises when the dandiset itself is unknown
        known = ", ".join(self.versions(dandiset)) or "none"
        raise UnknownIdError(
            f"Dandiset {dandiset} has no version {version!r} on {self.api}; its versions: "
            f"{known}. Pass one of them (--dandiset-version), or none for the latest."
        )

    def list_assets(self, dandiset: str, version: str) -> list[DandiAsset]:
        """Return every blob asset of the version (zarr assets are left out), by path order."""
        source = f"DANDI {dandiset}/{version} at {self.api}"
        params = {"metadata": "true", "order": "path", "page_size": str(self.page_size)}
        path = f"dandisets/{dandiset}/versions/{version}/assets/"
        items = list(self._pages(path, params, check_count=True))
        return [
            DandiAsset.from_api(i, source) for i in items if isinstance(i, dict) and i.get("blob")
        ]

    def _pages(
        self, path: str, params: Mapping[str, str], check_count: bool = False
    ) -> Iterator[Any]:
        """Yield the results of every page of a paginated endpoint, following ``next``."""
        page, seen, count = 1, 0, None
        while True:
            doc = self.get_json(path, {**params, "page": str(page)})
            if not isinstance(doc, dict) or not isinstance(doc.get("results"), list):
                raise SourceError(f"{self.api}/{path} did not answer a page of results.")
            count = doc.get("count") if page == 1 else count
            seen += len(doc["results"])
            yield from doc["results"]
            next_page = _next_page(doc.get("next"), page, f"{self.api}/{path}")
            if next_page is None:
                break
            page = next_page
        if check_count and isinstance(count, int) and count != seen:
            raise ListingChangedError(
                f"{self.api}/{path} listed {seen} assets where its first page announced {count}."
            )


class ListingChangedError(TransientError):
    """A listing whose pages disagree: the version changed while it was being read."""


def _next_page(link: Any, page: int, url: str) -> int | None:
    """Return the page number a ``next`` link points to (None at the end).

    Only the page number is taken from the link: the next request goes to the configured API,
    whatever host the server wrote into the link.
    """
    if not link:
        return None
    values = parse_qs(urlsplit(str(link)).query).get("page", [])
    if len(values) != 1 or not values[0].isdigit() or int(values[0]) <= page:
        raise SourceError(f"{url} gave a malformed next-page link {link!r}.")
    return int(values[0])


def _read_bounded(chunks: Iterator[bytes], url: str) -> bytes:
    """Return the concatenated ``chunks``; refuse answers larger than MAX_JSON_BYTES."""
    body = bytearray()
    for chunk in chunks:
        body += chunk
        if len(body) > MAX_JSON_BYTES:
            raise SourceError(f"{url} answered more than {MAX_JSON_BYTES} bytes; refusing it.")
    return bytes(body)


class ListingCache:
    """Asset listings kept on disk, one JSON file per API, dandiset and version."""

    def __init__(self, root: Path, api: str) -> None:
        tag = hashlib.blake2b(api.encode(), digest_size=6).hexdigest()
        host = re.sub(r"[^A-Za-z0-9.-]", "_", urlsplit(api).netloc)
        self.folder = root / "dandi" / "listings" / f"{host}-{tag}"

    def path(self, dandiset: str, version: str) -> Path:
        """Return the file holding the listing of ``dandiset`` ``version``."""
        return self.folder / check_dandiset(dandiset) / f"{check_version(version)}.json"

    def load(self, dandiset: str, version: str) -> DandiListing | None:
        """Return the stored listing, or None when absent or unreadable."""
        try:
            return DandiListing.from_json(self.path(dandiset, version).read_bytes())
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def save(self, listing: DandiListing) -> None:
        """Store ``listing`` (atomically)."""
        path = self.path(listing.dandiset, listing.version)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, listing.to_json())


def fetch_listing(
    client: DandiClient, dandiset: str, version: str, cache: ListingCache | None = None
) -> DandiListing:
    """Return the listing of ``dandiset`` ``version``: from the cache when still valid.

    A published version's cached listing is used without a request; the draft's only while
    the archive reports the same ``modified`` time and asset count.
    """
    cached = cache.load(dandiset, version) if cache else None
    if cached is not None and version != "draft":
        return cached
    info = client.version_info(dandiset, version)
    if cached is not None and _stamp(info) == (cached.modified, len(cached.assets)):
        return cached
    for _attempt in range(3):
        try:
            assets = client.list_assets(dandiset, version)
        except ListingChangedError:
            assets = None
        after = client.version_info(dandiset, version) if version == "draft" else info
        if assets is not None and after.get("modified") == info.get("modified"):
            listing = DandiListing(
                dandiset, version, str(info.get("modified")), {a.path: a for a in assets}
            )
            if cache is not None:
                cache.save(listing)
            return listing
        info = after  # the version changed while it was listed: list it again
    raise SourceError(
        f"DANDI {dandiset}/{version} kept changing while brainobs listed it; try again later "
        "or use a published version."
    )


def _stamp(info: Mapping[str, Any]) -> tuple[str, int | None]:
    """Return what identifies a version's state: its ``modified`` time and asset count."""
    count = info.get("asset_count")
    return str(info.get("modified")), count if isinstance(count, int) else None


class DandiFetcher:
    """Serves the assets of one dandiset version, keyed by asset path, by byte ranges.

    ``version`` is ``"draft"``, a published version (``0.240702.1725``) or None for the most
    recent published one. ``api`` (else ``$BRAINOBS_DANDI_API``) points at a mirror or a test
    server. Bytes are read from the blob store's address in each asset's ``contentUrl``; with
    ``redirect`` (or when an asset has no such address) through the API's
    ``/assets/{id}/download/`` redirect. ``cache_dir`` keeps listings between runs.
    """

    def __init__(
        self,
        dandiset: str,
        version: str | None = None,
        *,
        api: str | None = None,
        settings: TransferSettings | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        redirect: bool = False,
    ) -> None:
        self.dandiset = check_dandiset(dandiset)
        self.version = check_version(version) if version is not None else None
        self.client = DandiClient(api, settings)
        self.redirect = redirect
        self._cache = ListingCache(Path(cache_dir), self.client.api) if cache_dir else None
        self._listing: DandiListing | None = None
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        """Pickle everything but the lock (the listing travels with the fetcher)."""
        return {k: v for k, v in self.__dict__.items() if k != "_lock"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"DandiFetcher({self.dandiset!r}, {self.version!r}, api={self.api!r})"

    @property
    def api(self) -> str:
        """Return the API base address."""
        return self.client.api

    @property
    def transport(self) -> HTTPTransport:
        """Return the HTTP transport (its settings are the fetcher's transfer settings)."""
        return self.client.transport

    def describe(self) -> str:
        """Return a short description of the source."""
        version = self.version or "latest published version"
        return f"DANDI dandiset {self.dandiset} {version} ({self.api})"

    @property
    def listing(self) -> DandiListing:
        """Return the version's listing (fetched, or read from the cache, on first use)."""
        with self._lock:
            if self._listing is None:
                if self.version is None:
                    self.version = self.client.latest_version(self.dandiset)
                self._listing = fetch_listing(self.client, self.dandiset, self.version, self._cache)
            return self._listing

    def asset(self, key: str) -> DandiAsset:
        """Return the asset at path ``key``; raise SourceError naming it when there is none."""
        listing = self.listing
        try:
            return listing.assets[key]
        except KeyError:
            raise SourceError(
                f"{key!r} is not an asset of {self.describe()} ({len(listing.assets)} assets); "
                "list them with fetcher.list_keys('')."
            ) from None

    def expected(self, key: str) -> Expected:
        """Return what a download of ``key`` must be: DANDI's SHA-256 and the asset's size."""
        asset = self.asset(key)
        if asset.sha256 is None:
            raise SourceError(
                f"DANDI has not published a SHA-256 of {key} yet (it computes digests after "
                "upload), so it cannot be verified; try again later or use a published version."
            )
        return Expected(asset.sha256, asset.size, algorithm="sha256")

    def content_url(self, asset: DandiAsset) -> str:
        """Return the address the bytes of ``asset`` are read from."""
        download = f"{self.api}/assets/{asset.asset_id}/download/"
        if not self.redirect:
            for url in asset.content_urls:
                if url.startswith(("https://", "http://")) and not _is_download_url(url, asset):
                    return url
        return download

    def size(self, key: str, version_id: str | None = None) -> int:
        """Return the size in bytes of asset ``key`` (from the listing)."""
        return self.asset(key).size

    def open(self, key: str, version_id: str | None = None, start: int = 0) -> _ResponseStream:
        """Return a stream of asset ``key`` from byte ``start``."""
        return self.transport.open(self.content_url(self.asset(key)), None, start)

    def read_range(self, key: str, start: int, stop: int, version_id: str | None = None) -> bytes:
        """Return bytes ``[start, stop)`` of asset ``key``."""
        return self.transport.read_range(self.content_url(self.asset(key)), None, start, stop)

    def list_keys(self, prefix: str) -> list[str]:
        """Return the path of every asset under ``prefix``, sorted."""
        return sorted(p for p in self.listing.assets if p.startswith(prefix))


def _is_download_url(url: str, asset: DandiAsset) -> bool:
    """Return whether ``url`` is an API download address (which redirects) of ``asset``."""
    return urlsplit(url).path.rstrip("/").endswith(f"/assets/{asset.asset_id}/download")
