"""A video slot that changes source never shows the previous person.

Issue 11 item 5, checked by picture content in the server's own web client
in headless Chromium.  Ann (aiortc) sends solid red frames, Ben (aiortc)
solid blue, both 160x120 at 15 fps; a host (aiortc, solid green at 5 fps)
runs the rooms.  Ben starts in breakout room "Side room", Ann in the main
room with two Chromium subscribers: Sam (Chromium's default jitter buffer)
and Sue (`jitterBufferTarget` 300 ms on every video receiver, as on a
jittery network; the test waits until her playout delay has grown to it),
so that several of the previous source's frames are still queued when the
slot switches.

1. The host moves Ann to the side room and Ben into the main room (two
   `move` commands, back to back).  Ben takes the slot Ann left (the server
   fills the first free slot), so one tile goes from Ann to Ben.
2. Ben leaves the session; the host moves Ann back.  The same tile goes
   from Ben to Ann.

Inside each page a probe samples every shown tile every 10 ms (and at every
`slots` message, right after the client has rendered it): it draws the
video into an 8x6 canvas and classifies the mean colour as red, blue or
other, and records the time, the tile's participant and label, whether it
is hidden or `waiting`, and the video's computed opacity.  A second
`requestVideoFrameCallback` loop per tile records every presented frame
with its colour, `rtpTimestamp` and playout delay.

Checked in both pages, for both switches: from the `slots` message that
names the new person in that mid, no sample taken while the tile is on
screen (not hidden, opacity > 0) shows the previous person's colour; the
new person's colour is on screen within 3 s; a tile on screen carries the
new person's name.  For the room left (step 1) and the person who left
(step 2): from the first `slots` message without them, no tile on screen
shows their colour.  The map naming the new person carries `after`, and
where Chromium reports `rtpTimestamp`, every frame of the previous person's
colour presented after the switch is not newer than `after` and every frame
of the new person's colour is newer (the server's promise, docs/PROTOCOL.md
`slots`).  Printed: first command → slot map naming the new person, time
the tile stayed dark (`waiting`), slot map → new colour on screen, and how
many of the previous person's frames Chromium presented after the switch
(all of them must have been kept dark).
"""

from __future__ import annotations

import asyncio
import time

from chromium import Chromium, Page
from cohort_server import WEB_ROOT, CohortServer
from conftest import run
from peer import AiortcParticipant

NAMES = {"host": "Dr Host", "ann": "Ann Red", "ben": "Ben Blue", "sam": "Sam Plain", "sue": "Sue Buffered"}
RED, BLUE, GREEN = (255, 0, 0), (0, 0, 255), (0, 160, 0)
COLOUR_OF = {"ann": "red", "ben": "blue"}
SUE_JITTER_BUFFER_MS = 300
NEW_SOURCE_BOUND_S = 3.0
HOLD_S = 1.2  # samples kept after the new person shows, per switch

# window.slotWatch: samples of the watched tiles, presented frames, slot maps.
PROBE = """
(() => {
  const W = window.slotWatch = { samples: [], frames: [], maps: [], metaKeys: null, watch: new Set() };
  const canvas = document.createElement("canvas");
  canvas.width = 8; canvas.height = 6;
  const g = canvas.getContext("2d", { willReadFrequently: true });
  const classify = (video) => {
    if (video.readyState < 2 || !video.videoWidth) return "none";
    g.drawImage(video, 0, 0, 8, 6);
    const d = g.getImageData(0, 0, 8, 6).data;
    let r = 0, gr = 0, b = 0;
    for (let i = 0; i < d.length; i += 4) { r += d[i]; gr += d[i + 1]; b += d[i + 2]; }
    const n = d.length / 4; r /= n; gr /= n; b /= n;
    if (r > 150 && gr < 90 && b < 90) return "red";
    if (b > 150 && r < 90 && gr < 90) return "blue";
    return "other";
  };
  W.look = (tile, why) => {
    const v = tile.querySelector("video");
    const opacity = Number(getComputedStyle(v).opacity);
    return { t: performance.now(), mid: tile.dataset.mid, who: tile.dataset.participant || "",
             label: tile.querySelector(".label").textContent, waiting: tile.classList.contains("waiting"),
             hidden: tile.hidden, opacity, onScreen: !tile.hidden && opacity > 0.05, colour: classify(v), why };
  };
  const sampleAll = (why) => {
    for (const tile of cohort.state.tiles.values())
      if (!tile.hidden || W.watch.has(tile.dataset.mid)) W.samples.push(W.look(tile, why));
  };
  W.timer = setInterval(() => sampleAll("tick"), 10);
  // Registered after the client's own onmessage, so it runs once render() has.
  cohort.state.ws.addEventListener("message", (e) => {
    let m;
    try { m = JSON.parse(e.data); } catch { return; }
    if (m.type !== "slots") return;
    W.maps.push({ t: performance.now(), version: m.version, map: m.map });
    sampleAll("map");
  });
  for (const tile of cohort.state.tiles.values()) {
    const v = tile.querySelector("video");
    const onFrame = (_now, meta) => {
      if (W.metaKeys === null) W.metaKeys = Object.keys(meta).concat(Object.keys(Object.getPrototypeOf(meta) || {}));
      W.frames.push({ t: performance.now(), mid: tile.dataset.mid, who: tile.dataset.participant || "",
                      rtp: typeof meta.rtpTimestamp === "number" ? meta.rtpTimestamp : null,
                      delay: typeof meta.receiveTime === "number" ? meta.presentationTime - meta.receiveTime : null,
                      waiting: tile.classList.contains("waiting"), colour: classify(v) });
      v.requestVideoFrameCallback(onFrame);
    };
    v.requestVideoFrameCallback(onFrame);
  }
  return true;
})()
"""

