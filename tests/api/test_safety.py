"""Trust and safety through the API: consent, reports with evidence, automatic holds, the
review queue, bans that hold everywhere, the audit log and deleting an account."""

from __future__ import annotations

import dataclasses
import random
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from lobby import lifecycle
from lobby.db.schema import blocks, reports, users
from lobby.model import Ticket
from lobby.policy import Pairing
from lobby.sanctions import ChatLine, Sanctions
from lobby.settings import Settings
from lobby.store import LobbyStore, open_redis
from tests.api.helpers import (
    PASSWORD,
    Account,
    error_of,
    make_discussion,
    make_moderator,
    register,
    unique_email,
)
from tests.support.wait import eventually

Client = TestClient[Any, Any]
SECOND = 1 / 86400  # a ban's `days` for one second


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


async def _lobby_token(client: Client, who: Account) -> Any:
    return await client.post("/api/lobby/token", headers=who.auth)


async def _report(client: Client, who: Account, discussion: uuid.UUID, **body: Any) -> Any:
    payload = {"discussion_id": str(discussion), "reason": "harassment", **body}
    return await client.post("/api/reports", json=payload, headers=who.auth)


async def _queue(client: Client, mod: Account, about: Account) -> list[dict[str, Any]]:
    r = await client.get(f"/api/moderator/reports?user_id={about.id}", headers=mod.auth)
    assert r.status == 200, await r.text()
    found: list[dict[str, Any]] = (await r.json())["reports"]
    return found


async def _moderator(client: Client, engine: AsyncEngine) -> Account:
    mod = await register(client, "Moira")
    await make_moderator(engine, mod)
    return mod


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
    r = await _report(client, a, discussion, **bad)
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
        assert (await _report(client, reporter, discussion, **body)).status == 201


async def test_three_people_reporting_hold_the_account_until_a_moderator_decides(
    grown: Client, engine: AsyncEngine
) -> None:
    target = await register(grown, "Tom")
    await _reported_by(grown, engine, target, 2)
    assert (await _lobby_token(grown, target)).status == 200  # two are not enough
    await _reported_by(grown, engine, target, 1)
    r = await _lobby_token(grown, target)
    assert r.status == 403 and (await error_of(r))["code"] == "held_for_review"
    # Held out of matching only: the rest of the account still works.
    assert (await grown.get("/api/me", headers=target.auth)).status == 200
    mod = await _moderator(grown, engine)
    queue = await _queue(grown, mod, target)
    first = next(x for x in queue if x["reported"]["id"] == str(target.id))
    assert first["reported"]["record"]["held"] is True
    r = await grown.post(
        f"/api/moderator/reports/{first['id']}", json={"action": "dismiss"}, headers=mod.auth
    )
    assert r.status == 200
    assert (await _lobby_token(grown, target)).status == 200


async def test_one_underage_report_holds_the_account(grown: Client, engine: AsyncEngine) -> None:
    target = await register(grown, "Tim")
    await _reported_by(grown, engine, target, 1, reason="underage")
    r = await _lobby_token(grown, target)
    assert r.status == 403 and (await error_of(r))["code"] == "held_for_review"


async def test_reports_from_young_accounts_weigh_less(client: Client, engine: AsyncEngine) -> None:
    """Accounts made minutes ago (every account here) count half: three of them are not
    enough, nor is one underage report."""
    target = await register(client, "Tam")
    await _reported_by(client, engine, target, 3)
    await _reported_by(client, engine, target, 1, reason="underage")
    assert (await _lobby_token(client, target)).status == 200
    await _reported_by(client, engine, target, 2)  # 6 young reporters weigh as 3
    assert (await _lobby_token(client, target)).status == 403


async def test_one_person_reporting_again_and_again_does_not_hold(
    grown: Client, engine: AsyncEngine
) -> None:
    a, target = await register(grown, "Ann"), await register(grown, "Tom")
    for _ in range(3):
        discussion, _ = await make_discussion(engine, [a, target])
        assert (await _report(grown, a, discussion)).status == 201
    assert (await _lobby_token(grown, target)).status == 200


# -- the review queue and decisions --------------------------------------------------------
async def test_only_moderators_see_the_queue_and_the_audit_log(
    client: Client, engine: AsyncEngine
) -> None:
    a = await register(client, "Ann")
    for path in ("/api/moderator/reports", "/api/moderator/audit"):
        assert (await client.get(path, headers=a.auth)).status == 403
        assert (await client.get(path)).status == 401
    r = await client.post(
        f"/api/moderator/reports/{uuid.uuid4()}", json={"action": "dismiss"}, headers=a.auth
    )
    assert r.status == 403


