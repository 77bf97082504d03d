"""End to end over the real LiveKit server, lobby agent, Redis and Postgres, with N simulated
users in the lobby (N = 50 and 200):

- proposal latency: from the second user's `lobby.join` reply to both `proposed` events
  (p50, p99; target p99 < 250 ms at N = 200);
- accept-to-connected: from the second `lobby.respond` reply to both users connected in the
  new room (p50; target < 1.5 s);
- LiveKit's `hidden` grant for lobby participants: join time at N = 200 with and without it,
  and whether RPC and data still work for a hidden participant.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import statistics
import time

from livekit import api, rtc
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from api.keeper import Keeper
from lobby.protocol import LOBBY_IDENTITY
from lobby.settings import Settings
from scripts.stack import ROOT, Stack, free_port
from tests.integration.conftest import start_worker
from tests.integration.lobby_clients import (
    LobbyUser,
    add_topics,
    add_users,
    connected,
    lobby_token,
    wait_for_agent,
)

SIZES = (50, 200)
WAVE = 10  # pairs measured at once
ROOM_SAMPLES = 10  # pairs that also go into their room


def _q(values: list[float], pct: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


def _ms(values: list[float], pct: int) -> str:
    return f"{_q(values, pct) * 1000:6.0f}"


async def _pair_once(
    a: LobbyUser, b: LobbyUser, topic: str, into_room: bool
) -> tuple[float, float | None]:
    await a.call("lobby.join", {"topic": topic, "format": "casual"})
    await b.call("lobby.join", {"topic": topic, "format": "casual"})
    t0 = time.time()
    await asyncio.gather(a.event("proposed"), b.event("proposed"))
    arrived = max(
        at
        for u in (a, b)
        for e, at in zip(u.events, u.arrivals, strict=True)
        if e["type"] == "proposed"
    )
    match_id = a.of_type("proposed")[0]["match_id"]
    await asyncio.gather(
        *(u.call("lobby.respond", {"match_id": match_id, "accept": True}) for u in (a, b))
    )
    t1 = time.time()
    ra, rb = await asyncio.gather(a.event("ready"), b.event("ready"))
    connect_s = None
    if into_room:
        rooms = [rtc.Room(), rtc.Room()]
        await asyncio.gather(
            *(r.connect(x["url"], x["token"]) for r, x in zip(rooms, (ra, rb), strict=True))
        )
        connect_s = time.time() - t1
        await asyncio.gather(*(r.disconnect() for r in rooms))
    return arrived - t0, connect_s


async def _run_size(settings: Settings, engine: AsyncEngine, n: int, lkapi: api.LiveKitAPI) -> None:
    topics = await add_topics(engine, n // 2)
    await asyncio.sleep(1.5)  # the agent reloads unknown topics at most once a second
    people = await add_users(engine, n, "bench")
    proposal: list[float] = []
    connect: list[float] = []
    failed = 0
    async with connected(settings, people):
        pairs = [(people[2 * i], people[2 * i + 1], topics[i]) for i in range(n // 2)]
        for w in range(0, len(pairs), WAVE):
            wave = pairs[w : w + WAVE]
            results = await asyncio.gather(
                *(_pair_once(a, b, t, w + i < ROOM_SAMPLES) for i, (a, b, t) in enumerate(wave)),
                return_exceptions=True,
            )
            failed += sum(1 for r in results if isinstance(r, BaseException))
            ok = [r for r in results if not isinstance(r, BaseException)]
            proposal += [p for p, _ in ok]
            connect += [c for _, c in ok if c is not None]
    rooms = await lkapi.room.list_rooms(api.ListRoomsRequest())
    for r in rooms.rooms:
        if r.name.startswith("disco-"):
            await lkapi.room.delete_room(api.DeleteRoomRequest(room=r.name))
    print(
        f"  N={n:>3}: proposal p50 {_ms(proposal, 50)} ms, p99 {_ms(proposal, 99)} ms"
        f" ({len(proposal)} pairs); accept-to-connected p50 {_ms(connect, 50)} ms"
        f" ({len(connect)} pairs); {failed} pairs failed"
    )


async def _join_times(settings: Settings, n: int, hidden: bool) -> list[float]:
    rooms = [rtc.Room() for _ in range(n)]
    times: list[float] = []

    async def join(i: int, room: rtc.Room) -> None:
        t0 = time.perf_counter()
        token = lobby_token(
            settings, f"hidden-probe-{hidden}-{i}-{secrets.token_hex(3)}", f"p{i}", hidden=hidden
        )
        await room.connect(settings.livekit_url, token)
        times.append(time.perf_counter() - t0)

    for w in range(0, n, 10):
        await asyncio.gather(*(join(w + i, r) for i, r in enumerate(rooms[w : w + 10])))
    await asyncio.gather(*(r.disconnect() for r in rooms))
    return times


async def _hidden_works(settings: Settings) -> str:
    room = rtc.Room()
    got: list[bytes] = []
    room.on("data_received", lambda p: got.append(p.data))
    await room.connect(
        settings.livekit_url,
        lobby_token(settings, f"hidden-{secrets.token_hex(3)}", "h", hidden=True),
    )
    try:
        await room.local_participant.perform_rpc(
            destination_identity=LOBBY_IDENTITY,
            method="lobby.status",
            payload="{}",
            response_timeout=10,
        )
        rpc = "works"
    except rtc.RpcError as e:
        rpc = f"fails ({e.code} {e.message})"
    await room.disconnect()
    return rpc


async def _run(settings: Settings, stack: Stack) -> None:
    engine = create_async_engine(settings.async_database_url)
    lkapi = api.LiveKitAPI(
        settings.livekit_url, settings.livekit_api_key, settings.livekit_api_secret
    )
    await add_topics(engine, 1)
    worker = await asyncio.to_thread(start_worker, stack, settings, "bench-worker")
    try:
        await Keeper(settings, lkapi).ensure()
        await wait_for_agent(settings, lkapi)
        print("lobby end to end (real LiveKit, agent, Redis, Postgres)")
        for n in SIZES:
            await _run_size(settings, engine, n, lkapi)
        for hidden in (False, True):
            t = await _join_times(settings, 200, hidden)
            print(
                f"  join time at N=200, hidden={hidden!s:5}: "
                f"p50 {_ms(t, 50)} ms, p99 {_ms(t, 99)} ms"
            )
        print(f"  hidden lobby participant: RPC to the agent {await _hidden_works(settings)}")
    finally:
        await lkapi.room.delete_room(api.DeleteRoomRequest(room=settings.lobby_room))
        worker.proc.kill()
        await lkapi.aclose()
        await engine.dispose()


def main() -> None:
    run_dir = ROOT / ".run" / f"bench-{os.getpid()}"
    with Stack.start(run_dir, os.environ, free_port()) as stack:
        env = {
            **stack.env,
            "DISCO_JWT_SECRET": secrets.token_urlsafe(32),
            "DISCO_REDIS_PREFIX": f"b{secrets.token_hex(3)}",
            "DISCO_LOBBY_ROOM": f"lobby-bench-{secrets.token_hex(3)}",
        }
        asyncio.run(_run(Settings.from_env(env), stack))


if __name__ == "__main__":
    main()