JITTER_BUFFER = f"""
(() => {{
  const video = cohort.state.pc.getReceivers().filter((r) => r.track.kind === "video");
  if (!("jitterBufferTarget" in RTCRtpReceiver.prototype)) return null;
  for (const r of video) r.jitterBufferTarget = {SUE_JITTER_BUFFER_MS};
  return video.map((r) => r.jitterBufferTarget);
}})()
"""


def ms(value: float | None) -> str:
    return "never" if value is None else f"{value:5.0f}"


def is_newer(a: int, b: int) -> bool:
    """RFC 1982 serial order of 32-bit RTP timestamps: is ``a`` after ``b``?"""
    d = (a - b) % (1 << 32)
    return d != 0 and d < (1 << 31)


PAGE_STATE = ("({status: document.getElementById('status').textContent, message: document.getElementById('message').textContent,"
              " slots: window.cohort && cohort.state.slots,"
              " tiles: window.slotWatch ? [...cohort.state.tiles.values()].filter((t) => !t.hidden).map((t) => slotWatch.look(t, 'now')) : null})")


async def wait_page(page: Page, js: str, what: str, timeout: float) -> object:
    """Polls ``js`` every 20 ms until truthy; AssertionError with the page's state otherwise."""
    return await page.wait_for(js, what, timeout, PAGE_STATE, interval=0.02)


def shows(mid: str, who: str, colour: str) -> str:
    """JS: the tile of ``mid`` is on screen, names ``who`` and shows ``colour``."""
    return (f"(() => {{ const t = cohort.state.tiles.get({mid!r}); if (!t) return false; const s = slotWatch.look(t, 'poll');"
            f" return s.onScreen && s.who === {who!r} && s.colour === {colour!r}; }})()")


def applied_maps(maps: list[dict]) -> list[dict]:
    """The pushes the client applied: only versions newer than any before."""
    out, version = [], -1
    for m in sorted(maps, key=lambda m: m["t"]):
        if m["version"] > version:
            version = m["version"]
            out.append(m)
    return out


