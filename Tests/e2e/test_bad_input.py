"""Bad input against a live Cohort server.

(a) Junk UDP at the media port, beside a two-participant call: random
    datagrams of every RFC 7983 first-byte class, 5000 per second from four
    source ports.  While it flows the call must lose no audio: a kernel-
    timestamped capture (udp_sniffer.py) shows every audio packet forwarded
    into the other's slot, with a median forwarding delay under 60 ms; the
    receivers decode every 20 ms frame (no media-time gap) and hear the
    tone in every second of the 5 s window.
(b) Bad WebSocket input: garbage, invalid JSON, oversized messages, offers
    the engine must refuse, bad and expired tokens.  Each gets the error
    code and close code docs/PROTOCOL.md promises, and the server keeps
    serving.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import sys
import time
import urllib.request

from cohort_server import CohortServer
from conftest import run
from peer import AiortcParticipant
from tones import present_tones
from udp_sniffer import UDPSniffer, forwarding
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

HERE = os.path.dirname(os.path.abspath(__file__))
TONES = {"ann": 440.0, "bob": 660.0}
CANDIDATES = sorted(TONES.values())

JUNK_RATE = 5000.0      # datagrams per second
JUNK_SECONDS = 7.0
WINDOW_SECONDS = 5.0    # measured while junk flows
MAX_MEDIAN_DELAY_S = 0.060  # median forwarding delay allowed while junk flows
MAX_LATE_S = 1.0            # no audio packet later than this


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def media_port(answer_sdp: str) -> int:
    """The UDP port of the server's host candidate (RFC 8839 §5.1)."""
    ports = {int(m.group(1)) for m in re.finditer(r"a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 (\d+) typ host", answer_sdp, re.I)}
    assert len(ports) == 1, f"expected one host candidate port in the answer: {ports}\n{answer_sdp}"
    return ports.pop()


def ice_ufrag(sdp: str) -> str:
    m = re.search(r"a=ice-ufrag:(\S+)", sdp)
    assert m, "no ice-ufrag"
    return m.group(1)


def local_port(offer_sdp: str) -> int:
    """The port of the client's (single, loopback) host candidate."""
    ports = {int(m.group(1)) for m in re.finditer(r"a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 (\d+) typ host", offer_sdp, re.I)}
    assert len(ports) == 1, f"expected one local candidate port: {ports}"
    return ports.pop()


def ssrcs_by_mid(sdp: str) -> dict[str, list[int]]:
    """a=ssrc ids (RFC 5576) of each m-section, by mid."""
    out: dict[str, list[int]] = {}
    for section in sdp.split("\r\nm=")[1:]:
        mid = re.search(r"a=mid:(\S+)", section)
        if mid:
            out[mid.group(1)] = sorted({int(x) for x in re.findall(r"a=ssrc:(\d+) ", section)})
    return out


def me_send_audio_mid(p: AiortcParticipant) -> str:
    return p.send_audio.mid


def engine_counters(log: list[str]) -> dict[int, dict[str, int]]:
    """The latest `engine counters` debug line of each media loop."""
    latest: dict[int, dict[str, int]] = {}
    for line in log:
        if "engine counters" not in line:
            continue
        loop = re.search(r"loop=(\d+)", line)
        if loop:
            latest[int(loop.group(1))] = {k: int(v) for k, v in re.findall(r"(\w+): (\d+)", line)}
    return latest


def dropped_total(counters: dict[int, dict[str, int]]) -> int:
    keys = ("stunDropped", "unknownSourceDropped", "unknownKindDropped", "srtpFailed", "malformedMedia")
    return sum(c.get(k, 0) for c in counters.values() for k in keys)


def audio_gaps(timeline: list[tuple[float, int]], start: float, end: float) -> tuple[int, float, float]:
    """(frames, largest media-time step in s, largest arrival gap in s) of
    the decoded frames that arrived in [start, end].  A lost packet shows as
    a media-time (pts) step above 20 ms; aiortc holds later packets until
    its jitter buffer gives up on the missing one, so loss also shows as an
    arrival gap."""
    inside = [(t, pts) for t, pts in timeline if start <= t <= end]
    assert len(inside) >= 2, f"only {len(inside)} audio frames in the window"
    max_step = max((b[1] - a[1]) / 48000 for a, b in zip(inside, inside[1:]))
    max_gap = max(b[0] - a[0] for a, b in zip(inside, inside[1:]))
    # The window edges count too: nothing may be missing before the first
    # or after the last frame inside it.
    max_gap = max(max_gap, inside[0][0] - start, end - inside[-1][0])
    return len(inside), max_step, max_gap


