"""Trust and safety through the API: consent, reports with evidence, automatic holds and
deleting an account (the review queue, decisions and bans: test_moderation.py)."""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from lobby.db.schema import blocks, reports, users
from lobby.sanctions import ChatLine, Sanctions
from lobby.settings import Settings
from lobby.store import open_redis
from tests.api.helpers import (
    PASSWORD,
    Account,
    error_of,
    lobby_token,
    make_discussion,
    moderator,
    register,
    report,
    review_queue,
    unique_email,
)

Client = TestClient[Any, Any]


@pytest.fixture
async def grown(app_settings: Settings) -> AsyncIterator[Client]:
    """The API where every account counts as established (no young-account discount)."""
    settings = dataclasses.replace(app_settings, young_account=0)
    async with TestClient(TestServer(create_app(settings))) as c:
        yield c


@pytest.fixture
async def sanctions(app_settings: Settings) -> AsyncIterator[Sanctions]:
    redis = open_redis(app_settings.redis_url, max_connections=2)
    yield Sanctions(redis, app_settings.redis_prefix)
    await redis.aclose()


# -- consent -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "consent",
    [
        {},
        {"adult": True},
        {"accepts_terms": True},
        {"adult": False, "accepts_terms": True},
        {"adult": "yes", "accepts_terms": True},
        {"adult": True, "accepts_terms": 1},
    ],
)
async def test_registration_requires_an_adult_who_accepts_the_rules(
    client: Client, consent: dict[str, Any]
) -> None:
    email = unique_email()
    body = {"email": email, "password": PASSWORD, "display_name": "Ada", **consent}
    r = await client.post("/api/register", json=body)
    assert r.status == 400
    assert (await error_of(r))["code"] == "terms_required"
    login = await client.post("/api/login", json={"email": email, "password": PASSWORD})
    assert login.status == 401  # no account was made


async def test_consent_time_is_recorded(client: Client, engine: AsyncEngine) -> None:
    a = await register(client, "Ada")
    async with engine.connect() as conn:
        row = (await conn.execute(sa.select(users).where(users.c.id == a.id))).one()
    assert row.terms_accepted_at is not None and row.terms_accepted_at >= row.created_at


async def test_an_account_from_before_the_rules_confirms_them_at_login(
    client: Client, engine: AsyncEngine
) -> None:
    a = await register(client, "Old")
    async with engine.begin() as conn:
        await conn.execute(users.update().where(users.c.id == a.id).values(terms_accepted_at=None))
    plain = {"email": a.email, "password": PASSWORD}
    r = await client.post("/api/login", json=plain)
    assert r.status == 403 and (await error_of(r))["code"] == "terms_required"
    wrong = await client.post("/api/login", json={**plain, "password": "not the password"})
    assert wrong.status == 401  # the rules are asked for only after the password matched
    r = await client.post("/api/login", json={**plain, "adult": True, "accepts_terms": True})
    assert r.status == 200
    assert (await client.post("/api/login", json=plain)).status == 200  # asked once


# -- reports and evidence ------------------------------------------------------------------
async def test_a_report_during_the_talk_carries_both_chats_and_blocks(
    client: Client, engine: AsyncEngine, sanctions: Sanctions
) -> None:
    a, b = await register(client, "Ann"), await register(client, "Ben")
    discussion, room = await make_discussion(engine, [a, b])
    # What the moderator agent heard in the room, senders as LiveKit named them.
    await sanctions.record_chat(room, ChatLine(str(b.id), "how old are you?", time.time()))
    chat = [{"from": "Ben", "text": "how old are you?", "at": 1700000000000}]
    r = await client.post(
        "/api/reports",
        json={"room": room, "reason": "underage", "chat": chat, "block": True},
        headers=a.auth,
    )
    assert r.status == 201, await r.text()
    body = (await r.json())["report"]
    assert body["discussion_id"] == str(discussion) and body["user_id"] == str(b.id)
    assert body["blocked"] is True and body["status"] == "open"
    async with engine.connect() as conn:
        row = (
            await conn.execute(sa.select(reports).where(reports.c.id == uuid.UUID(body["id"])))
        ).one()
        blocked = await conn.scalar(
            sa.select(sa.func.count()).select_from(blocks).where(blocks.c.blocker_id == a.id)
        )
    assert row.chat == chat and row.reason == "underage"
    assert [(x["from"], x["text"]) for x in row.room_chat] == [(str(b.id), "how old are you?")]
    assert row.reported_name == "Ben" and blocked == 1
    # Leaving now does not lose a debate by forfeit: the moderator agent reads this.
    assert await sanctions.reported(room, str(a.id))


