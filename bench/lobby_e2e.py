"""End to end over the real LiveKit server, lobby agent, Redis and Postgres, with N simulated
users in the lobby (N = 50 and 200):

- proposal latency: from the second user's `lobby.join` reply to both `proposed` events
  (p50, p99; target p99 < 250 ms at N = 200);
- accept-to-connected: from the second `lobby.respond` call to both users connected in the
  new room (p50; target < 1.5 s), for pairs going in one at a time; accept-to-ready (both
  `ready` hints) and accept-to-room (both holding their room token, which a client takes
  from the `lobby.status` it calls on the hint) for every pair;
- LiveKit's `hidden` grant: join time into a room of 200 with and without it, and whether RPC
  and data still work for a hidden participant.

All N users run in this one process, where the SDK hands every room event to every rtc.Room
of the process (its FFI queue broadcasts; each room then drops what is not its own, after a
round through its event queue): N users would cost about N^3 deliveries where N devices cost
N^2 in all, and at N = 200 this process, not the servers, would set the figures. So the
harness routes each room event straight to the room it belongs to (`agent.sdk.route`), as N separate
devices would receive them. And the SDK ships every log line of its native core, debug and
trace included, to Python, which then drops them: about 75 records per room event, measured
with 30 users. The harness turns that capture off (`agent.sdk.quiet_native_logs`; native
errors still reach stderr). Nothing else of the SDK changes. The figures are taken once the
lobby has settled (every simulated user knows the N - 1 others and the agent); the settle
time is printed too.
"""

from __future__ import annotations

import asyncio
import secrets
import statistics
import time
from dataclasses import replace

from livekit import api, rtc
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from agent.sdk import quiet_native_logs, route
from api.keeper import Keeper
from bench._servers import stack_env
from lobby.contract import LOBBY_IDENTITY
from lobby.settings import Settings
from scripts.stack import Stack
from tests.support.lobby_clients import (
    LobbyUser,
    add_topics,
    add_users,
    connected,
    unrecorded_lobby_token,
    wait_for_agent,
)
from tests.support.worker import start_worker

SIZES = (50, 200)
WAVE = 10  # pairs measured at once
ROOM_SAMPLES = 10  # pairs that also go into their room, one pair at a time


