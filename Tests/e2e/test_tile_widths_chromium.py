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

The second test takes a subscriber without transport-cc (aiortc negotiates
none, so the server has no estimate of its downlink): its `tile-widths`
still choose the simulcast layer of a Chromium publisher (the web client
sends 160, 320 and 640 wide), at once, and a tile at width 0 still pauses.
Asserted on the frames aiortc decodes: 640 wide before it says anything,
160 wide within 5 s of a 150-pixel tile, none while hidden, 640 again
within 5 s of a tile wider than every layer.
"""

from __future__ import annotations

import asyncio
import time

from chromium import Chromium
from cohort_server import WEB_ROOT, CohortServer
from conftest import run
from peer import AiortcParticipant
from test_call_chromium import click_join, slot_mids, wait_page
from test_simulcast_chromium import FLAGS as SIMULCAST_FLAGS

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


def test_without_transport_cc_the_tile_width_still_picks_the_simulcast_layer() -> None:
    async def scenario() -> None:
        browser = Chromium(extra_args=SIMULCAST_FLAGS)   # all three layers from a 640x480 camera
        bob = AiortcParticipant("bob", 660.0, slots=1, video_format=(160, 120, 10))
        with CohortServer(web_root=WEB_ROOT) as server:
            try:
                await browser.start()
                ann = await browser.new_page(f"{server.base_url}?token={server.token('ann')}")
                await click_join(ann)
                ann_id = await wait_page(ann, "cohort.state.joined && cohort.state.participantId", "ann joined", 20)
                await bob.join_cohort(server.ws_url, server.token("bob"), "bob")
                assert "transport-cc" not in bob.pc.localDescription.sdp, "aiortc offered transport-cc"
                await bob.signalling.wait_until(lambda s: len(s.mids_of(ann_id, "video")) == 1, timeout=20)
                mid = bob.signalling.state.mids_of(ann_id, "video")[0]
                recorder = lambda: bob.recorders.get(mid)  # noqa: E731

                async def wait_width(width: int, what: str, timeout: float) -> float:
                    started = time.monotonic()
                    frames = recorder().video_frames if recorder() else 0
                    try:
                        await bob.wait_until(lambda: recorder() is not None and recorder().video_frames > frames + 5
                                             and (recorder().video_size or (0, 0))[0] == width, timeout=timeout)
                    except AssertionError as e:
                        raise AssertionError(f"{what} ({width} wide) not decoded within {timeout} s: {e}") from None
                    return time.monotonic() - started

                # Chrome turns its top layer on as its estimate grows.
                first = await wait_width(640, "the top layer", 30)

                await bob.signalling.request({"type": "tile-widths", "widths": {mid: 150}})
                down = await wait_width(160, "the 160-wide layer for a 150-pixel tile", 5)

                await bob.signalling.request({"type": "tile-widths", "widths": {mid: 0}})
                started = time.monotonic()
                await bob.signalling.wait_until(
                    lambda s: any(m.get("type") == "downlink" and mid in m.get("paused", []) for m in s.other),
                    timeout=5)
                paused_after = time.monotonic() - started
                await asyncio.sleep(0.5)   # what was in flight
                before = recorder().video_frames
                await asyncio.sleep(2.0)
                hidden_frames = recorder().video_frames - before
                assert hidden_frames == 0, f"{hidden_frames} frames of ann's video decoded in 2 s while hidden"

                await bob.signalling.request({"type": "tile-widths", "widths": {mid: 1_280}})
                up = await wait_width(640, "the top layer again", 5)
                print(f"\nwithout transport-cc: 640 wide after {first:.2f} s; 160 wide {down:.2f} s after a "
                      f"150-pixel tile; paused after {paused_after:.2f} s; 640 again after {up:.2f} s")
                assert ann.exceptions == [], ann.exceptions
            finally:
                await bob.close()
                await browser.close()

    run(scenario(), timeout=120)
