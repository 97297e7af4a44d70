"""ICE restart and an address change mid-call, with real peers (issue 13,
points 3 and 4), judged by content: each speaker sends its own tone and the
listener's slot for it must hold that tone before and after.

Address change without restart (aiortc): Ann's media socket moves to
another loopback address (127.0.0.3, .4, ...; the namespace's ``lo`` carries
all of 127/8), as after a NAT rebinding: same ICE credentials, new source
address, and whatever reaches the old address is lost.  The server takes
the new address only after a check from it that it verifies with its own
(RFC 7675); aiortc checks consent every 4-6 s and does not nominate, so the
gap is up to one consent round.  Measured at Bob (aiortc): the largest
gap between arriving RTP packets in the slot carrying Ann's tone around
each move; and at Ann, in Bob's slot.

ICE restart (Chromium): Ann joins through the client library in headless
Chromium and restarts ICE through it (``restartIce``: createOffer with
iceRestart, ``ice-restart``, the answer) several times while Bob (aiortc)
records her tone.  Each restart must change the server's ufrag in the
answer and Chromium's selected candidate pair, keep DTLS (the transport's
``dtlsState`` stays ``connected``, the server counts no new DTLS handshake
and no DTLS restart) and the slot map, and complete on the server
(``cohort_ice_restarts_total{stage="completed"}``).  Then a restart that
names Bob, or uses Bob's ICE ufrag, is refused with ``forbidden`` and
changes nothing: Bob keeps hearing Ann; and a restart the server refuses
rolls the library's offer back (signalling state ``stable``) with the call
going on.

Address change under Chromium: the same NAT moves Ann's flows to a new
source address five times; Chromium's next check (every 2.5 s, with
USE-CANDIDATE) moves media without an ICE restart.

Network change (Chromium): the server announces 127.0.0.2, where a small
NAT forwards each client flow from its own port; ``cut`` drops every flow
Ann has now, both ways and for good (the network she left), while new flows
pass (her new sockets after a restart, the network she joined). Nobody
tells the client: it notices (3 s without a received byte, before
Chromium's own ``disconnected`` 5-8 s after the cut), restarts ICE by
itself, and Bob hears her tone again; DTLS is kept.

All print their gaps (p50 and max); the bounds asserted are the promise
(one consent round plus a margin; a restart on a working path does not
interrupt audio for long), not the measurement.
"""

from __future__ import annotations

import asyncio
import re
import socket
import statistics
import time
import urllib.request

from chromium import Chromium
from cohort_server import WEB_ROOT, CohortServer
from conftest import run
from peer import AiortcParticipant
from test_client_library_chromium import open_lib_page, wait_page

TONES = {"ann": 550.0, "bob": 660.0}
CANDIDATES = sorted(TONES.values())
MOVES = 5
RESTARTS = 5


def metrics(server: CohortServer) -> dict[str, float]:
    with urllib.request.urlopen(server.base_url + "metrics", timeout=10) as r:
        text = r.read().decode()
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def arrival_gap(timeline: list[tuple[float, int]], start: float, end: float) -> float:
    """The longest time without an arriving audio packet in [start, end]
    (window edges included), minus one packet time: 0 for uninterrupted
    audio.  Packets, not decoded frames: aiortc's jitter buffer turns one
    lost packet into a 320 ms stall of its output (two CI runs failed the
    0.3 s bound below on exactly that, 300.5 and 301.3 ms), which says
    nothing about whether the path carried media."""
    inside = [t for t, _ in timeline if start <= t <= end]
    assert len(inside) >= 2, f"only {len(inside)} audio packets between {start:.2f} and {end:.2f}"
    gaps = [b - a for a, b in zip(inside, inside[1:])] + [inside[0] - start, end - inside[-1]]
    return max(0.0, max(gaps) - 0.020)


def window_report(timeline: list[tuple[float, int]], start: float, end: float) -> str:
    """Packets and sequence-number holes in [start, end], for failure messages."""
    seqs = sorted({q for t, q in timeline if start <= t <= end})
    holes = (seqs[-1] - seqs[0] + 1 - len(seqs)) if seqs else 0
    return f"{len(seqs)} packets, {holes} missing, gap {arrival_gap(timeline, start, end) * 1000:.0f} ms"


