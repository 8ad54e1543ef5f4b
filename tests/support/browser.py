"""Debian's headless Chromium, driven over the DevTools protocol as a person would use it.

Starts `chromium --headless --remote-debugging-port=0` with a fresh profile, reads the
port it chose from the profile's DevToolsActivePort, and talks to its one page over a
websocket (aiohttp's client, on a private event loop so tests stay synchronous): open a
URL, read the DOM, type into a field, tick a radio, click a button or link and wait for
the page it leads to, take a screenshot at a given width. Playwright is not needed.
"""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    "--disable-default-apps", "--hide-scrollbars",
)  # fmt: skip


class Browser:
    """One headless Chromium with one tab."""

    def __init__(self, profile: Path) -> None:
        assert CHROMIUM, "install Debian's chromium (scripts/test.sh does)"
        profile.mkdir(parents=True, exist_ok=True)
        self._proc = subprocess.Popen(
            [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0",
             "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self._loop = asyncio.new_event_loop()
        self._next_id = 0
        self._events: list[dict[str, Any]] = []
        try:
            port = self._port(profile / "DevToolsActivePort")
            self._loop.run_until_complete(self._connect(port))
        except BaseException:
            self.close()
            raise

    def _port(self, active: Path) -> int:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise AssertionError(f"chromium exited {self._proc.returncode}")
            if active.exists() and active.read_text().strip():
                return int(active.read_text().split()[0])
            time.sleep(0.1)
        raise AssertionError("chromium did not open its DevTools port")

    async def _connect(self, port: int) -> None:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
            targets = json.loads(r.read())
        page = next(t for t in targets if t["type"] == "page")
        self._session = aiohttp.ClientSession()
        self._ws = await self._session.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0)
        await self._call("Page.enable")
        await self._call("Runtime.enable")

    async def _call(self, method: str, **params: Any) -> dict[str, Any]:
        self._next_id += 1
        mine = self._next_id
        await self._ws.send_str(json.dumps({"id": mine, "method": method, "params": params}))
        while True:
            message = json.loads((await asyncio.wait_for(self._ws.receive(), 60)).data)
            if message.get("id") == mine:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            if "method" in message:
                self._events.append(message)

    async def _loaded(self) -> None:
        """Wait for the next page's load event."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if any(e["method"] == "Page.loadEventFired" for e in self._events):
                self._events.clear()
                return
            message = json.loads((await asyncio.wait_for(self._ws.receive(), 30)).data)
            if "method" in message:
                self._events.append(message)
        raise AssertionError("the page did not load")

    def _run(self, coro: Any) -> Any:
        return self._loop.run_until_complete(coro)

    def evaluate(self, expression: str) -> Any:
        result = self._run(self._call("Runtime.evaluate", expression=expression,
                                      returnByValue=True))  # fmt: skip
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def dom(self) -> str:
        return str(self.evaluate("document.documentElement.outerHTML"))

    def open(self, url: str) -> str:
        """Go to `url` as if typed in the address bar; the DOM once it loaded."""
        self._events.clear()
        self._run(self._call("Page.navigate", url=url))
        self._run(self._loaded())
        return self.dom()

    def click(self, selector: str) -> str:
        """Click what `selector` names (a link or a form's button) and wait for the page
        it leads to."""
        self._events.clear()
        found = self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            " if (!e) return false; e.click(); return true; })()"
        )
        assert found, f"nothing matches {selector} in {self.dom()[:3000]}"
        self._run(self._loaded())
        return self.dom()

    def press_enter_on(self, selector: str) -> str:
        """Focus `selector` and press Enter, as a keyboard user would; the page it leads to."""
        assert self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            " if (!e) return false; e.focus(); return document.activeElement === e; })()"
        ), f"{selector} cannot take the keyboard focus"
        self._events.clear()
        for kind in ("keyDown", "keyUp"):
            self._run(self._call("Input.dispatchKeyEvent", type=kind, key="Enter",
                                 code="Enter", windowsVirtualKeyCode=13, text="\r"))  # fmt: skip
        self._run(self._loaded())
        return self.dom()

    def fill(self, selector: str, value: str) -> None:
        assert self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            f" if (!e) return false; e.value = {json.dumps(value)}; return true; }})()"
        ), f"no field {selector}"

    def check(self, selector: str) -> None:
        assert self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            " if (!e) return false; e.checked = true; return true; })()"
        ), f"no choice {selector}"

    def screenshot(self, path: Path, width: int) -> int:
        """The whole page at `width` CSS pixels (a phone's when narrow), as a PNG; returns
        how wide the page laid out (wider than `width` means sideways scrolling)."""
        mobile = width < 600
        self._run(self._call("Emulation.setDeviceMetricsOverride", width=width, height=800,
                             deviceScaleFactor=1, mobile=mobile))  # fmt: skip
        height = int(self.evaluate("Math.ceil(document.documentElement.scrollHeight)"))
        tall = max(height, 400)
        self._run(self._call("Emulation.setDeviceMetricsOverride", width=width, height=tall,
                             deviceScaleFactor=1, mobile=mobile))  # fmt: skip
        shot = self._run(self._call("Page.captureScreenshot", format="png"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))
        laid_out = int(self.evaluate("document.documentElement.scrollWidth"))
        self._run(self._call("Emulation.clearDeviceMetricsOverride"))
        return laid_out

    def close(self) -> None:
        try:
            if hasattr(self, "_ws"):
                self._run(self._ws.close())
                self._run(self._session.close())
        finally:
            self._loop.close()
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
