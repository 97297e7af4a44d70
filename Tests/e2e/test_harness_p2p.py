"""Validation of the e2e harness without the Cohort server.

Peers connect directly to each other over loopback.  If these pass, the
loopback ICE patch, the tone sources and analysis, the per-slot recorders
and the Chromium driver all work, so a failure in the server tests points
at the server.
"""

from __future__ import annotations

import asyncio
import time

import numpy as np
from chromium import CHROMIUM_FAKE_AUDIO_HZ, Chromium
from conftest import run
from peer import AiortcParticipant, AiortcSlotFiller, candidate_addresses, media_sections
from tones import dominant_frequency, present_tones, rms_dbfs

ALICE_HZ, BOB_HZ = 440.0, 660.0
TONES = [ALICE_HZ, BOB_HZ, 550.0, 880.0]


def test_two_aiortc_peers_hear_each_other_and_not_themselves() -> None:
    async def scenario() -> None:
        alice = AiortcParticipant("alice", ALICE_HZ, slots=4)
        bob = AiortcSlotFiller("bob", BOB_HZ, video=True)
        try:
            offer = await alice.build_offer()
            assert candidate_addresses(offer) == {"127.0.0.1"}
            assert [(s.kind, s.direction) for s in media_sections(offer)] == (
                [("audio", "sendonly"), ("video", "sendonly")] + [("audio", "recvonly")] * 4 + [("video", "recvonly")] * 4
            )
            answer = await bob.answer_offer(offer)
            assert candidate_addresses(answer) == {"127.0.0.1"}
            await alice.accept_answer(answer)
            await alice.wait_connected(timeout=10)

            audio_mids, video_mids = alice.slot_mids()
            a_audio, a_video = audio_mids[0], video_mids[0]
            own_audio, own_video = alice.send_audio.mid, alice.send_video.mid

            def settled() -> bool:
                return (
                    alice.heard_tones(TONES, a_audio) == {BOB_HZ}
                    and bob.heard_tones(TONES, own_audio) == {ALICE_HZ}
                    and alice.video_frames_by_mid().get(a_video, 0) >= 10
                    and bob.video_frames_by_mid().get(own_video, 0) >= 10
                )

            try:
                await alice.wait_until(settled, timeout=15, candidates=TONES)
            except AssertionError as e:
                raise AssertionError(f"{e}\n{bob.summary(TONES)}") from None
            print(
                f"\naiortc↔aiortc first frame after connect: alice audio {alice.first_frame_delay(a_audio):.3f} s, "
                f"video {alice.first_frame_delay(a_video):.3f} s; bob audio {bob.first_frame_delay(own_audio):.3f} s"
            )
            # Only the filled slots receive anything; the rest stay silent.
            assert set(alice.recorders) == {a_audio, a_video}
            assert set(bob.recorders) == {own_audio, own_video}
        finally:
            await alice.close()
            await bob.close()

    run(scenario(), timeout=30)


