"""Synthetic media sources for aiortc, and tone analysis of decoded audio.

Every test participant publishes a pure sine of its own frequency, so a
listener can tell from the decoded audio alone *whose* audio it receives
(and, just as important, whose it does not).  The video source is a moving
colour-bar pattern; tests only count decoded frames.

Audio conventions: aiortc's Opus encoder accepts ``s16`` mono or stereo
frames at any rate (it resamples to 48 kHz stereo, 960-sample frames), and
its decoder yields ``s16`` packed stereo at 48 kHz.  ``frame_to_mono`` copes
with any PyAV sample format and layout, so analysis never depends on that.
"""

from __future__ import annotations

import asyncio
import fractions
import math
import time
import wave
from typing import Iterable

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

SAMPLE_RATE = 48_000
AUDIO_PTIME = 0.020
SAMPLES_PER_FRAME = int(SAMPLE_RATE * AUDIO_PTIME)  # 960
VIDEO_CLOCK_RATE = 90_000

# ---------------------------------------------------------------------------
# Sources
# ---------------------------------------------------------------------------


class _Pacer:
    """Releases frame n at start + n * period (wall clock), like a device."""

    def __init__(self, period: float) -> None:
        self.period = period
        self.start: float | None = None
        self.index = 0

    async def next(self) -> int:
        if self.start is None:
            self.start = time.monotonic()
        else:
            self.index += 1
            wait = self.start + self.index * self.period - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        return self.index


class ToneTrack(MediaStreamTrack):
    """A continuous pure sine: 48 kHz, 20 ms frames, s16.

    ``amplitude`` is relative to full scale (0.25 is about -12 dBFS, loud and
    far from clipping).  ``layout`` is "mono" or "stereo"; both channels of a
    stereo frame carry the same sine.
    """

    kind = "audio"

    def __init__(self, frequency: float, amplitude: float = 0.25, layout: str = "mono") -> None:
        super().__init__()
        if layout not in ("mono", "stereo"):
            raise ValueError(f"layout must be mono or stereo, not {layout!r}")
        self.frequency = float(frequency)
        self.amplitude = float(amplitude)
        self.layout = layout
        self._pacer = _Pacer(AUDIO_PTIME)
        self._time_base = fractions.Fraction(1, SAMPLE_RATE)

    def samples_for(self, index: int) -> np.ndarray:
        """Samples of frame ``index`` as int16, phase-continuous across frames."""
        n = np.arange(index * SAMPLES_PER_FRAME, (index + 1) * SAMPLES_PER_FRAME, dtype=np.float64)
        # Reduce the phase modulo one period in integer samples' worth of
        # cycles to keep float precision over long runs.
        phase = (n * self.frequency / SAMPLE_RATE) % 1.0
        wave_ = self.amplitude * np.sin(2.0 * math.pi * phase)
        return np.round(wave_ * 32767.0).astype(np.int16)

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        index = await self._pacer.next()
        mono = self.samples_for(index)
        if self.layout == "stereo":
            data = np.repeat(mono, 2).reshape(1, -1)  # packed L R L R
        else:
            data = mono.reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(data, format="s16", layout=self.layout)
        frame.sample_rate = SAMPLE_RATE
        frame.pts = index * SAMPLES_PER_FRAME
        frame.time_base = self._time_base
        return frame


class ColourBarsTrack(MediaStreamTrack):
    """Moving vertical colour bars, ``width`` x ``height`` at ``fps``."""

    kind = "video"

    BARS = np.array(
        [
            [235, 235, 235],
            [235, 235, 16],
            [16, 235, 235],
            [16, 235, 16],
            [235, 16, 235],
            [235, 16, 16],
            [16, 16, 235],
            [16, 16, 16],
        ],
        dtype=np.uint8,
    )

    def __init__(self, width: int = 320, height: int = 240, fps: float = 15.0) -> None:
        super().__init__()
        self.width = width
        self.height = height
        self.fps = fps
        self._pacer = _Pacer(1.0 / fps)
        columns = (np.arange(width) * len(self.BARS)) // width
        row = self.BARS[columns]  # (width, 3)
        self._image = np.ascontiguousarray(np.broadcast_to(row, (height, width, 3)))
        self._time_base = fractions.Fraction(1, VIDEO_CLOCK_RATE)

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        index = await self._pacer.next()
        shift = (index * 4) % self.width
        image = np.roll(self._image, shift, axis=1)
        # A frame counter stripe keeps consecutive frames different even when
        # the shift wraps, so the encoder never sees a static picture.
        image[:8, :, :] = index % 256
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts = int(round(index * VIDEO_CLOCK_RATE / self.fps))
        frame.time_base = self._time_base
        return frame


