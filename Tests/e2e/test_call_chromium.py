"""A call through Cohort with the server's own web client in Chromium.

Two headless Chromium participants open `http://127.0.0.1:PORT/?token=…`
and click Join; one aiortc participant joins over the WebSocket.  All three
start together.  Ann's browser sends Chromium's fake microphone (a 400 Hz
beep); Bea's page has `&testTone=550`, so its microphone is a 550 Hz sine;
Cal (aiortc) sends 770 Hz and colour bars.

Checked: each browser decodes video from both others and receives, plays
and hears their audio in the slots the slot map names; Cal hears both
browsers in their slots and decodes both; the tiles are labelled with the
right names and an emptied slot is hidden; stale slot maps are ignored and
roster changes relabel tiles.  Printed: time from click (browsers) or
WebSocket open to the first decoded frame of every peer.
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

ANN_HZ = CHROMIUM_FAKE_AUDIO_HZ  # fake microphone beep
BEA_HZ = 550.0
CAL_HZ = 770.0
CANDIDATES = [ANN_HZ, BEA_HZ, CAL_HZ]
NAMES = {"ann": "Ann Browser", "bea": "Bea Browser", "cal": "Cal Aiortc"}

# Records, per receiving mid, when getStats first shows media: the first
# audio packet and, for video, the first decoded frame (performance.now()).
FIRST_MEDIA_PROBE = """
(() => {
  const marks = window.firstMedia = {};
  const tick = async () => {
    const pc = window.cohort && cohort.state.pc;
    if (pc && pc.connectionState !== "closed") {
      const report = await pc.getStats();
      const now = performance.now();
      report.forEach((s) => {
        if (s.type !== "inbound-rtp" || s.mid == null) return;
        const m = marks[s.mid] || (marks[s.mid] = { kind: s.kind });
        if (m.packet == null && s.packetsReceived > 0) m.packet = now;
        if (m.frame == null && (s.kind === "video" ? s.framesDecoded > 0 : s.totalSamplesReceived > 0)) m.frame = now;
      });
    }
    if (!window.firstMediaStop) setTimeout(tick, 20);
  };
  tick();
  return true;
})()
"""

# The visible tiles: [{mid, participant, label}].
TILES = """
[...document.querySelectorAll("#grid .tile:not(.self)")].filter((t) => !t.hidden)
  .map((t) => ({ mid: t.dataset.mid, participant: t.dataset.participant, label: t.querySelector(".label").textContent }))
"""


async def open_client(browser: Chromium, server: CohortServer, name: str, extra: str = "", fragment: bool = False) -> Page:
    """The web client from a session link: `/#token=…` (what the server prints)
    or the older `/?token=…`; either way the token leaves the address bar."""
    token = server.token(NAMES[name])
    url = f"{server.base_url}?{extra.lstrip('&')}#token={token}" if fragment else f"{server.base_url}?token={token}{extra}"
    page = await browser.new_page(url)
    assert await page.evaluate("document.getElementById('name').value") == NAMES[name], "name not prefilled from the token"
    href = await page.evaluate("location.href")
    assert "token" not in href and token not in href, f"the token stayed in the address bar: {href}"
    await page.evaluate(FIRST_MEDIA_PROBE)
    return page


async def click_join(page: Page) -> None:
    await page.evaluate("document.getElementById('join').click(), true")


PAGE_STATE = ("({status: document.getElementById('status').textContent, message: document.getElementById('message').textContent,"
              " slots: window.cohort && cohort.state.slots, roster: window.cohort && cohort.state.roster})")


async def wait_page(page: Page, js: str, what: str, timeout: float, interval: float = 0.1):
    """Polls ``js`` until truthy; AssertionError with the page's state otherwise."""
    return await page.wait_for(js, what, timeout, PAGE_STATE, interval)


async def slot_mids(page: Page) -> dict[tuple[str, str], str]:
    """(participantId, track) → mid, from the page's current slot map."""
    slots = await page.evaluate("cohort.state.slots")
    return {(v["participantId"], v["track"]): mid for mid, v in slots.items()}


async def inbound(page: Page) -> dict[str, dict]:
    stats = await page.get_stats_summary("cohort.state.pc")
    return {s["mid"]: s for s in stats["inbound"]}


