"""The first call: three aiortc participants through a real Cohort server.

Each publishes a distinct tone and a video track; each must hear exactly the
other two tones in the slots the server's slot map names, decode video from
both, and never receive its own media.  Then one leaves and one vanishes.
"""

from __future__ import annotations

import asyncio
import time

from cohort_server import CohortServer
from conftest import run
from peer import AiortcParticipant

TONES = {"ann": 440.0, "bob": 660.0, "cy": 880.0}
CANDIDATES = sorted(TONES.values())


async def join_all(server: CohortServer, names: list[str]) -> dict[str, AiortcParticipant]:
    peers: dict[str, AiortcParticipant] = {}
    for name in names:
        p = AiortcParticipant(name, TONES[name])
        p.ws_open_at = time.monotonic()  # type: ignore[attr-defined]
        await p.join_cohort(server.ws_url, server.token(name), name)
        peers[name] = p
    return peers


def drop_all_media(peer: AiortcParticipant) -> None:
    """Silently discards every UDP datagram the peer would send (STUN, DTLS,
    SRTP), as if its network had gone away."""
    for transceiver in peer.pc.getTransceivers():
        connection = transceiver.sender.transport.transport._connection
        for protocol in connection._protocols:
            protocol.transport.sendto = lambda *args, **kwargs: None


def ids(peers: dict[str, AiortcParticipant]) -> dict[str, str]:
    return {n: p.joined["participantId"] for n, p in peers.items()}


async def wait_hears_others(peers: dict[str, AiortcParticipant], names: list[str], timeout: float) -> dict[str, float]:
    """Waits until each of ``names`` hears exactly the others' tones in their
    slots and has decoded video from each; returns seconds from WebSocket
    open to the first decoded frame of every peer."""
    pid = ids(peers)
    first_frame: dict[str, float] = {}
    for name in names:
        me = peers[name]
        others = [o for o in names if o != name]

        def ok() -> bool:
            state = me.signalling.state
            for other in others:
                audio = state.mids_of(pid[other], "audio")
                video = state.mids_of(pid[other], "video")
                if len(audio) != 1 or len(video) != 1:
                    return False
                if me.heard_tones(CANDIDATES, audio[0]) != {TONES[other]}:
                    return False
                if me.video_frames_by_mid().get(video[0], 0) < 5:
                    return False
            return True

        await me.wait_until(ok, timeout=timeout, candidates=CANDIDATES)
        assert TONES[name] not in me.all_heard_tones(CANDIDATES), f"{name} hears its own tone"
        delays = [me.first_frame_delay(m) for o in others for m in me.signalling.state.mids_of(pid[o], "video")]
        first_frame[name] = max(d for d in delays if d is not None)
    return first_frame


def test_three_aiortc_participants_hear_and_see_each_other() -> None:
    async def scenario() -> None:
        with CohortServer() as server:
            peers = await join_all(server, ["ann", "bob", "cy"])
            try:
                times = await wait_hears_others(peers, ["ann", "bob", "cy"], timeout=20)
                # Everyone, the last joiner included, got the session's shape with names.
                for p in peers.values():
                    await p.signalling.wait_until(lambda s: any(
                        m.get("type") == "session" and set(m.get("names", {}).values()) == {"ann", "bob", "cy"}
                        for m in s.other), timeout=2)
                print("first decoded frame of every peer after join (s):",
                      {k: round(v, 2) for k, v in times.items()})
            finally:
                for p in peers.values():
                    await p.close()

    run(scenario(), timeout=60)


def test_leave_and_vanish_update_slot_maps() -> None:
    async def scenario() -> None:
        # aioice refreshes consent every 4-6 s (RFC 7675 allows up to 6); the
        # server accepts no consent timeout under 12 s (one lost check).
        with CohortServer(consent_timeout=12) as server:
            peers = await join_all(server, ["ann", "bob", "cy"])
            pid = ids(peers)
            try:
                await wait_hears_others(peers, ["ann", "bob", "cy"], timeout=20)
                # bob leaves: ann's and cy's slot maps drop him within 1 s.
                left_at = time.monotonic()
                await peers["bob"].signalling.leave()
                for name in ["ann", "cy"]:
                    await peers[name].signalling.wait_until(
                        lambda s: not s.mids_of(pid["bob"]), timeout=1.0)
                    change = peers[name].signalling.state.slot_changes[-1]
                    assert change.at - left_at < 1.0
                # cy vanishes (network gone): nothing it sends arrives any
                # more, the WebSocket stays open, no leave, no DTLS close.
                drop_all_media(peers["cy"])
                vanished_at = time.monotonic()
                await peers["ann"].signalling.wait_until(lambda s: not s.mids_of(pid["cy"]), timeout=20)
                removed_after = time.monotonic() - vanished_at
                # The last check before vanishing was 0-6 s earlier.
                assert 5.5 < removed_after < 13.5, f"removed {removed_after:.1f} s after vanishing (consent 12 s)"
                assert peers["ann"].signalling.state.mids_of(pid["ann"]) == []
                await peers["cy"].signalling.wait_until(
                    lambda s: any(m.get("type") == "left" for m in s.other), timeout=2)
                left = [m for m in peers["cy"].signalling.state.other if m.get("type") == "left"]
                assert left and left[0].get("reason") == "consent-expired", peers["cy"].signalling.state.other
            finally:
                for p in peers.values():
                    await p.close()

    run(scenario(), timeout=60)


def test_mixed_participant_hears_the_mix_of_the_others() -> None:
    async def scenario() -> None:
        with CohortServer() as server:
            peers = await join_all(server, ["ann", "bob"])
            cy = AiortcParticipant("cy", TONES["cy"])
            try:
                await cy.join_cohort(server.ws_url, server.token("cy"), "cy", audio_mode="mix")
                peers["cy"] = cy
                [mix_mid] = [s["mid"] for s in cy.signalling.state.slots if s.get("track") == "mix"]
                await cy.wait_until(lambda: cy.heard_tones(CANDIDATES, mix_mid) == {TONES["ann"], TONES["bob"]},
                                    timeout=20, candidates=CANDIDATES)
                strengths = cy.tone_strengths(CANDIDATES, mix_mid)
                assert strengths[TONES["ann"]] - strengths[TONES["cy"]] > 20, strengths
                others = [m for m in cy.audio_mids() if m != mix_mid and cy.recorders[m].audio.seconds > 0]
                assert others == [], f"a mixed participant gets no forwarded audio, got {others}"
                # The forwarding participants still hear cy's own tone, forwarded.
                pid = ids(peers)
                [cy_at_ann] = peers["ann"].signalling.state.mids_of(pid["cy"], "audio")
                await peers["ann"].wait_until(lambda: TONES["cy"] in peers["ann"].heard_tones(CANDIDATES, cy_at_ann),
                                              timeout=10, candidates=CANDIDATES)
            finally:
                for p in peers.values():
                    await p.close()

    run(scenario(), timeout=60)