async def join_pair(server: CohortServer, video: bool) -> dict[str, AiortcParticipant]:
    peers: dict[str, AiortcParticipant] = {}
    for name, hz in TONES.items():
        p = AiortcParticipant(name, hz, video=video)
        peers[name] = p
        await p.join_cohort(server.ws_url, server.token(name), name)
    return peers


async def wait_hearing(peers: dict[str, AiortcParticipant], timeout: float, video: bool) -> dict[str, str]:
    """Waits until each peer hears the other's tone in the other's slot (and
    decodes its video); returns name → the mid carrying the other's audio."""
    pid = {n: p.joined["participantId"] for n, p in peers.items()}
    mids: dict[str, str] = {}
    for name, me in peers.items():
        other = next(o for o in peers if o != name)

        def ok() -> bool:
            audio = me.signalling.state.mids_of(pid[other], "audio")
            if len(audio) != 1 or me.heard_tones(CANDIDATES, audio[0]) != {TONES[other]}:
                return False
            if not video:
                return True
            mids = me.signalling.state.mids_of(pid[other], "video")
            return len(mids) == 1 and me.video_frames_by_mid().get(mids[0], 0) >= 5

        await me.wait_until(ok, timeout=timeout, candidates=CANDIDATES)
        mids[name] = me.signalling.state.mids_of(pid[other], "audio")[0]
    return mids


# ---------------------------------------------------------------------------
# (a) junk UDP beside a call
# ---------------------------------------------------------------------------