def write_tone_wav(path: str, frequency: float, seconds: float = 10.0, amplitude: float = 0.25) -> None:
    """Write a 48 kHz mono s16 WAV with a pure sine (for Chromium's
    ``--use-file-for-fake-audio-capture``, which loops the file)."""
    # Whole number of cycles so the loop point does not click.
    cycles = max(1, round(frequency * seconds))
    count = int(round(cycles * SAMPLE_RATE / frequency))
    n = np.arange(count, dtype=np.float64)
    data = np.round(amplitude * 32767.0 * np.sin(2.0 * math.pi * frequency * n / SAMPLE_RATE))
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(data.astype("<i2").tobytes())


# ---------------------------------------------------------------------------
# Decoded audio → numpy
# ---------------------------------------------------------------------------

_SCALE = {"s16": 32768.0, "s16p": 32768.0, "s32": 2147483648.0, "s32p": 2147483648.0, "u8": 128.0, "u8p": 128.0}


def frame_to_mono(frame: av.AudioFrame) -> np.ndarray:
    """Decoded audio frame → float32 mono samples in [-1, 1] (channel mean)."""
    channels = len(frame.layout.channels)
    data = frame.to_ndarray()
    fmt = frame.format.name
    if frame.format.is_planar:
        data = data.reshape(channels, -1)
    else:
        data = data.reshape(-1, channels).T
    data = data.astype(np.float64)
    if fmt.startswith("u8"):
        data = data - 128.0
    scale = _SCALE.get(fmt, 1.0)  # flt / dbl are already in [-1, 1]
    return (data.mean(axis=0) / scale).astype(np.float32)


class SampleBuffer:
    """Decoded mono audio of one stream, newest ``max_seconds`` kept."""

    def __init__(self, max_seconds: float = 30.0) -> None:
        self.max_seconds = max_seconds
        self.rate: int | None = None
        self._chunks: list[np.ndarray] = []
        # Arrival time (monotonic s) of each chunk, for per-frame analysis.
        self._arrivals: list[float] = []
        self._length = 0
        self.frames = 0
        self.first_frame_at: float | None = None
        self.last_frame_at: float | None = None

    def append_frame(self, frame: av.AudioFrame) -> None:
        """Add one decoded frame (any format / layout)."""
        rate = frame.sample_rate
        if self.rate is not None and rate != self.rate:
            # A rate change mid-stream would corrupt the FFT; start afresh.
            self._chunks, self._arrivals, self._length = [], [], 0
        self.rate = rate
        self.append(frame_to_mono(frame))

    def append(self, samples: np.ndarray) -> None:
        """Add mono float samples."""
        now = time.monotonic()
        if self.first_frame_at is None:
            self.first_frame_at = now
        self.last_frame_at = now
        self.frames += 1
        self._chunks.append(samples)
        self._arrivals.append(now)
        self._length += len(samples)
        limit = int(self.max_seconds * (self.rate or SAMPLE_RATE))
        while self._chunks and self._length - len(self._chunks[0]) >= limit:
            self._length -= len(self._chunks.pop(0))
            self._arrivals.pop(0)

    def frames_since(self, since: float) -> list[tuple[float, np.ndarray]]:
        """(arrival time, samples) of every frame that arrived at or after
        ``since`` (monotonic seconds, comparable across processes)."""
        first = next((i for i, t in enumerate(self._arrivals) if t >= since), len(self._arrivals))
        return list(zip(self._arrivals[first:], self._chunks[first:]))

    @property
    def seconds(self) -> float:
        """Seconds of audio held."""
        return self._length / self.rate if self.rate else 0.0

    def last(self, seconds: float) -> np.ndarray:
        """The newest ``seconds`` of samples (fewer if not yet collected)."""
        if not self._chunks:
            return np.zeros(0, dtype=np.float32)
        data = np.concatenate(self._chunks)
        count = int(seconds * (self.rate or SAMPLE_RATE))
        return data[-count:] if count < len(data) else data


# ---------------------------------------------------------------------------
# Spectrum analysis
# ---------------------------------------------------------------------------

_EPS = 1e-20


