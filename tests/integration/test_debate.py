"""The moderator agent in a real room: the clock, the floor, commands, seats, the end.

A worker of its own runs with the test catalogue (tests/formats_test.json: phases of a few
seconds) under an agent name of its own, so only it takes these rooms' jobs.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from lobby.settings import Settings
from tests.integration import debate_room
from tests.integration.debate_client import Client
from tests.integration.debate_room import Debate, debate, discussion_row, room_exists, sides_in_db
from tests.support.wait import eventually

# This module's worker and engine (the fixtures `debate_settings`, `debate_worker`, `engine`).
_settings = debate_room.settings_fixture
_worker = debate_room.worker_fixture
_engine = debate_room.engine_fixture
FORBIDDEN, NOT_A_DEBATER, WRONG_STATE, UNKNOWN_PARTICIPANT, INVALID = 2101, 2102, 2103, 2104, 2001


async def test_phases_run_on_time_and_only_the_speaker_is_heard(
    debate_settings: Settings, engine: AsyncEngine
) -> None:
    async with debate(debate_settings, engine, "test-debate") as d:
        pro, con = d.pro, d.con
        assert pro.attr("status") == "waiting"
        await pro.call("debate.ready")
        await con.call("debate.ready")

        await pro.wait_event("phase", index=0, floor=[pro.identity])
        await eventually(lambda: con.hears(pro.identity), what="con hears pro")
        await eventually(
            lambda: not pro.mic_open(con.identity) and not pro.hears(con.identity),
            what="con silenced",
        )
        await con.wait_event("warning", seconds_left=3)
        assert not pro.hears(con.identity)  # and still silent later in the speech

        await con.wait_event("phase", index=1, floor=[con.identity])
        # Pro's own number for the second speech: its warning may arrive while the floor is
        # checked below (the test once took its event count after the warning had come).
        began = (await pro.wait_event("phase", index=1, floor=[con.identity]))["seq"]
        await eventually(lambda: pro.hears(con.identity), what="pro hears con")
        await eventually(
            lambda: not con.mic_open(pro.identity) and not con.hears(pro.identity),
            what="pro silenced",
        )
        await eventually(
            lambda: [
                e
                for e in pro.events
                if e["type"] == "warning" and e["seq"] > began and e.get("seconds_left") == 3
            ],
            what="pro warned 3 s before the end of the second speech",
        )
        assert not con.hears(pro.identity)

        await pro.wait_event("phase", index=2, kind="cross")
        await eventually(lambda: pro.hears(con.identity) and con.hears(pro.identity), "both heard")

        ended = await pro.wait_event("ended")
        assert ended["outcome"] == "completed"
        assert [e["seq"] for e in pro.events] == list(range(1, len(pro.events) + 1))
        row = await discussion_row(engine, d.seeded.discussion_id)
        assert (row.outcome, row.winner_id) == ("completed", None)
        assert row.ended_at is not None
    room = d.seeded.room
    await eventually(lambda: _gone(debate_settings, room), "the room deleted")


async def test_prep_time_comes_from_each_sides_pool(
    debate_settings: Settings, engine: AsyncEngine
) -> None:
    """Before each speech after the first, its speaker prepares from their side's pool (eight
    seconds here), with nobody on the floor. Ended early with `debate.ready`, the rest is
    kept; left alone, the pool runs out and the speech begins by itself. (Events say what
    happens when; the pools are read once the debate is over, as the attributes may lag.)"""
    async with debate(debate_settings, engine, "test-prep") as d:
        pro, con = d.pro, d.con
        await pro.call("debate.ready")
        await con.call("debate.ready")
        await pro.wait_event("phase", index=0, floor=[pro.identity])

        prep = await con.wait_event("phase", kind="prep", index=1)
        assert (prep["prep"], prep["floor"]) == (con.identity, [])
        assert await pro.refused("debate.ready") == WRONG_STATE  # not pro's prep to end
        await con.call("debate.ready")  # done preparing: speak now, keep the rest
        await con.wait_event("phase", index=1, kind="speech", floor=[con.identity])

        # Pro says nothing: the whole pool runs down, then the rebuttal starts on its own.
        prep = await pro.wait_event("phase", kind="prep", index=2)
        assert (prep["prep"], prep["floor"]) == (pro.identity, [])
        await pro.wait_event("phase", index=2, kind="speech", floor=[pro.identity])
        assert (await pro.wait_event("ended"))["outcome"] == "completed"
        await eventually(lambda: con.attr("status") == "ended", what="ended state")
        left = con.attr("prep_left_ms")
        assert left[pro.identity] == 0
        # Con's pool was drawn on while it prepared, and what was left is kept (8 s is the
        # deadline the test format names; only a machine stalled that long would fail here).
        print(f"con's prep left: {left[con.identity]} ms of 8000")
        assert 0 < left[con.identity] < 8000, left


async def _begun(d: Debate) -> tuple[Client, Client]:
    """Both debaters ready, and the first phase begun."""
    await d.pro.call("debate.ready")
    await d.con.call("debate.ready")
    await d.pro.wait_event("phase", index=0)
    return d.pro, d.con


async def _gone(settings: Settings, room: str) -> bool:
    return not await room_exists(settings, room)


MODERATOR_COMMANDS: list[tuple[str, dict[str, Any]]] = [
    ("debate.pause", {}),
    ("debate.resume", {}),
    ("debate.extend", {"seconds": 30}),
    ("debate.skip", {}),
    ("debate.end", {}),
    ("debate.mute", {"identity": "someone"}),
]


async def test_moderator_commands_are_refused_to_everyone_else(
    debate_settings: Settings, engine: AsyncEngine
) -> None:
    async with debate(debate_settings, engine, "test-long") as d:
        pro, con = d.pro, d.con
        impostor = await d.join(d.seeded.impostor, mic=False)  # mod-<id> of a plain user
        await pro.call("debate.ready")
        await con.call("debate.ready")
        await pro.wait_event("phase", index=0)
        before = await pro.call("debate.state")
        for method, body in MODERATOR_COMMANDS:
            assert await pro.refused(method, body) == FORBIDDEN, method
            assert await impostor.refused(method, body) == FORBIDDEN, method
        after = await pro.call("debate.state")
        assert {**after, "seq": 0} == {**before, "seq": 0}
        assert [e["type"] for e in con.events] == ["phase"]
        assert await con.refused("debate.yield") == WRONG_STATE  # not con's turn
        assert await impostor.refused("debate.ready") == NOT_A_DEBATER


async def test_moderator_commands_work(debate_settings: Settings, engine: AsyncEngine) -> None:
    async with debate(debate_settings, engine, "test-long") as d:
        pro, con = d.pro, d.con
        moderator = await d.join(d.seeded.moderator, mic=False)
        await pro.call("debate.ready")
        await con.call("debate.ready")
        await pro.wait_event("phase", index=0)

        assert (await moderator.call("debate.pause"))["paused"] is True
        await con.wait_event("paused", reason="moderator")
        await eventually(lambda: con.attr("paused") is True, what="paused attribute")
        assert await moderator.refused("debate.pause") == WRONG_STATE
        await moderator.call("debate.resume")
        await con.wait_event("resumed")

        deadline = (await moderator.call("debate.state"))["deadline"]
        extended = await moderator.call("debate.extend", {"seconds": 30})
        assert abs(extended["deadline"] - deadline - 30_000) <= 1
        await pro.wait_event("extended", seconds=30)
        for body in ({}, {"seconds": "ten"}, {"seconds": 0}, {"seconds": True}):
            assert await moderator.refused("debate.extend", body) == INVALID
        assert await moderator.refused("debate.mute", {"identity": "nobody"}) == UNKNOWN_PARTICIPANT

        assert (await moderator.call("debate.mute", {"identity": pro.identity}))["muted"] is True
        await eventually(lambda: not con.mic_open(pro.identity), what="pro muted")

        await moderator.call("debate.skip")
        await pro.wait_event("phase", index=1, floor=[con.identity])
        await moderator.call("debate.end")
        assert (await con.wait_event("ended"))["outcome"] == "ended_by_moderator"
        await moderator.wait_event("ended", outcome="ended_by_moderator")
        row = await discussion_row(engine, d.seeded.discussion_id)
        assert row.outcome == "ended_by_moderator"


async def _recorded(engine: AsyncEngine, d: Debate, outcome: str) -> Any:
    """The discussion's row once the moderator has recorded `outcome` in it."""

    async def row() -> Any:
        found = await discussion_row(engine, d.seeded.discussion_id)
        return found if found.outcome == outcome else None

    return await eventually(row, f"{outcome} recorded")


