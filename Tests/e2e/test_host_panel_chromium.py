"""Breakout rooms run from the web client's host panel.

One headless Chromium host opens the server's own web client with a host
token (`&testTone=1130`: its microphone is a 1130 Hz sine) and drives the
host panel by setting its inputs and clicking its buttons through
Runtime.evaluate, never by sending commands itself.  Two aiortc
participants (p1 550 Hz, p2 770 Hz, small video) are in the session.

Steps, each checked from the aiortc side (the `session` messages they
receive, their slot maps, and what they hear: only room-mates) and from the
page (the panel's columns and cards, the live region, the timers):
create two rooms (a duplicate name is refused and shown) → before opening,
drag p1's card onto Pairs A (a real mouse drag, `webui.drag_and_drop`) and
move p2 to Pairs B by keyboard (arrow keys and Enter on the focused card;
an arrow then Escape first sends nothing) → open (p1 and p2 hear nobody) →
drag p2 into Pairs A (they hear each other, not the host) → keyboard-move p1
to Pairs B (both hear nobody) and back with its "Move to" list → the
per-room timers show the time since opening (server's `openForSeconds`)
and advance → listen in on Pairs A: the button is pressed, the line says
"Listening to Pairs A", and the host's page hears p1's and p2's tones; off
again, it hears nobody → axe-core and the layout checks on the panel at
desktop, tablet and phone sizes, with screenshots, and a Tab walk through
the open rooms' controls → mute p1 from its card (p2 hears
nothing) and unmute → broadcast → close with a 2 s countdown that every
participant is told and the page and the columns count down → all back in
the main room hearing everyone; then p1's chat reaches the host's page;
last, a `session` and a `speaking` message fed to the page check what a
participant is shown (room name, listening and muted notices, hand,
countdown, speaking tiles).  Printed: seconds from each action to the state
the peers observe.

A second test runs with `--waiting-room on`: admit, deny, balance
automatically, join a room, and remove through its confirmation dialog
(Enter on Cancel and Escape keep p1 in the session; Tab to Remove and Enter
removes it).

The host joins before the participants: the server registers a connection
for events only after the engine's join returns, so nobody receives the
`session` message published by their own join (only later ones).
"""

from __future__ import annotations

import asyncio
import json
import time

