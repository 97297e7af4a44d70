"""Firefox ESR as a second browser: the server's own web client in headless
Firefox (firefox.py, WebDriver BiDi) beside Chromium and aiortc.

Firefox's microphone is its fake device (a steady sine, measured here:
``FIREFOX_FAKE_AUDIO_HZ``), its camera the fake one.  Everything is checked
by content: tones by frequency analysis of what each side decodes (in the
browsers through WebAudio, ``cohortTest.captureAudio``; in aiortc from its
decoded frames), video by decoded frames (each receiver's getStats).

1. Firefox, Chromium (`&testTone=550`) and aiortc (770 Hz) in one call:
   each hears and sees both others in the slots its slot map names.
2. A breakout move with Firefox as the moved participant: before it
   Firefox hears only its room-mate, after it only its new room, and the
   video of its new room-mate is decoded.
3. Firefox switches to mixed audio (`audio-mode` `mix`): both others in
   the one mix slot, nothing in the others, and they still hear Firefox.
4. Join → seeing every other participant (first decoded frame of each
   camera), p50/p95 over 10 joins, in Firefox and in Chromium (printed).

All run with one PulseAudio daemon of their own and, inside the suite's
loopback-only namespace, a default route over ``lo`` (firefox.py says why).
"""

from __future__ import annotations

import asyncio
import statistics
import time

import numpy as np
from chromium import Chromium
from cohort_server import WEB_ROOT, CohortServer
from conftest import run
from firefox import FIREFOX_FAKE_AUDIO_HZ, firefox_ready
from peer import AiortcParticipant
from tones import dominant_frequency, present_tones

FOX_HZ = FIREFOX_FAKE_AUDIO_HZ
CANDIDATES = [550.0, 770.0, FOX_HZ, 1310.0]
SMALL_VIDEO = (160, 120, 10)

PAGE_STATE = ("({status: document.getElementById('status').textContent, message: document.getElementById('message').textContent,"
              " slots: window.cohort && cohort.state.slots})")

# Per receiving mid, what its receiver got (a receiver's own getStats, so no
# browser needs `mid` in its stats): {mid: {kind, packets, frames}}.
RECEIVED = """(async () => {
  const out = {};
  for (const t of cohort.state.pc.getTransceivers()) {
    if (!t.mid || t.currentDirection === "sendonly" || t.currentDirection === "inactive") continue;
    const report = await t.receiver.getStats();
    report.forEach((s) => {
      if (s.type === "inbound-rtp") out[t.mid] = {kind: s.kind, packets: s.packetsReceived || 0, frames: s.framesDecoded || 0};
    });
  }
  return out;
})()"""


async def open_client(browser, server: CohortServer, name: str, extra: str = ""):
    """The web client from a session link, Join clicked."""
    page = await browser.new_page(f"{server.base_url}?{extra.lstrip('&')}#token={server.token(name)}")
    await page.evaluate("document.getElementById('join').click(), true")
    await page.wait_for("cohort.state.joined && cohort.state.participantId", f"{name} joined", 20, PAGE_STATE)
    return page


async def mids_by_source(page) -> dict[tuple[str, str], str]:
    """(participantId or "mix", track) → mid, from the page's slot map."""
    slots = await page.evaluate("cohort.state.slots")
    return {(v.get("participantId") or v["track"], v["track"]): mid for mid, v in slots.items()}


async def wait_slots(page, wanted: list[tuple[str, str]], what: str, timeout: float = 15) -> dict[tuple[str, str], str]:
    js = f"""(() => {{ const s = Object.values(cohort.state.slots);
        return {[list(w) for w in wanted]!r}.every(([p, t]) => s.some((v) => (v.participantId || v.track) === p && v.track === t)); }})()"""
    await page.wait_for(js, what, timeout, PAGE_STATE)
    return await mids_by_source(page)


async def wait_frames(page, mids: list[str], what: str, more: int = 10, timeout: float = 20) -> None:
    """Waits until each video mid has decoded ``more`` frames beyond now."""
    start = await page.evaluate(RECEIVED)
    base = {m: start.get(m, {}).get("frames", 0) for m in mids}
    deadline = time.monotonic() + timeout
    while True:
        now = await page.evaluate(RECEIVED)
        got = {m: now.get(m, {}).get("frames", 0) - base[m] for m in mids}
        if all(v >= more for v in got.values()):
            return
        assert time.monotonic() < deadline, f"{what}: decoded frames {got} of {more}; {now}"
        await asyncio.sleep(0.2)