def p50_max(values: list[float]) -> str:
    return f"p50 {statistics.median(values) * 1000:.0f} ms, max {max(values) * 1000:.0f} ms " \
           f"({', '.join(f'{v * 1000:.0f}' for v in values)})"


async def rebind(peer: AiortcParticipant, host: str) -> tuple[tuple, tuple]:
    """Moves the peer's media socket to a new local address, keeping its
    ICE credentials and state: the nominated pair's socket is replaced by
    one bound on ``host``, and the old one stops delivering (a NAT mapping
    that went away). Returns (old, new) local addresses."""
    connection = peer.pc.getTransceivers()[0].receiver.transport.transport._connection
    protocol = connection._nominated[1].protocol
    old = protocol.transport
    before = old.get_extra_info("sockname")
    loop = asyncio.get_running_loop()
    # create_datagram_endpoint hands the new transport to the same protocol (connection_made).
    transport, _ = await loop.create_datagram_endpoint(lambda: protocol, local_addr=(host, 0))
    old.set_protocol(asyncio.DatagramProtocol())
    old.close()
    return before, transport.get_extra_info("sockname")


async def join_aiortc(server: CohortServer, name: str) -> AiortcParticipant:
    peer = AiortcParticipant(name, TONES[name], slots=2, video_format=(160, 120, 5))
    await peer.join_cohort(server.ws_url, server.token(name.capitalize()), name.capitalize())
    return peer


async def slot_of(peer: AiortcParticipant, source_id: str, timeout: float = 15) -> str:
    """The audio mid that carries ``source_id`` in ``peer``'s slot map."""
    def mid() -> str | None:
        slots = peer.signalling.state.slot_map() if peer.signalling else {}
        return next((m for m, s in slots.items() if s.get("participantId") == source_id and s.get("track") == "microphone"), None)
    await peer.wait_until(lambda: mid() is not None, timeout)
    return mid()  # type: ignore[return-value]


def test_address_change_without_restart_moves_media_within_a_consent_round() -> None:
    async def scenario() -> None:
        with CohortServer() as server:
            ann = await join_aiortc(server, "ann")
            bob = await join_aiortc(server, "bob")
            try:
                ann_at_bob = await slot_of(bob, ann.joined["participantId"])
                bob_at_ann = await slot_of(ann, bob.joined["participantId"])
                await bob.wait_until(lambda: TONES["ann"] in bob.heard_tones(CANDIDATES, ann_at_bob, window_s=1.0), 15,
                                     candidates=CANDIDATES)
                await ann.wait_until(lambda: TONES["bob"] in ann.heard_tones(CANDIDATES, bob_at_ann, window_s=1.0), 15,
                                     candidates=CANDIDATES)
                before = metrics(server)
                up, down = [], []
                for i in range(MOVES):
                    await asyncio.sleep(1.0)
                    moved_at = time.monotonic()
                    old, new = await rebind(ann, f"127.0.0.{3 + i}")
                    assert old[0] != new[0], (old, new)
                    # Media resumes both ways once the new address passed the server's check.
                    frames = len(bob.recorders[ann_at_bob].audio_timeline)
                    await bob.wait_until(lambda: any(t > moved_at + 0.1 for t, _ in bob.recorders[ann_at_bob].audio_timeline[frames:])
                                         and any(t > moved_at + 0.1 for t, _ in ann.recorders[bob_at_ann].audio_timeline[-5:]),
                                         12, candidates=CANDIDATES)
                    await asyncio.sleep(1.5)
                    end = time.monotonic()
                    up.append(arrival_gap(bob.recorders[ann_at_bob].rtp_timeline, moved_at - 0.5, end))
                    down.append(arrival_gap(ann.recorders[bob_at_ann].rtp_timeline, moved_at - 0.5, end))
                    # By content: each still hears the other's own tone in the other's slot.
                    assert bob.heard_tones(CANDIDATES, ann_at_bob, window_s=1.0) == {TONES["ann"]}, bob.summary(CANDIDATES)
                    assert ann.heard_tones(CANDIDATES, bob_at_ann, window_s=1.0) == {TONES["bob"]}, ann.summary(CANDIDATES)
                after = metrics(server)
                checks = after.get("cohort_dropped_total{reason=\"unknown-source\"}", 0) - \
                    before.get("cohort_dropped_total{reason=\"unknown-source\"}", 0)
                print(f"\naddress change, {MOVES} moves: gap in Ann's audio at Bob {p50_max(up)}; "
                      f"in Bob's audio at Ann {p50_max(down)}; {checks:.0f} datagrams from not yet verified "
                      "addresses dropped")
                assert checks > 0, "media from the new address before its check was not dropped"
                # aiortc's consent interval is at most 6 s; the check's round trip and the jitter buffer on top.
                assert max(up) < 7.0 and max(down) < 7.0, (up, down)
                assert after['cohort_handshake_seconds_count{phase="dtls"}'] == 2, "DTLS was kept across the moves"
            finally:
                await ann.close()
                await bob.close()

    run(scenario(), timeout=150)


