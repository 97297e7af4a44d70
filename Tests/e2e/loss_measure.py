"""Measures a three-person Chromium call through Cohort on an impaired path.

Shared by ``test_loss_chromium.py`` (which asserts on it) and
``loss_table.py`` (which prints before/after tables for docs/LOSS.md).

One *level* (a loss percentage) = a fresh server (``--announce 127.0.0.2``,
debug logging for its counters), a fresh ``impair_relay.py`` in front of it,
and three fresh pages of the server's own web client (one per Chromium
process, reused across levels), each publishing Chromium's fake camera
(640x480) and microphone and receiving the other two.  After every page
decodes video from both others, a warm-up lets the bandwidth estimate and
the encoder settle; then ``getStats()`` is read on every page at the start
and the end of a window, and everything reported is a delta over that window
(never a total since join).  The server's counters come from its
``engine counters`` debug line (every 2 s), so their window is the same
within 2 s.
"""

from __future__ import annotations

import asyncio
import math
import re
import statistics
import time
from dataclasses import dataclass, field

from chromium import Chromium, DevToolsError, Page
from cohort_server import WEB_ROOT, CohortServer
from impair_relay import LISTEN_HOST, RelayProcess
from test_call_chromium import click_join, slot_mids, wait_page

NAMES = ["ann", "bea", "cal"]

# Everything the tables use from getStats (per RTP stream), plus the
# performance.now() and report timestamp of the read.
STATS_JS = """
(async () => {
  const pc = cohort.state.pc;
  const report = await pc.getStats();
  const pick = (s, keys) => Object.fromEntries(keys.map((k) => [k, s[k] ?? null]));
  const client = cohort.state.client;
  const out = { now: performance.now(), state: pc.connectionState, inbound: [], outbound: [], rtt: null,
                playoutTarget: client ? client.playoutTarget : null };
  report.forEach((s) => {
    if (s.type === "inbound-rtp") out.inbound.push(pick(s, ["mid", "kind", "ssrc", "timestamp", "packetsReceived",
      "packetsLost", "framesDecoded", "keyFramesDecoded", "framesDropped", "freezeCount", "totalFreezesDuration",
      "pauseCount", "totalPausesDuration", "nackCount", "pliCount", "firCount", "retransmittedPacketsReceived",
      "concealedSamples", "totalSamplesReceived", "frameWidth", "frameHeight", "jitterBufferDelay",
      "jitterBufferEmittedCount"]));
    else if (s.type === "outbound-rtp") out.outbound.push(pick(s, ["mid", "kind", "ssrc", "timestamp", "packetsSent",
      "framesEncoded", "keyFramesEncoded", "retransmittedPacketsSent", "nackCount", "pliCount", "firCount",
      "frameWidth", "frameHeight", "qualityLimitationReason", "targetBitrate"]));
    else if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded") out.rtt = s.currentRoundTripTime ?? null;
  });
  return out;
})()
"""

COUNTERS = re.compile(r"counters=EngineCounters\((.*?)\) loop=(\d+)")


def engine_counters(log: list[str]) -> dict[str, int]:
    """The latest ``engine counters`` line of each loop, summed over loops."""
    latest: dict[str, dict[str, int]] = {}
    for line in log:
        m = COUNTERS.search(line)
        if m:
            latest[m.group(2)] = {k: int(v) for k, v in re.findall(r"(\w+): (-?\d+)", m.group(1))}
    total: dict[str, int] = {}
    for counters in latest.values():
        for k, v in counters.items():
            total[k] = total.get(k, 0) + v
    return total


def media_section(sdp: str, mid: str) -> str:
    """The m-section of ``sdp`` whose a=mid is ``mid`` ("" if none)."""
    for section in sdp.split("\nm=")[1:]:
        if re.search(rf"^a=mid:{re.escape(mid)}\r?$", section, re.M):
            return section
    return ""


def delta(after: dict, before: dict) -> dict:
    return {k: v - (before.get(k) or 0) for k, v in after.items() if isinstance(v, (int, float))}


@dataclass
class Track:
    """One received video track (receiver ← publisher) over the window."""

    receiver: str
    publisher: str
    seconds: float
    frames: int
    freezes: int
    freeze_seconds: float
    nacks: int
    plis: int
    keyframes: int
    rtx: int
    lost: int
    received: int
    size: str
    # Mean time a frame spent in the jitter buffer over the window, ms.
    buffer_ms: float = float("nan")

    @property
    def fps(self) -> float:
        return self.frames / self.seconds