def test_junk_udp_at_the_media_port_does_not_disturb_a_call() -> None:
    async def scenario() -> None:
        # The server runs at a higher priority than everything else here and
        # the junk sender at a lower one: the test judges the server's
        # handling of junk, not how busy the machine is.
        with CohortServer(log_level="debug", nice=-10) as server:
            peers = await join_pair(server, video=True)
            try:
                mids = await wait_hearing(peers, timeout=20, video=True)
                answers = {n: p.joined["sdp"] for n, p in peers.items()}
                offers = {n: p.pc.localDescription.sdp for n, p in peers.items()}
                port = media_port(answers["ann"])
                assert media_port(answers["bob"]) == port, "one session, one media socket"
                peer_ports = {n: local_port(offers[n]) for n in peers}
                # Real USERNAMEs (server ufrag:client ufrag) so that some junk
                # reaches each participant's ICE agent.
                usernames = [f"{ice_ufrag(answers[n])}:{ice_ufrag(offers[n])}" for n in peers]

                with UDPSniffer(list(peer_ports.values())) as sniffer:
                    # A quiet window first, for comparison.
                    quiet = (time.monotonic(), time.monotonic() + WINDOW_SECONDS)
                    await asyncio.sleep(WINDOW_SECONDS + 0.5)
                    before = dropped_total(engine_counters(server.log))
                    junk = await asyncio.create_subprocess_exec(
                        "nice", "-n", "5", sys.executable, os.path.join(HERE, "junk_udp.py"), "--port", str(port),
                        "--rate", str(JUNK_RATE), "--seconds", str(JUNK_SECONDS), "--sockets", "4",
                        *[a for u in usernames for a in ("--username", u)],
                        stdout=asyncio.subprocess.PIPE)
                    junk_started = time.monotonic()
                    await asyncio.sleep(1.0)  # junk is flowing
                    noisy = (time.monotonic(), time.monotonic() + WINDOW_SECONDS)
                    await asyncio.sleep(WINDOW_SECONDS)
                    # What the receivers decoded in the window: its last 5 s of audio.
                    chunks = {n: peers[n].recorders[mids[n]].audio.last(WINDOW_SECONDS) for n in peers}
                    out, _ = await asyncio.wait_for(junk.communicate(), JUNK_SECONDS + 10)
                    await asyncio.sleep(0.3)
                assert junk.returncode == 0, f"junk sender failed: {out!r}"
                report = json.loads(out.decode().strip().splitlines()[-1])
                assert noisy[1] <= junk_started + report["elapsed"] + 0.2, "junk stopped before the window ended"
                await asyncio.sleep(2.2)  # the next counters line covers the whole burst
                after = dropped_total(engine_counters(server.log))
                print(f"\njunk: {report['sent']} datagrams in {report['elapsed']} s "
                      f"({report['sent'] / report['elapsed']:.0f}/s), send errors {report['errors']}; "
                      f"server counted {after - before} more drops; classes {report['by_class']}")

                failures = []
                for name, me in peers.items():
                    other = next(o for o in peers if o != name)
                    # Server side, from kernel timestamps: every audio packet of
                    # `other` forwarded into `name`'s slot, and how late.
                    [source_ssrc] = ssrcs_by_mid(offers[other])[me_send_audio_mid(peers[other])]
                    [slot_ssrc] = ssrcs_by_mid(answers[name])[mids[name]]
                    # Input: queued on the server's socket; output: the server's send call.
                    inbound = [d for d in sniffer.captured if d.src_port == peer_ports[other] and d.dst_port == port
                               and d.is_rtp and d.rtp[3] == source_ssrc]
                    outbound = [d for d in sniffer.captured if d.src_port == port and d.dst_port == peer_ports[name]
                                and d.is_rtp and d.rtp[3] == slot_ssrc]
                    # A packet not forwarded within 3 s counts as lost.
                    _, pairs = forwarding(inbound, outbound, horizon=3.0)
                    stats = {}
                    for label, (t0, t1) in (("quiet", quiet), ("junk", noisy)):
                        w0, w1 = UDPSniffer.wall_time(t0), UDPSniffer.wall_time(t1)
                        inside = [(a, b) for a, b in pairs if w0 <= a.at <= w1]
                        delays = sorted(b.at - a.at for a, b in inside if b is not None)
                        out_times = sorted(b.at for a, b in inside if b is not None)
                        in_times = [a.at for a, _ in inside]
                        stats[label] = {
                            "packets": len(inside), "lost": sum(1 for _, b in inside if b is None),
                            "median_ms": 1000 * delays[len(delays) // 2] if delays else None,
                            "p95_ms": 1000 * delays[int(len(delays) * 0.95)] if delays else None,
                            "max_ms": 1000 * delays[-1] if delays else None,
                            "in_gap_ms": 1000 * max((b - a for a, b in zip(in_times, in_times[1:])), default=0),
                            "out_gap_ms": 1000 * max((b - a for a, b in zip(out_times, out_times[1:])), default=0),
                        }
                    # Receiver side: what aiortc decoded in the junk window.
                    frames, max_step, max_arrival_gap = audio_gaps(me.recorders[mids[name]].audio_timeline, *noisy)
                    samples = chunks[name]
                    rate = me.recorders[mids[name]].audio.rate or 48000
                    per_second = [present_tones(samples[i * rate:(i + 1) * rate], rate, CANDIDATES, window_s=None)
                                  for i in range(int(WINDOW_SECONDS))]
                    fmt = lambda d: ", ".join(f"{k} {v:.1f}" if isinstance(v, float) else f"{k} {v}" for k, v in d.items())
                    print(f"{other} → server → {name} (slot {mids[name]}) audio packets, server forwarding delay:\n"
                          f"   quiet: {fmt(stats['quiet'])}\n    junk: {fmt(stats['junk'])}\n"
                          f"   {name} decoded {frames} frames, largest media-time step {max_step * 1000:.0f} ms, "
                          f"largest arrival gap in Python {max_arrival_gap * 1000:.0f} ms (not judged), "
                          f"tones per second {[sorted(t) for t in per_second]}")
                    j = stats["junk"]
                    if j["packets"] < WINDOW_SECONDS / 0.020 * 0.9:
                        failures.append(f"{other} sent only {j['packets']} audio packets in the window")
                    if j["lost"]:
                        failures.append(f"server lost {j['lost']} of {j['packets']} audio packets {other} → {name}")
                    # Timing: a server that cannot keep up with the junk builds a
                    # backlog, which shows in the median.  Single late packets
                    # are reported, not judged: on a saturated shared machine the
                    # kernel's loopback softirq (ksoftirqd) can hold a packet for
                    # 100-200 ms whatever the server does.
                    if j["median_ms"] is None or j["median_ms"] > MAX_MEDIAN_DELAY_S * 1000 or j["max_ms"] > MAX_LATE_S * 1000:
                        failures.append(f"server forwarding {other} → {name} too slow under junk: "
                                        f"median {j['median_ms']} ms (limit {MAX_MEDIAN_DELAY_S * 1000:.0f}), "
                                        f"max {j['max_ms']} ms (limit {MAX_LATE_S * 1000:.0f})")
                    if max_step > 0.0205:
                        failures.append(f"{name}: audio from {other} lost packets (media-time step {max_step * 1000:.0f} ms)")
                    if frames < WINDOW_SECONDS / 0.020 * 0.9:
                        failures.append(f"{name}: only {frames} audio frames from {other} in {WINDOW_SECONDS} s")
                    if any(t != {TONES[other]} for t in per_second):
                        failures.append(f"{name}: {other}'s tone not present every second: {per_second}")
                    if any(m.get("type") == "left" for m in me.signalling.state.other):
                        failures.append(f"{name} was removed: {me.signalling.state.other}")
                assert not failures, "\n".join(failures)
                # The junk really reached the server's socket: most of it was counted as dropped
                # (the shaped STUN gets 401 answers instead).
                assert report["sent"] >= JUNK_RATE * JUNK_SECONDS * 0.9, report
                assert after - before >= report["sent"] * 0.5, (
                    f"server counted only {after - before} drops for {report['sent']} junk datagrams")
                assert server.process.poll() is None, "server exited"
            finally:
                for p in peers.values():
                    await p.close()

    run(scenario(), timeout=90)


# ---------------------------------------------------------------------------
# (b) bad WebSocket input
# ---------------------------------------------------------------------------


class Socket:
    """A bare WebSocket to the server: send, receive JSON, see the close code."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.ws = None

    async def __aenter__(self) -> "Socket":
        self.ws = await asyncio.wait_for(connect(self.url, max_size=None, ping_interval=None), 5)
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            await asyncio.wait_for(self.ws.close(), 3)
        except Exception:
            pass

    async def send(self, data) -> None:
        await asyncio.wait_for(self.ws.send(data if not isinstance(data, dict) else json.dumps(data)), 5)

    async def recv(self, timeout: float = 5.0) -> dict:
        raw = await asyncio.wait_for(self.ws.recv(), timeout)
        assert isinstance(raw, str), f"server sent a binary frame: {raw!r}"
        return json.loads(raw)

    async def closed_with(self, timeout: float = 5.0) -> tuple[int | None, list[dict]]:
        """Reads until the server closes; returns (close code, messages read)."""
        seen = []
        try:
            while True:
                seen.append(await self.recv(timeout))
        except ConnectionClosed as e:
            return (e.rcvd.code if e.rcvd else None), seen


def without_lines(sdp: str, prefix: str) -> str:
    lines = [l for l in sdp.split("\r\n") if not l.startswith(prefix)]
    assert len(lines) < len(sdp.split("\r\n")), f"offer has no {prefix} line"
    return "\r\n".join(lines)


def test_websocket_bad_input_gets_the_documented_errors() -> None:
    async def scenario() -> None:
        with CohortServer() as server:
            url = server.ws_url
            offerer = AiortcParticipant("offer", 440.0, slots=2)
            try:
                offer = await offerer.build_offer()
            finally:
                await offerer.close()

            # Garbage and invalid JSON: `bad-json`, the socket stays usable.
            async with Socket(url) as s:
                for junk in ["hello", "{\"type\":", "\x00\x01", "[1,2", "{'type':'join'}", "null x"]:
                    await s.send(junk)
                    reply = await s.recv()
                    assert reply.get("type") == "error" and reply.get("code") == "bad-json", (junk, reply)
                    assert "id" not in reply, reply
                # Valid JSON that is not a message, and an unknown type.
                for message, code in [("[]", "bad-message"), ("{}", "bad-message"), ('{"type":"join"}', "bad-message"),
                                      ('{"type":"dance","id":"7"}', "unknown-type"),
                                      (json.dumps({"type": "leave", "id": "x" * 65}), "bad-message"),
                                      ('{"type":"leave","id":"8"}', "not-joined")]:
                    await s.send(message)
                    reply = await s.recv()
                    assert reply.get("code") == code, (message, reply)
                # Still open: a ping is answered.
                await asyncio.wait_for(await s.ws.ping(), 5)

            # More than 64 KiB in one frame, and in fragments: close 1009.
            async with Socket(url) as s:
                await s.send(json.dumps({"type": "leave", "id": "1", "pad": "x" * 70_000}))
                code, seen = await s.closed_with()
                assert code == 1009, (code, seen)
            async with Socket(url) as s:
                # The limit is crossed only by the last fragment: the server
                # fails the connection as soon as it is crossed, and a client
                # still writing then may see a reset instead of the Close.
                await s.send(["{\"type\":\"leave\",\"id\":\"1\",\"pad\":\"", *["y" * 16_384] * 3, "y" * 20_000 + "\"}"])
                code, seen = await s.closed_with()
                assert code == 1009, (code, seen)
            # Exactly at the limit is fine (the reply is an error about the message, not a close).
            async with Socket(url) as s:
                head = '{"type":"leave","id":"1","pad":"'
                await s.send(head + "z" * (65_536 - len(head) - 2) + '"}')
                assert (await s.recv()).get("code") == "not-joined"

            # A binary frame: `bad-message`, then close 1003.
            async with Socket(url) as s:
                await s.send(b"\x01\x02")
                code, seen = await s.closed_with()
                assert code == 1003 and [m.get("code") for m in seen] == ["bad-message"], (code, seen)

            # Offers the engine refuses: the socket stays open and a later join may succeed.
            async with Socket(url) as s:
                token = server.token("dana")
                cases = [
                    (without_lines(offer, "a=fingerprint:"), "missing-fingerprint"),
                    (without_lines(without_lines(offer, "a=ice-ufrag:"), "a=ice-pwd:"), "missing-ice-credentials"),
                    ("v=0\r\nthis is not sdp\r\n", "invalid-offer"),
                ]
                for i, (sdp, code) in enumerate(cases):
                    await s.send({"type": "join", "id": f"j{i}", "token": token, "sdp": sdp})
                    reply = await s.recv()
                    assert reply.get("type") == "error" and reply.get("code") == code and reply.get("id") == f"j{i}", (code, reply)
                await s.send({"type": "join", "id": "ok", "token": token, "sdp": offer})
                reply = await s.recv()
                while reply.get("type") in ("roster", "slots", "session"):
                    reply = await s.recv()
                assert reply.get("type") == "joined" and reply.get("id") == "ok", reply
                await s.send({"type": "join", "id": "again", "token": token, "sdp": offer})
                reply = await s.recv()
                while reply.get("type") in ("roster", "slots", "session"):
                    reply = await s.recv()
                assert reply.get("code") == "already-joined", reply

            # Tokens: each refusal is an error with the join's id, then close 1008.
            good = server.token("eve")
            header, claims, signature = good.split(".")
            forged = f"{header}.{claims}.{signature[:-4]}{'AAAA' if signature[-4:] != 'AAAA' else 'BBBB'}"
            # Someone else's `sub` put into a real token: the signature no longer verifies.
            body = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
            body["sub"] = "somebody-else"
            other_sub = base64.urlsafe_b64encode(json.dumps(body, separators=(",", ":")).encode()).rstrip(b"=").decode()
            forged_sub = f"{header}.{other_sub}.{signature}"
            cases = [
                ("not-a-token", "token-invalid", url),
                ("a.b.c", "token-invalid", url),
                (forged, "unauthorized", url),
                (forged_sub, "unauthorized", url),
                (CohortServer(secret="x" * 40, session=server.session).token("eve"), "unauthorized", url),
                # `?session=` pins the session (docs/PROTOCOL.md "Connecting").
                (server.token("eve", session="another-session"), "unauthorized", f"{url}?session={server.session}"),
                (server.token("eve", ttl=-120, issued_ago=3600), "token-expired", url),
                # Every token names one person (`sub`).
                (server.token("eve", sub=""), "token-invalid", url),
            ]
            for token, code, where in cases:
                async with Socket(where) as s:
                    await s.send({"type": "join", "id": "t", "token": token, "sdp": offer})
                    close, seen = await s.closed_with()
                    assert [(m.get("type"), m.get("code"), m.get("id")) for m in seen] == [("error", code, "t")], (code, seen)
                    assert close == 1008, (code, close)

            # After all that the server still serves: health, and a fresh join.
            with urllib.request.urlopen(server.base_url + "healthz", timeout=5) as r:
                assert r.status == 200
            async with Socket(url) as s:
                await s.send({"type": "join", "id": "1", "token": server.token("fay"), "sdp": offer})
                reply = await s.recv()
                while reply.get("type") in ("roster", "slots", "session"):
                    reply = await s.recv()
                assert reply.get("type") == "joined", reply
            assert server.process.poll() is None

    run(scenario(), timeout=60)
