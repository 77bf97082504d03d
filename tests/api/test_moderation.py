"""Moderation through the API: the review queue with its evidence, decisions, bans that hold
everywhere (and end by themselves), and the audit log."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from lobby import lifecycle
from lobby.db.accounts import email_digest
from lobby.db.schema import barred_emails
from lobby.model import Ticket
from lobby.policy import Pairing
from lobby.settings import Settings
from lobby.store import LobbyStore, open_redis
from tests.api.helpers import (
    PASSWORD,
    Account,
    count_users,
    error_of,
    lobby_token,
    make_discussion,
    moderator,
    register,
    register_all,
    report,
    review_queue,
    signup,
)
from tests.support.wait import eventually

Client = TestClient[Any, Any]
SECOND = 1 / 86400  # a ban's `days` for one second


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
    mod = await moderator(client, engine)
    d1, _ = await make_discussion(engine, [a, b])
    d2, _ = await make_discussion(engine, [a, b])
    chat = [{"from": "Ben", "text": "rude words"}]
    first = await (await report(client, a, d1, note="first", chat=chat)).json()
    await report(client, b, d2, reason="spam")
    decided = first["report"]["id"]
    r = await client.post(
        f"/api/moderator/reports/{decided}",
        json={"action": "warn", "note": "be kind"},
        headers=mod.auth,
    )
    assert r.status == 200 and (await r.json())["report"]["status"] == "warned"
    mine = await review_queue(client, mod, a)
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
    mod = await moderator(client, engine)
    discussion, _ = await make_discussion(engine, [a, b])
    report_id = (await (await report(client, a, discussion)).json())["report"]["id"]
    r = await client.post(f"/api/moderator/reports/{report_id}", json=body, headers=mod.auth)
    assert r.status == 400
    own = (await (await client.get("/api/reports", headers=a.auth)).json())["reports"]
    assert own[0]["status"] == "open"
    assert (await client.get("/api/me", headers=b.auth)).status == 200


async def test_an_unknown_report_is_404(client: Client, engine: AsyncEngine) -> None:
    mod = await moderator(client, engine)
    for rid in (str(uuid.uuid4()), "nonsense"):
        r = await client.post(
            f"/api/moderator/reports/{rid}", json={"action": "dismiss"}, headers=mod.auth
        )
        assert r.status == 404


# -- a warning, as the warned person sees it -------------------------------------------------
async def _warnings(client: Client, who: Account) -> list[dict[str, Any]]:
    r = await client.get("/api/me/warnings", headers=who.auth)
    assert r.status == 200, await r.text()
    found: list[dict[str, Any]] = (await r.json())["warnings"]
    return found


async def test_a_warned_person_is_told_until_they_mark_it_read(
    client: Client, engine: AsyncEngine
) -> None:
    a, b, c = [await register(client, n) for n in ("Ann", "Ben", "Cy")]
    mod = await moderator(client, engine)
    discussion, _ = await make_discussion(engine, [a, b])
    sent = await report(client, a, discussion, reason="harassment", note="Ann's own words")
    report_id = (await sent.json())["report"]["id"]
    assert await _warnings(client, b) == []
    r = await client.post(
        f"/api/moderator/reports/{report_id}",
        json={"action": "warn", "note": "the moderator's note"},
        headers=mod.auth,
    )
    assert r.status == 200
    found = await _warnings(client, b)
    assert [(w["reason"], bool(w["at"])) for w in found] == [("harassment", True)]
    # Only when and why: nothing of who reported, what they wrote or what the moderator noted.
    text = str(found)
    for secret in (str(a.id), "Ann", "Ann's own words", "the moderator's note", report_id):
        assert secret not in text
    assert await _warnings(client, a) == [] and await _warnings(client, c) == []

    # Only Ben can mark it read; an unknown or malformed id is refused and changes nothing.
    path = f"/api/me/warnings/{found[0]['id']}/read"
    assert (await client.post(path, headers=c.auth)).status == 404
    assert (
        await client.post(f"/api/me/warnings/{uuid.uuid4()}/read", headers=b.auth)
    ).status == 404
    assert (await client.post("/api/me/warnings/nonsense/read", headers=b.auth)).status == 404
    assert (await client.post(path)).status == 401
    assert len(await _warnings(client, b)) == 1
    assert (await client.post(path, headers=b.auth)).status == 204
    assert await _warnings(client, b) == []
    assert (await client.post(path, headers=b.auth)).status == 204  # again: no change


async def test_only_warnings_are_shown_not_dismissals_or_bans(
    client: Client, engine: AsyncEngine
) -> None:
    a, b = await register(client, "Ann"), await register(client, "Ben")
    mod = await moderator(client, engine)
    ids = []
    for why in ("spam", "hate"):  # one report a discussion
        discussion, _ = await make_discussion(engine, [a, b])
        ids.append((await (await report(client, a, discussion, reason=why)).json())["report"]["id"])
    for report_id, action in zip(ids, ("dismiss", "warn"), strict=True):
        r = await client.post(
            f"/api/moderator/reports/{report_id}", json={"action": action}, headers=mod.auth
        )
        assert r.status == 200
    assert [w["reason"] for w in await _warnings(client, b)] == ["hate"]


# -- bans ----------------------------------------------------------------------------------
async def _ban_through_report(
    client: Client, engine: AsyncEngine, target: Account, **ban: Any
) -> dict[str, Any]:
    reporter = await register(client, "Rae")
    mod = await moderator(client, engine)
    discussion, _ = await make_discussion(engine, [reporter, target])
    report_id = (await (await report(client, reporter, discussion)).json())["report"]["id"]
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
    mod = await moderator(client, engine)
    other = await register(client, "Cy")
    live, _ = await make_discussion(engine, [other, mod])
    assert (await lobby_token(client, target)).status == 200
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
    assert (await lobby_token(client, target)).status == 403

    async def free() -> bool:
        return bool((await lobby_token(client, target)).status == 200)

    await eventually(free, "a lobby token once the short ban ended")
    login = await client.post("/api/login", json={"email": target.email, "password": PASSWORD})
    assert login.status == 200


async def test_an_account_deleted_while_banned_cannot_register_again_until_the_ban_ends(
    client: Client, engine: AsyncEngine
) -> None:
    target = await register(client, "Di")
    await _ban_through_report(client, engine, target, days=5 * SECOND)
    gone = await client.delete("/api/me", json={"password": PASSWORD}, headers=target.auth)
    assert gone.status == 204
    again = await client.post("/api/register", json=signup(target.email.upper(), "Di"))
    error = await error_of(again)
    assert again.status == 403 and error["code"] == "banned"
    assert error["until"] and error["permanent"] is False
    assert await count_users(engine, target.email) == 0

    async def back() -> bool:
        r = await client.post("/api/register", json=signup(target.email, "Di"))
        return r.status == 201

    await eventually(back, "registering again once the ban ended", every=1)
    assert await count_users(engine, target.email) == 1


async def test_a_permanent_ban_bars_the_address_for_good_and_no_other_deletion_bars_one(
    client: Client, engine: AsyncEngine
) -> None:
    banned, free, served = await register_all(client, "Flo", "Gus", "Hal")
    await _ban_through_report(client, engine, banned, permanent=True)
    await _ban_through_report(client, engine, served, days=SECOND)
    await asyncio.sleep(1.5)  # Hal's ban is over
    for who in (banned, free, served):
        gone = await client.delete("/api/me", json={"password": PASSWORD}, headers=who.auth)
        assert gone.status == 204, who.display_name
    refused = await client.post("/api/register", json=signup(banned.email, "Flo"))
    error = await error_of(refused)
    assert refused.status == 403 and error == {**error, "until": None, "permanent": True}
    for who in (free, served):
        again = await client.post("/api/register", json=signup(who.email, who.display_name))
        assert again.status == 201, await again.text()
    async with engine.connect() as conn:
        kept = (await conn.execute(sa.select(barred_emails.c.email_digest))).scalars().all()
    # What is kept of the address: its digest, never the address itself.
    assert banned.email not in kept and email_digest(banned.email) in kept


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
    mod = await moderator(client, engine)
    decided = await _ban_through_report(client, engine, target, permanent=True)
    assert decided["ban"] == {"until": None, "permanent": True}
    r = await client.get("/api/moderator/audit", headers=mod.auth)
    actions = [x for x in (await r.json())["actions"] if x["user_id"] == str(target.id)]
    assert [x["action"] for x in actions] == ["ban"]
    assert actions[0]["actor"]["kind"] == "moderator" and actions[0]["actor"]["id"]
    assert actions[0]["reason"] == "threats" and actions[0]["report_id"]
    assert actions[0]["ban"] == {"until": None, "permanent": True} and actions[0]["at"]