import numpy as np
from chromium import Chromium, Page
from cohort_server import WEB_ROOT, CohortServer
from conftest import run
from peer import AiortcParticipant
from tones import present_tones
from webui import axe_violations, drag_and_drop, emulate, layout_problems, press, press_key, screenshot, tab_order

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
  rooms: [...document.querySelectorAll('#host-rooms .room-column')].map((c) => ({
    id: c.dataset.room, name: c.querySelector('h4').textContent,
    members: [...c.querySelectorAll('.card .card-name')].map((n) => n.textContent.replace(/ \\(you\\)$/, '')),
    timer: c.querySelector('.room-timer') && c.querySelector('.room-timer').textContent,
    listenPressed: c.querySelector("button[data-action='listen']") && c.querySelector("button[data-action='listen']").getAttribute('aria-pressed')})),
  // Each card's column, and its "Move to" select, which must agree.
  people: Object.fromEntries([...document.querySelectorAll('#host-rooms .card select')].map((s) =>
    [s.dataset.participant, s.closest('.room-column').dataset.room === s.value ? s.value : 'column ' + s.closest('.room-column').dataset.room + ' / select ' + s.value])),
  listening: document.getElementById('listening-line').textContent,
  live: [...document.querySelectorAll('#live p')].map((p) => p.textContent),
  focus: document.activeElement && (document.activeElement.dataset.participant || document.activeElement.id || document.activeElement.tagName),
  panelHidden: document.getElementById('host-panel').hidden,
  message: document.getElementById('message').hidden ? '' : document.getElementById('message').textContent,
  countdown: document.getElementById('countdown').hidden ? null : document.getElementById('countdown').dataset.seconds,
  announcements: [...document.querySelectorAll('#announcements li')].map((li) => li.textContent),
  chat: [...document.querySelectorAll('#chat-log li')].map((li) => li.textContent),
  status: document.getElementById('status').textContent,
  sessionVersion: window.cohort && cohort.state.sessionVersion,
})"""


async def page_heard(page: Page, seconds: float = 0.6) -> set[float]:
    """Tones the host's page receives now (what the therapist hears): each
    audio slot that packets reach during the capture, captured for
    ``seconds`` at once. A slot no packet reaches is left out: its receiver
    plays the jitter buffer's concealment of the last sound, and in Firefox
    ESR 153 that keeps a steady tone detectable for seconds (measured: a
    slot emptied by a move, no packet for a second, both old tones found)."""
    captures = await page.evaluate(f"""(async () => {{
        const packets = async (mid) => {{ let n = 0; const t = cohort.state.pc.getTransceivers().find((x) => x.mid === mid);
          (await t.receiver.getStats()).forEach((s) => {{ if (s.type === 'inbound-rtp') n = s.packetsReceived; }}); return n; }};
        return Promise.all([...cohort.state.players.entries()].map(async ([mid, audio]) => {{
          const before = await packets(mid);
          cohortTest.remote['probe' + mid] = audio.srcObject.getAudioTracks()[0];
          const capture = await cohortTest.captureAudio('probe' + mid, {seconds});
          return (await packets(mid)) > before ? capture : null;
        }}));
      }})()""", timeout=15)
    heard: set[float] = set()
    for c in captures:
        if c is not None:
            heard |= present_tones(np.asarray(c["samples"], dtype=np.float32), c["rate"], CANDIDATES, window_s=None)
    return heard


async def key_move(page: Page, participant: str, arrows: list[str], finish: str = "Enter") -> None:
    """Keyboard only: focuses the participant's card, presses the arrow
    keys (real key events), then ``finish`` (Enter moves, Escape cancels)."""
    card = f"#host-rooms .card[data-participant='{participant}']"
    assert await page.evaluate(f"(() => {{ const c = document.querySelector({json.dumps(card)}); if (!c) return false; c.focus();"
                               f" return document.activeElement === c; }})()"), f"cannot focus {card}"
    for key in [*arrows, finish]:
        await press_key(page, key)


async def plan_p2_by_keyboard(page: Page, peers: dict[str, AiortcParticipant], pid: dict[str, str], describe) -> float:
    """Before the rooms open, p1 already planned into Pairs A (r1): on p2's
    card an arrow then Escape sends nothing (the cancel is announced); two
    arrows and Enter plan p2 into Pairs B (r2): both participants' `session`
    says so, the live region announces it and focus stays on the moved card.
    Returns the seconds from the keys to the participants' `session`."""
    version = latest_session(peers["p1"])["version"]
    await key_move(page, pid["p2"], ["ArrowRight"], finish="Escape")
    await wait_for("cancel announced", lambda: page.evaluate(
        "document.getElementById('live').textContent.includes('Move cancelled; Pat Two stays in Main room.')"), describe, 3)
    t = time.monotonic()
    await key_move(page, pid["p2"], ["ArrowRight", "ArrowRight"])
    await wait_for("p2 assigned by keyboard", lambda: all(latest_session(p).get("assignments") == {pid["p1"]: "r1", pid["p2"]: "r2"}
                                                           for p in peers.values()),
                   lambda: {n: latest_session(p) for n, p in peers.items()}, 5)
    took = time.monotonic() - t
    assert latest_session(peers["p1"])["version"] == version + 1, "Escape sent a command"
    await wait_for("keyboard move announced, focus kept on the moved card", lambda: page.evaluate(
        "document.getElementById('live').textContent.includes('Pat Two will go to Pairs B when the rooms open.')"
        f" && document.activeElement.dataset.participant === '{pid['p2']}' && document.activeElement.closest('.room-column').dataset.room === 'r2'"),
        describe, 3)
    return took


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
                    await emulate(page, "desktop")  # 1280x800: the panel's columns side by side
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
                                   lambda: page.evaluate(f"document.querySelectorAll('#host-rooms .card select').length === 2"),
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

                    # --- before opening: drag p1's card onto Pairs A (plans r1); keyboard: p2 → Pairs B
                    # (an arrow and Escape first: nothing is sent)
                    card = {n: f"#host-rooms .card[data-participant='{pid[n]}']" for n in ("p1", "p2")}
                    t = time.monotonic()
                    await drag_and_drop(page, card["p1"], "#host-rooms .room-column[data-room='r1'] h4")
                    await wait_for("p1 assigned by drag", *sessions_say("assign", lambda s: s.get("assignments") == {pid["p1"]: "r1"}), 5)
                    figures["drag → assign"] = time.monotonic() - t
                    await wait_for("drag announced", lambda: page.evaluate(
                        "document.getElementById('live').textContent.includes('Pat One will go to Pairs A when the rooms open.')"), panel, 3)
                    figures["keys → assign"] = await plan_p2_by_keyboard(page, peers, pid, panel)
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
                    opened = t

                    # --- move p2 into Pairs A by drag while open: p1 and p2 hear each other, not the host
                    t = time.monotonic()
                    await drag_and_drop(page, card["p2"], "#host-rooms .room-column[data-room='r1'] h4")
                    await wait_for("p2 moved", *sessions_say("move", lambda s: members(s).get("r1") == sorted([pid["p1"], pid["p2"]])
                                                             and members(s).get("r2") == []), 5)
                    figures["move → session"] = time.monotonic() - t
                    await wait_for("room-mates hear each other", *hearing({"p1": {TONES["p2"]}, "p2": {TONES["p1"]}}), 10)
                    figures["move → hearing"] = time.monotonic() - t
                    await wait_for("panel shows the move", lambda: panel_members(page, {
                        "main": [NAMES["host"]], "r1": [NAMES["p1"], NAMES["p2"]], "r2": []}), panel, 5)

                    # --- keyboard move while open: p1 to Pairs B (alone: hears nobody, p2 neither);
                    # then back with its "Move to" select (they hear each other again)
                    t = time.monotonic()
                    await key_move(page, pid["p1"], ["ArrowRight"])
                    await wait_for("p1 moved by keyboard", *sessions_say("move", lambda s: members(s).get("r2") == [pid["p1"]]
                                                                         and members(s).get("r1") == [pid["p2"]]), 5)
                    await wait_for("p1 alone in Pairs B", *hearing({"p1": set(), "p2": set()}), 10)
                    figures["keys → silence"] = time.monotonic() - t
                    await wait_for("keyboard move announced", lambda: page.evaluate(
                        "document.getElementById('live').textContent.includes('Pat One moved to Pairs B.')"), panel, 3)
                    await set_value(page, f"#host-rooms .card[data-participant='{pid['p1']}'] select", "r1", "change")
                    await wait_for("p1 back in Pairs A", *sessions_say("move", lambda s: members(s).get("r1") == sorted([pid["p1"], pid["p2"]])), 5)
                    await wait_for("room-mates hear each other again", *hearing({"p1": {TONES["p2"]}, "p2": {TONES["p1"]}}), 10)

                    # --- the per-room timer counts from the server's opening time
                    session = latest_session(peers["p1"])
                    assert isinstance(session.get("openForSeconds"), int), session
                    shown = await page.evaluate("[...document.querySelectorAll('#host-rooms .room-timer')].map((t) => [t.textContent, Number(t.dataset.openSeconds)])")
                    since_open = time.monotonic() - opened
                    assert len(shown) == 2 and all(abs(sec - since_open) <= 1.5 and text.startswith("Open for 0:") for text, sec in shown), (shown, since_open)
                    # Redrawn every 250 ms in whole seconds: 2.5 s later it shows 2 or 3 s more.
                    await asyncio.sleep(2.5)
                    later = await page.evaluate("[...document.querySelectorAll('#host-rooms .room-timer')].map((t) => Number(t.dataset.openSeconds))")
                    assert all(2 <= b - a <= 3 for (_, a), b in zip(shown, later)), (shown, later)

                    # --- listen-in toggle on Pairs A: pressed, named, and the therapist hears that room
                    listen = "#host-rooms .room-column[data-room='r1'] button[data-action='listen']"
                    assert await page_heard(page) == set(), "the host hears someone while alone in the main room"
                    t = time.monotonic()
                    await click(page, listen)
                    await wait_for("host listens to r1", *sessions_say("listen", lambda s: any(
                        r["id"] == "r1" and r["listeners"] == [pid["host"]] for r in s.get("rooms", []))), 5)
                    await wait_for("panel shows the listening", lambda: page.evaluate(
                        f"document.querySelector({listen!r}).getAttribute('aria-pressed') === 'true'"
                        " && document.getElementById('listening-line').textContent === 'Listening to Pairs A'"
                        " && document.querySelector(\"#host-rooms .room-column[data-room='r1']\").classList.contains('listening')"), panel, 5)
                    assert [r["listenPressed"] for r in (await panel())["rooms"]] == [None, "true", "false"], await panel()
                    await wait_for("the host hears Pairs A", lambda: eq_async(page_heard(page), {TONES["p1"], TONES["p2"]}),
                                   lambda: page_heard(page), 10)
                    figures["listen → host hears the room"] = time.monotonic() - t
                    await click(page, listen)
                    await wait_for("host stops listening", *sessions_say("listen", lambda s: all(
                        r["listeners"] == [] for r in s.get("rooms", []))), 5)
                    await wait_for("panel shows no listening", lambda: page.evaluate(
                        f"document.querySelector({listen!r}).getAttribute('aria-pressed') === 'false'"
                        " && document.getElementById('listening-line').textContent.startsWith('Not listening')"), panel, 5)
                    await wait_for("the host hears nobody again", lambda: eq_async(page_heard(page), set()), lambda: page_heard(page), 10)

                    # --- accessibility and layout of the panel with the rooms open (a screenshot per size)
                    saved, problems = [], {}
                    await click(page, listen)  # drawn listening, for the pictures
                    await wait_for("listening again", lambda: page.evaluate(
                        f"document.querySelector({listen!r}).getAttribute('aria-pressed') === 'true'"), panel, 5)
                    for size in ("desktop", "tablet", "phone"):
                        await emulate(page, size)
                        if found := await layout_problems(page):
                            problems[size] = found
                        if violations := await axe_violations(page):
                            problems[f"axe {size}"] = violations
                        await page.evaluate("document.getElementById('listening-line').scrollIntoView(), true")
                        saved.append(await screenshot(page, f"host-panel-{size}", top=False))
                    await emulate(page, "desktop")
                    # Keyboard: from End session, Tab reaches every control of the open rooms, focus drawn.
                    await page.evaluate("document.getElementById('end-session').focus(), true")
                    order = await tab_order(page, 15)
                    wanted = ["button:Listen in to Pairs A", "button:Join Pairs A", "li:Pat One, in Pairs A", "select:Room for Pat One",
                              "button:Mute Pat One", "button:Remove Pat One", "li:Pat Two, in Pairs A", "select:Room for Pat Two",
                              "button:Mute Pat Two", "button:Remove Pat Two", "button:Listen in to Pairs B", "button:Join Pairs B", "broadcast-text"]
                    reached = [o[:-1] for o in order]
                    assert all(w in reached for w in wanted), f"Tab order {order} misses {[w for w in wanted if w not in reached]}"
                    assert all(o.endswith("+") for o in order if o[:-1] in wanted), f"focus not drawn: {order}"
                    await click(page, listen)
                    await wait_for("host stops listening", *sessions_say("listen", lambda s: all(
                        r["listeners"] == [] for r in s.get("rooms", []))), 5)
                    assert not problems, problems
                    print("\nscreenshots:\n  " + "\n  ".join(saved))

                    # --- mute p1 and unmute from its card: its tone goes from p2's ears and comes back
                    await click(page, f"#host-rooms .card[data-participant='{pid['p1']}'] button[data-action='mute']")
                    await wait_for("p1 muted", *sessions_say("mute", lambda s: s.get("muted") == [pid["p1"]]), 5)
                    await wait_for("p2 no longer hears p1", *hearing({"p2": set()}), 10)
                    await wait_for("card says muted", lambda: page.evaluate(
                        f"!!document.querySelector(\"#host-rooms .card[data-participant='{pid['p1']}'] .tag.muted\")"), panel, 5)
                    await click(page, f"#host-rooms .card[data-participant='{pid['p1']}'] button[data-action='mute']")
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
                    assert all(r["timer"] in ("Closes in 0:02", "Closes in 0:01") for r in (await panel())["rooms"] if r["id"] != "main"), await panel()
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

                    # --- a host who comes in late sees the server's time since opening, not its own
                    # (fed to the page: rooms open for 754 s = 12:34)
                    me = pid["host"]
                    timer = await page.evaluate(f"""cohort.onMessage({{type: 'session', version: 1e9 - 1, breakoutsOpen: true, openForSeconds: 754,
                        rooms: [{{id: 'main', name: 'Main room', members: [{me!r}], listeners: []}},
                                {{id: 'r7', name: 'Quiet corner', members: [{pid['p1']!r}], listeners: []}}],
                        assignments: {{}}, waiting: [], muted: [], handsRaised: []}}),
                      document.querySelector("#host-rooms .room-column[data-room='r7'] .room-timer").textContent""")
                    assert timer == "Open for 12:34", timer

                    # --- what a participant is shown (fed to the page, newest version): room name,
                    # a host listening, muted by the host, own raised hand, countdown, speaking tiles
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
                    assert await page.evaluate("document.querySelector(\"#host-rooms .room-column[data-room='r7'] .room-timer\").textContent") \
                        == "Closes in 0:09", "the columns show the close countdown"
                    assert page.exceptions == [], page.exceptions
                    print("\nhost panel, click → observed (s): " + ", ".join(f"{k} {v:.2f}" for k, v in figures.items()))
                finally:
                    for p in peers.values():
                        await p.close()

    run(scenario(), timeout=90)


