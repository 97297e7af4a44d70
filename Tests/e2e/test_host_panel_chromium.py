"""Breakout rooms run from the web client's host panel.

One headless Chromium host opens the server's own web client with a host
token (`&testTone=1130`: its microphone is a 1130 Hz sine) and drives the
host panel by setting its inputs and clicking its buttons through
Runtime.evaluate, never by sending commands itself.  Two aiortc
participants (p1 550 Hz, p2 770 Hz, small video) are in the session.

Steps, each checked from the aiortc side (the `session` messages they
receive, their slot maps, and what they hear: only room-mates) and from the
page (the panel's rooms and selects, the countdown):
create two rooms (a duplicate name is refused and shown) → assign p1 to
room 1 and p2 to room 2 → open (p1 and p2 hear nobody) → move p2 into room
1 (they hear each other, not the host) → listen in on room 1 and stop →
mute p1 (p2 hears nothing) and unmute → broadcast → close with a 2 s
countdown that every participant is told and the page counts down → all
back in the main room hearing everyone; then p1's chat reaches the host's
page; last, a `session` and a `speaking` message fed to the page check
what a participant is shown (room name, listening and muted notices, hand,
countdown, speaking tiles).  Printed: seconds from each click to the state the peers observe.

A second test runs with `--waiting-room on`: admit, deny, balance
automatically, join a room and remove, from the panel.

The host joins before the participants: the server registers a connection
for events only after the engine's join returns, so nobody receives the
`session` message published by their own join (only later ones).
"""

from __future__ import annotations

import asyncio
import json
import time

from chromium import Chromium, Page
from cohort_server import WEB_ROOT, CohortServer
from conftest import run
from peer import AiortcParticipant

TONES = {"host": 1130.0, "p1": 550.0, "p2": 770.0}
CANDIDATES = sorted(TONES.values())
NAMES = {"host": "Dr Host", "p1": "Pat One", "p2": "Pat Two"}
WINDOW = 0.5  # seconds of audio judged


def heard_now(peer: AiortcParticipant) -> set[float]:
    """Tones in the last WINDOW of each audio slot that is still receiving
    (an emptied slot keeps its old samples but gets no new ones)."""
    now = time.monotonic()
    heard: set[float] = set()
    for mid in peer.audio_mids():
        r = peer.recorders[mid]
        if r.last_frame_at is not None and now - r.last_frame_at < 0.15:
            heard |= peer.heard_tones(CANDIDATES, mid, window_s=WINDOW)
    return heard


def latest_session(peer: AiortcParticipant) -> dict:
    sessions = [m for m in peer.signalling.state.other if m.get("type") == "session"]
    return max(sessions, key=lambda m: m.get("version", -1)) if sessions else {}


def members(session: dict) -> dict[str, list[str]]:
    return {r["id"]: sorted(r["members"]) for r in session.get("rooms", [])}


async def wait_for(what: str, predicate, describe, timeout: float) -> float:
    """Polls ``predicate`` (sync or async) every 50 ms; returns the seconds
    it took, AssertionError with ``describe()`` otherwise."""
    start = time.monotonic()
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            detail = describe()
            if asyncio.iscoroutine(detail):
                detail = await detail
            raise AssertionError(f"{what}: not within {timeout} s\n{detail}")
        await asyncio.sleep(0.05)


PANEL = """({
  rooms: [...document.querySelectorAll('#host-rooms li')].map((li) => ({
    id: li.dataset.room, name: li.querySelector('strong').textContent, members: li.querySelector('.members').textContent})),
  people: Object.fromEntries([...document.querySelectorAll('#host-people select')].map((s) => [s.dataset.participant, s.value])),
  panelHidden: document.getElementById('host-panel').hidden,
  message: document.getElementById('message').hidden ? '' : document.getElementById('message').textContent,
  countdown: document.getElementById('countdown').hidden ? null : document.getElementById('countdown').dataset.seconds,
  announcements: [...document.querySelectorAll('#announcements li')].map((li) => li.textContent),
  chat: [...document.querySelectorAll('#chat-log li')].map((li) => li.textContent),
  status: document.getElementById('status').textContent,
  sessionVersion: window.cohort && cohort.state.sessionVersion,
})"""


async def set_value(page: Page, selector: str, value: str, event: str = "input", timeout: float = 5.0) -> None:
    """Sets a form control's value as typing or choosing would, then fires
    ``event``; waits (the panel redraws when the page gets its `session`)
    while the control is missing, disabled or lacks the option."""
    js = f"""(() => {{
        const el = document.querySelector({json.dumps(selector)});
        if (!el || el.disabled) return false;
        if (el.tagName === 'SELECT' && ![...el.options].some((o) => o.value === {json.dumps(value)})) return false;
        el.value = {json.dumps(value)};
        el.dispatchEvent(new Event({json.dumps(event)}, {{bubbles: true}}));
        return true;
      }})()"""
    await wait_for(f"{selector} := {value!r}", lambda: page.evaluate(js), lambda: page.evaluate(PANEL), timeout)


