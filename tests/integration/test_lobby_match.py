"""Two strangers meet: join, proposed, accept, ready, the room from `lobby.status`, and they see
and hear each other."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator, Mapping
from functools import partial

import jwt
import numpy as np
import sqlalchemy as sa
from livekit import api, rtc
from sqlalchemy.ext.asyncio import AsyncEngine

from api.keeper import Keeper
from lobby.db.schema import discussion_participants, discussions
from lobby.settings import Settings
from tests.support.lobby_clients import LobbyUser, add_users, connected
from tests.support.media import stop
from tests.support.wait import eventually

SAMPLE_RATE = 48000
WIDTH, HEIGHT = 320, 240


async def _matched(a: LobbyUser, b: LobbyUser, topic: str) -> tuple[dict[str, str], ...]:
    reply_a = await a.call("lobby.join", {"topic": topic, "format": "casual"})
    assert reply_a["ticket"]["position"] == 0 and reply_a["ticket"]["waiting"] == 1
    await b.call("lobby.join", {"topic": topic, "format": "casual"})
    pa, pb = await a.event("proposed"), await b.event("proposed")
    assert pa["match_id"] == pb["match_id"]
    # The join replies said where they stood: no `queued` event repeats it (PROTOCOL.md).
    assert a.of_type("queued") == [] and b.of_type("queued") == []
    assert pa["partner"] == {"display_name": b.name} and pb["partner"] == {"display_name": a.name}
    for who in (a, b):
        reply = await who.respond(pa["match_id"], True)
        assert reply["status"] in ("accepted", "starting")
    ready_a, ready_b = await a.event("ready"), await b.event("ready")
    # The event is a hint with no secret in it; the room comes from lobby.status.
    assert set(ready_a) == {"type", "seq", "match_id", "room"}
    assert ready_a["room"] == ready_b["room"] and ready_a["match_id"] == pa["match_id"]
    ra, rb = await a.room_grant(), await b.room_grant()
    assert ra["name"] == rb["name"] == ready_a["room"]
    return ra, rb


async def test_two_users_meet_in_a_new_room(
    lobby: Keeper, settings: Settings, db_engine: AsyncEngine, lkapi: api.LiveKitAPI, topic: str
) -> None:
    people = await add_users(db_engine, 2)
    async with connected(settings, people) as (a, b):
        ra, rb = await _matched(a, b, topic)
        try:
            await _check_ready(settings, a, ra, rb)
            await _check_discussion(db_engine, topic, a, b, ra["name"])
            await _see_and_hear(ra, rb, a, b)
        finally:
            await lkapi.room.delete_room(api.DeleteRoomRequest(room=ra["name"]))


async def test_the_agent_says_through_its_own_connection_which_events_it_sent(
    lobby: Keeper, settings: Settings, db_engine: AsyncEngine, topic: str
) -> None:
    """Events go out through LiveKit's server API, which can drop them while LiveKit runs the
    lobby room twice; the agent's own connection then says up to which number it sent each
    person's events (`sent`, docs/PROTOCOL.md). A client that has them all asks nothing more."""
    people = await add_users(db_engine, 2)
    async with connected(settings, people) as (a, b):
        await a.call("lobby.join", {"topic": topic, "format": "casual"})
        await b.call("lobby.join", {"topic": topic, "format": "casual"})
        for who in (a, b):
            proposed = await who.event("proposed")
            await eventually(partial(_noted, who), f"{who.name}'s sent note")
            assert who.notes == [proposed["seq"]]
        await a.call("lobby.leave")
        cancelled = await b.event("cancelled")
        await eventually(
            lambda: b.notes[-1] >= cancelled["seq"], "the sent note after the cancellation"
        )
        # Each note came after the events it names, so none made a client ask again.
        for who in (a, b):
            assert who.receipts == len(who.notes)


def _noted(who: LobbyUser) -> bool:
    return bool(who.notes)


async def _check_ready(
    settings: Settings, a: LobbyUser, ra: dict[str, str], rb: dict[str, str]
) -> None:
    assert ra["url"] == settings.livekit_public_url
    assert ra["token"] != rb["token"]
    # Accepting again is harmless.
    match_id = a.of_type("ready")[0]["match_id"]
    again = await a.call("lobby.respond", {"match_id": match_id, "accept": True})
    assert again["status"] == "starting"
    status = await a.call("lobby.status")
    assert status["match"]["state"] == "started" and status["room"]["name"] == ra["name"]
    # Each token lets its owner into this room only, with camera, microphone and data; in the
    # room, identities are user ids as before (only the lobby hides who is there).
    claims = jwt.decode(ra["token"], options={"verify_signature": False})
    assert claims["sub"] == a.id and claims["video"]["room"] == ra["name"]
    assert claims["video"]["canPublishData"] and claims["exp"] - claims["nbf"] <= 600
    assert sorted(claims["video"]["canPublishSources"]) == ["camera", "microphone"]


