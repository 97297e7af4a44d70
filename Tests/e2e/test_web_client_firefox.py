"""The patients' web client and the therapist panel in headless Firefox ESR
(issue 18 item 10): what test_web_client_chromium.py and
test_host_panel_chromium.py drive in Chromium, driven in Firefox
(firefox.py: WebDriver BiDi, fake camera and microphone, a PulseAudio of
its own). Checked by content: tones by frequency analysis of what each side
decodes (the page through WebAudio, aiortc from its frames), pictures by
the mean colour of what a <video> draws and by aiortc's decoded luma.

1. Pre-join: the preview's picture moves, the level meter moves with
   Firefox's fake microphone (a 1000 Hz sine) and falls silent when it is
   switched off, the pickers hold the fake devices (choosing the camera
   restarts the preview on it), the speaker row shows exactly when
   `setSinkId` and an output exist, the speaker test plays 440 Hz. Joined
   with camera and microphone off, an aiortc peer gets black frames and no
   1000 Hz while the page shows the peer's red picture; turned on in the
   call, the peer sees light and hears 1000 Hz.
2. `--waiting-room on`: the waiting screen shows nothing of the others;
   admitted, the page sees the host's red picture and hears its 770 Hz;
   a second participant's join is announced; the host's raised hand is a
   badge; speaking highlight, gallery and speaker view; the host mutes Cy
   (a "Muted by host" badge, Cy's 1130 Hz gone from the page, back on
   unmute) and the page's own person (the notice, and the host no longer
   hears 1000 Hz); a broadcast banner dismissed; chat with its unread
   count; the live region's lines; a dropped WebSocket: the reconnecting
   banner, the call resumed by itself on the same peer connection with
   media both ways; removal: the final screen, and no rejoin.
3. The server killed (SIGKILL) and started again on the same port: the
   page shows the banner, rejoins by itself, hears a participant who
   joined the new server and is heard by it.
4. The therapist panel with Firefox as the host (`&testTone=1130`): a
   card planned into a room with its "Move to" list, another moved with
   the keyboard (real key events, BiDi key actions: an arrow and Escape
   send nothing, arrows and Enter assign, and once the rooms are open
   move; the aiortc participants then hear only their room-mates),
   listen-in (pressed, named, and the page hears that room's two tones;
   off again, nobody), mute from a card.

   Not driven in Firefox: HTML5 drag and drop of a card. Measured with
   Firefox ESR 153, headless and on an Xvfb display alike: BiDi pointer
   actions (press on the card, moves onto a column, release) start the
   browser's own drag (dragstart, dragenter and dragover reach the page),
   but the release drops nothing: no drop and no dragend, so the page
   never sees where the card went. Chromium drives the drag
   (test_host_panel_chromium.py, through DevTools' drag interception).

Screenshots of each screen at desktop and phone sizes go to
Tests/e2e/results/firefox-*.png (git-ignored).
"""

from __future__ import annotations

import asyncio
import os
import signal
import time

from cohort_server import WEB_ROOT, CohortServer
from conftest import run
from firefox import FIREFOX_FAKE_AUDIO_HZ, firefox_ready
from peer import AiortcParticipant
from test_host_panel_chromium import (NAMES, PANEL, TONES, heard_now, key_move, latest_session, members, page_heard,
                                      panel_members, plan_p2_by_keyboard, set_value, wait_for)
from test_host_panel_chromium import click as panel_click
from test_web_client_chromium import (GREEN, RED, check_gallery_and_speaker_view, check_removed_screen, check_waiting_screen,
                                      join_with_camera_and_microphone_off, near, page_tones, slot_track)
from webui import VIDEO_RGB, click, emulate, screenshot, video_rgb, visible, wait

FOX_HZ = FIREFOX_FAKE_AUDIO_HZ
HOST_HZ = 770.0
CY_HZ = 1130.0
CANDIDATES = [FOX_HZ, HOST_HZ, CY_HZ, 550.0, 440.0]
SMALL_VIDEO = (160, 120, 10)

