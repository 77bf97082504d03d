"""A crowd in the lobby at once: 100 clients joining, accepting, declining and leaving
concurrently. Afterwards nobody is in two matches and nobody is lost."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from livekit import api
from livekit.api.twirp_client import ServerError
from sqlalchemy.ext.asyncio import AsyncEngine

from api.keeper import Keeper
from lobby.settings import Settings
from lobby.store import LobbyStore
from tests.support.lobby_clients import LobbyUser, add_users, connected, lobby_store, rpc_summary

CROWD = 100
ROLES = ("accept", "accept", "accept", "decline", "leave")


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[LobbyStore]:
    async with lobby_store(settings) as store:
        yield store


def _ticket(i: int, topic: str) -> dict[str, str]:
    if i % 2 == 0:
        return {"topic": topic, "format": "casual"}
    return {"topic": topic, "format": "quick-debate", "side": ("pro", "con", "any")[i % 3]}


async def _next(u: LobbyUser, after: int) -> dict[str, Any]:
    kinds = ("proposed", "ready", "cancelled")
    while True:
        fresh = [e for e in u.events if e["seq"] > after and e["type"] in kinds]
        if fresh:
            return min(fresh, key=lambda e: e["seq"])
        await asyncio.sleep(0.05)


async def _play(u: LobbyUser, role: str, ticket: dict[str, str]) -> str:
    """One person: accept, decline once then accept, or leave on the first proposal. Someone
    dropped from a match (it expired before their answer landed, on a busy machine) is told
    so and joins again, twice at most, as a person would."""
    await _join(u, ticket)
    seen, declined, rejoins = 0, False, 2
    while True:
        ev = await _next(u, seen)
        seen = ev["seq"]
        if ev["type"] == "ready":
            return "ready"
        if ev["type"] == "cancelled":
            if ev["requeued"] or ev["reason"] == "declined":
                continue
            if rejoins == 0 or role == "leave":
                return "dropped"
            rejoins -= 1
            await _join(u, ticket)
            continue
        if role == "leave":
            await u.fails("lobby.leave", allowed=True)  # not_queued if it expired first
            return "left"
        answer = {"match_id": ev["match_id"], "accept": role != "decline" or declined}
        declined = declined or role == "decline"
        await u.fails("lobby.respond", answer, allowed=True)  # the partner may be faster
        if not answer["accept"]:
            await _join(u, ticket)


async def _join(u: LobbyUser, ticket: dict[str, str]) -> None:
    # busy: already put back by a partner's leave and proposed again; that is fine.
    assert await u.fails("lobby.join", ticket, allowed=True) in ("", "busy")


async def _settle(store: LobbyStore, crowd: list[LobbyUser]) -> None:
    """Wait until no match of ours is pending and no event arrived for three seconds."""
    ours = {u.id for u in crowd}
    quiet_since, last_count = time.monotonic(), -1
    while time.monotonic() - quiet_since < 3.0:
        count = sum(len(u.events) for u in crowd)
        pending = [m for m in await store.all_pending() if ours & set(m.users)]
        if count != last_count or pending:
            quiet_since, last_count = time.monotonic(), count
        await asyncio.sleep(0.25)


# Connecting a hundred WebRTC clients on a small machine takes a while.
@pytest.mark.timeout(400)
async def test_a_crowd_never_double_matches_or_loses_anyone(
    lobby: Keeper,
    settings: Settings,
    db_engine: AsyncEngine,
    lkapi: api.LiveKitAPI,
    store: LobbyStore,
    topic: str,
) -> None:
    people = await add_users(db_engine, CROWD, "crowd")
    async with connected(settings, people) as crowd:
        plays = [
            asyncio.create_task(_play(u, ROLES[i % len(ROLES)], _ticket(i, topic)))
            for i, u in enumerate(crowd)
        ]
        try:
            await asyncio.wait_for(_settle(store, crowd), 240)
        finally:
            for t in plays:
                t.cancel()
            outcomes = await asyncio.gather(*plays, return_exceptions=True)
            print(f"crowd of {CROWD}: {rpc_summary(crowd)}")
        try:
            await _check(store, crowd, [o for o in outcomes if not _cancelled(o)], outcomes)
        finally:
            for m in await store.all_active():
                if {u.id for u in crowd} & set(m.users):
                    # Rooms nobody joined have closed by themselves already.
                    with contextlib.suppress(api.TwirpError, ServerError):
                        await lkapi.room.delete_room(api.DeleteRoomRequest(room=m.room))


def _cancelled(outcome: object) -> bool:
    return isinstance(outcome, asyncio.CancelledError)


async def _check(
    store: LobbyStore, crowd: list[LobbyUser], finished: list[Any], outcomes: list[Any]
) -> None:
    ours = {u.id for u in crowd}
    # Cancelled plays were still waiting for a partner; any other failure is a bug.
    assert not [o for o in finished if isinstance(o, BaseException)], finished
    active = [m for m in await store.all_active() if ours & set(m.users)]
    in_matches = [u for m in active for u in m.users]
    assert len(in_matches) == len(set(in_matches)), "someone is in two matches"
    rooms = {m.room: set(m.users) for m in active}
    for u, outcome in zip(crowd, outcomes, strict=True):
        readies = u.of_type("ready")
        assert len(readies) <= 1
        status = await u.call("lobby.status")
        if readies:
            assert u.id in rooms[readies[0]["room"]] and status["match"]["state"] == "started"
        elif outcome in ("left", "dropped"):
            # Gone by their own choice, or told they were dropped.
            assert status["ticket"] is None and status["match"] is None
        else:
            # Neither matched nor gone: still waiting, never silently dropped.
            assert status["ticket"] is not None, (u.name, u.events)
    assert in_matches, "nobody was matched at all"
    assert {u.id for u in crowd if u.of_type("ready")} == set(in_matches)
