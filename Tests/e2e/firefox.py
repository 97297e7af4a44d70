"""Headless Firefox ESR driven over WebDriver BiDi.

The counterpart of chromium.py for the second browser.  ``Firefox`` starts
one browser process (its own process group, a throw-away profile whose
``user.js`` sets the prefs below) and talks to it over the WebDriver BiDi
WebSocket that Firefox serves itself (``--remote-debugging-port``; no
geckodriver).  ``FirefoxPage`` evaluates JavaScript in one tab with the
same calls as chromium.Page (``evaluate``, ``wait_for``, ``navigate``,
``get_stats_summary``), so the tests drive both browsers alike.  Every call
is bounded by a timeout, and ``close()`` kills the whole process group.

Three things Firefox needs that Chromium does not (measured with Firefox
ESR 153 on Debian 12):

* ``PulseAudio``: headless Firefox has no audio output, so an AudioContext
  stays suspended (nothing plays, nothing is captured through WebAudio)
  unless a sound server with a clock runs for it; an ALSA null device has
  none.  One daemon per test run, with a null sink, in its own runtime
  directory; ``close()`` kills it.
* ``loopback_default_route``: in a namespace that has only ``lo``, Firefox
  gathers no ICE candidate at all unless a default route exists (pref
  ``media.peerconnection.ice.loopback`` lets it use 127.0.0.1 then).  The
  route goes over ``lo`` and is removed again afterwards.
* prefs: ``media.navigator.streams.fake`` gives a fake camera and a fake
  microphone (a sine of ``FIREFOX_FAKE_AUDIO_HZ``) without a prompt.

Screen sharing needs a display: headless Firefox's ``getDisplayMedia``
rejects with ``NotFoundError`` (after a user gesture; without one,
``InvalidStateError``). ``Xvfb`` starts a private virtual X display, and
``Firefox(display=...)`` runs the browser on it instead of headless; its
``getDisplayMedia`` then captures that display ("Primary Monitor", the
display's size) without a prompt (``media.navigator.permission.disabled``).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from typing import Any, AsyncIterator, Iterator

from chromium import PAGE_LIB_PATH, BlankPageServer
from conftest import non_loopback_addresses
from websockets.asyncio.client import ClientConnection, connect

# Firefox's fake microphone (media.navigator.streams.fake) is a steady sine
# at pref media.navigator.audio.fake_frequency, 1000 Hz by default; measured
# through Cohort by test_firefox.py (a listener hears exactly this tone).
FIREFOX_FAKE_AUDIO_HZ = 1000.0



def _kill_group(process: subprocess.Popen) -> None:
    """Kills a process started with ``start_new_session`` and its whole
    group, and reaps it (bounded)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass

# WebDriver's code points for named keys (WebDriver §17.4.2, "keyboard
# actions"), by their DOM ``KeyboardEvent.key`` names.
WEBDRIVER_KEYS = {"Tab": "\ue004", "Enter": "\ue007", "Escape": "\ue00c", "ArrowLeft": "\ue012", "ArrowUp": "\ue013",
                  "ArrowRight": "\ue014", "ArrowDown": "\ue015"}


class BiDiError(Exception):
    """A BiDi command failed, or the page threw."""


def firefox_binary() -> str:
    """Path of the Firefox executable (env FIREFOX overrides)."""
    path = os.environ.get("FIREFOX") or shutil.which("firefox-esr") or shutil.which("firefox")
    if not path:
        raise FileNotFoundError("firefox-esr not found (Scripts/bootstrap.sh --e2e installs it; or set FIREFOX)")
    return path


