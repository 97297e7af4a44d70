"""What docs/PROTOCOL.md says the server does, against the real server
(issue 19): the order of messages on join, who is speaking for a joiner
(aiortc, which never sets RFC 6464's V flag), a waiting participant in no
room, which error wins, commands a participant may send, rooms discarded on
close, a join after `end-session`, a closed WebSocket (with resume off),
and the consent timeout's floor.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time

from cohort_server import BINARY, CohortServer
from conftest import run
from peer import AiortcParticipant
from signalling import SignallingError

TONES = {"ann": 440.0, "bob": 660.0, "cy": 880.0, "host": 550.0, "wes": 770.0}


async def join(server: CohortServer, name: str, role: str = "participant", room: str = "main") -> AiortcParticipant:
    p = AiortcParticipant(name, TONES[name], slots=2)
    await p.join_cohort(server.ws_url, server.token(name, role=role, room=room), name)
    return p


def sessions(p: AiortcParticipant) -> list[dict]:
    return [m for m in p.signalling.state.other if m.get("type") == "session"]


def members(view: dict) -> dict[str, list[str]]:
    return {r["id"]: r["members"] for r in view["rooms"]}


async def error_code(p: AiortcParticipant, message: dict) -> str | None:
    try:
        await p.signalling.request(message)
        return None
    except SignallingError as e:
        return e.code


def test_a_joiner_gets_session_and_speakers_before_joined() -> None:
    """ann and bob are aiortc peers sending tones (V=0 on every packet); cy
    joins: `session` and `speaking` naming both arrive before `joined`."""
    async def scenario() -> None:
        with CohortServer() as server:
            ann, bob = await join(server, "ann"), await join(server, "bob")
            cy = None
            try:
                pid = {n: p.joined["participantId"] for n, p in (("ann", ann), ("bob", bob))}
                speaking = lambda s: any(m.get("type") == "speaking" and sorted(m["participants"]) == sorted(pid.values())
                                         for m in s.other)
                await ann.signalling.wait_until(lambda s: any(m.get("type") == "speaking" and pid["bob"] in m["participants"]
                                                              for m in s.other), timeout=15)
                cy = await join(server, "cy")
                order = cy.signalling.state.order
                assert "joined" in order, order
                before = order[:order.index("joined")]
                assert "session" in before and "speaking" in before, f"wire order on join: {order}"
                assert speaking(cy.signalling.state), [m for m in cy.signalling.state.other if m.get("type") == "speaking"]
                print("cy's first messages:", order[:6])
            finally:
                for p in (ann, bob, cy):
                    if p is not None:
                        await p.close()

    run(scenario(), timeout=60)


def test_a_waiting_participant_is_in_no_room() -> None:
    async def scenario() -> None:
        with CohortServer(waiting_room=True) as server:
            host = await join(server, "host", role="host")
            wes = await join(server, "wes")
            try:
                h, w = host.joined["participantId"], wes.joined["participantId"]
                assert wes.joined["room"] == "waiting", wes.joined
                assert [(r["participantId"], r["room"]) for r in wes.joined["roster"]] == [(w, "waiting")], wes.joined["roster"]
                await host.signalling.wait_until(lambda s: any(
                    m.get("type") == "session" and [x["participantId"] for x in m["waiting"]] == [w] for m in s.other), timeout=5)
                view = sessions(host)[-1]
                assert members(view) == {"main": [h]}, view
                assert view["waiting"][0]["room"] == "waiting", view
                assert w not in view["names"], view
                assert all(w not in [r["participantId"] for r in roster.value]
                           for roster in host.signalling.state.roster_changes), host.signalling.state.roster_changes
                mine = sessions(wes)[-1]
                assert mine["rooms"] == [] and mine["names"] == {} and mine["handsRaised"] == [], mine
                assert [x["participantId"] for x in mine["waiting"]] == [w], mine
                # Admitted: wes enters main, and both are told.
                await host.signalling.request({"type": "admit", "participantId": w})
                await host.signalling.wait_until(lambda s: sorted(r["participantId"] for r in s.roster) == sorted([h, w]), timeout=5)
                await wes.signalling.wait_until(lambda s: any(r["participantId"] == w and r["room"] == "main" for r in s.roster),
                                                timeout=5)
                await host.signalling.wait_until(lambda s: members(sessions(host)[-1]) == {"main": sorted([h, w])}
                                                 or members(sessions(host)[-1]) == {"main": [h, w]}, timeout=5)
            finally:
                await wes.close()
                await host.close()

    run(scenario(), timeout=60)


def test_commands_errors_and_rooms_as_documented() -> None:
    async def scenario() -> None:
        with CohortServer() as server:
            host, ann = await join(server, "host", role="host"), await join(server, "ann")
            try:
                # audio-mode is for everyone; other session commands are the host's.
                assert await error_code(ann, {"type": "audio-mode", "mode": "mix"}) is None
                assert await error_code(ann, {"type": "create-rooms", "names": ["A"]}) == "forbidden"
                # Which error wins does not depend on the state.
                assert await error_code(host, {"type": "close-rooms", "countdown": 301}) == "invalid-command"
                assert await error_code(host, {"type": "create-rooms", "names": ["A", "B"]}) is None
                assert await error_code(host, {"type": "open-rooms"}) is None
                assert await error_code(host, {"type": "close-rooms", "countdown": 301}) == "invalid-command"
                assert await error_code(host, {"type": "close-rooms", "countdown": 30}) is None
                assert await error_code(host, {"type": "move", "participantId": "p-nobody", "room": "r1"}) == "unknown-participant"
                assert await error_code(host, {"type": "close-rooms", "countdown": 301}) == "invalid-command"
                assert await error_code(host, {"type": "close-rooms", "countdown": 0}) == "rooms-closing"
                # Rooms closed after their countdown are discarded: numbering starts again at r1.
                await host.signalling.wait_until(lambda s: not sessions(host)[-1]["breakoutsOpen"]
                                                 and len(sessions(host)[-1]["rooms"]) == 1, timeout=40)
                assert await error_code(host, {"type": "create-rooms", "names": ["C"]}) is None
                await host.signalling.wait_until(lambda s: [r["id"] for r in sessions(host)[-1]["rooms"]] == ["main", "r1"], timeout=5)
                assert sessions(host)[-1]["rooms"][1]["name"] == "C", sessions(host)[-1]
            finally:
                await ann.close()
                await host.close()

    run(scenario(), timeout=90)


def test_a_closed_websocket_removes_at_once_and_a_join_after_end_session_starts_afresh() -> None:
    # With resume off (`--resume-grace 0`, docs/PROTOCOL.md "Resuming after a
    # dropped WebSocket"); the grace period itself is in test_resume.py.
    async def scenario() -> None:
        with CohortServer(extra_args=["--resume-grace", "0"]) as server:
            host, ann, bob = await join(server, "host", role="host"), await join(server, "ann"), await join(server, "bob")
            try:
                b = bob.joined["participantId"]
                await ann.signalling.wait_until(lambda s: b in [r["participantId"] for r in s.roster], timeout=5)
                closed_at = time.monotonic()
                await bob.signalling.close()  # TCP goes, media stays up
                await ann.signalling.wait_until(lambda s: b not in [r["participantId"] for r in s.roster], timeout=3)
                print(f"roster without bob {time.monotonic() - closed_at:.2f} s after his WebSocket closed")
                assert await error_code(host, {"type": "create-rooms", "names": ["A"]}) is None
                assert await error_code(host, {"type": "end-session"}) is None
                await ann.signalling.wait_until(lambda s: any(m.get("type") == "left" for m in s.other), timeout=5)
                assert [m.get("reason") for m in ann.signalling.state.other if m.get("type") == "left"] == ["session-ended"]
                # ann's token has not expired: joining again starts the session afresh.
                again = await join(server, "cy")
                try:
                    first = sessions(again)[0]
                    assert members(first) == {"main": [again.joined["participantId"]]}, first
                    assert not first["breakoutsOpen"] and len(first["rooms"]) == 1, first
                finally:
                    await again.close()
            finally:
                for p in (ann, bob, host):
                    await p.close()

    run(scenario(), timeout=60)


def test_a_consent_timeout_under_twelve_seconds_is_refused() -> None:
    for seconds in (8, 11):
        try:
            result = subprocess.run([BINARY, "serve", "--http", "127.0.0.1:0", "--media", "127.0.0.1:0",
                                     "--consent-timeout", str(seconds)], capture_output=True, text=True, timeout=10)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"--consent-timeout {seconds} was accepted: the server started") from None
        assert result.returncode != 0, (seconds, result.stdout, result.stderr)
        assert "at least 12 s" in result.stderr + result.stdout, (result.stdout, result.stderr)
    with CohortServer(consent_timeout=12) as server:
        assert server.http_port, "12 s is accepted"


def test_sigterm_ends_media_with_bye_and_tells_every_client() -> None:
    """SIGTERM: every client gets `server-shutdown` with a retry hint, then
    close 1001; the streams it receives end at once (RTCP BYE: aiortc stops
    the receiver's decoder and ends the track); the server exits 0."""
    async def scenario() -> None:
        server = CohortServer()
        server.__enter__()
        ann = bob = None
        try:
            ann, bob = await join(server, "ann"), await join(server, "bob")
            b = bob.joined["participantId"]
            # Bob's join returns before ann's slot map that names him arrives (a CI run read it empty).
            await ann.signalling.wait_until(lambda s: len(s.mids_of(b, "audio")) == 1, timeout=10)
            [slot] = ann.signalling.state.mids_of(b, "audio")
            await ann.wait_until(lambda: ann.heard_tones([TONES["bob"]], slot) == {TONES["bob"]}, timeout=15,
                                 candidates=[TONES["bob"]])
            tracks = [t.receiver.track for t in ann.audio_slots + ann.video_slots]
            os.killpg(server.process.pid, signal.SIGTERM)
            signalled = time.monotonic()
            for p in (ann, bob):
                await p.signalling.wait_until(lambda s: any(m.get("type") == "server-shutdown" for m in s.other), timeout=5)
                notice = next(m for m in p.signalling.state.other if m.get("type") == "server-shutdown")
                assert notice == {"type": "server-shutdown", "retryAfter": 5}, notice
            deadline = time.monotonic() + 5
            while any(t.readyState != "ended" for t in tracks) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            assert all(t.readyState == "ended" for t in tracks), [t.readyState for t in tracks]
            ended_after = time.monotonic() - signalled
            for p in (ann, bob):
                ws = p.signalling._ws
                await asyncio.wait_for(ws.wait_closed(), 5)
                assert ws.close_code == 1001, ws.close_code
            assert server.process.wait(10) == 0, server.log[-20:]
            print(f"tracks ended {ended_after:.2f} s after SIGTERM; server exit 0")
        finally:
            for p in (ann, bob):
                if p is not None:
                    await p.close()
            server.__exit__(None, None, None)

    run(scenario(), timeout=60)


def test_removal_sticks_until_a_host_lets_the_person_back() -> None:
    """`remove` bans the person (token `sub`) from the session: the same
    token or a new one for the same `sub` gets `removed`, until `unban`."""
    async def scenario() -> None:
        with CohortServer() as server:
            host = await join(server, "host", role="host")
            ann = AiortcParticipant("ann", TONES["ann"], slots=2)
            await ann.join_cohort(server.ws_url, server.token("ann", sub="ann-42"), "ann")
            again: list[AiortcParticipant] = []
            try:
                a = ann.joined["participantId"]
                await host.signalling.request({"type": "remove", "participantId": a})
                await ann.signalling.wait_until(lambda s: any(m.get("type") == "left" for m in s.other), timeout=5)
                await host.signalling.wait_until(lambda s: sessions(host)[-1].get("removed") == [{"participantId": a, "name": "ann"}],
                                                 timeout=5)
                for token in (server.token("ann", sub="ann-42"), server.token("Ann again", sub="ann-42")):
                    p = AiortcParticipant("ann", TONES["ann"], slots=2)
                    again.append(p)
                    try:
                        await p.join_cohort(server.ws_url, token, "ann")
                        raise AssertionError("a removed person joined again")
                    except SignallingError as e:
                        assert e.code == "removed", e.code
                await host.signalling.request({"type": "unban", "participantId": a})
                back = AiortcParticipant("ann", TONES["ann"], slots=2)
                again.append(back)
                joined = await back.join_cohort(server.ws_url, server.token("ann", sub="ann-42"), "ann")
                assert joined["type"] == "joined", joined
                await host.signalling.wait_until(lambda s: sessions(host)[-1].get("removed") == [], timeout=5)
            finally:
                for p in [ann, host, *again]:
                    await p.close()

    run(scenario(), timeout=60)


def test_commands_apply_in_the_order_they_arrive() -> None:
    """One host sends move to r1, move to r2, ... back to back: they apply in
    that order (the last wins). Two hosts send bursts at once: every command
    is answered `ok`, and both hosts and the participant end with the same
    `session` (one order for the session, whatever the interleaving)."""
    async def scenario() -> None:
        with CohortServer() as server:
            h1, h2 = await join(server, "host", role="host"), await join(server, "wes", role="co-host")
            ann = await join(server, "ann")
            try:
                a = ann.joined["participantId"]
                await h1.signalling.request({"type": "create-rooms", "names": ["A", "B"]})
                await h1.signalling.request({"type": "open-rooms"})
                rooms = ["r1", "r2"] * 5
                replies = await h1.signalling.request_burst([{"type": "move", "participantId": a, "room": r} for r in rooms])
                assert [r["type"] for r in replies] == ["ok"] * 10, replies
                await h1.signalling.wait_until(lambda s: members(sessions(h1)[-1]).get("r2") == [a], timeout=5)

                await asyncio.sleep(2.5)  # the command budget (20 at once, 10 a second) refills
                async def burst(host, room: str) -> None:
                    for reply in await host.signalling.request_burst(
                            [{"type": "move", "participantId": a, "room": room} for _ in range(8)]):
                        assert reply["type"] == "ok", reply

                await asyncio.gather(burst(h1, "r1"), burst(h2, "r2"))
                # The views sent after the last command: all three converge on one version and shape.
                def settled() -> bool:
                    views = [sessions(p)[-1] for p in (h1, h2, ann)]
                    return len({v["version"] for v in views}) == 1 and views[0]["rooms"] == views[1]["rooms"] == views[2]["rooms"]
                deadline = time.monotonic() + 5
                while not settled():
                    assert time.monotonic() < deadline, [sessions(p)[-1] for p in (h1, h2, ann)]
                    await asyncio.sleep(0.05)
                final = members(sessions(h1)[-1])
                assert final.get("r1") == [a] or final.get("r2") == [a], final
            finally:
                for p in (ann, h2, h1):
                    await p.close()

    run(scenario(), timeout=60)