async def _check_discussion(
    db_engine: AsyncEngine, topic: str, a: LobbyUser, b: LobbyUser, room: str
) -> None:
    async with db_engine.connect() as conn:
        row = (await conn.execute(sa.select(discussions).where(discussions.c.room == room))).one()
        sides = (
            await conn.execute(
                sa.select(discussion_participants.c.user_id).where(
                    discussion_participants.c.discussion_id == row.id
                )
            )
        ).scalars()
        assert row.topic_slug == topic and row.format == "casual"
        assert {str(u) for u in sides} == {a.id, b.id}


async def _see_and_hear(ra: dict[str, str], rb: dict[str, str], a: LobbyUser, b: LobbyUser) -> None:
    async with _in_room(ra) as room_a, _in_room(rb) as room_b:
        got_a, got_b = await asyncio.gather(_receive(room_a, b.id), _receive(room_b, a.id))
    for loudness, frames in (got_a, got_b):
        assert loudness > 1000, "no audio energy from the partner"
        assert frames >= 3, "no video frames from the partner"


@contextlib.asynccontextmanager
async def _in_room(ready: dict[str, str]) -> AsyncIterator[rtc.Room]:
    room = rtc.Room()
    await room.connect(ready["url"], ready["token"])
    audio = rtc.AudioSource(SAMPLE_RATE, 1)
    video = rtc.VideoSource(WIDTH, HEIGHT)
    mic = rtc.LocalAudioTrack.create_audio_track("mic", audio)
    cam = rtc.LocalVideoTrack.create_video_track("cam", video)
    await room.local_participant.publish_track(
        mic, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
    )
    await room.local_participant.publish_track(
        cam, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_CAMERA)
    )
    feeder = asyncio.create_task(_feed(audio, video))
    try:
        yield room
    finally:
        await stop(feeder)
        await room.disconnect()


async def _feed(audio: rtc.AudioSource, video: rtc.VideoSource) -> None:
    """A 440 Hz tone and a moving grey picture, in 10 ms / ~30 fps steps."""
    per = SAMPLE_RATE // 100
    t = 0
    while True:
        samples = (np.sin(2 * math.pi * 440 * (np.arange(per) + t) / SAMPLE_RATE) * 12000).astype(
            np.int16
        )
        frame = rtc.AudioFrame(samples.tobytes(), SAMPLE_RATE, 1, per)
        await audio.capture_frame(frame)
        t += per
        if t % (per * 3) == 0:
            pixels = np.full((HEIGHT, WIDTH, 4), (t // per) % 255, dtype=np.uint8)
            video.capture_frame(
                rtc.VideoFrame(WIDTH, HEIGHT, rtc.VideoBufferType.RGBA, pixels.tobytes())
            )


async def _partner_tracks(
    room: rtc.Room, partner: str
) -> Mapping[rtc.TrackKind.ValueType, rtc.Track]:
    """The partner's audio and video tracks, once this room has subscribed to both."""
    for _ in range(200):
        p = room.remote_participants.get(partner)
        tracks = {
            pub.track.kind: pub.track
            for pub in (p.track_publications.values() if p else [])
            if pub.track is not None
        }
        if len(tracks) == 2:
            return tracks
        await asyncio.sleep(0.1)
    raise AssertionError("the partner's tracks never arrived")


async def _receive(room: rtc.Room, partner: str) -> tuple[float, int]:
    """Loudest RMS of the partner's audio and how many of their video frames arrived."""
    tracks = await _partner_tracks(room, partner)
    audio = rtc.AudioStream(
        tracks[rtc.TrackKind.KIND_AUDIO], sample_rate=SAMPLE_RATE, num_channels=1
    )
    video = rtc.VideoStream(tracks[rtc.TrackKind.KIND_VIDEO])
    got = {"loudest": 0.0, "frames": 0.0}

    def enough() -> bool:
        return got["loudest"] > 1000 and got["frames"] >= 3

    async def listen() -> None:
        async for ev in audio:
            data = np.frombuffer(ev.frame.data, dtype=np.int16).astype(np.float64)
            if data.size:
                got["loudest"] = max(got["loudest"], float(np.sqrt(np.mean(data**2))))
            if enough():
                return

    async def watch() -> None:
        async for _ in video:
            got["frames"] += 1
            if enough():
                return

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(listen(), watch()), 20)
    await audio.aclose()
    await video.aclose()
    return got["loudest"], int(got["frames"])
