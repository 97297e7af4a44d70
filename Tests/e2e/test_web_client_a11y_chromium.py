"""Accessibility and phone/tablet layout of the patients' web client
(issue 18 items 5 and 6), in headless Chromium with real media.

On each screen a patient meets — pre-join, waiting room, the call (with the
host's and two others' video, a broadcast banner and the chat open), the end
after removal — at desktop
(1280x800), tablet (768x1024) and phone (360x740) sizes through DevTools
device emulation:
- axe-core (the copy shipped by the axe-selenium-python package, injected
  through DevTools) reports no WCAG 2.0 A/AA or best-practice violation;
- nothing overflows horizontally, every visible control is inside the
  viewport's width, and at touch sizes every control is at least 44x44 CSS
  px; Join is on the pre-join screen's first screenful;
- at phone size the call is one column and the controls are below the
  video, never over it;
- a screenshot of each screen at each size is saved under
  Tests/e2e/results/ (git-ignored).
The pre-join screen and the call are also driven by keyboard alone: Tab
reaches every control with a visible focus outline, Enter on Join joins,
Space on the microphone button mutes.
"""

from __future__ import annotations

from chromium import Chromium, Page
from cohort_server import WEB_ROOT, CohortServer
from conftest import run
from peer import AiortcParticipant
from webui import SIZES, axe_violations, click, emulate, layout_problems, press, screenshot, tab_order, visible, wait

HOST_HZ = 770.0


async def check_screen(page: Page, screen: str, saved: list[str], problems: dict) -> None:
    """axe and layout at every size; screenshots; problems collected by key."""
    for size in SIZES:
        await emulate(page, size)
        found = await layout_problems(page)
        if size != "desktop" and screen == "call":
            # The controls are on screen at the top and, scrolled to the end,
            # below every tile (they cover no face at rest); one column on phones.
            geometry = await page.evaluate("""(() => {
                const measure = () => { const tiles = [...document.querySelectorAll('#grid .tile')].filter((t) => !t.hidden)
                  .map((t) => t.getBoundingClientRect()); const c = document.getElementById('controls').getBoundingClientRect();
                  return {lefts: [...new Set(tiles.filter((r) => r.width > innerWidth / 2).map((r) => Math.round(r.left)))],
                          lowestTile: Math.max(...tiles.map((r) => r.bottom)), controls: [c.top, c.bottom], height: innerHeight}; };
                scrollTo(0, 0); const top = measure();
                scrollTo(0, document.documentElement.scrollHeight); const end = measure(); scrollTo(0, 0);
                return {top, end}; })()""")
            top, end = geometry["top"], geometry["end"]
            if top["controls"][0] < 0 or top["controls"][1] > top["height"] + 0.5:
                found["controls off screen"] = top
            if end["controls"][0] < end["lowestTile"] - 0.5:
                found["controls over a tile"] = end
            if size == "phone" and len(top["lefts"]) > 1:
                found["more than one column"] = top
        if screen == "prejoin":
            # Join is on the first screenful: no scrolling to find it.
            join = await page.evaluate("scrollTo(0, 0), [document.getElementById('join').getBoundingClientRect().bottom, innerHeight]")
            if join[0] > join[1]:
                found["Join below the fold"] = join
        if found:
            problems[f"{screen}@{size}"] = found
        saved.append(await screenshot(page, f"{screen}-{size}"))
        violations = await axe_violations(page)
        if violations:
            problems[f"axe {screen}@{size}"] = violations
    await page.send("Emulation.clearDeviceMetricsOverride")


