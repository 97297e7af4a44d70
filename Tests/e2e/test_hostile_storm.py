"""A command storm in one session against a load-test call in another
(issue 14, items 2 and 3).

Twenty clients join session "storm" with the longest name the server takes
(the attack: a 50 KB name of one grapheme cluster; a server that refuses it
gets the longest legal name instead) and then, as fast as their sockets
allow, toggle their hands and send the longest chat lines, while
`cohort-loadtest` runs its smoke call (two sessions of four, audio and
video) against the same server. The call is measured twice, alone and under
the storm:

- its loss stays under 1 % and its audio latency p99 within noise of the
  clean run (at most 2x the clean p99 plus 20 ms);
- `/healthz` answers within 1 s throughout;
- the server's RSS stays under a stated bound;
- what the storm makes the server send (bytes to the storm clients) per byte
  it sends stays bounded, and most of its commands are refused with
  `rate-limited`.

The release server (it is the one clinics run); the load test is the debug
build the suite already has. Everything on loopback, bounded in time.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import threading
import time
import urllib.request

from cohort_server import RELEASE_BINARY, ROOT, CohortServer
from conftest import run
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosedOK

LOADTEST = os.environ.get("COHORT_LOADTEST_BINARY", os.path.join(ROOT, ".build", "debug", "cohort-loadtest"))
STORM_CLIENTS = 20
STORM_SECONDS = 12.0
CALL_SECONDS = 8
RSS_BOUND_MIB = 400


def documented_offer() -> str:
    """The worked example offer of docs/CLIENTS.md: a valid join offer
    (signalling only here; its media never connects within the test)."""
    text = open(os.path.join(ROOT, "docs", "CLIENTS.md"), encoding="utf-8").read()
    block = re.search(r"<!-- pinned: offer -->\s*```[^\n]*\n(.*?)```", text, re.S)
    assert block, "docs/CLIENTS.md has no pinned offer"
    return block.group(1).replace("\n", "\r\n")


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class Watch:
    """Samples /healthz latency and the server's RSS every 200 ms in a thread."""

    def __init__(self, server: CohortServer) -> None:
        self.url = server.base_url + "healthz"
        self.pid = server.process.pid
        self.worst_health = 0.0
        self.health_failures: list[str] = []
        self.peak_rss = rss_mib(self.pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                with urllib.request.urlopen(self.url, timeout=2) as r:
                    r.read()
                self.worst_health = max(self.worst_health, time.monotonic() - started)
            except Exception as e:  # noqa: BLE001 - any failure is a finding
                self.health_failures.append(f"{type(e).__name__}: {e}")
            self.peak_rss = max(self.peak_rss, rss_mib(self.pid))
            self._stop.wait(0.2)

    def __enter__(self) -> "Watch":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


def load_call(server: CohortServer, results: str) -> dict:
    """One smoke load-test call against `server`; its report.json."""
    before = set(os.listdir(results)) if os.path.isdir(results) else set()
    proc = subprocess.run([LOADTEST, "smoke", "--server", server.ws_url, "--secret", server.secret,
                           "--server-pid", str(server.process.pid), "--duration", str(CALL_SECONDS),
                           "--results", results, "--quiet"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    new = sorted(set(os.listdir(results)) - before)
    assert new, f"the load test wrote no report (rc {proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    with open(os.path.join(results, new[-1], "report.json")) as f:
        report = json.load(f)
    report["_rc"] = proc.returncode
    return report


def loss_percent(report: dict) -> float:
    s = report["streams"]
    return 100.0 * s["lost"] / max(1, s["expected"])


class StormClient:
    """One storm participant: joins, then floods hand toggles and chat."""

    def __init__(self, server: CohortServer, index: int, offer: str) -> None:
        self.server, self.index, self.offer = server, index, offer
        self.sent_bytes = 0
        self.received_bytes = 0
        self.codes: dict[str, int] = {}
        self.name_bytes = 0
        self.rejoins = 0

    async def run(self, until: float) -> None:
        # Its media never connects, so the server drops it after 10 s
        # (`dtls-failed`); a persistent attacker joins again.
        while time.monotonic() < until:
            try:
                await self._flood(until)
            except ConnectionClosedOK:
                self.rejoins += 1

    async def _flood(self, until: float) -> None:
        async with connect(self.server.ws_url, max_size=None, max_queue=None) as ws:
            joined = await self._join(ws)
            assert joined.get("type") == "joined", joined
            reader = asyncio.ensure_future(self._read(ws))
            chat = "€" * 2000  # the longest chat line: 2000 characters, 6 KB
            n = 0
            try:
                while time.monotonic() < until:
                    for message in ({"type": "hand", "id": f"h{n}", "raised": n % 2 == 0},
                                    {"type": "chat", "id": f"c{n}", "text": chat}):
                        text = json.dumps(message, ensure_ascii=False)
                        await ws.send(text)
                        self.sent_bytes += len(text.encode())
                    n += 1
                    await asyncio.sleep(0)  # let the reader run
            finally:
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)

    async def _join(self, ws) -> dict:
        # The attack's name first: one grapheme cluster of 50 KB (with the offer, under the 64 KiB message limit).
        for name in ("a" + "\u0301" * 25_000, "👨‍👩‍👧‍👦" * 10):
            await ws.send(json.dumps({"type": "join", "id": "j", "token": self.server.token(f"s{self.index}", session="storm"),
                                      "name": name, "sdp": self.offer}, ensure_ascii=False))
            while True:
                reply = json.loads(await ws.recv())
                if reply.get("id") == "j":
                    break
            if reply.get("type") == "joined":
                self.name_bytes = len(name.encode())
                return reply
        return reply

    async def _read(self, ws) -> None:
        async for raw in ws:
            self.received_bytes += len(raw.encode() if isinstance(raw, str) else raw)
            if isinstance(raw, str) and '"type":"error"' in raw:
                code = json.loads(raw).get("code", "?")
                self.codes[code] = self.codes.get(code, 0) + 1


def test_a_command_storm_in_one_session_does_not_hurt_a_call_in_another(tmp_path) -> None:
    results = str(tmp_path / "results")
    offer = documented_offer()
    with CohortServer(binary=RELEASE_BINARY) as server:
        clean = load_call(server, results)
        rss_start = rss_mib(server.process.pid)
        clients = [StormClient(server, i, offer) for i in range(STORM_CLIENTS)]

        async def storm() -> None:
            until = time.monotonic() + STORM_SECONDS
            await asyncio.gather(*(c.run(until) for c in clients))

        with Watch(server) as watch:
            failures: list[BaseException] = []

            def storm_main() -> None:
                try:
                    run(storm(), timeout=STORM_SECONDS + 60)
                except BaseException as e:  # noqa: BLE001 - reported below
                    failures.append(e)

            storm_thread = threading.Thread(target=storm_main, daemon=True)
            storm_thread.start()
            time.sleep(2)  # the storm is up before the call starts
            stormy = load_call(server, results)
            storm_thread.join(STORM_SECONDS + 70)
        rss_end = rss_mib(server.process.pid)

    sent = sum(c.sent_bytes for c in clients)
    received = sum(c.received_bytes for c in clients)
    codes: dict[str, int] = {}
    for c in clients:
        for k, v in c.codes.items():
            codes[k] = codes.get(k, 0) + v
    clean_p99, stormy_p99 = clean["audioLatency"]["p99"], stormy["audioLatency"]["p99"]
    print(f"\nstorm: {STORM_CLIENTS} clients, names of {clients[0].name_bytes} bytes, {sent / 1e6:.1f} MB in, "
          f"{received / 1e6:.1f} MB out to them ({received / max(1, sent):.2f}x), errors {codes}, "
          f"{sum(c.rejoins for c in clients)} rejoins")
    print(f"call alone: loss {loss_percent(clean):.3f} %, audio p50 {clean['audioLatency']['p50']:.2f} ms p99 {clean_p99:.2f} ms")
    print(f"call in storm: loss {loss_percent(stormy):.3f} %, audio p50 {stormy['audioLatency']['p50']:.2f} ms p99 {stormy_p99:.2f} ms")
    print(f"server RSS: {rss_start:.0f} MiB before, {watch.peak_rss:.0f} MiB peak, {rss_end:.0f} MiB after; "
          f"/healthz worst {watch.worst_health * 1000:.0f} ms, failures {len(watch.health_failures)}")

    assert clean["_rc"] == 0 and loss_percent(clean) < 1.0, "the clean call itself failed"
    assert not storm_thread.is_alive(), "the storm did not stop"
    assert not failures, f"a storm client failed: {failures[0]!r}"
    assert all(c.name_bytes <= 256 for c in clients), "a name over 256 bytes was accepted"
    assert stormy["counters"]["isolationViolations"] == 0
    assert loss_percent(stormy) < 1.0, f"the call lost {loss_percent(stormy):.2f} % under the storm"
    assert stormy_p99 <= 2 * clean_p99 + 20, f"audio p99 {stormy_p99:.1f} ms under the storm, {clean_p99:.1f} ms alone"
    assert not watch.health_failures and watch.worst_health < 1.0, (watch.worst_health, watch.health_failures[:3])
    assert watch.peak_rss < RSS_BOUND_MIB, f"RSS peaked at {watch.peak_rss:.0f} MiB"
    assert codes.get("rate-limited", 0) > 0, f"no command was rate-limited: {codes}"
    assert received < 20 * sent, f"the storm was amplified {received / sent:.1f}x"