async def click(page: Page, selector: str, timeout: float = 5.0) -> None:
    """Clicks the element once it exists and is enabled."""
    js = f"""(() => {{
        const el = document.querySelector({json.dumps(selector)});
        if (!el || el.disabled) return false;
        el.click();
        return true;
      }})()"""
    await wait_for(f"click {selector} (missing or disabled)", lambda: page.evaluate(js), lambda: page.evaluate(PANEL), timeout)


def test_host_panel_runs_breakout_rooms() -> None:
    async def scenario() -> None:
        with CohortServer(web_root=WEB_ROOT) as server:
            async with Chromium() as browser:
                url = f"{server.base_url}?token={server.token(NAMES['host'], role='host')}&testTone={TONES['host']:g}"
                page = await browser.new_page(url)
                peers = {n: AiortcParticipant(n, TONES[n], slots=3, video_slots=2, video_format=(160, 120, 10))
                         for n in ("p1", "p2")}
                try:
                    # The host joins first: the server sends nobody the `session`
                    # of their own join (see the module docstring).
                    await click(page, "#join")
                    await wait_for("host joined", lambda: page.evaluate("cohort.state.joined && !document.getElementById('host-panel').hidden"),
                                   lambda: page.evaluate(PANEL), 15)
                    pid = {"host": await page.evaluate("cohort.state.participantId")}
                    for n, p in peers.items():
                        await p.join_cohort(server.ws_url, server.token(NAMES[n]), NAMES[n])
                        pid[n] = p.joined["participantId"]

                    async def panel() -> dict:
                        return await page.evaluate(PANEL) | {"console": page.console[-5:], "exceptions": page.exceptions,
                                                             "p1 session": latest_session(peers["p1"])}
                    figures: dict[str, float] = {}

                    def hearing(expected: dict[str, set[float]]):
                        return (lambda: all(heard_now(peers[n]) == e for n, e in expected.items()),
                                lambda: {n: sorted(heard_now(peers[n])) for n in expected}
                                | {"summary": "\n".join(p.summary(CANDIDATES) for p in peers.values())})

                    def sessions_say(what: str, check):
                        return (lambda: all(check(latest_session(p)) for p in peers.values()),
                                lambda: {n: latest_session(p) for n, p in peers.items()})

                    # --- everyone in the main room hears everyone; the panel is shown to the host
                    await wait_for("all hear all in main", *hearing(
                        {"p1": {TONES["p2"], TONES["host"]}, "p2": {TONES["p1"], TONES["host"]}}), 25)
                    await wait_for("panel lists both participants",
                                   lambda: page.evaluate(f"document.querySelectorAll('#host-people tr[data-participant]').length === 2"),
                                   panel, 5)

                    # --- create two rooms
                    await set_value(page, "#room-count", "2")
                    await set_value(page, "#room-names", "Pairs A, Pairs B")
                    t = time.monotonic()
                    await click(page, "#create-form button")
                    await wait_for("rooms created", *sessions_say("rooms", lambda s: [(r["id"], r["name"]) for r in s.get("rooms", [])]
                                                                 == [("main", "Main room"), ("r1", "Pairs A"), ("r2", "Pairs B")]), 5)
                    figures["create"] = time.monotonic() - t
                    await wait_for("panel shows the rooms",
                                   lambda: panel_rooms(page, ["main", "r1", "r2"]), panel, 5)
                    # A refused command is shown plainly.
                    await set_value(page, "#room-count", "1")
                    await set_value(page, "#room-names", "pairs a")
                    await click(page, "#create-form button")
                    await wait_for("duplicate name shown", lambda: page_message_contains(page, "exists already"), panel, 5)
                    assert len(latest_session(peers["p1"])["rooms"]) == 3, "a refused create changed the rooms"

                    # --- assign p1 → r1, p2 → r2 with the per-participant selects
                    t = time.monotonic()
                    await set_value(page, f"#host-people select[data-participant='{pid['p1']}']", "r1", "change")
                    await wait_for("p1 assigned", *sessions_say("assign", lambda s: s.get("assignments", {}).get(pid["p1"]) == "r1"), 5)
                    await set_value(page, f"#host-people select[data-participant='{pid['p2']}']", "r2", "change")
                    await wait_for("p2 assigned", *sessions_say("assign", lambda s: s.get("assignments") == {pid["p1"]: "r1", pid["p2"]: "r2"}), 5)
                    figures["assign"] = time.monotonic() - t
                    assert (await panel())["people"] == {pid["p1"]: "r1", pid["p2"]: "r2"}, await panel()
                    assert not latest_session(peers["p1"])["breakoutsOpen"]
                    # Planning moves nobody.
                    assert members(latest_session(peers["p1"]))["main"] == sorted(pid.values())

                    # --- open: p1 alone in Pairs A, p2 alone in Pairs B; nobody hears anybody
                    t = time.monotonic()
                    await click(page, "#open-rooms")
                    await wait_for("rooms open", *sessions_say("open", lambda s: s.get("breakoutsOpen") and members(s) ==
                                                               {"main": [pid["host"]], "r1": [pid["p1"]], "r2": [pid["p2"]]}), 5)
                    figures["open → session"] = time.monotonic() - t
                    await wait_for("rooms isolate audio", *hearing({"p1": set(), "p2": set()}), 10)
                    figures["open → silence"] = time.monotonic() - t
                    for n, other in (("p1", "p2"), ("p2", "p1")):
                        state = peers[n].signalling.state
                        assert state.mids_of(pid[other]) == [] and state.mids_of(pid["host"]) == [], (n, state.slots)
                    await wait_for("panel shows open rooms", lambda: panel_members(page, {
                        "main": [NAMES["host"]], "r1": [NAMES["p1"]], "r2": [NAMES["p2"]]}), panel, 5)
                    assert (await panel())["people"] == {pid["p1"]: "r1", pid["p2"]: "r2"}, await panel()

                    # --- move p2 into Pairs A while open: p1 and p2 hear each other, not the host
                    t = time.monotonic()
                    await set_value(page, f"#host-people select[data-participant='{pid['p2']}']", "r1", "change")
                    await wait_for("p2 moved", *sessions_say("move", lambda s: members(s).get("r1") == sorted([pid["p1"], pid["p2"]])
                                                             and members(s).get("r2") == []), 5)
                    figures["move → session"] = time.monotonic() - t
                    await wait_for("room-mates hear each other", *hearing({"p1": {TONES["p2"]}, "p2": {TONES["p1"]}}), 10)
                    figures["move → hearing"] = time.monotonic() - t
                    await wait_for("panel shows the move", lambda: panel_members(page, {
                        "main": [NAMES["host"]], "r1": [NAMES["p1"], NAMES["p2"]], "r2": []}), panel, 5)

                    # --- listen in on Pairs A and stop; mute p1 and unmute, from the panel's buttons
                    await click(page, "#host-rooms li[data-room='r1'] button[data-action='listen']")
                    await wait_for("host listens to r1", *sessions_say("listen", lambda s: any(
                        r["id"] == "r1" and r["listeners"] == [pid["host"]] for r in s.get("rooms", []))), 5)
                    await wait_for("panel offers to stop listening", lambda: page.evaluate(
                        "document.querySelector(\"#host-rooms li[data-room='r1'] button[data-action='listen']\").textContent === 'Stop listening'"), panel, 5)
                    await click(page, "#host-rooms li[data-room='r1'] button[data-action='listen']")
                    await wait_for("host stops listening", *sessions_say("listen", lambda s: all(
                        r["listeners"] == [] for r in s.get("rooms", []))), 5)
                    await click(page, f"#host-people tr[data-participant='{pid['p1']}'] button[data-action='mute']")
                    await wait_for("p1 muted", *sessions_say("mute", lambda s: s.get("muted") == [pid["p1"]]), 5)
                    await wait_for("p2 no longer hears p1", *hearing({"p2": set()}), 10)
                    await click(page, f"#host-people tr[data-participant='{pid['p1']}'] button[data-action='mute']")
                    await wait_for("p1 unmuted", *sessions_say("mute", lambda s: s.get("muted") == []), 5)
                    await wait_for("p2 hears p1 again", *hearing({"p2": {TONES["p1"]}}), 10)

                    # --- broadcast from the panel reaches both rooms and the host's own page
                    await set_value(page, "#broadcast-text", "Five minutes left")
                    await click(page, "#broadcast-form button")
                    for n, p in peers.items():
                        await wait_for(f"{n} gets the broadcast", lambda p=p: any(
                            m.get("type") == "broadcast" and m.get("text") == "Five minutes left" and m.get("from") == NAMES["host"]
                            for m in p.signalling.state.other), lambda p=p: p.signalling.state.other[-5:], 5)

                    # --- close with a 2 s countdown: everyone is told, the page counts down, then all are back
                    await set_value(page, "#countdown-seconds", "2")
                    t = time.monotonic()
                    await click(page, "#close-rooms")
                    await wait_for("countdown announced", *sessions_say("close", lambda s: s.get("closingInSeconds") == 2), 3)
                    await wait_for("page counts down", lambda: page_countdown_in(page, {"1", "2"}), panel, 2)
                    assert TONES["host"] not in heard_now(peers["p1"]), "rooms closed before the countdown ran out"
                    await wait_for("all back in main", *sessions_say("closed", lambda s: not s.get("breakoutsOpen")
                                                                     and "closingInSeconds" not in s
                                                                     and members(s) == {"main": sorted(pid.values())}), 6)
                    figures["close → back in main"] = time.monotonic() - t
                    assert figures["close → back in main"] > 1.5, f"back after {figures['close → back in main']:.2f} s, before the countdown"
                    await wait_for("all hear all again", *hearing(
                        {"p1": {TONES["p2"], TONES["host"]}, "p2": {TONES["p1"], TONES["host"]}}), 10)
                    figures["close → hearing all"] = time.monotonic() - t
                    await wait_for("panel shows the main room only", lambda: panel_rooms(page, ["main"]), panel, 3)
                    await wait_for("countdown gone", lambda: page_countdown_in(page, {None}), panel, 3)
                    shown = await panel()
                    assert any("Five minutes left" in a for a in shown["announcements"]), shown
                    assert any("close in 2 seconds" in a for a in shown["announcements"]), shown

                    # --- a participant's chat reaches the host in the same room
                    await peers["p1"].signalling.request({"type": "chat", "text": "Hello from p1"})
                    await wait_for("host page shows the chat", lambda: page.evaluate(
                        "[...document.querySelectorAll('#chat-log li')].some((li) => li.textContent === 'Pat One: Hello from p1')"), panel, 5)

                    # --- what a participant is shown (fed to the page, newest version): room name,
                    # a host listening, muted by the host, own raised hand, countdown, speaking tiles
                    me = pid["host"]
                    shown = await page.evaluate(f"""cohort.onMessage({{type: 'session', version: 1e9, breakoutsOpen: true, closingInSeconds: 9,
                        rooms: [{{id: 'main', name: 'Main room', members: [], listeners: []}},
                                {{id: 'r7', name: 'Quiet corner', members: [{me!r}, {pid['p1']!r}], listeners: ['p-other']}}],
                        assignments: {{}}, waiting: [], muted: [{me!r}], handsRaised: [{me!r}]}}),
                      cohort.onMessage({{type: 'speaking', participants: [{pid['p1']!r}]}}),
                      // read in the same task: no server message can come in between
                      ({{
                        room: document.getElementById('room-name').textContent,
                        listening: !document.getElementById('listening-notice').hidden,
                        muted: !document.getElementById('muted-notice').hidden,
                        hand: document.getElementById('hand').textContent + '/' + document.getElementById('hand').getAttribute('aria-pressed'),
                        countdown: document.getElementById('countdown').dataset.seconds,
                        speaking: [...document.querySelectorAll('#grid .tile.speaking')].map((t) => t.dataset.participant)}})""")
                    assert shown == {"room": "Room: Quiet corner", "listening": True, "muted": True, "hand": "Lower hand/true",
                                     "countdown": "9", "speaking": [pid["p1"]]}, shown
                    assert page.exceptions == [], page.exceptions
                    print("\nhost panel, click → observed (s): " + ", ".join(f"{k} {v:.2f}" for k, v in figures.items()))
                finally:
                    for p in peers.values():
                        await p.close()

    run(scenario(), timeout=90)


