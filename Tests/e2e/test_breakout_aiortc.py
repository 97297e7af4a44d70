"""NOT YET IN THE SUITE (pytest collects test_*.py only); run it by hand:
  unshare -n bash -c 'ip link set lo up && .venv-e2e/bin/python -m pytest -s Tests/e2e/scenario_breakout_mp.py'
Each peer runs in its own process and receives audio in real time; the tones
avoid each other's harmonics and 2nd/3rd-order intermodulation products.
Last run: everyone hears everyone in the main room; after open-rooms five of
six hear exactly their room-mates 0.55-0.62 s after the command (this includes
the 0.15 s analysis window and pipe polling) and one took 2.2 s, so the
500 ms rule is not met reliably yet.  COHORT_TRACE=1 shows why the analysis
is not ready to judge it: with 0.15 s windows a participant's own (mixed-out)
tone still reads as present in a six-tone mix, and the switch leaves a short
gap in which nothing arrives; a per-frame onset detector on the audio
timeline would judge this better than windowed presence.

Breakout rooms end to end: one host and six aiortc participants (each in
its own process), each with a distinct tone and a video track, through a real
Cohort server.

The host creates two rooms, assigns three and three and opens them: each
participant then hears exactly its room-mates and decodes their video.  The
host listens in on room 1 while room 2 hears nothing of it; single moves
measure the move latency (command to the first audio of the new room at the
client); the host closes the rooms with a 3 s countdown and everyone hears
everyone again.  Participants take their room as one mixed stream.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time

from cohort_server import CohortServer
from conftest import run
from remote_peer import RemotePeer

# No tone is within 30 Hz of another's 2nd or 3rd harmonic or of a second-order
# intermodulation product (a+b, a-b) of two others.
# Third-order products (a+b-c, 2a-b) matter too: Opus coding a 7-tone mix makes them.
TONES = {"host": 2090.0, "p1": 400.0, "p2": 1030.0, "p3": 1350.0, "p4": 1520.0, "p5": 1630.0, "p6": 1880.0}
CANDIDATES = sorted(TONES.values())
ROOM1, ROOM2 = ["p1", "p2", "p3"], ["p4", "p5", "p6"]
WINDOW = 0.15


async def wait_hearing(peer: RemotePeer, expected: set[float], timeout: float, since: float) -> float:
    deadline = time.monotonic() + timeout
    while True:
        heard = await peer.call("heard_now", CANDIDATES, WINDOW)
        if os.environ.get("COHORT_TRACE") and peer.name in ("p4", "p5"):
            print(f"{time.monotonic() - since:.2f} {peer.name} {sorted(heard)}")
        if heard == expected:
            return time.monotonic() - since
        if time.monotonic() > deadline:
            raise AssertionError(f"{peer.name}: expected {sorted(expected)}\n" + await peer.call("summary", CANDIDATES))
        await asyncio.sleep(0.01)


def test_breakout_rooms_with_seven_aiortc_peers() -> None:
    async def scenario() -> None:
        with CohortServer() as server:
            peers: dict[str, RemotePeer] = {}
            try:
                for name, hz in TONES.items():
                    host = name == "host"
                    peers[name] = RemotePeer(name, hz, amplitude=0.08, peer={
                        "slots": 4 if host else 1, "video_slots": 2, "video_format": (160, 120, 10)})
                await asyncio.gather(*[
                    p.call("join", server.ws_url, server.token(n, role="host" if n == "host" else "participant"), n,
                           "forward" if n == "host" else "mix")
                    for n, p in peers.items()])
                pid = {n: (await p.call("state"))["participant_id"] for n, p in peers.items()}
                everyone = set(CANDIDATES)
                for name in ROOM1 + ROOM2:
                    await wait_hearing(peers[name], everyone - {TONES[name]}, 30, time.monotonic())
                host = peers["host"]
                await host.call("request", {"type": "create-rooms", "names": ["Room 1", "Room 2"]})
                plan = {pid[n]: "r1" for n in ROOM1} | {pid[n]: "r2" for n in ROOM2}
                await host.call("request", {"type": "assign", "assignments": plan})
                opened = time.monotonic()
                await host.call("request", {"type": "open-rooms"})
                latency = await asyncio.gather(*[
                    wait_hearing(peers[n], {TONES[m] for m in room if m != n}, 5, opened)
                    for room in (ROOM1, ROOM2) for n in room])
                print("open-rooms → hearing exactly the room-mates (s):", [round(x, 3) for x in latency])
                assert max(latency) < 0.5 + WINDOW, latency
                for room in (ROOM1, ROOM2):
                    for name in room:
                        before = await peers[name].call("video_frames")
                        await asyncio.sleep(1.0)
                        after = await peers[name].call("video_frames")
                        state = await peers[name].call("state")
                        mates = [s["mid"] for s in state["slots"] if s["kind"] == "video"
                                 and s["participantId"] in {pid[m] for m in room if m != name}]
                        assert len(mates) == 2, state["slots"]
                        for mid in mates:
                            assert after.get(mid, 0) >= before.get(mid, 0) + 5, (name, mid, before, after)
                # Listen-in: the host hears room 1; room 2 hears nothing of it.
                await host.call("request", {"type": "listen", "room": "r1"})
                await wait_hearing(host, {TONES[n] for n in ROOM1}, 5, time.monotonic())
                for name in ROOM2:
                    assert await peers[name].call("heard_now", CANDIDATES, 0.5) == {TONES[m] for m in ROOM2 if m != name}
                await host.call("request", {"type": "listen", "room": None})
                # Moves: command to the first audio of the new room at the client.
                moves = []
                for i in range(8):
                    target, other = ("r2", "p4") if i % 2 == 0 else ("r1", "p2")
                    start = time.monotonic()
                    await host.call("request", {"type": "move", "participantId": pid["p1"], "room": target})
                    while TONES[other] not in await peers["p1"].call("heard_now", CANDIDATES, 0.06):
                        assert time.monotonic() - start < 5, f"p1 never heard {other} in {target}"
                        await asyncio.sleep(0.005)
                    moves.append(time.monotonic() - start)
                    await asyncio.sleep(0.5)
                moves.sort()
                p95 = moves[min(len(moves) - 1, round(0.95 * (len(moves) - 1)))]
                print(f"move latency: p50 {statistics.median(moves) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, n={len(moves)}")
                # Close with a 3 s countdown; then everyone hears everyone.
                closed = time.monotonic()
                await host.call("request", {"type": "close-rooms", "countdown": 3})
                back = await asyncio.gather(*[
                    wait_hearing(peers[n], everyone - {TONES[n]}, 10, closed) for n in ROOM1 + ROOM2])
                assert min(back) > 2.5, f"back before the countdown ended: {back}"
                print("close-rooms (3 s) → everyone together (s):", [round(x, 2) for x in back])
            finally:
                await asyncio.gather(*[p.close() for p in peers.values()])

    run(scenario(), timeout=180)