# Chromium side: the library client, its transport's state and the selected pair.
TRANSPORT = """(async () => {
  const pc = libTest.client.peerConnection;
  let t = null, pair = null, local = null;
  const stats = await pc.getStats();
  stats.forEach((s) => { if (s.type === 'transport') t = s; });
  if (t && t.selectedCandidatePairId) pair = stats.get(t.selectedCandidatePairId);
  if (pair) local = stats.get(pair.localCandidateId);
  const ufrag = (pc.remoteDescription.sdp.match(/a=ice-ufrag:(\\S+)/) || [])[1];
  return { dtls: t && t.dtlsState, ice: pc.iceConnectionState, changes: t && t.selectedCandidatePairChanges,
           local: local ? `${local.address}:${local.port}` : null, serverUfrag: ufrag,
           slotsVersion: libTest.client.slotsVersion };
})()"""


def test_ice_restart_from_chromium_keeps_dtls_and_slots_and_refuses_other_participants() -> None:
    async def scenario() -> None:
        with CohortServer(web_root=WEB_ROOT) as server:
            async with Chromium() as browser:
                page = await open_lib_page(browser, server)
                bob = None
                try:
                    joined = await page.evaluate(f"libTest.join({server.token('Ann')!r}, {TONES['ann']})", timeout=20)
                    ann_id = joined["participantId"]
                    bob = await join_aiortc(server, "bob")
                    ann_at_bob = await slot_of(bob, ann_id)
                    await bob.wait_until(lambda: TONES["ann"] in bob.heard_tones(CANDIDATES, ann_at_bob, window_s=1.0), 20,
                                         candidates=CANDIDATES)
                    await wait_page(page, "libTest.client.peerConnection.iceConnectionState === 'connected'", "ICE connected", 10)
                    await page.evaluate("libTest.restarts = []; libTest.client.addEventListener('icerestart', "
                                        "(e) => libTest.restarts.push(e.detail.phase)); true")
                    await asyncio.sleep(3.0)
                    # The same measure over 3 s without a restart: what the path's jitter alone gives.
                    baseline = arrival_gap(bob.recorders[ann_at_bob].rtp_timeline, time.monotonic() - 3.0, time.monotonic())
                    before = metrics(server)
                    first = await page.evaluate(TRANSPORT)
                    assert first["dtls"] == "connected", first
                    gaps, took = [], []
                    state = first
                    for i in range(RESTARTS):
                        await asyncio.sleep(1.5)
                        started = time.monotonic()
                        reply = await page.evaluate("libTest.client.restartIce('test').then((r) => r.type)", timeout=10)
                        assert reply == "ice-restarted", reply
                        # The new ICE session: the server's new ufrag, and Chromium moves to a new pair.
                        deadline = time.monotonic() + 10
                        while True:
                            now = await page.evaluate(TRANSPORT)
                            if now["changes"] > state["changes"] and now["ice"] in ("connected", "completed"):
                                break
                            assert time.monotonic() < deadline, f"restart {i}: no new selected pair: {state} -> {now}"
                            await asyncio.sleep(0.05)
                        took.append(time.monotonic() - started)
                        assert now["serverUfrag"] != state["serverUfrag"], (state, now)
                        assert now["dtls"] == "connected", f"restart {i}: DTLS state {now['dtls']}"
                        assert now["slotsVersion"] == state["slotsVersion"], "a restart changed the slot map"
                        state = now
                        await asyncio.sleep(2.0)
                        gaps.append(arrival_gap(bob.recorders[ann_at_bob].rtp_timeline, started - 0.5, time.monotonic()))
                        assert bob.heard_tones(CANDIDATES, ann_at_bob, window_s=1.0) == {TONES["ann"]}, bob.summary(CANDIDATES)
                    after = metrics(server)
                    assert await page.evaluate("libTest.restarts") == ["start", "done"] * RESTARTS, "only the test's restarts"
                    assert after['cohort_ice_restarts_total{stage="answered"}'] - \
                        before.get('cohort_ice_restarts_total{stage="answered"}', 0) == RESTARTS
                    assert after['cohort_ice_restarts_total{stage="completed"}'] - \
                        before.get('cohort_ice_restarts_total{stage="completed"}', 0) == RESTARTS
                    assert after['cohort_handshake_seconds_count{phase="dtls"}'] == \
                        before['cohort_handshake_seconds_count{phase="dtls"}'] == 2, "a new DTLS handshake"
                    assert after.get("cohort_dtls_restarts_total", 0) == 0
                    print(f"\nICE restart from Chromium, {RESTARTS} restarts on a working path: gap in Ann's audio "
                          f"at Bob {p50_max(gaps)} (3 s without a restart: {baseline * 1000:.0f} ms); "
                          f"restart to new pair {p50_max(took)}; DTLS kept")
                    assert max(gaps) < 1.0, gaps

                    # --- the browser's `online` event restarts ICE by itself (IceRestartPolicy)
                    await page.evaluate("window.dispatchEvent(new Event('online')), true")
                    await wait_page(page, "libTest.restarts.length === 2 * %d + 2" % RESTARTS, "a restart on `online`", 10)
                    assert (await page.evaluate("libTest.restarts.slice(-2)")) == ["start", "done"]
                    await wait_page(page, "libTest.client.peerConnection.iceConnectionState === 'connected'", "ICE connected", 10)
                    after = metrics(server)
                    state = await page.evaluate(TRANSPORT)

                    # --- a restart for someone else is refused and changes nothing
                    bob_id = bob.joined["participantId"]
                    bob_ufrag = re.search(r"a=ice-ufrag:(\S+)", bob.pc.localDescription.sdp).group(1)
                    refusals = await page.evaluate(f"""(async () => {{
                      const pc = libTest.client.peerConnection;
                      const offer = await pc.createOffer({{ iceRestart: true }});
                      const named = await libTest.outcome('ice-restart', {{ sdp: offer.sdp, participantId: {bob_id!r} }});
                      const stolen = offer.sdp.replace(/a=ice-ufrag:\\S+/g, 'a=ice-ufrag:' + {bob_ufrag!r});
                      const ufrag = await libTest.outcome('ice-restart', {{ sdp: stolen }});
                      return [named.code, ufrag.code];
                    }})()""", timeout=10)
                    assert refusals == ["forbidden", "forbidden"], refusals
                    refused = metrics(server)
                    assert refused['cohort_ice_restarts_total{stage="answered"}'] == after['cohort_ice_restarts_total{stage="answered"}']
                    mark = time.monotonic()
                    await asyncio.sleep(3.0)
                    timeline, end = bob.recorders[ann_at_bob].rtp_timeline, time.monotonic()
                    assert arrival_gap(timeline, mark, end) < 0.3, window_report(timeline, mark, end)
                    assert bob.heard_tones(CANDIDATES, ann_at_bob, window_s=1.0) == {TONES["ann"]}
                    final = await page.evaluate(TRANSPORT)
                    assert final["serverUfrag"] == state["serverUfrag"] and final["dtls"] == "connected", final

                    # --- a refused restart through the library rolls its offer back; the call goes on
                    rolled = await page.evaluate("""(async () => {
                      const c = libTest.client, request = c.request.bind(c);
                      c.request = (type, fields) => type === 'ice-restart'
                        ? Promise.reject(new L.CohortError('internal', 'refused by the test')) : request(type, fields);
                      try { await c.restartIce('test'); return 'resolved'; }
                      catch (e) { return [e.code, c.peerConnection.signalingState, libTest.restarts.slice(-2)]; }
                      finally { delete c.request; }
                    })()""", timeout=10)
                    assert rolled == ["internal", "stable", ["start", "failed"]], rolled
                    mark = time.monotonic()
                    await asyncio.sleep(2.0)
                    timeline, end = bob.recorders[ann_at_bob].rtp_timeline, time.monotonic()
                    assert arrival_gap(timeline, mark, end) < 0.3, window_report(timeline, mark, end)
                    assert (await page.evaluate(TRANSPORT))["serverUfrag"] == state["serverUfrag"]
                    assert page.exceptions == [], page.exceptions
                finally:
                    if bob is not None:
                        await bob.close()

    run(scenario(), timeout=150)


