"""Screen sharing end to end in the server's own web client, headless
Chromium (issue 18 item 3; docs/PROTOCOL.md "Screen sharing").

Chromium's fake display capture (--use-fake-device-for-media-stream with
--use-fake-ui-for-media-stream, already in chromium.BASE_FLAGS) is an
800x450 picture, mostly green (mean RGB about (4, 143, 1)). Its fake camera
draws the same green pattern but at 640x480, so the shared screen is told
apart by its 16:9 shape: checked by content in the receiving pages are the
shape and colour of the frames the <video> on the stage draws, and frames
the screen slot's receiver keeps decoding.

One host (Lee) and two participants (Sam, Kit) in Chromium pages; Kit is
moved to a breakout room first. Checked, in order:

1. A participant cannot share (no button; `screen-share` answered `forbidden`).
2. The host clicks "Share screen": Sam (same room) sees it on the stage,
   large (wider than any camera tile), decoded 16:9 green frames; Kit
   (other room) gets nothing in its screen slot.
3. Stop by the button: Sam's stage goes away, the slot empties.
4. Stop by the browser (the capture track's `ended`, which is what the
   browser's own "Stop sharing" fires; headless Chromium has no such bar,
   so the test dispatches the event): the same.
5. The host lets everyone share: Sam shares, the host sees Sam's screen; the
   host trying to share meanwhile gets the "someone is sharing" message
   (`screen-busy`); taking the right back ends Sam's share.
6. The host shares and moves to Kit's room: the share ends for Sam, never
   reaches Kit, and the host's button is back to "Share screen".
7. The host shares and leaves: Sam's stage goes away.
axe-core (WCAG 2 A/AA) finds nothing on the sharer's and a viewer's page
while the stage shows. Throughout, Kit's screen receiver never got a packet. Screenshots of Sam's
page with the shared screen at desktop and phone sizes go to
Tests/e2e/results/.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time

from chromium import Chromium, Page
from cohort_server import WEB_ROOT, CohortServer
from conftest import run
from webui import axe_violations, click, emulate, screenshot, visible, wait

SCREEN_RGB = (4, 143, 1)

# What the stage shows: the filled screen tile's participant, whether it is
# still dark, the size and mean colour of its current frame, and its width
# against the widest camera tile.
STAGE = """(() => {
  const stage = document.getElementById('stage');
  const tile = [...stage.querySelectorAll('.tile.screen:not(.own-screen)')].find((t) => !t.hidden);
  if (stage.hidden || !tile) return null;
  const v = tile.querySelector('video');
  let rgb = null;
  if (v.videoWidth) {
    const c = document.createElement('canvas'); c.width = 32; c.height = 18;
    const g = c.getContext('2d'); g.drawImage(v, 0, 0, 32, 18);
    const d = g.getImageData(0, 0, 32, 18).data; rgb = [0, 0, 0];
    for (let i = 0; i < d.length; i += 4) { rgb[0] += d[i]; rgb[1] += d[i + 1]; rgb[2] += d[i + 2]; }
    rgb = rgb.map((x) => x / (d.length / 4));
  }
  const cams = [...document.querySelectorAll('#grid .tile')].filter((t) => !t.hidden).map((t) => t.getBoundingClientRect().width);
  return {participant: tile.dataset.participant, waiting: tile.classList.contains('waiting'), width: v.videoWidth,
          height: v.videoHeight, rgb, stageWidth: tile.getBoundingClientRect().width, widestCamera: Math.max(0, ...cams),
          label: tile.querySelector('.label').textContent};
})()"""

# The screen slot's receiver: its mid, who the slot map says fills it, and
# what its own getStats says it received and decoded.
SCREEN_RECEIVER = """(async () => {
  const route = cohort.state.client.routes('screen')[0];
  if (!route) return null;
  let packets = 0, frames = 0;
  (await route.receiver.getStats()).forEach((s) => {
    if (s.type === 'inbound-rtp') { packets = s.packetsReceived || 0; frames = s.framesDecoded || 0; }
  });
  return {mid: route.mid, source: route.source, packets, frames};
})()"""


def green(rgb: list[float] | None) -> bool:
    return rgb is not None and all(abs(a - b) < 40 for a, b in zip(rgb, SCREEN_RGB))


async def join(browser: Chromium, server: CohortServer, name: str, role: str = "participant") -> tuple[Page, str]:
    page = await browser.new_page(f"{server.base_url}#token={server.token(name, role=role)}")
    await click(page, "#join", 15)
    await wait(page, f"cohort.state.joined && {visible('#call')}", f"{name} in the call", 20)
    return page, await page.evaluate("cohort.state.participantId")


# Seconds from a click on "Share screen" to the viewer's stage showing the
# screen (polled every 0.1 s), per share; printed at the end.
SHARE_TO_STAGE: list[float] = []


async def sees_screen_of(page: Page, who: str, what: str, clicked: float | None = None) -> dict:
    """Waits until the stage shows ``who``'s screen with decoded green 16:9
    frames; with ``clicked`` (the monotonic time of the click on Share),
    notes how long that took."""
    js = f"""(() => {{ const s = {STAGE}; return !!s && s.participant === {who!r} && !s.waiting && s.width * 9 === s.height * 16
        && s.width >= 400 && s.rgb && Math.abs(s.rgb[1] - {SCREEN_RGB[1]}) < 40 && s; }})()"""
    # Frames are rendered (and requestVideoFrameCallback fires) in the
    # foreground tab only: the pages share one browser.
    await page.send("Page.bringToFront")
    try:
        shown = await wait(page, js, what, 20)
    except AssertionError as e:
        video = await page.evaluate("""(() => { const v = document.querySelector('#stage .tile.screen video');
            return v && new Promise((resolve) => { const t = setTimeout(() => resolve({fired: false, paused: v.paused, gate: v.parentElement.gate}), 2000);
              v.requestVideoFrameCallback((n, m) => { clearTimeout(t); resolve({fired: true, rtp: m.rtpTimestamp, gate: v.parentElement.gate}); }); }); })()""")
        raise AssertionError(f"{e}; stage {await page.evaluate(STAGE)}; screen slot {await page.evaluate(SCREEN_RECEIVER)}; video {video}") from None
    if clicked is not None:
        SHARE_TO_STAGE.append(time.monotonic() - clicked)
    assert green(shown["rgb"]), shown
    # Decoding goes on: more frames a moment later.
    before = (await page.evaluate(SCREEN_RECEIVER))["frames"]
    await asyncio.sleep(1.0)
    after = await page.evaluate(SCREEN_RECEIVER)
    assert after["frames"] > before + 3, f"{what}: screen frames {before} → {after}"
    assert after["source"] == {"participantId": who, "track": "screen", **({"after": after["source"]["after"]} if "after" in after["source"] else {})}, after
    return shown


async def stage_gone(page: Page, what: str) -> None:
    await wait(page, f"""(async () => {{ const r = await {SCREEN_RECEIVER}; return {STAGE} === null
        && document.getElementById('stage').hidden && r && r.source === null; }})()""", what, 10)


async def sharing(page: Page, on: bool, what: str) -> None:
    want = "Stop sharing" if on else "Share screen"
    await wait(page, f"""(() => {{ const b = document.getElementById('share');
        return !b.hidden && b.textContent === {want!r} && (cohort.state.client.screenTrack !== null) === {str(on).lower()}; }})()""", what, 10)


def test_screen_share_reaches_its_room_only_and_ends_cleanly() -> None:
    async def scenario() -> None:
        with CohortServer(web_root=WEB_ROOT) as server:
            async with Chromium() as browser:
                lee, lee_id = await join(browser, server, "Lee", role="host")
                sam, sam_id = await join(browser, server, "Sam")
                kit, kit_id = await join(browser, server, "Kit")
                for step in ({"type": "create-rooms", "names": ["Other"]}, {"type": "assign", "assignments": {kit_id: "r1"}},
                             {"type": "open-rooms"}):
                    fields = {k: v for k, v in step.items() if k != "type"}
                    await lee.evaluate(f"cohort.state.client.request({json.dumps(step['type'])}, {json.dumps(fields)}).then(() => true)")
                await wait(kit, "cohort.state.room === 'r1'", "Kit in the breakout room", 10)

                # 1. A participant may not share.
                assert await sam.evaluate("document.getElementById('share').hidden"), "participants see no share button"
                refused = await sam.evaluate("cohort.state.client.request('screen-share', {sharing: true}).then(() => 'ok', (e) => e.code)")
                assert refused == "forbidden", refused
                await sharing(lee, False, "the host has a share button")
                assert await lee.evaluate("!document.getElementById('screen-allow').hidden"), "the host can let everyone share"

                # 2. The host shares: Sam sees it large; Kit, in another room, nothing.
                clicked = time.monotonic()
                await click(lee, "#share")
                await sharing(lee, True, "the host shares")
                shown = await sees_screen_of(sam, lee_id, "Sam sees Lee's screen", clicked)
                assert shown["stageWidth"] > 1.5 * shown["widestCamera"], f"the screen is shown large: {shown}"
                assert "Lee" in shown["label"], shown
                # axe-core finds nothing on the stage or the share controls.
                # (The host panel is another change's: its findings are left out here.)
                for page, who in ((sam, "Sam"), (lee, "Lee")):
                    violations = [v for v in await axe_violations(page)
                                  if not all(n.startswith("#host-") for n in v["nodes"])]
                    assert violations == [], f"{who}: {violations}"
                await screenshot(sam, "screen-share-desktop")
                await emulate(sam, "phone")
                await screenshot(sam, "screen-share-phone")
                await sam.send("Emulation.clearDeviceMetricsOverride")

                # 3. Stop by the button.
                await click(lee, "#share")
                await sharing(lee, False, "the host stopped")
                await stage_gone(sam, "Sam's stage goes away after the stop button")

                # 4. Stop by the browser: the capture track ends.
                clicked = time.monotonic()
                await click(lee, "#share")
                await sees_screen_of(sam, lee_id, "Sam sees Lee's second share", clicked)
                await lee.evaluate("cohort.state.client.screenTrack.dispatchEvent(new Event('ended')), true")
                await sharing(lee, False, "the track's end stops the share")
                await stage_gone(sam, "Sam's stage goes away when the track ends")

                # 5. Everyone may share; one share a room; taking the right back ends Sam's.
                await click(lee, "#screen-allow")
                await sharing(sam, False, "Sam gets a share button")
                clicked = time.monotonic()
                await click(sam, "#share")
                await sharing(sam, True, "Sam shares")
                await sees_screen_of(lee, sam_id, "Lee sees Sam's screen", clicked)
                await click(lee, "#share")
                await wait(lee, "document.getElementById('message').textContent.includes('sharing a screen already')",
                           "the host is told someone shares already", 10)
                await sharing(lee, False, "the host's refused share sends nothing")
                await click(lee, "#screen-allow")
                await wait(sam, "cohort.state.client.screenTrack === null && document.getElementById('share').hidden",
                           "Sam's share ends with the right", 10)
                await stage_gone(lee, "Lee's stage goes away when the right is taken back")

                # 6. The host shares and moves to Kit's room: the share stays behind, ended.
                clicked = time.monotonic()
                await click(lee, "#share")
                await sees_screen_of(sam, lee_id, "Sam sees Lee's third share", clicked)
                await lee.evaluate("cohort.state.client.request('join-room', {room: 'r1'}).then(() => true)")
                await stage_gone(sam, "Sam's stage goes away when the sharer moves")
                await sharing(lee, False, "the moved host no longer shares")
                await wait(kit, "cohort.state.roster.some((p) => p.name === 'Lee')", "Lee with Kit", 10)
                await lee.evaluate("cohort.state.client.request('join-room', {room: 'main'}).then(() => true)")
                await wait(sam, "cohort.state.roster.some((p) => p.name === 'Lee')", "Lee back with Sam", 10)

                # 7. The host shares and leaves.
                clicked = time.monotonic()
                await click(lee, "#share")
                await sees_screen_of(sam, lee_id, "Sam sees Lee's last share", clicked)
                await click(lee, "#leave")
                await stage_gone(sam, "Sam's stage goes away when the sharer leaves")

                # Kit, always in the other room, never received a screen packet.
                kit_screen = await kit.evaluate(SCREEN_RECEIVER)
                assert kit_screen["packets"] == 0 and kit_screen["source"] is None, f"isolation: {kit_screen}"
                assert await kit.evaluate("document.getElementById('stage').hidden")
                print(f"share click -> viewer's stage shows it: {[round(t, 2) for t in SHARE_TO_STAGE]} s"
                      f" (median {statistics.median(SHARE_TO_STAGE):.2f} s)")

    run(scenario(), timeout=240)
