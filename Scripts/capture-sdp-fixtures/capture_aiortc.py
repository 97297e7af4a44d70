"""Capture real aiortc offers as SDP fixtures.

Run inside a loopback-only namespace so no traffic can leave the host:

    unshare -n sh -c 'ip link set lo up; \
        /work/main/.venv-e2e/bin/python Scripts/capture-sdp-fixtures/capture_aiortc.py \
        Tests/SDPTests/Fixtures'

Writes aiortc-audio-video.sdp (one sendrecv Opus audio + one sendrecv video)
and aiortc-cohort-client.sdp (1 send audio, 1 send video, 4 recvonly audio,
4 recvonly video: the shape Cohort's clients negotiate). aiortc's
setLocalDescription waits for ICE gathering, so candidates are present.
"""

import asyncio
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "e2e"))

import aioice_loopback  # noqa: E402
from aiortc import RTCConfiguration, RTCPeerConnection  # noqa: E402
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack  # noqa: E402


async def offer(build) -> str:
    # No ICE servers: aiortc would otherwise default to a public STUN server.
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        build(pc)
        await pc.setLocalDescription(await pc.createOffer())
        assert pc.iceGatheringState == "complete", pc.iceGatheringState
        return pc.localDescription.sdp
    finally:
        await pc.close()


def audio_video(pc: RTCPeerConnection) -> None:
    pc.addTransceiver(AudioStreamTrack(), direction="sendrecv")
    pc.addTransceiver(VideoStreamTrack(), direction="sendrecv")


def cohort_client(pc: RTCPeerConnection) -> None:
    pc.addTransceiver(AudioStreamTrack(), direction="sendonly")
    pc.addTransceiver(VideoStreamTrack(), direction="sendonly")
    for _ in range(4):
        pc.addTransceiver("audio", direction="recvonly")
    for _ in range(4):
        pc.addTransceiver("video", direction="recvonly")


async def main(out_dir: str) -> None:
    aioice_loopback.apply()
    for name, build in [("aiortc-audio-video.sdp", audio_video),
                        ("aiortc-cohort-client.sdp", cohort_client)]:
        sdp = await offer(build)
        if "a=candidate:" not in sdp:
            raise SystemExit(f"{name}: no candidate gathered")
        # Keep the exact bytes aiortc produced (CRLF line endings).
        with open(os.path.join(out_dir, name), "w", newline="") as f:
            f.write(sdp)
        print(f"wrote {name}: {len(sdp)} bytes")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "."))