def _q(values: list[float], pct: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


def _ms(values: list[float], pct: int) -> str:
    return f"{_q(values, pct) * 1000:6.0f}"


async def _granted(u: LobbyUser) -> float:
    await u.room_grant()
    return time.time()


def _arrival(users: tuple[LobbyUser, ...], kind: str) -> float:
    """When the later of these users received its first event of this kind (wall clock)."""
    return max(
        next(at for e, at in zip(u.events, u.arrivals, strict=True) if e["type"] == kind)
        for u in users
    )


async def _pair_once(
    a: LobbyUser, b: LobbyUser, topic: str, into_room: bool
) -> tuple[float, float, float, float, float | None]:
    """(second join reply -> both proposed, second join sent -> both proposed, accept -> both
    ready, accept -> both hold their room, accept -> both connected in the room or None) for
    one pair, in seconds. The first
    can be below zero: the agent pairs as soon as the join is stored, and the events may
    overtake the join's reply."""
    await a.call("lobby.join", {"topic": topic, "format": "casual"})
    sent = time.time()
    await b.call("lobby.join", {"topic": topic, "format": "casual"})
    t0 = time.time()
    await asyncio.gather(a.event("proposed"), b.event("proposed"))
    match_id = a.of_type("proposed")[0]["match_id"]
    t1 = time.time()  # both accept at once: this is when the second accept is sent
    await asyncio.gather(
        *(u.call("lobby.respond", {"match_id": match_id, "accept": True}) for u in (a, b))
    )
    await asyncio.gather(a.event("ready"), b.event("ready"))
    granted = max(await asyncio.gather(_granted(a), _granted(b))) - t1
    ra, rb = await asyncio.gather(a.room_grant(), b.room_grant())
    connect_s = None
    if into_room:
        rooms = [rtc.Room(), rtc.Room()]
        await asyncio.gather(
            *(r.connect(x["url"], x["token"]) for r, x in zip(rooms, (ra, rb), strict=True))
        )
        connect_s = time.time() - t1
        for r in rooms:
            route(r)
        await asyncio.gather(*(r.disconnect() for r in rooms))
    proposed = _arrival((a, b), "proposed")
    return proposed - t0, proposed - sent, _arrival((a, b), "ready") - t1, granted, connect_s


async def _settle(people: list[LobbyUser], wait: float = 180) -> float:
    """Seconds until every user's room lists all the others and the agent."""
    t0 = time.monotonic()
    want = len(people)  # the N - 1 others and the lobby agent
    while time.monotonic() - t0 < wait:
        if all(len(p.room.remote_participants) >= want for p in people):
            break
        await asyncio.sleep(0.2)
    return time.monotonic() - t0


async def _run_size(settings: Settings, engine: AsyncEngine, n: int, lkapi: api.LiveKitAPI) -> None:
    topics = await add_topics(engine, n // 2)
    added = time.monotonic()
    people: list[LobbyUser] = await add_users(engine, n, "bench")
    proposal: list[float] = []
    from_sent: list[float] = []
    ready: list[float] = []
    granted: list[float] = []
    connect: list[float] = []
    failed = 0
    async with connected(settings, people):
        settled = await _settle(people)
        # The agent reloads topics for an unknown one at most every 5 s.
        await asyncio.sleep(max(0.0, 5.5 - (time.monotonic() - added)))
        pairs = [(people[2 * i], people[2 * i + 1], topics[i]) for i in range(n // 2)]
        # Waves of pairs at once for the lobby figures, then pairs one at a time into their
        # rooms: a pair's way in, not many WebRTC handshakes at once on two cores.
        lobby_only, into_rooms = pairs[:-ROOM_SAMPLES], pairs[-ROOM_SAMPLES:]
        waves = [lobby_only[w : w + WAVE] for w in range(0, len(lobby_only), WAVE)]
        waves += [[p] for p in into_rooms]
        for wave in waves:
            results = await asyncio.gather(
                *(_pair_once(a, b, t, len(wave) == 1) for a, b, t in wave),
                return_exceptions=True,
            )
            failures = [r for r in results if isinstance(r, BaseException)]
            failed += len(failures)
            for f in failures[:1]:
                print(f"    a pair failed: {type(f).__name__}: {str(f)[:300]}", flush=True)
            ok = [r for r in results if not isinstance(r, BaseException)]
            proposal += [r[0] for r in ok]
            from_sent += [r[1] for r in ok]
            ready += [r[2] for r in ok]
            granted += [r[3] for r in ok]
            connect += [r[4] for r in ok if r[4] is not None]
    rooms = await lkapi.room.list_rooms(api.ListRoomsRequest())
    for r in rooms.rooms:
        if r.name.startswith("disco-"):
            await lkapi.room.delete_room(api.DeleteRoomRequest(room=r.name))
    print(
        f"  N={n:>3}: lobby settled {settled:4.1f} s after the joins; "
        f"proposal p50 {_ms(proposal, 50)} ms, p99 {_ms(proposal, 99)} ms"
        f" ({len(proposal)} pairs; from the join sent: p50 {_ms(from_sent, 50)} ms,"
        f" p99 {_ms(from_sent, 99)} ms); accept-to-ready p50 {_ms(ready, 50)} ms;"
        f" accept-to-room (status reply) p50 {_ms(granted, 50)} ms;"
        f" accept-to-connected p50 {_ms(connect, 50)} ms, p99 {_ms(connect, 99)} ms"
        f" ({len(connect)} pairs); {failed} pairs failed"
    )


async def _join_times(
    settings: Settings, lkapi: api.LiveKitAPI, n: int, hidden: bool
) -> list[float]:
    """Join times into a scratch room of n people (the lobby agent turns away identities the
    API did not record, so the probes stay out of the lobby)."""
    scratch = replace(settings, lobby_room=f"join-probe-{secrets.token_hex(3)}")
    await lkapi.room.create_room(api.CreateRoomRequest(name=scratch.lobby_room))
    rooms = [rtc.Room() for _ in range(n)]
    times: list[float] = []

    async def join(i: int, room: rtc.Room) -> None:
        t0 = time.perf_counter()
        token = unrecorded_lobby_token(
            scratch, f"hidden-probe-{hidden}-{i}-{secrets.token_hex(3)}", hidden=hidden
        )
        await room.connect(settings.livekit_url, token)
        times.append(time.perf_counter() - t0)
        route(room)

    for w in range(0, n, 10):
        await asyncio.gather(*(join(w + i, r) for i, r in enumerate(rooms[w : w + 10])))
    await asyncio.gather(*(r.disconnect() for r in rooms))
    await lkapi.room.delete_room(api.DeleteRoomRequest(room=scratch.lobby_room))
    return times


async def _hidden_probe(settings: Settings, lkapi: api.LiveKitAPI) -> str:
    """What a lobby agent would see of a hidden participant: a data packet and an RPC from it,
    received by a plain participant standing in for the agent in a scratch room."""
    scratch = replace(settings, lobby_room=f"hidden-probe-{secrets.token_hex(3)}")
    # No join creates a room (livekit.yaml): the scratch room is made first.
    await lkapi.room.create_room(api.CreateRoomRequest(name=scratch.lobby_room))
    receiver, sender = rtc.Room(), rtc.Room()
    packets: list[str] = []
    callers: list[str] = []
    receiver.on(
        "data_received",
        lambda p: packets.append(p.participant.identity if p.participant else ""),
    )

    async def echo(data: rtc.RpcInvocationData) -> str:
        callers.append(data.caller_identity)
        return "ok"

    await receiver.connect(settings.livekit_url, unrecorded_lobby_token(scratch, LOBBY_IDENTITY))
    receiver.local_participant.register_rpc_method("probe", echo)
    await sender.connect(settings.livekit_url, unrecorded_lobby_token(scratch, "h1", hidden=True))
    try:
        await sender.local_participant.publish_data(b"x", destination_identities=[LOBBY_IDENTITY])
        try:
            await sender.local_participant.perform_rpc(
                destination_identity=LOBBY_IDENTITY, method="probe", payload="", response_timeout=5
            )
            rpc = "replied"
        except rtc.RpcError as e:
            rpc = f"failed with {e.code} ({e.message})"
        await asyncio.sleep(0.5)
        return (
            f"data arrived {len(packets)}x from {packets!r}; RPC reached the receiver "
            f"{len(callers)}x with caller identity {callers!r} and {rpc}"
        )
    finally:
        await asyncio.gather(sender.disconnect(), receiver.disconnect())


async def _run(settings: Settings, stack: Stack) -> None:
    quiet_native_logs()
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
            t = await _join_times(settings, lkapi, 200, hidden)
            print(
                f"  join time at N=200, hidden={hidden!s:5}: "
                f"p50 {_ms(t, 50)} ms, p99 {_ms(t, 99)} ms"
            )
        print(f"  hidden sender 'h1': {await _hidden_probe(settings, lkapi)}")
    finally:
        await lkapi.room.delete_room(api.DeleteRoomRequest(room=settings.lobby_room))
        worker.proc.kill()
        await lkapi.aclose()
        await engine.dispose()


def main() -> None:
    with stack_env() as (stack, env):
        asyncio.run(_run(Settings.from_env(env), stack))


if __name__ == "__main__":
    main()