async def capture(page, mids: list[str], seconds: float = 1.5) -> dict[str, np.ndarray]:
    """``seconds`` of the audio received on each mid, captured at once."""
    await page.evaluate(
        "cohort.state.pc.getTransceivers().forEach((t) => { if (t.mid) cohortTest.remote[t.mid] = t.receiver.track; }), true")
    got = await page.evaluate(f"Promise.all({mids!r}.map((m) => cohortTest.captureAudio(m, {seconds})))", timeout=seconds + 10)
    return {m: (np.asarray(g["samples"], dtype=np.float32), g["rate"]) for m, g in zip(mids, got)}


async def heard(page, mids: list[str], seconds: float = 1.5) -> dict[str, set[float]]:
    return {m: present_tones(s, rate, CANDIDATES, window_s=None) for m, (s, rate) in (await capture(page, mids, seconds)).items()}


async def audio_mids(page) -> list[str]:
    """Every receiving audio mid (the audio slots)."""
    return await page.evaluate("""cohort.state.pc.getTransceivers().filter((t) => t.mid && t.receiver.track.kind === "audio"
        && (t.currentDirection === "recvonly" || t.currentDirection === "sendrecv")).map((t) => t.mid)""")


def aiortc_hears(peer: AiortcParticipant, pid: str) -> set[float]:
    [mid] = peer.signalling.state.mids_of(pid, "audio")
    return peer.heard_tones(CANDIDATES, mid, window_s=1.0)


def test_firefox_hears_and_sees_chromium_and_aiortc() -> None:
    async def scenario() -> None:
        with CohortServer(web_root=WEB_ROOT) as server:
            async with firefox_ready() as fox_browser, Chromium() as chrome_browser:
                cal = AiortcParticipant("cal", 770.0, slots=2, video_format=SMALL_VIDEO)
                try:
                    pages = dict(zip(("fox", "chr"), await asyncio.gather(
                        open_client(fox_browser, server, "Fox"),
                        open_client(chrome_browser, server, "Chr", "&testTone=550"))))
                    await cal.join_cohort(server.ws_url, server.token("Cal"), "Cal")
                    pid = {n: await p.evaluate("cohort.state.participantId") for n, p in pages.items()}
                    pid["cal"] = cal.joined["participantId"]
                    tone = {"chr": 550.0, "cal": 770.0}

                    # --- Firefox sees and hears Chromium and aiortc, each in its slot
                    fox = pages["fox"]
                    mids = await wait_slots(fox, [(pid[o], t) for o in ("chr", "cal") for t in ("camera", "microphone")],
                                            "Firefox's slot map names both others")
                    await wait_frames(fox, [mids[(pid[o], "camera")] for o in ("chr", "cal")], "Firefox decodes both cameras")
                    got = await heard(fox, [mids[(pid[o], "microphone")] for o in ("chr", "cal")])
                    assert got == {mids[(pid[o], "microphone")]: {tone[o]} for o in ("chr", "cal")}, ("Firefox hears", got, mids)

                    # --- Chromium sees Firefox and hears its fake microphone: measure its frequency
                    chrome = pages["chr"]
                    mids = await wait_slots(chrome, [(pid["fox"], "camera"), (pid["fox"], "microphone")],
                                            "Chromium's slot map names Firefox")
                    await wait_frames(chrome, [mids[(pid["fox"], "camera")]], "Chromium decodes Firefox's camera")
                    [(samples, rate)] = (await capture(chrome, [mids[(pid["fox"], "microphone")]])).values()
                    hz, db = dominant_frequency(samples, rate)
                    print(f"\nFirefox's fake microphone as Chromium decodes it: {hz:.1f} Hz, {db:.0f} dB over the floor")
                    assert abs(hz - FOX_HZ) < 5 and db > 25, (hz, db)
                    assert present_tones(samples, rate, CANDIDATES, window_s=None) == {FOX_HZ}

                    # --- aiortc hears and sees Firefox
                    await cal.wait_until(lambda: aiortc_hears(cal, pid["fox"]) == {FOX_HZ} and aiortc_hears(cal, pid["chr"]) == {550.0}
                                         and cal.video_frames_by_mid().get(cal.signalling.state.mids_of(pid["fox"], "video")[0], 0) >= 10,
                                         timeout=15, candidates=CANDIDATES)
                    for n, page in pages.items():
                        assert page.exceptions == [], (n, page.exceptions)
                finally:
                    await cal.close()

    run(scenario(), timeout=120)


