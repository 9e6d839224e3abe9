"""Drive headless Chromium through the DevTools protocol over a pipe (no websocket needed).

``--remote-debugging-pipe`` makes Chromium read protocol messages from its fd 3 and write
answers and events to its fd 4, each a JSON object ended by a NUL byte. A small ``exec``
launcher maps two of our pipe ends onto those numbers. Network access is cut with a proxy on a
closed loopback port, so any request the page makes that is not ``file:`` or ``data:`` fails
and shows up both as a network request and as a console error.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--hide-scrollbars",
    "--proxy-server=http://127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
    "--remote-debugging-pipe",
)


def find_chromium() -> str | None:
    """Return the Chromium executable (Debian's ``chromium``), or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class PageCheck:
    """What a page load showed: images, console errors, requests, and a screenshot."""

    images: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    screenshot: bytes = b""


class DevTools:
    """A DevTools-protocol connection to one Chromium process over its debugging pipe."""

    def __init__(self, process: subprocess.Popen[bytes], to_chrome: int, from_chrome: int):
        self.process = process
        self._to_chrome = to_chrome
        self._messages: queue.Queue[dict[str, Any]] = queue.Queue()
        self.events: list[dict[str, Any]] = []
        self._next_id = 0
        reader = threading.Thread(target=self._read, args=(from_chrome,), daemon=True)
        reader.start()

    def _read(self, fd: int) -> None:
        """Put every NUL-terminated JSON message from Chromium on the queue."""
        buffer = b""
        with os.fdopen(fd, "rb", buffering=0) as pipe:
            while chunk := pipe.read(1 << 16):
                buffer += chunk
                *complete, buffer = buffer.split(b"\0")
                for message in complete:
                    self._messages.put(json.loads(message))

    def send(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        session: str | None = None,
        timeout: float = 60.0,
    ) -> dict[str, Any]:
        """Return the result of ``method``; events that arrive meanwhile are kept."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            answer = self._messages.get(timeout=max(0.01, deadline - time.monotonic()))
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise RuntimeError(f"{method} failed: {answer['error']}")
                return dict(answer.get("result", {}))
            self.events.append(answer)

    def wait_for(self, method: str, timeout: float = 60.0) -> dict[str, Any]:
        """Return the first event ``method`` (already received or arriving within timeout)."""
        for event in self.events:
            if event.get("method") == method:
                return event
        deadline = time.monotonic() + timeout
        while True:
            event = self._messages.get(timeout=max(0.01, deadline - time.monotonic()))
            self.events.append(event)
            if event.get("method") == method:
                return event


_EXEC_WITH_PIPE = (
    "import os, sys; os.dup2(int(sys.argv[1]), 3); os.dup2(int(sys.argv[2]), 4); "
    "os.execv(sys.argv[3], sys.argv[3:])"
)


def _high_pipe() -> tuple[int, int]:
    """Return a pipe whose two ends are numbered 10 or above (clear of fds 3 and 4)."""
    ends = []
    for end in os.pipe():
        ends.append(fcntl.fcntl(end, fcntl.F_DUPFD_CLOEXEC, 10))
        os.close(end)
    return ends[0], ends[1]


@contextmanager
def devtools(executable: str, profile_dir: Path, log_path: Path) -> Iterator[DevTools]:
    """Yield a DevTools connection to a fresh headless Chromium; close it afterwards.

    A tiny Python launcher puts Chromium's ends of the two pipes on fds 3 and 4 and execs it.
    """
    chrome_reads, we_write = _high_pipe()
    we_read, chrome_writes = _high_pipe()
    command = [
        sys.executable,
        "-c",
        _EXEC_WITH_PIPE,
        str(chrome_reads),
        str(chrome_writes),
        executable,
        *CHROMIUM_FLAGS,
        f"--user-data-dir={profile_dir}",
        "about:blank",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, pass_fds=(chrome_reads, chrome_writes), stdout=log, stderr=log
        )
    os.close(chrome_reads)
    os.close(chrome_writes)
    connection = DevTools(process, we_write, we_read)
    try:
        yield connection
    finally:
        with suppress(RuntimeError, queue.Empty, OSError):
            connection.send("Browser.close", timeout=10)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        os.close(we_write)


_IMAGES = """JSON.stringify(Array.from(document.images).map(i => ({
  src: i.src.slice(0, 40), complete: i.complete, naturalWidth: i.naturalWidth,
  naturalHeight: i.naturalHeight})))"""


def _console_errors(events: list[dict[str, Any]]) -> list[str]:
    """Return the console errors, uncaught exceptions and error log entries among ``events``."""
    errors = []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.exceptionThrown":
            errors.append(json.dumps(params.get("exceptionDetails", {}))[:300])
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            errors.append(json.dumps(params.get("args", []))[:300])
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            errors.append(f"{entry.get('source')}: {entry.get('text')} {entry.get('url', '')}")
    return errors


def check_page(tools: DevTools, url: str, width: int = 1280, height: int = 4000) -> PageCheck:
    """Return the images, console errors, requests and a full-page screenshot of ``url``."""
    target = tools.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = tools.send("Target.attachToTarget", {"targetId": target, "flatten": True})
    sid = session["sessionId"]
    for domain in ("Page", "Runtime", "Log", "Network"):
        tools.send(f"{domain}.enable", session=sid)
    metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}
    tools.send("Emulation.setDeviceMetricsOverride", metrics, session=sid)
    tools.events.clear()
    tools.send("Page.navigate", {"url": url}, session=sid)
    tools.wait_for("Page.loadEventFired")
    result = tools.send(
        "Runtime.evaluate", {"expression": _IMAGES, "returnByValue": True}, session=sid
    )
    images = json.loads(result["result"]["value"])
    content = tools.send("Page.getLayoutMetrics", session=sid)["cssContentSize"]
    full = {**metrics, "height": int(min(max(content["height"], height), 16000))}
    tools.send("Emulation.setDeviceMetricsOverride", full, session=sid)
    shot = tools.send("Page.captureScreenshot", {"format": "png"}, session=sid)
    requests = [
        e["params"]["request"]["url"][:80]
        for e in tools.events
        if e.get("method") == "Network.requestWillBeSent"
    ]
    return PageCheck(
        images, _console_errors(tools.events), requests, base64.b64decode(shot["data"])
    )
