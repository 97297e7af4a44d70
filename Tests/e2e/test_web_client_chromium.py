"""The patients' web client in headless Chromium (issue 18 items 1, 2 and 7).

Pre-join: the camera preview shows moving pictures, the level meter moves
with the microphone and falls silent when it is switched off, the pickers
list the fake devices (and switching camera restarts the preview on that
device), the speaker test plays its 440 Hz tone; joining with camera and
microphone off sends black frames and silence (seen and heard by an aiortc
peer), and turning them on in the call sends the picture and the beep.

Messages before joining: a plainly expired link (client side) and one the
server refuses as expired, an invalid link, a link for another session,
blocked camera and microphone, and a machine without a camera (joins with
the microphone only).

Waiting room and call: a patient waits on a screen that shows nothing of the
others, is admitted and sees and hears the host (colour and tone), sees the
host's raised hand, the speaking highlight and speaker view from the
server's own `speaking` messages, the connection quality from getStats(),
broadcasts as a dismissible banner, chat with an unread count, joins and
leaves in the live region; then removal and the end of the session each end
on a final screen with no automatic rejoin.
"""

from __future__ import annotations

import asyncio
import time

import numpy as np
from chromium import CHROMIUM_FAKE_AUDIO_HZ, Chromium, Page
from cohort_server import WEB_ROOT, CohortServer
from conftest import run
from peer import AiortcParticipant
from tones import present_tones
from webui import VIDEO_RGB, click, video_rgb, visible, wait

ANN_HZ = CHROMIUM_FAKE_AUDIO_HZ
HOST_HZ = 770.0
PAT_HZ = 550.0
CY_HZ = 1130.0
CANDIDATES = [ANN_HZ, PAT_HZ, HOST_HZ, CY_HZ, 440.0]
RED = (220, 30, 30)
GREEN = (30, 200, 60)


async def page_tones(page: Page, js_track: str, seconds: float = 0.8) -> set[float]:
    """Tones in ``seconds`` of the audio track the page expression names."""
    await page.evaluate(f"(cohortTest.remote['probe'] = {js_track}), true")
    capture = await page.evaluate(f"cohortTest.captureAudio('probe', {seconds})", timeout=10)
    return present_tones(np.asarray(capture["samples"], dtype=np.float32), capture["rate"], CANDIDATES, window_s=None)


async def slot_track(page: Page, participant: str, track: str) -> str:
    """JS naming the receiver track of ``participant``'s ``track`` slot."""
    mid = await wait(page, f"""(() => {{ const e = Object.entries(cohort.state.slots).find(([m, v]) =>
        v.participantId === {participant!r} && v.track === {track!r}); return e && e[0]; }})()""", f"slot of {participant} {track}", 10)
    return f"cohort.state.pc.getTransceivers().find((t) => t.mid === {mid!r}).receiver.track"


def near(rgb: list[float] | None, want: tuple[int, int, int], tolerance: float = 45) -> bool:
    return rgb is not None and all(abs(a - b) < tolerance for a, b in zip(rgb, want))


async def aiortc_luma(peer: AiortcParticipant, participant: str, timeout: float, check) -> list[float]:
    """Waits until the latest lumas of ``participant``'s video satisfy ``check``."""
    deadline = time.monotonic() + timeout
    while True:
        mids = peer.signalling.state.mids_of(participant, "video")
        luma = peer.recorders[mids[0]].video_luma[-3:] if mids and mids[0] in peer.recorders else []
        if len(luma) == 3 and check(luma):
            return luma
        assert time.monotonic() < deadline, f"{peer.name}: video of {participant} never matched: {luma}"
        await asyncio.sleep(0.2)