# IceRestartPolicy with fake timers and a restart the test resolves.
POLICY = """(async () => {
  const { IceRestartPolicy } = L;
  let now = 0, timers = [], calls = [], pending = [];
  const setTimer = (f, ms) => { const t = { at: now + ms, f }; timers.push(t); return t; };
  const clearTimer = (t) => { timers = timers.filter((x) => x !== t); };
  const advance = async (ms) => {
    const end = now + ms;
    for (;;) {
      timers.sort((a, b) => a.at - b.at);
      const t = timers[0];
      if (!t || t.at > end) break;
      timers.shift(); now = t.at; t.f();
      await new Promise((r) => setTimeout(r, 0));
    }
    now = end;
    await new Promise((r) => setTimeout(r, 0));
  };
  const settle = async (ok) => { const p = pending.shift(); ok ? p.resolve() : p.reject(new Error('x')); await advance(0); };
  const make = () => new IceRestartPolicy({ setTimer, clearTimer, now: () => now,
    restart: (reason) => { calls.push([now, reason]); return new Promise((resolve, reject) => pending.push({ resolve, reject })); } });
  const out = {};

  // disconnected for less than 2 s, then connected again: nothing
  let p = make(); calls = [];
  p.iceState('disconnected'); await advance(1999); p.iceState('connected'); await advance(5000);
  out.shortBlip = calls.slice();

  // disconnected for 2 s: one restart, at 2000 ms
  p = make(); calls = []; now = 0; timers = []; pending = [];
  p.iceState('disconnected'); await advance(2500);
  out.disconnected = calls.slice();
  p.iceState('connected'); await settle(true); await advance(10000);
  out.disconnectedAfter = calls.length;

  // failed: at once; triggers while it runs coalesce into one more, 1 s after it ends
  p = make(); calls = []; now = 0; timers = []; pending = [];
  p.iceState('failed'); await advance(0);
  p.networkChanged(); p.networkChanged(); p.iceState('failed'); await advance(100);
  out.whileRunning = calls.length;
  await settle(true); await advance(999);
  out.beforeRetry = calls.length;
  await advance(1);
  out.coalesced = calls.map((c) => c[1]);
  p.iceState('connected'); await settle(true); await advance(30000);
  out.afterConnected = calls.length;

  // a restart that fails is retried with a doubling delay
  p = make(); calls = []; now = 0; timers = []; pending = [];
  p.networkChanged(); await advance(0); await settle(false);
  await advance(1000); await settle(false);
  await advance(2000); await settle(false);
  await advance(4000);
  out.retries = calls.map((c) => c[0]);

  // closed: nothing more, not even a pending retry
  p.close(); await settle(false); await advance(60000); p.networkChanged(); p.iceState('failed'); await advance(60000);
  out.afterClose = calls.length;
  // 'closed' from the peer connection closes it too
  p = make(); calls = []; now = 0; timers = []; pending = [];
  p.iceState('disconnected'); p.iceState('closed'); await advance(10000); p.networkChanged();
  out.pcClosed = calls.length;

  // silence while ICE says connected: a restart after 3 s without a byte, once; traffic resets the clock
  p = make(); calls = []; now = 0; timers = []; pending = [];
  p.iceState('connected');
  for (let t = 0; t <= 2500; t += 500) { now = t; p.traffic(t < 1000 ? t : 1000); await advance(0); }
  out.silentEarly = calls.length;
  for (let t = 3000; t <= 6000; t += 500) { now = t; p.traffic(1000); await advance(0); }
  out.silent = calls.slice();
  await settle(true);
  for (let t = 6500; t <= 12000; t += 500) { now = t; p.traffic(2000 + t); await advance(0); }
  out.silentAfter = calls.length;
  // no byte while disconnected is the grace timer's business, not a second restart
  p = make(); calls = []; now = 0; timers = []; pending = [];
  p.iceState('connected'); p.traffic(5); p.iceState('disconnected');
  for (let t = 500; t <= 1900; t += 500) { now = t; p.traffic(5); await advance(0); }
  await advance(1000);
  out.silentDisconnected = calls.map((c) => c[1]);
  return out;
})()"""


