"""Starts a real Cohort server (the debug build) for an end-to-end test,
on loopback with ephemeral ports, and mints its tokens.

Tokens are HS256 JWTs (RFC 7519) minted here with the server's secret, the
same way `cohort token` does, so tests do not spawn a process per token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.environ.get("COHORT_BINARY", os.path.join(ROOT, ".build", "debug", "cohort"))
# The release build (Scripts/test.sh builds both), for tests that time the
# server: the debug build mixes a room of seven with late ticks, and clinics
# run the release build.
RELEASE_BINARY = os.environ.get("COHORT_RELEASE_BINARY", os.path.join(ROOT, ".build", "release", "cohort"))
# The web client's sources: serving them directly (COHORT_WEB_ROOT) tests the
# files in this checkout even when the binary's bundled copy is older.
WEB_ROOT = os.path.join(ROOT, "Sources", "ControlPlane", "Web")


def stop_process_group(process: subprocess.Popen | None, grace: float) -> None:
    """SIGTERM to the process group of a server started with
    `start_new_session`, SIGKILL if it has not exited after `grace` seconds."""
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class CohortServer:
    """One `cohort serve` process; use as a context manager."""

    consent_timeout: int = 30
    session: str = "e2e"
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    web_root: str | None = None
    log_level: str | None = None
    # Scheduling niceness for the server (negative needs root).  Tests that
    # measure the server's timing use it so that other work on a shared
    # machine does not count against the server.
    nice: int = 0
    # `--waiting-room on`: participants wait until a host admits them.
    waiting_room: bool = False
    # `--announce ADDRESS`: the address put in ICE candidates (the media
    # sockets still bind 127.0.0.1); the loss tests announce 127.0.0.2,
    # where impair_relay.py listens.
    announce: str | None = None
    # `--max-connections` / `--max-connections-per-address` (None: the server's defaults).
    max_connections: int | None = None
    max_connections_per_address: int | None = None
    http_port: int | None = None
    # The address the HTTP and media listeners bind (and the candidates
    # announce): loopback, or a veth address a test's namespace reaches.
    host: str = "127.0.0.1"
    # The bound UDP media ports (one per event loop), from the startup log.
    media_ports: list[int] = field(default_factory=list)
    binary: str = BINARY
    # `--shutdown-grace`: 0 so that stopping the servers of the whole suite
    # costs no seconds; test_lifecycle.py checks the grace period itself.
    shutdown_grace: int = 0
    # More `cohort serve` arguments, e.g. ["--joins-per-address-per-minute", "5"].
    extra_args: list[str] = field(default_factory=list)
    # `--records PATH`: by default a fresh database per server in a temporary
    # directory, removed when the server stops; "off" disables records.
    records: str | None = None
    _records_dir: str | None = None
    # Put before the command, e.g. `unshare -m sh -c '...; exec "$0" "$@"'` to
    # run the server in its own mount namespace (it keeps the same pid).
    wrapper: list[str] = field(default_factory=list)
    process: subprocess.Popen | None = None
    log: list[str] = field(default_factory=list)

    def __enter__(self) -> "CohortServer":
        env = dict(os.environ, COHORT_SECRET=self.secret)
        if self.records is None:
            self._records_dir = tempfile.mkdtemp(prefix="cohort-e2e-")
            self.records = os.path.join(self._records_dir, "records.sqlite")
        if self.web_root:
            env["COHORT_WEB_ROOT"] = self.web_root
        level = self.log_level or os.environ.get("COHORT_LOG_LEVEL", "info")
        nice = ["nice", "-n", str(self.nice)] if self.nice else []  # nice execs: same pid
        self.process = subprocess.Popen(
            [*nice, *self.wrapper, self.binary, "serve", "--records", self.records, "--http", f"{self.host}:0", "--media", f"{self.host}:0",
             "--consent-timeout", str(self.consent_timeout), "--log-level", level,
             "--shutdown-grace", str(self.shutdown_grace),
             *(["--waiting-room", "on"] if self.waiting_room else []),
             *(["--announce", self.announce] if self.announce else []),
             *(["--max-connections", str(self.max_connections)] if self.max_connections else []),
             *(["--max-connections-per-address", str(self.max_connections_per_address)]
               if self.max_connections_per_address else []),
             *self.extra_args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, start_new_session=True)
        ready = threading.Event()

        def pump() -> None:
            assert self.process is not None and self.process.stdout is not None
            for line in self.process.stdout:
                self.log.append(line.rstrip())
                if "media listening" in line and not self.media_ports:
                    self.media_ports = [int(p) for p in re.findall(re.escape(self.host) + r":(\d+)", line)]
                m = re.search(r"web client: http://" + re.escape(self.host) + r":(\d+)/", line)
                if m:
                    self.http_port = int(m.group(1))
                    ready.set()

        threading.Thread(target=pump, daemon=True).start()
        if not ready.wait(20):
            self.__exit__(None, None, None)
            raise AssertionError("cohort serve did not start:\n" + "\n".join(self.log[-30:]))
        if self.nice:
            self._renice_threads()
        return self

    def _renice_threads(self) -> None:
        """Niceness is per thread on Linux, and the event loops' threads do
        not keep the main thread's: set it on every thread of the server."""
        assert self.process is not None
        for tid in os.listdir(f"/proc/{self.process.pid}/task"):
            try:
                os.setpriority(os.PRIO_PROCESS, int(tid), self.nice)
            except (ProcessLookupError, PermissionError):
                pass

    def __exit__(self, *exc: object) -> None:
        stop_process_group(self.process, 5)
        if self._records_dir is not None:
            shutil.rmtree(self._records_dir, ignore_errors=True)

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.http_port}/ws"

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.http_port}/"

    def token(self, name: str, role: str = "participant", room: str = "main", ttl: int = 600,
              session: str | None = None, issued_ago: int = 0, sub: str | None = None,
              subject: str | None = None) -> str:
        """A signed join token; ``ttl`` counts from now (negative: already
        expired), ``issued_ago`` moves ``iat`` into the past. Every token
        names one person (`sub`, required by the server): ``sub`` (or
        ``subject``), else the name; ``sub=""`` leaves the claim out."""
        now = int(time.time())
        header = {"alg": "HS256", "typ": "JWT"}
        claims = {"sid": session or self.session, "room": room, "name": name, "role": role,
                  "iat": now - issued_ago, "exp": now + ttl}
        person = sub if sub is not None else subject if subject is not None else name
        if person:
            claims["sub"] = person
        signing_input = _b64(json.dumps(header, separators=(",", ":")).encode()) + "." + \
            _b64(json.dumps(claims, separators=(",", ":")).encode())
        mac = hmac.new(self.secret.encode(), signing_input.encode(), hashlib.sha256).digest()
        return signing_input + "." + _b64(mac)