def test_screens_pass_axe_fit_phones_and_work_by_keyboard() -> None:
    async def scenario() -> None:
        with CohortServer(web_root=WEB_ROOT, waiting_room=True) as server:
            host = AiortcParticipant("host", HOST_HZ, slots=2, video_format=(160, 120, 10), video_colour=(200, 40, 40))
            # Two more people: three tiles are taller than a phone's screen.
            others = [AiortcParticipant(n, hz, slots=1, video_format=(160, 120, 10), video_colour=c)
                      for n, hz, c in (("ida", 550.0, (40, 160, 60)), ("jo", 1130.0, (40, 60, 200)))]
            async with Chromium() as browser:
                try:
                    await host.join_cohort(server.ws_url, server.token("Dr Host", role="host"), "Dr Host")
                    for o in others:
                        await o.join_cohort(server.ws_url, server.token(o.name.title()), o.name.title())
                        await host.signalling.request({"type": "admit", "participantId": o.joined["participantId"]})
                    page = await browser.new_page(f"{server.base_url}?testTone=550#token={server.token('Pat Patient')}")
                    await wait(page, "document.getElementById('preview').videoWidth > 0 && document.getElementById('mic-level').value > 0",
                               "pre-join preview and meter", 10)
                    saved: list[str] = []
                    problems: dict = {}
                    await check_screen(page, "prejoin", saved, problems)

                    # Keyboard only: Tab through the pre-join screen.
                    await page.evaluate("document.activeElement.blur(), true")
                    order = await tab_order(page, 9)
                    wanted = ["name", "prejoin-cam", "prejoin-mic", "camera-select", "mic-select", "speaker-select", "speaker-test", "join"]
                    reached = [o[:-1] for o in order]
                    assert all(w in reached for w in wanted), f"Tab order {order} misses {[w for w in wanted if w not in reached]}"
                    assert all(o.endswith("+") for o in order if o[:-1] in wanted), f"focus not drawn: {order}"
                    await page.evaluate("document.getElementById('join').focus(), true")
                    await press(page, "Enter", "Enter", 13)
                    await wait(page, f"cohort.state.joined && {visible('#waiting-room')}", "joined by keyboard, waiting", 15)
                    await check_screen(page, "waiting", saved, problems)

                    pat = await page.evaluate("cohort.state.participantId")
                    await host.signalling.request({"type": "admit", "participantId": pat})
                    tile = f"#grid .tile[data-participant='{host.joined['participantId']}']"
                    await wait(page, f"(() => {{ const t = document.querySelector({tile!r}); return {visible('#call')} && !!t && !t.hidden"
                                     " && !t.classList.contains('waiting'); })()", "in the call with the host's video", 15)
                    await wait(page, "[...document.querySelectorAll('#grid .tile:not(.self)')].filter((t) => !t.hidden && !t.classList.contains('waiting')).length === 3",
                               "three others' tiles open", 15)
                    await host.signalling.request({"type": "broadcast", "text": "Welcome, everyone"})
                    await host.signalling.request({"type": "chat", "text": "Hello"})
                    await wait(page, "document.getElementById('chat-unread').textContent === '1' && document.querySelectorAll('#announcements li').length === 1",
                               "broadcast and chat shown", 5)
                    await click(page, "#chat-toggle")
                    await wait(page, "document.getElementById('quality').dataset.level !== 'unknown'", "quality measured", 8)
                    await check_screen(page, "call", saved, problems)

                    # Keyboard only in the call: Tab reaches every control with
                    # its focus drawn; Space on the microphone button mutes.
                    await page.evaluate("document.activeElement.blur(), scrollTo(0, 0), true")
                    order = await tab_order(page, 12)
                    wanted = ["button:Dismiss this message", "view-toggle", "mic", "cam", "hand", "chat-toggle", "leave", "chat-text"]
                    reached = [o[:-1] for o in order]
                    assert all(w in reached for w in wanted), f"Tab order {order} misses {[w for w in wanted if w not in reached]}"
                    assert all(o.endswith("+") for o in order if o[:-1] in wanted), f"focus not drawn: {order}"
                    await page.evaluate("document.getElementById('mic').focus(), true")
                    await press(page, " ", "Space", 32)
                    muted = await page.evaluate("[document.getElementById('mic').getAttribute('aria-pressed'), cohort.state.local.getAudioTracks()[0].enabled]")
                    assert muted == ["true", False], muted

                    # The end: removed by the host.
                    await host.signalling.request({"type": "remove", "participantId": pat})
                    await wait(page, visible("#ended"), "the final screen", 10)
                    await check_screen(page, "ended", saved, problems)
                    print("\nscreenshots:\n  " + "\n  ".join(saved))
                    assert not problems, problems
                    assert page.exceptions == [], page.exceptions
                finally:
                    for o in others:
                        await o.close()
                    await host.close()

    run(scenario(), timeout=120)