async def join_with_camera_and_microphone_off(page: Page, server: CohortServer, bob: AiortcParticipant, peak: float,
                                             tone_hz: float, dark_timeout: float = 15) -> tuple[float, list[float], list[float]]:
    """From the pre-join screen (its meter seen at ``peak``): camera and
    microphone switched off (the preview says so, the meter falls silent),
    Bob joins, then the page. Bob gets black frames and no ``tone_hz`` (the
    page's microphone) while the page shows his red picture; both turned on
    in the call, Bob sees light and hears ``tone_hz``. Returns the meter's
    level when off and Bob's lumas of the page's video off and on."""
    candidates = sorted({*CANDIDATES, tone_hz})
    await page.evaluate("['prejoin-cam', 'prejoin-mic'].forEach((id) => document.getElementById(id).click()), true")
    await wait(page, visible("#preview-off"), "preview says the camera is off", 3)
    await asyncio.sleep(0.5)
    silent = await page.evaluate("document.getElementById('mic-level').value")
    assert silent < 0.01 and peak > 0.05, f"meter with the microphone off: {silent} (on: {peak})"

    await bob.join_cohort(server.ws_url, server.token("Bob"), "Bob")
    await click(page, "#join")
    await wait(page, f"cohort.state.joined && {visible('#call')}", "Ann in the call", 20)
    ann = await page.evaluate("cohort.state.participantId")
    pressed = await page.evaluate("""({mic: document.getElementById('mic').getAttribute('aria-pressed'),
        cam: document.getElementById('cam').getAttribute('aria-pressed'),
        badges: document.querySelector('.tile.self .badges').textContent})""")
    assert pressed == {"mic": "true", "cam": "true", "badges": "Microphone offCamera off"}, pressed
    # Bob is told Ann's microphone is off (`self-mute`, sent on joining with it off) ...
    def ann_mic_off(s) -> bool:  # noqa: ANN001
        sessions = [m for m in s.other if m.get("type") == "session"]
        return bool(sessions) and ann in sessions[-1].get("microphoneOff", [])
    await bob.signalling.wait_until(ann_mic_off, 10)
    # ... gets black frames and silence from Ann ...
    await bob.signalling.wait_until(lambda s: len(s.mids_of(ann, "audio")) == 1 and len(s.mids_of(ann, "video")) == 1)
    dark = await aiortc_luma(bob, ann, dark_timeout, lambda l: max(l) < 2)
    [ann_audio] = bob.signalling.state.mids_of(ann, "audio")
    await bob.wait_until(lambda: bob.audio_seconds_by_mid().get(ann_audio, 0) > 1.5, 10)
    assert tone_hz not in bob.heard_tones(candidates, ann_audio, window_s=1.0), "Ann's microphone was off"
    # ... and Ann sees Bob's red picture.
    bob_tile = f"#grid .tile[data-participant='{bob.joined['participantId']}']"
    await wait(page, f"(() => {{ const t = document.querySelector({bob_tile!r}); return !!t && !t.hidden && !t.classList.contains('waiting'); }})()",
               "Bob's tile open", 10)
    rgb = await video_rgb(page, f"{bob_tile} video")
    assert near(rgb, RED), f"Bob's tile shows {rgb}"
    # Turned on in the call: the picture and the tone reach Bob.
    await click(page, "#cam")
    await click(page, "#mic")
    lit = await aiortc_luma(bob, ann, 15, lambda l: min(l) > 4)
    await bob.wait_until(lambda: tone_hz in bob.heard_tones(candidates, ann_audio, window_s=1.0), 10, candidates=candidates)
    assert await page.evaluate("document.querySelector('.tile.self .badges').textContent") == ""
    await bob.signalling.wait_until(lambda s: not ann_mic_off(s), 10)
    return silent, dark, lit