async def panel_rooms(page: Page, ids: list[str]) -> bool:
    return [r["id"] for r in (await page.evaluate(PANEL))["rooms"]] == ids


async def panel_members(page: Page, expected: dict[str, list[str]]) -> bool:
    """The panel's columns hold exactly ``expected`` names' cards per room."""
    rooms = {r["id"]: r["members"] for r in (await page.evaluate(PANEL))["rooms"]}
    return all(room in rooms and sorted(rooms[room]) == sorted(names) for room, names in expected.items())


async def eq_async(value, expected) -> bool:
    return (await value) == expected


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
                    await click(page, "#host-rooms .room-column[data-room='r1'] button[data-action='join-room']")
                    await wait_for("host joined Room 1", *said("p1", lambda s: members(s).get("r1") == sorted([pid["p1"], pid["host"]])), 5)
                    await wait_for("panel: host is in Room 1", lambda: page.evaluate(
                        "document.querySelector(\"#host-rooms .room-column[data-room='r1'] .tag.here\")?.textContent === 'You are here'"
                        f" && !!document.querySelector(\"#host-rooms .room-column[data-room='r1'] .card[data-participant='{pid['host']}']\")"), panel, 5)

                    # Remove asks first, in a dialog: Cancel (by keyboard: Escape) keeps p1, Remove removes.
                    remove = f"#host-rooms .card[data-participant='{pid['p1']}'] button[data-action='remove']"
                    dialog = """(() => { const d = document.getElementById('remove-dialog');
                        return {open: d.open, title: document.getElementById('remove-title').textContent, focus: document.activeElement.id}; })()"""
                    await click(page, remove)
                    await wait_for("dialog asks", lambda: eq_async(page.evaluate(dialog), {"open": True, "title": "Remove Pat One?", "focus": "remove-cancel"}),
                                   lambda: page.evaluate(dialog), 3)
                    await press(page, "Enter", "Enter", 13)  # on Cancel, which has focus
                    await wait_for("Cancel closes it", lambda: page.evaluate("!document.getElementById('remove-dialog').open"), panel, 3)
                    await click(page, remove)
                    await wait_for("dialog asks again", lambda: page.evaluate("document.getElementById('remove-dialog').open"), panel, 3)
                    await screenshot(page, "host-remove-dialog-desktop", top=False)
                    assert await axe_violations(page) == [], "the open dialog fails axe-core"
                    await press(page, "Escape", "Escape", 27)
                    await wait_for("Escape closes it", lambda: page.evaluate("!document.getElementById('remove-dialog').open"), panel, 3)
                    await asyncio.sleep(1.0)
                    assert not got_left("p1", "removed")[0](), "cancelled, yet removed"
                    assert pid["p1"] in members(latest_session(peers["p1"])).get("r1", []), latest_session(peers["p1"])
                    assert await page.evaluate(f"!!document.querySelector({remove!r})"), "cancelled, yet gone from the panel"

                    await click(page, remove)
                    await wait_for("dialog asks a third time", lambda: page.evaluate("document.getElementById('remove-dialog').open"), panel, 3)
                    await press(page, "Tab", "Tab", 9)  # Cancel → Remove
                    assert await page.evaluate("document.activeElement.id") == "remove-confirm"
                    await press(page, "Enter", "Enter", 13)
                    await wait_for("p1 removed", *got_left("p1", "removed"), 5)
                    await wait_for("panel drops p1 and lists the removed", lambda: page.evaluate(
                        "document.querySelectorAll('#host-rooms .card select').length === 0"
                        f" && !!document.querySelector(\"#host-removed li[data-participant='{pid['p1']}']\")"), panel, 5)
                    assert page.exceptions == [], page.exceptions
                finally:
                    for p in peers.values():
                        await p.close()

    run(scenario(), timeout=90)