class Xvfb:
    """A private virtual X display (use ``with``): ``Xvfb :N`` on the first
    free display number from 90, no TCP listener, in its own process group,
    killed on exit. ``display`` is the DISPLAY value (":N")."""

    def __init__(self, size: tuple[int, int] = (1280, 800), timeout: float = 10.0) -> None:
        self.size = size
        self.timeout = timeout
        self.process: subprocess.Popen | None = None
        self.display: str | None = None

    def __enter__(self) -> "Xvfb":
        binary = shutil.which("Xvfb")
        if not binary:
            raise FileNotFoundError("Xvfb not found (Scripts/bootstrap.sh --e2e installs the xvfb package)")
        number = next(n for n in range(90, 200) if not os.path.exists(f"/tmp/.X11-unix/X{n}") and not os.path.exists(f"/tmp/.X{n}-lock"))
        width, height = self.size
        self.process = subprocess.Popen([binary, f":{number}", "-screen", "0", f"{width}x{height}x24", "-nolisten", "tcp"],
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        start_new_session=True)
        deadline = time.monotonic() + self.timeout
        while not os.path.exists(f"/tmp/.X11-unix/X{number}"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError(f"Xvfb :{number} did not start")
            time.sleep(0.02)
        self.display = f":{number}"
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            _kill_group(self.process)
            self.process = None
        # Killed, it leaves its socket and lock file behind: remove them.
        if self.display:
            number = self.display.lstrip(":")
            for path in (f"/tmp/.X11-unix/X{number}", f"/tmp/.X{number}-lock"):
                with contextlib.suppress(FileNotFoundError):
                    os.remove(path)
            self.display = None


class PulseAudio:
    """A private PulseAudio daemon with one null sink (use ``with``).

    Its socket, state and cookie live in a temporary runtime directory;
    ``server`` is the PULSE_SERVER value that points a client at it.  The
    daemon runs in its own process group and is killed on exit.
    """

    def __init__(self, timeout: float = 10.0) -> None:
        self.timeout = timeout
        self.dir: str | None = None
        self.process: subprocess.Popen | None = None
        self.server: str | None = None

    def __enter__(self) -> "PulseAudio":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        binary = shutil.which("pulseaudio")
        if not binary:
            raise FileNotFoundError("pulseaudio not found (Scripts/bootstrap.sh --e2e installs it)")
        self.dir = tempfile.mkdtemp(prefix="cohort-pulse-")
        socket_path = os.path.join(self.dir, "native")
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.dir, "XDG_RUNTIME_DIR": self.dir,
               "XDG_CONFIG_HOME": self.dir}
        # -n: no default.pa (no hardware, no D-Bus, no X11 modules); exactly
        # a socket for our clients and a sink whose clock drives playback.
        args = [binary, "-n", "--daemonize=no", "--system=false", "--use-pid-file=no", "--exit-idle-time=-1",
                "--log-target=stderr", "--log-level=error",
                "-L", f"module-native-protocol-unix socket={socket_path} auth-anonymous=1",
                "-L", "module-null-sink sink_name=cohort_null rate=48000"]
        with open(os.path.join(self.dir, "stderr.log"), "wb") as err:
            self.process = subprocess.Popen(args, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                            stderr=err, start_new_session=True)
        deadline = time.monotonic() + self.timeout
        while not os.path.exists(socket_path):
            if self.process.poll() is not None or time.monotonic() > deadline:
                tail = open(os.path.join(self.dir, "stderr.log"), "rb").read().decode(errors="replace")[-1000:]
                self.close()
                raise RuntimeError(f"pulseaudio did not start: {tail}")
            time.sleep(0.02)
        self.server = f"unix:{socket_path}"

    def close(self) -> None:
        if self.process is not None:
            _kill_group(self.process)
            self.process = None
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None


def _has_default_route() -> bool:
    out = subprocess.run(["ip", "-4", "route", "show", "default"], capture_output=True, text=True, timeout=5).stdout
    return bool(out.strip())


@contextlib.contextmanager
def loopback_default_route() -> Iterator[None]:
    """A default route over ``lo`` while the block runs, so that Firefox
    gathers its 127.0.0.1 candidate (see the module docstring).

    Only in a loopback-only namespace (the suite's ``unshare -n``) and only
    when no default route exists; elsewhere it changes nothing.  Packets
    "routed" by it go to ``lo``: nothing can leave the namespace.
    """
    added = False
    if not non_loopback_addresses() and not _has_default_route():
        subprocess.run(["ip", "route", "add", "default", "dev", "lo", "src", "127.0.0.1"], check=True, timeout=5)
        added = True
    try:
        yield
    finally:
        if added:
            subprocess.run(["ip", "route", "del", "default", "dev", "lo"], timeout=5)


# Prefs of the throw-away profile: fake media without a prompt, loopback ICE
# candidates under their real address, media that plays without a gesture,
# sound through PulseAudio, and no background traffic or first-run pages.
PREFS: dict[str, Any] = {
    "media.navigator.streams.fake": True,
    "media.navigator.permission.disabled": True,
    "media.peerconnection.ice.loopback": True,
    "media.peerconnection.ice.obfuscate_host_addresses": False,
    "media.peerconnection.ice.link_local": True,
    "media.autoplay.default": 0,
    "media.autoplay.block-webaudio": False,
    "media.cubeb.backend": "pulse",
    "media.cubeb.sandbox": False,
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.homepage_override.mstone": "ignore",
    "browser.aboutwelcome.enabled": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "datareporting.healthreport.uploadEnabled": False,
    "toolkit.telemetry.enabled": False,
    "app.update.auto": False,
    "app.update.enabled": False,
    "extensions.update.enabled": False,
    "browser.safebrowsing.malware.enabled": False,
    "browser.safebrowsing.phishing.enabled": False,
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "network.dns.disablePrefetch": True,
    "network.prefetch-next": False,
}


