"""The web client in scale-out (docs/SCALE-OUT.md): follows `redirect`, and
rejoins by itself when its node dies.

Three nodes on one throwaway PostgreSQL, serving this checkout's web client.
An aiortc partner joins session "w" first, which places it on node1 (all
empty: the smallest id). The page is opened from node3 (its origin is
node3's), joins, and is redirected to node1, whose origin check lets node3's
page in. Then node1 is SIGKILLed: the page notices the dropped WebSocket,
joins again through node3 with the same link, is placed (and redirected)
on a live node, and the partner, rejoining too, hears the page's tone again.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time

from chromium import Chromium
from cohort_cluster import Node, join_anywhere, minter
from cohort_server import WEB_ROOT
from conftest import run
from peer import AiortcParticipant
from pg_cluster import PostgresCluster
from test_scaleout_postgres import live_nodes, wait_for

PAGE_TONE = 500.0
PARTNER_TONE = 700.0
STATE = ("({status: document.getElementById('status').textContent, message: document.getElementById('message').textContent,"
         " ws: cohort.state.ws && cohort.state.ws.url, rejoins: cohort.state.rejoins})")


def test_web_client_follows_redirect_and_rejoins_after_its_node_dies() -> None:
    secret = secrets.token_urlsafe(32)
    with PostgresCluster() as pg, contextlib.ExitStack() as stack:
        nodes = [stack.enter_context(Node(f"node{i}", f"127.0.0.{i}", pg.url(), secret,
                                          extra_env={"COHORT_WEB_ROOT": WEB_ROOT})) for i in (1, 2, 3)]
        wait_for(lambda: live_nodes(pg) == 3, 15, "three nodes registered")
        # Each node learns the others' page origins at its next heartbeat (every second).
        time.sleep(1.5)
        mint = minter(secret)
        figures: dict[str, object] = {}

        async def partner_join(entry: str) -> AiortcParticipant:
            p = AiortcParticipant("partner", PARTNER_TONE, slots=2, video=True, video_format=(64, 48, 5), video_slots=0)
            deadline = time.monotonic() + 40
            while True:
                try:
                    url, _ = await join_anywhere(p, entry, mint.token("partner", session="w", sub="partner"))
                    figures.setdefault("partner_urls", []).append(url)
                    return p
                except Exception:
                    await p.close()
                    assert time.monotonic() < deadline, "partner could not rejoin"
                    await asyncio.sleep(0.5)
                    p = AiortcParticipant("partner", PARTNER_TONE, slots=2, video=True, video_format=(64, 48, 5),
                                          video_slots=0)

        async def hears_page(p: AiortcParticipant, timeout: float) -> None:
            await p.wait_connected(20)
            await p.wait_until(lambda: PAGE_TONE in p.all_heard_tones([PAGE_TONE, PARTNER_TONE], window_s=1.0),
                               timeout, candidates=[PAGE_TONE])

        async def scenario() -> None:
            partner = await partner_join(nodes[2].ws_url)
            assert pg.psql("SELECT node FROM placements WHERE session = 'w'", "cohort") == [["node1"]]
            async with Chromium() as browser:
                page = await browser.new_page(f"{nodes[2].base_url}?testTone={int(PAGE_TONE)}#token="
                                              + mint.token("Page", session="w", sub="page"))
                await page.wait_for("window.cohort && !document.getElementById('join').disabled", "page ready", 15,
                                    "document.body.innerText")
                await page.evaluate("document.getElementById('join').click(), true")
                await page.wait_for(f"cohort.state.joined && cohort.state.ws.url.startsWith({nodes[0].ws_url!r})",
                                    "joined on node1 through node3", 20, STATE)
                await page.wait_for("cohort.state.pc.connectionState === 'connected'", "media connected", 20, STATE)
                await hears_page(partner, 20)

                killed = time.monotonic()
                nodes[0].kill()
                rejoin_partner = asyncio.create_task(partner_join(nodes[2].ws_url))
                await page.wait_for("cohort.state.rejoins === 1 && cohort.state.joined", "page rejoined", 40, STATE)
                figures["page_rejoined_s"] = round(time.monotonic() - killed, 2)
                holder = pg.psql("SELECT node FROM placements WHERE session = 'w'", "cohort")[0][0]
                assert holder in {"node2", "node3"}, holder
                url = await page.evaluate("cohort.state.ws.url")
                assert url.startswith({n.name: n.ws_url for n in nodes}[holder]), (url, holder)
                await page.wait_for("cohort.state.pc.connectionState === 'connected'", "media connected again", 20, STATE)
                await partner.close()
                partner = await rejoin_partner
                await hears_page(partner, 20)
                figures["partner_hears_page_again_s"] = round(time.monotonic() - killed, 2)
                assert await page.evaluate("document.getElementById('message').textContent") == ""
            await partner.close()

        try:
            run(scenario(), 150)
        finally:
            print("\nSCALE-OUT WEB FIGURES", figures)
