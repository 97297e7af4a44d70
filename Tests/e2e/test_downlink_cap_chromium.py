"""One subscriber's capped downlink (issue 12, points 2 and 4): three
headless Chromium participants (the server's web client, fake camera and a
distinct test tone each) through ``impair_relay.py``; cal's server → client
direction becomes a bottleneck (100 ms drop-tail queue) of 1 Mbit/s, then
400 kbit/s, then none, while ann's and bea's links stay clean.

Cohort stamps every copy to cal with cal's own transport-wide numbers,
estimates cal's downlink from Chrome's feedback, pauses the video cal's
link cannot carry (audio first) and tells cal's page, which labels the
tile "video paused — poor connection"; when the cap is lifted, probes
(RTX padding) find the room and the video resumes.

Asserted: in each capped step (after 6 s to settle) cal conceals at most 1 %
of each audio stream it receives; at 400 kbit/s cal's page shows paused
video; ann and bea keep decoding each other at 10 fps or more, with nothing
paused for them; within 10 s after the cap is lifted nothing is paused for
cal and it decodes both videos at 10 fps or more again. The step table is
printed.
"""

from __future__ import annotations

import asyncio
import os
import re
import time

from chromium import Chromium, Page
from cohort_server import BINARY, WEB_ROOT, CohortServer
from conftest import run
from impair_relay import LISTEN_HOST, RelayProcess
from slot_window import concealed_fraction, slot_windows
from test_call_chromium import wait_page

NAMES = {"ann": 440, "bea": 660, "cal": 880}
STEPS = [1_000_000, 400_000]
SETTLE = 6.0
WINDOW = 12.0
RESUME_WITHIN = 10.0

STATS_JS = """
(async () => {
  const pc = cohort.state.pc;
  const report = await pc.getStats();
  const out = { inbound: {}, localPort: null, paused: cohort.state.client ? [...cohort.state.client.pausedMids] : [] };
  const locals = {}, pairs = {};
  let selected = null;
  report.forEach((s) => {
    if (s.type === "inbound-rtp") out.inbound[s.mid] = { kind: s.kind, bytes: s.bytesReceived ?? 0, frames: s.framesDecoded ?? 0,
      concealed: s.concealedSamples ?? 0, samples: s.totalSamplesReceived ?? 0, lost: s.packetsLost ?? 0,
      packets: s.packetsReceived ?? 0, timestamp: s.timestamp };
    // Through the relay the selected local candidate is peer-reflexive: the
    // port the server saw is the relay's; the page's own socket is its related port.
    else if (s.type === "local-candidate") locals[s.id] = s.candidateType === "prflx" ? (s.relatedPort ?? s.port) : s.port;
    else if (s.type === "candidate-pair") pairs[s.id] = s;
    else if (s.type === "transport") selected = s.selectedCandidatePairId;
  });
  const pair = pairs[selected];
  if (pair) out.localPort = locals[pair.localCandidateId] ?? null;

  out.slots = Object.fromEntries(Object.entries(cohort.state.slots).map(([mid, v]) => [mid, [v.participantId, v.track]]));
  out.label = [...document.querySelectorAll("#grid .tile.paused .label")].map((l) => l.textContent);
  return out;
})()
"""


async def stats(page: Page) -> dict:
    return await page.evaluate(STATS_JS, timeout=10)


def window(before: dict, after: dict, pid: dict[str, str], name: str) -> dict:
    """Per other participant: video fps and kbit/s, audio concealed fraction, over the window."""
    out: dict[str, dict] = {other: {} for other in NAMES if other != name}
    for other, _, track, a, b, seconds in slot_windows(before, after, pid, NAMES, name, WINDOW):
        if track == "camera":
            out[other]["fps"] = (a["frames"] - b.get("frames", 0)) / seconds
            out[other]["kbps"] = (a["bytes"] - b.get("bytes", 0)) * 8 / seconds / 1000
        elif track == "microphone":
            out[other]["concealed"] = concealed_fraction(a, b)
    return out