# The host page's audio slots: who the slot map says fills each, and the
# packets its receiver got in the last second (for failure messages).
HOST_AUDIO = """(async () => {
  const count = async () => Object.fromEntries(await Promise.all(cohort.state.pc.getTransceivers().filter((t) => t.mid && cohort.state.players.has(t.mid))
    .map(async (t) => { let n = 0; (await t.receiver.getStats()).forEach((s) => { if (s.type === 'inbound-rtp') n = s.packetsReceived; }); return [t.mid, n]; })));
  const before = await count(); await new Promise((r) => setTimeout(r, 1000)); const after = await count();
  return Object.fromEntries(Object.keys(after).map((m) => [m, {source: cohort.state.slots[m] || null, packets: after[m] - (before[m] || 0)}]));
})()"""


async def shots(page, screen: str, saved: list[str]) -> None:
    """Screenshots of the current screen at phone and desktop size (desktop last: the tests go on at it)."""
    for size in ("phone", "desktop"):
        await emulate(page, size)
        saved.append(await screenshot(page, f"firefox-{screen}-{size}"))


def tile_of(participant: str) -> str:
    return f"#grid .tile[data-participant='{participant}']"


def tile_open(participant: str) -> str:
    """JS: the participant's tile shows a frame of that participant."""
    return (f"(() => {{ const t = document.querySelector({tile_of(participant)!r});"
            " return !!t && !t.hidden && !t.classList.contains('waiting'); })()")


async def page_hears_from(page, participant: str) -> set[float]:
    """Tones in what the page receives from ``participant``'s microphone
    (nothing when no slot carries it)."""
    has_slot = await page.evaluate(f"Object.values(cohort.state.slots).some((v) => v.participantId === {participant!r}"
                                   " && v.track === 'microphone')")
    return await page_tones(page, await slot_track(page, participant, "microphone")) if has_slot else set()


async def until_page_hears(page, participant: str, wanted, what: str, timeout: float = 10.0) -> set[float]:
    """Waits until ``wanted(tones from participant)`` holds."""
    deadline = time.monotonic() + timeout
    while True:
        got = await page_hears_from(page, participant)
        if wanted(got):
            return got
        assert time.monotonic() < deadline, f"{what}: the page hears {got} from {participant}"


def aiortc_hears(peer: AiortcParticipant, participant: str) -> set[float]:
    """Tones in the last second of ``participant``'s audio slot at ``peer``."""
    mids = peer.signalling.state.mids_of(participant, "audio")
    return peer.heard_tones(CANDIDATES, mids[0], window_s=1.0) if mids else set()