async def test_the_queue_shows_evidence_and_both_records_open_first(
    client: Client, engine: AsyncEngine
) -> None:
    a, b = await register(client, "Ann"), await register(client, "Ben")
    mod = await _moderator(client, engine)
    d1, _ = await make_discussion(engine, [a, b])
    d2, _ = await make_discussion(engine, [a, b])
    chat = [{"from": "Ben", "text": "rude words"}]
    first = await (await _report(client, a, d1, note="first", chat=chat)).json()
    await _report(client, b, d2, reason="spam")
    decided = first["report"]["id"]
    r = await client.post(
        f"/api/moderator/reports/{decided}",
        json={"action": "warn", "note": "be kind"},
        headers=mod.auth,
    )
    assert r.status == 200 and (await r.json())["report"]["status"] == "warned"
    mine = await _queue(client, mod, a)
    assert [x["status"] for x in mine] == ["open", "warned"]
    warned = mine[1]
    assert warned["note"] == "first" and warned["chat"] == [{**chat[0], "at": None}]
    assert warned["reported"]["display_name"] == "Ben"
    record = warned["reported"]["record"]
    assert record["reports_received"] == 1 and record["reports_upheld"] == 1
    assert record["reports_filed"] == 1 and record["ratings"] == {"count": 0, "average": None}
    # The reporter sees what was decided.
    own = (await (await client.get("/api/reports", headers=a.auth)).json())["reports"]
    assert [(x["id"], x["status"]) for x in own] == [(decided, "warned")]


@pytest.mark.parametrize(
    "body",
    [
        {"action": "ban"},
        {"action": "ban", "days": 0},
        {"action": "ban", "days": -1},
        {"action": "ban", "days": "3"},
        {"action": "ban", "days": 3, "permanent": True},
        {"action": "ban", "days": 99999},
        {"action": "banish"},
        {},
    ],
)
async def test_a_bad_decision_is_refused_and_changes_nothing(
    client: Client, engine: AsyncEngine, body: dict[str, Any]
) -> None:
    a, b = await register(client, "Ann"), await register(client, "Ben")
    mod = await _moderator(client, engine)
    discussion, _ = await make_discussion(engine, [a, b])
    report_id = (await (await _report(client, a, discussion)).json())["report"]["id"]
    r = await client.post(f"/api/moderator/reports/{report_id}", json=body, headers=mod.auth)
    assert r.status == 400
    own = (await (await client.get("/api/reports", headers=a.auth)).json())["reports"]
    assert own[0]["status"] == "open"
    assert (await client.get("/api/me", headers=b.auth)).status == 200


async def test_an_unknown_report_is_404(client: Client, engine: AsyncEngine) -> None:
    mod = await _moderator(client, engine)
    for rid in (str(uuid.uuid4()), "nonsense"):
        r = await client.post(
            f"/api/moderator/reports/{rid}", json={"action": "dismiss"}, headers=mod.auth
        )
        assert r.status == 404


# -- bans ----------------------------------------------------------------------------------
async def _ban_through_report(
    client: Client, engine: AsyncEngine, target: Account, **ban: Any
) -> dict[str, Any]:
    reporter = await register(client, "Rae")
    mod = await _moderator(client, engine)
    discussion, _ = await make_discussion(engine, [reporter, target])
    report_id = (await (await _report(client, reporter, discussion)).json())["report"]["id"]
    r = await client.post(
        f"/api/moderator/reports/{report_id}",
        json={"action": "ban", "note": "threats", **ban},
        headers=mod.auth,
    )
    assert r.status == 200, await r.text()
    body: dict[str, Any] = (await r.json())["report"]
    return body