def test_ice_restart_policy_logic() -> None:
    async def scenario() -> None:
        with CohortServer(web_root=WEB_ROOT) as server:
            async with Chromium() as browser:
                page = await open_lib_page(browser, server)
                out = await page.evaluate(POLICY, timeout=20)
                assert out["shortBlip"] == [], f"a 2 s blip restarted ICE: {out}"
                assert out["disconnected"] == [[2000, "disconnected"]], out
                assert out["disconnectedAfter"] == 1, out
                assert out["whileRunning"] == 1 and out["beforeRetry"] == 1, f"restarts overlapped: {out}"
                assert out["coalesced"] == ["failed", "failed"], f"triggers during a restart: {out}"
                assert out["afterConnected"] == 2, out
                assert out["retries"] == [0, 1000, 3000, 7000], f"retry delays: {out}"
                assert out["afterClose"] == 4 and out["pcClosed"] == 0, out
                assert out["silentEarly"] == 0, f"restarted before 3 s of silence: {out}"
                assert out["silent"] == [[4000, "silent"]], f"silence: {out}"
                assert out["silentAfter"] == 1, out
                assert out["silentDisconnected"] == ["disconnected"], out
                assert page.exceptions == [], page.exceptions

    run(scenario(), timeout=60)


class NetworkChange:
    """A NAT on loopback between the clients and the server (the server
    announces 127.0.0.2): each client flow leaves from its own 127.0.0.1
    port towards the server's media port. ``rebind(keep, host)`` moves every
    flow but ``keep``'s to a new source address. ``cut(keep)`` drops every flow
    that exists now, except those of the client addresses in ``keep``,
    in both directions and for good; flows that start later pass."""

    def __init__(self, media_ports: list[int]) -> None:
        self.media_ports = media_ports
        self.listeners: dict[int, asyncio.DatagramTransport] = {}
        self.flows: dict[tuple, socket.socket] = {}
        self.dead: set[tuple] = set()
        self._port_of: dict[tuple, int] = {}

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        for port in self.media_ports:
            nat = self

            class Listener(asyncio.DatagramProtocol):
                def datagram_received(self, data: bytes, addr, port=port) -> None:  # noqa: ANN001
                    nat._up(port, addr, data)

            transport, _ = await loop.create_datagram_endpoint(Listener, local_addr=("127.0.0.2", port))
            self.listeners[port] = transport

    def _up(self, port: int, client: tuple, data: bytes) -> None:
        if client in self.dead:
            return
        sock = self.flows.get(client)
        if sock is None:
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind(("127.0.0.1", 0))
            sock.setblocking(False)
            asyncio.get_running_loop().add_reader(sock.fileno(), self._down, sock, port, client)
            self.flows[client] = sock
            self._port_of[client] = port
        try:
            sock.sendto(data, ("127.0.0.1", port))
        except OSError:
            pass

    def _down(self, sock: socket.socket, port: int, client: tuple) -> None:
        try:
            data = sock.recv(65536)
        except OSError:
            return
        if client not in self.dead:
            self.listeners[port].sendto(data, client)

    def rebind(self, keep: set[tuple], host: str) -> int:
        """Every flow except those of ``keep`` leaves from a new socket on
        ``host`` from now on, and the old one is closed: a NAT that lost its
        mapping, or a device whose address changed under the same ICE session."""
        loop = asyncio.get_running_loop()
        moved = 0
        for client, old in list(self.flows.items()):
            if client in keep or client in self.dead:
                continue
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind((host, 0))
            sock.setblocking(False)
            port = next(p for p in self.media_ports if self._port_of.get(client) == p)
            loop.add_reader(sock.fileno(), self._down, sock, port, client)
            self.flows[client] = sock
            loop.remove_reader(old.fileno())
            old.close()
            moved += 1
        return moved

    def cut(self, keep: set[tuple]) -> int:
        gone = [c for c in self.flows if c not in keep and c not in self.dead]
        self.dead.update(gone)
        return len(gone)

    def close(self) -> None:
        loop = asyncio.get_running_loop()
        for sock in self.flows.values():
            loop.remove_reader(sock.fileno())
            sock.close()
        for t in self.listeners.values():
            t.close()