def test_firefox_prejoin_and_joining_with_camera_and_microphone_off() -> None:
    async def scenario() -> None:
        with CohortServer(web_root=WEB_ROOT) as server:
            bob = AiortcParticipant("bob", HOST_HZ, slots=2, video_format=SMALL_VIDEO, video_colour=RED)
            async with firefox_ready() as browser:
                try:
                    saved: list[str] = []
                    page = await browser.new_page(f"{server.base_url}#token={server.token('Ann')}")
                    await emulate(page, "desktop")
                    await wait(page, visible("#preview"), "pre-join screen", 10)
                    # --- preview: pictures that move. Firefox's fake camera is one colour
                    # that slowly shifts, after a pure green first frame held for about a
                    # second: the picture must change within a few seconds.
                    first = await wait(page, f"{VIDEO_RGB}('#preview')", "preview frame", 10)
                    second = await wait(page, f"(() => {{ const c = {VIDEO_RGB}('#preview'), f = {first};"
                                              " return !!c && c.some((x, i) => Math.abs(x - f[i]) > 3) && c; })()", "preview moves", 6)
                    assert sum(first) / 3 > 30, f"preview dark: {first} → {second}"
                    # --- meter: Firefox's fake microphone is a steady 1000 Hz sine
                    peak = await wait(page, "document.getElementById('mic-level').value > 0.05 && document.getElementById('mic-level').value",
                                      "level meter moves with the microphone", 5, interval=0.03)
                    # --- pickers: the fake camera and microphone; the speaker where setSinkId and an output exist
                    pickers = await page.evaluate("""({cams: [...document.querySelectorAll('#camera-select option')].map((o) => o.value),
                        mics: document.querySelectorAll('#mic-select option').length, sink: 'setSinkId' in HTMLMediaElement.prototype,
                        speakers: document.querySelectorAll('#speaker-select option').length,
                        speakerRow: !document.getElementById('speaker-row').hidden,
                        used: cohort.state.local === null && document.getElementById('preview').srcObject.getVideoTracks()[0].getSettings().deviceId})""")
                    assert len(pickers["cams"]) >= 1 and pickers["used"] in pickers["cams"] and pickers["mics"] >= 1, pickers
                    assert pickers["speakerRow"] == (pickers["sink"] and pickers["speakers"] > 0), pickers
                    # Choosing a camera (the other one if there are two) restarts the preview on it: a new track.
                    camera = next((c for c in pickers["cams"] if c != pickers["used"]), pickers["used"])
                    old_track = await page.evaluate("document.getElementById('preview').srcObject.getVideoTracks()[0].id")
                    await page.evaluate(f"(() => {{ const s = document.getElementById('camera-select'); s.value = {camera!r};"
                                        " s.dispatchEvent(new Event('change')); return true; })()")
                    await wait(page, f"(() => {{ const s = document.getElementById('preview').srcObject; const t = s && s.getVideoTracks()[0];"
                                     f" return !!t && t.id !== {old_track!r} && t.getSettings().deviceId === {camera!r}; }})()",
                               "preview restarted on the chosen camera", 10)
                    await wait(page, f"{VIDEO_RGB}('#preview')", "preview frame from the chosen camera", 10)
                    await wait(page, "document.getElementById('mic-level').value > 0.05", "meter running again", 5, interval=0.03)
                    # --- speaker test: its <audio> plays a 440 Hz tone
                    # (it plays for 2 s: checked playing first, then its tone)
                    await click(page, "#speaker-test")
                    await wait(page, "!document.getElementById('speaker-test-audio').paused", "speaker test playing", 2, interval=0.02)
                    heard = await page_tones(page, "document.getElementById('speaker-test-audio').srcObject.getAudioTracks()[0]", 0.6)
                    assert heard == {440.0}, f"speaker test plays {heard}"
                    await shots(page, "prejoin", saved)
                    # A longer bound than Chromium's for judging the black frames (every fifth decoded frame, three of them).
                    silent, dark, lit = await join_with_camera_and_microphone_off(page, server, bob, peak, FOX_HZ, dark_timeout=25)
                    print(f"\nFirefox pre-join: meter peak {peak:.2f}, off {silent:.3f}; cameras {len(pickers['cams'])}, "
                          f"speakers {pickers['speakers']} (setSinkId {pickers['sink']}); Bob sees Ann's luma {dark} off, {lit} on"
                          "\nscreenshots:\n  " + "\n  ".join(saved))
                    assert page.exceptions == [], page.exceptions
                finally:
                    await bob.close()

    run(scenario(), timeout=120)


