"""aiortc test participants.

``AiortcParticipant`` is a Cohort client: it offers one sendonly audio
(Opus, a pure sine of its own frequency) and one sendonly video (VP8, colour
bars, or one solid colour with ``video_colour``), then K recvonly audio and
K recvonly video *slots*.  Every receive
slot is recorded: decoded audio samples and decoded video frame counts per
mid, so a test can ask which tones are heard in which slot.

``AiortcSlotFiller`` plays the server's part without a server: it answers a
participant's offer directly and sends its own tone and video into the first
audio and video slot.  It lets the harness be validated peer to peer.
"""

from __future__ import annotations

import asyncio
import fractions
import re
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

import aioice_loopback  # noqa: F401  (patches ICE gathering on import)
import av
import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcconfiguration import RTCBundlePolicy
from signalling import CohortSignalling
from tones import VIDEO_CLOCK_RATE, ColourBarsTrack, SampleBuffer, ToneTrack, _Pacer, present_tones, tone_strengths


class SolidColourTrack(MediaStreamTrack):
    """Every frame one solid RGB colour, ``width`` x ``height`` at ``fps``:
    a receiver can tell whose picture it shows from any pixel of it."""

    kind = "video"

    def __init__(self, rgb: tuple[int, int, int], width: int = 160, height: int = 120, fps: float = 15.0) -> None:
        super().__init__()
        self.fps = fps
        self._pacer = _Pacer(1.0 / fps)
        self._image = np.ascontiguousarray(np.broadcast_to(np.array(rgb, dtype=np.uint8), (height, width, 3)))
        self._time_base = fractions.Fraction(1, VIDEO_CLOCK_RATE)

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        index = await self._pacer.next()
        frame = av.VideoFrame.from_ndarray(self._image, format="rgb24")
        frame.pts = int(round(index * VIDEO_CLOCK_RATE / self.fps))
        frame.time_base = self._time_base
        return frame

# ---------------------------------------------------------------------------
# SDP helpers (just enough to find m-sections, their mids and directions)
# ---------------------------------------------------------------------------


@dataclass
class MediaSection:
    """One m-section of an SDP: kind, mid and direction attribute."""

    kind: str
    mid: str | None
    direction: str
    port: int


_DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")


def media_sections(sdp: str) -> list[MediaSection]:
    """Parse the m-sections of ``sdp`` (RFC 8866 §5.14, direction §6.7)."""
    sections: list[MediaSection] = []
    for line in sdp.splitlines():
        line = line.strip()
        if line.startswith("m="):
            parts = line[2:].split()
            sections.append(MediaSection(parts[0], None, "sendrecv", int(parts[1])))
        elif sections and line.startswith("a=mid:"):
            sections[-1].mid = line[len("a=mid:"):]
        elif sections and line[2:] in _DIRECTIONS and line.startswith("a="):
            sections[-1].direction = line[2:]
    return sections


def candidate_addresses(sdp: str) -> set[str]:
    """Connection addresses of every a=candidate line."""
    return {m.group(1) for m in re.finditer(r"a=candidate:\S+ \d+ \S+ \d+ (\S+) \d+", sdp)}


# ---------------------------------------------------------------------------
# Recording of received tracks
# ---------------------------------------------------------------------------


