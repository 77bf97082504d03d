"""The chaos test's own deployment on the session's servers (the real API as a process, two
agent workers, its own lobby room, agent name and Redis prefix) and the faults it suffers,
once each and one after the other: the worker running the lobby agent SIGKILLed (and a fresh
one started, as a process manager would), Redis paused, the API stopped and started again.
tests/integration/test_chaos.py says what the test asserts through them.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from livekit import api

from lobby.settings import Settings
from lobby.store import LobbyStore, open_redis
from scripts.stack import Stack, free_port, port_free
from tests.integration.chaos_faults import (
    ApiProcess,
    Recovery,
    delete_rooms,
    job_rooms,
    kill,
    lobby_holder,
    served_again,
    terminate,
    worker_name,
)
from tests.support.lobby_clients import lobby_agent, wait_for_agent
from tests.support.worker import Worker, own_settings, start_worker

ACCEPT_TIMEOUT = 8
KILL_AT = 8.0
# Between one fault's recovery and the next fault.
BETWEEN = 6.0
PAUSE = 5.0
# How long DISCO gets to come back from the worker kill (LiveKit notices the dead agent after
# 10-20 s; a new one is dispatched and joins).
BACK_WITHIN = 150.0
# The API's reconciler runs every 15 s instead of every minute, so a `room_finished` webhook
# lost (the API was down, or another API of the test run holds the webhook port) is made up
# for within the settle.
API_ENV = {"DISCO_RECONCILE_PERIOD": "15"}


@dataclass
class World:
    stack: Stack
    settings: Settings
    lkapi: api.LiveKitAPI
    api: ApiProcess
    store: LobbyStore
    workers: list[Worker]
    recoveries: list[Recovery] = field(default_factory=list)
    # Lines for the summary printed at the end.
    notes: list[str] = field(default_factory=list)
    # The worker started after the kill, while it registers.
    starting: asyncio.Future[Worker] | None = None


@contextlib.asynccontextmanager
async def world(
    stack: Stack, settings: Settings, lkapi: api.LiveKitAPI, api_port: int
) -> AsyncIterator[World]:
    if stack.redis is None:
        pytest.skip("REDIS_URL names a Redis this test may not pause")
    port = api_port if port_free(api_port) else free_port()
    if port != api_port:
        print("another API holds the webhook port: this one relies on its reconciler")
    mine = own_settings(settings, "chaos", api_port=port, accept_timeout=ACCEPT_TIMEOUT)
    starting = [asyncio.to_thread(start_worker, stack, mine, worker_name(n)) for n in range(2)]
    workers = list(await asyncio.gather(*starting))
    redis = open_redis(mine.redis_url, timeout=mine.redis_timeout)
    store = LobbyStore(redis, mine.redis_prefix)
    w = World(stack, mine, lkapi, ApiProcess(stack, mine, API_ENV), store, workers)
    try:
        w.api.start()
        await w.api.ready()
        await wait_for_agent(mine, lkapi, 120)
        yield w
    finally:
        with contextlib.suppress(Exception):
            stack.redis.resume()  # never leave it paused for the tests after this one
        # The API first: its keeper would open the lobby room again and dispatch an agent.
        await asyncio.to_thread(w.api.stop)
        if w.starting is not None:
            with contextlib.suppress(Exception):
                w.workers.append(await w.starting)
        with contextlib.suppress(Exception):
            rooms = [m.room for m in await w.store.all_active()]
            await delete_rooms(lkapi, [mine.lobby_room, *rooms])
        await asyncio.to_thread(terminate, w.workers)
        await redis.aclose()


# -- the faults ---------------------------------------------------------------------------------
async def _kill_worker(w: World) -> Recovery:
    holder = lobby_holder(w.workers, w.settings.lobby_room) or w.workers[0]
    old = await lobby_agent(w.settings, w.lkapi)
    began = time.time()
    await asyncio.to_thread(kill, holder)
    rooms = job_rooms(holder) - {w.settings.lobby_room}
    w.notes.append(f"the killed worker ran the lobby agent and {len(rooms)} moderator(s)")
    # As a process manager would: a fresh worker, started right away; whichever worker takes
    # the new lobby job, the one that survived or this one, is LiveKit's choice.
    fresh = asyncio.ensure_future(
        asyncio.to_thread(start_worker, w.stack, w.settings, worker_name(len(w.workers)))
    )
    try:
        back = await served_again(w.settings, w.lkapi, old, BACK_WITHIN)
    except BaseException:
        w.workers.append(await fresh)
        raise
    w.starting = fresh
    return Recovery("lobby agent's worker SIGKILLed", began, began, back, ", a new agent ready")


async def _pause_redis(w: World) -> Recovery:
    assert w.stack.redis is not None
    began = time.time()
    w.stack.redis.pause()
    try:
        await asyncio.sleep(PAUSE)
    finally:
        w.stack.redis.resume()
    return Recovery("Redis paused (SIGSTOP)", began, time.time())


async def _restart_api(w: World, sig: signal.Signals) -> Recovery:
    began = time.time()
    await asyncio.to_thread(w.api.stop, sig)
    w.api.start()
    ended = time.time()
    alive = await w.api.ready("/healthz")
    back = await w.api.ready()
    note = f", /readyz 200 (it answered /healthz {alive - ended:.1f} s after its start)"
    return Recovery(f"API stopped ({sig.name}) and started", began, ended, back, note)


async def faults(w: World, rng: random.Random, t0: float) -> None:
    await asyncio.sleep(max(0.0, t0 + KILL_AT - time.time()))
    w.recoveries.append(await _kill_worker(w))
    await asyncio.sleep(BETWEEN)
    w.recoveries.append(await _pause_redis(w))
    await asyncio.sleep(BETWEEN + 2)  # the lobby's recovery after Redis (a few seconds)
    w.recoveries.append(await _restart_api(w, rng.choice([signal.SIGTERM, signal.SIGKILL])))
    if w.starting is not None:
        w.workers.append(await w.starting)
        w.starting = None
