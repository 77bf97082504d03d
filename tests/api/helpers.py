"""Helpers for the API tests: accounts, discussion rows, error bodies, reports and the
moderators' review queue."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from lobby.db.schema import discussion_participants, discussions, users

PASSWORD = "correct horse battery"
# What registration requires: the person is an adult and accepts the rules.
CONSENT = {"adult": True, "accepts_terms": True}


@dataclass(frozen=True)
class Account:
    id: uuid.UUID
    email: str
    display_name: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def unique_email(tag: str = "user") -> str:
    return f"{tag}-{secrets.token_hex(6)}@example.org"


def signup(email: str, name: str = "Ada", password: str = PASSWORD, **more: Any) -> dict[str, Any]:
    """A registration body: the person consents; `more` adds fields."""
    return {"email": email, "password": password, "display_name": name, **CONSENT, **more}


async def register(client: TestClient[Any, Any], name: str = "Ada") -> Account:
    email = unique_email(name.lower())
    r = await client.post("/api/register", json=signup(email, name))
    assert r.status == 201, await r.text()
    user = (await r.json())["user"]
    r = await client.post("/api/login", json={"email": email, "password": PASSWORD})
    assert r.status == 200, await r.text()
    token = (await r.json())["access_token"]
    return Account(uuid.UUID(user["id"]), email, name, token)


async def register_all(client: TestClient[Any, Any], *names: str) -> list[Account]:
    """One account per name, registered and logged in, in order."""
    return [await register(client, name) for name in names]


async def count_users(engine: AsyncEngine, email: str) -> int:
    async with engine.connect() as conn:
        query = sa.select(sa.func.count()).select_from(users).where(users.c.email == email)
        return int((await conn.execute(query)).scalar_one())


async def make_moderator(engine: AsyncEngine, account: Account) -> None:
    async with engine.begin() as conn:
        await conn.execute(users.update().where(users.c.id == account.id).values(role="moderator"))


async def make_discussion(
    engine: AsyncEngine,
    people: Sequence[Account],
    *,
    topic: str = "remote-work",
    fmt: str = "casual",
    ended: bool = False,
    outcome: str | None = None,
) -> tuple[uuid.UUID, str]:
    """A discussion row (as the lobby agent writes one) with these participants."""
    discussion_id, room = uuid.uuid4(), f"talk-{secrets.token_hex(6)}"
    values: dict[str, Any] = {
        "id": discussion_id,
        "match_id": secrets.token_hex(8),
        "room": room,
        "topic_slug": topic,
        "format": fmt,
        "outcome": outcome,
    }
    if ended:
        values["ended_at"] = sa.func.now() + sa.text("interval '95 seconds'")
    async with engine.begin() as conn:
        await conn.execute(discussions.insert().values(values))
        for person in people:
            await conn.execute(
                discussion_participants.insert().values(
                    discussion_id=discussion_id, user_id=person.id
                )
            )
    return discussion_id, room


async def discussion_row(engine: AsyncEngine, discussion_id: uuid.UUID) -> Any:
    async with engine.connect() as conn:
        query = sa.select(discussions).where(discussions.c.id == discussion_id)
        return (await conn.execute(query)).one()


async def error_of(response: Any) -> dict[str, Any]:
    """The `error` object of an error response, checked for its shape."""
    body = await response.json()
    assert set(body["error"]) >= {"code", "message"}, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    error: dict[str, Any] = body["error"]
    return error


async def lobby_token(client: TestClient[Any, Any], who: Account) -> Any:
    return await client.post("/api/lobby/token", headers=who.auth)


async def report(
    client: TestClient[Any, Any], who: Account, discussion: uuid.UUID, **body: Any
) -> Any:
    """Report the other person of `discussion` (for harassment, unless `body` says otherwise)."""
    payload = {"discussion_id": str(discussion), "reason": "harassment", **body}
    return await client.post("/api/reports", json=payload, headers=who.auth)


async def review_queue(
    client: TestClient[Any, Any], mod: Account, about: Account
) -> list[dict[str, Any]]:
    r = await client.get(f"/api/moderator/reports?user_id={about.id}", headers=mod.auth)
    assert r.status == 200, await r.text()
    found: list[dict[str, Any]] = (await r.json())["reports"]
    return found


async def moderator(client: TestClient[Any, Any], engine: AsyncEngine) -> Account:
    mod = await register(client, "Moira")
    await make_moderator(engine, mod)
    return mod