def test_firefox_waiting_room_call_features_reconnect_and_removal() -> None:
    async def scenario() -> None:
        with CohortServer(web_root=WEB_ROOT, waiting_room=True) as server:
            host = AiortcParticipant("host", HOST_HZ, slots=3, video_format=SMALL_VIDEO, video_colour=RED)
            cy = AiortcParticipant("cy", CY_HZ, slots=3, video_format=SMALL_VIDEO, video_colour=GREEN)
            async with firefox_ready() as browser:
                try:
                    saved: list[str] = []
                    await host.join_cohort(server.ws_url, server.token("Dr Host", role="host"), "Dr Host")
                    hid = host.joined["participantId"]
                    pat = await browser.new_page(f"{server.base_url}#token={server.token('Pat')}")
                    await emulate(pat, "desktop")
                    await click(pat, "#join")
                    # --- waiting: its own screen, nothing of the others
                    await wait(pat, f"cohort.state.joined && {visible('#waiting-room')}", "Pat waits", 20)
                    await check_waiting_screen(pat)
                    await shots(pat, "waiting", saved)
                    pid = await pat.evaluate("cohort.state.participantId")
                    assert host.signalling.state.mids_of(pid) == [], "a waiting participant's media reaches the host"
                    await host.signalling.request({"type": "admit", "participantId": pid})
                    # --- admitted: sees the host's red picture, hears the host's tone; the host hears Firefox
                    await wait(pat, f"{visible('#call')} && cohort.state.room === 'main'", "Pat admitted", 10)
                    await wait(pat, tile_open(hid), "host's tile open", 15)
                    assert near(await video_rgb(pat, f"{tile_of(hid)} video"), RED)
                    await until_page_hears(pat, hid, lambda t: HOST_HZ in t, "Pat hears the host")
                    await host.wait_until(lambda: aiortc_hears(host, pid) == {FOX_HZ}, 15, candidates=CANDIDATES)
                    assert "Main room" in await pat.evaluate("document.getElementById('room-name').textContent")
                    # --- Cy joins (admitted): announced, seen green; the host raises a hand: a badge
                    await cy.join_cohort(server.ws_url, server.token("Cy"), "Cy")
                    cid = cy.joined["participantId"]
                    await host.signalling.request({"type": "admit", "participantId": cid})
                    await wait(pat, "document.getElementById('live').textContent.includes('Cy joined.')", "Cy's join announced", 10)
                    await wait(pat, tile_open(cid), "Cy's tile open", 15)
                    assert near(await video_rgb(pat, f"{tile_of(cid)} video"), GREEN)
                    await host.signalling.request({"type": "hand", "raised": True})
                    await wait(pat, f"document.querySelector({tile_of(hid) + ' .badges'!r}).textContent.includes('Hand raised')", "host's hand shown", 5)
                    # --- speaking highlight and speaker view, from the server's `speaking`
                    await wait(pat, f"cohort.state.speaking.has({hid!r}) && document.querySelector({tile_of(hid)!r}).classList.contains('speaking')",
                               "host highlighted as speaking", 10)
                    await check_gallery_and_speaker_view(pat, tile_of(hid), tile_of(cid))
                    # --- the host mutes Cy: a badge on Cy's tile, Cy's tone gone; back on unmute
                    await until_page_hears(pat, cid, lambda t: CY_HZ in t, "Pat hears Cy")
                    await host.signalling.request({"type": "mute", "participantId": cid, "muted": True})
                    await wait(pat, f"document.querySelector({tile_of(cid) + ' .badges'!r}).textContent.includes('Muted by host')", "Cy's mute badge", 5)
                    await until_page_hears(pat, cid, lambda t: CY_HZ not in t, "Cy's tone gone while muted")
                    await host.signalling.request({"type": "mute", "participantId": cid, "muted": False})
                    await wait(pat, f"!document.querySelector({tile_of(cid) + ' .badges'!r}).textContent.includes('Muted by host')", "Cy's badge gone", 5)
                    await until_page_hears(pat, cid, lambda t: CY_HZ in t, "Cy heard again after unmute")
                    # --- the host mutes Pat: told so on the page, and the host no longer hears 1000 Hz
                    await host.signalling.request({"type": "mute", "participantId": pid, "muted": True})
                    await wait(pat, f"{visible('#muted-notice')} && document.querySelector('.tile.self .badges').textContent.includes('Muted by host')",
                               "Pat told she is muted", 5)
                    await host.wait_until(lambda: FOX_HZ not in aiortc_hears(host, pid), 10, candidates=CANDIDATES)
                    await host.signalling.request({"type": "mute", "participantId": pid, "muted": False})
                    await wait(pat, "document.getElementById('muted-notice').hidden", "muted notice gone", 5)
                    await host.wait_until(lambda: aiortc_hears(host, pid) == {FOX_HZ}, 10, candidates=CANDIDATES)
                    # --- a broadcast: a banner, announced, dismissed
                    await host.signalling.request({"type": "broadcast", "text": "Ten minutes left"})
                    await wait(pat, visible("#announcements li"), "broadcast banner", 5)
                    await click(pat, "#announcements li button.dismiss")
                    await wait(pat, "document.querySelectorAll('#announcements li').length === 0", "banner dismissed", 3)
                    # --- chat: unread count while closed, cleared on opening
                    await host.signalling.request({"type": "chat", "text": "Hello Pat"})
                    await wait(pat, "document.getElementById('chat-unread').textContent === '1' && "
                                    "document.getElementById('chat-toggle').getAttribute('aria-label') === 'Chat, 1 unread'", "unread chat", 5)
                    await click(pat, "#chat-toggle")
                    opened = await pat.evaluate("""[document.getElementById('chat-panel').hidden, document.getElementById('chat-unread').hidden,
                        document.activeElement.id, [...document.querySelectorAll('#chat-log li')].map((li) => li.textContent)]""")
                    assert opened == [False, True, "chat-text", ["Dr Host: Hello Pat"]], opened
                    await shots(pat, "call", saved)
                    # --- Cy leaves: announced; the live region's lines, newest last
                    await cy.close()
                    await wait(pat, "document.getElementById('live').textContent.includes('Cy left this room.')", "Cy's leave announced", 10)
                    lines = await pat.evaluate("[...document.querySelectorAll('#live p')].map((p) => p.textContent)")
                    assert lines == ["Cy joined.", "Message from Dr Host: Ten minutes left", "Chat from Dr Host: Hello Pat",
                                     "Cy left this room."], lines

                    # --- the WebSocket drops: a banner, resumed by itself, the same call goes on
                    await pat.evaluate("(window.firstPc = cohort.state.pc, cohort.state.ws.close(4000, 'test'), true)")
                    banner = await wait(pat, "document.getElementById('reconnecting').hidden ? null : "
                                             "[document.getElementById('reconnecting').getAttribute('role'), document.getElementById('reconnecting').textContent]",
                                        "reconnecting banner", 5, interval=0.02)
                    assert banner[0] == "status" and "Reconnecting" in banner[1], banner
                    await wait(pat, "cohort.state.resumes === 1 && cohort.state.joined && document.getElementById('reconnecting').hidden",
                               "resumed, banner gone", 15)
                    resumed = await pat.evaluate("""({samePc: cohort.state.pc === window.firstPc, pc: cohort.state.pc.connectionState,
                        rejoins: cohort.state.rejoins, id: cohort.state.participantId, message: document.getElementById('message').textContent})""")
                    assert resumed == {"samePc": True, "pc": "connected", "rejoins": 0, "id": pid, "message": ""}, resumed
                    resumed_at = time.monotonic()
                    await until_page_hears(pat, hid, lambda t: HOST_HZ in t, "Pat hears the host after the resume")
                    await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - resumed_at)))  # a second of audio sent after the resume
                    assert aiortc_hears(host, pid) == {FOX_HZ}, "the host hears Pat after the resume"

                    # --- removed: a final screen, no rejoin
                    await host.signalling.request({"type": "remove", "participantId": pid})
                    await check_removed_screen(pat)
                    await shots(pat, "ended", saved)
                    print("\nscreenshots:\n  " + "\n  ".join(saved))
                    assert pat.exceptions == [], pat.exceptions
                finally:
                    await cy.close()
                    await host.close()

    run(scenario(), timeout=150)