@contextlib.asynccontextmanager
async def _con_left(
    settings: Settings, engine: AsyncEngine
) -> AsyncIterator[tuple[Debate, Client]]:
    """A debate under way that con has just left: the debate, and pro."""
    async with debate(settings, engine, "test-long") as d:
        pro, con = await _begun(d)
        await d.leave(con)
        yield d, pro


async def test_a_debater_who_returns_in_time_resumes(
    debate_settings: Settings, engine: AsyncEngine
) -> None:
    async with _con_left(debate_settings, engine) as (d, pro):
        paused = await pro.wait_event("paused", reason="absent")
        assert paused["identity"] == d.seeded.con
        # The attributes come by another path than the event (docs/PROTOCOL.md): they follow.
        await eventually(lambda: pro.attr("paused") is True, what="paused attribute")

        # Back without a microphone: con does not hold the floor, so publishing one would race
        # the moderator taking the right away again.
        back = await d.join(d.seeded.con, mic=False)
        await pro.wait_event("resumed")
        await eventually(lambda: back.attr("paused") is False, what="running again")
        assert back.attr("status") == "running"
        assert back.attr("phase")["index"] == 0
        assert (await discussion_row(engine, d.seeded.discussion_id)).outcome is None


async def test_a_debater_who_does_not_return_forfeits(
    debate_settings: Settings, engine: AsyncEngine
) -> None:
    async with _con_left(debate_settings, engine) as (d, pro):
        ended = await pro.wait_event("ended")
        assert (ended["outcome"], ended["winner"]) == ("forfeit", pro.identity)
        row = await _recorded(engine, d, "forfeit")
        assert row.winner_id == uuid.UUID(pro.identity)
        assert row.ended_at is not None


