"""The client library (`Sources/ControlPlane/Web/cohort-client.js`) in
headless Chromium against a real server.

Each page opens the server's `/healthz` (a same-origin document with no
script of its own) and imports the module with `import('/cohort-client.js')`,
as an app would; `window.libTest` records every event the client emits.

Routing by content: Ann (host) and Bea join through the library from two
Chromium processes, each sending a WebAudio sine (550 and 660 Hz) and
Chromium's fake camera; Cal (aiortc) sends 770 Hz and solid red video.  In
each page, the slot the library attributes to a person (`routesFor(id,
"microphone")`, its `track`) is recorded through WebAudio and must hold
exactly that person's tone; the camera slot it attributes to Cal must show
red and Bea's (or Ann's) must not; every inbound-rtp statistic's SSRC maps
back to its own mid through `routeBySsrc`; the last `track` event of every
slot agrees with `routes()`.

Then: a `slots` map with the held version or an older one changes nothing
and emits nothing; a participant's host command rejects with a CohortError
whose `code` is `forbidden` while `hand` resolves with `ok` (and Ann's
`session` shows the hand); the host's `create-rooms` resolves, a duplicate
rejects with `duplicate-room-name`; a roster naming one's own room
"waiting" sets `room` to it (rooms are opaque).  Leaving: the host removes
Bea (Bea's client emits `left` with reason `removed` and is no longer
joined; Ann's slot map drops Bea, with a `track` event per emptied slot),
Cal leaves (Ann's map drops Cal), and Ann's `leave()` resolves with the
client closed and no `close` event.

A second test evaluates the pure logic in a page: the version rules for
`slots` and `session`, RFC 1982 order against a reference, the
keep-dark check, the answer's SSRCs, and a join with `?session=` for
another session, which rejects with `unauthorized` and closes the client.
"""

from __future__ import annotations

import asyncio
import json
import random
import time

import numpy as np
from chromium import Chromium, Page
from cohort_server import WEB_ROOT, CohortServer
from conftest import run
from peer import AiortcParticipant
from tones import present_tones

TONES = {"ann": 550.0, "bea": 660.0, "cal": 770.0}
CANDIDATES = sorted(TONES.values())
CAL_RED = (230, 20, 20)