def test_firefox_moved_between_breakout_rooms() -> None:
    """Firefox with Ann (550 Hz) in Room 1, Ben (770 Hz) alone in Room 2, the
    host (1310 Hz) in the main room; then the host moves Firefox to Room 2."""

    async def scenario() -> None:
        with CohortServer(web_root=WEB_ROOT) as server:
            async with firefox_ready() as browser:
                peers = {n: AiortcParticipant(n, hz, slots=2, video_format=SMALL_VIDEO)
                         for n, hz in (("host", 1310.0), ("ann", 550.0), ("ben", 770.0))}
                try:
                    fox = await open_client(browser, server, "Fox")
                    for n, p in peers.items():
                        await p.join_cohort(server.ws_url, server.token(n, role="host" if n == "host" else "participant"), n)
                    pid = {n: p.joined["participantId"] for n, p in peers.items()}
                    pid["fox"] = await fox.evaluate("cohort.state.participantId")
                    host = peers["host"].signalling
                    await host.request({"type": "create-rooms", "names": ["Room 1", "Room 2"]})
                    await host.request({"type": "assign", "assignments": {pid["fox"]: "r1", pid["ann"]: "r1", pid["ben"]: "r2"}})
                    await host.request({"type": "open-rooms"})

                    async def fox_hears_only(mate: str) -> None:
                        mids = await wait_slots(fox, [(pid[mate], "camera"), (pid[mate], "microphone")], f"Firefox is sent {mate}")
                        await fox.wait_for(f"Object.values(cohort.state.slots).every((v) => v.participantId === {pid[mate]!r})",
                                           f"Firefox is sent only {mate}", 10, PAGE_STATE)
                        await wait_frames(fox, [mids[(pid[mate], "camera")]], f"Firefox decodes {mate}'s camera")
                        deadline = time.monotonic() + 10
                        while True:  # every audio slot at once: only the room-mate's tone, in its slot
                            got = await heard(fox, await audio_mids(fox), 1.0)
                            if got == {m: ({peers[mate].tone_hz} if m == mids[(pid[mate], "microphone")] else set()) for m in got}:
                                return
                            assert time.monotonic() < deadline, (f"Firefox should hear only {mate}", got, mids)

                    await fox_hears_only("ann")
                    await peers["ann"].wait_until(lambda: aiortc_hears(peers["ann"], pid["fox"]) == {FOX_HZ}, 10, candidates=CANDIDATES)
                    assert peers["ben"].signalling.state.mids_of(pid["fox"]) == []

                    moved = time.monotonic()
                    await host.request({"type": "move", "participantId": pid["fox"], "room": "r2"})
                    await fox_hears_only("ben")
                    print(f"\nmove → checked that Firefox hears and sees only its new room-mate (10 new frames, 1 s of audio): "
                          f"{time.monotonic() - moved:.2f} s")
                    await peers["ben"].wait_until(lambda: aiortc_hears(peers["ben"], pid["fox"]) == {FOX_HZ}, 10, candidates=CANDIDATES)
                    await peers["ann"].wait_until(lambda: peers["ann"].signalling.state.mids_of(pid["fox"]) == [], 5)
                    assert fox.exceptions == [], fox.exceptions
                finally:
                    for p in peers.values():
                        await p.close()

    run(scenario(), timeout=120)