@pytest.mark.parametrize(
    "bad",
    [
        {"chat": "hello"},
        {"chat": [{"from": "Ben"}]},
        {"chat": [{"from": "Ben", "text": "hi", "extra": 1}]},
        {"chat": [{"from": "", "text": "hi"}]},
        {"chat": [{"from": "Ben", "text": "x" * 2001}]},
        {"chat": [{"from": "Ben", "text": "hi", "at": True}]},
        {"chat": [{"from": "Ben", "text": "hi"}] * 201},
        {"block": "yes"},
        {"reason": "bored"},
    ],
)
async def test_bad_evidence_is_refused_and_changes_nothing(
    client: Client, engine: AsyncEngine, bad: dict[str, Any]
) -> None:
    a, b = await register(client, "Ann"), await register(client, "Ben")
    discussion, _ = await make_discussion(engine, [a, b])
    r = await report(client, a, discussion, **bad)
    assert r.status == 400
    async with engine.connect() as conn:
        count = await conn.scalar(
            sa.select(sa.func.count()).select_from(reports).where(reports.c.reporter_id == a.id)
        )
    assert count == 0


# -- automatic holds -----------------------------------------------------------------------
async def _reported_by(
    client: Client, engine: AsyncEngine, target: Account, n: int, **body: Any
) -> None:
    for i in range(n):
        reporter = await register(client, f"R{i}")
        discussion, _ = await make_discussion(engine, [reporter, target])
        assert (await report(client, reporter, discussion, **body)).status == 201


async def test_three_people_reporting_hold_the_account_until_a_moderator_decides(
    grown: Client, engine: AsyncEngine
) -> None:
    target = await register(grown, "Tom")
    await _reported_by(grown, engine, target, 2)
    assert (await lobby_token(grown, target)).status == 200  # two are not enough
    await _reported_by(grown, engine, target, 1)
    r = await lobby_token(grown, target)
    assert r.status == 403 and (await error_of(r))["code"] == "held_for_review"
    # Held out of matching only: the rest of the account still works.
    assert (await grown.get("/api/me", headers=target.auth)).status == 200
    mod = await moderator(grown, engine)
    queue = await review_queue(grown, mod, target)
    first = next(x for x in queue if x["reported"]["id"] == str(target.id))
    assert first["reported"]["record"]["held"] is True
    r = await grown.post(
        f"/api/moderator/reports/{first['id']}", json={"action": "dismiss"}, headers=mod.auth
    )
    assert r.status == 200
    assert (await lobby_token(grown, target)).status == 200


async def test_one_underage_report_holds_the_account(grown: Client, engine: AsyncEngine) -> None:
    target = await register(grown, "Tim")
    await _reported_by(grown, engine, target, 1, reason="underage")
    r = await lobby_token(grown, target)
    assert r.status == 403 and (await error_of(r))["code"] == "held_for_review"


async def test_reports_from_young_accounts_weigh_less(client: Client, engine: AsyncEngine) -> None:
    """Accounts made minutes ago (every account here) count half: three of them are not
    enough, nor is one underage report."""
    target = await register(client, "Tam")
    await _reported_by(client, engine, target, 3)
    await _reported_by(client, engine, target, 1, reason="underage")
    assert (await lobby_token(client, target)).status == 200
    await _reported_by(client, engine, target, 2)  # 6 young reporters weigh as 3
    assert (await lobby_token(client, target)).status == 403


async def test_one_person_reporting_again_and_again_does_not_hold(
    grown: Client, engine: AsyncEngine
) -> None:
    a, target = await register(grown, "Ann"), await register(grown, "Tom")
    for _ in range(3):
        discussion, _ = await make_discussion(engine, [a, target])
        assert (await report(grown, a, discussion)).status == 201
    assert (await lobby_token(grown, target)).status == 200


# -- leaving -------------------------------------------------------------------------------
async def test_deleting_an_account_keeps_the_reports_about_it(
    client: Client, engine: AsyncEngine
) -> None:
    a, b = await register(client, "Ann"), await register(client, "Ben")
    mod = await moderator(client, engine)
    discussion, _ = await make_discussion(engine, [a, b])
    assert (await report(client, a, discussion)).status == 201
    wrong = await client.delete("/api/me", json={"password": "not it at all"}, headers=b.auth)
    assert wrong.status == 401
    assert (await client.get("/api/me", headers=b.auth)).status == 200
    r = await client.delete("/api/me", json={"password": PASSWORD}, headers=b.auth)
    assert r.status == 204
    assert (await client.get("/api/me", headers=b.auth)).status == 401
    login = await client.post("/api/login", json={"email": b.email, "password": PASSWORD})
    assert login.status == 401
    queue = await review_queue(client, mod, a)
    kept = next(x for x in queue if x["reporter"]["id"] == str(a.id))
    assert kept["reported"]["display_name"] == "Ben" and kept["reported"]["deleted"] is True
