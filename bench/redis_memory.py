"""Redis memory before, during and after 10k matches: the lobby's state must not grow without
end. Matches go through the real store as the lobby agent drives it: two tickets join, the
pair is proposed, both accept (`settle` to started), the match is marked live; then each
room ends (`finish_room`, as LiveKit's room_finished webhook or the reconciler does) and the
upkeep prunes what has run out (`lobby.upkeep.prune`, as the reconciler does every minute,
here at a time past the rematch cooldowns). Memory is Redis's own `used_memory`; after the
matches end it must be back within a few percent of where it started.

Run alone with `python -m bench redis_memory`; REDIS_URL picks a Redis of your own (use an
empty one: others' writes would count).
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time

from redis.asyncio import Redis

from bench._servers import redis_url
from lobby import lifecycle
from lobby.model import Match, Ticket
from lobby.policy import Pairing
from lobby.store import LobbyStore, open_redis
from lobby.upkeep import prune

MATCHES = 10_000
WARM_UP = 200
CHUNK = 500
COOLDOWN = 600.0


async def _used(redis: Redis) -> int:
    info = await redis.info("memory")
    return int(info["used_memory"])


async def _open(store: LobbyStore, n: int, tag: str, rng: random.Random) -> list[Match]:
    """n matches made live, CHUNK at a time."""
    live: list[Match] = []
    for start in range(0, n, CHUNK):
        now = time.time()
        size = min(CHUNK, n - start)
        tickets = [
            Ticket(f"{tag}u{2 * start + i}", f"U{i}", f"topic-{i % 20}", "casual", None, now)
            for i in range(2 * size)
        ]
        await asyncio.gather(*(store.join(t, now) for t in tickets))
        pairs = [Pairing(tickets[2 * i], tickets[2 * i + 1], None, None) for i in range(size)]
        matches = lifecycle.propose(pairs, now, rng, 20)
        assert len(await store.propose(matches, now, COOLDOWN)) == size
        live += await asyncio.gather(*(_start(store, m, now) for m in matches))
    return live


async def _start(store: LobbyStore, match: Match, now: float) -> Match:
    current = match
    for user in match.users:
        out = lifecycle.respond(current, user, True, now)
        assert await store.settle(current, out) == "ok"
        current = out.match
    live = dataclasses.replace(current, state="live")
    assert await store.mark_live(live)
    return live


async def _end(store: LobbyStore, matches: list[Match]) -> None:
    for start in range(0, len(matches), CHUNK):
        await asyncio.gather(*(store.finish_room(m.room) for m in matches[start : start + CHUNK]))
    await prune(store, time.time() + COOLDOWN + 1)


async def _run(url: str) -> None:
    redis = open_redis(url)
    store = LobbyStore(redis, "bench-memory")
    rng = random.Random(7)
    try:
        # Scripts loaded and first allocations made before the baseline.
        await _end(store, await _open(store, WARM_UP, "w", rng))
        before = await _used(redis)
        began = time.perf_counter()
        matches = await _open(store, MATCHES, "m", rng)
        during = await _used(redis)
        await _end(store, matches)
        after = await _used(redis)
        took = time.perf_counter() - began
    finally:
        await redis.aclose()
    print(f"redis used_memory before:            {before / 1024:10.1f} KiB")
    print(f"redis used_memory with {MATCHES} live: {during / 1024:10.1f} KiB")
    print(f"redis used_memory after they ended:  {after / 1024:10.1f} KiB")
    print(f"after vs before: {100 * (after - before) / before:+.2f} % ({took:.1f} s)")


def main() -> None:
    with redis_url() as url:
        asyncio.run(_run(url))


if __name__ == "__main__":
    main()