def test_prejoin_checks_devices_and_joins_with_camera_and_microphone_off() -> None:
    async def scenario() -> None:
        with CohortServer(web_root=WEB_ROOT) as server:
            bob = AiortcParticipant("bob", HOST_HZ, slots=2, video_format=(160, 120, 10), video_colour=RED)
            # Two fake cameras, so that choosing the other one can be checked.
            async with Chromium(extra_args=["--use-fake-device-for-media-stream=device-count=2"]) as browser:
                try:
                    page = await browser.new_page(f"{server.base_url}#token={server.token('Ann')}")
                    await wait(page, visible("#preview"), "pre-join screen", 10)
                    # --- preview: pictures that move
                    first = await wait(page, f"{VIDEO_RGB}('#preview')", "preview frame", 10)
                    await asyncio.sleep(0.5)
                    second = await video_rgb(page, "#preview")
                    assert sum(first) / 3 > 30 and first != second, f"preview not live: {first} → {second}"
                    # --- meter: the fake microphone beeps twice a second
                    peak = await wait(page, "document.getElementById('mic-level').value > 0.05 && document.getElementById('mic-level').value",
                                      "level meter moves with the microphone", 5, interval=0.03)
                    # --- pickers: two cameras, a microphone; the speaker where setSinkId exists
                    pickers = await page.evaluate("""({cams: [...document.querySelectorAll('#camera-select option')].map((o) => o.value),
                        mics: document.querySelectorAll('#mic-select option').length, sink: 'setSinkId' in HTMLMediaElement.prototype,
                        speakers: document.querySelectorAll('#speaker-select option').length,
                        speakerRow: !document.getElementById('speaker-row').hidden,
                        used: cohort.state.local === null && document.getElementById('preview').srcObject.getVideoTracks()[0].getSettings().deviceId})""")
                    assert len(pickers["cams"]) == 2 and pickers["mics"] >= 1, pickers
                    assert pickers["speakerRow"] == (pickers["sink"] and pickers["speakers"] > 0), pickers
                    # Chromium's second fake camera sends 16-bit depth frames (Y16), which
                    # its encoder barely sends: choose it, see the preview follow, choose back.
                    other = next(c for c in pickers["cams"] if c != pickers["used"])
                    for camera in (other, pickers["used"]):
                        await page.evaluate(f"(() => {{ const s = document.getElementById('camera-select'); s.value = {camera!r};"
                                            " s.dispatchEvent(new Event('change')); return true; })()")
                        await wait(page, f"(() => {{ const s = document.getElementById('preview').srcObject;"
                                         f" return !!s && s.getVideoTracks()[0].getSettings().deviceId === {camera!r}; }})()",
                                   "preview restarted on the chosen camera", 10)
                        await wait(page, f"{VIDEO_RGB}('#preview')", "preview frame from the chosen camera", 10)
                    # --- speaker test: its <audio> plays a 440 Hz tone
                    await click(page, "#speaker-test")
                    heard = await page_tones(page, "document.getElementById('speaker-test-audio').srcObject.getAudioTracks()[0]", 0.6)
                    assert heard == {440.0}, f"speaker test plays {heard}"
                    assert await page.evaluate("!document.getElementById('speaker-test-audio').paused")
                    silent, dark, lit = await join_with_camera_and_microphone_off(page, server, bob, peak, ANN_HZ)
                    print(f"\npre-join: meter peak {peak:.2f}, off {silent:.3f}; Bob sees Ann's luma {dark} off, {lit} on")
                    assert page.exceptions == [], page.exceptions
                finally:
                    await bob.close()

    run(scenario(), timeout=90)


def test_prejoin_explains_bad_links_blocked_devices_and_a_missing_camera() -> None:
    async def scenario() -> None:
        with CohortServer(web_root=WEB_ROOT) as server:
            async with Chromium() as browser:
                async def message_after(url: str, join: bool) -> dict:
                    page = await browser.new_page(url)
                    if join:
                        await click(page, "#join")
                    await wait(page, "!document.getElementById('message').hidden", f"a message for {url[-40:]}", 15)
                    return await page.evaluate("({text: document.getElementById('message').textContent,"
                                               " join: document.getElementById('join').disabled, screen: document.body.dataset.screen})")

                # Long expired: said on opening, before any device is used.
                shown = await message_after(f"{server.base_url}#token={server.token('Eve', ttl=-3600)}", join=False)
                assert "expired" in shown["text"] and shown["join"], shown
                # Just expired (within the page's minute of grace): the server's `token-expired`.
                shown = await message_after(f"{server.base_url}#token={server.token('Eve', ttl=-50)}", join=True)
                assert "expired" in shown["text"] and shown["join"] and shown["screen"] == "prejoin", shown
                shown = await message_after(f"{server.base_url}#token=not-a-token", join=True)
                assert "not valid" in shown["text"] and shown["join"], shown
                other = CohortServer(web_root=WEB_ROOT)  # same claims, another secret: forged for this server
                shown = await message_after(f"{server.base_url}#token={other.token('Eve')}", join=True)
                assert "not valid for this session" in shown["text"] and shown["join"], shown

            # Camera and microphone blocked for the origin: a browser that does not
            # grant them by itself (no --use-fake-ui-for-media-stream), told to deny.
            blocking = Chromium()
            blocking.BASE_FLAGS = [f for f in Chromium.BASE_FLAGS if f != "--use-fake-ui-for-media-stream"]
            async with blocking as browser:
                for name in ("camera", "microphone"):
                    await browser.send("Browser.setPermission", {"permission": {"name": name}, "setting": "denied",
                                                                 "origin": server.base_url.rstrip("/")})
                page = await browser.new_page(f"{server.base_url}#token={server.token('Eve')}")
                note = await wait(page, "!document.getElementById('device-note').hidden && document.getElementById('device-note').textContent",
                                  "blocked devices explained", 10)
                assert "blocked" in note and "Allow" in note, note
                assert await page.evaluate("document.getElementById('message').hidden"), "a device problem is not a link error"

            # No camera at all: joins with the microphone only.
            async with Chromium(extra_args=["--use-fake-device-for-media-stream=device-count=0"]) as browser:
                page = await browser.new_page(f"{server.base_url}#token={server.token('Sol')}")
                note = await wait(page, "!document.getElementById('device-note').hidden && document.getElementById('device-note').textContent",
                                  "missing camera explained", 10)
                assert "No camera" in note and "microphone only" in note, note
                assert await page.evaluate("document.getElementById('prejoin-cam').disabled && !document.getElementById('prejoin-cam').checked")
                await click(page, "#join")
                await wait(page, "cohort.state.joined && cohort.state.pc.connectionState === 'connected'", "Sol joined", 15)
                cam = await page.evaluate("[document.getElementById('cam').disabled, document.getElementById('cam').textContent]")
                assert cam == [True, "No camera"], cam
                assert page.exceptions == [], page.exceptions

    run(scenario(), timeout=90)