def test_firefox_rejoins_after_a_server_restart() -> None:
    """SIGKILL: no `server-shutdown`, the WebSocket just drops. The page
    tries to resume, shows the banner, and once the server is back on the
    same port (same secret) joins again by itself."""
    async def scenario() -> None:
        server = CohortServer(web_root=WEB_ROOT)
        server.__enter__()
        again: CohortServer | None = None
        ann = AiortcParticipant("ann", 550.0, slots=2, video_format=SMALL_VIDEO)
        bea = AiortcParticipant("bea", HOST_HZ, slots=2, video_format=SMALL_VIDEO)
        try:
            async with firefox_ready() as browser:
                await ann.join_cohort(server.ws_url, server.token("Ann"), "Ann")
                page = await browser.new_page(f"{server.base_url}#token={server.token('Fox')}")
                await click(page, "#join")
                await wait(page, "cohort.state.joined && cohort.state.participantId", "Fox joined", 20)
                await until_page_hears(page, ann.joined["participantId"], lambda t: t == {550.0}, "Fox hears Ann", 15)

                killed = time.monotonic()
                os.killpg(server.process.pid, signal.SIGKILL)
                server.process.wait(5)
                banner = await wait(page, "!document.getElementById('reconnecting').hidden && document.getElementById('reconnecting').textContent",
                                    "reconnecting banner", 10, interval=0.05)
                again = CohortServer(web_root=WEB_ROOT, secret=server.secret, records=server.records,
                                     extra_args=["--http", f"127.0.0.1:{server.http_port}"])
                again.__enter__()
                await bea.join_cohort(again.ws_url, again.token("Bea"), "Bea")
                bid = bea.joined["participantId"]
                await wait(page, "cohort.state.rejoins === 1 && cohort.state.joined && document.getElementById('reconnecting').hidden",
                           "rejoined by itself", 40)
                await until_page_hears(page, bid, lambda t: t == {HOST_HZ}, "Fox hears Bea after the rejoin", 15)
                fox = await page.evaluate("cohort.state.participantId")
                await bea.wait_until(lambda: aiortc_hears(bea, fox) == {FOX_HZ}, 15, candidates=CANDIDATES)
                state = await page.evaluate("({message: document.getElementById('message').textContent, screen: document.body.dataset.screen})")
                assert state == {"message": "", "screen": "call"}, state
                print(f"\nFirefox after SIGKILL: banner {banner!r}; both ways heard again {time.monotonic() - killed:.2f} s after the kill")
                assert page.exceptions == [], page.exceptions
        finally:
            for p in (ann, bea):
                await p.close()
            if again is not None:
                again.__exit__(None, None, None)
            server.__exit__(None, None, None)

    run(scenario(), timeout=120)


