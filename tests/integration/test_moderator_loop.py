"""The moderator's own loop, run in this process against the real LiveKit server, Postgres and
two SDK debaters: it does nothing between the clock's deadlines, and it keeps its room
through a full reconnect of its own connection.

The other debate tests see the moderator only from outside, where a loop that recomputes the
state nonstop looks exactly like one that sleeps (it publishes nothing new); here the clock's
`tick` is counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from livekit import api, rtc
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from agent import announcer
from agent import moderator as moderator_module
from agent.clock_types import Event
from agent.floor import Floor
from agent.moderator import Moderator
from agent.sdk import route
from lobby.contract import Job
from lobby.db import Database
from lobby.formats import load_catalogue
from lobby.settings import Settings
from tests.integration.debate_client import MODERATOR, Client, token
from tests.integration.debate_room import job_metadata, seed
from tests.support.faults import Gate
from tests.support.livekit import server_api
from tests.support.media import stop
from tests.support.wait import eventually

CATALOGUE = Path(__file__).resolve().parents[1] / "formats_test.json"
# Two-minute phases: nothing falls due while a test watches the idle moderator.
FORMAT = "test-long"
IDLE_TURNS = 2000


@dataclass
class Room:
    moderator: Moderator
    agent: rtc.Room
    pro: Client
    con: Client
    ticks: list[float]


@pytest.fixture
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    eng = create_async_engine(settings.async_database_url)
    yield eng
    await eng.dispose()


@contextlib.asynccontextmanager
async def _moderated(
    settings: Settings, engine: AsyncEngine, *, floor_api: api.LiveKitAPI | None = None
) -> AsyncIterator[Room]:
    """A moderator run here; its floor (permissions, events) goes through `floor_api` if
    given, else through the same server API client as the rest."""
    settings = replace(settings, formats_file=str(CATALOGUE))
    s = await seed(engine, FORMAT)
    catalogue = load_catalogue(settings.formats_file)
    agent = rtc.Room()
    lkapi = server_api(settings)
    await lkapi.room.create_room(api.CreateRoomRequest(name=s.room))  # no join creates one
    await agent.connect(settings.livekit_url, token(settings, MODERATOR, s.room, agent=True))
    route(agent)  # as the worker does (agent.sdk), so the reconnect test covers routing too
    floor = Floor(floor_api or lkapi, s.room)
    try:
        db = Database.connect(settings.async_database_url, pool_size=1)
        async with contextlib.aclosing(db):
            job = Job.from_json(job_metadata(s, FORMAT))
            fmt = catalogue.formats[FORMAT]
            moderator = Moderator(agent, job, catalogue, fmt, floor, db, random.Random(3))
            ticks: list[float] = []
            tick = moderator.clock.tick

            def counted(now: float) -> list[Event]:
                ticks.append(now)
                return tick(now)

            moderator.clock.tick = counted  # type: ignore[method-assign]
            task = asyncio.create_task(moderator.run())
            pro, con = Client(settings, s.pro, s.room), Client(settings, s.con, s.room)
            try:
                for client in (pro, con):
                    await client.connect(mic=False)
                    await eventually(_has_state(client), "the moderator's state")
                yield Room(moderator, agent, pro, con, ticks)
            finally:
                await stop(task)
                for client in (pro, con):
                    await client.aclose()
    finally:
        await agent.disconnect()
        with contextlib.suppress(api.TwirpError):
            await lkapi.room.delete_room(api.DeleteRoomRequest(room=s.room))
        await lkapi.aclose()


def _has_state(client: Client) -> Callable[[], bool]:
    return lambda: "status" in client.state


async def _idle_ticks(ticks: list[float]) -> int:
    """Ticks over many turns of the event loop the moderator shares with this test: a loop
    that did not wait for its clock would tick on every turn, however fast the turns go."""
    before = len(ticks)
    for _ in range(IDLE_TURNS):
        await asyncio.sleep(0)
    return len(ticks) - before


def _no_wakeup_due(r: Room) -> None:
    """No deadline of the clock fell within the idle turns just counted, so a tick there
    would have been the loop's own doing (the time to spare is printed, not judged)."""
    wake = r.moderator.clock.next_wakeup()
    spare = None if wake is None else wake - time.time()
    print(f"the clock's next wake-up after the idle turns: {spare} s away")
    assert spare is None or spare > 0, spare


def _both_seated(r: Room) -> Callable[[], bool]:
    return lambda: not r.moderator.clock.snapshot(time.time()).absent


async def test_an_idle_moderator_waits_for_the_clock(
    settings: Settings, engine: AsyncEngine
) -> None:
    async with _moderated(settings, engine) as r:
        await eventually(_both_seated(r), "both debaters seated")
        # Waiting for "ready": nothing wakes the loop before the automatic start, long after.
        assert await _idle_ticks(r.ticks) <= 2
        _no_wakeup_due(r)
        await asyncio.gather(r.pro.call("debate.ready"), r.con.call("debate.ready"))
        await eventually(lambda: r.pro.attr("status") == "running", "the debate running")
        # A two-minute opening speech: the next wake-up is its warning, a minute or more away.
        assert await _idle_ticks(r.ticks) <= 2
        _no_wakeup_due(r)
        assert r.pro.attr("floor") == [r.pro.identity]