# Imports the library and defines window.libTest: the client, every event it
# emitted (summarised), and helpers the test calls.
SETUP = """
(async () => {
  const L = window.L = await import('/cohort-client.js');
  const W = window.libTest = { client: null, events: [] };
  const summary = (type, d) => {
    switch (type) {
      case 'track': return { mid: d.route.mid, kind: d.route.kind, source: d.route.source, previous: d.previous };
      case 'slots': return { version: d.version, changed: d.changed, map: d.map };
      case 'roster': return { ids: d.participants.map((p) => p.participantId) };
      case 'session': return { version: d.version, handsRaised: d.handsRaised, rooms: (d.rooms || []).map((r) => r.id) };
      case 'left': return { reason: d.reason };
      case 'error': return { code: d.code };
      case 'close': return { code: d.code, joined: d.joined };
      case 'joined': return { participantId: d.participantId, room: d.room };
      default: return {};
    }
  };
  W.watch = (c) => {
    for (const type of ['open', 'joined', 'track', 'slots', 'roster', 'session', 'speaking', 'left', 'error', 'close'])
      c.addEventListener(type, (e) => W.events.push({ type, t: performance.now(), ...summary(type, e.detail) }));
    return c;
  };
  W.join = async (token, hz) => {
    await cohortTest.getMedia({ toneHz: hz });
    const c = W.client = W.watch(new L.CohortClient({ session: 'e2e' }));
    const local = cohortTest.local;
    const joined = await c.join({ token, audio: local.getAudioTracks()[0], video: local.getVideoTracks()[0], stream: local });
    return { participantId: joined.participantId, room: joined.room, clientRoom: c.room };
  };
  W.routes = () => W.client.routes().map((r) => ({ mid: r.mid, kind: r.kind, index: r.index, ssrc: r.ssrc, rtxSsrc: r.rtxSsrc,
    source: r.source, trackKind: r.track.kind, sameTrack: r.receiver.track === r.track }));
  // Outcome of a request: {ok: reply} or {name, code, message}.
  W.outcome = (type, fields) => W.client.request(type, fields).then((reply) => ({ ok: reply }),
    (e) => ({ name: e.name, code: e.code ?? null, cohortError: e instanceof L.CohortError, message: e.message }));
  // Mean colour of a received video track, drawn into an 8x6 canvas.
  W.colourOf = async (track) => {
    const v = document.createElement('video');
    v.muted = true; v.srcObject = new MediaStream([track]);
    await v.play().catch(() => {});
    const until = performance.now() + 5000;
    while ((v.readyState < 2 || !v.videoWidth) && performance.now() < until) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 300));
    const c = document.createElement('canvas'); c.width = 8; c.height = 6;
    const g = c.getContext('2d'); g.drawImage(v, 0, 0, 8, 6);
    const d = g.getImageData(0, 0, 8, 6).data;
    let rgb = [0, 0, 0];
    for (let i = 0; i < d.length; i += 4) for (let k = 0; k < 3; k++) rgb[k] += d[i + k];
    v.srcObject = null;
    return rgb.map((x) => Math.round(x / (d.length / 4)));
  };
  // Every inbound-rtp statistic with the mid routeBySsrc gives its SSRC.
  W.ssrcCheck = async () => {
    const out = [];
    (await W.client.peerConnection.getStats()).forEach((s) => {
      if (s.type !== 'inbound-rtp') return;
      const r = W.client.routeBySsrc(s.ssrc);
      out.push({ mid: s.mid, ssrc: s.ssrc, kind: s.kind, routed: r ? r.mid : null, packets: s.packetsReceived,
                 frames: s.framesDecoded ?? null });
    });
    return out;
  };
  return true;
})()
"""


async def open_lib_page(browser: Chromium, server: CohortServer) -> Page:
    page = await browser.new_page(server.base_url + "healthz")
    assert await page.evaluate(SETUP), "library did not load"
    return page


CLIENT_STATE = """({joined: libTest.client && libTest.client.joined, slotsVersion: libTest.client && libTest.client.slotsVersion,
    slots: libTest.client && libTest.client.slots, roster: libTest.client && libTest.client.roster.map((p) => p.participantId),
    events: libTest.events.slice(-8)})"""


async def wait_page(page: Page, js: str, what: str, timeout: float, interval: float = 0.1):
    """Polls ``js`` until truthy; AssertionError with the client's state otherwise."""
    return await page.wait_for(js, what, timeout, CLIENT_STATE, interval)


async def heard(page: Page, mid: str) -> set[float]:
    """Tones in 1.5 s of the route's track on ``mid``, through WebAudio."""
    await page.evaluate(f"cohortTest.remote[{mid!r}] = libTest.client.route({mid!r}).track, true")
    capture = await page.evaluate(f"cohortTest.captureAudio({mid!r}, 1.5)", timeout=10)
    return present_tones(np.asarray(capture["samples"], dtype=np.float32), capture["rate"], CANDIDATES, window_s=None)


def names_everyone(pid: dict[str, str], others: list[str]) -> str:
    wanted = json.dumps([pid[o] for o in others])
    return f"""{wanted}.every((p) => libTest.client.routesFor(p, 'microphone').length === 1
                                   && libTest.client.routesFor(p, 'camera').length === 1)"""


