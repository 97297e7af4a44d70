"""Several `cohort serve` nodes sharing one PostgreSQL session directory
(docs/SCALE-OUT.md), each on its own loopback address (127.0.0.1, .2, .3 all
live on the namespace's lo), and a client that joins through any of them
and follows `redirect`.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field

from cohort_server import BINARY, CohortServer, stop_process_group
from peer import AiortcParticipant
from signalling import CohortSignalling, SignallingError


def free_port(address: str) -> int:
    with socket.socket() as s:
        s.bind((address, 0))
        return s.getsockname()[1]


@dataclass
class Node:
    """One node: `--directory`, its own address for HTTP and media."""

    name: str
    address: str
    directory: str
    secret: str
    extra_args: list[str] = field(default_factory=list)
    extra_env: dict[str, str] = field(default_factory=dict)
    binary: str = BINARY
    http_port: int = 0
    process: subprocess.Popen | None = None
    log: list[str] = field(default_factory=list)

    def __enter__(self) -> "Node":
        self.http_port = self.http_port or free_port(self.address)
        env = dict(os.environ, COHORT_SECRET=self.secret, **self.extra_env)
        self.process = subprocess.Popen(
            [self.binary, "serve", "--directory", self.directory, "--records-node", self.name,
             "--http", f"{self.address}:{self.http_port}", "--media", f"{self.address}:0",
             "--log-level", os.environ.get("COHORT_LOG_LEVEL", "info"), *self.extra_args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, start_new_session=True)
        ready = threading.Event()

        def pump() -> None:
            assert self.process is not None and self.process.stdout is not None
            for line in self.process.stdout:
                self.log.append(line.rstrip())
                if f"web client: http://{self.address}:{self.http_port}/" in line:
                    ready.set()

        threading.Thread(target=pump, daemon=True).start()
        if not ready.wait(20):
            self.__exit__(None, None, None)
            raise AssertionError(f"node {self.name} did not start:\n" + "\n".join(self.log[-30:]))
        return self

    def __exit__(self, *exc: object) -> None:
        stop_process_group(self.process, 10)

    def kill(self) -> None:
        """SIGKILL: no leave, no heartbeat, sockets closed by the kernel."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(5)

    @property
    def base_url(self) -> str:
        return f"http://{self.address}:{self.http_port}/"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.address}:{self.http_port}/ws"

    def wait_log(self, pattern: str, timeout: float, since: int = 0) -> str:
        """The first log line from index ``since`` matching ``pattern`` (AssertionError otherwise)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.log[since:]:
                if re.search(pattern, line):
                    return line
            time.sleep(0.05)
        raise AssertionError(f"{self.name}: no log line like {pattern!r} in {timeout} s:\n" + "\n".join(self.log[-20:]))

    def joined_sessions(self, since: int = 0) -> list[str]:
        """The session of every `joined` line this node logged: the server's own view."""
        return [m.group(1) for line in self.log[since:] if line.endswith(" joined")
                for m in [re.search(r"session=(\S+)", line)] if m]


def minter(secret: str) -> CohortServer:
    """A CohortServer that is never started, for its token minting."""
    return CohortServer(secret=secret)


async def join_anywhere(peer: AiortcParticipant, entry: str, token: str, *, hops: int = 3,
                        timeout: float = 10.0) -> tuple[str, int]:
    """Join through ``entry`` and follow up to ``hops`` redirects, as the
    web client does. Returns (the WebSocket URL joined, redirects followed);
    raises SignallingError on a refusal, OSError when a node cannot be reached."""
    offer = await peer.build_offer(timeout)
    url = entry
    for hop in range(hops + 1):
        sig = CohortSignalling(url, timeout=timeout)
        await sig.connect()
        try:
            reply = await sig.request({"type": "join", "token": token, "name": peer.name, "sdp": offer,
                                       "audioMode": "forward"})
        except BaseException:
            await sig.close()
            raise
        if reply.get("type") == "redirect":
            await sig.close()
            url = reply["url"]
            continue
        if reply.get("type") != "joined":
            await sig.close()
            raise SignallingError("unexpected-reply", str(reply.get("type")), reply)
        peer.signalling = sig
        peer.joined = reply
        await peer.accept_answer(reply["sdp"])
        return url, hop
    raise SignallingError("too-many-redirects", f"more than {hops} redirects from {entry}")
