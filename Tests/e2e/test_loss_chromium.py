"""Loss repair end to end: three headless Chromium participants through
Cohort on an impaired path, measured from ``getStats()``.

Each participant is the server's own web client in its own Chromium
(fake camera 640x480 and fake microphone), publishing camera and microphone
and receiving the other two.  Between every client and the server sits
``impair_relay.py`` (the server announces 127.0.0.2, where the relay
listens): each direction of each client's path loses X % of its datagrams
(independent, seeded) and is delayed 40 ± 10 ms in order, so a publisher's
packet crosses two lossy hops on its way to a subscriber.  Every level
X = 0, 1, 3, 5 % gets a fresh server, relay and pages; measurements are
deltas over a 15 s window after a 3 s warm-up (``loss_measure.py``).

Asserted against the 0 % run of the same test (so a busy machine does not
decide it): at 3 % the decoded frame rate is at least 80 % of the 0 % run's;
freeze time as a fraction of the window is at most 2 percentage points above
the 0 % run's (issue 11); no publisher encodes more than one keyframe per
second on average; receivers got retransmissions (RTX) and the server
retransmitted from its cache; every web client raised its video playout
delay while repairing (``RepairPlayout`` in cohort-client.js) and none did
on the clean link, so a clean call pays no latency for it.  At every level,
as a sanity check: the relay
dropped about what it was asked to, everyone stayed connected and decoded
video from both others in the window.  The whole table is printed.
"""

from __future__ import annotations

import asyncio
import math
import time

from chromium import Chromium
from cohort_server import BINARY
from conftest import run
from loss_measure import NAMES, Level, details, measure_level, table

LEVELS = [0.0, 1.0, 3.0, 5.0]
ASSERTED = 3.0
WARMUP = 3.0
WINDOW = 15.0
SEED = 11
# Issue 11: at 3 % the freeze time at most 2 points above the 0 % run's.
# Without the web client's loss-adaptive playout delay the excess was 2.0 ±
# 0.7 points (0.5-2.6 over ten runs): a repair that needs a second round trip
# outlasts a jitter buffer sized for jitter alone (docs/LOSS.md).
FREEZE_POINTS = 0.02


def check_sanity(level: Level) -> None:
    """Holds at every level: the impairment is what was asked for and the
    call works (everyone connected, every track decodes)."""
    x = level.loss_percent
    up, down = level.relay_loss()
    for name, measured in (("up", up), ("down", down)):
        if x == 0:
            assert level.relay[name]["dropped"] == 0, f"relay dropped at 0 %: {level.relay}"
        else:
            # Thousands of datagrams per direction in the window: allow four
            # binomial standard deviations (about 0.3 % at 3 % of 3 000).
            n = level.relay[name]["received"]
            sigma = math.sqrt(x / 100 * (1 - x / 100) / n) * 100
            assert abs(measured * 100 - x) <= 4 * sigma + 0.1, f"{x} %: relay dropped {measured:.2%} {name} of {n}: {level.relay}"
    assert len(level.tracks) == 6, f"{x} %: expected 6 received video tracks, got {[(t.receiver, t.publisher) for t in level.tracks]}"
    for t in level.tracks:
        assert t.frames > 0, f"{x} %: {t.receiver} decoded nothing from {t.publisher} in the window\n{details(level)}"
    assert sorted(level.senders) == sorted(NAMES), f"{x} %: senders {sorted(level.senders)}"
    assert len(level.audio) == 6, f"{x} %: audio tracks {sorted(level.audio)}"


def test_loss_repair_with_three_chromium_participants() -> None:
    async def scenario() -> None:
        started = time.monotonic()
        browsers = [Chromium() for _ in NAMES]
        try:
            await asyncio.gather(*(b.start() for b in browsers))
            levels: dict[float, Level] = {}
            print(f"\nloss levels {LEVELS} (% per direction per hop), warm-up {WARMUP:g} s, window {WINDOW:g} s, {BINARY}")
            for x in LEVELS:
                levels[x] = await measure_level(browsers, x, binary=BINARY, seed=SEED, warmup=WARMUP, window=WINDOW)
        finally:
            await asyncio.gather(*(b.close() for b in browsers), return_exceptions=True)
        for level in levels.values():
            print(details(level))
        print(table(list(levels.values())))
        print(f"run time {time.monotonic() - started:.0f} s")

        base, lossy = levels[0.0], levels[ASSERTED]
        for level in levels.values():
            check_sanity(level)
        # A baseline that barely decodes would make every ratio meaningless.
        assert base.fps >= 10, f"0 % run decodes only {base.fps:.1f} fps per track: machine too busy to judge\n{details(base)}"

        # Every rule is checked and every failure reported together.
        failures = []
        if lossy.fps < 0.8 * base.fps:
            failures.append(f"{lossy.fps:.1f} fps per track, under 80 % of the 0 % run's {base.fps:.1f}")
        excess = lossy.freeze_fraction - base.freeze_fraction
        print(f"freeze time at {ASSERTED:g} %: {lossy.freeze_fraction:.2%} vs {base.freeze_fraction:.2%} at 0 %, "
              f"{excess * 100:+.2f} points; video jitter buffer {lossy.video_buffer_ms:.0f} ms vs {base.video_buffer_ms:.0f} ms, "
              f"audio {lossy.audio_buffer:.0f} ms vs {base.audio_buffer:.0f} ms; playout targets {lossy.playout_targets}")
        if excess > FREEZE_POINTS:
            failures.append(f"frozen {lossy.freeze_fraction:.2%} of the window, more than {FREEZE_POINTS * 100:g} points "
                            f"over the 0 % run's {base.freeze_fraction:.2%}")
        for publisher, rate in sorted(lossy.keyframes_per_second.items()):
            if rate > 1.0:
                failures.append(f"{publisher} encoded {rate:.2f} keyframes/s")
        # NACKs answered: the receivers got retransmissions as RTX
        # (retransmittedPacketsReceived counts RTX only: Chromium reports it
        # only when rtx is negotiated), and the server sent them from its cache.
        if lossy.total("nacks") == 0:
            failures.append("no receiver sent a NACK")
        if lossy.total("rtx") == 0:
            failures.append(f"receivers got no RTX retransmission (rtx negotiated on every video slot: {lossy.rtx_negotiated})")
        if lossy.server.get("retransmissionsSent", 0) == 0:
            failures.append(f"the server retransmitted nothing: {lossy.server}")
        # The playout delay follows the loss: raised while repairing, the
        # browser's own on a clean link.
        if any(t is not None for t in base.playout_targets.values()):
            failures.append(f"a playout delay was asked for on the clean link: {base.playout_targets}")
        if sorted(lossy.playout_targets) != sorted(NAMES) or any(t is None for t in lossy.playout_targets.values()):
            failures.append(f"not every web client raised its playout delay while repairing: {lossy.playout_targets}")
        assert not failures, f"at {ASSERTED:g} %:\n  " + "\n  ".join(failures) + f"\n{details(lossy)}"

    run(scenario(), timeout=240)