def test_client_library_routes_requests_and_leaves() -> None:
    async def scenario() -> None:
        with CohortServer(web_root=WEB_ROOT) as server:
            async with Chromium() as browser_a, Chromium() as browser_b:
                pages = {"ann": await open_lib_page(browser_a, server), "bea": await open_lib_page(browser_b, server)}
                cal = AiortcParticipant("cal", TONES["cal"], video_format=(160, 120, 10), video_colour=CAL_RED)
                try:
                    pid = {}
                    joined = await pages["ann"].evaluate(f"libTest.join({server.token('Ann', role='host')!r}, {TONES['ann']})")
                    assert joined["room"] == joined["clientRoom"] == "main", joined
                    pid["ann"] = joined["participantId"]
                    pid["bea"] = (await pages["bea"].evaluate(f"libTest.join({server.token('Bea')!r}, {TONES['bea']})"))["participantId"]
                    pid["cal"] = (await cal.join_cohort(server.ws_url, server.token("Cal"), "Cal"))["participantId"]
                    others = {me: [o for o in pid if o != me] for me in pages}

                    # --- routing, judged by content
                    started = time.monotonic()
                    for name, page in pages.items():
                        await wait_page(page, names_everyone(pid, others[name]), f"{name}'s routes name both others", 15)
                        routes = await page.evaluate("libTest.routes()")
                        # 12 audio and 12 video slots, and the screen slot (a video track of kind "screen")
                        assert len(routes) == 25 and [r["kind"] for r in routes].count("screen") == 1, routes
                        assert all(r["sameTrack"] and r["trackKind"] == ("video" if r["kind"] == "screen" else r["kind"])
                                   for r in routes), routes
                        assert all(r["ssrc"] is not None for r in routes), f"{name}: a slot without the answer's SSRC: {routes}"
                        assert all(r["rtxSsrc"] is not None for r in routes if r["kind"] == "video"), routes
                        # the last `track` event of every slot says what routes() says
                        last = await page.evaluate("""(() => { const last = {};
                            for (const e of libTest.events) if (e.type === 'track') last[e.mid] = e.source;
                            return last; })()""")
                        for r in routes:
                            assert last.get(r["mid"]) == r["source"], (name, r, last.get(r["mid"]))
                        for o in others[name]:
                            mid = await page.evaluate(f"libTest.client.routesFor({pid[o]!r}, 'microphone')[0].mid")
                            tones = await heard(page, mid)
                            assert tones == {TONES[o]}, f"{name}: the slot the library gives {o} ({mid}) holds {tones}"
                        colours = {o: await page.evaluate(f"libTest.colourOf(libTest.client.routesFor({pid[o]!r}, 'camera')[0].track)",
                                                          timeout=10) for o in others[name]}
                        r, g, b = colours["cal"]
                        assert r > 150 and g < 90 and b < 90, f"{name}: the camera slot given to cal is not red: {colours}"
                        browser_peer = next(o for o in others[name] if o != "cal")
                        r, g, b = colours[browser_peer]
                        assert not (r > 150 and g < 90 and b < 90), f"{name}: {browser_peer}'s camera slot is red: {colours}"
                        deadline = time.monotonic() + 10
                        while True:
                            stats = await page.evaluate("libTest.ssrcCheck()")
                            flowing = [s for s in stats if s["packets"]]
                            if len(flowing) >= 4:
                                break
                            assert time.monotonic() < deadline, f"{name}: fewer than 4 receiving slots in getStats: {stats}"
                            await asyncio.sleep(0.2)
                        assert all(s["routed"] == s["mid"] for s in stats), f"{name}: routeBySsrc disagrees with getStats: {stats}"
                    print(f"\nrouting checked by content in {time.monotonic() - started:.1f} s")

                    # --- version rule: the held version and an older one are ignored
                    ann = pages["ann"]
                    stale = await ann.evaluate("""(() => {
                        const c = libTest.client, v = c.slotsVersion, before = JSON.stringify(c.slots), n = libTest.events.length;
                        c.receive({type: 'slots', map: {}, version: v});
                        c.receive({type: 'slots', map: {}, version: v - 1});
                        return {v, after: c.slotsVersion, same: JSON.stringify(c.slots) === before,
                                emitted: libTest.events.slice(n).filter((e) => e.type === 'slots' || e.type === 'track')};
                      })()""")
                    assert stale["same"] and stale["after"] == stale["v"] and stale["emitted"] == [], f"a stale slot map was applied: {stale}"

                    # --- requests: ok resolves, error rejects with its code
                    bea = pages["bea"]
                    refused = await bea.evaluate("libTest.outcome('open-rooms')")
                    assert refused.get("cohortError") and refused["code"] == "forbidden", f"host command by a participant: {refused}"
                    hand = await bea.evaluate("libTest.outcome('hand', {raised: true})")
                    assert hand.get("ok", {}).get("type") == "ok", f"hand: {hand}"
                    await wait_page(ann, f"""libTest.events.some((e) => e.type === 'session' && (e.handsRaised || []).includes({pid['bea']!r}))
                                             && (libTest.client.session.handsRaised || []).includes({pid['bea']!r})""",
                                    "ann's session shows bea's hand", 5)
                    created = await ann.evaluate("libTest.outcome('create-rooms', {names: ['Pairs A']})")
                    assert created.get("ok", {}).get("type") == "ok", f"create-rooms: {created}"
                    duplicate = await ann.evaluate("libTest.outcome('create-rooms', {names: ['pairs a']})")
                    assert duplicate.get("cohortError") and duplicate["code"] == "duplicate-room-name", duplicate

                    # --- rooms are opaque: one's own roster entry sets `room`
                    room = await bea.evaluate(f"""(() => {{ const c = libTest.client;
                        c.receive({{type: 'roster', participants: c.roster.map((p) => p.participantId === {pid['bea']!r} ? {{...p, room: 'waiting'}} : p)}});
                        return c.room; }})()""")
                    assert room == "waiting", f"room from the roster: {room!r}"

                    # --- leaving: removed by the host, left on its own, own leave()
                    mids_bea = await ann.evaluate(f"libTest.client.routesFor({pid['bea']!r}).map((r) => r.mid)")
                    mark = await ann.evaluate("libTest.events.length")
                    removed = await ann.evaluate(f"libTest.outcome('remove', {{participantId: {pid['bea']!r}}})")
                    assert removed.get("ok", {}).get("type") == "ok", f"remove: {removed}"
                    await wait_page(bea, "libTest.events.some((e) => e.type === 'left' && e.reason === 'removed') && !libTest.client.joined",
                                    "bea's client reports `left` (removed)", 5)
                    await wait_page(ann, f"""Object.values(libTest.client.slots).every((v) => v.participantId !== {pid['bea']!r})
                                             && libTest.client.routesFor({pid['bea']!r}).length === 0
                                             && !libTest.client.roster.some((p) => p.participantId === {pid['bea']!r})""",
                                    "ann's slot map and roster drop bea", 5)
                    emptied = await ann.evaluate(f"libTest.events.slice({mark}).filter((e) => e.type === 'track' && e.previous"
                                                 f" && e.previous.participantId === {pid['bea']!r})")
                    assert sorted(e["mid"] for e in emptied) == sorted(mids_bea), f"track events for bea's slots {mids_bea}: {emptied}"
                    assert all(e["source"] is None or e["source"].get("participantId") != pid["bea"] for e in emptied), emptied

                    await cal.signalling.leave()
                    await wait_page(ann, f"""Object.values(libTest.client.slots).every((v) => v.participantId !== {pid['cal']!r})
                                             && libTest.client.routesFor({pid['cal']!r}).length === 0""",
                                    "ann's slot map drops cal after its leave", 5)
                    left = await ann.evaluate("""libTest.client.leave().then(() => ({joined: libTest.client.joined, socket: libTest.client.socket,
                        pc: libTest.client.peerConnection.connectionState,
                        close: libTest.events.filter((e) => e.type === 'close')}))""")
                    assert left == {"joined": False, "socket": None, "pc": "closed", "close": []}, f"ann's leave(): {left}"
                    for name, page in pages.items():
                        assert page.exceptions == [], (name, page.exceptions)
                finally:
                    await cal.close()

    run(scenario(), timeout=120)


