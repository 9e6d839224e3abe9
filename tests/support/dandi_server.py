"""A loopback DANDI Archive: the REST endpoints brainobs uses, served from a folder.

The folder is a dandiset laid out by :func:`brainobs.sample.dandiset.write_dandiset` (records
under ``dandisets/``, bytes under ``blobs/``). Answers follow the archive's API
(docs/dandi.md): dandiset and version records, asset listings paged like the archive's
(``count`` on the first page only, ``next`` links, ``page_size`` at most 1000,
``metadata=true``), asset metadata, the ``/assets/{id}/download/`` redirect, and the blobs with
Range support and the fault injection of :mod:`tests.support.range_server` (drop, stall, 5xx,
truncation, corruption). It binds 127.0.0.1 only.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from datetime import datetime, timezone
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from brainobs.sample.dandiset import asset_entry, blob_key
from tests.support.range_server import Fault, RangeServer, ServerState, _AlwaysThrottle, _Handler

_DANDISET = re.compile(r"^api/dandisets/(\d{6})/$")
_VERSIONS = re.compile(r"^api/dandisets/(\d{6})/versions/$")
_INFO = re.compile(r"^api/dandisets/(\d{6})/versions/([^/]+)/info/$")
_ASSETS = re.compile(r"^api/dandisets/(\d{6})/versions/([^/]+)/assets/$")
_ASSET = re.compile(r"^api/assets/([0-9a-f-]{36})/$")
_DOWNLOAD = re.compile(r"^api/assets/([0-9a-f-]{36})/download/$")
MAX_PAGE_SIZE = 1000


class _DandiHandler(_Handler):
    server_version = "brainobs-dandi-test/1"

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        key = parts.path.lstrip("/")
        if not key.startswith("api/"):
            super().do_GET()  # a blob, with Range and faults
            return
        with self.state.lock:
            self.state.requests.append((key, None))
        fault = self.state.next_fault(key)
        if fault is not None and fault.kind == "drop":
            self.close_connection = True
            return
        if fault is not None and fault.kind == "status":
            self._send_status(fault.status)
            return
        self._answer(key, parse_qs(parts.query))

    def _answer(self, key: str, query: dict[str, list[str]]) -> None:
        archive: DandiServer = self.server.archive  # type: ignore[attr-defined]
        if match := _DOWNLOAD.match(key):
            entry = archive.find_asset(match[1])
            if entry is None:
                self._send_json(404, {"detail": "Not found."}, key)
                return
            self.send_response(302)
            self.send_header("Location", f"{archive.url}/{blob_key(entry['blob'])}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        status, doc = archive.route(key, query)
        self._send_json(status, doc, key)

    def _send_json(self, status: int, doc: Any, key: str) -> None:
        archive: DandiServer = self.server.archive  # type: ignore[attr-defined]
        body = json.dumps(doc).replace("{server}", archive.url).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self._send(key, memoryview(body))


class DandiServer(RangeServer):
    """Serve the dandisets laid out in ``root`` on 127.0.0.1; use as a context manager.

    ``redirect_only`` leaves the blob address out of each asset's ``contentUrl``, so clients
    must follow the API's download redirect.
    """

    def __init__(self, root: Path, redirect_only: bool = False) -> None:
        self.state = ServerState(Path(root))
        self.redirect_only = redirect_only
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _DandiHandler)
        self._httpd.daemon_threads = True
        self._httpd.state = self.state  # type: ignore[attr-defined]
        self._httpd.archive = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._edit = threading.Lock()

    @property
    def api_url(self) -> str:
        """Return the API base address (what BRAINOBS_DANDI_API takes)."""
        return f"{self.url}/api"

    # --- the archive's records ---------------------------------------------------------------
    def _folder(self, dandiset: str) -> Path:
        return self.state.root / "dandisets" / dandiset

    def version_names(self, dandiset: str) -> list[str]:
        """Return the dandiset's versions: draft first, then published ones in order."""
        names = sorted(p.stem for p in (self._folder(dandiset) / "versions").glob("*.json"))
        return sorted(names, key=lambda v: (v != "draft", v))

    def version(self, dandiset: str, version: str) -> dict[str, Any] | None:
        """Return the stored record of a version (with its assets), or None."""
        path = self._folder(dandiset) / "versions" / f"{version}.json"
        if not re.fullmatch(r"draft|0\.\d{6}\.\d{4}", version) or not path.is_file():
            return None
        doc = dict(json.loads(path.read_text()))
        if self.redirect_only:
            for asset in doc["assets"]:
                urls = asset["metadata"]["contentUrl"]
                asset["metadata"]["contentUrl"] = [u for u in urls if "/api/" in u]
        return doc

    def _info(self, dandiset: str, version: str) -> dict[str, Any] | None:
        doc = self.version(dandiset, version)
        if doc is None:
            return None
        info = {k: v for k, v in doc.items() if k != "assets"}
        return {**info, "dandiset": self._dandiset_record(dandiset)}

    def _dandiset_record(self, dandiset: str) -> dict[str, Any]:
        return dict(json.loads((self._folder(dandiset) / "dandiset.json").read_text()))

    def find_asset(self, asset_id: str) -> dict[str, Any] | None:
        """Return the listing entry of the asset with id ``asset_id`` in any version."""
        for folder in (self.state.root / "dandisets").glob("*"):
            for version in self.version_names(folder.name):
                for asset in (self.version(folder.name, version) or {}).get("assets", []):
                    if asset["asset_id"] == asset_id:
                        return dict(asset)
        return None

    def route(self, key: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        """Return the status and JSON answer of API path ``key``."""
        not_found = (404, {"detail": "Not found."})
        if match := _DANDISET.match(key):
            if not self._folder(match[1]).is_dir():
                return not_found
            return 200, self._dandiset_detail(match[1])
        if match := _VERSIONS.match(key):
            if not self._folder(match[1]).is_dir():
                return not_found
            infos = [self._info(match[1], v) for v in self.version_names(match[1])]
            return 200, self._page(key, query, [i for i in infos if i], first_only=False)
        if match := _INFO.match(key):
            info = self._info(match[1], match[2])
            return (200, info) if info else not_found
        if match := _ASSETS.match(key):
            doc = self.version(match[1], match[2])
            if doc is None:
                return not_found
            assets = doc["assets"]
            if query.get("metadata", ["false"])[0].lower() != "true":
                assets = [{k: v for k, v in a.items() if k != "metadata"} for a in assets]
            return 200, self._page(key, query, assets, first_only=True)
        if match := _ASSET.match(key):
            entry = self.find_asset(match[1])
            return (200, entry["metadata"]) if entry else not_found
        return not_found

    def _dandiset_detail(self, dandiset: str) -> dict[str, Any]:
        versions = self.version_names(dandiset)
        published = [v for v in versions if v != "draft"]
        record = self._dandiset_record(dandiset)
        record["draft_version"] = self._info(dandiset, "draft") if "draft" in versions else None
        latest = self._info(dandiset, published[-1]) if published else None
        record["most_recent_published_version"] = latest
        return record

    def _page(
        self, key: str, query: dict[str, list[str]], items: list[Any], first_only: bool
    ) -> dict[str, Any]:
        """Return one page of ``items`` as the archive pages (count on page 1 only)."""
        page = int(query.get("page", ["1"])[0])
        size = min(int(query.get("page_size", ["100"])[0]), MAX_PAGE_SIZE)
        chunk = items[(page - 1) * size : page * size]

        def link(number: int) -> str:
            params = {k: v[0] for k, v in query.items()}
            return f"{self.url}/{key}?{urlencode({**params, 'page': str(number)})}"

        return {
            "count": len(items) if page == 1 or not first_only else None,
            "next": link(page + 1) if page * size < len(items) else None,
            "previous": link(page - 1) if page > 1 else None,
            "results": chunk,
        }

    # --- what tests do to the archive --------------------------------------------------------
    def blob_key(self, dandiset: str, version: str, asset_path: str) -> str:
        """Return the served key of the blob holding ``asset_path`` (to inject faults)."""
        doc = self.version(dandiset, version) or {"assets": []}
        entry = next(a for a in doc["assets"] if a["path"] == asset_path)
        return blob_key(entry["blob"])

    def inject_asset(self, dandiset: str, version: str, asset_path: str, *faults: Fault) -> None:
        """Inject ``faults`` into the next GETs of an asset's bytes."""
        self.inject(self.blob_key(dandiset, version, asset_path), *faults)

    def replace_draft_asset(self, dandiset: str, asset_path: str, data: bytes) -> dict[str, Any]:
        """Give the draft's ``asset_path`` new bytes, as an upload does (a new asset and blob,
        a new ``modified`` time); return the new listing entry."""
        with self._edit:
            record_path = self._folder(dandiset) / "versions" / "draft.json"
            doc = json.loads(record_path.read_text())
            staging = self.state.root / "_upload.tmp"
            staging.write_bytes(data)
            entry = asset_entry(asset_path, staging, hashlib.sha256(data).hexdigest(), dandiset)
            target = self.state.root / blob_key(entry["blob"])
            target.parent.mkdir(parents=True, exist_ok=True)
            staging.replace(target)
            doc["assets"] = [a for a in doc["assets"] if a["path"] != asset_path] + [entry]
            doc["assets"].sort(key=lambda a: a["path"])
            doc["modified"] = datetime.now(timezone.utc).isoformat()
            doc["asset_count"] = len(doc["assets"])
            record_path.write_text(json.dumps(doc, indent=1))
            return dict(entry)

    def set_draft_digest(self, dandiset: str, asset_path: str, sha256: str) -> None:
        """Make the draft publish ``sha256`` as ``asset_path``'s digest (a wrong one, in tests);
        like any metadata change, it gives the draft a new ``modified`` time."""
        with self._edit:
            record_path = self._folder(dandiset) / "versions" / "draft.json"
            doc = json.loads(record_path.read_text())
            for asset in doc["assets"]:
                if asset["path"] == asset_path:
                    asset["metadata"]["digest"]["dandi:sha2-256"] = sha256
            doc["modified"] = datetime.now(timezone.utc).isoformat()
            record_path.write_text(json.dumps(doc, indent=1))

    def api_requests(self, fragment: str = "") -> list[str]:
        """Return the API paths requested so far (those containing ``fragment``)."""
        with self.state.lock:
            return [k for k, _ in self.state.requests if k.startswith("api/") and fragment in k]


def main() -> None:
    """Serve a dandiset folder from the command line (used by the download benchmark)."""
    import argparse
    import sys

    parser = argparse.ArgumentParser()
    parser.add_argument("root")
    parser.add_argument("--throttle", type=float, default=0.0, help="bytes/s for every blob GET")
    args = parser.parse_args()
    server = DandiServer(Path(args.root))
    if args.throttle:
        server.state.faults = _AlwaysThrottle(args.throttle)  # type: ignore[assignment]
    with server:
        print(server.url, flush=True)
        sys.stdin.read()
    sent = server.state.bytes_sent
    api = sum(n for k, n in sent.items() if k.startswith("api/"))
    blobs = sum(n for k, n in sent.items() if k.startswith("blobs/"))
    print(json.dumps({"api": api, "blobs": blobs, "other": sum(sent.values()) - api - blobs}))


if __name__ == "__main__":
    main()
