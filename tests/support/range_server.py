"""A loopback HTTP server that serves a folder with Range support and injected faults.

Used by the fetcher conformance suite, the fault-injection suite and the download benchmark.
It binds 127.0.0.1 only.
"""

from __future__ import annotations

import re
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

_RANGE = re.compile(r"bytes=(\d+)-(\d*)")


@dataclass
class Fault:
    """What to do to the next ``times`` GETs of one key.

    kind: ``status`` (answer ``status``), ``drop`` (close after ``after`` bytes),
    ``stall`` (go silent for ``seconds`` after ``after`` bytes), ``truncate`` (serve only
    ``after`` bytes, with a matching Content-Length), ``corrupt`` (flip the byte at ``after``),
    ``throttle`` (send at ``rate`` bytes/s).
    """

    kind: str
    times: int = 1
    after: int = 0
    status: int = 503
    seconds: float = 5.0
    rate: float = 1e6


@dataclass
class ServerState:
    root: Path
    faults: dict[str, list[Fault]] = field(default_factory=dict)
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    bytes_sent: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_fault(self, key: str) -> Fault | None:
        with self.lock:
            queue = self.faults.get(key, [])
            while queue and queue[0].times <= 0:
                queue.pop(0)
            if not queue:
                return None
            queue[0].times -= 1
            return queue[0]


class _Handler(BaseHTTPRequestHandler):
    server_version = "brainobs-test/1"
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    @property
    def state(self) -> ServerState:
        return self.server.state  # type: ignore[attr-defined,no-any-return]

    def do_GET(self) -> None:
        key = unquote(urlparse(self.path).path).lstrip("/")
        header = self.headers.get("Range")
        with self.state.lock:
            self.state.requests.append((key, header))
        path = (self.state.root / key).resolve()
        if not path.is_file() or not path.is_relative_to(self.state.root.resolve()):
            self._send_status(404)
            return
        fault = self.state.next_fault(key)
        if fault and fault.kind == "status":
            self._send_status(fault.status)
            return
        if fault is None:
            self._send_file(key, path, header)
            return
        data = path.read_bytes()
        self._send_body(key, data, header, fault)

    def _send_file(self, key: str, path: Path, header: str | None) -> None:
        """Serve ``path`` (or its requested range) with sendfile: the fast, fault-free path."""
        size = path.stat().st_size
        match = _RANGE.match(header or "")
        start = int(match.group(1)) if match else 0
        stop = min(size, int(match.group(2)) + 1) if match and match.group(2) else size
        if match and start >= size:
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{size}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(206 if match else 200)
        if match:
            self.send_header("Content-Range", f"bytes {start}-{stop - 1}/{size}")
        self.send_header("Content-Length", str(stop - start))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        # Counted before sending: a client can hold the bytes (and read the counter) before
        # sendfile returns here. A failed send is taken back.
        self._count(key, stop - start)
        with path.open("rb") as handle:
            try:
                sent = self.connection.sendfile(handle, start, stop - start)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True
                sent = 0
        self._count(key, sent - (stop - start))

    def _send_status(self, status: int) -> None:
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _send_body(self, key: str, data: bytes, header: str | None, fault: Fault | None) -> None:
        size = len(data)
        start, stop = 0, size
        match = _RANGE.match(header or "")
        if match:
            start = int(match.group(1))
            stop = min(size, int(match.group(2)) + 1) if match.group(2) else size
            if start >= size:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
        body = data[start:stop]
        if fault and fault.kind == "truncate":
            body = body[: fault.after]
        if fault and fault.kind == "corrupt" and len(body) > fault.after:
            body = body[: fault.after] + bytes([body[fault.after] ^ 0xFF]) + body[fault.after + 1 :]
        self.send_response(206 if match else 200)
        if match:
            self.send_header("Content-Range", f"bytes {start}-{start + len(body) - 1}/{size}")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        self._write(key, body, fault)

    def _write(self, key: str, body: bytes, fault: Fault | None) -> None:
        view = memoryview(body)
        if fault and fault.kind in ("drop", "stall"):
            self._send(key, view[: fault.after])
            if fault.kind == "stall":
                time.sleep(fault.seconds)
            self.close_connection = True
            return
        if fault and fault.kind == "throttle":
            step = max(1, int(fault.rate / 20))
            for i in range(0, len(view), step):
                if not self._send(key, view[i : i + step]):
                    return
                time.sleep(0.05)
            return
        self._send(key, view)

    def _send(self, key: str, chunk: memoryview) -> bool:
        self._count(key, len(chunk))  # before the write, as in _send_file
        try:
            self.wfile.write(chunk)
        except (BrokenPipeError, ConnectionResetError):
            self._count(key, -len(chunk))
            self.close_connection = True
            return False
        return True

    def _count(self, key: str, nbytes: int) -> None:
        with self.state.lock:
            self.state.bytes_sent[key] += nbytes


class _Server(ThreadingHTTPServer):
    """A threading HTTP server that lets a client hang up without a traceback on stderr."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):  # a reset or a broken pipe
            return
        super().handle_error(request, client_address)


class RangeServer:
    """Serve ``root`` on 127.0.0.1 in a background thread; use as a context manager."""

    def __init__(self, root: Path) -> None:
        self.state = ServerState(Path(root))
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.state = self.state  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def inject(self, key: str, *faults: Fault) -> None:
        with self.state.lock:
            self.state.faults.setdefault(key, []).extend(faults)

    def reset(self) -> None:
        with self.state.lock:
            self.state.faults.clear()
            self.state.requests.clear()
            self.state.bytes_sent.clear()

    def __enter__(self) -> RangeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def main() -> None:
    """Serve a folder from the command line (used by subprocess tests and benchmarks)."""
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("root")
    parser.add_argument("--throttle", type=float, default=0.0, help="bytes/s for every GET")
    args = parser.parse_args()
    server = RangeServer(Path(args.root))
    if args.throttle:
        server.state.faults = _AlwaysThrottle(args.throttle)  # type: ignore[assignment]
    with server:
        print(server.url, flush=True)
        sys.stdin.read()


class _AlwaysThrottle(dict):  # type: ignore[type-arg]
    """A fault table that throttles every request of every key."""

    def __init__(self, rate: float) -> None:
        super().__init__()
        self.rate = rate

    def get(self, key: str, default: object = None) -> list[Fault]:  # type: ignore[override]
        return [Fault("throttle", times=10**9, rate=self.rate)]


if __name__ == "__main__":
    main()