def test_firefox_host_panel_keyboard_moves_listen_in_and_mute() -> None:
    async def scenario() -> None:
        with CohortServer(web_root=WEB_ROOT) as server:
            async with firefox_ready() as browser:
                page = await browser.new_page(f"{server.base_url}?testTone={TONES['host']:g}#token={server.token(NAMES['host'], role='host')}")
                peers = {n: AiortcParticipant(n, TONES[n], slots=3, video_slots=2, video_format=SMALL_VIDEO) for n in ("p1", "p2")}
                try:
                    saved: list[str] = []
                    await emulate(page, "desktop")  # 1280x800: the panel's columns side by side
                    await panel_click(page, "#join")
                    await wait(page, "cohort.state.joined && !document.getElementById('host-panel').hidden", "host joined", 20)
                    pid = {"host": await page.evaluate("cohort.state.participantId")}
                    for n, p in peers.items():
                        await p.join_cohort(server.ws_url, server.token(NAMES[n]), NAMES[n])
                        pid[n] = p.joined["participantId"]

                    async def panel() -> dict:
                        return await page.evaluate(PANEL) | {"console": page.console[-5:], "exceptions": page.exceptions}

                    def hearing(expected: dict[str, set[float]]):
                        return (lambda: all(heard_now(peers[n]) == e for n, e in expected.items()),
                                lambda: {n: sorted(heard_now(peers[n])) for n in expected})

                    def sessions_say(check):
                        return (lambda: all(check(latest_session(p)) for p in peers.values()),
                                lambda: {n: latest_session(p) for n, p in peers.items()})

                    await wait_for("all hear all in main", *hearing({"p1": {TONES["p2"], TONES["host"]}, "p2": {TONES["p1"], TONES["host"]}}), 25)
                    await wait_for("panel lists both participants", lambda: page.evaluate(
                        "document.querySelectorAll('#host-rooms .card select').length === 2"), panel, 5)
                    await set_value(page, "#room-count", "2")
                    await set_value(page, "#room-names", "Pairs A, Pairs B")
                    await panel_click(page, "#create-form button")
                    await wait_for("rooms created", *sessions_say(lambda s: [r["name"] for r in s.get("rooms", [])] == ["Main room", "Pairs A", "Pairs B"]), 5)
                    card = {n: f"#host-rooms .card[data-participant='{pid[n]}']" for n in ("p1", "p2")}
                    await wait_for("cards drawn in the rooms' columns", lambda: page.evaluate(
                        f"!!document.querySelector({card['p1']!r}) && !!document.querySelector(\"#host-rooms .room-column[data-room='r2']\")"), panel, 5)

                    # --- before opening: p1 planned into Pairs A with its card's "Move to" list (no drag: see the module docstring)
                    await set_value(page, f"{card['p1']} select", "r1", "change")
                    await wait_for("p1 assigned from its list", *sessions_say(lambda s: s.get("assignments") == {pid["p1"]: "r1"}), 5)
                    await wait_for("assignment announced", lambda: page.evaluate(
                        "document.getElementById('live').textContent.includes('Pat One will go to Pairs A when the rooms open.')"), panel, 3)
                    # --- the keyboard: an arrow then Escape sends nothing; two arrows and Enter plan p2 into Pairs B
                    await plan_p2_by_keyboard(page, peers, pid, panel)

                    # --- open: each alone, hearing nobody; then p2 moved into Pairs A by keyboard: they hear each other
                    await panel_click(page, "#open-rooms")
                    await wait_for("rooms open", *sessions_say(lambda s: s.get("breakoutsOpen") and members(s) ==
                                                               {"main": [pid["host"]], "r1": [pid["p1"]], "r2": [pid["p2"]]}), 5)
                    await wait_for("rooms isolate audio", *hearing({"p1": set(), "p2": set()}), 10)
                    await key_move(page, pid["p2"], ["ArrowLeft"])
                    await wait_for("p2 moved by keyboard", *sessions_say(lambda s: members(s).get("r1") == sorted([pid["p1"], pid["p2"]])), 5)
                    await wait_for("room-mates hear each other", *hearing({"p1": {TONES["p2"]}, "p2": {TONES["p1"]}}), 10)
                    await wait_for("keyboard move announced, panel redrawn", lambda: page.evaluate(
                        "document.getElementById('live').textContent.includes('Pat Two moved to Pairs A.')"), panel, 3)
                    await wait_for("panel shows the move", lambda: panel_members(page, {
                        "main": [NAMES["host"]], "r1": [NAMES["p1"], NAMES["p2"]], "r2": []}), panel, 5)

                    # --- listen-in on Pairs A: pressed, named, and the page hears both tones; off: nobody
                    listen = "#host-rooms .room-column[data-room='r1'] button[data-action='listen']"
                    heard = await page_heard(page)
                    assert heard == set(), ("the host hears someone while alone in the main room", heard, await page.evaluate(HOST_AUDIO))
                    await panel_click(page, listen)
                    await wait_for("host listens to r1", *sessions_say(lambda s: any(
                        r["id"] == "r1" and r["listeners"] == [pid["host"]] for r in s.get("rooms", []))), 5)
                    await wait_for("panel shows the listening", lambda: page.evaluate(
                        f"document.querySelector({listen!r}).getAttribute('aria-pressed') === 'true'"
                        " && document.getElementById('listening-line').textContent === 'Listening to Pairs A'"
                        " && document.querySelector(\"#host-rooms .room-column[data-room='r1']\").classList.contains('listening')"), panel, 5)
                    deadline = time.monotonic() + 10
                    while (heard := await page_heard(page)) != {TONES["p1"], TONES["p2"]}:
                        assert time.monotonic() < deadline, f"listening to Pairs A the host hears {heard}"
                    await page.evaluate(f"document.querySelector({listen!r}).scrollIntoView({{block: 'center'}}), true")
                    for size in ("phone", "desktop"):
                        await emulate(page, size)
                        saved.append(await screenshot(page, f"firefox-host-panel-{size}", top=False))
                    await panel_click(page, listen)
                    await wait_for("host stops listening", *sessions_say(lambda s: all(r["listeners"] == [] for r in s.get("rooms", []))), 5)
                    await wait_for("panel shows no listening", lambda: page.evaluate(
                        f"document.querySelector({listen!r}).getAttribute('aria-pressed') === 'false'"
                        " && document.getElementById('listening-line').textContent.startsWith('Not listening')"), panel, 5)
                    deadline = time.monotonic() + 10
                    while (heard := await page_heard(page)) != set():
                        assert time.monotonic() < deadline, f"not listening, the host hears {heard}"

                    # --- mute p1 from its card: p2 no longer hears p1; unmute: again
                    mute = f"{card['p1']} button[data-action='mute']"
                    await panel_click(page, mute)
                    await wait_for("p1 muted", *sessions_say(lambda s: s.get("muted") == [pid["p1"]]), 5)
                    await wait_for("p2 no longer hears p1", *hearing({"p2": set()}), 10)
                    await wait_for("card says muted", lambda: page.evaluate(f"!!document.querySelector({card['p1'] + ' .tag.muted'!r})"), panel, 5)
                    await panel_click(page, mute)
                    await wait_for("p1 unmuted", *sessions_say(lambda s: s.get("muted") == []), 5)
                    await wait_for("p2 hears p1 again", *hearing({"p2": {TONES["p1"]}}), 10)
                    print("\nscreenshots:\n  " + "\n  ".join(saved))
                    assert page.exceptions == [], page.exceptions
                finally:
                    for p in peers.values():
                        await p.close()

    run(scenario(), timeout=120)