@dataclass
class Level:
    """Everything measured at one loss percentage."""

    loss_percent: float
    window: float
    tracks: list[Track] = field(default_factory=list)
    # publisher → outbound video deltas (keyFramesEncoded, retransmittedPacketsSent, …)
    senders: dict[str, dict] = field(default_factory=dict)
    # receiver ← publisher → (concealed, received) audio samples
    audio: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    server: dict[str, int] = field(default_factory=dict)
    relay: dict = field(default_factory=dict)
    rtt_ms: list[float] = field(default_factory=list)
    setup_seconds: float = 0.0
    # Whether every page's answer accepted rtx for its own video and
    # declared an RTX SSRC (FID group) on every filled video slot.
    rtx_negotiated: bool = False
    # receiver ← publisher → mean audio jitter buffer delay over the window, ms
    audio_buffer_ms: dict[tuple[str, str], float] = field(default_factory=dict)
    # receiver → the web client's video playout target at the end of the window (ms, None: the browser's)
    playout_targets: dict[str, float | None] = field(default_factory=dict)
    # The server's downlink estimates and allocation changes over the level (debug log lines).
    downlink_log: list[str] = field(default_factory=list)

    @property
    def fps(self) -> float:
        """Decoded frames per second per received video track (mean over the six)."""
        return sum(t.frames for t in self.tracks) / sum(t.seconds for t in self.tracks)

    @property
    def freeze_fraction(self) -> float:
        """Freeze time over window time, all received video tracks together."""
        return sum(t.freeze_seconds for t in self.tracks) / sum(t.seconds for t in self.tracks)

    @property
    def keyframes_per_second(self) -> dict[str, float]:
        return {p: s["keyFramesEncoded"] / s["seconds"] for p, s in self.senders.items()}

    @property
    def concealed_fraction(self) -> float:
        concealed = sum(c for c, _ in self.audio.values())
        total = sum(n for _, n in self.audio.values())
        return concealed / total if total else float("nan")

    @property
    def video_buffer_ms(self) -> float:
        """Mean jitter buffer delay of the received video tracks, ms."""
        values = [t.buffer_ms for t in self.tracks if not math.isnan(t.buffer_ms)]
        return statistics.fmean(values) if values else float("nan")

    @property
    def audio_buffer(self) -> float:
        """Mean jitter buffer delay of the received audio tracks, ms."""
        values = [v for v in self.audio_buffer_ms.values() if not math.isnan(v)]
        return statistics.fmean(values) if values else float("nan")

    def total(self, key: str) -> int:
        return sum(getattr(t, key) for t in self.tracks)

    def relay_loss(self) -> tuple[float, float]:
        """Fraction of datagrams the relay dropped in the window, (up, down)."""
        out = []
        for d in ("up", "down"):
            r = self.relay.get(d, {})
            out.append(r.get("dropped", 0) / r["received"] if r.get("received") else float("nan"))
        return out[0], out[1]


async def read_stats(page: Page) -> dict:
    return await page.evaluate(STATS_JS, timeout=10)


def _relay_totals(stats: dict | None) -> dict:
    return stats["totals"] if stats else {"up": {}, "down": {}}