def analyse(watch: dict, *, mid: str, since: float, old: str, new: str, pid: dict, other_page: str) -> dict:
    """One switch of ``mid`` from ``old`` to ``new`` as one page saw it (page clock, ms).

    Returns the figures and a list of violations."""
    maps = [m for m in applied_maps(watch["maps"]) if m["t"] >= since]
    gone = next((m for m in maps if all(v.get("participantId") != pid[old] for v in m["map"].values())), None)
    came = next((m for m in maps if any(v.get("participantId") == pid[new] for v in m["map"].values())), None)
    problems: list[str] = []
    if gone is None or came is None:
        return {"problems": [f"no slot map without {old} ({gone}) or with {new} ({came}) after the command: {maps}"]}
    entry = came["map"].get(mid, {})
    if entry.get("participantId") != pid[new]:
        return {"problems": [f"{new} did not take {old}'s slot {mid}: {came['map']}"]}
    after = entry.get("after")
    if after is None:
        problems.append(f"the map naming {new} in {old}'s former slot has no `after`: {entry}")
    t_in, t_out = came["t"], gone["t"]
    old_colour, new_colour = COLOUR_OF[old], COLOUR_OF[new]

    # The tile of the switched slot, from the map that names the new person.
    tile = [s for s in watch["samples"] if s["mid"] == mid and s["t"] >= t_in and s["who"] == pid[new]]
    stale = [s for s in tile if s["onScreen"] and s["colour"] == old_colour]
    if stale:
        problems.append(f"{len(stale)} samples show {old}'s {old_colour} on screen under {new}'s name, "
                        f"first {stale[0]['t'] - t_in:.0f} ms after the switch: {stale[:3]}")
    mislabelled = [s for s in tile if s["onScreen"] and s["label"] != NAMES[new]]
    if mislabelled:
        problems.append(f"tile on screen without {new}'s name: {mislabelled[:3]}")
    visible_new = next((s for s in tile if s["onScreen"] and s["colour"] == new_colour), None)
    opened = next((s for s in tile if not s["waiting"]), None)
    if visible_new is None or visible_new["t"] - t_in > NEW_SOURCE_BOUND_S * 1000:
        problems.append(f"{new}'s {new_colour} not on screen within {NEW_SOURCE_BOUND_S} s of the switch: "
                        f"{visible_new and visible_new['t'] - t_in} ms; last samples {tile[-3:]}")
    # What a person saw between opening and the new colour (black frames, say).
    between = [s for s in tile if s["onScreen"] and visible_new and s["t"] < visible_new["t"]]

    # The room (or session) the old person left: nobody shows them any more.
    left = [s for s in watch["samples"] if s["t"] >= t_out and s["who"] != pid[other_page]
            and s["onScreen"] and s["colour"] == old_colour]
    if left:
        problems.append(f"{old}'s {old_colour} on screen after the map without {old}: {left[:3]}")

    # Presented frames after the switch, against the server's `after`.
    frames = [f for f in watch["frames"] if f["mid"] == mid and f["t"] >= t_in]
    old_frames = [f for f in frames if f["colour"] == old_colour]
    rtp_reported = any(f["rtp"] is not None for f in watch["frames"])
    if rtp_reported and after is not None:
        wrong_old = [f for f in old_frames if f["rtp"] is not None and is_newer(f["rtp"], after)]
        wrong_new = [f for f in frames if f["colour"] == new_colour and f["rtp"] is not None and not is_newer(f["rtp"], after)]
        if wrong_old or wrong_new:
            problems.append(f"`after` {after} does not separate the sources: {old} frames newer {wrong_old[:3]}, "
                            f"{new} frames not newer {wrong_new[:3]}")
    return {
        "map_after_out_ms": t_in - t_out,
        "after": after,
        "waiting_ms": opened["t"] - t_in if opened else None,
        "visible_ms": visible_new["t"] - t_in if visible_new else None,
        "old_frames_after_switch": len(old_frames),
        "old_frames_on_screen": sum(1 for f in old_frames if not f["waiting"]),
        "on_screen_before_colour": sorted({s["colour"] for s in between}),
        "samples": len(tile),
        "rtp_reported": rtp_reported,
        "t_in": t_in,
        "problems": problems,
    }


