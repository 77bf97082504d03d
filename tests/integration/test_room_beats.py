"""What an idle moderator leaves to its worker's round, against the real Redis: the round
writes every room's heartbeat and shown phase and tells a room its new audience count
(agent/room_beats.py); a successor takes the debate's record as it stood at the last
heartbeat, and a change not yet written stops the heartbeat (agent/memory.py)."""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from agent.clock import DebateClock
from agent.memory import Memory
from agent.room_beats import PERIOD, Beat, RoomBeats
from agent.state import Record, Seats
from lobby.audience import Audiences
from lobby.debate_states import DebateStates
from lobby.formats import load_catalogue
from lobby.settings import Settings
from lobby.store import open_redis
from scripts.stack import ROOT, free_port
from tests.support.wait import eventually


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    client = open_redis(settings.redis_url)
    yield client
    await client.aclose()


def _record(at: float) -> Record:
    fmt = load_catalogue(ROOT / "tests" / "formats_test.json").formats["test-long"]
    clock = DebateClock(fmt, at)
    clock.arrive("pro", at)
    clock.arrive("con", at)
    clock.ready("pro", at)
    clock.ready("con", at)  # running: the pro speech ends at a deadline of its own
    return Record("m1", fmt.id, Seats({"a": "pro", "b": "con"}, True), clock.save(at), {"a": 3})


async def test_the_round_beats_for_every_room_and_tells_a_room_its_new_count(
    redis: Redis,
) -> None:
    prefix = f"b{secrets.token_hex(4)}"
    states, audiences = DebateStates(redis, prefix), Audiences(redis, prefix)
    beats = RoomBeats(states, audiences)
    told: list[int] = []
    rounds = asyncio.create_task(beats.run())
    try:
        with beats.entry("r1") as one, beats.entry("r2") as two, beats.entry("r3"):
            one.listen(lambda: told.append(one.count))
            one.alive_at, one.phase = 1000.5, "Opening"
            two.alive_at = 2000.25  # nothing shown yet; r3's moderator has not started
            await audiences.joined("r1", "spectator-1", 5)
            await eventually(lambda: told == [1], "r1 told of its spectator", 10)
            found = await states.written_at(["r1", "r2", "r3"])
            assert found == {"r1": 1000.5, "r2": 2000.25, "r3": None}
            assert await audiences.live(["r1", "r2"]) == {"r1": (1, "Opening"), "r2": (0, "")}
            one.alive_at = 1001.5

            async def moved() -> bool:
                return (await states.written_at(["r1"]))["r1"] == 1001.5

            await eventually(moved, "r1's heartbeat moves", 10, every=0.2)
            one.unlisten()
            await audiences.left("r1", "spectator-1", 6)
            await eventually(lambda: one.count == 0, "the round reads the count again", 10)
            assert told == [1]  # no longer listening
        await redis.delete(states.key("r1"))
        await asyncio.sleep(3 * PERIOD)  # rounds after the room's entry ended
        assert (await states.written_at(["r1"]))["r1"] is None
    finally:
        rounds.cancel()


async def test_a_successor_takes_the_record_as_it_stood_at_the_last_heartbeat(
    redis: Redis,
) -> None:
    states = DebateStates(redis, f"m{secrets.token_hex(4)}")
    memory = Memory(states, Beat("room-x"))
    record = _record(100.0)
    await memory.keep(lambda: record)
    assert await memory.recall("m1") == record
    await states.beat({"room-x": 160.0})
    found = await Memory(states, Beat("room-x")).recall("m1")
    assert found == dataclasses.replace(record, clock=dataclasses.replace(record.clock, at=160.0))
    # The speaker is given what they had at the heartbeat: the time since counts against
    # nobody.
    fmt = load_catalogue(ROOT / "tests" / "formats_test.json").formats["test-long"]
    left = DebateClock.restore(fmt, found.clock, 170.0).snapshot(170.0).remaining
    assert left == DebateClock.restore(fmt, record.clock, 100.0).snapshot(160.0).remaining == 60
    assert await Memory(states, Beat("room-x")).recall("another match") is None


async def test_a_change_not_written_stops_the_heartbeat() -> None:
    nowhere = open_redis(f"redis://127.0.0.1:{free_port()}/0", timeout=0.2)
    beat = Beat("room-y")
    memory = Memory(DebateStates(nowhere, "x"), beat)
    pulse = asyncio.create_task(memory.pulse(lambda: _record(100.0)))
    try:
        await asyncio.sleep(0.1)
        assert beat.alive_at > 0  # nothing changed yet: alive
        beat.alive_at = 0.0
        await memory.keep(lambda: _record(100.0))  # fails: Redis is not there
        await asyncio.sleep(2.5 * PERIOD)  # the pulse tries the write again, and fails
        assert beat.alive_at == 0.0
    finally:
        pulse.cancel()
        await nowhere.aclose()