async def measure_level(browsers: list[Chromium], loss_percent: float, *, binary: str, seed: int = 1,
                        warmup: float = 3.0, window: float = 15.0, grace: float = 0.0,
                        log=print) -> Level:  # noqa: ANN001
    """One level (see the module docstring): returns its ``Level``."""
    level = Level(loss_percent, window)
    with CohortServer(web_root=WEB_ROOT, announce=LISTEN_HOST, log_level="debug", binary=binary) as server:
        assert server.media_ports, "no media ports in the server's log:\n" + "\n".join(server.log[:5])
        lifetime = 30 + warmup + window + 30
        with RelayProcess(server.media_ports, loss_percent / 100, seed=seed, lifetime=lifetime, grace=grace) as relay:
            pages: dict[str, Page] = {}
            try:
                for name, browser in zip(NAMES, browsers):
                    pages[name] = await browser.new_page(f"{server.base_url}?token={server.token(name)}")
                started = time.monotonic()
                await asyncio.gather(*(click_join(p) for p in pages.values()))
                pid = {}
                for name, page in pages.items():
                    pid[name] = await wait_page(page, "cohort.state.joined && cohort.state.participantId",
                                                f"{name} joined", 20)
                by_pid = {v: k for k, v in pid.items()}
                # Media is up when every page decodes video from both others.
                deadline = time.monotonic() + 30
                while True:
                    ready = True
                    for name, page in pages.items():
                        mids = await slot_mids(page)
                        stats = {s["mid"]: s for s in (await read_stats(page))["inbound"]}
                        for other in NAMES:
                            mid = mids.get((pid[other], "camera")) if other != name else None
                            if other != name and (mid is None or (stats.get(mid, {}).get("framesDecoded") or 0) < 5):
                                ready = False
                    if ready:
                        break
                    if time.monotonic() > deadline:
                        raise AssertionError(f"{loss_percent} %: media did not start within 30 s; relay {relay.stats}; "
                                             f"server {engine_counters(server.log)}")
                    await asyncio.sleep(0.25)
                level.setup_seconds = time.monotonic() - started
                await asyncio.sleep(warmup)

                # --- the window
                mids = {name: await slot_mids(page) for name, page in pages.items()}
                level.rtx_negotiated = True
                cameras: dict[str, str] = {}
                for name, page in pages.items():
                    sdp = await page.evaluate("cohort.state.pc.remoteDescription.sdp")
                    own = await page.evaluate("cohort.state.pc.getTransceivers().find((t) => t.sender.track && t.sender.track.kind === 'video').mid")
                    cameras[name] = own
                    video = [mid for (_, track), mid in mids[name].items() if track == "camera"] + [own]
                    level.rtx_negotiated &= all("rtx/90000" in media_section(sdp, mid) for mid in video)
                before = await asyncio.gather(*(read_stats(p) for p in pages.values()))
                server_before, relay_before = engine_counters(server.log), _relay_totals(relay.stats)
                await asyncio.sleep(window)
                after = await asyncio.gather(*(read_stats(p) for p in pages.values()))
                server_after, relay_after = engine_counters(server.log), _relay_totals(relay.stats)
                for name, page in pages.items():
                    assert await slot_mids(page) == mids[name], f"{name}'s slot map changed during the window"
            except (AssertionError, DevToolsError) as e:
                notes = [l for l in server.log if "counters" not in l][-25:]
                raise AssertionError(f"{e}\nserver log:\n" + "\n".join(notes) + f"\nrelay: {relay.stats} {relay.errors[-20:]}\ncounters: {engine_counters(server.log)}") from None
            finally:
                for page in pages.values():
                    try:
                        await page.browser.send("Target.closeTarget", {"targetId": page.target_id}, timeout=5)
                    except Exception:
                        pass
                    if page in page.browser.pages:
                        page.browser.pages.remove(page)
        level.server = delta(server_after, server_before)
        level.downlink_log = [l for l in server.log if "downlink estimate" in l or "downlink changed" in l]
        level.relay = {d: delta(relay_after[d], relay_before.get(d, {})) for d in ("up", "down")}

    for name, b, a in zip(pages, before, after):
        assert a["state"] == "connected", f"{name}: connection {a['state']} at the end of the window"
        if a["rtt"] is not None:
            level.rtt_ms.append(a["rtt"] * 1000)
        inbound0 = {s["mid"]: s for s in b["inbound"]}
        mid_of = {v: k for k, v in mids[name].items()}  # mid → (participantId, track)
        for s1 in a["inbound"]:
            source = mid_of.get(s1["mid"])
            if source is None:
                continue
            s0 = inbound0.get(s1["mid"], {})
            d = delta(s1, s0)
            publisher = by_pid[source[0]]
            seconds = (s1["timestamp"] - s0["timestamp"]) / 1000 if s0 else window
            emitted = d.get("jitterBufferEmittedCount", 0)
            buffer_ms = d.get("jitterBufferDelay", 0.0) / emitted * 1000 if emitted else float("nan")
            if s1["kind"] == "video":
                level.tracks.append(Track(
                    name, publisher, seconds, int(d.get("framesDecoded", 0)), int(d.get("freezeCount", 0)),
                    float(d.get("totalFreezesDuration", 0.0)), int(d.get("nackCount", 0)), int(d.get("pliCount", 0)),
                    int(d.get("keyFramesDecoded", 0)), int(d.get("retransmittedPacketsReceived", 0)),
                    int(d.get("packetsLost", 0)), int(d.get("packetsReceived", 0)),
                    f"{s1.get('frameWidth')}x{s1.get('frameHeight')}", buffer_ms))
            else:
                level.audio[(name, publisher)] = (int(d.get("concealedSamples", 0)), int(d.get("totalSamplesReceived", 0)))
                level.audio_buffer_ms[(name, publisher)] = buffer_ms
        level.playout_targets[name] = a.get("playoutTarget")
        # The camera's sender by its mid: the screen-share sender (no track
        # unless sharing) reports a video outbound-rtp too. With simulcast the
        # camera reports one outbound-rtp per layer (rid): each layer is its own
        # stream with its own keyframes, so the sender's keyframe count is its
        # busiest layer's; frames, size and limit are the top layer's; RTX,
        # NACKs and PLIs are summed.
        outbound0 = {s["ssrc"]: s for s in b["outbound"]}
        layers = []
        for s1 in a["outbound"]:
            if s1["mid"] != cameras[name]:
                continue
            s0 = outbound0.get(s1["ssrc"], {})
            d = delta(s1, s0)
            d["seconds"] = (s1["timestamp"] - s0["timestamp"]) / 1000 if s0 else window
            d["size"] = f"{s1.get('frameWidth')}x{s1.get('frameHeight')}"
            d["width"] = s1.get("frameWidth") or 0
            d["limit"] = s1.get("qualityLimitationReason")
            layers.append(d)
        if layers:
            top = dict(max(layers, key=lambda d: d["width"]))
            top["keyFramesEncoded"] = max(d.get("keyFramesEncoded", 0) for d in layers)
            for key in ("retransmittedPacketsSent", "nackCount", "pliCount"):
                top[key] = sum(d.get(key, 0) for d in layers)
            top["layers"] = len(layers)
            level.senders[name] = top
    log(f"  {loss_percent:g} %: media up {level.setup_seconds:.1f} s after the clicks; window {window:g} s")
    return level


