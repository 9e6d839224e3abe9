"""A loopback HTTP server that misbehaves on purpose: it binds 127.0.0.1 only.

Modes (``server.mode``):
  ``oversend``  the file, then ``extra`` more bytes, with no Content-Length (closes at the end)
  ``bigger``    the file with a Content-Length ``extra`` bytes larger than the file
  ``endless``   an endless body with no Content-Length
  ``norange``   the whole file with status 200 whatever Range asks for
  ``nolength``  the file with no Content-Length (closes at the end)
Every request and every body byte sent is counted.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        owner: HostileServer = self.server.owner  # type: ignore[attr-defined]
        key = unquote(urlparse(self.path).path).lstrip("/")
        with owner.lock:
            owner.requests.append((key, self.headers.get("Range")))
        path = owner.root / key
        if owner.mode != "endless" and not path.is_file():
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        data = path.read_bytes() if path.is_file() else b""
        if owner.mode in ("norange", "bigger"):
            self.send_header(
                "Content-Length", str(len(data) + (owner.extra if owner.mode == "bigger" else 0))
            )
        self.end_headers()
        if owner.mode == "endless":
            self._send_forever(owner)
            return
        self._send(owner, data)
        if owner.mode == "oversend":
            block = b"\0" * (1 << 16)
            for _ in range(owner.extra // len(block)):
                if not self._send(owner, block):
                    return

    def _send_forever(self, owner: HostileServer) -> None:
        block = b'{"x": ' * (1 << 14)
        while self._send(owner, block):
            pass

    def _send(self, owner: HostileServer, data: bytes) -> bool:
        try:
            self.wfile.write(data)
        except OSError:
            return False
        with owner.lock:
            owner.bytes_sent += len(data)
        return True


class HostileServer:
    """Serve ``root`` on 127.0.0.1 in ``mode``; use as a context manager."""

    def __init__(self, root: Path, mode: str = "norange", extra: int = 64 << 20) -> None:
        self.root = Path(root)
        self.mode = mode
        self.extra = extra
        self.requests: list[tuple[str, str | None]] = []
        self.bytes_sent = 0
        self.lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.owner = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