async def check_waiting_screen(page: Page) -> None:
    """The waiting room is its own screen, with focus on its heading, and
    shows nothing of the others: no tile, no slot, nobody in the roster,
    not the host's name."""
    shown = await page.evaluate("""({call: document.getElementById('call').hidden, focus: document.activeElement.id,
        remote: [...document.querySelectorAll('#grid .tile:not(.self)')].filter((t) => !t.hidden).length
          + Object.keys(cohort.state.slots).length + cohort.state.roster.length - 1,
        text: document.body.innerText})""")
    assert shown["call"] and shown["remote"] == 0 and "Dr Host" not in shown["text"], shown
    assert "waiting room" in shown["text"] and shown["focus"] == "waiting-heading", shown


async def check_gallery_and_speaker_view(page: Page, tile: str, other_tile: str) -> None:
    """Gallery: ``tile`` and ``other_tile`` alike in width; speaker view
    (the toggle): a speaker the server named is featured, far wider than any
    other tile; the toggle again: gallery."""
    width = "document.querySelector({}).getBoundingClientRect().width"
    gallery = await page.evaluate(f"[{width.format(repr(tile))}, {width.format(repr(other_tile))}]")
    assert abs(gallery[0] - gallery[1]) < 2, f"gallery tiles differ: {gallery}"
    await click(page, "#view-toggle")
    featured = await wait(page, "(() => { const f = document.querySelector('#grid .tile.featured'); return f && f.dataset.participant; })()",
                          "a featured speaker", 5)
    assert featured in await page.evaluate("[...cohort.state.speaking]"), featured
    big, small = await page.evaluate("""(() => { const t = [...document.querySelectorAll('#grid .tile')].filter((t) => !t.hidden);
        const w = (x) => x.getBoundingClientRect().width;
        return [w(t.find((x) => x.classList.contains('featured'))), Math.max(...t.filter((x) => !x.classList.contains('featured')).map(w))]; })()""")
    assert big > 1.5 * small, f"speaker view: featured {big} px, other {small} px"
    await click(page, "#view-toggle")
    await wait(page, "!document.querySelector('#grid .tile.featured') && document.getElementById('grid').classList.contains('gallery')",
               "gallery again", 3)


async def check_removed_screen(page: Page) -> None:
    """After a host's `remove`: the final screen, focus on its heading, no
    call, no banner, Join disabled, and two seconds later still no rejoin."""
    await wait(page, visible("#ended"), "the final screen", 10)
    await asyncio.sleep(2)
    ended = await page.evaluate("""({heading: document.getElementById('ended-heading').textContent, text: document.getElementById('ended-text').textContent,
        client: cohort.state.client === null, rejoins: cohort.state.rejoins, banner: document.getElementById('reconnecting').hidden,
        join: document.getElementById('join').disabled, focus: document.activeElement.id, screen: document.body.dataset.screen})""")
    assert ended == {"heading": "You were removed from the session", "client": True, "rejoins": 0, "banner": True,
                     "join": True, "focus": "ended-heading", "screen": "ended",
                     "text": ended["text"]} and "removed you" in ended["text"], ended


