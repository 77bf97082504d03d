"""What the debate tests need around the real servers: rows in Postgres, a room with the
moderator dispatched into it, a worker of the test module's own, and the debaters connected
as Python clients (`tests/integration/debate_client.py`).
"""

from __future__ import annotations

import contextlib
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from livekit import api
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from lobby.contract import MODERATOR_PREFIX, Debater, Job
from lobby.db.schema import discussion_participants, discussions, topics, users
from lobby.sanctions import Sanctions
from lobby.settings import Settings
from lobby.store import open_redis
from scripts.stack import Stack
from tests.integration.debate_client import Client
from tests.support.livekit import server_api
from tests.support.wait import eventually
from tests.support.worker import start_worker


@dataclass
class Seeded:
    room: str
    discussion_id: str
    pro: str
    con: str
    # `mod-<uuid>` of a user with the moderator role, and of a plain user; recorded in Redis as
    # the API records the opaque identities it mints (`record_moderators`)
    moderator: str
    impostor: str


async def _user(conn: AsyncConnection, name: str, role: str = "user") -> str:
    uid = uuid.uuid4()
    await conn.execute(
        sa.insert(users).values(
            id=uid, email=f"{uid.hex}@test.disco", password_hash="-", display_name=name, role=role
        )
    )
    return str(uid)


async def seed(engine: AsyncEngine, format_id: str, *, sides: bool = True) -> Seeded:
    tag = uuid.uuid4().hex[:10]
    async with engine.begin() as conn:
        pro, con = await _user(conn, "Pro"), await _user(conn, "Con")
        moderator = await _user(conn, "Mod", "moderator")
        plain = await _user(conn, "Plain")
        await conn.execute(
            sa.insert(topics).values(
                slug=f"t-{tag}", title="Cats", description="-", motion="Cats beat dogs"
            )
        )
        did = uuid.uuid4()
        await conn.execute(
            sa.insert(discussions).values(
                id=did, match_id=tag, room=f"debate-{tag}", topic_slug=f"t-{tag}", format=format_id
            )
        )
        for uid, side in ((pro, "pro"), (con, "con")):
            await conn.execute(
                sa.insert(discussion_participants).values(
                    discussion_id=did, user_id=uuid.UUID(uid), side=side if sides else None
                )
            )
    return Seeded(
        f"debate-{tag}", str(did), pro, con, MODERATOR_PREFIX + moderator, MODERATOR_PREFIX + plain
    )


async def record_moderators(settings: Settings, s: Seeded) -> None:
    """As the API does when it mints a moderator's token: whose `mod-` identity it is."""
    redis = open_redis(settings.redis_url, max_connections=1)
    try:
        sanctions = Sanctions(redis, settings.redis_prefix)
        for identity in (s.moderator, s.impostor):
            user = identity.removeprefix(MODERATOR_PREFIX)
            await sanctions.issue_moderator_identity(identity, user)
    finally:
        await redis.aclose()


def job_metadata(s: Seeded, format_id: str, *, sides: bool = True) -> str:
    return Job(
        "moderator",
        match_id=s.room,
        discussion_id=s.discussion_id,
        room=s.room,
        topic="cats",
        topic_title="Cats",
        motion="Cats beat dogs",
        format=format_id,
        debaters=(
            Debater(s.pro, "Pro", "pro" if sides else None),
            Debater(s.con, "Con", "con" if sides else None),
        ),
    ).to_json()


async def open_room(settings: Settings, s: Seeded, format_id: str, *, sides: bool = True) -> None:
    async with server_api(settings) as lk:
        await lk.room.create_room(
            api.CreateRoomRequest(
                name=s.room,
                empty_timeout=30,
                agents=[
                    api.RoomAgentDispatch(
                        agent_name=settings.agent_name,
                        metadata=job_metadata(s, format_id, sides=sides),
                    )
                ],
            )
        )


async def room_exists(settings: Settings, room: str) -> bool:
    async with server_api(settings) as lk:
        rooms = await lk.room.list_rooms(api.ListRoomsRequest(names=[room]))
    return bool(rooms.rooms)


# -- a worker of the test module's own ------------------------------------------------------
# A test module takes these three fixtures by assigning them to names of its own (pytest finds
# them by their `name`): a worker with the test catalogue (tests/formats_test.json: phases of
# a few seconds) under an agent name of the module's own, so only it takes its rooms' jobs.
CATALOGUE = Path(__file__).resolve().parents[1] / "formats_test.json"


@pytest.fixture(scope="module", name="debate_settings")
def settings_fixture(settings: Settings) -> Settings:
    return replace(
        settings, formats_file=str(CATALOGUE), agent_name=f"disco-debate-{secrets.token_hex(3)}"
    )


@pytest.fixture(scope="module", name="debate_worker", autouse=True)
def worker_fixture(stack: Stack, debate_settings: Settings) -> Iterator[None]:
    worker = start_worker(stack, debate_settings, name=f"worker-{debate_settings.agent_name}")
    yield
    worker.stop()


@pytest.fixture(scope="module", name="engine")
async def engine_fixture(debate_settings: Settings) -> AsyncIterator[AsyncEngine]:
    eng = create_async_engine(debate_settings.async_database_url)
    yield eng
    await eng.dispose()


@dataclass
class Debate:
    settings: Settings
    seeded: Seeded
    pro: Client
    con: Client
    clients: list[Client]

    async def join(self, identity: str, *, mic: bool = True) -> Client:
        client = Client(self.settings, identity, self.seeded.room)
        self.clients.append(client)
        await client.connect(mic=mic)
        await eventually(lambda: "status" in client.state, what="the moderator's state")
        return client

    async def leave(self, client: Client) -> None:
        self.clients.remove(client)
        await client.aclose()


@contextlib.asynccontextmanager
async def debate(
    settings: Settings, engine: AsyncEngine, format_id: str, *, sides: bool = True, mic: bool = True
) -> AsyncIterator[Debate]:
    """A discussion room with its moderator and both debaters connected (talking, with
    `mic`)."""
    s = await seed(engine, format_id, sides=sides)
    await record_moderators(settings, s)
    await open_room(settings, s, format_id, sides=sides)
    d = Debate(settings, s, Client(settings, s.pro, s.room), Client(settings, s.con, s.room), [])
    try:
        d.pro = await d.join(s.pro, mic=mic)
        d.con = await d.join(s.con, mic=mic)
        yield d
    finally:
        for client in list(d.clients):
            await client.aclose()


async def discussion_row(engine: AsyncEngine, discussion_id: str) -> sa.Row[Any]:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                sa.select(discussions).where(discussions.c.id == uuid.UUID(discussion_id))
            )
        ).one()
    return row


async def sides_in_db(engine: AsyncEngine, discussion_id: str) -> dict[str, str | None]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.select(discussion_participants.c.user_id, discussion_participants.c.side).where(
                discussion_participants.c.discussion_id == uuid.UUID(discussion_id)
            )
        )
        return {str(uid): side for uid, side in rows}
