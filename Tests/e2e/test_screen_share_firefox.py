"""Screen sharing with Firefox ESR (issue 18 items 3 and 8; firefox.py,
WebDriver BiDi).

Firefox as a viewer: a Chromium host (Lee) shares its fake display capture
(16:9, mostly green: test_screen_share_chromium.py says how it is
told from a camera); Firefox (Fox, same room) shows it on the stage: the <video>
draws green 16:9 frames and the screen slot's receiver keeps decoding.
Chromium's Kit, in a breakout room, gets nothing. Then Fox is moved to
Kit's room (a breakout move): its stage goes away and its screen slot
empties, while the share goes on for the host's room. Fox back in the main
room sees it again; Lee stops: Fox's stage goes away. A screenshot of
Fox's page with the share goes to Tests/e2e/results/screen-share-firefox.png.

Firefox as a sharer: headless Firefox cannot capture a screen. Measured
here with Firefox ESR: without a user gesture `getDisplayMedia` rejects
with `InvalidStateError: getDisplayMedia requires transient activation from
a user gesture.`; with one (a BiDi `script.evaluate` with
`userActivation: true`, which is how the test clicks "Share screen") it
rejects with `NotFoundError: The object can not be found here.` (no
display to capture; `media.navigator.streams.fake` fakes camera and
microphone only). The test checks that the web client then says so
("Screen sharing is not available here (NotFoundError)") and shares nothing.
If a later Firefox can share headless, this check fails and should become
a sharing check.

Firefox as a sharer on a display: run on a private virtual X display
(Xvfb, firefox.py) instead of headless, Firefox shares that display (1280x800,
told from any camera and from Chromium's 16:9 screen by its shape); a
Chromium participant sees it on the stage and loses it when Firefox stops.
Screenshot: screen-share-from-firefox.png (the Chromium viewer's page).
"""

from __future__ import annotations

import asyncio
import json

from chromium import Chromium
from cohort_server import WEB_ROOT, CohortServer
from conftest import run
from firefox import Firefox, PulseAudio, Xvfb, firefox_ready, loopback_default_route
from test_screen_share_chromium import SCREEN_RECEIVER, SCREEN_RGB, STAGE, green
from webui import screenshot

PAGE_STATE = ("({status: document.getElementById('status').textContent, message: document.getElementById('message').textContent,"
              " room: window.cohort && cohort.state.room, slots: window.cohort && cohort.state.slots})")


async def open_client(browser, server: CohortServer, name: str, role: str = "participant"):
    page = await browser.new_page(f"{server.base_url}#token={server.token(name, role=role)}")
    await page.evaluate("document.getElementById('join').click(), true")
    await page.wait_for("cohort.state.joined && cohort.state.participantId", f"{name} joined", 20, PAGE_STATE)
    return page, await page.evaluate("cohort.state.participantId")


# Chromium's fake display capture: 16:9 and green (test_screen_share_chromium.py).
CHROMIUM_SCREEN = f"s.width * 9 === s.height * 16 && s.width >= 400 && s.rgb && Math.abs(s.rgb[1] - {SCREEN_RGB[1]}) < 40"
# Firefox on the Xvfb display: the display itself, 1280x800 (16:10), unlike any camera (4:3) or Chromium's screen.
XVFB_SCREEN = "s.width === 1280 && s.height === 800"


async def sees_screen_of(page, who: str, what: str, shape: str = CHROMIUM_SCREEN) -> None:
    js = f"""(() => {{ const s = {STAGE}; return !!s && s.participant === {who!r} && !s.waiting && {shape} && s; }})()"""
    try:
        shown = await page.wait_for(js, what, 25, PAGE_STATE)
    except AssertionError as e:
        raise AssertionError(f"{e}; stage {await page.evaluate(STAGE)}; screen slot {await page.evaluate(SCREEN_RECEIVER)}") from None
    assert (shape != CHROMIUM_SCREEN or green(shown["rgb"])) and shown["stageWidth"] > 1.5 * shown["widestCamera"], shown
    before = (await page.evaluate(SCREEN_RECEIVER))["frames"]
    await asyncio.sleep(1.0)
    after = (await page.evaluate(SCREEN_RECEIVER))["frames"]
    assert after > before + 3, f"{what}: screen frames {before} → {after}"


async def stage_gone(page, what: str) -> None:
    await page.wait_for(f"""(async () => {{ const r = await {SCREEN_RECEIVER}; return {STAGE} === null
        && document.getElementById('stage').hidden && r && r.source === null; }})()""", what, 10, PAGE_STATE)


async def request(page, type_: str, fields: dict) -> None:
    await page.evaluate(f"cohort.state.client.request({json.dumps(type_)}, {json.dumps(fields)}).then(() => true)")