def test_a_page_whose_files_did_not_all_arrive_reloads_once_then_says_so() -> None:
    """A module of the app that does not arrive (DevTools fails the request
    with a reset connection; CI once saw net::ERR_NETWORK_CHANGED when an
    interface appeared while a page loaded) leaves a page whose Join did
    nothing. Once: the page reloads by itself and starts. Every time: after
    its one reload it says the page did not load completely, and Join reloads."""
    async def scenario() -> None:
        with CohortServer(web_root=WEB_ROOT) as server:
            async with Chromium() as browser:
                page = await browser.new_page()
                await page.fail_requests("*/screen.js", 1)
                await page.navigate(f"{server.base_url}?load=1#token={server.token('Eve')}")
                await wait(page, "window.cohort && !document.getElementById('join').disabled && "
                                 "performance.getEntriesByType('navigation')[0].type === 'reload'",
                           "the page reloaded by itself and started", 10)
                assert page.failed_requests == [f"{server.base_url}screen.js"], page.failed_requests
                assert await page.evaluate("document.getElementById('message').hidden"), "nothing to explain"

                await page.fail_requests("*/screen.js", 100)
                await page.navigate(f"{server.base_url}?load=2#token={server.token('Eve')}")
                shown = await wait(page, "!document.getElementById('message').hidden && document.getElementById('message').textContent",
                                   "the failed load explained", 10)
                assert "did not load completely" in shown, shown
                await asyncio.sleep(1.5)  # no second automatic reload
                assert len(page.failed_requests) == 2, f"one automatic reload only: {page.failed_requests}"
                state = await page.evaluate("({app: typeof window.cohort, join: document.getElementById('join').textContent,"
                                            " disabled: document.getElementById('join').disabled})")
                assert state == {"app": "undefined", "join": "Reload", "disabled": False}, state
                # Join reloads; with the files back, the app starts.
                await page.fail_requests("*/screen.js", 0)
                await click(page, "#join")
                await wait(page, "window.cohort && !document.getElementById('join').disabled", "the app after Reload", 10)
                assert await page.evaluate("document.getElementById('message').hidden")

    run(scenario(), timeout=60)


