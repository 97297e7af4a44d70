"""Offline checks of the tone analysis (no network, no codec)."""

from __future__ import annotations

import asyncio

import numpy as np
from conftest import run
from tones import (
    SAMPLE_RATE,
    ColourBarsTrack,
    SampleBuffer,
    ToneTrack,
    dominant_frequency,
    frame_matches,
    frame_to_mono,
    onset,
    present_tones,
    tone_strengths,
)

CANDIDATES = [440.0, 550.0, 660.0, 880.0]


def sine(freq: float, seconds: float = 2.0, amplitude: float = 0.25) -> np.ndarray:
    n = np.arange(int(seconds * SAMPLE_RATE))
    return (amplitude * np.sin(2 * np.pi * freq * n / SAMPLE_RATE)).astype(np.float32)


def test_single_tone_is_found_and_others_are_not() -> None:
    assert present_tones(sine(660), SAMPLE_RATE, CANDIDATES) == {660.0}


def test_mixture_of_two_tones_is_resolved() -> None:
    rng = np.random.default_rng(7)
    mix = sine(440) + sine(880, amplitude=0.05) + rng.normal(0, 0.01, 2 * SAMPLE_RATE).astype(np.float32)
    assert present_tones(mix, SAMPLE_RATE, CANDIDATES) == {440.0, 880.0}


def test_silence_and_noise_contain_no_tone() -> None:
    assert present_tones(np.zeros(SAMPLE_RATE, dtype=np.float32), SAMPLE_RATE, CANDIDATES) == set()
    noise = np.random.default_rng(1).normal(0, 0.1, 2 * SAMPLE_RATE).astype(np.float32)
    assert present_tones(noise, SAMPLE_RATE, CANDIDATES) == set()
    assert max(tone_strengths(noise, SAMPLE_RATE, CANDIDATES).values()) < 15


def test_dominant_frequency_is_accurate_to_a_fraction_of_a_hertz() -> None:
    freq, strength = dominant_frequency(sine(403.7), SAMPLE_RATE)
    assert abs(freq - 403.7) < 0.3 and strength > 40


def test_tone_track_frames_are_s16_20ms_and_phase_continuous() -> None:
    async def collect() -> list:
        track = ToneTrack(550.0, layout="stereo")
        frames = [await track.recv() for _ in range(50)]
        track.stop()
        return frames

    frames = run(collect(), timeout=10)
    assert all(f.format.name == "s16" and f.samples == 960 and f.sample_rate == SAMPLE_RATE for f in frames)
    assert [f.pts for f in frames[:3]] == [0, 960, 1920]
    buf = SampleBuffer()
    for f in frames:
        buf.append_frame(f)
    assert abs(buf.seconds - 1.0) < 1e-9
    samples = buf.last(1.0)
    assert present_tones(samples, SAMPLE_RATE, CANDIDATES, window_s=None) == {550.0}
    # A phase jump at each frame boundary would smear energy over the spectrum.
    assert tone_strengths(samples, SAMPLE_RATE, [550.0], window_s=None)[550.0] >= 55
    assert abs(frame_to_mono(frames[0])[:100] - sine(550, 100 / SAMPLE_RATE)).max() < 1e-3


def test_colour_bars_track_moves() -> None:
    async def two() -> tuple:
        track = ColourBarsTrack(fps=50)
        a, b = await track.recv(), await track.recv()
        track.stop()
        return a, b

    a, b = run(two(), timeout=5)
    assert (a.width, a.height) == (320, 240)
    assert not np.array_equal(a.to_ndarray(format="rgb24"), b.to_ndarray(format="rgb24"))


def _frames(parts: list[tuple[list[float], int]], start: float = 100.0) -> list[tuple[float, np.ndarray]]:
    """20 ms frames: each part is (tones, frame count); arrival times 20 ms apart."""
    frames, index = [], 0
    for tones_, count in parts:
        for _ in range(count):
            n = np.arange(index * 960, (index + 1) * 960)
            x = sum((0.08 * np.sin(2 * np.pi * f * n / SAMPLE_RATE) for f in tones_), np.zeros(960))
            frames.append((start + index * 0.02, x.astype(np.float32)))
            index += 1
    return frames


def test_onset_is_the_first_frame_of_the_new_tone_set() -> None:
    # Tones 110 Hz apart, as in the breakout scenario: a 40 ms window parts them.
    frames = _frames([([1030.0, 1520.0, 1630.0], 10), ([1030.0, 1520.0], 10)])
    candidates = [400.0, 1030.0, 1520.0, 1630.0]
    assert onset(frames, SAMPLE_RATE, candidates, {1030.0, 1520.0}) == frames[10][0]
    assert onset(frames, SAMPLE_RATE, candidates, {1030.0, 1520.0, 1630.0}) == frames[0][0]
    assert onset(frames, SAMPLE_RATE, candidates, {400.0, 1030.0}) is None


def test_onset_needs_the_new_state_to_hold() -> None:
    candidates = [400.0, 1030.0, 1350.0]
    # Three frames of the new state, then back: not an onset with a 5-frame hold.
    frames = _frames([([400.0], 5), ([1030.0], 3), ([400.0], 10), ([1030.0], 8)])
    assert onset(frames, SAMPLE_RATE, candidates, {1030.0}) == frames[18][0]
    # A gap of silence is no match for a tone set, but is one for "nothing".
    silent = _frames([([400.0], 4), ([], 8)])
    assert onset(silent, SAMPLE_RATE, candidates, {400.0, 1030.0}) is None
    assert onset(silent, SAMPLE_RATE, candidates, set()) == silent[4][0]


def test_a_tone_20_db_down_is_not_heard() -> None:
    n = np.arange(1920)
    loud = 0.08 * np.sin(2 * np.pi * 1030 * n / SAMPLE_RATE)
    faint = 0.08 * 10 ** (-25 / 20) * np.sin(2 * np.pi * 1350 * n / SAMPLE_RATE)
    assert frame_matches((loud + faint).astype(np.float32), SAMPLE_RATE, [1030.0, 1350.0], {1030.0})
    louder = 0.08 * 10 ** (-12 / 20) * np.sin(2 * np.pi * 1350 * n / SAMPLE_RATE)
    assert not frame_matches((loud + louder).astype(np.float32), SAMPLE_RATE, [1030.0, 1350.0], {1030.0})