# Pure logic in a page: no media flows.
LOGIC = """
(async () => {
  const L = await import('/cohort-client.js');
  const c = libTest.watch(new L.CohortClient());
  const out = {};
  const map = (who) => ({ '13': { participantId: who, track: 'camera', after: 4294967000 }, '1': { participantId: who, track: 'microphone' } });
  c.receive({ type: 'slots', map: map('p-1'), version: 3 });
  out.v3 = [c.slotsVersion, c.slots['13'].participantId];
  c.receive({ type: 'slots', map: map('p-2'), version: 3 });
  c.receive({ type: 'slots', map: map('p-2'), version: 2 });
  out.stale = [c.slotsVersion, c.slots['13'].participantId];
  c.receive({ type: 'slots', map: { '1': { participantId: 'p-1', track: 'microphone' } }, version: 4 });
  out.v4 = [c.slotsVersion, Object.keys(c.slots)];
  out.slotsEvents = libTest.events.filter((e) => e.type === 'slots').map((e) => [e.version, e.changed]);
  c.receive({ type: 'session', version: 5, rooms: [] });
  c.receive({ type: 'session', version: 4, rooms: [{ id: 'old' }] });
  c.receive({ type: 'session', version: 5, rooms: [{ id: 'same' }] });
  out.session = [c.sessionVersion, c.session.rooms.length, libTest.events.filter((e) => e.type === 'session').length];
  c.receive({ type: 'speaking', participants: ['p-1'] });
  out.speaking = c.speaking;
  c.receive({ type: 'error', code: 'bad-json', message: 'x' });
  out.error = libTest.events.filter((e) => e.type === 'error').map((e) => e.code);
  out.frozen = Object.isFrozen(c.slots) && Object.isFrozen(c.slots['1']) && Object.isFrozen(c.roster);
  out.keepDark = [
    L.isFrameOfCurrentSource(4294967000, 4294967000), L.isFrameOfCurrentSource(4294967000, 4294966000),
    L.isFrameOfCurrentSource(4294967000, 100), L.isFrameOfCurrentSource(null, 5), L.isFrameOfCurrentSource(7, undefined)];
  out.ssrcs = [...L.parseAnswerSsrcs('v=0\\r\\nm=audio 9 UDP/TLS/RTP/SAVPF 111\\r\\na=mid:1\\r\\na=ssrc:11 cname:cohort\\r\\n' +
    'm=video 9 UDP/TLS/RTP/SAVPF 96 97\\r\\na=mid:13\\r\\na=ssrc-group:FID 21 22\\r\\na=ssrc:21 cname:cohort\\r\\na=ssrc:22 cname:cohort\\r\\n' +
    'm=video 9 UDP/TLS/RTP/SAVPF 96\\r\\na=mid:14\\r\\na=recvonly\\r\\n').entries()];
  out.serial = PAIRS.map(([a, b]) => L.isNewerTimestamp(a, b));
  // The loss-adaptive playout delay: samples are running totals every 2 s.
  const rp = new L.RepairPlayout({ quietMs: 20000 });
  const steps = [
    { nacks: 0, packets: 0, rttMs: 90, now: 0 },          // first sample, judged against zero: clean
    { nacks: 0, packets: 120, rttMs: 90, now: 2000 },     // clean
    { nacks: 0, packets: 240, rttMs: null, now: 4000 },   // clean, no round trip yet
    { nacks: 3, packets: 360, rttMs: 90, now: 6000 },     // 2.5 % NACKed: lossy -> 2 x 90 + 40
    { nacks: 4, packets: 480, rttMs: 95, now: 8000 },     // 0.8 %: still lossy; 230 is within 20 of 220: kept
    { nacks: 4, packets: 600, rttMs: 200, now: 10000 },   // clean for now, round trip doubled: 440 -> capped 400
    { nacks: 4, packets: 720, rttMs: 20, now: 12000 },    // short round trip: floor 120
    { nacks: 4, packets: 100000, rttMs: 20, now: 26000 }, // 18 s since the last loss (8 s): not yet quiet
    { nacks: 5, packets: 200000, rttMs: 20, now: 27000 }, // 1 NACK per 100 000 packets: not lossy
    { nacks: 5, packets: 200100, rttMs: 20, now: 28001 }, // quiet for more than 20 s: back to the browser's
  ];
  out.playout = steps.map((x) => rp.update(x));
  // A call that starts lossy: the first sample (totals since the start) raises the delay.
  out.playoutFirst = new L.RepairPlayout().update({ nacks: 4, packets: 150, rttMs: 90, now: 2000 });
  // A token for another session: the join rejects and the client is closed.
  const other = libTest.watch(new L.CohortClient({ session: 'another-session' }));
  try { await other.join({ token: TOKEN }); out.wrongSession = 'joined'; }
  catch (e) { out.wrongSession = { name: e.name, code: e.code, joined: other.joined, socket: other.socket,
                                   pc: other.peerConnection && other.peerConnection.signalingState }; }
  out.requestClosed = await other.request('hand', { raised: true }).then(() => 'resolved', (e) => e.name);
  return out;
})()
"""