def test_firefox_with_mixed_audio() -> None:
    """Firefox switches to mixed audio: Ann (550) and Ben (770) both in the
    one mix slot; its other audio slots silent; both still hear Firefox."""

    async def scenario() -> None:
        with CohortServer(web_root=WEB_ROOT) as server:
            async with firefox_ready() as browser:
                peers = {n: AiortcParticipant(n, hz, slots=2, video_format=SMALL_VIDEO) for n, hz in (("ann", 550.0), ("ben", 770.0))}
                try:
                    fox = await open_client(browser, server, "Fox")
                    for n, p in peers.items():
                        await p.join_cohort(server.ws_url, server.token(n), n)
                    pid = {n: p.joined["participantId"] for n, p in peers.items()}
                    pid["fox"] = await fox.evaluate("cohort.state.participantId")
                    await wait_slots(fox, [(pid[n], "microphone") for n in peers], "Firefox is sent both")

                    await fox.evaluate("cohort.request({type: 'audio-mode', mode: 'mix'}).then(() => true)")
                    await fox.wait_for("""(() => { const s = Object.values(cohort.state.slots);
                        return s.some((v) => v.track === 'mix') && !s.some((v) => v.track === 'microphone'); })()""",
                                       "Firefox's slot map has the mix and no forwarded microphone", 10, PAGE_STATE)
                    mix = (await mids_by_source(fox))[("mix", "mix")]
                    deadline = time.monotonic() + 10
                    while True:
                        got = await heard(fox, await audio_mids(fox), 1.0)
                        if got == {m: ({550.0, 770.0} if m == mix else set()) for m in got}:
                            break
                        assert time.monotonic() < deadline, ("Firefox's mix should hold Ann and Ben", got, mix)
                    for p in peers.values():
                        await p.wait_until(lambda p=p: aiortc_hears(p, pid["fox"]) == {FOX_HZ}, 10, candidates=CANDIDATES)
                    assert fox.exceptions == [], fox.exceptions
                finally:
                    for p in peers.values():
                        await p.close()

    run(scenario(), timeout=90)


# Set at the click: the time at which every other participant's camera in
# the slot map has its first decoded frame (receiver getStats, every 20 ms).
SEEN_ALL_PROBE = """(() => {
  window.seenAll = null;
  const tick = async () => {
    const pc = window.cohort && cohort.state.pc;
    const others = %d;
    if (pc && pc.connectionState !== "closed") {
      const cameras = Object.entries(cohort.state.slots).filter(([, v]) => v.track === "camera");
      let seen = 0;
      for (const t of pc.getTransceivers()) {
        if (!cameras.some(([mid]) => mid === t.mid)) continue;
        (await t.receiver.getStats()).forEach((s) => { if (s.type === "inbound-rtp" && s.framesDecoded > 0) seen += 1; });
      }
      if (seen >= others) { window.seenAll = performance.now(); return; }
    }
    setTimeout(tick, 20);
  };
  tick();
  return true;
})()"""

JOINS = 10


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def test_join_to_seeing_everyone_in_firefox_and_chromium() -> None:
    """Two aiortc participants (camera and tone) are in the call; each
    browser joins JOINS times through the web client (a fresh page and
    token each time, Leave after).  Timed: the click on Join to the first
    decoded frame of both cameras."""

    async def scenario() -> None:
        with CohortServer(web_root=WEB_ROOT) as server:
            peers = [AiortcParticipant(n, hz, slots=2, video_format=SMALL_VIDEO) for n, hz in (("ann", 550.0), ("ben", 770.0))]
            try:
                for p in peers:
                    await p.join_cohort(server.ws_url, server.token(p.name), p.name)
                figures: dict[str, list[float]] = {}
                async with firefox_ready() as fox, Chromium() as chrome:
                    for kind, browser in (("firefox", fox), ("chromium", chrome)):
                        page = await browser.new_page()
                        times = figures[kind] = []
                        for i in range(JOINS):
                            # A new query each time: a change of fragment alone would not load the page again.
                            await page.navigate(f"{server.base_url}?join={i}#token={server.token(f'{kind} {i}')}")
                            await page.evaluate(SEEN_ALL_PROBE % len(peers))
                            await page.evaluate("document.getElementById('join').click(), true")
                            await page.wait_for("window.seenAll", f"{kind} join {i} sees both cameras", 20, PAGE_STATE, interval=0.05)
                            times.append(await page.evaluate("(window.seenAll - cohort.state.timing.joinClicked) / 1000"))
                            await page.evaluate("cohort.leave().then(() => true)")
                for kind, times in figures.items():
                    print(f"\n{kind}: Join → first frame of every other camera over {len(times)} joins: "
                          f"p50 {statistics.median(times):.2f} s, p95 {percentile(times, 0.95):.2f} s, "
                          f"all {[round(t, 2) for t in times]}")
                    assert percentile(times, 0.95) < 5, (kind, times)
            finally:
                for p in peers:
                    await p.close()

    run(scenario(), timeout=240)