def test_switched_slot_never_shows_the_previous_person() -> None:
    async def scenario() -> None:
        with CohortServer(web_root=WEB_ROOT) as server:
            host = AiortcParticipant("host", 1130.0, slots=1, video_slots=0, video_format=(160, 120, 5), video_colour=GREEN)
            ann = AiortcParticipant("ann", 550.0, slots=1, video_slots=0, video_format=(160, 120, 15), video_colour=RED)
            ben = AiortcParticipant("ben", 770.0, slots=1, video_slots=0, video_format=(160, 120, 15), video_colour=BLUE)
            try:
                # Joining order decides slot order: host, Ann, Ben.
                await host.join_cohort(server.ws_url, server.token(NAMES["host"], role="host"), NAMES["host"])
                await ann.join_cohort(server.ws_url, server.token(NAMES["ann"]), NAMES["ann"])
                await ben.join_cohort(server.ws_url, server.token(NAMES["ben"]), NAMES["ben"])
                pid = {n: p.joined["participantId"] for n, p in (("host", host), ("ann", ann), ("ben", ben))}
                hs = host.signalling
                await hs.request({"type": "create-rooms", "names": ["Side room"]})
                await hs.request({"type": "assign", "assignments": {pid["ben"]: "r1"}})
                await hs.request({"type": "open-rooms"})

                async with Chromium() as browser_sam, Chromium() as browser_sue:
                    pages: dict[str, Page] = {}
                    for name, browser in (("sam", browser_sam), ("sue", browser_sue)):
                        pages[name] = await browser.new_page(f"{server.base_url}?token={server.token(NAMES[name])}")
                    await asyncio.gather(*(p.evaluate("document.getElementById('join').click(), true") for p in pages.values()))
                    for name, page in pages.items():
                        pid[name] = await wait_page(page, "cohort.state.joined && cohort.state.participantId", f"{name} joined", 15)
                    jitter = await pages["sue"].evaluate(JITTER_BUFFER)
                    print(f"\nSue's video receivers: jitterBufferTarget {jitter and jitter[0]} ms "
                          f"({'supported' if jitter is not None else 'not supported'})")
                    other = {"sam": "sue", "sue": "sam"}

                    # --- Ann on screen (red) in the main room; Ben (side room) nowhere
                    mids = {}
                    for name, page in pages.items():
                        await page.evaluate(PROBE)
                        mids[name] = await wait_page(page, f"""Object.entries(cohort.state.slots).filter(
                            ([m, v]) => v.participantId === {pid['ann']!r} && v.track === "camera").map(([m]) => m)[0]""",
                                                     f"{name}'s slot map names Ann's camera", 10)
                        await page.evaluate(f"slotWatch.watch.add({mids[name]!r}), true")
                        await wait_page(page, shows(mids[name], pid["ann"], "red"), f"{name} shows Ann in red", 15)
                        slots = await page.evaluate("cohort.state.slots")
                        assert all(v.get("participantId") != pid["ben"] for v in slots.values()), (name, "sees Ben in another room", slots)

                    # Chromium moves its playout delay towards the target slowly (about
                    # 100 ms per second of video), so wait until Sue's is there: then
                    # several of Ann's frames are still queued when her slot switches.
                    if jitter is not None:
                        delay = await wait_page(pages["sue"], f"""(() => {{
                            const f = slotWatch.frames.filter((f) => f.mid === {mids['sue']!r} && f.delay !== null).slice(-3);
                            return f.length === 3 && f.every((f) => f.delay > {SUE_JITTER_BUFFER_MS - 60}) && f[2].delay; }})()""",
                                                f"Sue's playout delay reaches {SUE_JITTER_BUFFER_MS} ms", 10)
                        print(f"Sue's playout delay before the switch: {delay:.0f} ms")

                    # --- 1: Ann moves to the side room, Ben comes in and takes her slot
                    since = {n: await p.evaluate("performance.now()") for n, p in pages.items()}
                    await hs.request({"type": "move", "participantId": pid["ann"], "room": "r1"})
                    await hs.request({"type": "move", "participantId": pid["ben"], "room": "main"})
                    for name, page in pages.items():
                        await wait_page(page, shows(mids[name], pid["ben"], "blue"), f"{name} shows Ben in Ann's former tile", 5)
                    await asyncio.sleep(HOLD_S)
                    first = {n: await p.evaluate("({samples: slotWatch.samples.splice(0), frames: slotWatch.frames.splice(0),"
                                                 " maps: slotWatch.maps.slice(), metaKeys: slotWatch.metaKeys})")
                             for n, p in pages.items()}

                    # --- 2: Ben leaves the session; the host brings Ann back into that slot
                    since2 = {n: await p.evaluate("performance.now()") for n, p in pages.items()}
                    await ben.signalling.leave()
                    for name, page in pages.items():
                        await wait_page(page, f"Object.values(cohort.state.slots).every((v) => v.participantId !== {pid['ben']!r})",
                                        f"{name}'s slot map drops Ben after he left", 5)
                    await hs.request({"type": "move", "participantId": pid["ann"], "room": "main"})
                    for name, page in pages.items():
                        await wait_page(page, shows(mids[name], pid["ann"], "red"), f"{name} shows Ann back in her tile", 5)
                    await asyncio.sleep(HOLD_S)
                    second = {n: await p.evaluate("({samples: slotWatch.samples.splice(0), frames: slotWatch.frames.splice(0),"
                                                  " maps: slotWatch.maps.slice()})")
                              for n, p in pages.items()}
                    for name, page in pages.items():
                        assert page.exceptions == [], (name, page.exceptions)

                # --- judge
                problems = []
                rtp = False
                print("per page and switch (ms, page clock): first command → slot map naming the new person, "
                      "dark (waiting) from that map, that map → new colour on screen")
                for label, data, starts, old, new in (("Ann moved out, Ben in", first, since, "ann", "ben"),
                                                      ("Ben left, Ann back", second, since2, "ben", "ann")):
                    for name in pages:
                        r = analyse(data[name], mid=mids[name], since=starts[name], old=old, new=new, pid=pid, other_page=other[name])
                        problems += [f"{label}, {name}: {p}" for p in r["problems"]]
                        if "t_in" not in r:
                            continue
                        rtp = rtp or r["rtp_reported"]
                        print(f"  {label:22s} {name}: map {ms(r['t_in'] - starts[name])}, dark {ms(r['waiting_ms'])}, "
                              f"{COLOUR_OF[new]} {ms(r['visible_ms'])}; {old}'s frames presented after the switch "
                              f"{r['old_frames_after_switch']} (on screen {r['old_frames_on_screen']}); "
                              f"on screen before {COLOUR_OF[new]}: {r['on_screen_before_colour'] or 'nothing'}; "
                              f"after={r['after']}; {r['samples']} samples")
                print(f"requestVideoFrameCallback metadata: {first['sam']['metaKeys']}; "
                      f"rtpTimestamp reported: {'yes' if rtp else 'NO (the client opens on the first frame after the switch)'}")
                assert not problems, "\n".join(problems)
            finally:
                for p in (ben, ann, host):
                    await p.close()

    run(scenario(), timeout=60)
