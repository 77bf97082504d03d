"""The pairing core with its Redis store: proposals per second and per-batch latency at 1k, 10k
and 100k queued tickets over several topics and formats (target: at least 20k proposals/s).

A round groups the topic/format queues into batches (`policy.batches`: about PAIR_BATCH
tickets each); a batch reads its queues' heads in one call (`snapshot`), pairs them with the
pure policy, builds the matches with the life cycle and commits them in one Lua call
(`propose`); PAIR_CONCURRENCY batches run at once, so Python works on one while Redis runs
another. Exactly as the lobby agent does, minus the Postgres blocks query, which the bench
has no blocks for. A batch's latency is its snapshot-to-commit time.

Each size is drained in a lobby's store that has paired a few hundred people before, as a
running lobby's has; the first line is 1k tickets in an empty store, a lobby's first seconds.
The process's garbage collector is tuned as the agent worker's is (`agent.worker.tune_gc`).

`python -m bench.pairing --against REV` runs it on commit REV and on this tree in turns, to
show a change did not make pairing slower (bench/_against.py).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import statistics
import time

from redis.asyncio import Redis

from agent.worker import tune_gc
from bench._against import compare
from bench._servers import redis_url
from lobby import lifecycle, policy
from lobby.model import Ticket
from lobby.policy import PAIR_BATCH, PAIR_CONCURRENCY, PAIR_HEAD, pair
from lobby.store import LobbyStore, open_redis

SIZES = (1_000, 10_000, 100_000)
TOPICS = 20
# 1k tickets drain in tens of milliseconds: drained this many times (each in a lobby of its
# own) and summed.
REPEAT = {1_000: 5}


def _tickets(n: int, rng: random.Random, tag: str = "") -> list[Ticket]:
    """n tickets over TOPICS topics, a third of them debates; users `{tag}u{i}`."""
    out = []
    for i in range(n):
        topic = f"topic-{i % TOPICS}"
        if i % 3 == 0:
            out.append(
                Ticket(
                    f"{tag}u{i}",
                    f"U{i}",
                    topic,
                    "quick-debate",
                    rng.choice(["pro", "con", "any"]),
                    i / 1000,
                )
            )
        else:
            out.append(Ticket(f"{tag}u{i}", f"U{i}", topic, "casual", None, i / 1000))
    return out


async def _fill(store: LobbyStore, tickets: list[Ticket]) -> None:
    for i in range(0, len(tickets), 2000):
        async with store.redis.pipeline(transaction=False) as p:
            for t in tickets[i : i + 2000]:
                keys = store.join_keys(t.user)
                args: list[str | int] = [t.user, store.codec.member(t), t.bucket, 0]
                await store._join(keys=keys, args=args, client=p)
            await p.execute()


async def _drain(store: LobbyStore, rng: random.Random) -> tuple[int, float, list[float]]:
    """Pair until nothing more pairs, in rounds as the lobby agent runs them: the queues
    grouped into batches (`policy.batches`), a few batches at once."""
    batches: list[float] = []
    limit = asyncio.Semaphore(PAIR_CONCURRENCY)

    async def one(buckets: list[str]) -> int:
        async with limit:
            t0 = time.perf_counter()
            snap = await store.snapshot(buckets, PAIR_HEAD)
            now = time.time()
            pairings = pair(snap.tickets, now, rng, recent=snap.recent)
            matches = lifecycle.propose(pairings, now, rng, 20)
            done = await store.propose(matches, now, 600)
            batches.append(time.perf_counter() - t0)
            return len(done)

    proposals = 0
    started = time.perf_counter()
    while groups := policy.batches(await store.sizes(), PAIR_HEAD, PAIR_BATCH):
        progress = sum(await asyncio.gather(*(one(g) for g in groups)))
        proposals += progress
        if progress == 0:
            break  # what is left cannot pair (one side only)
    return proposals, time.perf_counter() - started, batches


def _report(label: str, proposals: int, seconds: float, batches: list[float]) -> None:
    q = (
        statistics.quantiles(batches, n=100, method="inclusive")
        if len(batches) > 1
        else batches * 99
    )
    print(
        f"  {label:>26}: {proposals:>6} proposals in {seconds:6.2f} s = "
        f"{proposals / seconds:>8.0f}/s; batch p50 {q[49] * 1000:6.1f} ms, "
        f"p99 {q[98] * 1000:6.1f} ms ({len(batches)} batches)"
    )


async def _lobby(redis: Redis, rng: random.Random, *, used: bool) -> LobbyStore:
    """A lobby's store of its own. `used`: it has paired a few hundred people before (untimed),
    as a running lobby has; Redis keeps a new hash or sorted set as a flat list, searched end
    to end, until it passes 128 entries, so an empty store is slower for its first matches."""
    store = LobbyStore(redis, f"bench{secrets.token_hex(4)}")
    if used:
        await _fill(store, _tickets(20 * TOPICS, rng, "before"))
        await _drain(store, rng)
    return store


async def _run(redis_url: str) -> None:
    redis = open_redis(redis_url)
    rng = random.Random(1)
    print(
        "pairing core + Redis: proposals/s and per-batch latency"
        f" (a batch = about {PAIR_BATCH} queued tickets, {PAIR_CONCURRENCY} at once)"
    )
    # Untimed: open the pool's connections (one per batch in flight: a drain that has to open
    # them waits a round trip each behind the other batches' work) and load the scripts, as a
    # running agent has.
    await asyncio.gather(*(redis.ping() for _ in range(PAIR_CONCURRENCY)))
    warm = await _lobby(redis, rng, used=True)
    await redis.unlink(*warm.keys.values())
    cases = [(1_000, False, "1000 tickets, empty store")]
    cases += [(n, True, f"{n} tickets") for n in SIZES]
    for n, used, label in cases:
        proposals, seconds = 0, 0.0
        batches: list[float] = []
        repeat = REPEAT.get(n, 1) if used else 1
        for _ in range(repeat):
            store = await _lobby(redis, rng, used=used)
            await _fill(store, _tickets(n, rng))
            p, s, b = await _drain(store, rng)
            proposals, seconds, batches = proposals + p, seconds + s, batches + b
            # UNLINK: a 100k lobby's hashes are freed in Redis's background, not within the
            # client's timeout on a busy machine.
            await redis.unlink(*store.keys.values())
        _report(label + (f" (x{repeat})" if repeat > 1 else ""), proposals, seconds, batches)
    await redis.aclose()


def main() -> None:
    tune_gc()
    with redis_url() as url:
        asyncio.run(_run(url))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.pairing")
    parser.add_argument("--against", metavar="REV", help="also run it on this commit, in turns")
    parser.add_argument("--after", metavar="REV", help="that commit instead of this tree")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.against:
        compare("bench.pairing", args.against, args.rounds, args.after)
    else:
        main()