async def panel_rooms(page: Page, ids: list[str]) -> bool:
    return [r["id"] for r in (await page.evaluate(PANEL))["rooms"]] == ids


async def panel_members(page: Page, expected: dict[str, list[str]]) -> bool:
    """The panel lists exactly ``expected`` names per room."""
    rooms = {r["id"]: r["members"] for r in (await page.evaluate(PANEL))["rooms"]}
    for room, names in expected.items():
        text = rooms.get(room)
        if text is None:
            return False
        listed = [] if text == ": empty" else sorted(text.removeprefix(": ").split(", "))
        if listed != sorted(names):
            return False
    return True


async def page_message_contains(page: Page, text: str) -> bool:
    return text in (await page.evaluate(PANEL))["message"]


async def page_countdown_in(page: Page, values: set) -> bool:
    return (await page.evaluate(PANEL))["countdown"] in values


def test_host_panel_waiting_room_balance_join_and_remove() -> None:
    """`--waiting-room on`: the panel lists the waiting, Admit lets p1 in
    (it hears the host), Deny turns p2 away; Balance automatically plans p1
    into the first room, Join room takes the host there, Remove ends p1's
    session."""

    async def scenario() -> None:
        with CohortServer(web_root=WEB_ROOT, waiting_room=True) as server:
            async with Chromium() as browser:
                url = f"{server.base_url}?token={server.token(NAMES['host'], role='host')}&testTone={TONES['host']:g}"
                page = await browser.new_page(url)
                peers = {n: AiortcParticipant(n, TONES[n], slots=3, video_slots=2, video_format=(160, 120, 10))
                         for n in ("p1", "p2")}

                async def panel() -> dict:
                    return await page.evaluate(PANEL) | {"waiting": await page.evaluate(
                        "[...document.querySelectorAll('#host-waiting li')].map((li) => li.textContent)"),
                        "console": page.console[-5:], "exceptions": page.exceptions}

                def said(n: str, check):
                    return lambda: check(latest_session(peers[n])), lambda: peers[n].signalling.state.other[-3:]

                def got_left(n: str, reason: str):
                    return (lambda: any(m.get("type") == "left" and m.get("reason") == reason for m in peers[n].signalling.state.other),
                            lambda: peers[n].signalling.state.other[-3:])

                try:
                    await click(page, "#join")
                    await wait_for("host joined", lambda: page.evaluate("cohort.state.joined && !document.getElementById('host-panel').hidden"),
                                   panel, 15)
                    pid = {"host": await page.evaluate("cohort.state.participantId")}
                    for n, p in peers.items():
                        await p.join_cohort(server.ws_url, server.token(NAMES[n]), NAMES[n])
                        pid[n] = p.joined["participantId"]
                    await wait_for("panel lists the waiting", lambda: page.evaluate(
                        f"[...document.querySelectorAll('#host-waiting li')].map((li) => li.dataset.participant).join() === '{pid['p1']},{pid['p2']}'"),
                        panel, 5)
                    assert any(w.startswith(NAMES["p1"]) for w in (await panel())["waiting"]), await panel()
                    assert peers["p1"].signalling.state.mids_of(pid["host"]) == [], "a waiting participant receives media"

                    await click(page, f"#host-waiting li[data-participant='{pid['p1']}'] button[data-action='admit']")
                    await wait_for("p1 admitted", *said("p1", lambda s: s.get("waiting") == [] and pid["p1"] in members(s).get("main", [])), 5)
                    await wait_for("p1 hears the host", lambda: heard_now(peers["p1"]) == {TONES["host"]},
                                   lambda: peers["p1"].summary(CANDIDATES), 15)
                    await click(page, f"#host-waiting li[data-participant='{pid['p2']}'] button[data-action='deny']")
                    await wait_for("p2 denied", *got_left("p2", "denied"), 5)
                    await wait_for("waiting list empty", lambda: page.evaluate(
                        "document.getElementById('host-waiting').textContent === 'Nobody is waiting.'"), panel, 5)

                    await set_value(page, "#room-count", "2")
                    await set_value(page, "#room-names", "")
                    await click(page, "#create-form button")
                    await wait_for("rooms created", *said("p1", lambda s: [r["name"] for r in s.get("rooms", [])]
                                                          == ["Main room", "Room 1", "Room 2"]), 5)
                    await click(page, "#balance")
                    await wait_for("balanced", *said("p1", lambda s: s.get("assignments") == {pid["p1"]: "r1"}), 5)
                    await click(page, "#open-rooms")
                    await wait_for("p1 in Room 1", *said("p1", lambda s: members(s).get("r1") == [pid["p1"]]), 5)
                    await click(page, "#host-rooms li[data-room='r1'] button[data-action='join-room']")
                    await wait_for("host joined Room 1", *said("p1", lambda s: members(s).get("r1") == sorted([pid["p1"], pid["host"]])), 5)
                    await wait_for("panel: host is in Room 1", lambda: page.evaluate(
                        "document.querySelector(\"#host-rooms li[data-room='r1']\").textContent.includes('(you are here)')"), panel, 5)

                    await click(page, f"#host-people tr[data-participant='{pid['p1']}'] button[data-action='remove']")
                    await wait_for("p1 removed", *got_left("p1", "removed"), 5)
                    await wait_for("panel drops p1", lambda: page.evaluate(
                        "document.querySelectorAll('#host-people tr[data-participant]').length === 0"), panel, 5)
                    assert page.exceptions == [], page.exceptions
                finally:
                    for p in peers.values():
                        await p.close()

    run(scenario(), timeout=90)