async def ann_heard_by_bob(page, server: CohortServer, peers: list) -> tuple[dict, AiortcParticipant, str]:  # noqa: ANN001
    """Ann joins on the library page with her tone, Bob (aiortc) joins and
    hears her: Ann's join reply, Bob (also appended to ``peers``, for the
    caller to close) and the slot Bob hears her on."""
    joined = await page.evaluate(f"libTest.join({server.token('Ann')!r}, {TONES['ann']})", timeout=20)
    bob = await join_aiortc(server, "bob")
    peers.append(bob)
    ann_at_bob = await slot_of(bob, joined["participantId"])
    await bob.wait_until(lambda: TONES["ann"] in bob.heard_tones(CANDIDATES, ann_at_bob, window_s=1.0), 20,
                         candidates=CANDIDATES)
    return joined, bob, ann_at_bob


def local_address(peer: AiortcParticipant) -> tuple:
    connection = peer.pc.getTransceivers()[0].receiver.transport.transport._connection
    return connection._nominated[1].protocol.transport.get_extra_info("sockname")


def test_network_change_chromium_restarts_ice_by_itself() -> None:
    async def scenario() -> None:
        with CohortServer(web_root=WEB_ROOT, announce="127.0.0.2") as server:
            nat = NetworkChange(server.media_ports)
            await nat.start()
            async with Chromium() as browser:
                page = await open_lib_page(browser, server)
                peers: list[AiortcParticipant] = []
                try:
                    joined, bob, ann_at_bob = await ann_heard_by_bob(page, server, peers)
                    await page.evaluate("libTest.restarts = []; libTest.client.addEventListener('icerestart', "
                                        "(e) => libTest.restarts.push([e.detail.reason, e.detail.phase, Date.now()])); "
                                        "libTest.ice = []; const pc = libTest.client.peerConnection; "
                                        "pc.addEventListener('iceconnectionstatechange', "
                                        "() => libTest.ice.push([pc.iceConnectionState, Date.now()])); true")
                    keep = {local_address(bob)}
                    before = metrics(server)
                    gaps, reasons, phases = [], [], []
                    for i in range(3):
                        await asyncio.sleep(2.0)
                        restarts = len(await page.evaluate("libTest.restarts"))
                        cut_at, cut_wall = time.monotonic(), time.time() * 1000
                        assert nat.cut(keep) >= 1, "nothing of Ann's to cut"
                        frames = len(bob.recorders[ann_at_bob].audio_timeline)
                        await bob.wait_until(lambda: any(t > cut_at + 0.5 for t, _ in
                                                         bob.recorders[ann_at_bob].audio_timeline[frames:]),
                                             25, candidates=CANDIDATES)
                        await asyncio.sleep(1.5)
                        gaps.append(arrival_gap(bob.recorders[ann_at_bob].rtp_timeline, cut_at - 0.5, time.monotonic()))
                        assert bob.heard_tones(CANDIDATES, ann_at_bob, window_s=1.0) == {TONES["ann"]}, bob.summary(CANDIDATES)
                        events = (await page.evaluate("libTest.restarts"))[restarts:]
                        assert not any(p == "failed" for _, p, _ in events) and any(p == "done" for _, p, _ in events), events
                        reasons.append(events[0][0])
                        ice = [(st, t) for st, t in await page.evaluate("libTest.ice") if t >= cut_wall]
                        lost = next((t - cut_wall for st, t in ice if st in ("disconnected", "failed")), None)
                        done = next(t for _, p, t in events if p == "done")
                        phases.append((events[0][2] - cut_wall, done - cut_wall, lost))
                        state = await page.evaluate(TRANSPORT)
                        assert state["dtls"] == "connected", state
                    after = metrics(server)
                    assert after['cohort_handshake_seconds_count{phase="dtls"}'] == \
                        before['cohort_handshake_seconds_count{phase="dtls"}'], "a new DTLS handshake"
                    assert after['cohort_ice_restarts_total{stage="completed"}'] >= 3
                    print(f"\nnetwork change (old path dropped, Chromium restarts ICE by itself, reasons {reasons}): "
                          f"gap in Ann's audio at Bob {p50_max(gaps)}; DTLS kept; ms from the cut to "
                          f"(restart sent, answer applied, Chromium's own `disconnected` or none): "
                          f"{[tuple(None if x is None else round(x) for x in ph) for ph in phases]}")
                    assert max(gaps) < 6.0, gaps
                    assert page.exceptions == [], page.exceptions
                finally:
                    for peer in peers:
                        await peer.close()
                    nat.close()

    run(scenario(), timeout=150)


