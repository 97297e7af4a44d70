"""Prometheus metrics and readiness of a real server in a call.

Two aiortc participants call through `cohort serve`; `/metrics` (on the
public listener by default) must show the call: two participants with media
up, forwarded audio and video packets that grow between scrapes, one ICE and
one DTLS handshake each, a refused join counted by its reason, and no
isolation refusal.  `/readyz` is 200 while serving.  With `--metrics
HOST:PORT` the public listener answers 404 at /metrics and the own listener
serves it; with `--metrics off` nobody does.

Set COHORT_METRICS_SCRAPE_OUT=FILE to keep the busy server's scrape.
"""

from __future__ import annotations

import asyncio
import os
import re
import urllib.error
import urllib.request

from cohort_server import CohortServer
from conftest import run
from peer import AiortcParticipant
from signalling import CohortSignalling, SignallingError

TONES = {"ann": 440.0, "bob": 660.0}
SESSION = "tuesday-skills-group"


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def samples(text: str) -> dict[str, float]:
    """Every sample line of a Prometheus text exposition, by name{labels}."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, value = line.rsplit(" ", 1)
        out[name] = float(value)
    return out


def test_metrics_and_readiness_of_a_busy_server() -> None:
    async def scenario() -> None:
        with CohortServer(session=SESSION) as server:
            status, body = get(server.base_url + "readyz")
            assert (status, body) == (200, "ready\n")
            peers = {name: AiortcParticipant(name, tone) for name, tone in TONES.items()}
            try:
                for name, p in peers.items():
                    await p.join_cohort(server.ws_url, server.token(name), name)
                ids = {n: p.joined["participantId"] for n, p in peers.items()}

                # A join refused for its token, counted by its reason.
                bad = CohortSignalling(server.ws_url)
                await bad.connect()
                try:
                    await bad.join("not-a-token", "eve", "v=0")
                    raise AssertionError("a join with a bad token was admitted")
                except SignallingError as e:
                    assert e.code == "token-invalid", e

                def both_see_video() -> bool:
                    for name, me in peers.items():
                        other = [o for o in peers if o != name][0]
                        mids = me.signalling.state.mids_of(ids[other], "video")
                        if len(mids) != 1 or me.video_frames_by_mid().get(mids[0], 0) < 5:
                            return False
                    return True

                for p in peers.values():
                    await p.wait_until(both_see_video, timeout=20)

                status, first_text = get(server.base_url + "metrics")
                assert status == 200, first_text
                await asyncio.sleep(1.5)
                status, text = get(server.base_url + "metrics")
                assert status == 200, text
                first, now = samples(first_text), samples(text)

                assert now["cohort_participants"] == 2, text
                assert now["cohort_participants_media_connected"] == 2
                assert now["cohort_sessions"] == 1
                assert now["cohort_rooms"] == 1
                assert now["cohort_isolation_refusals_total"] == 0
                for kind in ("audio", "video", "rtcp"):
                    key = f'cohort_forwarded_packets_total{{kind="{kind}"}}'
                    assert now[key] > first[key] > 0, (kind, first[key], now[key])
                    assert now[f'cohort_forwarded_bytes_total{{kind="{kind}"}}'] > now[key] * 12
                assert now['cohort_handshake_seconds_count{phase="ice"}'] == 2
                assert now['cohort_handshake_seconds_count{phase="dtls"}'] == 2
                assert now['cohort_handshake_seconds_bucket{phase="dtls",le="+Inf"}'] == 2
                assert now["cohort_joins_total"] == 2
                assert now['cohort_join_failures_total{reason="token-invalid"}'] == 1
                assert now['cohort_streams{direction="uplink",kind="video"}'] == 2
                assert now["process_resident_memory_bytes"] > 1_000_000
                assert now["process_cpu_seconds_total"] > 0
                assert sum(v for k, v in now.items() if k.startswith("cohort_loop_busy_seconds_total")) > 0
                # Aggregates only: no session, room, person or participant id in any label.
                for secret in [SESSION, "ann", "bob", *ids.values()]:
                    assert secret not in text, secret

                status, body = get(server.base_url + "readyz")
                assert status == 200, body
                if os.environ.get("COHORT_METRICS_SCRAPE_OUT"):
                    with open(os.environ["COHORT_METRICS_SCRAPE_OUT"], "w") as f:
                        f.write(text)
                await bad.close()
            finally:
                for p in peers.values():
                    await p.close()

    run(scenario(), timeout=90)


def test_metrics_moved_off_the_public_listener_or_off() -> None:
    with CohortServer(extra_args=["--metrics", "127.0.0.1:0"], records="off") as server:
        status, _ = get(server.base_url + "metrics")
        assert status == 404
        port = None
        for line in server.log:
            m = re.search(r"address=\S*127\.0\.0\.1:(\d+) path=/metrics .*metrics listening", line)
            if m:
                port = int(m.group(1))
        assert port is not None and port != server.http_port, server.log[-10:]
        status, text = get(f"http://127.0.0.1:{port}/metrics")
        assert status == 200
        assert samples(text)["cohort_participants"] == 0
        assert get(f"http://127.0.0.1:{port}/")[0] == 404
        assert get(server.base_url + "readyz")[0] == 200
    with CohortServer(extra_args=["--metrics", "off"], records="off") as server:
        assert get(server.base_url + "metrics")[0] == 404
        assert get(server.base_url + "healthz")[0] == 200