@dataclass
class MidRecorder:
    """What arrived on one receiving transceiver."""

    mid: str
    kind: str
    audio: SampleBuffer = field(default_factory=SampleBuffer)
    video_frames: int = 0
    video_size: tuple[int, int] | None = None
    # Mean luma (0-255) of every 5th decoded frame's Y plane, latest last
    # (bounded): what the frames show, e.g. black for a camera turned off.
    video_luma: list[float] = field(default_factory=list)
    first_frame_at: float | None = None
    last_frame_at: float | None = None
    ended: bool = False
    task: asyncio.Task | None = None
    # Audio only: (arrival monotonic s, pts in samples) of every decoded
    # frame, to find gaps (a lost packet shows as a pts jump).
    audio_timeline: list[tuple[float, int]] = field(default_factory=list)
    # Audio only: (arrival monotonic s, RTP sequence number) of every packet
    # the receiver took after SRTP, before aiortc's jitter buffer (which,
    # after one lost packet, holds 16 packets, 320 ms, before it skips it:
    # decoded frames show one loss as a 320 ms stall).
    rtp_timeline: list[tuple[float, int]] = field(default_factory=list)

    def watch_packets(self, receiver) -> None:
        """Records the arrival of every RTP packet ``receiver`` handles."""
        handle = receiver._handle_rtp_packet
        timeline = self.rtp_timeline

        async def recorded(packet, arrival_time_ms):
            timeline.append((time.monotonic(), packet.sequence_number))
            await handle(packet, arrival_time_ms)

        receiver._handle_rtp_packet = recorded

    async def consume(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await track.recv()
                now = time.monotonic()
                if self.first_frame_at is None:
                    self.first_frame_at = now
                self.last_frame_at = now
                if self.kind == "audio":
                    self.audio.append_frame(frame)
                    if frame.pts is not None:
                        self.audio_timeline.append((now, frame.pts))
                else:
                    self.video_frames += 1
                    self.video_size = (frame.width, frame.height)
                    if self.video_frames % 5 == 1:
                        self.video_luma.append(float(frame.to_ndarray(format="gray").mean()))
                        del self.video_luma[:-50]
        except MediaStreamError:
            pass
        finally:
            self.ended = True


class _RecordingPeer:
    """A peer connection whose receiving transceivers are all recorded."""

    def __init__(self, name: str, tone_hz: float, video: bool, video_format: tuple[int, int, int] = (320, 240, 15),
                 video_colour: tuple[int, int, int] | None = None) -> None:
        self.name = name
        self.tone_hz = tone_hz
        config = RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
        self.pc = RTCPeerConnection(configuration=config)
        self.audio_track = ToneTrack(tone_hz)
        self.video_track = (None if not video else SolidColourTrack(video_colour, *video_format) if video_colour
                            else ColourBarsTrack(*video_format))
        self.recorders: dict[str, MidRecorder] = {}
        self.created_at = time.monotonic()
        self.connected_at: float | None = None
        self._connected = asyncio.Event()

        @self.pc.on("connectionstatechange")
        def _on_state() -> None:
            if self.pc.connectionState == "connected" and self.connected_at is None:
                self.connected_at = time.monotonic()
                self._connected.set()

    def _record_new_tracks(self) -> None:
        for t in self.pc.getTransceivers():
            track = t.receiver.track
            if t.mid is None or track is None or t.mid in self.recorders:
                continue
            recorder = MidRecorder(t.mid, t.kind)
            if t.kind == "audio":
                recorder.watch_packets(t.receiver)
            recorder.task = asyncio.create_task(recorder.consume(track), name=f"{self.name}-recv-{t.mid}")
            self.recorders[t.mid] = recorder

    # -- queries -----------------------------------------------------------

    def audio_mids(self) -> list[str]:
        """Mids being recorded that carry audio."""
        return [m for m, r in self.recorders.items() if r.kind == "audio"]

    def video_frames_by_mid(self) -> dict[str, int]:
        """Decoded video frames so far, per receiving mid."""
        return {m: r.video_frames for m, r in self.recorders.items() if r.kind == "video"}

    def audio_seconds_by_mid(self) -> dict[str, float]:
        """Seconds of decoded audio collected, per receiving mid."""
        return {m: r.audio.seconds for m, r in self.recorders.items() if r.kind == "audio"}

    def heard_tones(
        self,
        candidates: Iterable[float],
        mid: str | None = None,
        *,
        threshold_db: float = 25.0,
        window_s: float = 2.0,
    ) -> dict[str, set[float]] | set[float]:
        """Tones audible in the last ``window_s`` seconds.

        With ``mid``: the set heard on that mid.  Without: a dict mid → set
        for every receiving audio mid that has decoded anything.
        """
        candidates = list(candidates)
        if mid is not None:
            buf = self.recorders[mid].audio
            if buf.rate is None:
                return set()
            return present_tones(buf.last(window_s), buf.rate, candidates, threshold_db, window_s=None)
        return {
            m: self.heard_tones(candidates, m, threshold_db=threshold_db, window_s=window_s)
            for m in self.audio_mids()
            if self.recorders[m].audio.rate is not None
        }

    def all_heard_tones(self, candidates: Iterable[float], **kwargs) -> set[float]:
        """Union of ``heard_tones`` over every audio mid."""
        heard: set[float] = set()
        for tones_ in self.heard_tones(candidates, **kwargs).values():
            heard |= tones_
        return heard

    def tone_strengths(self, candidates: Iterable[float], mid: str, window_s: float = 2.0) -> dict[float, float]:
        """dB above the noise floor of each candidate on ``mid``."""
        buf = self.recorders[mid].audio
        if buf.rate is None or buf.seconds == 0:
            return {float(c): 0.0 for c in candidates}
        return tone_strengths(buf.last(window_s), buf.rate, candidates, window_s=None)

    def first_frame_delay(self, mid: str) -> float | None:
        """Seconds from connection (or creation) to the first frame on ``mid``."""
        r = self.recorders.get(mid)
        if r is None or r.first_frame_at is None:
            return None
        return r.first_frame_at - (self.connected_at or self.created_at)

    def summary(self, candidates: Iterable[float] = ()) -> str:
        """One line per receiving mid: frames, seconds and tones heard."""
        candidates = list(candidates)
        lines = [f"{self.name}: connection {self.pc.connectionState}"]
        for mid, r in sorted(self.recorders.items(), key=lambda kv: int(kv[0]) if kv[0].isdigit() else 0):
            if r.kind == "video":
                lines.append(f"  mid {mid} video: {r.video_frames} frames {r.video_size or ''}")
            else:
                heard = sorted(self.heard_tones(candidates, mid)) if candidates else []
                lines.append(f"  mid {mid} audio: {r.audio.seconds:.2f} s, tones {heard}")
        return "\n".join(lines)

    async def wait_connected(self, timeout: float = 15.0) -> None:
        """Wait for connectionState "connected" (AssertionError otherwise)."""
        try:
            await asyncio.wait_for(self._connected.wait(), timeout)
        except asyncio.TimeoutError:
            raise AssertionError(
                f"{self.name}: not connected within {timeout} s (state {self.pc.connectionState})"
            ) from None

    async def wait_until(
        self,
        predicate: Callable[[], bool],
        timeout: float,
        interval: float = 0.1,
        candidates: Iterable[float] = (),
    ) -> None:
        """Poll ``predicate`` until it holds; AssertionError with a summary
        of what was received (tones among ``candidates``) otherwise."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met within {timeout} s\n{self.summary(candidates)}")
            await asyncio.sleep(interval)

    async def close(self) -> None:
        """Close the peer connection and stop recording (bounded, idempotent)."""
        try:
            await asyncio.wait_for(self.pc.close(), 5)
        except Exception:
            pass
        for r in self.recorders.values():
            if r.task is not None and not r.task.done():
                r.task.cancel()
        await asyncio.gather(*(r.task for r in self.recorders.values() if r.task), return_exceptions=True)
        self.audio_track.stop()
        if self.video_track is not None:
            self.video_track.stop()


async def _wait_gathering_complete(pc: RTCPeerConnection, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while pc.iceGatheringState != "complete":
        if time.monotonic() > deadline:
            raise TimeoutError("ICE gathering did not complete")
        await asyncio.sleep(0.02)


class AiortcParticipant(_RecordingPeer):
    """A Cohort client built on aiortc (see module docstring)."""

    def __init__(self, name: str, tone_hz: float, slots: int = 4, video: bool = True,
                 video_format: tuple[int, int, int] = (320, 240, 15), video_slots: int | None = None,
                 video_colour: tuple[int, int, int] | None = None) -> None:
        super().__init__(name, tone_hz, video, video_format, video_colour)
        self.slots = slots
        self.send_audio = self.pc.addTransceiver(self.audio_track, direction="sendonly")
        self.send_video = self.pc.addTransceiver(self.video_track or "video", direction="sendonly" if video else "inactive")
        self.audio_slots = [self.pc.addTransceiver("audio", direction="recvonly") for _ in range(slots)]
        self.video_slots = [self.pc.addTransceiver("video", direction="recvonly")
                            for _ in range(slots if video_slots is None else video_slots)]
        self.signalling: CohortSignalling | None = None
        self.joined: dict | None = None

    async def build_offer(self, timeout: float = 10.0) -> str:
        """Create the offer, wait for ICE gathering, return the complete SDP."""
        offer = await self.pc.createOffer()
        await self.pc.setLocalDescription(offer)
        await _wait_gathering_complete(self.pc, timeout)
        return self.pc.localDescription.sdp

    async def accept_answer(self, sdp: str) -> None:
        """Apply the answer and start recording every slot that will receive."""
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
        self._record_new_tracks()

    def slot_mids(self) -> tuple[list[str], list[str]]:
        """(audio slot mids, video slot mids), in offer order."""
        return [t.mid for t in self.audio_slots], [t.mid for t in self.video_slots]

    async def join_cohort(
        self,
        ws_url: str,
        token: str,
        name: str | None = None,
        *,
        audio_mode: str = "forward",
        timeout: float = 15.0,
    ) -> dict:
        """Join a Cohort server: offer, ``join``, apply the answer.

        Returns the ``joined`` message; later ``slots``/``roster`` events are
        kept in ``self.signalling.state`` with their arrival times.
        """
        self.signalling = CohortSignalling(ws_url, timeout=timeout)
        await self.signalling.connect()
        offer = await self.build_offer(timeout)
        self.joined = await self.signalling.join(token, name or self.name, offer, audio_mode)
        await self.accept_answer(self.joined["sdp"])
        return self.joined

    async def close(self) -> None:
        if self.signalling is not None:
            try:
                await self.signalling.leave()
            except Exception:
                pass
            await self.signalling.close()
        await super().close()


class AiortcSlotFiller(_RecordingPeer):
    """Answers an ``AiortcParticipant`` offer directly, filling its first
    audio slot with this peer's tone and first video slot with its video."""

    async def answer_offer(self, sdp: str, timeout: float = 10.0) -> str:
        """Apply ``sdp`` (offer) and return the complete answer SDP."""
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        sections = {s.mid: s for s in media_sections(sdp)}
        filled: set[str] = set()
        for t in self.pc.getTransceivers():
            s = sections.get(t.mid)
            if s is None or s.direction != "recvonly" or t.kind in filled:
                continue
            track = self.audio_track if t.kind == "audio" else self.video_track
            if track is None:
                continue
            t.direction = "sendonly"
            t.sender.replaceTrack(track)
            filled.add(t.kind)
        answer = await self.pc.createAnswer()
        await self.pc.setLocalDescription(answer)
        await _wait_gathering_complete(self.pc, timeout)
        self._record_new_tracks()
        return self.pc.localDescription.sdp
