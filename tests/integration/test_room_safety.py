"""The moderator agent's part in trust and safety, in a real room: its record of the chat with
senders LiveKit vouched for, a banned person removed on arrival with a token they still hold,
and a debater who reported the other leaving without losing by forfeit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from livekit import rtc
from sqlalchemy.ext.asyncio import AsyncEngine

from lobby.contract import CHAT_TOPIC
from lobby.sanctions import Sanctions
from lobby.settings import Settings
from lobby.store import open_redis
from tests.integration import debate_room
from tests.integration.debate_client import Client
from tests.integration.debate_room import debate, discussion_row, room_exists
from tests.support.wait import eventually

_settings = debate_room.settings_fixture
_worker = debate_room.worker_fixture
_engine = debate_room.engine_fixture


@pytest.fixture
async def sanctions(debate_settings: Settings) -> AsyncIterator[Sanctions]:
    redis = open_redis(debate_settings.redis_url, max_connections=2)
    yield Sanctions(redis, debate_settings.redis_prefix)
    await redis.aclose()


async def test_the_moderator_records_the_chat_with_vouched_senders(
    debate_settings: Settings, engine: AsyncEngine, sanctions: Sanctions
) -> None:
    async with debate(debate_settings, engine, "test-long") as d:
        await d.con.room.local_participant.send_text("hello pro", topic=CHAT_TOPIC)
        await d.pro.room.local_participant.send_text("hi con", topic=CHAT_TOPIC)

        async def heard() -> list[tuple[str, str]]:
            lines = await sanctions.chat(d.seeded.room)
            return sorted((x["from"], x["text"]) for x in lines) if len(lines) == 2 else []

        found = await eventually(heard, "both lines in the moderator's record")
        assert found == sorted([(d.seeded.con, "hello pro"), (d.seeded.pro, "hi con")])
        # Only for the discussion's life: the room's end takes it away (the API does this on
        # LiveKit's room_finished).
        await sanctions.forget_room(d.seeded.room)
        assert await sanctions.chat(d.seeded.room) == []


async def test_a_banned_person_is_removed_on_arrival(
    debate_settings: Settings, engine: AsyncEngine, sanctions: Sanctions
) -> None:
    async with debate(debate_settings, engine, "test-long") as d:
        await sanctions.ban(d.seeded.con, None, 0)
        # Con comes again with a room token they still hold (the new connection takes the
        # place of the old one, as LiveKit does for one identity).
        back = Client(debate_settings, d.seeded.con, d.seeded.room)
        try:
            try:
                await back.connect(mic=False)
            except rtc.ConnectError:
                # Removed before the SDK had finished connecting (a busy machine): it joins
                # again, and by then the debate has ended with Con's seat empty and the room is
                # gone. Only the removal ends it: without the ban Con would simply be back.
                await eventually(
                    lambda: _gone(debate_settings, d.seeded.room), "the room closed", 30
                )
            else:
                await eventually(
                    lambda: back.disconnect_reason == rtc.DisconnectReason.PARTICIPANT_REMOVED,
                    "the banned debater removed",
                )
        finally:
            await back.aclose()
            await sanctions.unban(d.seeded.con)


async def _gone(settings: Settings, room: str) -> bool:
    return not await room_exists(settings, room)


async def test_a_reporter_who_leaves_does_not_lose_by_forfeit(
    debate_settings: Settings, engine: AsyncEngine, sanctions: Sanctions
) -> None:
    async with debate(debate_settings, engine, "test-long") as d:
        pro, con = d.pro, d.con
        await pro.call("debate.ready")
        await con.call("debate.ready")
        await pro.wait_event("phase", index=0)
        await sanctions.note_reporter(d.seeded.room, d.seeded.con)  # as POST /api/reports does
        await d.leave(con)
        ended = await pro.wait_event("ended")
        assert (ended["outcome"], ended["winner"]) == ("reported", None)

        async def recorded() -> bool:
            row = await discussion_row(engine, d.seeded.discussion_id)
            return bool(row.outcome == "reported" and row.winner_id is None)

        await eventually(recorded, "the end recorded with no winner")