def test_address_change_under_chromium_moves_media_without_restart() -> None:
    """The web client's flows leave from a new address (127.0.0.3, .4, ...)
    mid-call, same ICE session: Chromium's next check from there (every
    2.5 s on the selected pair, with USE-CANDIDATE) is verified by the
    server's own check and media moves; no ICE restart is needed."""
    async def scenario() -> None:
        with CohortServer(web_root=WEB_ROOT, announce="127.0.0.2") as server:
            nat = NetworkChange(server.media_ports)
            await nat.start()
            async with Chromium() as browser:
                page = await open_lib_page(browser, server)
                peers: list[AiortcParticipant] = []
                try:
                    joined, bob, ann_at_bob = await ann_heard_by_bob(page, server, peers)
                    await page.evaluate("libTest.restarts = []; libTest.client.addEventListener('icerestart', "
                                        "(e) => libTest.restarts.push(e.detail.phase)); true")
                    keep = {local_address(bob)}
                    before = metrics(server)
                    gaps, restarted = [], 0
                    for i in range(MOVES):
                        await asyncio.sleep(2.0)
                        restarts = len(await page.evaluate("libTest.restarts"))
                        moved_at = time.monotonic()
                        assert nat.rebind(keep, f"127.0.0.{3 + i}") >= 1, "nothing of Ann's to move"
                        frames = len(bob.recorders[ann_at_bob].audio_timeline)
                        await bob.wait_until(lambda: any(t > moved_at + 0.1 for t, _ in
                                                         bob.recorders[ann_at_bob].audio_timeline[frames:]),
                                             12, candidates=CANDIDATES)
                        await asyncio.sleep(1.5)
                        gaps.append(arrival_gap(bob.recorders[ann_at_bob].rtp_timeline, moved_at - 0.5, time.monotonic()))
                        assert bob.heard_tones(CANDIDATES, ann_at_bob, window_s=1.0) == {TONES["ann"]}, bob.summary(CANDIDATES)
                        restarted += len(await page.evaluate("libTest.restarts")) > restarts
                    after = metrics(server)
                    # The checks move media within Chromium's 2.5 s check interval, before the
                    # library's 3 s silence rule would restart; a move that takes longer may
                    # still see a (harmless) restart, so most, not all, must do without.
                    assert restarted <= 2, f"{restarted} of {MOVES} moves needed an ICE restart"
                    assert after['cohort_handshake_seconds_count{phase="dtls"}'] == \
                        before['cohort_handshake_seconds_count{phase="dtls"}'], "a new DTLS handshake"
                    dropped = after.get('cohort_dropped_total{reason="unknown-source"}', 0) - \
                        before.get('cohort_dropped_total{reason="unknown-source"}', 0)
                    print(f"\naddress change under Chromium, {MOVES} moves: gap in Ann's audio at Bob {p50_max(gaps)}; "
                          f"{dropped:.0f} datagrams from not yet verified addresses dropped; ICE restarts: {restarted}")
                    # Chromium checks its selected pair every 2.5 s: one round, the check's round trip, the jitter buffer.
                    assert max(gaps) < 4.0, gaps
                    assert page.exceptions == [], page.exceptions
                finally:
                    for peer in peers:
                        await peer.close()
                    nat.close()

    run(scenario(), timeout=150)
