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
    frame_to_mono,
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
