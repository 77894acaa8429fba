"""Headless Chromium driven over the DevTools protocol, through a pipe (no extra package).

``chromium --remote-debugging-pipe`` reads protocol commands on file descriptor 3 and writes
answers and events on 4, each a JSON text ended by a NUL byte. :class:`Browser` starts it
with those two descriptors on the ends of its own pipes, opens a page at a given window size,
waits for the page's ``load`` event, and can then evaluate an expression in the page (the
DevTools protocol does that whatever the page's Content-Security-Policy says: the report
itself runs no script) and capture the whole page as a PNG.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import subprocess
from pathlib import Path
from typing import Any

#: how long one protocol command may take (a page of a few MB of inline PNGs loads in ~1 s)
TIMEOUT = 120.0


class ProtocolError(RuntimeError):
    """Chromium answered a command with an error, or stopped."""


class Browser:
    """One headless Chromium; use as a context manager."""

    def __init__(self, binary: str, profile: Path) -> None:
        # fd 3 and 4 of the browser are our stdin and stdout pipes; its own stdout is dropped
        command = ["sh", "-c", 'exec "$0" "$@" 3<&0 4>&1 0</dev/null 1>/dev/null', binary,
                   "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                   "--no-first-run", "--hide-scrollbars", "--remote-debugging-pipe",
                   f"--user-data-dir={profile}", "about:blank"]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, bufsize=0)
        self._buffer = b""
        self._next = 0
        self.session: str | None = None

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProtocolError, OSError):
                self.send("Browser.close", session=False)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()

    # -- the protocol --------------------------------------------------------------------

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([fd], [], [], TIMEOUT)
            if not ready:
                raise ProtocolError(f"chromium said nothing for {TIMEOUT:g} s")
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                raise ProtocolError("chromium closed its DevTools pipe")
            self._buffer += chunk
        text, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(text)

    def send(self, method: str, params: dict[str, Any] | None = None, *,
             session: bool = True, until: str | None = None) -> dict[str, Any]:
        """Send a command and return its result; with ``until``, also wait for that event
        (of this page) after the answer, or before it."""
        assert self.process.stdin is not None
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params or {}}
        if session and self.session is not None:
            message["sessionId"] = self.session
        self.process.stdin.write(json.dumps(message).encode() + b"\0")
        self.process.stdin.flush()
        result: dict[str, Any] | None = None
        seen = until is None
        while result is None or not seen:
            answer = self._read()
            if answer.get("id") == self._next:
                if "error" in answer:
                    raise ProtocolError(f"{method}: {answer['error']}")
                result = answer.get("result", {})
            elif until is not None and answer.get("method") == until:
                seen = True
        return result

    # -- pages -----------------------------------------------------------------------------

    def open(self, url: str, width: int, height: int) -> None:
        """Open ``url`` in a ``width`` x ``height`` window and wait for its load event."""
        target = self.send("Target.createTarget", {"url": "about:blank"}, session=False)
        attached = self.send("Target.attachToTarget",
                             {"targetId": target["targetId"], "flatten": True}, session=False)
        self.session = attached["sessionId"]
        self.send("Page.enable")
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        self.send("Page.navigate", {"url": url}, until="Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (JSON-able)."""
        answer = self.send("Runtime.evaluate", {"expression": expression,
                                                "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in answer:
            raise ProtocolError(f"{expression!r} threw: {answer['exceptionDetails']}")
        return answer["result"].get("value")

    def screenshot(self, path: Path) -> Path:
        """The whole page (beyond the window too) as a PNG at ``path``."""
        shot = self.send("Page.captureScreenshot",
                         {"format": "png", "captureBeyondViewport": True})
        path.write_bytes(base64.b64decode(shot["data"]))
        return path
