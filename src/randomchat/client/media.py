"""Media for the Python peer: a generated test pattern and tone, and meters for what arrives.

The pattern and the tone are built from bytes (no numpy): a vertical bar that moves
across a grey ramp at 15 frames per second, and a 400 Hz tone (exactly 8 periods in
each 20 ms frame, so one precomputed frame repeats without a click). A ``MeteredTrack``
wraps a received track: whoever pulls frames through it (a sink task, or the echo
bot's sender) is counted, and audio gets a running level.
"""

from __future__ import annotations

import asyncio
import fractions
import math
import time
from array import array
from dataclasses import dataclass
from typing import Any, Literal

from aiortc.contrib.media import MediaPlayer
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame, VideoFrame
from av.frame import Frame
from av.packet import Packet

MediaMode = Literal["pattern", "file", "echo", "none"]


@dataclass(frozen=True, slots=True)
class Media:
    """What a peer sends: a test pattern and tone, a file, the partner's own media, or nothing."""

    mode: MediaMode = "pattern"
    path: str | None = None
    width: int = 320
    height: int = 240

    def local_tracks(self) -> list[MediaStreamTrack]:
        """Fresh tracks for one call (``echo`` and ``none`` have none of their own)."""
        if self.mode == "pattern":
            return [ToneTrack(), PatternTrack(self.width, self.height)]
        if self.mode == "file":
            assert self.path is not None
            player = MediaPlayer(self.path, loop=True)
            return [t for t in (player.audio, player.video) if t is not None]
        return []


VIDEO_RATE = 90_000
VIDEO_FPS = 15
AUDIO_RATE = 48_000
AUDIO_PTIME = 0.020
TONE_HZ = 400
TONE_AMPLITUDE = 0.25  # of full scale: about -15 dBFS RMS
# Audio level: mean of squares over every LEVEL_STRIDE-th sample (enough for a meter).
LEVEL_STRIDE = 8


class _Paced:
    """Frame timestamps at a fixed rate, sleeping until each frame is due."""

    def __init__(self, clock_rate: int, step: int) -> None:
        self.clock_rate = clock_rate
        self.step = step
        self.start: float | None = None
        self.pts = 0

    async def next(self) -> int:
        if self.start is None:
            self.start = time.monotonic()
            return 0
        self.pts += self.step
        await asyncio.sleep(max(0.0, self.start + self.pts / self.clock_rate - time.monotonic()))
        return self.pts


class PatternTrack(MediaStreamTrack):
    """A moving bar over a grey ramp, ``width`` x ``height`` (even), 15 frames per second."""

    kind = "video"

    def __init__(self, width: int = 320, height: int = 240) -> None:
        super().__init__()
        self.width = width - width % 2
        self.height = height - height % 2
        self._pace = _Paced(VIDEO_RATE, VIDEO_RATE // VIDEO_FPS)
        self._frame = 0
        ramp = bytes(16 + (200 * x) // self.width for x in range(self.width))
        bar = max(2, self.width // 16)
        self._row = bytes([235]) * bar + ramp[bar:]

    async def recv(self) -> Frame:
        if self.readyState != "live":
            raise MediaStreamError
        pts = await self._pace.next()
        frame = VideoFrame(width=self.width, height=self.height, format="yuv420p")
        shift = (self._frame * 8) % self.width
        self._frame += 1
        row = self._row[-shift:] + self._row[:-shift] if shift else self._row
        for index, plane in enumerate(frame.planes):
            rows = self.height if index == 0 else self.height // 2
            cols = self.width if index == 0 else self.width // 2
            line = row if index == 0 else bytes([128]) * cols
            padded = line + bytes(plane.line_size - cols)
            plane.update(padded * rows)
        frame.pts = pts
        frame.time_base = fractions.Fraction(1, VIDEO_RATE)
        return frame


class ToneTrack(MediaStreamTrack):
    """A 400 Hz sine, mono, 48 kHz, in 20 ms frames."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        samples = int(AUDIO_RATE * AUDIO_PTIME)
        self._samples = samples
        self._pace = _Paced(AUDIO_RATE, samples)
        peak = TONE_AMPLITUDE * 32767
        pcm = array(
            "h",
            (
                round(peak * math.sin(2 * math.pi * TONE_HZ * i / AUDIO_RATE))
                for i in range(samples)
            ),
        )
        self._pcm = pcm.tobytes()

    async def recv(self) -> Frame:
        if self.readyState != "live":
            raise MediaStreamError
        pts = await self._pace.next()
        frame = AudioFrame(format="s16", layout="mono", samples=self._samples)
        frame.planes[0].update(self._pcm)
        frame.pts = pts
        frame.sample_rate = AUDIO_RATE
        frame.time_base = fractions.Fraction(1, AUDIO_RATE)
        return frame


@dataclass(slots=True)
class Received:
    """What arrived on one kind of track during a call."""

    frames: int = 0
    # audio: the RMS level of the loudest recent frame, 0.0 (silence) to 1.0 (full scale)
    peak_level: float = 0.0
    # audio: the RMS level of the latest frame
    level: float = 0.0
    width: int = 0
    height: int = 0


def rms_level(frame: AudioFrame) -> float:
    """RMS of a signed 16-bit frame, 0.0 to 1.0 (other sample formats report 0)."""
    if frame.format.name not in ("s16", "s16p"):
        return 0.0
    # The plane's buffer may be larger than its samples (aiortc's opus decoder: 6x).
    channels = 1 if frame.format.is_planar else len(frame.layout.channels)
    samples = array("h")
    samples.frombytes(bytes(frame.planes[0])[: frame.samples * channels * 2])
    picked = samples[::LEVEL_STRIDE]
    if not picked:
        return 0.0
    return math.sqrt(sum(s * s for s in picked) / len(picked)) / 32768


class MeteredTrack(MediaStreamTrack):
    """Passes ``source``'s frames through unchanged and counts them in ``received``."""

    def __init__(self, source: MediaStreamTrack, received: Received) -> None:
        super().__init__()
        self.kind = source.kind
        self.source = source
        self.received = received

    async def recv(self) -> Frame | Packet[Any]:
        frame = await self.source.recv()
        got = self.received
        got.frames += 1
        if isinstance(frame, AudioFrame):
            got.level = rms_level(frame)
            got.peak_level = max(got.peak_level, got.level)
        elif isinstance(frame, VideoFrame):
            got.width, got.height = frame.width, frame.height
        return frame

    def stop(self) -> None:
        super().stop()
        self.source.stop()


async def drain(track: MediaStreamTrack) -> None:
    """Pull frames from ``track`` until it ends (for a receive-only sink)."""
    try:
        while True:
            await track.recv()
    except MediaStreamError:
        return
