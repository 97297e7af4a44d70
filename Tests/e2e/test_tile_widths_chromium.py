"""A tile nobody sees gets no video (issue 12, point 3 b): two headless
Chromium participants (the server's web client, fake cameras) on a clean
path. The web client reports each camera tile's width (`tile-widths`,
device pixels) when it joins and whenever a tile's width changes; the server's
downlink allocation pauses a slot shown at width 0.

Asserted on ann's page: with bea's tile laid out at no width (display: none,
as a layout that shows only some tiles would), the server names that slot in
``downlink.pausedMids`` within 5 s and no more of bea's video arrives (bytes
received on the slot grow by less than one keyframe's worth over 2 s); shown
again, bea's video decodes again within 5 s. Bea's page, whose tiles stay
shown, has nothing paused throughout.
"""

from __future__ import annotations

import asyncio
import time

from chromium import Chromium
from cohort_server import WEB_ROOT, CohortServer
from conftest import run
from test_call_chromium import click_join, slot_mids, wait_page

NAMES = ["ann", "bea"]

INBOUND = """(async () => {
  const out = {};
  (await cohort.state.pc.getStats()).forEach((s) => {
    if (s.type === "inbound-rtp") out[s.mid] = { bytes: s.bytesReceived ?? 0, frames: s.framesDecoded ?? 0 };
  });
  return out;
})()"""


def test_a_tile_shown_at_no_width_is_paused_and_resumes_when_shown() -> None:
    async def scenario() -> None:
        browsers = [Chromium() for _ in NAMES]
        with CohortServer(web_root=WEB_ROOT) as server:
            try:
                await asyncio.gather(*(b.start() for b in browsers))
                pages = {name: await browser.new_page(f"{server.base_url}?token={server.token(name)}")
                         for name, browser in zip(NAMES, browsers)}
                await asyncio.gather(*(click_join(p) for p in pages.values()))
                pid = {name: await wait_page(page, "cohort.state.joined && cohort.state.participantId", f"{name} joined", 20)
                       for name, page in pages.items()}
                ann = pages["ann"]
                deadline = time.monotonic() + 20
                while (mid := (await slot_mids(ann)).get((pid["bea"], "camera"))) is None:
                    assert time.monotonic() < deadline, "ann's slot map never named bea's camera"
                    await asyncio.sleep(0.2)
                frames = f"(async () => ((await {INBOUND})[{mid!r}] || {{}}).frames || 0)()"
                await wait_page(ann, f"{frames}.then((n) => n >= 10)", "ann decodes bea's video", 20, 0.25)

                # Hidden: paused by the server, and nothing more arrives.
                await ann.evaluate(f"document.querySelector('#grid .tile[data-mid=\"{mid}\"]').style.display = 'none', true")
                started = time.monotonic()
                await wait_page(ann, f"cohort.state.client.pausedMids.includes({mid!r})", "bea's hidden slot paused", 5)
                paused_after = time.monotonic() - started
                await asyncio.sleep(0.5)   # what was in flight
                before = (await ann.evaluate(INBOUND, timeout=10))[mid]
                await asyncio.sleep(2.0)
                after = (await ann.evaluate(INBOUND, timeout=10))[mid]
                hidden_bytes = after["bytes"] - before["bytes"]
                assert hidden_bytes < 20_000, f"{hidden_bytes} bytes of bea's video arrived in 2 s while hidden"

                # Shown again: resumes and decodes.
                await ann.evaluate(f"document.querySelector('#grid .tile[data-mid=\"{mid}\"]').style.display = '', true")
                started = time.monotonic()
                await wait_page(ann, f"!cohort.state.client.pausedMids.includes({mid!r})", "bea's slot resumed", 5)
                await wait_page(ann, f"{frames}.then((n) => n >= {after['frames'] + 10})", "bea's video decodes again", 5, 0.25)
                resumed_after = time.monotonic() - started
                assert await pages["bea"].evaluate("cohort.state.client.pausedMids") == []
                print(f"\ntile hidden: paused after {paused_after:.2f} s, {hidden_bytes} bytes in 2 s; "
                      f"shown: 10 frames after {resumed_after:.2f} s")
                for page in pages.values():
                    assert page.exceptions == [], page.exceptions
            finally:
                await asyncio.gather(*(b.close() for b in browsers), return_exceptions=True)

    run(scenario(), timeout=120)