def rms_dbfs(samples: np.ndarray) -> float:
    """RMS level in dB relative to a full-scale square wave (silence: -inf)."""
    if len(samples) == 0:
        return -math.inf
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    return 20.0 * math.log10(rms) if rms > 0 else -math.inf


def power_spectrum(samples: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Hann-windowed power spectrum: (frequencies in Hz, power)."""
    x = np.asarray(samples, dtype=np.float64)
    if len(x) < 16:
        raise ValueError(f"need at least 16 samples for a spectrum, got {len(x)}")
    x = x - x.mean()
    spectrum = np.fft.rfft(x * np.hanning(len(x)))
    return np.fft.rfftfreq(len(x), 1.0 / rate), np.abs(spectrum) ** 2


def tone_strengths(
    samples: np.ndarray,
    rate: int,
    candidates: Iterable[float],
    *,
    window_s: float | None = 2.0,
    tolerance_hz: float = 4.0,
    band: tuple[float, float] = (50.0, 8000.0),
    dynamic_range_db: float = 60.0,
) -> dict[float, float]:
    """Strength of each candidate tone in dB above the noise floor.

    Uses the last ``window_s`` seconds (all samples if None).  A candidate's
    power is the peak bin within ``tolerance_hz`` (at least the Hann main
    lobe); the floor is the median bin of ``band`` with every candidate's
    neighbourhood excluded, so one loud tone does not raise the floor for
    another.  The floor is never taken lower than ``dynamic_range_db`` below
    the strongest bin of the band: decoded Opus of a pure sine is almost
    digital silence elsewhere, and codec dust 90 dB under the real tone must
    not count as a second tone.  Silence yields 0 dB for every candidate.
    """
    candidates = [float(c) for c in candidates]
    x = np.asarray(samples)
    if window_s is not None:
        x = x[-int(window_s * rate):]
    freqs, power = power_spectrum(x, rate)
    resolution = freqs[1] - freqs[0]
    tol = max(tolerance_hz, 2.5 * resolution)
    guard = max(4 * tol, 20.0)
    in_band = (freqs >= band[0]) & (freqs <= band[1])
    for c in candidates:
        in_band &= np.abs(freqs - c) > guard
    floor = float(np.median(power[in_band])) if in_band.any() else float(np.median(power))
    band_mask = (freqs >= band[0]) & (freqs <= band[1])
    strongest = float(power[band_mask].max()) if band_mask.any() else float(power.max())
    floor = max(floor, strongest * 10.0 ** (-dynamic_range_db / 10.0))
    result = {}
    for c in candidates:
        near = np.abs(freqs - c) <= tol
        peak = float(power[near].max()) if near.any() else 0.0
        result[c] = 10.0 * math.log10((peak + _EPS) / (floor + _EPS))
    return result


def present_tones(
    samples: np.ndarray,
    rate: int,
    candidates: Iterable[float],
    threshold_db: float = 25.0,
    *,
    window_s: float | None = 2.0,
    min_level_dbfs: float = -60.0,
) -> set[float]:
    """The candidate tones audible in ``samples``.

    A tone is present when it stands ``threshold_db`` above the noise floor
    and the window's overall level exceeds ``min_level_dbfs`` (so numerical
    dust in near-silence never counts as a tone).
    """
    x = np.asarray(samples)
    if window_s is not None:
        x = x[-int(window_s * rate):]
    if len(x) < 16 or rms_dbfs(x) < min_level_dbfs:
        return set()
    strengths = tone_strengths(x, rate, candidates, window_s=None)
    return {c for c, db in strengths.items() if db >= threshold_db}


def dominant_frequency(
    samples: np.ndarray,
    rate: int,
    *,
    band: tuple[float, float] = (50.0, 8000.0),
) -> tuple[float, float]:
    """(frequency in Hz, dB above the band's median) of the strongest bin.

    The frequency is refined by parabolic interpolation over the log power of
    the peak bin and its neighbours (Hann window: error well under a bin).
    """
    freqs, power = power_spectrum(samples, rate)
    idx_band = np.nonzero((freqs >= band[0]) & (freqs <= band[1]))[0]
    if len(idx_band) == 0:
        raise ValueError("band outside the spectrum")
    k = int(idx_band[np.argmax(power[idx_band])])
    floor = float(np.median(power[idx_band]))
    freq = float(freqs[k])
    if 0 < k < len(power) - 1:
        a, b, c = (math.log(power[i] + _EPS) for i in (k - 1, k, k + 1))
        denom = a - 2 * b + c
        if denom != 0:
            freq += 0.5 * (a - c) / denom * float(freqs[1] - freqs[0])
    return freq, 10.0 * math.log10((float(power[k]) + _EPS) / (floor + _EPS))


# ---------------------------------------------------------------------------
# Per-frame onset of a set of tones
# ---------------------------------------------------------------------------


def tone_levels_db(samples: np.ndarray, rate: int, candidates: Iterable[float]) -> dict[float, float]:
    """Power of each candidate in dB (arbitrary reference): the peak
    Hann-windowed bin within one bin of the candidate.  Meant for short
    windows, where only levels relative to each other mean anything."""
    freqs, power = power_spectrum(samples, rate)
    resolution = float(freqs[1] - freqs[0])
    return {
        float(c): 10.0 * math.log10(float(power[np.abs(freqs - c) <= resolution].max()) + _EPS)
        for c in candidates
    }


def frame_matches(
    samples: np.ndarray,
    rate: int,
    candidates: Iterable[float],
    expected: set[float],
    *,
    present_within_db: float = 10.0,
    absent_below_db: float = 20.0,
    min_level_dbfs: float = -50.0,
) -> bool:
    """Whether ``samples`` hold exactly the ``expected`` tones among
    ``candidates``: each expected tone within ``present_within_db`` of the
    strongest candidate, every other candidate more than ``absent_below_db``
    below the weakest expected one.  An empty ``expected`` means silence."""
    if not expected:
        return len(samples) > 0 and rms_dbfs(samples) < min_level_dbfs
    if len(samples) < 16 or rms_dbfs(samples) < min_level_dbfs:
        return False
    levels = tone_levels_db(samples, rate, candidates)
    strongest = max(levels.values())
    present = [levels[c] for c in expected]
    if min(present) < strongest - present_within_db:
        return False
    return all(db < min(present) - absent_below_db for c, db in levels.items() if c not in expected)


# Frames (20 ms) per analysis window of the onset detector: 60 ms, 17 Hz bins.
ONSET_WINDOW_FRAMES = 3


def windows_of(frames: list[tuple[float, np.ndarray]], size: int = ONSET_WINDOW_FRAMES) -> list[np.ndarray]:
    """The samples of every run of ``size`` consecutive frames."""
    return [np.concatenate([f[1] for f in frames[i:i + size]]) for i in range(len(frames) - size + 1)]


class OnsetTracker:
    """``onset`` computed incrementally: a caller polling for the onset of
    one tone set since one instant pays for each new frame once."""

    def __init__(self, since: float, rate: int, candidates: Iterable[float], expected: set[float], *,
                 window_frames: int = ONSET_WINDOW_FRAMES, hold_frames: int = 5, **thresholds: float) -> None:
        self.since = since
        self.rate = rate
        self.candidates = [float(c) for c in candidates]
        self.expected = {float(c) for c in expected}
        self.window_frames = window_frames
        self.hold_frames = hold_frames
        self.thresholds = thresholds
        self.results: list[bool] = []
        self.found: float | None = None

    def update(self, frames: list[tuple[float, np.ndarray]]) -> float | None:
        """Feed every frame since ``since`` (the same list, grown); returns the onset once found."""
        while self.found is None and len(self.results) < len(frames) - self.window_frames + 1:
            i = len(self.results)
            window = np.concatenate([f[1] for f in frames[i:i + self.window_frames]])
            self.results.append(frame_matches(window, self.rate, self.candidates, self.expected, **self.thresholds))
            start = i - self.hold_frames + 1
            if start >= 0 and all(self.results[start:]):
                self.found = frames[start][0]
        return self.found


def onset(
    frames: list[tuple[float, np.ndarray]],
    rate: int,
    candidates: Iterable[float],
    expected: set[float],
    **options: float,
) -> float | None:
    """Arrival time of the first frame from which the audio holds exactly
    ``expected`` (see ``frame_matches``) and keeps holding it.

    Frame i is judged on the window of frames i … i+window_frames-1 (60 ms:
    17 Hz bins, so a coding product 70 Hz from a tone stays out of its bin), and counts as the onset
    when the windows starting at i … i+hold_frames-1 all match, so a single
    lucky window during a transition is not taken for the new state.  None
    until enough frames have arrived.
    """
    since = frames[0][0] if frames else 0.0
    return OnsetTracker(since, rate, candidates, expected, **options).update(frames)