def test_waiting_room_call_features_and_final_screens() -> None:
    async def scenario() -> None:
        with CohortServer(web_root=WEB_ROOT, waiting_room=True) as server:
            host = AiortcParticipant("host", HOST_HZ, slots=3, video_format=(160, 120, 10), video_colour=RED)
            cy = AiortcParticipant("cy", CY_HZ, slots=3, video_format=(160, 120, 10), video_colour=GREEN)
            async with Chromium() as browser:
                try:
                    await host.join_cohort(server.ws_url, server.token("Dr Host", role="host"), "Dr Host")
                    hid = host.joined["participantId"]
                    pages = {}
                    for name, hz in (("Pat", PAT_HZ), ("Quinn", 600.0)):
                        pages[name] = await browser.new_page(f"{server.base_url}?testTone={hz:g}#token={server.token(name)}")
                        await click(pages[name], "#join")
                    pat = pages["Pat"]
                    # A background tab renders no frames (so its tiles would stay dark): Pat's in front.
                    await pat.send("Page.bringToFront")
                    # --- waiting: its own screen, nothing of the others
                    await wait(pat, f"cohort.state.joined && {visible('#waiting-room')}", "Pat waits", 15)
                    await check_waiting_screen(pat)
                    pid = {n: await wait(p, "cohort.state.joined && cohort.state.participantId", f"{n} joined", 15) for n, p in pages.items()}
                    for n in pages:
                        await host.signalling.request({"type": "admit", "participantId": pid[n]})
                    # --- admitted: sees the host's red picture, hears the host's tone
                    await wait(pat, f"{visible('#call')} && cohort.state.room === 'main'", "Pat admitted", 10)
                    tile = f"#grid .tile[data-participant='{hid}']"
                    await wait(pat, f"(() => {{ const t = document.querySelector({tile!r}); return !!t && !t.hidden && !t.classList.contains('waiting'); }})()",
                               "host's tile open", 10)
                    assert near(await video_rgb(pat, f"{tile} video"), RED)
                    assert HOST_HZ in await page_tones(pat, await slot_track(pat, hid, "microphone"))
                    assert "Main room" in await pat.evaluate("document.getElementById('room-name').textContent")
                    # --- Cy joins (admitted): announced; the host raises a hand: a badge
                    await cy.join_cohort(server.ws_url, server.token("Cy"), "Cy")
                    await host.signalling.request({"type": "admit", "participantId": cy.joined["participantId"]})
                    await wait(pat, "document.getElementById('live').textContent.includes('Cy joined.')", "Cy's join announced", 10)
                    await host.signalling.request({"type": "hand", "raised": True})
                    await wait(pat, f"document.querySelector({tile + ' .badges'!r}).textContent.includes('Hand raised')", "host's hand shown", 5)
                    # --- the host turns its own microphone off and on (`self-mute`): a badge, then none
                    await host.signalling.request({"type": "self-mute", "muted": True})
                    await wait(pat, f"document.querySelector({tile + ' .badges'!r}).textContent.includes('Microphone off')", "host's microphone off shown", 5)
                    await host.signalling.request({"type": "self-mute", "muted": False})
                    await wait(pat, f"!document.querySelector({tile + ' .badges'!r}).textContent.includes('Microphone off')", "host's microphone on shown", 5)
                    # --- speaking highlight and speaker view, from the server's `speaking`
                    await wait(pat, f"cohort.state.speaking.has({hid!r}) && document.querySelector({tile!r}).classList.contains('speaking')",
                               "host highlighted as speaking", 10)
                    cy_tile = f"#grid .tile[data-participant='{cy.joined['participantId']}']"
                    await wait(pat, f"(() => {{ const t = document.querySelector({cy_tile!r}); return !!t && !t.hidden && !t.classList.contains('waiting'); }})()",
                               "Cy's tile open", 10)
                    await check_gallery_and_speaker_view(pat, tile, cy_tile)
                    # --- connection quality from getStats (loopback: good, with a round trip)
                    quality = await wait(pat, "document.getElementById('quality').dataset.level !== 'unknown' && "
                                              "({...document.getElementById('quality').dataset, text: document.getElementById('quality').textContent})",
                                         "connection quality measured", 8)
                    assert quality["level"] == "good" and quality["rtt"] != "" and quality["text"] == "Connection: good", quality
                    # Video paused by the server for this connection (a `downlink`, fed to the page): poor.
                    await pat.evaluate("cohort.onMessage({type: 'downlink', paused: [document.querySelector(%r).dataset.mid], suggestAudioMix: false}), true" % tile)
                    await wait(pat, "document.getElementById('quality').dataset.level === 'poor'", "quality poor while video is paused", 5)
                    await pat.evaluate("cohort.onMessage({type: 'downlink', paused: [], suggestAudioMix: false}), true")
                    await wait(pat, "document.getElementById('quality').dataset.level === 'good'", "quality good again", 5)
                    # --- a broadcast: a banner, announced, dismissible
                    await host.signalling.request({"type": "broadcast", "text": "Ten minutes left"})
                    await wait(pat, visible("#announcements li"), "broadcast banner", 5)
                    assert "Ten minutes left" in await pat.evaluate("document.getElementById('live').textContent")
                    await click(pat, "#announcements li button.dismiss")
                    await wait(pat, "document.querySelectorAll('#announcements li').length === 0", "banner dismissed", 3)
                    # --- chat: unread count while closed, announced, cleared on opening
                    await host.signalling.request({"type": "chat", "text": "Hello Pat"})
                    await wait(pat, "document.getElementById('chat-unread').textContent === '1' && "
                                    "document.getElementById('chat-toggle').getAttribute('aria-label') === 'Chat, 1 unread'", "unread chat", 5)
                    assert "Chat from Dr Host: Hello Pat" in await pat.evaluate("document.getElementById('live').textContent")
                    await click(pat, "#chat-toggle")
                    opened = await pat.evaluate("""[document.getElementById('chat-panel').hidden, document.getElementById('chat-unread').hidden,
                        document.activeElement.id, [...document.querySelectorAll('#chat-log li')].map((li) => li.textContent)]""")
                    assert opened == [False, True, "chat-text", ["Dr Host: Hello Pat"]], opened
                    # --- Cy leaves: announced
                    await cy.close()
                    await wait(pat, "document.getElementById('live').textContent.includes('Cy left this room.')", "Cy's leave announced", 10)
                    # --- a move into a breakout room and back: announced, room name shown
                    await host.signalling.request({"type": "create-rooms", "names": ["Quiet corner"]})
                    await host.signalling.wait_until(lambda st: any(m.get("type") == "session" and len(m.get("rooms", [])) == 2 for m in st.other))
                    room = next(r["id"] for m in host.signalling.state.other if m.get("type") == "session"
                                for r in m.get("rooms", []) if r["name"] == "Quiet corner")
                    await host.signalling.request({"type": "assign", "assignments": {pid["Pat"]: room}})
                    await host.signalling.request({"type": "open-rooms"})
                    await wait(pat, "document.getElementById('live').textContent.includes('You are now in Quiet corner.') && "
                                    "document.getElementById('room-name').textContent === 'Room: Quiet corner'", "move announced", 10)
                    await host.signalling.request({"type": "close-rooms", "countdown": 0})
                    await wait(pat, "document.getElementById('live').textContent.includes('You are now in Main room.')", "move back announced", 10)
                    # --- removed: a final screen, no rejoin
                    await host.signalling.request({"type": "remove", "participantId": pid["Pat"]})
                    await check_removed_screen(pat)
                    # --- the session ends: Quinn's final screen
                    await host.signalling.request({"type": "end-session"})
                    quinn = pages["Quinn"]
                    await wait(quinn, visible("#ended"), "Quinn's final screen", 10)
                    await asyncio.sleep(1)
                    final = await quinn.evaluate("[document.getElementById('ended-heading').textContent, cohort.state.client, cohort.state.rejoins]")
                    assert final == ["The session has ended", None, 0], final
                    for n, p in pages.items():
                        assert p.exceptions == [], (n, p.exceptions)
                finally:
                    await cy.close()
                    await host.close()

    run(scenario(), timeout=120)


