"""Loss repair with a second WebRTC stack: three aiortc participants through
Cohort and ``impair_relay.py`` at 0 % and then 3 % loss per direction (40 ±
10 ms each way, in order), a fresh server and relay for each.

What aiortc 1.16 does (read from its source, checked in the SDP here): it
offers VP8 with ``nack``, ``nack pli`` and ``goog-remb`` and an ``rtx``
payload type (apt = VP8).  Its receiver sends a generic NACK listing every
missing sequence number whenever a new gap appears (no timed retries: a
packet is asked for again only with the next gap) and a PLI when its jitter
buffer or decoder gives up; it unwraps RTX only on an SSRC the remote SDP
pairs with the media SSRC (``a=ssrc-group:FID``).  Its sender keeps the last
128 packets and answers each NACKed one, wrapped in RTX when RTX was
negotiated, else as is; it answers PLI/FIR with a keyframe.

Asserted: the server's ``engine counters`` show
the repair on both hops: NACKs from the aiortc receivers answered from the
cache (``retransmissionsSent``), NACKs to the aiortc publishers
(``nacksSent``) and the packets they recovered (``packetsRecovered``), those
arriving as RTX (``rtxReceived``) when the answer accepted ``rtx`` for the
publisher's video.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from cohort_server import CohortServer
from conftest import run
from impair_relay import LISTEN_HOST, RelayProcess
from loss_measure import delta, engine_counters, media_section
from peer import AiortcParticipant

TONES = {"ann": 440.0, "bob": 660.0, "cy": 880.0}
WARMUP = 3.0
WINDOW = 12.0
SEED = 5


@dataclass
class Run:
    loss_percent: float
    fps: dict[tuple[str, str], float] = field(default_factory=dict)  # (receiver, publisher) → frames/s
    server: dict[str, int] = field(default_factory=dict)
    relay: dict = field(default_factory=dict)
    rtx_for_publishers: bool = False  # answer accepted rtx on every publisher's video
    rtx_for_slots: bool = False  # answer declares an RTX SSRC (FID) on every filled video slot

    @property
    def mean_fps(self) -> float:
        return sum(self.fps.values()) / len(self.fps)


async def measure(loss_percent: float) -> Run:
    result = Run(loss_percent)
    with CohortServer(announce=LISTEN_HOST, log_level="debug") as server:
        with RelayProcess(server.media_ports, loss_percent / 100, seed=SEED, lifetime=90) as relay:
            peers = {n: AiortcParticipant(n, hz) for n, hz in TONES.items()}
            try:
                for name, p in peers.items():
                    await p.join_cohort(server.ws_url, server.token(name), name)
                pid = {n: p.joined["participantId"] for n, p in peers.items()}

                def video_mids() -> dict[tuple[str, str], str] | None:
                    out = {}
                    for me, p in peers.items():
                        for other in peers:
                            if other == me:
                                continue
                            mids = p.signalling.state.mids_of(pid[other], "video")
                            if len(mids) != 1:
                                return None
                            out[(me, other)] = mids[0]
                    return out

                # Everyone connected with every other in a video slot. At 0 % every
                # track must also be decoding; at 3 % aiortc's receiver may stall on
                # its own (see the test), so only the slots and connections are waited for.
                deadline = time.monotonic() + 30
                while True:
                    mids = video_mids()
                    connected = all(p.pc.connectionState == "connected" for p in peers.values())
                    decoding = mids and all(peers[r].video_frames_by_mid().get(m, 0) >= 5 for (r, _), m in mids.items())
                    if mids and connected and (decoding or loss_percent > 0):
                        break
                    assert time.monotonic() < deadline, (
                        f"{loss_percent} %: the call did not start\n" + "\n".join(p.summary() for p in peers.values())
                        + f"\nrelay {relay.stats}\nserver {engine_counters(server.log)}")
                    await asyncio.sleep(0.2)
                await asyncio.sleep(WARMUP)

                frames0 = {k: peers[r].video_frames_by_mid()[m] for k, m in mids.items() for r in [k[0]]}
                server0, relay0, t0 = engine_counters(server.log), relay.stats["totals"], time.monotonic()
                await asyncio.sleep(WINDOW)
                frames1 = {k: peers[r].video_frames_by_mid()[m] for k, m in mids.items() for r in [k[0]]}
                server1, relay1, t1 = engine_counters(server.log), relay.stats["totals"], time.monotonic()
                assert video_mids() == mids, "slot maps changed during the window"
                result.fps = {k: (frames1[k] - frames0[k]) / (t1 - t0) for k in mids}
                result.server = delta(server1, server0)
                result.relay = {d: delta(relay1[d], relay0[d]) for d in ("up", "down")}

                # What the answers negotiated: rtx for each publisher's own
                # video (its second m-section), and an RTX SSRC on the slots.
                result.rtx_for_publishers = all(
                    "rtx/90000" in media_section(p.joined["sdp"], p.send_video.mid) for p in peers.values())
                answers = {n: p.pc.remoteDescription.sdp for n, p in peers.items()}
                result.rtx_for_slots = all("a=ssrc-group:FID" in media_section(answers[r], m) for (r, _), m in mids.items())
            finally:
                for p in peers.values():
                    await p.close()
    return result


def test_aiortc_video_survives_three_percent_loss() -> None:
    async def scenario() -> None:
        started = time.monotonic()
        clean = await measure(0.0)
        lossy = await measure(3.0)
        for r in (clean, lossy):
            drops = {d: f"{v.get('dropped', 0)}/{v.get('received', 0)}" for d, v in r.relay.items()}
            print(f"\naiortc at {r.loss_percent:g} %: {r.mean_fps:.1f} fps per track "
                  f"({', '.join(f'{a}<-{b} {v:.1f}' for (a, b), v in sorted(r.fps.items()))}); relay dropped {drops}; "
                  f"rtx negotiated for publishers {r.rtx_for_publishers}, for slots {r.rtx_for_slots}")
            print(f"  server: " + ", ".join(f"{k} {r.server.get(k, 0)}" for k in (
                "nacksReceived", "retransmissionsSent", "retransmissionMisses", "retransmissionsSuppressed", "nacksSent",
                "nackedPackets", "packetsRecovered", "rtxReceived", "duplicatesDropped", "keyframeRequestsReceived", "pliSent")))
        print(f"run time {time.monotonic() - started:.0f} s")

        assert clean.mean_fps >= 5, f"0 % run decodes only {clean.mean_fps:.1f} fps per track: {clean.fps}"
        assert clean.server.get("nacksReceived", 0) == 0 and clean.server.get("retransmissionsSent", 0) == 0, clean.server
        assert lossy.relay["up"]["dropped"] > 0 and lossy.relay["down"]["dropped"] > 0, lossy.relay
        # Not asserted: aiortc's own frame rate at 3 %. Its receiver stalls there
        # with the server from before loss repair and with this one alike (3-31
        # frames in 30 s per track; docs/LOSS.md): it asks again for a packet only
        # when a new gap appears and sends PLI only when its jitter buffer
        # overflows. What this test holds Cohort to is the repair itself, with a
        # second, independent stack on both ends of it.
        print(f"  aiortc frame rate at 3 %: {lossy.mean_fps / clean.mean_fps:.0%} of the 0 % run's")
        s = lossy.server
        assert s.get("nacksReceived", 0) > 0, f"3 %: aiortc receivers sent no NACK: {s}"
        assert s.get("retransmissionsSent", 0) > 0, f"3 %: the server retransmitted nothing: {s}"
        assert s.get("nacksSent", 0) > 0, f"3 %: the server NACKed no publisher: {s}"
        assert s.get("packetsRecovered", 0) > 0, f"3 %: no NACKed packet came back from a publisher: {s}"
        if lossy.rtx_for_publishers:
            assert s.get("rtxReceived", 0) > 0, f"3 %: rtx negotiated with aiortc, but no RTX arrived: {s}"

    run(scenario(), timeout=150)