def is_newer(a: int, b: int) -> bool:
    """RFC 1982 serial order of 32-bit numbers (the reference)."""
    d = (a - b) % (1 << 32)
    return d != 0 and d < (1 << 31)


def test_client_library_logic() -> None:
    async def scenario() -> None:
        with CohortServer(web_root=WEB_ROOT) as server:
            async with Chromium() as browser:
                page = await open_lib_page(browser, server)
                rng = random.Random(1982)
                edges = [0, 1, 2**31 - 1, 2**31, 2**31 + 1, 2**32 - 2, 2**32 - 1]
                pairs = [(a, b) for a in edges for b in edges] + \
                    [(rng.randrange(2**32), rng.randrange(2**32)) for _ in range(200)] + \
                    [(x, (x + d) % 2**32) for x in (rng.randrange(2**32) for _ in range(50)) for d in (1, 2**31 - 1, 2**31, 2**31 + 1)]
                js = LOGIC.replace("PAIRS", json.dumps(pairs)).replace("TOKEN", json.dumps(server.token("Lo")))
                out = await page.evaluate(js, timeout=20)
                assert out["v3"] == [3, "p-1"], out
                assert out["stale"] == [3, "p-1"], f"a map with the held or an older version was applied: {out['stale']}"
                assert out["v4"] == [4, ["1"]], out
                assert out["slotsEvents"] == [[3, ["1", "13"]], [4, ["13"]]], out["slotsEvents"]
                assert out["session"] == [5, 0, 1], f"session version rule: {out['session']}"
                assert out["speaking"] == ["p-1"] and out["error"] == ["bad-json"], out
                assert out["frozen"], "the client's state is not frozen"
                assert out["keepDark"] == [False, False, True, True, True], f"isFrameOfCurrentSource: {out['keepDark']}"
                assert out["ssrcs"] == [["1", {"ssrc": 11, "rtxSsrc": None}], ["13", {"ssrc": 21, "rtxSsrc": 22}]], out["ssrcs"]
                wrong = [(a, b) for (a, b), got in zip(pairs, out["serial"]) if got != is_newer(a, b)]
                assert not wrong, f"isNewerTimestamp disagrees with RFC 1982 on {wrong[:10]}"
                assert out["wrongSession"] == {"name": "CohortError", "code": "unauthorized", "joined": False, "socket": None,
                                               "pc": "closed"}, out["wrongSession"]
                assert out["requestClosed"] == "ConnectionError", out["requestClosed"]
                assert out["playout"] == [None, None, None, 220, 220, 400, 120, 120, 120, None], \
                    f"RepairPlayout targets: {out['playout']}"
                assert out["playoutFirst"] == 220, f"RepairPlayout's first sample, lossy: {out['playoutFirst']}"
                assert page.exceptions == [], page.exceptions

    run(scenario(), timeout=60)
