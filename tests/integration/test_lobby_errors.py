"""Every bad input gets its documented code (docs/PROTOCOL.md) and changes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from api.keeper import Keeper
from lobby.settings import Settings
from tests.support.lobby_clients import LobbyUser, add_users, connected

BAD_JOINS: list[tuple[str, str]] = [
    ("not json", "invalid_payload"),
    ("[1, 2]", "invalid_payload"),
    ('"casual"', "invalid_payload"),
    ('{"topic": 7, "format": "casual"}', "invalid_payload"),
    ('{"format": "casual"}', "invalid_payload"),
    ('{"topic": "TOPIC", "format": "casual", "colour": "red"}', "invalid_payload"),
    (json.dumps({"topic": "TOPIC", "format": "casual", "pad": "x" * 5000}), "invalid_payload"),
    ('{"topic": "no-such-topic", "format": "casual"}', "unknown_topic"),
    ('{"topic": "TOPIC", "format": "no-such-format"}', "unknown_format"),
    ('{"topic": "TOPIC", "format": "casual", "side": "pro"}', "invalid_side"),
    ('{"topic": "TOPIC", "format": "quick-debate", "side": "maybe"}', "invalid_side"),
    ('{"topic": "TOPIC", "format": "quick-debate", "side": 1}', "invalid_payload"),
]


async def _unchanged(who: LobbyUser, topic: str) -> None:
    status = await who.call("lobby.status")
    assert status["ticket"] is None and status["match"] is None
    assert topic not in status["waiting"]
    assert "casual" in [f["id"] for f in status["formats"]]


async def test_bad_joins_are_refused_and_change_nothing(
    lobby: Keeper, settings: Settings, db_engine: AsyncEngine, topic: str
) -> None:
    people = await add_users(db_engine, 1)
    async with connected(settings, people) as (u,):
        for payload, error in BAD_JOINS:
            assert await u.fails("lobby.join", payload.replace("TOPIC", topic)) == error, payload
        await _unchanged(u, topic)
        assert u.events == []


@pytest.mark.parametrize(
    ("method", "payload", "error"),
    [
        ("lobby.leave", {}, "not_queued"),
        ("lobby.respond", {"match_id": "0" * 32, "accept": True}, "not_queued"),
        ("lobby.respond", {"match_id": "0" * 32, "accept": "yes"}, "invalid_payload"),
        ("lobby.respond", {"accept": True}, "invalid_payload"),
        ("lobby.status", {"extra": 1}, "invalid_payload"),
        ("lobby.leave", "{", "invalid_payload"),
    ],
)
async def test_calls_before_joining(
    lobby: Keeper,
    settings: Settings,
    db_engine: AsyncEngine,
    topic: str,
    method: str,
    payload: dict[str, Any] | str,
    error: str,
) -> None:
    people = await add_users(db_engine, 1)
    async with connected(settings, people) as (u,):
        assert await u.fails(method, payload) == error
        await _unchanged(u, topic)


async def test_match_misuse(
    lobby: Keeper, settings: Settings, db_engine: AsyncEngine, topic: str
) -> None:
    people = await add_users(db_engine, 3)
    async with connected(settings, people) as (a, b, stranger):
        for who in (a, b):
            await who.call("lobby.join", {"topic": topic, "format": "casual"})
        match_id = (await a.event("proposed"))["match_id"]
        await b.event("proposed")
        await stranger.call("lobby.join", {"topic": topic, "format": "quick-debate"})
        yes = {"match_id": match_id, "accept": True}
        assert await stranger.fails("lobby.respond", yes) == "not_your_match"
        assert await a.fails("lobby.join", {"topic": topic, "format": "casual"}) == "busy"
        assert await a.fails("lobby.respond", {"match_id": "f" * 32, "accept": True}) == (
            "unknown_match"
        )
        # Accepting twice is harmless: the same answer, the partner still asked.
        assert (await a.call("lobby.respond", yes))["status"] == "accepted"
        assert (await a.call("lobby.respond", yes))["status"] == "accepted"
        status = await a.call("lobby.status")
        assert status["match"]["accepted"] is True and status["match"]["state"] == "pending"
        assert (await b.call("lobby.status"))["match"]["accepted"] is False
        await b.call("lobby.respond", {"match_id": match_id, "accept": False})
        assert await a.fails("lobby.respond", yes) == "unknown_match"
        assert (await a.call("lobby.status"))["ticket"]["position"] == 0


async def test_repeated_declines_earn_a_cooldown(
    lobby: Keeper, settings: Settings, db_engine: AsyncEngine, topic: str
) -> None:
    people = await add_users(db_engine, 4)
    async with connected(settings, people) as (x, *partners):
        for p in partners:
            await x.call("lobby.join", {"topic": topic, "format": "casual"})
            after = x.last_seq()
            await p.call("lobby.join", {"topic": topic, "format": "casual"})
            match_id = (await x.event("proposed", after=after))["match_id"]
            await x.call("lobby.respond", {"match_id": match_id, "accept": False})
            await p.call("lobby.leave")
        try:
            await x.call("lobby.join", {"topic": topic, "format": "casual"})
        except Exception as e:
            data = json.loads(getattr(e, "data", "") or "{}")
            assert data["error"] == "cooldown" and 0 < data["retry_after"] <= 60
        else:
            raise AssertionError("a fourth join right after three declines was accepted")
        await _unchanged(x, topic)