# Marks, in the page, when every other person's tile has rendered a frame of
# that person (the tile opens on the first frame of its new source).
ALL_SEEN_PROBE = """((count) => {
  window.allSeenAt = null;
  const timer = setInterval(() => {
    const open = [...document.querySelectorAll('#grid .tile:not(.self)')].filter((t) => !t.hidden && !t.classList.contains('waiting'));
    if (open.length === count) { window.allSeenAt = performance.now(); clearInterval(timer); }
  }, 5);
  return true;
})"""


def test_join_to_seeing_everyone_ten_times() -> None:
    """Click Join (the preview already running, as a person would) → every
    other participant's tile shows their picture, ten joins of one page into
    a call of three aiortc participants (red, green, blue); p50 and p95."""
    async def scenario() -> None:
        with CohortServer(web_root=WEB_ROOT) as server:
            colours = {"ida": RED, "jo": GREEN, "kim": (40, 60, 200)}
            peers = [AiortcParticipant(n, hz, slots=1, video_format=(160, 120, 15), video_colour=c)
                     for (n, c), hz in zip(colours.items(), (PAT_HZ, HOST_HZ, CY_HZ))]
            async with Chromium() as browser:
                try:
                    for p in peers:
                        await p.join_cohort(server.ws_url, server.token(p.name), p.name)
                    page = await browser.new_page(f"{server.base_url}?testTone=600#token={server.token('Lou')}")
                    times = []
                    for _ in range(10):
                        await wait(page, "document.getElementById('preview').videoWidth > 0 && !document.getElementById('join').disabled",
                                   "pre-join ready", 10)
                        await page.evaluate(f"{ALL_SEEN_PROBE}(3)")
                        await click(page, "#join")
                        await wait(page, "window.allSeenAt !== null", "every other person seen", 20, interval=0.05)
                        times.append(await page.evaluate("(window.allSeenAt - cohort.state.timing.joinClicked) / 1000"))
                        for p in peers:
                            rgb = await video_rgb(page, f"#grid .tile[data-participant='{p.joined['participantId']}'] video")
                            assert near(rgb, colours[p.name]), f"{p.name}'s tile shows {rgb}"
                        await click(page, "#leave")
                        await wait(page, visible("#join-panel"), "back on the pre-join screen", 10)
                    times.sort()
                    p50, p95 = times[len(times) // 2], times[min(len(times) - 1, int(len(times) * 0.95))]
                    print(f"\nclick Join → all 3 others seen, 10 joins (s): p50 {p50:.2f}, p95 {p95:.2f}; "
                          + ", ".join(f"{t:.2f}" for t in times))
                    assert p95 < 5, times
                    assert page.exceptions == [], page.exceptions
                finally:
                    for p in peers:
                        await p.close()

    run(scenario(), timeout=150)
