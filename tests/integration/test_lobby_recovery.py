"""The lobby worker is SIGKILLed while people wait and a match is pending; a new worker starts,
the keeper dispatches the lobby agent again, and nothing is lost or duplicated: every ticket
and the pending match survive in Redis, and each client is told its state again."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import time

import pytest
from livekit import api
from sqlalchemy.ext.asyncio import AsyncEngine

from api.keeper import Keeper
from lobby.settings import Settings
from lobby.store import LobbyStore, open_redis
from scripts.stack import Stack
from tests.integration.conftest import own_lobby
from tests.support.lobby_clients import add_users, connected, lobby_agent
from tests.support.wait import eventually
from tests.support.worker import start_worker


async def _served_again(
    settings: Settings, lkapi: api.LiveKitAPI, keeper: Keeper, old: str
) -> None:
    """What the API does: ensure() periodically (and on the participant_left webhook)."""

    async def served() -> bool:
        await keeper.ensure()
        return await lobby_agent(settings, lkapi) not in ("", old)

    await eventually(served, "the lobby served again by a new agent", 120, every=1)


@pytest.mark.timeout(300)
async def test_a_killed_lobby_worker_loses_nothing(
    stack: Stack, settings: Settings, lkapi: api.LiveKitAPI, db_engine: AsyncEngine, topic: str
) -> None:
    async with own_lobby(stack, settings, lkapi, "kill") as (mine, first, keeper):
        people = await add_users(db_engine, 3)
        async with connected(mine, people) as (a, b, c):
            await c.call("lobby.join", {"topic": topic, "format": "quick-debate", "side": "pro"})
            await a.call("lobby.join", {"topic": topic, "format": "casual"})
            await b.call("lobby.join", {"topic": topic, "format": "casual"})
            match_id = (await a.event("proposed"))["match_id"]
            await b.event("proposed")
            await a.call("lobby.respond", {"match_id": match_id, "accept": True})
            seqs = {w.id: w.last_seq() for w in (a, b, c)}
            old = await lobby_agent(mine, lkapi)

            os.kill(first.proc.pid, signal.SIGKILL)
            await asyncio.to_thread(first.proc.wait, 15)
            second = await asyncio.to_thread(
                start_worker, stack, mine, f"worker-kill-2-{secrets.token_hex(3)}"
            )
            try:
                t0 = time.monotonic()
                await _served_again(mine, lkapi, keeper, old)
                print(f"lobby served again {time.monotonic() - t0:.1f} s after the new worker")
                # Told again, with the same match and a fresh deadline; the answer kept.
                again_a = await a.event("proposed", after=seqs[a.id])
                again_b = await b.event("proposed", after=seqs[b.id])
                assert again_a["match_id"] == again_b["match_id"] == match_id
                assert again_a["accepted"] is True and again_b["accepted"] is False
                assert (await c.event("queued", after=seqs[c.id]))["position"] == 0
                await _nothing_lost_or_doubled(mine, {a.id, b.id}, c.id)
                await b.call("lobby.respond", {"match_id": match_id, "accept": True})
                ready_a, ready_b = await a.event("ready"), await b.event("ready")
                assert ready_a["room"] == ready_b["room"]
                await lkapi.room.delete_room(api.DeleteRoomRequest(room=ready_a["room"]))
            finally:
                second.proc.kill()
                await asyncio.to_thread(second.proc.wait, 15)


async def _nothing_lost_or_doubled(settings: Settings, pair: set[str], waiting: str) -> None:
    redis = open_redis(settings.redis_url)
    store = LobbyStore(redis, settings.redis_prefix)
    try:
        pending = await store.all_pending()
        assert [set(m.users) for m in pending] == [pair]
        assert set(await store.queued_users()) == pair | {waiting}
        ticket = await store.ticket(waiting)
        assert ticket is not None and await store.position(ticket) is not None
    finally:
        await redis.aclose()
