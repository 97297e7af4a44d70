"""Headless Chromium driven over the DevTools protocol.

``Chromium`` starts one browser process (its own process group, its own
throw-away profile) and talks to it over a single DevTools WebSocket with
flattened target sessions.  ``Page`` evaluates JavaScript in one tab.
Every call is bounded by a timeout, and ``close()`` kills the whole process
group, so a hung browser can never outlive a test.

``PAGE_LIB`` is a small in-page helper (``window.cohortTest``) for WebRTC:
local media (fake camera and microphone, or an oscillator tone), a peer
connection, offer/answer, a stats summary and capture of received audio
for tone analysis in Python.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

# Chromium's fake microphone (--use-fake-device-for-media-stream) emits a
# 400 Hz beep twice a second (measured by test_harness_p2p, Chromium 156).
CHROMIUM_FAKE_AUDIO_HZ = 400.0

PAGE_LIB_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "page_lib.js")


class DevToolsError(Exception):
    """A DevTools command failed, or the page threw."""


BLANK_PAGE = b"<!doctype html><html><head><title>cohort e2e</title></head><body></body></html>"


class BlankPageServer:
    """A minimal HTTP server on 127.0.0.1 serving one empty HTML page.

    getUserMedia and RTCPeerConnection media need a secure context;
    about:blank opened through DevTools is not one, http://127.0.0.1 is.
    """

    def __init__(self) -> None:
        self._server: asyncio.base_events.Server | None = None
        self.url: str | None = None

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/"
        return self.url

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            head = (
                "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
                f"Content-Length: {len(BLANK_PAGE)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode() + BLANK_PAGE)
            await writer.drain()
        except Exception:
            pass
        finally:
            writer.close()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None


def chromium_binary() -> str:
    """Path of the Chromium executable (env CHROMIUM overrides)."""
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        raise FileNotFoundError("chromium not found (set CHROMIUM)")
    return path


class Chromium:
    """One headless Chromium process (use ``async with``)."""

    # Flags: media from fake devices without a permission prompt; loopback
    # ICE candidates allowed and not hidden behind mDNS names; no background
    # traffic of any kind (updates, sync, metrics) ever leaves the process.
    BASE_FLAGS = [
        "--headless=new",
        "--no-sandbox",
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        "--allow-loopback-in-peer-connection",
        "--disable-features=WebRtcHideLocalIpsWithMdns",
        "--autoplay-policy=no-user-gesture-required",
        "--remote-debugging-port=0",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-domain-reliability",
        "--disable-client-side-phishing-detection",
        "--disable-gpu",
        "--mute-audio",
    ]

    def __init__(self, *, fake_audio_wav: str | None = None, extra_args: list[str] | None = None, timeout: float = 20.0,
                 prefix: list[str] | None = None, connect_devtools=None) -> None:
        self.fake_audio_wav = fake_audio_wav
        self.extra_args = list(extra_args or [])
        # Put before the command, e.g. ["ip", "netns", "exec", NAME] to run
        # the browser in a test's namespace; then ``connect_devtools(port)``
        # returns a socket connected to 127.0.0.1:port inside it.
        self.prefix = list(prefix or [])
        self.connect_devtools = connect_devtools
        self.timeout = timeout
        self.process: subprocess.Popen | None = None
        self.profile_dir: str | None = None
        self.stderr_path: str | None = None
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future] = {}
        self.pages: list[Page] = []
        self.started_at: float | None = None
        self.blank = BlankPageServer()

    async def __aenter__(self) -> "Chromium":
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Launch Chromium and connect to its browser DevTools endpoint."""
        await self.blank.start()
        self.profile_dir = tempfile.mkdtemp(prefix="cohort-chromium-")
        self.stderr_path = os.path.join(self.profile_dir, "stderr.log")
        args = [*self.prefix, chromium_binary(), *self.BASE_FLAGS, f"--user-data-dir={self.profile_dir}"]
        if self.fake_audio_wav:
            args.append(f"--use-file-for-fake-audio-capture={self.fake_audio_wav}")
        args += self.extra_args
        args.append("about:blank")
        self.started_at = time.monotonic()
        with open(self.stderr_path, "wb") as err:
            # Own session → own process group: close() kills the whole tree.
            self.process = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True
            )
        port_file = os.path.join(self.profile_dir, "DevToolsActivePort")
        deadline = time.monotonic() + self.timeout
        lines: list[str] = []
        while True:
            if os.path.exists(port_file):
                with open(port_file) as f:
                    lines = f.read().split("\n")
                if len(lines) >= 2 and lines[1].strip():
                    break
            if self.process.poll() is not None:
                raise DevToolsError(f"chromium exited with {self.process.returncode}: {self.stderr_tail()}")
            if time.monotonic() > deadline:
                raise DevToolsError(f"chromium did not report a DevTools port: {self.stderr_tail()}")
            await asyncio.sleep(0.05)
        url = f"ws://127.0.0.1:{lines[0].strip()}{lines[1].strip()}"
        sock = self.connect_devtools(int(lines[0].strip())) if self.connect_devtools else None
        self._ws = await asyncio.wait_for(connect(url, max_size=None, ping_interval=None, sock=sock), self.timeout)
        self._reader = asyncio.create_task(self._read_loop())

    def stderr_tail(self, limit: int = 2000) -> str:
        """The end of Chromium's stderr, for failure messages."""
        if not self.stderr_path or not os.path.exists(self.stderr_path):
            return ""
        with open(self.stderr_path, "rb") as f:
            data = f.read()
        lines = [l for l in data.decode(errors="replace").splitlines() if "dbus" not in l]
        return "\n".join(lines)[-limit:]

    async def send(self, method: str, params: dict | None = None, session_id: str | None = None, timeout: float | None = None) -> dict:
        """Send one DevTools command and return its result."""
        if self._ws is None:
            raise DevToolsError("not connected")
        cid = next(self._ids)
        message: dict[str, Any] = {"id": cid, "method": method, "params": params or {}}
        if session_id:
            message["sessionId"] = session_id
        future = asyncio.get_running_loop().create_future()
        self._pending[cid] = future
        try:
            await self._ws.send(json.dumps(message))
            reply = await asyncio.wait_for(future, timeout or self.timeout)
        except asyncio.TimeoutError:
            raise DevToolsError(f"{method} timed out after {timeout or self.timeout} s") from None
        finally:
            self._pending.pop(cid, None)
        if "error" in reply:
            raise DevToolsError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    async def new_page(self, url: str | None = None) -> "Page":
        """Open a tab on ``url`` (default: an empty page served from
        127.0.0.1, a secure context), attach to it and install ``PAGE_LIB``."""
        target = await self.send("Target.createTarget", {"url": "about:blank"})
        attached = await self.send("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True})
        page = Page(self, target["targetId"], attached["sessionId"])
        self.pages.append(page)
        await page.send("Runtime.enable")
        await page.send("Page.enable")
        await page.send("Log.enable")  # network and loader errors (a module that failed to load) reach `console`
        await page.navigate(url or self.blank.url)
        return page

    async def close(self) -> None:
        """Close the connection, kill the process group, delete the profile."""
        if self._ws is not None:
            try:
                await asyncio.wait_for(self.send("Browser.close", timeout=3), 4)
            except Exception:
                pass
            try:
                await asyncio.wait_for(self._ws.close(), 2)
            except Exception:
                pass
            self._ws = None
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
            self._reader = None
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            self.process = None
        await self.blank.close()
        if self.profile_dir:
            shutil.rmtree(self.profile_dir, ignore_errors=True)
            self.profile_dir = None

    async def _read_loop(self) -> None:
        assert self._ws is not None
        try:
            async for raw in self._ws:
                message = json.loads(raw)
                if "id" in message:
                    future = self._pending.get(message["id"])
                    if future is not None and not future.done():
                        future.set_result(message)
                    continue
                session = message.get("sessionId")
                for page in self.pages:
                    if page.session_id == session:
                        page._on_event(message)
        except Exception:
            pass
        finally:
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(DevToolsError("DevTools connection closed"))


class Page:
    """One tab of a ``Chromium``."""

    def __init__(self, browser: Chromium, target_id: str, session_id: str) -> None:
        self.browser = browser
        self.target_id = target_id
        self.session_id = session_id
        self.console: list[str] = []
        self.exceptions: list[str] = []
        # The drag data of the latest `Input.dragIntercepted` (a mouse drag
        # started while `Input.setInterceptDrags` is on; webui.drag_and_drop).
        self.drag_data: dict | None = None
        self._load = asyncio.Event()
        self._fail_left = 0
        self._fail_reason = "ConnectionReset"
        self.failed_requests: list[str] = []

    async def fail_requests(self, url_pattern: str, times: int, reason: str = "ConnectionReset") -> None:
        """The next ``times`` requests whose URL matches ``url_pattern`` (a
        DevTools wildcard pattern) fail with ``reason`` (a Network.ErrorReason);
        later ones go through. Lasts across navigations of this tab."""
        self._fail_left = times
        self._fail_reason = reason
        self.failed_requests = []
        await self.send("Fetch.enable", {"patterns": [{"urlPattern": url_pattern}]})

    def _request_paused(self, params: dict) -> None:
        if self._fail_left > 0:
            self._fail_left -= 1
            self.failed_requests.append(params["request"]["url"])
            reply = self.send("Fetch.failRequest", {"requestId": params["requestId"], "errorReason": self._fail_reason})
        else:
            reply = self.send("Fetch.continueRequest", {"requestId": params["requestId"]})
        task = asyncio.get_running_loop().create_task(reply)
        task.add_done_callback(lambda t: t.cancelled() or t.exception())  # a closed tab may not answer

    async def send(self, method: str, params: dict | None = None, timeout: float | None = None) -> dict:
        """A DevTools command in this tab's session."""
        return await self.browser.send(method, params, self.session_id, timeout)

    async def evaluate(self, js: str, timeout: float = 15.0, await_promise: bool = True) -> Any:
        """Evaluate ``js`` (an expression; a Promise is awaited) and return
        its value as JSON.  A thrown exception raises DevToolsError."""
        result = await self.send(
            "Runtime.evaluate",
            {"expression": js, "awaitPromise": await_promise, "returnByValue": True, "timeout": int(timeout * 1000)},
            timeout=timeout + 2,
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise DevToolsError(f"page threw: {text}")
        return result.get("result", {}).get("value")

    async def wait_for(self, js: str, what: str, timeout: float, state_js: str, interval: float = 0.1) -> Any:
        """Polls ``js`` until truthy and returns its value; otherwise an
        AssertionError naming ``what`` with the page's state (the value of
        ``state_js``), its last console lines and its exceptions."""
        deadline = time.monotonic() + timeout
        while True:
            value = await self.evaluate(js)
            if value:
                return value
            if time.monotonic() > deadline:
                state = await self.evaluate(state_js)
                raise AssertionError(f"{what}: not within {timeout} s; page {state}; console {self.console[-10:]}; "
                                     f"exceptions {self.exceptions}")
            await asyncio.sleep(interval)

    async def navigate(self, url: str, timeout: float = 15.0) -> None:
        """Load ``url``, wait for its load event, reinstall ``PAGE_LIB``."""
        self._load.clear()
        reply = await self.send("Page.navigate", {"url": url}, timeout=timeout)
        if reply.get("errorText"):
            raise DevToolsError(f"navigate {url}: {reply['errorText']}")
        await asyncio.wait_for(self._load.wait(), timeout)
        await self.install_lib()

    async def install_lib(self) -> None:
        """Define ``window.cohortTest`` in the current document."""
        with open(PAGE_LIB_PATH) as f:
            await self.evaluate(f.read(), await_promise=False)

    async def get_stats_summary(self, pc: str = "cohortTest.pc") -> dict:
        """inbound-rtp and outbound-rtp stats of the page's RTCPeerConnection.

        Returns {"inbound": [{mid, kind, trackIdentifier, packetsReceived,
        packetsLost, jitter, framesDecoded, totalAudioEnergy, bytesReceived},
        …], "outbound": [{mid, kind, packetsSent, framesEncoded}, …],
        "connectionState": …}.
        """
        return await self.evaluate(f"cohortTest.statsSummary({pc})")

    def _on_event(self, message: dict) -> None:
        method = message.get("method")
        params = message.get("params", {})
        if method == "Page.loadEventFired":
            self._load.set()
        elif method == "Runtime.consoleAPICalled":
            args = params.get("args", [])
            self.console.append(" ".join(str(a.get("value", a.get("description", ""))) for a in args))
        elif method == "Fetch.requestPaused":
            self._request_paused(params)
        elif method == "Log.entryAdded":
            entry = params.get("entry", {})
            self.console.append(f"[{entry.get('source')} {entry.get('level')}] {entry.get('text', '')} {entry.get('url', '')}".rstrip())
        elif method == "Input.dragIntercepted":
            self.drag_data = params.get("data")
        elif method == "Runtime.exceptionThrown":
            d = params.get("exceptionDetails", {})
            self.exceptions.append(d.get("exception", {}).get("description") or d.get("text", ""))