async def capture_tones(page: Page, mid: str) -> set[float]:
    """Tones in 1.5 s of the audio received on ``mid`` (through WebAudio)."""
    await page.evaluate(
        "cohort.state.pc.getTransceivers().forEach((t) => { if (t.mid) cohortTest.remote[t.mid] = t.receiver.track; }), true")
    capture = await page.evaluate(f"cohortTest.captureAudio({mid!r}, 1.5)", timeout=10)
    return present_tones(np.asarray(capture["samples"], dtype=np.float32), capture["rate"], CANDIDATES, window_s=None)


def test_two_chromium_clients_and_one_aiortc_participant() -> None:
    async def scenario() -> None:
        with CohortServer(web_root=WEB_ROOT) as server:
            async with Chromium() as browser_a, Chromium() as browser_b:
                pages = {"ann": await open_client(browser_a, server, "ann"),
                         "bea": await open_client(browser_b, server, "bea", f"&testTone={BEA_HZ:g}", fragment=True)}
                cal = AiortcParticipant("cal", CAL_HZ)
                try:
                    # Everyone starts together.
                    started = time.monotonic()
                    await asyncio.gather(click_join(pages["ann"]), click_join(pages["bea"]),
                                         cal.join_cohort(server.ws_url, server.token(NAMES["cal"]), NAMES["cal"]))
                    pid = {"cal": cal.joined["participantId"]}
                    for name, page in pages.items():
                        pid[name] = await wait_page(page, "cohort.state.joined && cohort.state.participantId", f"{name} joined", 15)
                    others = {me: [o for o in pid if o != me] for me in pid}

                    # --- each browser: video and audio from both others, in their slots
                    for name, page in pages.items():
                        wanted = [pid[o] for o in others[name]]
                        await wait_page(page, f"""(() => {{
                            const s = cohort.state.slots, want = {wanted!r};
                            return want.every((p) => ["camera", "microphone"].every((t) =>
                              Object.values(s).some((v) => v.participantId === p && v.track === t)));
                          }})()""", f"{name}'s slot map names both others", 15)
                        mids = await slot_mids(page)
                        deadline = time.monotonic() + 20
                        while True:
                            stats = await inbound(page)
                            video = {o: stats.get(mids[(pid[o], "camera")], {}).get("framesDecoded") or 0 for o in others[name]}
                            if all(v >= 10 for v in video.values()):
                                break
                            assert time.monotonic() < deadline, f"{name} decoded too little video: {video}\n{stats}"
                            await asyncio.sleep(0.2)
                        # Audio keeps arriving, and the client plays every audio
                        # slot, so Chromium decodes it and counts its energy.
                        first = {o: stats[mids[(pid[o], "microphone")]] for o in others[name]}
                        deadline = time.monotonic() + 8
                        while True:
                            await asyncio.sleep(0.5)
                            stats = await inbound(page)
                            grown = {}
                            for o in others[name]:
                                a0, a1 = first[o], stats[mids[(pid[o], "microphone")]]
                                grown[o] = (a1["packetsReceived"] >= a0["packetsReceived"] + 25
                                            and (a1["totalAudioEnergy"] or 0) > (a0["totalAudioEnergy"] or 0)
                                            and (a1["totalSamplesReceived"] or 0) >= (a0["totalSamplesReceived"] or 0) + 48_000 // 2)
                            if all(grown.values()):
                                break
                            assert time.monotonic() < deadline, (
                                f"{name}: audio not flowing or not played: " + "; ".join(
                                    f"{o}: {first[o]} → {stats[mids[(pid[o], 'microphone')]]}" for o in others[name] if not grown[o]))

                    # --- cal (aiortc): both browsers' audio in their slots, and their video
                    def cal_ok() -> bool:
                        state = cal.signalling.state
                        for o in ("ann", "bea"):
                            audio, video = state.mids_of(pid[o], "audio"), state.mids_of(pid[o], "video")
                            if len(audio) != 1 or len(video) != 1 or cal.video_frames_by_mid().get(video[0], 0) < 10:
                                return False
                        heard_ann = cal.heard_tones(CANDIDATES, state.mids_of(pid["ann"], "audio")[0])
                        heard_bea = cal.heard_tones(CANDIDATES, state.mids_of(pid["bea"], "audio")[0])
                        return ANN_HZ in heard_ann and BEA_HZ not in heard_ann and heard_bea == {BEA_HZ}

                    await cal.wait_until(cal_ok, timeout=20, candidates=CANDIDATES)
                    assert CAL_HZ not in cal.all_heard_tones(CANDIDATES), "cal hears its own tone"

                    # --- the browsers hear the right tone in each slot
                    heard = {}
                    for name, page in pages.items():
                        mids = await slot_mids(page)
                        heard[name] = {o: await capture_tones(page, mids[(pid[o], "microphone")]) for o in others[name]}
                    assert BEA_HZ in heard["ann"]["bea"] and CAL_HZ not in heard["ann"]["bea"], heard
                    assert heard["ann"]["cal"] == {CAL_HZ}, heard
                    assert heard["bea"]["cal"] == {CAL_HZ}, heard
                    assert ANN_HZ in heard["bea"]["ann"] and BEA_HZ not in heard["bea"]["ann"], heard

                    # --- tiles: one per other participant, labelled with their name
                    for name, page in pages.items():
                        tiles = await page.evaluate(TILES)
                        mids = await slot_mids(page)
                        expected = sorted((mids[(pid[o], "camera")], pid[o], NAMES[o]) for o in others[name])
                        assert sorted((t["mid"], t["participant"], t["label"]) for t in tiles) == expected, (name, tiles)
                        roster = await page.evaluate("[...document.querySelectorAll('#roster li')].map((li) => li.textContent)")
                        assert sorted(roster) == sorted([NAMES[n] + (" (you)" if n == name else "") for n in pid]), roster

                    # --- join → first decoded frame of every peer
                    times = {}
                    for name, page in pages.items():
                        marks = await page.evaluate("({t: cohort.state.timing, m: window.firstMedia})")
                        mids = await slot_mids(page)
                        t = marks["t"]
                        row = {}
                        for o in others[name]:
                            video = marks["m"][mids[(pid[o], "camera")]]
                            audio = marks["m"][mids[(pid[o], "microphone")]]
                            row[o] = {"video_from_click": (video["frame"] - t["joinClicked"]) / 1000,
                                      "video_from_ws_open": (video["frame"] - t["wsOpen"]) / 1000,
                                      "audio_from_ws_open": (audio["packet"] - t["wsOpen"]) / 1000}
                        times[name] = row
                    row = {}
                    for o in ("ann", "bea"):
                        [v] = cal.signalling.state.mids_of(pid[o], "video")
                        [a] = cal.signalling.state.mids_of(pid[o], "audio")
                        row[o] = {"video_from_start": cal.recorders[v].first_frame_at - started,
                                  "video_from_ws_open": cal.recorders[v].first_frame_at - cal.signalling.opened_at,
                                  "audio_from_ws_open": cal.recorders[a].first_frame_at - cal.signalling.opened_at}
                    times["cal"] = row
                    print("\nfirst decoded frame of each peer (s):")
                    for name, row in times.items():
                        kind = "chromium" if name in pages else "aiortc"
                        print(f"  {name} ({kind}): " + "; ".join(
                            f"{o}: " + ", ".join(f"{k} {v:.2f}" for k, v in r.items()) for o, r in row.items()))
                        for o, r in row.items():
                            assert r["video_from_ws_open"] < 10, f"{name}: first frame of {o} took {r}"

                    # --- client logic: a stale slot map is ignored, a roster change relabels
                    ann = pages["ann"]
                    version = await ann.evaluate("cohort.state.slotsVersion")
                    await ann.evaluate(f"cohort.onMessage({{type: 'slots', map: {{}}, version: {version}}}), true")
                    assert len(await ann.evaluate(TILES)) == 2, "a stale slot map (same version) was applied"
                    await ann.evaluate("""cohort.onMessage({type: "roster", participants: cohort.state.roster.map(
                        (p) => p.participantId === %r ? {...p, name: "Cal Renamed"} : p)}), true""" % pid["cal"])
                    labels = {t["participant"]: t["label"] for t in await ann.evaluate(TILES)}
                    assert labels == {pid["bea"]: NAMES["bea"], pid["cal"]: "Cal Renamed"}, labels

                    # --- cal leaves: its tiles disappear, the roster drops it
                    await cal.signalling.leave()
                    for name, page in pages.items():
                        browser_peer = pid["bea" if name == "ann" else "ann"]
                        await wait_page(page, f"(() => {{ const t = {TILES}; return t.length === 1 && t[0].participant === {browser_peer!r}; }})()",
                                        f"{name} hides cal's tile after leave", 5)
                        await wait_page(page, "document.querySelectorAll('#roster li').length === 2", f"{name}'s roster drops cal", 5)
                    for name, page in pages.items():
                        assert page.exceptions == [], (name, page.exceptions)
                finally:
                    await cal.close()

    run(scenario(), timeout=120)