def test_firefox_sees_a_screen_share_and_cannot_share_headless() -> None:
    async def scenario() -> None:
        with CohortServer(web_root=WEB_ROOT) as server:
            async with firefox_ready() as fox_browser, Chromium() as chrome:
                lee, lee_id = await open_client(chrome, server, "Lee", role="host")
                kit, kit_id = await open_client(chrome, server, "Kit")
                fox, fox_id = await open_client(fox_browser, server, "Fox")
                await request(lee, "create-rooms", {"names": ["Other"]})
                await request(lee, "assign", {"assignments": {kit_id: "r1"}})
                await request(lee, "open-rooms", {})
                await kit.wait_for("cohort.state.room === 'r1'", "Kit in the breakout room", 10, PAGE_STATE)

                # Lee shares; Firefox sees it large, Kit nothing.
                await lee.evaluate("document.getElementById('share').click(), true")
                await lee.wait_for("cohort.state.client.screenTrack !== null", "Lee shares", 10, PAGE_STATE)
                await sees_screen_of(fox, lee_id, "Fox sees Lee's screen")
                await screenshot(fox, "screen-share-firefox", top=False)

                # A breakout move of the viewer: the share stays in the host's room.
                await request(lee, "move", {"participantId": fox_id, "room": "r1"})
                await stage_gone(fox, "Fox's stage goes away in the other room")
                assert await lee.evaluate("cohort.state.client.screenTrack !== null"), "the share goes on in main"
                await request(lee, "move", {"participantId": fox_id, "room": "main"})
                await sees_screen_of(fox, lee_id, "Fox back in main sees Lee's screen again")

                # Lee stops: gone for Fox.
                await lee.evaluate("document.getElementById('share').click(), true")
                await stage_gone(fox, "Fox's stage goes away when Lee stops")

                # Firefox as a sharer (allowed by the host): headless Firefox has no screen to capture.
                await request(lee, "screen-permission", {"allowed": True})
                await fox.wait_for("!document.getElementById('share').hidden", "Fox gets a share button", 10, PAGE_STATE)
                clicked = await fox_browser.send("script.evaluate", {
                    "expression": "document.getElementById('share').click(), 'clicked'", "target": {"context": fox.context},
                    "awaitPromise": False, "resultOwnership": "none", "userActivation": True})
                assert clicked.get("type") == "success", clicked
                message = await fox.wait_for("document.getElementById('message').textContent.includes('Screen sharing') &&"
                                             " document.getElementById('message').textContent", "Fox is told why it cannot share", 15, PAGE_STATE)
                assert message == "Screen sharing is not available here (NotFoundError).", message
                assert await fox.evaluate("cohort.state.client.screenTrack === null")
                await asyncio.sleep(1.0)
                assert await lee.evaluate(f"{STAGE} === null"), "nothing reached Lee"

                kit_screen = await kit.evaluate(SCREEN_RECEIVER)
                assert kit_screen["packets"] == 0 and kit_screen["source"] is None, f"isolation: {kit_screen}"

    run(scenario(), timeout=240)


def test_firefox_on_a_virtual_display_shares_its_screen() -> None:
    """Firefox as the sharer, run on a private Xvfb display instead of
    headless (firefox.Xvfb): its share (the 1280x800 display) reaches a
    Chromium participant's stage and ends there when Firefox stops."""
    async def scenario() -> None:
        with CohortServer(web_root=WEB_ROOT) as server, Xvfb() as display, PulseAudio() as pulse, loopback_default_route():
            async with Firefox(pulse=pulse, display=display.display) as fox_browser, Chromium() as chrome:
                ada, ada_id = await open_client(fox_browser, server, "Ada", role="host")
                sam, _ = await open_client(chrome, server, "Sam")
                clicked = await fox_browser.send("script.evaluate", {
                    "expression": "document.getElementById('share').click(), 'clicked'", "target": {"context": ada.context},
                    "awaitPromise": False, "resultOwnership": "none", "userActivation": True})
                assert clicked.get("type") == "success", clicked
                await ada.wait_for("cohort.state.client.screenTrack !== null", "Firefox shares", 15, PAGE_STATE)
                await sees_screen_of(sam, ada_id, "Sam sees Firefox's screen", shape=XVFB_SCREEN)
                await screenshot(sam, "screen-share-from-firefox")
                await ada.evaluate("document.getElementById('share').click(), true")
                await stage_gone(sam, "Sam's stage goes away when Firefox stops")
                assert await ada.evaluate("cohort.state.client.screenTrack === null")

    run(scenario(), timeout=180)