@contextlib.asynccontextmanager
async def _casual_talk(settings: Settings, engine: AsyncEngine) -> AsyncIterator[Debate]:
    """A casual talk (no sides) with its open phase begun."""
    async with debate(settings, engine, "casual", sides=False) as d:
        await d.pro.wait_event("phase", index=0, kind="open")
        yield d


async def test_a_casual_talk_becomes_a_quick_debate(
    debate_settings: Settings, engine: AsyncEngine
) -> None:
    async with _casual_talk(debate_settings, engine) as d:
        pro, con = d.pro, d.con
        assert pro.attr("sides") == {pro.identity: None, con.identity: None}
        assert await pro.refused("debate.respond", {"accept": True}) == WRONG_STATE
        await pro.call("debate.propose")
        await con.wait_event("proposal", **{"from": pro.identity})
        assert await pro.refused("debate.respond", {"accept": True}) == WRONG_STATE
        assert await con.refused("debate.respond", {"accept": "yes"}) == INVALID
        await con.call("debate.respond", {"accept": True})

        await pro.wait_event("phase", index=0, kind="speech")
        await eventually(lambda: pro.attr("format") == "quick-debate", what="format switched")
        sides = pro.attr("sides")
        assert sorted(sides) == sorted([pro.identity, con.identity])
        assert sorted(sides.values()) == ["con", "pro"]
        assert await pro.refused("debate.propose") == WRONG_STATE
        row = await discussion_row(engine, d.seeded.discussion_id)
        assert row.format == "quick-debate"
        assert await sides_in_db(engine, d.seeded.discussion_id) == sides


async def test_a_declined_proposal_keeps_the_talk(
    debate_settings: Settings, engine: AsyncEngine
) -> None:
    async with _casual_talk(debate_settings, engine) as d:
        pro, con = d.pro, d.con
        await con.call("debate.propose")
        await pro.wait_event("proposal")
        await pro.call("debate.respond", {"accept": False})
        await con.wait_event("proposal_declined", by=pro.identity)
        assert con.attr("format") == "casual"
        await pro.wait_event("warning", seconds_left=4)
        ended = await con.wait_event("ended")
        assert ended["outcome"] == "finished"
        await _recorded(engine, d, "finished")