def test_a_capped_subscriber_keeps_its_audio_and_gets_its_video_back() -> None:
    async def scenario() -> None:
        browsers = [Chromium() for _ in NAMES]
        pages: dict[str, Page] = {}
        with CohortServer(web_root=WEB_ROOT, announce=LISTEN_HOST, log_level="debug", binary=BINARY) as server, \
                RelayProcess(server.media_ports, 0.0, delay=0.020, jitter=0.0, queue=0.1, lifetime=240) as relay:
            try:
                await asyncio.gather(*(b.start() for b in browsers))
                for (name, hz), browser in zip(NAMES.items(), browsers):
                    pages[name] = await browser.new_page(f"{server.base_url}?testTone={hz}#token=" + server.token(name))
                    await pages[name].wait_for("window.cohort && !document.getElementById('join').disabled", "ready", 15,
                                               "document.body.innerText")
                await asyncio.gather(*(p.evaluate("document.getElementById('join').click(), true") for p in pages.values()))
                pid = {n: await wait_page(p, "cohort.state.joined && cohort.state.participantId", f"{n} joined", 25)
                       for n, p in pages.items()}
                deadline = time.monotonic() + 40
                while True:
                    s = {n: await stats(p) for n, p in pages.items()}
                    decoding = {n: sum(1 for m, (w, t) in s[n]["slots"].items()
                                       if t == "camera" and s[n]["inbound"].get(m, {}).get("frames", 0) > 5) for n in NAMES}
                    if all(count == 2 for count in decoding.values()):
                        break
                    assert time.monotonic() < deadline, f"media did not start: {s}"
                    await asyncio.sleep(0.5)
                port = s["cal"]["localPort"]
                assert port, s["cal"]
                rows = []
                failures = []
                for cap in [*STEPS, 0]:
                    relay.cap(port, down_rate=cap)
                    started = time.monotonic()
                    if cap == 0:
                        # Lifted: everything back within RESUME_WITHIN.
                        while True:
                            s_cal = await stats(pages["cal"])
                            if not s_cal["paused"]:
                                break
                            if time.monotonic() - started > RESUME_WITHIN:
                                failures.append(f"still paused {RESUME_WITHIN:g} s after the cap was lifted: {s_cal['paused']}")
                                break
                            await asyncio.sleep(0.25)
                        resumed_s = time.monotonic() - started
                        await asyncio.sleep(3)   # the keyframes, then a short window
                        before = {n: await stats(p) for n, p in pages.items()}
                        await asyncio.sleep(4)
                    else:
                        await asyncio.sleep(SETTLE)
                        before = {n: await stats(p) for n, p in pages.items()}
                        await asyncio.sleep(WINDOW)
                    after = {n: await stats(p) for n, p in pages.items()}
                    estimates = [l for l in server.log if "downlink estimate" in l and pid["cal"] in l]
                    estimate = re.search(r"target (\d+) kbit/s", estimates[-1]).group(1) if estimates else "?"
                    cal = window(before["cal"], after["cal"], pid, "cal")
                    rows.append((cap, cal, after["cal"]["paused"], after["cal"]["label"], estimate,
                                 {n: window(before[n], after[n], pid, n) for n in ("ann", "bea")}))
                    for other, row in cal.items():
                        if cap and row.get("concealed", 1.0) > 0.01:
                            failures.append(f"at {cap / 1000:.0f} kbit/s cal concealed {row.get('concealed', 1.0):.2%} of {other}'s audio")
                        if not cap and row.get("fps", 0) < 10:
                            failures.append(f"after the cap cal decodes {row.get('fps', 0):.1f} fps of {other}")
                    if cap == 400_000 and not after["cal"]["paused"]:
                        failures.append("at 400 kbit/s nothing was paused for cal")
                    if cap == 400_000 and not any("video paused" in l for l in after["cal"]["label"]):
                        failures.append(f"cal's page does not label its paused tiles: {after['cal']['label']}")
                    for n in ("ann", "bea"):
                        if after[n]["paused"]:
                            failures.append(f"{n} had video paused at cal's {cap / 1000:.0f} kbit/s: {after[n]['paused']}")
                        for other, row in window(before[n], after[n], pid, n).items():
                            if other != "cal" and row.get("fps", 0) < 10:
                                failures.append(f"{n} decodes {row.get('fps', 0):.1f} fps of {other} at cal's {cap / 1000:.0f} kbit/s")
            finally:
                await asyncio.gather(*(b.close() for b in browsers), return_exceptions=True)

        print("\n| cal's downlink cap | cal: estimate | cal: paused mids | cal ← ann: fps / kbit/s / audio concealed "
              "| cal ← bea | ann ← bea fps | bea ← ann fps |")
        print("|---|---|---|---|---|---|---|")
        for cap, cal, paused, label, estimate, others in rows:
            cell = lambda r: f"{r.get('fps', 0):.1f} / {r.get('kbps', 0):.0f} / {r.get('concealed', float('nan')):.2%}"
            print(f"| {'none' if not cap else f'{cap // 1000} kbit/s'} | {estimate} kbit/s | {paused} | {cell(cal.get('ann', {}))} "
                  f"| {cell(cal.get('bea', {}))} | {others['ann'].get('bea', {}).get('fps', 0):.1f} "
                  f"| {others['bea'].get('ann', {}).get('fps', 0):.1f} |")
        print(f"video resumed {resumed_s:.1f} s after the cap was lifted; relay caps applied: {relay.capped}")
        if os.environ.get("COHORT_E2E_LOG"):
            with open(os.environ["COHORT_E2E_LOG"], "w") as f:
                f.write("\n".join(server.log))
        if failures:
            from loss_measure import engine_counters
            c = engine_counters(server.log)
            print({k: c.get(k) for k in ("probePaddingSent", "transportFeedbackReceived", "transportWideStamped",
                                          "videoSlotsPaused", "videoSlotsResumed")})
            print("\n".join(l for l in server.log if "downlink estimate" in l and pid["cal"] in l)[-3000:])
        assert not failures, "\n".join(failures)

    run(scenario(), timeout=240)
