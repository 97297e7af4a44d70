"""An aiortc participant in its own process, so that many participants do not
share one Python interpreter (and one core).  The parent talks to it over a
pipe; each call is one request and one reply."""

from __future__ import annotations

import asyncio
import multiprocessing
from typing import Any


def _serve(conn, name: str, hz: float, kwargs: dict) -> None:  # runs in the child
    import conftest  # noqa: F401  (path and the loopback ICE patch)
    from peer import AiortcParticipant
    from tones import OnsetTracker, frame_matches, tone_levels_db, windows_of

    async def main() -> None:
        loop = asyncio.get_running_loop()
        trackers: dict = {}  # (since, expected, slot) → OnsetTracker
        peer = AiortcParticipant(name, hz, **kwargs.get("peer", {}))
        if "amplitude" in kwargs:
            peer.audio_track.amplitude = kwargs["amplitude"]

        def audio(slot: int):  # the SampleBuffer of audio receive slot `slot`
            return peer.recorders[peer.slot_mids()[0][slot]].audio
        while True:
            op, args = await loop.run_in_executor(None, conn.recv)
            try:
                if op == "join":
                    ws_url, token, display, mode = args
                    result: Any = await peer.join_cohort(ws_url, token, display, audio_mode=mode)
                elif op == "onset":
                    # Arrival time of the first frame since `since` from which
                    # audio slot number `slot` holds exactly `expected`.
                    since, candidates, expected, slot = args
                    buf = audio(slot)
                    key = (since, tuple(expected), slot)
                    if buf.rate and key not in trackers:
                        trackers[key] = OnsetTracker(since, buf.rate, candidates, set(expected))
                    result = trackers[key].update(buf.frames_since(since)) if key in trackers else None
                elif op == "onset_trace":
                    # Why an onset was not found: which analysis windows since `since` matched
                    # (1) or not (0), and the levels of the last few windows.
                    since, candidates, expected, slot = args
                    tracker = trackers.get((since, tuple(expected), slot))
                    buf = audio(slot)
                    frames = buf.frames_since(since)
                    result = {"matches": "".join("1" if r else "0" for r in tracker.results) if tracker else None,
                              "frames": len(frames),
                              "last": [[round(v) for v in tone_levels_db(w, buf.rate, candidates).values()]
                                       for w in windows_of(frames[-12:])] if buf.rate else []}
                elif op == "span":
                    # How many analysis windows since `since` hold exactly `expected`, of how many.
                    since, candidates, expected, slot = args
                    buf = audio(slot)
                    frames = buf.frames_since(since)
                    windows = windows_of(frames)
                    result = (sum(frame_matches(w, buf.rate, candidates, set(expected)) for w in windows), len(windows))
                elif op == "video_frames":
                    result = peer.video_frames_by_mid()
                elif op == "state":
                    s = peer.signalling.state
                    result = {"slots": s.slots, "other": s.other, "participant_id": s.participant_id}
                elif op == "request":
                    result = await peer.signalling.request(args[0])
                elif op == "summary":
                    result = peer.summary(args[0])
                elif op == "close":
                    await peer.close()
                    conn.send(("ok", None))
                    return
                else:
                    raise ValueError(op)
                conn.send(("ok", result))
            except Exception as error:  # reported to the parent, which fails the test
                conn.send(("error", repr(error)))

    asyncio.run(main())


class RemotePeer:
    """Proxy for an AiortcParticipant running in a child process."""

    def __init__(self, name: str, hz: float, **kwargs: Any) -> None:
        self.name = name
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(target=_serve, args=(child, name, hz, kwargs), daemon=True)
        self._process.start()
        self._lock = asyncio.Lock()

    async def call(self, op: str, *args: Any, timeout: float = 20.0) -> Any:
        async with self._lock:
            loop = asyncio.get_running_loop()
            self._conn.send((op, args))
            ready = await loop.run_in_executor(None, self._conn.poll, timeout)
            if not ready:
                raise AssertionError(f"{self.name}: no reply to {op} within {timeout} s")
            status, value = self._conn.recv()
        if status != "ok":
            raise AssertionError(f"{self.name}: {op} failed: {value}")
        return value

    async def close(self) -> None:
        try:
            await self.call("close", timeout=5)
        except Exception:
            pass
        self._process.join(5)
        if self._process.is_alive():
            self._process.kill()
