"""What a test participant sends instead of a person's microphone: a steady tone, fed by a task
the participant owns and stops when it leaves."""

from __future__ import annotations

import array
import asyncio
import contextlib
import math
from dataclasses import dataclass
from typing import Any

from livekit import rtc

RATE = 48_000
_SAMPLES = RATE // 100  # 10 ms
# 400 Hz fits a 10 ms frame exactly (four cycles), so one frame repeats seamlessly.
_TONE = array.array(
    "h", (int(8000 * math.sin(2 * math.pi * 400 * i / RATE)) for i in range(_SAMPLES))
).tobytes()


async def feed_tone(source: rtc.AudioSource) -> None:
    """Capture the tone into `source` until cancelled (run it as an owned task)."""
    while True:
        await source.capture_frame(rtc.AudioFrame(_TONE, RATE, 1, _SAMPLES))


async def stop(task: asyncio.Task[Any]) -> None:
    """Cancel an owned task and wait until it has stopped."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


@dataclass(frozen=True)
class Tone:
    """A published tone: its source and the task feeding it. Close it after leaving the room,
    as a client stops its microphone once disconnected."""

    source: rtc.AudioSource
    feeder: asyncio.Task[None]

    async def aclose(self) -> None:
        await stop(self.feeder)
        await self.source.aclose()


async def publish_tone(
    room: rtc.Room,
    name: str = "mic",
    kind: rtc.TrackSource.ValueType = rtc.TrackSource.SOURCE_MICROPHONE,
) -> Tone:
    """Publish the tone in `room` as a track declared as `kind` (any kind, as a modified client
    may), fed until the returned Tone is closed."""
    source = rtc.AudioSource(RATE, 1)
    track = rtc.LocalAudioTrack.create_audio_track(name, source)
    await room.local_participant.publish_track(track, rtc.TrackPublishOptions(source=kind))
    return Tone(source, asyncio.create_task(feed_tone(source)))
