"""A moderator whose worker dies is replaced, and the debate goes on where it was.

The real API runs (its supervisor re-dispatches moderators) with two real workers: the one
that runs the room's moderator is SIGKILLed mid-speech, as a crash would, and nothing restarts
it; the other was running already, as a second worker of a deployment is (both were started
first: which one takes the room's job is LiveKit's choice). The room must get a
moderator again within 20 s, in the same phase with about the time that was left, and the
floor must be enforced again (the debater who rejoined meanwhile got a microphone from their
token, and loses it).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import secrets
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from livekit import api, rtc
from livekit.protocol.models import TrackSource
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from lobby.debate_states import DEBATE_STATE_TTL, DebateStates
from lobby.settings import Settings
from lobby.store import open_redis
from scripts.stack import Stack, free_port, port_free
from tests.integration.debate_client import MODERATOR, Client
from tests.integration.debate_room import debate as open_debate
from tests.integration.debate_room import engine_fixture, settings_fixture
from tests.support.livekit import server_api
from tests.support.wait import eventually
from tests.support.worker import Worker, start_worker

# The module's settings and Postgres engine; its workers are its own (no `debate_worker`).
debate_settings = settings_fixture
engine = engine_fixture

# What issue of the failure model this shows: the room has its moderator again this soon.
BACK_WITHIN = 20.0
# The time the speaker had left, against what the new moderator gives them: a save a second
# old, plus the moderator's own start (its heartbeat is written every second).
TIME_LOST = 3.0


@pytest.fixture
async def api_app(debate_settings: Settings, api_port: int) -> AsyncIterator[None]:
    """The API, with a lobby room of its own, on the port LiveKit sends its webhooks to unless
    another API of the run holds it (the browser tests' site does, for the whole session): its
    supervisor notices a dead moderator by the missing heartbeat, webhooks or not."""
    mine = dataclasses.replace(debate_settings, lobby_room=f"lobby-{secrets.token_hex(4)}")
    port = api_port if port_free(api_port) else free_port()
    server = TestServer(create_app(mine), port=port)
    await server.start_server()
    try:
        yield
    finally:
        await server.close()
        async with server_api(mine) as lk:
            await lk.room.delete_room(api.DeleteRoomRequest(room=mine.lobby_room))


@pytest.fixture
async def workers(stack: Stack, debate_settings: Settings) -> AsyncIterator[list[Worker]]:
    started: list[Worker] = []
    yield started
    for w in started:
        await asyncio.to_thread(w.stop)


async def _worker(stack: Stack, settings: Settings, workers: list[Worker], n: int) -> None:
    w = await asyncio.to_thread(start_worker, stack, settings, f"worker-{settings.agent_name}-{n}")
    workers.append(w)


def _holder(workers: list[Worker], room: str) -> Worker:
    """The worker that took the room's moderator job (it logs the job's room)."""
    held = [w for w in workers if f'"room": "{room}"' in w.log.read_text(errors="replace")]
    assert len(held) == 1, "one worker runs the room's moderator"
    return held[0]


def _moderator(client: Client) -> rtc.RemoteParticipant | None:
    return client.room.remote_participants.get(MODERATOR)


async def _sources(settings: Settings, room: str, identity: str) -> list[int]:
    async with server_api(settings) as lk:
        found = await lk.room.list_participants(api.ListParticipantsRequest(room=room))
    return [
        s
        for p in found.participants
        if p.identity == identity
        for s in p.permission.can_publish_sources
    ]


async def test_a_killed_moderator_is_replaced_and_the_speech_goes_on(
    stack: Stack,
    debate_settings: Settings,
    engine: AsyncEngine,
    api_app: None,
    workers: list[Worker],
) -> None:
    await asyncio.gather(*(_worker(stack, debate_settings, workers, n) for n in range(2)))
    async with open_debate(debate_settings, engine, "test-long") as d:
        await d.pro.call("debate.ready")
        await d.con.call("debate.ready")
        await eventually(lambda: d.pro.attr("status") == "running", "the debate started")
        first = _holder(workers, d.seeded.room)
        await asyncio.sleep(3)  # into the pro speech
        gone = _moderator(d.pro)
        assert gone is not None and d.pro.attr("phase")["index"] == 0
        deadline = d.pro.attr("deadline") / 1000

        first.proc.kill()
        killed_at = time.time()
        left_at_kill = deadline - killed_at
        # The con debater drops and rejoins while nobody moderates: their token gives them a
        # microphone again.
        await d.leave(d.con)
        d.con = Client(debate_settings, d.seeded.con, d.seeded.room)
        d.clients.append(d.con)
        await d.con.connect()

        def back() -> bool:
            now = _moderator(d.pro)
            return now is not None and now.sid != gone.sid and bool(now.attributes.get("phase"))

        await eventually(back, "a new moderator", BACK_WITHIN * 2)
        back_after = time.time() - killed_at
        state: dict[str, Any] = await d.pro.call("debate.state")
        left_now = state["deadline"] / 1000 - time.time()
        print(
            f"moderator back {back_after:.1f} s after the kill; the speaker had "
            f"{left_at_kill:.1f} s left and has {left_now:.1f} s"
        )
        assert back_after < BACK_WITHIN
        assert state["status"] == "running" and state["phase"]["index"] == 0
        assert state["floor"] == [d.seeded.pro]
        assert abs(left_now - left_at_kill) < TIME_LOST

        pro_sources = await _sources(debate_settings, d.seeded.room, d.seeded.pro)
        assert TrackSource.MICROPHONE in pro_sources

        async def con_muted() -> bool:
            sources = await _sources(debate_settings, d.seeded.room, d.seeded.con)
            return TrackSource.MICROPHONE not in sources

        await eventually(con_muted, "the floor re-applied to the rejoined debater", 10, every=0.2)
        assert json.loads(d.con.state["floor"]) == [d.seeded.pro]

        # The record the new moderator keeps writing expires unless refreshed.
        redis = open_redis(debate_settings.redis_url)
        try:
            key = DebateStates(redis, debate_settings.redis_prefix).key(d.seeded.room)
            assert 0 < await redis.ttl(key) <= DEBATE_STATE_TTL
        finally:
            await redis.aclose()
