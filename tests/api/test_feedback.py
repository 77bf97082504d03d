"""Ratings, reports, blocks and history."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from lobby.db.schema import blocks, ratings, reports
from tests.api.helpers import error_of, make_discussion, register, register_all

Client = TestClient[Any, Any]


async def _count(engine: AsyncEngine, table: sa.Table, **where: Any) -> int:
    query = sa.select(sa.func.count()).select_from(table)
    for column, value in where.items():
        query = query.where(table.c[column] == value)
    async with engine.connect() as conn:
        return int((await conn.execute(query)).scalar_one())


async def test_a_participant_rates_the_partner_once(client: Client, engine: AsyncEngine) -> None:
    a, b = await register(client, "Ann"), await register(client, "Ben")
    discussion_id, _ = await make_discussion(engine, [a, b])
    path = f"/api/discussions/{discussion_id}/rating"
    r = await client.post(path, json={"score": 4, "talk_again": True}, headers=a.auth)
    assert r.status == 201
    rating = (await r.json())["rating"]
    assert rating == {
        "discussion_id": str(discussion_id),
        "ratee_id": str(b.id),
        "score": 4,
        "talk_again": True,
    }
    again = await client.post(path, json={"score": 1, "talk_again": False}, headers=a.auth)
    assert again.status == 409
    assert (await error_of(again))["code"] == "already_rated"
    # The partner rates too: each person rates once.
    r = await client.post(path, json={"score": 5, "talk_again": False}, headers=b.auth)
    assert r.status == 201
    assert await _count(engine, ratings, discussion_id=discussion_id) == 2


async def test_only_participants_may_rate(client: Client, engine: AsyncEngine) -> None:
    a, b, c = await register_all(client, "Ann", "Ben", "Cy")
    discussion_id, _ = await make_discussion(engine, [a, b])
    body = {"score": 3, "talk_again": True}
    r = await client.post(f"/api/discussions/{discussion_id}/rating", json=body, headers=c.auth)
    assert r.status == 403
    assert (await error_of(r))["code"] == "not_a_participant"
    for missing in (uuid.uuid4(), "nonsense"):
        r = await client.post(f"/api/discussions/{missing}/rating", json=body, headers=a.auth)
        assert r.status == 404
    r = await client.post(f"/api/discussions/{discussion_id}/rating", json=body)
    assert r.status == 401
    assert await _count(engine, ratings, discussion_id=discussion_id) == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"talk_again": True}, "score"),
        ({"score": 0, "talk_again": True}, "score"),
        ({"score": 6, "talk_again": True}, "score"),
        ({"score": "5", "talk_again": True}, "score"),
        ({"score": 4.5, "talk_again": True}, "score"),
        ({"score": True, "talk_again": True}, "score"),
        ({"score": 3}, "talk_again"),
        ({"score": 3, "talk_again": "yes"}, "talk_again"),
    ],
)
async def test_bad_ratings_change_nothing(
    client: Client, engine: AsyncEngine, body: dict[str, Any], field: str
) -> None:
    a, b = await register(client, "Ann"), await register(client, "Ben")
    discussion_id, _ = await make_discussion(engine, [a, b])
    r = await client.post(f"/api/discussions/{discussion_id}/rating", json=body, headers=a.auth)
    assert r.status == 400
    assert (await error_of(r))["field"] == field
    assert await _count(engine, ratings, discussion_id=discussion_id) == 0


async def test_a_participant_reports_the_partner_once(client: Client, engine: AsyncEngine) -> None:
    a, b = await register(client, "Ann"), await register(client, "Ben")
    discussion_id, _ = await make_discussion(engine, [a, b])
    body = {"discussion_id": str(discussion_id), "reason": "harassment", "note": "Rude."}
    r = await client.post("/api/reports", json=body, headers=a.auth)
    assert r.status == 201
    report = (await r.json())["report"]
    assert report["user_id"] == str(b.id) and report["reason"] == "harassment"
    r = await client.post("/api/reports", json=body, headers=a.auth)
    assert r.status == 409
    assert (await error_of(r))["code"] == "already_reported"
    assert await _count(engine, reports, discussion_id=discussion_id, reported_id=b.id) == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"reason": "boring"}, "reason"),
        ({"reason": None}, "reason"),
        ({"discussion_id": "nope"}, "discussion_id"),
        ({"discussion_id": None}, "discussion_id"),
        ({"note": "n" * 1001}, "note"),
        ({"note": 5}, "note"),
        ({"user_id": "someone"}, "user_id"),
    ],
)
async def test_bad_reports_change_nothing(
    client: Client, engine: AsyncEngine, change: dict[str, Any], field: str
) -> None:
    a, b = await register(client, "Ann"), await register(client, "Ben")
    discussion_id, _ = await make_discussion(engine, [a, b])
    body: dict[str, Any] = {"discussion_id": str(discussion_id), "reason": "spam", "note": ""}
    body.update(change)
    body = {k: v for k, v in body.items() if v is not None}
    r = await client.post("/api/reports", json=body, headers=a.auth)
    assert r.status == 400
    assert (await error_of(r))["field"] == field
    assert await _count(engine, reports, discussion_id=discussion_id) == 0


async def test_reports_only_about_the_real_partner(client: Client, engine: AsyncEngine) -> None:
    a, b, c = await register_all(client, "Ann", "Ben", "Cy")
    discussion_id, _ = await make_discussion(engine, [a, b])
    body = {"discussion_id": str(discussion_id), "reason": "spam"}
    r = await client.post("/api/reports", json=body, headers=c.auth)
    assert r.status == 403
    r = await client.post("/api/reports", json={**body, "user_id": str(c.id)}, headers=a.auth)
    assert r.status == 400
    assert (await error_of(r))["field"] == "user_id"
    r = await client.post(
        "/api/reports", json={**body, "discussion_id": str(uuid.uuid4())}, headers=a.auth
    )
    assert r.status == 404
    assert await _count(engine, reports, discussion_id=discussion_id) == 0
    r = await client.post("/api/reports", json={**body, "user_id": str(b.id)}, headers=a.auth)
    assert r.status == 201


async def test_block_and_unblock(client: Client, engine: AsyncEngine) -> None:
    a, b = await register(client, "Ann"), await register(client, "Ben")
    r = await client.post("/api/blocks", json={"user_id": str(b.id)}, headers=a.auth)
    assert r.status == 201
    assert (await r.json())["block"] == {"user_id": str(b.id)}
    r = await client.post("/api/blocks", json={"user_id": str(b.id)}, headers=a.auth)
    assert r.status == 200
    assert await _count(engine, blocks, blocker_id=a.id, blocked_id=b.id) == 1
    r = await client.delete(f"/api/blocks/{b.id}", headers=a.auth)
    assert r.status == 204
    assert await _count(engine, blocks, blocker_id=a.id) == 0
    r = await client.delete(f"/api/blocks/{b.id}", headers=a.auth)
    assert r.status == 404
    assert (await client.delete(f"/api/blocks/{b.id}")).status == 401


async def test_bad_blocks_change_nothing(client: Client, engine: AsyncEngine) -> None:
    a = await register(client, "Ann")
    cases: list[tuple[dict[str, Any], int]] = [
        ({"user_id": str(a.id)}, 400),
        ({"user_id": "x"}, 400),
        ({}, 400),
        ({"user_id": str(uuid.uuid4())}, 404),
    ]
    for body, status in cases:
        r = await client.post("/api/blocks", json=body, headers=a.auth)
        assert r.status == status, body
        if status == 400:
            assert (await error_of(r))["field"] == "user_id"
    assert (await client.delete("/api/blocks/not-an-id", headers=a.auth)).status == 404
    assert await _count(engine, blocks, blocker_id=a.id) == 0


async def test_history_lists_own_discussions_with_partner_and_rating(
    client: Client, engine: AsyncEngine
) -> None:
    a, b, c = await register_all(client, "Ann", "Ben", "Cy")
    done_id, _ = await make_discussion(engine, [a, b], ended=True, outcome="completed")
    other_id, _ = await make_discussion(engine, [b, c], ended=True, outcome="forfeit")
    path = f"/api/discussions/{done_id}/rating"
    await client.post(path, json={"score": 5, "talk_again": True}, headers=a.auth)
    r = await client.get("/api/history", headers=a.auth)
    assert r.status == 200
    entries = (await r.json())["discussions"]
    assert [e["id"] for e in entries] == [str(done_id)]
    entry = entries[0]
    assert entry["partner"] == {"id": str(b.id), "display_name": "Ben"}
    assert entry["topic"] == "remote-work" and entry["topic_title"] == "Remote work"
    assert entry["outcome"] == "completed" and entry["format"] == "casual"
    assert entry["duration_seconds"] == 95
    assert entry["date"] == entry["started_at"][:10]
    assert entry["my_rating"] == {"score": 5, "talk_again": True}
    b_history = (await (await client.get("/api/history", headers=b.auth)).json())["discussions"]
    assert {e["id"] for e in b_history} == {str(done_id), str(other_id)}
    assert all(e["my_rating"] is None for e in b_history)
    assert (await client.get("/api/history")).status == 401


async def test_history_pages_newest_first_and_stays_stable_as_new_talks_arrive(
    client: Client, engine: AsyncEngine
) -> None:
    a, b = await register(client, "Ann"), await register(client, "Ben")
    ids = [str((await make_discussion(engine, [a, b], ended=True))[0]) for _ in range(5)]
    newest_first = ids[::-1]
    r = await client.get("/api/history?limit=2", headers=a.auth)
    first = await r.json()
    assert [e["id"] for e in first["discussions"]] == newest_first[:2]
    assert first["next"]
    # A discussion that starts meanwhile does not shift the pages that follow.
    await make_discussion(engine, [a, b], ended=True)
    r = await client.get(f"/api/history?limit=2&before={first['next']}", headers=a.auth)
    second = await r.json()
    assert [e["id"] for e in second["discussions"]] == newest_first[2:4]
    r = await client.get(f"/api/history?limit=2&before={second['next']}", headers=a.auth)
    third = await r.json()
    assert [e["id"] for e in third["discussions"]] == newest_first[4:]
    assert third["next"] is None
    everything = await (await client.get("/api/history", headers=a.auth)).json()
    assert len(everything["discussions"]) == 6 and everything["next"] is None


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=-1", "limit"),
        ("limit=ten", "limit"),
        ("before=not-a-cursor", "before"),
        ("before=" + "A" * 300, "before"),
        # Well-formed base64 of something else: a time without a zone, no id.
        ("before=MjAyNi0wMS0wMVQwMDowMDowMA", "before"),
    ],
)
async def test_history_refuses_bad_paging(client: Client, query: str, field: str) -> None:
    a = await register(client, "Ann")
    r = await client.get(f"/api/history?{query}", headers=a.auth)
    assert r.status == 400
    error = await error_of(r)
    assert error["code"] == "invalid_field" and error["field"] == field
