"""A Python participant of a debate room, for the debate tests: it publishes a tone as its
microphone, records when it last heard each other person's microphone and how loud every
audio track it receives is (frame by frame), keeps the moderator's packets and calls its
methods.

When the moderator takes the floor away the server unpublishes the track, which the Python
SDK does not reflect locally; so, as the protocol tells clients to, it publishes a fresh
track whenever its identity enters the moderator's `floor` attribute.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from livekit import api, rtc

from agent.lobby_rooms import debater_token
from lobby.contract import MODERATOR_IDENTITY
from lobby.settings import Settings
from tests.support.media import RATE, feed_tone
from tests.support.wait import eventually

MODERATOR = MODERATOR_IDENTITY

TOPIC = "disco.debate"
_MIC = rtc.TrackSource.SOURCE_MICROPHONE
_AUDIO = rtc.TrackKind.KIND_AUDIO
Source: TypeAlias = rtc.TrackSource.ValueType


def token(settings: Settings, identity: str, room: str, *, agent: bool = False) -> str:
    """A debater's token as the lobby agent mints it, or with `agent` one like LiveKit gives a
    dispatched agent (no media sources; the moderator sets its own attributes)."""
    if not agent:
        return debater_token(settings, room, identity, identity)
    grants = api.VideoGrants(
        room_join=True, room=room, can_publish_sources=[], agent=True, can_update_own_metadata=True
    )
    return (
        api.AccessToken(settings.livekit_api_key, settings.livekit_api_secret)
        .with_identity(identity)
        .with_kind("agent")
        .with_grants(grants)
        .to_jwt()
    )


@dataclass
class Client:
    settings: Settings
    identity: str
    room_name: str
    room: rtc.Room = field(default_factory=rtc.Room)
    events: list[dict[str, Any]] = field(default_factory=list)
    heard_at: dict[str, float] = field(default_factory=dict)
    # (identity, source) -> (when, sum of squared samples, samples) of each frame received
    frames: dict[tuple[str, Source], list[tuple[float, float, int]]] = field(default_factory=dict)
    disconnect_reason: int | None = None
    _source: rtc.AudioSource | None = None
    _on_floor: bool = True  # everyone may talk before the debate starts
    _mic_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _streams: list[rtc.AudioStream] = field(default_factory=list)

    # -- life cycle ------------------------------------------------------------------------
    async def connect(self, *, mic: bool = True) -> None:
        self.room.on("data_received", self._on_data)
        self.room.on("track_subscribed", self._on_track)
        self.room.on("participant_attributes_changed", self._on_attributes)
        self.room.on("disconnected", self._on_disconnected)
        await self.room.connect(
            self.settings.livekit_url, token(self.settings, self.identity, self.room_name)
        )
        if mic:
            self._start_tone()
            await self._publish_mic()

    async def aclose(self) -> None:
        await self.room.disconnect()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for stream in self._streams:
            await stream.aclose()
        if self._source is not None:
            await self._source.aclose()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_disconnected(self, reason: int) -> None:
        self.disconnect_reason = reason

    # -- talking ---------------------------------------------------------------------------
    def _start_tone(self) -> None:
        if self._source is None:
            self._source = rtc.AudioSource(RATE, 1)
            self._spawn(feed_tone(self._source))

    async def _publish_mic(self) -> None:
        if self._source is None:
            return
        async with self._mic_lock:
            local = self.room.local_participant
            for pub in list(local.track_publications.values()):
                if pub.source == _MIC:
                    with contextlib.suppress(Exception):  # the server may have removed it
                        await local.unpublish_track(pub.sid)
            track = rtc.LocalAudioTrack.create_audio_track("mic", self._source)
            await local.publish_track(track, rtc.TrackPublishOptions(source=_MIC))

    async def publish_audio(self, source: Source, name: str) -> rtc.LocalAudioTrack:
        """Publish the tone declared as any source, as a modified client can."""
        self._start_tone()
        assert self._source is not None
        track = rtc.LocalAudioTrack.create_audio_track(name, self._source)
        await self.room.local_participant.publish_track(
            track, rtc.TrackPublishOptions(source=source)
        )
        return track

    def _on_attributes(self, changed: dict[str, str], participant: rtc.Participant) -> None:
        if participant.identity != MODERATOR or "floor" not in changed:
            return
        on_floor = self.identity in json.loads(changed["floor"])
        if on_floor and not self._on_floor:
            self._spawn(self._publish_mic())
        self._on_floor = on_floor

    # -- listening -------------------------------------------------------------------------
    def _on_track(
        self, track: rtc.Track, pub: rtc.RemoteTrackPublication, p: rtc.RemoteParticipant
    ) -> None:
        if pub.kind == _AUDIO:
            stream = rtc.AudioStream(track, sample_rate=RATE, num_channels=1)
            self._streams.append(stream)
            self._spawn(self._listen(stream, p.identity, pub.source))

    async def _listen(self, stream: rtc.AudioStream, identity: str, source: Source) -> None:
        frames = self.frames.setdefault((identity, source), [])
        async for event in stream:
            data = event.frame.data
            now = time.monotonic()
            frames.append((now, float(sum(v * v for v in data)), len(data)))
            if source == _MIC and max(abs(v) for v in data[::16]) > 1000:
                self.heard_at[identity] = now

    async def loudness(self, identity: str, source: Source, seconds: float) -> float:
        """The RMS of what this client receives from `identity`'s audio declared as `source`
        over the next `seconds` (0 when nothing arrives). The tone's is about 5600."""
        start = time.monotonic()
        await asyncio.sleep(seconds)
        window = [f for f in self.frames.get((identity, source), []) if f[0] >= start]
        samples = sum(n for _, _, n in window)
        return 0.0 if samples == 0 else math.sqrt(sum(sq for _, sq, _ in window) / samples)

    def silent(self, identity: str, source: Source) -> bool:
        """Nothing loud has come from `identity`'s audio declared as `source` just now."""
        recent = time.monotonic() - 0.3
        frames = self.frames.get((identity, source), [])
        return not any(sq > 1000**2 * n for when, sq, n in frames[-100:] if when > recent)

    def is_muted(self, identity: str, source: Source) -> bool:
        """`identity` has audio declared as `source` published, and all of it is muted."""
        p = self.room.remote_participants.get(identity)
        pubs = (
            []
            if p is None
            else [
                pub
                for pub in p.track_publications.values()
                if pub.kind == _AUDIO and pub.source == source
            ]
        )
        return bool(pubs) and all(pub.muted for pub in pubs)

    def hears(self, identity: str) -> bool:
        """This client is receiving sound from `identity`'s microphone right now."""
        return self.heard_at.get(identity, 0.0) > time.monotonic() - 0.3

    def mic_open(self, identity: str) -> bool:
        """`identity` has an unmuted microphone published, as this client sees the room."""
        p = self.room.remote_participants.get(identity)
        pubs = [] if p is None else p.track_publications.values()
        return any(pub.source == _MIC and not pub.muted for pub in pubs)

    # -- the moderator ---------------------------------------------------------------------
    def _on_data(self, packet: rtc.DataPacket) -> None:
        if packet.topic == TOPIC:
            self.events.append(json.loads(packet.data))

    @property
    def state(self) -> dict[str, str]:
        agent = self.room.remote_participants.get(MODERATOR)
        return {} if agent is None else dict(agent.attributes)

    def attr(self, key: str) -> Any:
        raw = self.state.get(key, "")
        if not raw:
            return None
        if key in ("format", "status", "topic", "motion", "outcome", "prep", "winner"):
            return raw
        return json.loads(raw)

    async def call(
        self, method: str, payload: dict[str, Any] | None = None, *, within: float | None = None
    ) -> dict[str, Any]:
        """The moderator's reply; `within`: seconds this caller waits for it (the SDK's default
        otherwise, 15 s) before the call fails with 1502. The SDK gives the handler that time
        less the round trip it allows (7 s by default): with `within`, 1 s, ample on one
        machine."""
        reply = await self.room.local_participant.perform_rpc(
            destination_identity=MODERATOR,
            method=method,
            payload=json.dumps(payload or {}),
            response_timeout=within,
            max_round_trip_latency=None if within is None else 1.0,
        )
        result: dict[str, Any] = json.loads(reply)
        return result

    async def refused(self, method: str, payload: dict[str, Any] | None = None) -> int:
        """The error code a command is refused with (failing the test if it is accepted)."""
        try:
            await self.call(method, payload)
        except rtc.RpcError as e:
            return e.code
        raise AssertionError(f"{method} was accepted")

    def event(self, type_: str, **match: Any) -> dict[str, Any] | None:
        for e in self.events:
            if e["type"] == type_ and all(e.get(k) == v for k, v in match.items()):
                return e
        return None

    async def wait_event(self, type_: str, **match: Any) -> dict[str, Any]:
        await eventually(lambda: self.event(type_, **match) is not None, f"{type_} {match}")
        found = self.event(type_, **match)
        assert found is not None
        return found
