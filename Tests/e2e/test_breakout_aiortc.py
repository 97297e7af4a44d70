"""Breakout rooms end to end: one host and six aiortc participants, each in
its own process (``remote_peer.py``) with a distinct tone and a video track,
through a real Cohort server.  Everyone takes audio mixed (one stream per
room: seven aiortc stacks decoding every speaker separately would not keep
real time on two cores); the host has a second audio slot for listen-in.

The host creates two rooms, assigns three and three and opens them: within
500 ms each participant hears exactly its room-mates and then decodes their
video.  The host listens in on room 1 while room 2 hears nothing of it.  Eight
single moves measure the move latency; the host closes the rooms with a 3 s
countdown and everyone hears everyone again.

Latency is judged per 20 ms frame (``tones.onset``): the arrival time at the
client of the first frame from which the audio holds exactly the new room's
tones, minus the time the host sent the command.  It includes the host's
WebSocket, the server, the mixer's jitter buffer and aiortc's.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time

from cohort_server import RELEASE_BINARY, CohortServer
from conftest import run
from remote_peer import RemotePeer

# Each tone has an Opus (CELT) band of its own (band edges 200, 400, 600, 800,
# 1000, 1200, 1400, 1600, 2000, 2400, 2800, 3200, 4000, 4800 Hz): at 32 kbit/s
# the coding noise of a tone spreads across its band, so a neighbour's tone in
# the same band could not be told absent.  And no tone is within 70 Hz of
# another's 2nd or 3rd harmonic or of a 2nd/3rd-order intermodulation product
# (a±b, 2a-b, a+b-c) of others, which coding a many-tone mix makes: with 2150
# Hz beside 290 + 1800 = 2090, the product read as a participant's own tone.
TONES = {"host": 4090.0, "p1": 290.0, "p2": 510.0, "p3": 1310.0, "p4": 1900.0, "p5": 2260.0, "p6": 3420.0}
PARTICIPANTS = ["p1", "p2", "p3", "p4", "p5", "p6"]
CANDIDATES = sorted(TONES.values())
# The rule: when rooms open, each participant hears exactly its
# room-mates within 500 ms.  Single moves are held to it at the median; no
# change may take longer than SLOWEST, which only a routing fault (audio not
# switching) or a starved machine reaches.  Measured on the idle 2-core
# machine: open-rooms 0.12-0.18 s, moves p50 0.11 s and p95 0.15-0.16 s,
# everyone back 0.15-0.24 s after a countdown ends; with other work on the
# machine, p95 reached 0.57 s (the slow ones show one bad frame soon after the
# switch, see the printed window patterns).
MOVE_BUDGET = 0.5
SLOWEST = 1.5


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def hears_exactly(peer: RemotePeer, expected: set[float], since: float, timeout: float, slot: int = 0) -> float:
    """Seconds from ``since`` to the first frame of ``expected`` in audio slot ``slot`` of ``peer``."""
    deadline = time.monotonic() + timeout
    while True:
        at = await peer.call("onset", since, CANDIDATES, sorted(expected), slot)
        if at is not None:
            if at - since > MOVE_BUDGET:  # say why, in the -s output
                trace = await peer.call("onset_trace", since, CANDIDATES, sorted(expected), slot)
                print(f"{peer.name} slow ({at - since:.2f} s) to {sorted(expected)}: windows {trace['matches']}")
            return at - since
        if time.monotonic() > deadline:
            trace = await peer.call("onset_trace", since, CANDIDATES, sorted(expected), slot)
            raise AssertionError(f"{peer.name}: never heard exactly {sorted(expected)} of {CANDIDATES}; {trace}\n"
                                 + await peer.call("summary", CANDIDATES))
        await asyncio.sleep(0.05)


def expectations(rooms: dict[str, str]) -> dict[str, set[float]]:
    """What each participant should hear given participant → room."""
    return {n: {TONES[m] for m in PARTICIPANTS if m != n and rooms[m] == rooms[n]} for n in PARTICIPANTS}


def test_breakout_rooms_with_seven_aiortc_peers() -> None:
    async def scenario() -> None:
        # The release build, with scheduling priority: seven Python WebRTC
        # stacks share two cores with it, and their load must not count
        # against it; the latency measured is that of the build clinics run.
        # Six tones at once in the main room, each to be heard by every
        # mixed listener: no limit on mixed speakers (the default of 3 is
        # RoomMixerSpeakerTests' subject).
        with CohortServer(nice=-5, binary=RELEASE_BINARY, log_level=os.environ.get("COHORT_LOG_LEVEL", "info"),
                          extra_args=["--mix-speakers", "0"]) as server:
            peers: dict[str, RemotePeer] = {}
            try:
                for name, hz in TONES.items():
                    host = name == "host"
                    peers[name] = RemotePeer(name, hz, amplitude=0.08, peer={
                        "slots": 2 if host else 1, "video_slots": 2, "video_format": (160, 120, 5)})
                joined = time.monotonic()
                await asyncio.gather(*[
                    p.call("join", server.ws_url, server.token(n, role="host" if n == "host" else "participant"), n, "mix")
                    for n, p in peers.items()])
                pid = {n: (await p.call("state"))["participant_id"] for n, p in peers.items()}
                host = peers["host"]
                everyone = {n: set(CANDIDATES) - {TONES[n]} for n in PARTICIPANTS}
                await asyncio.gather(*[hears_exactly(peers[n], everyone[n], joined, 30) for n in PARTICIPANTS])

                # Open two rooms of three.
                rooms = {n: ("r1" if n in ("p1", "p2", "p3") else "r2") for n in PARTICIPANTS}
                await host.call("request", {"type": "create-rooms", "names": ["Room 1", "Room 2"]})
                await host.call("request", {"type": "assign", "assignments": {pid[n]: r for n, r in rooms.items()}})
                want = expectations(rooms)
                opened = time.monotonic()
                await host.call("request", {"type": "open-rooms"})
                open_latency = await asyncio.gather(*[hears_exactly(peers[n], want[n], opened, 5) for n in PARTICIPANTS])
                print("open-rooms → first frame of exactly the room-mates (ms):",
                      [round(x * 1000) for x in open_latency])
                assert max(open_latency) < MOVE_BUDGET, open_latency

                # Each participant decodes its room-mates' video.
                before = {n: await peers[n].call("video_frames") for n in PARTICIPANTS}
                await asyncio.sleep(2.0)
                for n in PARTICIPANTS:
                    after = await peers[n].call("video_frames")
                    state = await peers[n].call("state")
                    mates = {pid[m] for m in PARTICIPANTS if m != n and rooms[m] == rooms[n]}
                    mids = [s["mid"] for s in state["slots"] if s["kind"] == "video" and s["participantId"] in mates]
                    assert len(mids) == 2, (n, state["slots"])
                    for mid in mids:
                        assert after.get(mid, 0) >= before[n].get(mid, 0) + 5, (n, mid, before[n], after)

                # Listen-in: the host hears room 1's mix in its second audio
                # slot while its own (now empty) room stays on the first; room 2
                # hears nothing of it.
                listening = time.monotonic()
                await host.call("request", {"type": "listen", "room": "r1"})
                listen_latency = await hears_exactly(host, {TONES[n] for n in PARTICIPANTS if rooms[n] == "r1"},
                                                     listening, 5, slot=1)
                print(f"listen-in → host hears exactly room 1: {listen_latency * 1000:.0f} ms")
                await asyncio.sleep(1.0)
                for n in PARTICIPANTS:
                    if rooms[n] == "r2":
                        held, windows = await peers[n].call("span", listening, CANDIDATES, sorted(want[n]), 0)
                        print(f"{n} during listen-in: {held}/{windows} windows hold exactly its room-mates")
                        assert windows >= 40 and held >= windows * 0.98, (n, held, windows)
                await host.call("request", {"type": "listen", "room": None})

                # Moves: p1 back and forth.  Every participant whose room
                # changes (the mover, the room left, the room joined) is timed.
                moves: list[float] = []
                for i in range(8):
                    target = "r2" if i % 2 == 0 else "r1"
                    rooms["p1"] = target
                    new = expectations(rooms)
                    changed = [n for n in PARTICIPANTS if new[n] != want[n]]
                    want = new
                    await asyncio.sleep(0.3)
                    start = time.monotonic()
                    await host.call("request", {"type": "move", "participantId": pid["p1"], "room": target})
                    moves += await asyncio.gather(*[hears_exactly(peers[n], want[n], start, 5) for n in changed])
                print(f"move latency over {len(moves)} (participant, move) pairs: "
                      f"p50 {statistics.median(moves) * 1000:.0f} ms, p95 {percentile(moves, 0.95) * 1000:.0f} ms, "
                      f"max {max(moves) * 1000:.0f} ms")
                assert statistics.median(moves) < MOVE_BUDGET, sorted(moves)
                assert max(moves) < SLOWEST, sorted(moves)

                # Close with a 3 s countdown; then everyone hears everyone.
                closed = time.monotonic()
                await host.call("request", {"type": "close-rooms", "countdown": 3})
                back = await asyncio.gather(*[hears_exactly(peers[n], everyone[n], closed, 10) for n in PARTICIPANTS])
                print("close-rooms (3 s) → everyone together (s):", [round(x, 2) for x in back])
                assert min(back) > 2.9, f"back before the countdown ended: {back}"
                assert max(back) < 3 + SLOWEST, back
            finally:
                await asyncio.gather(*[p.close() for p in peers.values()])
                if os.environ.get("COHORT_LOG_LEVEL") == "debug":
                    print("\n".join(line for line in server.log if "mixer counters" in line))

    run(scenario(), timeout=240)