def test_chromium_and_aiortc_exchange_audio_and_video() -> None:
    async def scenario() -> None:
        started = time.monotonic()
        async with Chromium() as browser:
            page = await browser.new_page()
            tracks = await page.evaluate("cohortTest.getMedia({})")
            assert sorted(t["kind"] for t in tracks) == ["audio", "video"]
            # 660 Hz: well clear of the fake microphone's 400 Hz beep, whose
            # short envelope spreads energy some tens of hertz around it.
            alice = AiortcParticipant("alice", BOB_HZ, slots=4)
            try:
                offer = await alice.build_offer()
                answer = await page.evaluate(f"cohortTest.answer({offer!r})")
                assert "127.0.0.1" in candidate_addresses(answer)
                await alice.accept_answer(answer)
                await alice.wait_connected(timeout=10)
                audio_mids, video_mids = alice.slot_mids()
                c_audio, c_video = audio_mids[0], video_mids[0]
                own_audio, own_video = alice.send_audio.mid, alice.send_video.mid

                # aiortc receives Chromium's fake camera and fake microphone.
                def flowing() -> bool:
                    return alice.video_frames_by_mid().get(c_video, 0) >= 10 and alice.recorders[c_audio].audio.seconds >= 2.0

                await alice.wait_until(flowing, timeout=15, candidates=TONES)
                heard = alice.recorders[c_audio].audio.last(2.0)
                assert rms_dbfs(heard) > -45, f"Chromium audio too quiet: {rms_dbfs(heard):.1f} dBFS"
                freq, strength = dominant_frequency(heard, 48_000)
                print(f"\nChromium fake audio: {freq:.1f} Hz, {strength:.0f} dB above floor, {rms_dbfs(heard):.1f} dBFS")
                assert abs(freq - CHROMIUM_FAKE_AUDIO_HZ) < 5, f"fake audio at {freq:.1f} Hz"
                assert BOB_HZ not in present_tones(heard, 48_000, TONES), "aiortc hears its own tone"

                # Chromium decodes aiortc's video and receives its audio.
                deadline = time.monotonic() + 10
                while True:
                    stats = await page.get_stats_summary()
                    inbound = {s["mid"]: s for s in stats["inbound"]}
                    video = inbound.get(own_video, {})
                    if (video.get("framesDecoded") or 0) >= 10:
                        break
                    assert time.monotonic() < deadline, f"Chromium decoded too little video: {inbound}"
                    await asyncio.sleep(0.2)
                assert inbound[own_audio]["packetsReceived"] > 0

                # Played out, the audio shows up in getStats as energy.
                assert await page.evaluate("cohortTest.playRemoteAudio()") == [own_audio]
                deadline = time.monotonic() + 5
                while True:
                    stats = await page.get_stats_summary()
                    audio = {s["mid"]: s for s in stats["inbound"]}[own_audio]
                    if (audio["totalAudioEnergy"] or 0) > 0 and (audio["totalSamplesReceived"] or 0) > 0:
                        break
                    assert time.monotonic() < deadline, f"no audio energy in Chromium's stats: {audio}"
                    await asyncio.sleep(0.2)

                # …and the audio is aiortc's tone, through WebAudio.
                capture = await page.evaluate(f"cohortTest.captureAudio({own_audio!r}, 1.5)", timeout=10)
                samples = np.asarray(capture["samples"], dtype=np.float32)
                assert present_tones(samples, capture["rate"], TONES, window_s=None) == {BOB_HZ}
                print(
                    f"Chromium↔aiortc: browser start→connected {alice.connected_at - started:.2f} s; "
                    f"first Chromium video frame {alice.first_frame_delay(c_video):.3f} s, "
                    f"audio {alice.first_frame_delay(c_audio):.3f} s after connect"
                )
                assert page.exceptions == []
            finally:
                await alice.close()

    run(scenario(), timeout=45)


def test_chromium_offers_the_cohort_layout_with_an_oscillator_tone() -> None:
    """The browser-client path: Chromium offers (own tracks + slots) with a
    WebAudio tone instead of the fake microphone; aiortc answers and fills
    the first slots."""

    async def scenario() -> None:
        async with Chromium() as browser:
            page = await browser.new_page()
            await page.evaluate("cohortTest.getMedia({toneHz: 550})")
            offer = await page.evaluate("cohortTest.offer({slots: 3})")
            sections = media_sections(offer)
            assert [(s.kind, s.direction) for s in sections] == (
                [("audio", "sendonly"), ("video", "sendonly")] + [("audio", "recvonly")] * 3 + [("video", "recvonly")] * 3
            )
            bob = AiortcSlotFiller("bob", BOB_HZ, video=True)
            try:
                answer = await bob.answer_offer(offer)
                await page.evaluate(f"cohortTest.acceptAnswer({answer!r})")
                await bob.wait_connected(timeout=10)
                own_audio, own_video = sections[0].mid, sections[1].mid
                slot_audio, slot_video = sections[2].mid, sections[5].mid
                await bob.wait_until(
                    lambda: bob.heard_tones(TONES, own_audio) == {550.0}
                    and bob.video_frames_by_mid().get(own_video, 0) >= 10,
                    timeout=15,
                    candidates=TONES,
                )
                deadline = time.monotonic() + 10
                while True:
                    stats = await page.get_stats_summary()
                    video = {s["mid"]: s for s in stats["inbound"]}.get(slot_video, {})
                    if (video.get("framesDecoded") or 0) >= 10:
                        break
                    assert time.monotonic() < deadline, f"Chromium decoded too little slot video: {stats['inbound']}"
                    await asyncio.sleep(0.2)
                capture = await page.evaluate(f"cohortTest.captureAudio({slot_audio!r}, 1.5)", timeout=10)
                samples = np.asarray(capture["samples"], dtype=np.float32)
                assert present_tones(samples, capture["rate"], TONES, window_s=None) == {BOB_HZ}
            finally:
                await bob.close()

    run(scenario(), timeout=45)