async def test_a_ban_stops_login_the_session_and_every_token_route(
    client: Client, engine: AsyncEngine
) -> None:
    target = await register(client, "Bo")
    mod = await _moderator(client, engine)
    other = await register(client, "Cy")
    live, _ = await make_discussion(engine, [other, mod])
    assert (await _lobby_token(client, target)).status == 200
    decided = await _ban_through_report(client, engine, target, days=2)
    assert decided["status"] == "banned" and decided["ban"]["permanent"] is False
    login = await client.post("/api/login", json={"email": target.email, "password": PASSWORD})
    error = await error_of(login)
    assert login.status == 403 and error["code"] == "banned"
    assert error["until"] and error["permanent"] is False
    for method, path in (("POST", "/api/lobby/token"), ("GET", "/api/me"), ("GET", "/api/history")):
        r = await client.request(method, path, headers=target.auth)
        assert r.status == 403 and (await error_of(r))["code"] == "banned", path
    # A moderator who is banned gets no room token either.
    await _ban_through_report(client, engine, mod, permanent=True)
    r = await client.post(f"/api/moderator/discussions/{live}/token", headers=mod.auth)
    error = await error_of(r)
    assert r.status == 403 and error["code"] == "banned" and error["permanent"] is True


async def test_a_short_ban_ends_by_itself(client: Client, engine: AsyncEngine) -> None:
    target = await register(client, "Bea")
    await _ban_through_report(client, engine, target, days=2 * SECOND)
    assert (await _lobby_token(client, target)).status == 403

    async def free() -> bool:
        return bool((await _lobby_token(client, target)).status == 200)

    await eventually(free, "a lobby token once the short ban ended")
    login = await client.post("/api/login", json={"email": target.email, "password": PASSWORD})
    assert login.status == 200


async def test_a_ban_drops_the_ticket_and_puts_the_partner_back_at_the_head(
    client: Client, engine: AsyncEngine, app_settings: Settings
) -> None:
    target, partner = await register(client, "Bad"), await register(client, "Good")
    redis = open_redis(app_settings.redis_url, max_connections=2)
    store = LobbyStore(redis, app_settings.redis_prefix)
    try:
        now = time.time()
        a = Ticket(str(target.id), "Bad", "remote-work", "casual", None, now)
        b = Ticket(str(partner.id), "Good", "remote-work", "casual", None, now + 1)
        for t in (a, b):
            await store.join(t, now)
        match = lifecycle.propose([Pairing(a, b, None, None)], now, random.Random(1), 20)
        assert await store.propose(match, now, 600) == [match[0].id]
        await _ban_through_report(client, engine, target, days=1)
        assert await store.match_of(str(target.id)) is None
        assert await store.ticket(str(target.id)) is None
        back = await store.ticket(str(partner.id))
        assert back is not None and back.head  # at the front of the queue again
        assert await store.pending(match[0].id) is None
    finally:
        await redis.aclose()


async def test_unban_and_the_audit_log(client: Client, engine: AsyncEngine) -> None:
    target = await register(client, "Ed")
    mod = await _moderator(client, engine)
    decided = await _ban_through_report(client, engine, target, permanent=True)
    assert decided["ban"] == {"until": None, "permanent": True}
    r = await client.get("/api/moderator/audit", headers=mod.auth)
    actions = [x for x in (await r.json())["actions"] if x["user_id"] == str(target.id)]
    assert [x["action"] for x in actions] == ["ban"]
    assert actions[0]["actor"]["kind"] == "moderator" and actions[0]["actor"]["id"]
    assert actions[0]["reason"] == "threats" and actions[0]["report_id"]
    assert actions[0]["ban"] == {"until": None, "permanent": True} and actions[0]["at"]


# -- leaving -------------------------------------------------------------------------------
async def test_deleting_an_account_keeps_the_reports_about_it(
    client: Client, engine: AsyncEngine
) -> None:
    a, b = await register(client, "Ann"), await register(client, "Ben")
    mod = await _moderator(client, engine)
    discussion, _ = await make_discussion(engine, [a, b])
    assert (await _report(client, a, discussion)).status == 201
    wrong = await client.delete("/api/me", json={"password": "not it at all"}, headers=b.auth)
    assert wrong.status == 401
    assert (await client.get("/api/me", headers=b.auth)).status == 200
    r = await client.delete("/api/me", json={"password": PASSWORD}, headers=b.auth)
    assert r.status == 204
    assert (await client.get("/api/me", headers=b.auth)).status == 401
    login = await client.post("/api/login", json={"email": b.email, "password": PASSWORD})
    assert login.status == 401
    queue = await _queue(client, mod, a)
    kept = next(x for x in queue if x["reporter"]["id"] == str(a.id))
    assert kept["reported"]["display_name"] == "Ben" and kept["reported"]["deleted"] is True
