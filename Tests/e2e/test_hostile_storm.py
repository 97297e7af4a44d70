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
import threading
import time

from cohort_server import RELEASE_BINARY, ROOT, CohortServer
from conftest import run
from hostile import LoadCall, Watch, rss_mib
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosedOK

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


def test_a_command_storm_in_one_session_does_not_hurt_a_call_in_another() -> None:
    offer = documented_offer()
    with CohortServer(binary=RELEASE_BINARY) as server:
        clean = LoadCall(server, CALL_SECONDS).start()
        clean.join()
        rss_start = rss_mib(server.process.pid)
        clients = [StormClient(server, i, offer) for i in range(STORM_CLIENTS)]
        failures: list[BaseException] = []

        async def storm() -> None:
            until = time.monotonic() + STORM_SECONDS
            await asyncio.gather(*(c.run(until) for c in clients))

        def storm_main() -> None:
            try:
                run(storm(), timeout=STORM_SECONDS + 60)
            except BaseException as e:  # noqa: BLE001 - reported below
                failures.append(e)

        with Watch(server) as watch:
            storm_thread = threading.Thread(target=storm_main, daemon=True)
            storm_thread.start()
            time.sleep(2)  # the storm is up before the call starts
            stormy = LoadCall(server, CALL_SECONDS).start()
            stormy.join()
            storm_thread.join(STORM_SECONDS + 70)
            rss_end = watch.settle()

        sent = sum(c.sent_bytes for c in clients)
        received = sum(c.received_bytes for c in clients)
        codes: dict[str, int] = {}
        for c in clients:
            for k, v in c.codes.items():
                codes[k] = codes.get(k, 0) + v
        clean_p99, stormy_p99 = clean.report["audioLatency"]["p99"], stormy.report["audioLatency"]["p99"]
        print(f"\nstorm: {STORM_CLIENTS} clients, names of {clients[0].name_bytes} bytes, {sent / 1e6:.1f} MB in, "
              f"{received / 1e6:.1f} MB out to them ({received / max(1, sent):.2f}x), errors {codes}, "
              f"{sum(c.rejoins for c in clients)} rejoins")
        print(f"call alone: loss {clean.loss_percent:.3f} %, audio p50 {clean.report['audioLatency']['p50']:.2f} ms p99 {clean_p99:.2f} ms")
        print(f"call in storm: loss {stormy.loss_percent:.3f} %, audio p50 {stormy.report['audioLatency']['p50']:.2f} ms "
              f"p99 {stormy_p99:.2f} ms")
        print(watch.row("storm", f"{STORM_CLIENTS} clients: hand toggles and 6 KB chat lines as fast as TCP takes them",
                        f"RSS < {RSS_BOUND_MIB} MiB, call's audio p99 <= 2x alone + 20 ms", rss_end, stormy))

        clean.check()
        assert not storm_thread.is_alive(), "the storm did not stop"
        assert not failures, f"a storm client failed: {failures[0]!r}"
        assert all(c.name_bytes <= 256 for c in clients), "a name over 256 bytes was accepted"
        stormy.check()
        assert stormy_p99 <= 2 * clean_p99 + 20, f"audio p99 {stormy_p99:.1f} ms under the storm, {clean_p99:.1f} ms alone"
        watch.check(RSS_BOUND_MIB - rss_start, RSS_BOUND_MIB - rss_start, rss_end)
        assert codes.get("rate-limited", 0) > 0, f"no command was rate-limited: {codes}"
        assert received < 20 * sent, f"the storm was amplified {received / sent:.1f}x"
