"""A real headless Chromium for the dashboard tests, driven over the DevTools protocol.

No Python dependency: Chromium is started as a subprocess with a remote-debugging port,
and spoken to over its WebSocket with a tiny client written on the standard library
(RFC 6455 framing, text frames only). Enough to load pages, read the DOM, fill and
submit forms like a person, and take full-page screenshots:

    with Chromium() as browser:
        browser.goto("http://127.0.0.1:8000/login")
        browser.fill("#token", "secret")
        browser.submit("form[action='/login']")
        assert "Deal board" in browser.text("h1")
        browser.screenshot(Path("test-artifacts/board.png"))
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlparse

CHROMIUM = Path("/usr/bin/chromium")
TIMEOUT = 20.0


def chromium_available() -> bool:
    return CHROMIUM.exists()


class WebSocket:
    """A minimal client WebSocket: masked text frames out, (fragmented) frames in."""

    def __init__(self, url: str, timeout: float = TIMEOUT) -> None:
        parsed = urlparse(url)
        self._sock = socket.create_connection((parsed.hostname, parsed.port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {parsed.path} HTTP/1.1\r\nHost: {parsed.hostname}:{parsed.port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        self._sock.sendall(request.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self._sock.recv(1)
            if not chunk:
                raise ConnectionError("DevTools closed the connection during the handshake")
            head += chunk
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise ConnectionError(f"DevTools refused the WebSocket: {head!r}")

    def _exact(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = self._sock.recv(size - len(data))
            if not chunk:
                raise ConnectionError("DevTools closed the connection")
            data += chunk
        return data

    def send(self, text: str) -> None:
        payload = text.encode()
        header = bytes([0x81])
        size = len(payload)
        if size < 126:
            header += bytes([0x80 | size])
        elif size < 65536:
            header += bytes([0x80 | 126]) + struct.pack("!H", size)
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", size)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self._sock.sendall(header + mask + masked)

    def receive(self) -> str:
        message = b""
        while True:
            first, second = self._exact(2)
            opcode, fin = first & 0x0F, first & 0x80
            size = second & 0x7F
            if size == 126:
                (size,) = struct.unpack("!H", self._exact(2))
            elif size == 127:
                (size,) = struct.unpack("!Q", self._exact(8))
            mask = self._exact(4) if second & 0x80 else b""
            payload = self._exact(size)
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            if opcode == 0x8:
                raise ConnectionError("DevTools closed the WebSocket")
            if opcode in (0x9, 0xA):  # ping / pong: nothing to do for our short sessions
                continue
            message += payload
            if fin:
                return message.decode()

    def close(self) -> None:
        self._sock.close()


class Chromium:
    """One headless Chromium with one page. Use as a context manager."""

    def __init__(self, width: int = 1280, height: int = 900) -> None:
        self.width = width
        self.height = height
        self._profile = Path(tempfile.mkdtemp(prefix="vd-chromium-"))
        self._process: subprocess.Popen[bytes] | None = None
        self._ws: WebSocket | None = None
        self._next_id = 0
        self._events: list[dict[str, Any]] = []

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> Chromium:
        self._process = subprocess.Popen(  # noqa: S603 (a fixed binary and our own arguments)
            [
                str(CHROMIUM),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--no-first-run",
                "--no-default-browser-check",
                "--hide-scrollbars",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                f"--user-data-dir={self._profile}",
                f"--window-size={self.width},{self.height}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file = self._profile / "DevToolsActivePort"
        deadline = time.monotonic() + TIMEOUT
        while not (port_file.exists() and port_file.read_text().count("\n") >= 1):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("Chromium did not open its DevTools port")
            time.sleep(0.05)
        port = int(port_file.read_text().splitlines()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=TIMEOUT) as r:
            targets = json.loads(r.read())
        page = next(t for t in targets if t.get("type") == "page")
        self._ws = WebSocket(page["webSocketDebuggerUrl"])
        self.call("Page.enable")
        self.call("Runtime.enable")
        self.resize(self.width, self.height)
        return self

    def stop(self) -> None:
        if self._ws is not None:
            self._ws.close()
            self._ws = None
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(10)
            self._process = None
        shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self) -> Chromium:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- the protocol ------------------------------------------------------------------

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one DevTools command and return its result (events seen meanwhile are kept)."""
        assert self._ws is not None, "start() the browser first"
        self._next_id += 1
        request_id = self._next_id
        self._ws.send(json.dumps({"id": request_id, "method": method, "params": params}))
        while True:
            message = json.loads(self._ws.receive())
            if message.get("id") == request_id:
                if "error" in message:
                    raise RuntimeError(f"{method} failed: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            if "method" in message:
                self._events.append(message)

    def _wait_for_event(self, name: str) -> None:
        assert self._ws is not None
        deadline = time.monotonic() + TIMEOUT
        while not any(e["method"] == name for e in self._events):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {name} within {TIMEOUT} s")
            message = json.loads(self._ws.receive())
            if "method" in message:
                self._events.append(message)

    def _then_wait_for_load(self, action: str, **params: Any) -> None:
        self._events.clear()
        self.call(action, **params)
        self._wait_for_event("Page.loadEventFired")

    # -- what a person does ------------------------------------------------------------

    def resize(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.call(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=width < 700,
        )

    def goto(self, url: str) -> None:
        self._then_wait_for_load("Page.navigate", url=url)

    def evaluate(self, expression: str) -> Any:
        result = self.call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def act_and_wait(self, expression: str) -> None:
        """Run a script that navigates (a form submit, a click) and wait for the new page."""
        self._then_wait_for_load(
            "Runtime.evaluate", expression=f"setTimeout(() => {{ {expression} }}, 0)"
        )

    @property
    def url(self) -> str:
        return str(self.evaluate("location.href"))

    def html(self) -> str:
        return str(self.evaluate("document.documentElement.outerHTML"))

    def text(self, selector: str = "body") -> str:
        return str(
            self.evaluate(f"(document.querySelector({json.dumps(selector)}) || {{}}).innerText")
        )

    def count(self, selector: str) -> int:
        return int(self.evaluate(f"document.querySelectorAll({json.dumps(selector)}).length"))

    def fill(self, selector: str, value: str) -> None:
        found = self.evaluate(
            f"(() => {{ const el = document.querySelector({json.dumps(selector)});"
            f" if (!el) return false; el.value = {json.dumps(value)}; return true; }})()"
        )
        if not found:
            raise LookupError(f"nothing matches {selector!r} on {self.url}")

    def submit(self, form_selector: str) -> None:
        """Submit a form as its submit button would (validation included)."""
        if not self.count(form_selector):
            raise LookupError(f"no form matches {form_selector!r} on {self.url}")
        self.act_and_wait(f"document.querySelector({json.dumps(form_selector)}).requestSubmit()")

    def click(self, selector: str) -> None:
        """Click a link or button that leads to another page."""
        if not self.count(selector):
            raise LookupError(f"nothing matches {selector!r} on {self.url}")
        self.act_and_wait(f"document.querySelector({json.dumps(selector)}).click()")

    def screenshot(self, path: Path, *, full_page: bool = True) -> Path:
        """Save a PNG of the page (the whole scrollable height by default)."""
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            metrics = self.call("Page.getLayoutMetrics")
            size = metrics.get("cssContentSize") or metrics["contentSize"]
            params |= {
                "captureBeyondViewport": True,
                "clip": {
                    "x": 0,
                    "y": 0,
                    "width": max(self.width, size["width"]),
                    "height": size["height"],
                    "scale": 1,
                },
            }
        data = self.call("Page.captureScreenshot", **params)["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path
