"""The signalling client against a stand-in server (until Cohort's lands).

The stand-in speaks the draft protocol and answers the media with a real
aiortc peer (``AiortcSlotFiller``), so ``join_cohort`` is exercised end to
end: join, joined, answer applied, slot map used to find whose tone is in
which mid, later slots/roster events, error replies and leave.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from conftest import run
from peer import AiortcParticipant, AiortcSlotFiller, media_sections
from signalling import SignallingError
from websockets.asyncio.server import serve

ALICE_HZ, BOB_HZ = 440.0, 660.0
TONES = [ALICE_HZ, BOB_HZ, 880.0]


class StandInServer:
    """Draft-protocol signalling; media answered by one aiortc peer, "bob"."""

    def __init__(self) -> None:
        self.bob = AiortcSlotFiller("bob", BOB_HZ, video=True)
        self.received: list[dict] = []
        self.url: str | None = None
        self._server = None

    async def start(self) -> str:
        self._server = await serve(self._session, "127.0.0.1", 0)
        port = next(iter(self._server.sockets)).getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}/ws"
        return self.url

    async def _session(self, ws) -> None:  # noqa: ANN001 - websockets connection
        async for raw in ws:
            msg = json.loads(raw)
            self.received.append(msg)
            if msg["type"] == "join" and msg["token"] != "good-token":
                await ws.send(json.dumps({"type": "error", "id": msg["id"], "code": "unauthorized", "message": "bad token"}))
            elif msg["type"] == "join":
                answer = await self.bob.answer_offer(msg["sdp"])
                filled = [s for s in media_sections(answer) if s.direction == "sendonly"]
                slots = {s.mid: {"participantId": "p2", "track": "microphone" if s.kind == "audio" else "camera"}
                         for s in filled}
                roster = [
                    {"participantId": "p1", "name": msg["name"], "role": "participant", "room": "main"},
                    {"participantId": "p2", "name": "bob", "role": "host", "room": "main"},
                ]
                await ws.send(json.dumps({
                    "type": "joined", "id": msg["id"], "participantId": "p1", "room": "main",
                    "sdp": answer, "slots": slots, "roster": roster, "slotsVersion": 2,
                }))
                # A stale push (version not above the joined map's) must be ignored.
                await ws.send(json.dumps({"type": "slots", "map": {}, "version": 1}))
                await asyncio.sleep(0.3)
                await ws.send(json.dumps({"type": "roster", "participants": roster[:1]}))
                await ws.send(json.dumps({"type": "slots", "map": {}, "version": 3}))

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        await self.bob.close()


def test_join_uses_slot_map_and_tracks_events() -> None:
    async def scenario() -> None:
        server = StandInServer()
        alice = AiortcParticipant("alice", ALICE_HZ)
        try:
            url = await server.start()
            joined = await alice.join_cohort(url, "good-token", "alice")
            assert joined["participantId"] == "p1" and joined["room"] == "main"
            state = alice.signalling.state
            [bob_audio] = state.mids_of("p2", "audio")
            [bob_video] = state.mids_of("p2", "video")
            await alice.wait_connected(timeout=10)
            await alice.wait_until(
                lambda: alice.heard_tones(TONES, bob_audio) == {BOB_HZ}
                and alice.video_frames_by_mid().get(bob_video, 0) >= 5,
                timeout=10,
                candidates=TONES,
            )
            # Later events replace the maps and are time-stamped in order.
            await alice.signalling.wait_until(lambda s: len(s.slot_changes) >= 2 and len(s.roster_changes) >= 2)
            assert state.slots == [] and [p["participantId"] for p in state.roster] == ["p1"]
            assert len(state.slot_changes) == 2, "the stale version-1 push must not be applied"
            assert state.slot_changes[0].at <= state.slot_changes[1].at
            join = server.received[0]
            assert join["type"] == "join" and join["name"] == "alice" and join["audioMode"] == "forward"
        finally:
            await alice.close()
            await asyncio.sleep(0.1)  # let the stand-in read "leave"
            await server.close()
        assert server.received[-1]["type"] == "leave"

    run(scenario(), timeout=30)


def test_error_reply_raises_with_code() -> None:
    async def scenario() -> None:
        server = StandInServer()
        alice = AiortcParticipant("alice", ALICE_HZ)
        try:
            url = await server.start()
            with pytest.raises(SignallingError) as caught:
                await alice.join_cohort(url, "wrong-token", "alice", timeout=5)
            assert caught.value.code == "unauthorized"
            assert alice.signalling.state.errors[0]["code"] == "unauthorized"
        finally:
            await alice.close()
            await server.close()

    run(scenario(), timeout=20)
