"""No audio out of turn, whatever source it declares (docs/PROTOCOL.md, "Speaking rights").

LiveKit checks a track only against the source its client declares, so a modified client
without the floor can publish its microphone's sound declared as `CAMERA`. Real clients
publish a tone that way; the listener measures what it receives.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from livekit import api, rtc
from sqlalchemy.ext.asyncio import AsyncEngine

from lobby.settings import Settings
from tests.integration import debate_room
from tests.integration.debate_client import Client
from tests.integration.debate_room import Debate, debate, job_metadata, seed
from tests.support.livekit import server_api
from tests.support.wait import eventually

# This module's worker and engine (the fixtures `debate_settings`, `debate_worker`, `engine`).
_settings = debate_room.settings_fixture
_worker = debate_room.worker_fixture
_engine = debate_room.engine_fixture

CAMERA = rtc.TrackSource.SOURCE_CAMERA
MIC = rtc.TrackSource.SOURCE_MICROPHONE
REMOVED = rtc.DisconnectReason.PARTICIPANT_REMOVED
WINDOW = 3.0  # seconds of sound measured
TONE = 2000.0  # the tone's RMS is about 5600: anything above this was heard


async def _pro_speaks(d: Debate) -> None:
    """The debate under way, pro holding the floor and con's microphone taken away."""
    await d.pro.call("debate.ready")
    await d.con.call("debate.ready")
    await d.pro.wait_event("phase", index=0, floor=[d.pro.identity])
    await eventually(lambda: not d.pro.mic_open(d.con.identity), what="con's microphone revoked")


async def _silenced(listener: Client, offender: str) -> float:
    """Wait for the offender's camera-declared audio to be muted and silent, then measure it."""
    await eventually(lambda: listener.is_muted(offender, CAMERA), what="the audio muted")
    await eventually(lambda: listener.silent(offender, CAMERA), what="the audio silent")
    return await listener.loudness(offender, CAMERA, WINDOW)


async def test_audio_declared_as_camera_is_muted_and_unmuting_it_removes(
    debate_settings: Settings, engine: AsyncEngine
) -> None:
    async with debate(debate_settings, engine, "test-long") as d:
        pro, con = d.pro, d.con
        await _pro_speaks(d)
        smuggled = await con.publish_audio(CAMERA, "smuggled")

        # The same tone as pro's microphone, which holds the floor, is the positive control.
        heard, control = await asyncio.gather(
            _silenced(pro, con.identity), con.loudness(pro.identity, MIC, WINDOW)
        )
        assert control > TONE, control
        assert heard < control / 50, (heard, control)
        assert con.disconnect_reason is None  # a first offence costs the track only

        smuggled.unmute()  # the client undoes the moderator's mute: a repeat
        await eventually(lambda: con.disconnect_reason == REMOVED, what="con removed")
        await eventually(lambda: con.identity not in pro.room.remote_participants, "con gone")


async def test_a_second_such_track_removes_anyone(
    debate_settings: Settings, engine: AsyncEngine
) -> None:
    """Not only debaters: anyone in the room (here a plain user with a `mod-` identity)."""
    async with debate(debate_settings, engine, "test-long") as d:
        pro = d.pro
        await _pro_speaks(d)
        stranger = await d.join(d.seeded.impostor, mic=False)
        await stranger.publish_audio(CAMERA, "first")
        heard, control = await asyncio.gather(
            _silenced(pro, stranger.identity), stranger.loudness(pro.identity, MIC, WINDOW)
        )
        assert control > TONE, control
        assert heard < control / 50, (heard, control)
        assert stranger.disconnect_reason is None  # a first offence costs the track only

        await stranger.publish_audio(CAMERA, "second")
        await eventually(lambda: stranger.disconnect_reason == REMOVED, what="stranger removed")
        await eventually(
            lambda: stranger.identity not in pro.room.remote_participants, "stranger gone"
        )


@contextlib.asynccontextmanager
async def _clients(*clients: Client) -> AsyncIterator[None]:
    try:
        yield
    finally:
        for client in clients:
            await client.aclose()


async def test_audio_published_before_the_moderator_came_is_muted(
    debate_settings: Settings, engine: AsyncEngine
) -> None:
    """The moderator checks what is already in the room when it joins."""
    s = await seed(engine, "test-long")
    pro = Client(debate_settings, s.pro, s.room)
    con = Client(debate_settings, s.con, s.room)
    async with (
        server_api(debate_settings) as lk,
        _clients(pro, con),
    ):
        await lk.room.create_room(api.CreateRoomRequest(name=s.room, empty_timeout=30))
        await pro.connect(mic=False)
        await con.connect(mic=False)
        await con.publish_audio(CAMERA, "smuggled")
        await eventually(lambda: not pro.silent(con.identity, CAMERA), what="pro hears con")

        await lk.agent_dispatch.create_dispatch(
            api.CreateAgentDispatchRequest(
                agent_name=debate_settings.agent_name,
                room=s.room,
                metadata=job_metadata(s, "test-long"),
            )
        )
        assert await _silenced(pro, con.identity) < TONE / 50
        assert "status" in pro.state  # the moderator is there