async def test_the_moderator_keeps_its_room_through_a_full_reconnect(
    settings: Settings, engine: AsyncEngine
) -> None:
    async with _moderated(settings, engine) as r:
        await asyncio.gather(r.pro.call("debate.ready"), r.con.call("debate.ready"))
        await eventually(lambda: r.con.attr("status") == "running", "the debate running")
        await r.agent.simulate_scenario(rtc.SimulateScenarioKind.SIMULATE_FULL_RECONNECT)
        await eventually(
            lambda: r.agent.connection_state == rtc.ConnectionState.CONN_CONNECTED,
            "the agent connected again",
        )
        await eventually(_both_seated(r), "both debaters seated after the reconnect")

        async def state_() -> Any:
            # Until the debaters see the rejoined agent, a call says "Recipient disconnected".
            with contextlib.suppress(rtc.RpcError):
                return await r.con.call("debate.state")
            return None

        state = await eventually(state_, "con reaches the moderator again", every=0.5)
        assert state["status"] == "running" and state["floor"] == [r.pro.identity]
        # The debate goes on: pro yields, con speaks (the reconnect may pause it while the
        # debaters are out of sight; their seats are held and the debate resumes, not forfeits).
        await r.pro.call("debate.yield")
        await r.con.wait_event("phase", index=1)
        assert not [e for e in r.con.events if e["type"] == "ended"], r.con.events
        assert r.moderator.clock.outcome is None


async def _may_speak(lkapi: api.LiveKitAPI, room: str, identity: str) -> bool:
    """Whether LiveKit itself lets `identity` publish a microphone in `room` now."""
    info = await lkapi.room.get_participant(
        api.RoomParticipantIdentity(room=room, identity=identity)
    )
    return api.TrackSource.MICROPHONE in info.permission.can_publish_sources


# The moderator's patience with one call to LiveKit, and how long a command's reply waits for
# the room's update, shortened here: every call it makes while the API stalls (the command's,
# the loop's, the retries) is given up in seconds, and a debater who waits `ANSWER_WITHIN`
# for a reply gets it although the update takes longer (two calls given up: 6 s).
PATIENCE = 3.0
REPLY_WAIT = 1.0
ANSWER_WITHIN = 4.0


async def test_commands_are_answered_while_livekit_api_stalls(
    settings: Settings, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The moderator's calls to LiveKit's server API (permissions, events) stop being answered
    while the debaters start the debate: their commands are still answered in time, with the
    debate running, and once the API answers again the room catches up by itself, though every
    call made meanwhile was given up: the floor is enforced, and the debate goes on."""
    for module in (moderator_module, announcer):
        monkeypatch.setattr(module, "CALL", PATIENCE)
    monkeypatch.setattr(moderator_module, "REPLY_WAIT", REPLY_WAIT)
    url = urlsplit(settings.livekit_url)
    assert url.hostname is not None and url.port is not None
    async with Gate(url.hostname, url.port) as gate:
        floor_api = api.LiveKitAPI(
            f"http://127.0.0.1:{gate.port}", settings.livekit_api_key, settings.livekit_api_secret
        )
        async with (
            contextlib.aclosing(floor_api),
            server_api(settings) as lkapi,
            _moderated(settings, engine, floor_api=floor_api) as r,
        ):
            await eventually(_both_seated(r), "both debaters seated")
            room = r.agent.name
            # Before the start both may speak; once it starts, only pro (the first speaker).
            assert await _may_speak(lkapi, room, r.con.identity)
            await r.pro.call("debate.ready")
            gate.hold()
            started = await r.con.call("debate.ready", within=ANSWER_WITHIN)
            assert started["status"] == "running"
            await eventually(lambda: r.con.attr("floor") == [r.pro.identity], "the floor shown")
            assert await _may_speak(lkapi, room, r.con.identity)  # not taken away yet
            # Held until every update the change brought has given up its calls: the room
            # must come back to the floor by itself (nothing falls due for a minute or more).
            await asyncio.sleep(5 * PATIENCE)
            gate.release()

            async def con_silenced() -> bool:
                return not await _may_speak(lkapi, room, r.con.identity)

            # By itself: before the clock's next deadline would have brought an update anyway.
            due = r.moderator.clock.next_wakeup()
            await eventually(con_silenced, "the floor enforced", within=30)
            assert due is None or time.time() < due, f"enforced {time.time() - due:.1f} s late"
            assert await _may_speak(lkapi, room, r.pro.identity)
            await r.pro.call("debate.yield")
            await r.con.wait_event("phase", index=1)
            await eventually(lambda: _may_speak(lkapi, room, r.con.identity), "con's turn")