def table(levels: list[Level]) -> str:
    """The Markdown table of the levels (one row each)."""
    head = ("| loss per direction | relay dropped up/down | video fps per track (min) | freeze time | freezes "
            "| NACKs sent (receivers) | RTX received | PLIs sent | keyframes decoded | keyframes encoded/s (max publisher) "
            "| RTX sent by publishers | audio concealed | jitter buffer video / audio (ms) | playout target (ms) "
            "| server: NACKs in / retransmitted / NACKs to publishers / recovered / PLIs to publishers |")
    rows = [head, "|" + "---|" * (head.count("|") - 1)]
    for lv in levels:
        up, down = lv.relay_loss()
        kf = lv.keyframes_per_second
        s = lv.server
        rows.append(
            f"| {lv.loss_percent:g} % | {up * 100:.1f} % / {down * 100:.1f} % "
            f"| {lv.fps:.1f} ({min(t.fps for t in lv.tracks):.1f}) | {lv.freeze_fraction * 100:.2f} % "
            f"| {lv.total('freezes')} | {lv.total('nacks')} | {lv.total('rtx')} | {lv.total('plis')} "
            f"| {lv.total('keyframes')} | {max(kf.values()):.2f} "
            f"| {sum(d.get('retransmittedPacketsSent', 0) for d in lv.senders.values())} "
            f"| {lv.concealed_fraction * 100:.2f} % | {lv.video_buffer_ms:.0f} / {lv.audio_buffer:.0f} "
            f"| {', '.join('-' if t is None else f'{t:g}' for _, t in sorted(lv.playout_targets.items()))} "
            f"| {s.get('nacksReceived', 0)} / {s.get('retransmissionsSent', 0)} / {s.get('nacksSent', 0)} / "
            f"{s.get('packetsRecovered', 0)} / {s.get('pliSent', 0)} |")
    return "\n".join(rows)


def details(level: Level) -> str:
    """Per-track and per-publisher lines of one level, for -s output."""
    lines = [f"{level.loss_percent:g} %: rtt {', '.join(f'{r:.0f}' for r in level.rtt_ms)} ms; server {level.server}"]
    for t in sorted(level.tracks, key=lambda t: (t.receiver, t.publisher)):
        lines.append(f"  {t.receiver} <- {t.publisher}: {t.fps:.1f} fps {t.size}, freezes {t.freezes} ({t.freeze_seconds:.2f} s), "
                     f"lost {t.lost}/{t.received + t.lost}, nack {t.nacks}, rtx {t.rtx}, pli {t.plis}, keyframes {t.keyframes}, "
                     f"buffer {t.buffer_ms:.0f} ms")
    for p, d in sorted(level.senders.items()):
        lines.append(f"  {p} sends {d['size']} ({d['limit']}, {d['layers']} layer(s)): {d.get('framesEncoded', 0) / d['seconds']:.1f} fps, "
                     f"keyframes {d.get('keyFramesEncoded', 0)}, rtx {d.get('retransmittedPacketsSent', 0)}, "
                     f"nacks in {d.get('nackCount', 0)}, plis in {d.get('pliCount', 0)}")
    for (r, p), (c, n) in sorted(level.audio.items()):
        lines.append(f"  {r} <- {p} audio: concealed {c}/{n} ({c / n * 100 if n else float('nan'):.2f} %), "
                     f"buffer {level.audio_buffer_ms.get((r, p), float('nan')):.0f} ms")
    lines.append(f"  playout targets: {level.playout_targets}")
    if level.server.get("videoSlotsPaused"):
        lines += ["  downlink (server log):"] + [f"    {l[l.find('cohort:') + 8:]}" for l in level.downlink_log[-40:]]
    return "\n".join(lines)