class Firefox:
    """One headless Firefox process (use ``async with``).

    ``pulse``: a running ``PulseAudio`` to play into; without one the
    browser has no audio output (and WebAudio does not run).
    """

    def __init__(self, *, pulse: PulseAudio | None = None, prefs: dict[str, Any] | None = None,
                 timeout: float = 30.0, display: str | None = None) -> None:
        self.pulse = pulse
        # An X display (``Xvfb.display``) to run on instead of headless: screen sharing needs one.
        self.display = display
        self.prefs = PREFS | (prefs or {})
        self.timeout = timeout
        self.process: subprocess.Popen | None = None
        self.profile_dir: str | None = None
        self.stderr_path: str | None = None
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future] = {}
        self.pages: list[FirefoxPage] = []
        self.blank = BlankPageServer()

    async def __aenter__(self) -> "Firefox":
        try:
            await self.start()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Launch Firefox, connect to its BiDi endpoint, open a session."""
        await self.blank.start()
        self.profile_dir = tempfile.mkdtemp(prefix="cohort-firefox-")
        with open(os.path.join(self.profile_dir, "user.js"), "w") as f:
            for key, value in self.prefs.items():
                f.write(f"user_pref({json.dumps(key)}, {json.dumps(value)});\n")
        self.stderr_path = os.path.join(self.profile_dir, "stderr.log")
        env = dict(os.environ, MOZ_HEADLESS="1", HOME=self.profile_dir, MOZ_CRASHREPORTER_DISABLE="1")
        env.pop("DISPLAY", None)
        if self.display:
            env.pop("MOZ_HEADLESS")
            env["DISPLAY"] = self.display
        if self.pulse is not None and self.pulse.server:
            env["PULSE_SERVER"] = self.pulse.server
        args = [firefox_binary(), *([] if self.display else ["--headless"]), "--no-remote", "--profile", self.profile_dir,
                "--remote-debugging-port", "0", "about:blank"]
        with open(self.stderr_path, "wb") as err:
            # Own session → own process group: close() kills the whole tree.
            self.process = subprocess.Popen(args, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                            stderr=err, start_new_session=True)
        # Firefox writes the port it chose into the profile once BiDi listens.
        port_file = os.path.join(self.profile_dir, "WebDriverBiDiServer.json")
        deadline = time.monotonic() + self.timeout
        port = None
        while port is None:
            try:
                with open(port_file) as f:
                    port = int(json.load(f)["ws_port"])
            except (OSError, ValueError, KeyError):
                pass
            if port is None:
                if self.process.poll() is not None:
                    raise BiDiError(f"firefox exited with {self.process.returncode}: {self.stderr_tail()}")
                if time.monotonic() > deadline:
                    raise BiDiError(f"firefox did not report a BiDi port: {self.stderr_tail()}")
                await asyncio.sleep(0.05)
        self._ws = await asyncio.wait_for(
            connect(f"ws://127.0.0.1:{port}/session", max_size=None, ping_interval=None), self.timeout)
        self._reader = asyncio.create_task(self._read_loop())
        await self.send("session.new", {"capabilities": {}})
        await self.send("session.subscribe", {"events": ["log.entryAdded", "browsingContext.load"]})

    def stderr_tail(self, limit: int = 2000) -> str:
        """The end of Firefox's stderr, for failure messages."""
        if not self.stderr_path or not os.path.exists(self.stderr_path):
            return ""
        with open(self.stderr_path, "rb") as f:
            return f.read().decode(errors="replace")[-limit:]

    async def send(self, method: str, params: dict | None = None, timeout: float | None = None) -> dict:
        """Send one BiDi command and return its result."""
        if self._ws is None:
            raise BiDiError("not connected")
        cid = next(self._ids)
        future = asyncio.get_running_loop().create_future()
        self._pending[cid] = future
        try:
            await self._ws.send(json.dumps({"id": cid, "method": method, "params": params or {}}))
            reply = await asyncio.wait_for(future, timeout or self.timeout)
        except asyncio.TimeoutError:
            raise BiDiError(f"{method} timed out after {timeout or self.timeout} s") from None
        finally:
            self._pending.pop(cid, None)
        if reply.get("type") == "error" or "error" in reply:
            raise BiDiError(f"{method}: {reply.get('error')}: {reply.get('message', '')}")
        return reply.get("result", {})

    async def new_page(self, url: str | None = None) -> "FirefoxPage":
        """Open a tab on ``url`` (default: an empty page served from
        127.0.0.1, a secure context) and install ``PAGE_LIB``."""
        created = await self.send("browsingContext.create", {"type": "tab"})
        page = FirefoxPage(self, created["context"])
        self.pages.append(page)
        await page.navigate(url or self.blank.url)
        return page

    async def close(self) -> None:
        """Close the connection, kill the process group, delete the profile."""
        if self._ws is not None:
            try:
                await asyncio.wait_for(self.send("browser.close", timeout=3), 4)
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
            _kill_group(self.process)
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
                if message.get("id") is not None:
                    future = self._pending.get(message["id"])
                    if future is not None and not future.done():
                        future.set_result(message)
                    continue
                if message.get("type") == "event":
                    params = message.get("params", {})
                    context = params.get("context") or params.get("source", {}).get("context")
                    for page in self.pages:
                        if page.context == context:
                            page._on_event(message.get("method", ""), params)
        except Exception:
            pass
        finally:
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(BiDiError("BiDi connection closed"))


class FirefoxPage:
    """One tab of a ``Firefox``, with chromium.Page's calls."""

    def __init__(self, browser: Firefox, context: str) -> None:
        self.browser = browser
        self.context = context
        self.console: list[str] = []
        self.exceptions: list[str] = []

    async def evaluate(self, js: str, timeout: float = 15.0, await_promise: bool = True) -> Any:
        """Evaluate ``js`` (an expression; a Promise is awaited) and return
        its value as JSON.  A thrown exception raises BiDiError.

        The value crosses as a JSON string (BiDi's own serialization of
        objects is a typed tree), so it comes back exactly as chromium.Page
        returns it with returnByValue."""
        if await_promise:
            expression = f"(async () => {{ const v = await ({js}\n); return v === undefined ? undefined : JSON.stringify(v); }})()"
        else:
            expression = js
        result = await self.browser.send("script.evaluate", {
            "expression": expression, "target": {"context": self.context},
            "awaitPromise": await_promise, "resultOwnership": "none"}, timeout=timeout + 2)
        if result.get("type") == "exception":
            details = result.get("exceptionDetails", {})
            raise BiDiError(f"page threw: {details.get('text')}")
        value = result.get("result", {})
        if not await_promise or value.get("type") != "string":
            return None
        return json.loads(value["value"])

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
        await self.browser.send("browsingContext.navigate", {"context": self.context, "url": url, "wait": "complete"},
                                timeout=timeout)
        await self.install_lib()

    async def install_lib(self) -> None:
        """Define ``window.cohortTest`` in the current document."""
        with open(PAGE_LIB_PATH) as f:
            await self.evaluate(f.read(), await_promise=False)

    async def get_stats_summary(self, pc: str = "cohortTest.pc") -> dict:
        """inbound-rtp and outbound-rtp stats, as chromium.Page's."""
        return await self.evaluate(f"cohortTest.statsSummary({pc})")

    async def perform(self, *sources: dict) -> None:
        """Real input (``input.performActions``: the browser dispatches
        trusted events as for a person), then every key and button released."""
        try:
            await self.browser.send("input.performActions", {"context": self.context, "actions": list(sources)})
        finally:
            await self.browser.send("input.releaseActions", {"context": self.context})

    async def press_key(self, key: str) -> None:
        """One press of ``key`` (a DOM ``KeyboardEvent.key`` value: a
        character or a name in ``WEBDRIVER_KEYS``) on the focused element."""
        value = WEBDRIVER_KEYS.get(key, key)
        await self.perform({"type": "key", "id": "keyboard", "actions": [
            {"type": "keyDown", "value": value}, {"type": "keyUp", "value": value}]})

    async def set_viewport(self, width: int, height: int, scale: float) -> None:
        """The page's viewport size and device pixel ratio (no touch
        emulation: BiDi has none)."""
        await self.browser.send("browsingContext.setViewport", {"context": self.context, "viewport": {
            "width": width, "height": height}, "devicePixelRatio": scale})

    async def screenshot_png(self) -> bytes:
        """A PNG of the viewport."""
        shot = await self.browser.send("browsingContext.captureScreenshot", {"context": self.context}, timeout=20)
        return base64.b64decode(shot["data"])

    async def bring_to_front(self) -> None:
        """Make this the visible tab (a background tab renders no video frames)."""
        await self.browser.send("browsingContext.activate", {"context": self.context})

    def _on_event(self, method: str, params: dict) -> None:
        if method == "log.entryAdded":
            text = params.get("text") or ""
            if params.get("type") == "javascript":  # an uncaught exception
                self.exceptions.append(text)
            else:
                self.console.append(text)


@contextlib.asynccontextmanager
async def firefox_ready(**kwargs: Any) -> AsyncIterator[Firefox]:
    """One headless Firefox with its own PulseAudio, able to gather a
    candidate (the module docstring says why both); ``kwargs`` go to ``Firefox``."""
    with PulseAudio() as pulse, loopback_default_route():
        async with Firefox(pulse=pulse, **kwargs) as fox:
            yield fox
