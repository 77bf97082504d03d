"""Chaos: twenty people use the lobby at once while its parts fail, and afterwards nobody is in
two matches, everyone's `lobby.status` agrees with what they did and were told, and every live
discussion room has its moderator.

The set-up is a deployment of its own on the session's servers: the real API
(`python -m api`, on the port LiveKit sends its webhooks to when no other API of the test run
holds it), two agent workers, its own lobby room, agent name and Redis prefix, an accept
limit of 8 s. Twenty real Python LiveKit clients (tests/integration/chaos_clients.py) each
play a seeded random script (`DISCO_CHAOS_SEED`, printed): every 0.4-2.5 s, from what their
last `lobby.status` said, they join (two topics, casual or quick debate, any side), accept,
decline, leave, answer a match they saw earlier, or wait; they never go to their rooms.
They send a command again, as docs/PROTOCOL.md says, when LiveKit reports a transport failure
(1400/1401/1501/1502/1503/1505) or the lobby answers 2098 `unavailable`.

Meanwhile, once each and one after the other (each once DISCO is back from the last):
- the worker running the lobby agent is SIGKILLed; a fresh worker is started right after, as
  an operator's process manager would (the API's keeper dispatches the lobby agent again, its
  supervisor the moderators the dead worker ran);
- DISCO's Redis is paused (SIGSTOP) for 5 s;
- the API is stopped (SIGTERM or SIGKILL, by the seed) and started again.
The chaos lasts at least 60 s and until 10 s after the last recovery; then the clients stop.
Once the proposals still open have run out, a last round: everyone not in a discussion joins
one queue and answers the first proposal once: of each pair, the one whose name sorts first
accepts, the other accepts, declines or ignores it (by the seed). So the end holds every kind
of outcome: started, declined (the accepter requeued), run out (the accepter requeued, the
other dropped).

Then the test settles (waiting, with deadlines, for what DISCO does by itself: proposals
nobody answers run out, rooms open, moderators are dispatched, ended rooms are released)
and asserts:

1. **Nobody is in two matches**, in atomic snapshots of Redis (lobby.store's `matchOf`,
   `pendingMatches`, `activeMatches`) taken every second of the chaos and at the end: nobody
   in two pending matches, every person of a pending match recorded in it, nobody recorded in
   a match that does not exist.
2. **Each client's `lobby.status` agrees with its own last action and the events it
   received.** A command whose reply states the caller's state is an observation; the last
   one decides what the final status may be (tests/integration/chaos_rules.py):
   - none yet: no ticket and no match;
   - `lobby.join` answered with a ticket: queued with that topic, format and side; or no
     ticket and no match, if the client was proposed a match after it sent the join (it did
     not answer, and the proposal ran out);
   - `lobby.leave` answered `left` or `not_queued`: no ticket; no match, or the started match
     it had last accepted (leaving the lobby gives no seat up);
   - `lobby.respond` decline answered `declined`, or any `lobby.respond` answered
     `not_queued`: no ticket and no match;
   - `lobby.respond` accept of m answered `starting`: m, started, with its room (name and
     token); or nothing, once m is no longer active (its room finished and was released);
   - `lobby.respond` accept of m answered `accepted`: as for `starting` once m started (its
     discussion row exists); or queued with the ticket of its last join (the partner
     declined, left or let m run out, and the accepter went back to the head); or nothing, if
     it was proposed another match after it sent the accept, or was told m failed to open.
   "Proposed after" is read from the client's `proposed` events and, since an event is only a
   hint and can be lost with the process that sends it, from Redis's rematch record
   (`recent`, the partner and time of each proposal). Refusals (busy, cooldown,
   unknown_match, ...) change nothing and are no observation. A command sent again after a
   failed attempt may have taken effect at the first try: when it then ends in an error it
   adds its state as a possibility instead of replacing the last one; so does a connection to
   LiveKit that dropped and came back, as a leave (the lobby takes a lost connection for one).
   The events must agree too: when the last proposal made to the client after its last
   observation (or, after an accept, the accepted match itself) was cancelled and the client
   got that `cancelled` event, the status is queued if it said `requeued`, and nothing if not.
   A `ready` event must only ever name a match the client accepted. No status may show a
   pending match or a started one without its room: the settle waits until there are none.
3. **Every live discussion room has its moderator**: for every active match in Redis, LiveKit
   has its room, `disco-moderator` is in it, and it wrote the debate to Redis in the last 5 s.
4. DISCO came back from each fault, no command was given up on (150 s of retries), and no
   client was refused as `internal`, `unknown_caller`, `replaced` or `flooding`, or removed
   from the lobby.

It prints commands per kind and outcome, the failed attempts sent again by code, and, for each
fault, how long until DISCO served again.
"""

from __future__ import annotations

import asyncio
import collections
import os
import random
import time

import pytest
import sqlalchemy as sa
from livekit import api
from sqlalchemy.ext.asyncio import AsyncEngine

from lobby.db.schema import discussions
from lobby.settings import Settings
from scripts.stack import Stack
from tests.integration.chaos_clients import ChaosClient, summary
from tests.integration.chaos_faults import (
    Watcher,
    double_bookings,
    live_rooms,
    proposal_times,
    unmoderated,
)
from tests.integration.chaos_rules import Facts, Final, judge
from tests.integration.chaos_world import ACCEPT_TIMEOUT, World, faults, world
from tests.support.lobby_clients import add_users, connected
from tests.support.wait import eventually

SEED = int(os.environ.get("DISCO_CHAOS_SEED", "1011"))
CLIENTS = 20
CHAOS_MIN = 60.0
# After the last fault's recovery, before the clients stop.
AFTER_LAST = 10.0
# How long DISCO gets to settle after the chaos.
SETTLE = 150.0
REFUSED = ("internal", "unknown_caller", "replaced", "flooding", "gave_up")

pytestmark = [pytest.mark.chaos, pytest.mark.timeout(600)]


async def _chaos(w: World, clients: list[ChaosClient], watcher: Watcher, seed: int) -> None:
    """Run the clients and the faults, then stop the clients (each finishes its command)."""
    stop, t0 = asyncio.Event(), time.time()
    tasks = [asyncio.create_task(c.play(stop)) for c in clients]
    tasks.append(asyncio.create_task(watcher.run(stop)))
    try:
        await faults(w, random.Random(seed), t0)
        last = max(r.back or r.ended for r in w.recoveries)
        await asyncio.sleep(max(t0 + CHAOS_MIN, last + AFTER_LAST) - time.time())
    finally:
        stop.set()
        stopped = time.time()
        done = await asyncio.gather(*tasks, return_exceptions=True)
    for result in done:
        if isinstance(result, BaseException):
            raise result
    w.notes.append(
        f"chaos {stopped - t0:.0f} s; the clients' last commands ended "
        f"{time.time() - stopped:.0f} s later"
    )


# -- afterwards ---------------------------------------------------------------------------------
async def _coda(w: World, clients: list[ChaosClient], topic: str) -> None:
    """The last round (see the module docstring), once no proposal is open."""

    async def none_open() -> bool:
        return not await w.store.all_pending()

    await eventually(none_open, "no proposal open after the chaos", SETTLE, every=1)
    await asyncio.gather(*(c.coda(topic, 2.0 * ACCEPT_TIMEOUT) for c in clients))


async def _started(engine: AsyncEngine, clients: list[ChaosClient]) -> frozenset[str]:
    """Matches of these clients that started: their discussion row exists."""
    ids = {c.payload["match_id"] for x in clients for c in x.commands if "match_id" in c.payload}
    if not ids:
        return frozenset()
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.select(discussions.c.match_id).where(discussions.c.match_id.in_(ids))
        )
        return frozenset(str(r[0]) for r in rows)


def _facts(
    c: ChaosClient,
    times: dict[str, dict[str, float]],
    names: dict[str, str],
    started: frozenset[str],
    active: frozenset[str],
) -> Facts:
    """The client's proposals (from Redis, each with its match id when a `proposed` event
    named that partner), the matches that started and are still active, what it was told."""
    events = c.user.events
    by_partner = {
        names.get(str(e["partner"]["display_name"]), ""): str(e["match_id"])
        for e in events
        if e["type"] == "proposed"
    }
    proposals = [(t, by_partner.get(p)) for p, t in times.get(c.user.id, {}).items()]
    cancels = [e for e in events if e["type"] == "cancelled"]
    cancelled = {str(e["match_id"]): bool(e["requeued"]) for e in cancels}
    failed = {str(e["match_id"]) for e in cancels if e["reason"] == "failed"}
    return Facts(tuple(proposals), started, active, frozenset(failed), cancelled)


async def _disagreements(
    w: World, engine: AsyncEngine, clients: list[ChaosClient], finals: list[Final]
) -> list[str]:
    """Everything the test asserts at the end that does not hold (yet); `finals` gets each
    client's final status once the lobby has settled."""
    pending = await w.store.all_pending()
    if pending:
        return [f"{len(pending)} match(es) still pending"]
    rooms = await unmoderated(w.store, w.lkapi)
    if rooms:
        return rooms
    statuses = await asyncio.gather(*(c.status() for c in clients))
    times = await proposal_times(w.store, w.settings.rematch_cooldown)
    started = await _started(engine, clients)
    active = frozenset(m.id for m in await w.store.all_active())
    problems = await double_bookings(w.store.redis, w.store)
    finals[:] = [Final.of(s) for s in statuses]
    names = {c.user.name: c.user.id for c in clients}
    for c, final in zip(clients, finals, strict=True):
        facts = _facts(c, times, names, started, active)
        found = judge(c.history(), c.user.events, final, facts)
        problems += [f"{c.user.name}: {p}; commands {_tail(c)}" for p in found]
    return problems


def _tail(c: ChaosClient) -> str:
    return "; ".join(
        f"{x.method.removeprefix('lobby.')} {x.payload} -> {x.outcome} {x.reply or ''}"
        f" (retried {list(x.retried)})"
        for x in c.commands[-4:]
    )


async def _settle(w: World, engine: AsyncEngine, clients: list[ChaosClient]) -> list[str]:
    """Until everything asserted at the end holds, or SETTLE has passed: the last problems."""
    started, finals = time.monotonic(), list[Final]()
    while True:
        problems = await _disagreements(w, engine, clients, finals)
        if not problems or time.monotonic() - started > SETTLE:
            break
        await asyncio.sleep(2)
    kinds = collections.Counter(f.kind for f in finals)
    w.notes.append(f"settled in {time.monotonic() - started:.0f} s; final statuses {dict(kinds)}")
    rooms = await live_rooms(w.store, w.lkapi)
    w.notes.append(f"live discussion rooms at the end, each with its moderator: {rooms}")
    return problems


def _recovered(w: World, clients: list[ChaosClient]) -> None:
    """Fill in, for the faults measured from the clients' side, when the lobby answered again:
    the first answer any client got once the fault was over."""
    answers = sorted(at for c in clients for _, at in c.answered)
    for r in w.recoveries:
        if r.back is None:
            r.back = next((at for at in answers if at >= r.ended), None)
            r.note = ", a command answered"


def _report(w: World, clients: list[ChaosClient], watcher: Watcher) -> None:
    proposals = sum(len(c.user.of_type("proposed")) for c in clients)
    readies = {str(e["match_id"]) for c in clients for e in c.user.of_type("ready")}
    print(f"\nchaos seed {SEED}: {len(clients)} clients")
    print(summary(clients))
    print(f"`proposed` events received {proposals}; matches started (told `ready`) {len(readies)}")
    print(f"Redis snapshots checked for double bookings: {watcher.snapshots}")
    for line in w.notes:
        print(line)
    for r in w.recoveries:
        print(r.line())
        after = [a for c in clients for sent, a in c.answered if sent >= r.began]
        if after:
            print(
                f"  the first command sent after it began: answered {min(after) - r.began:.1f} s in"
            )


async def test_twenty_clients_through_a_worker_kill_a_redis_pause_and_an_api_restart(
    stack: Stack,
    settings: Settings,
    lkapi: api.LiveKitAPI,
    db_engine: AsyncEngine,
    topic_pool: list[str],
    api_port: int,
) -> None:
    topics = (topic_pool.pop(), topic_pool.pop())
    async with world(stack, settings, lkapi, api_port) as w:
        people = await add_users(db_engine, CLIENTS, "chaos")
        async with connected(w.settings, people):
            clients = [
                ChaosClient(p, random.Random(SEED * 1000 + i), topics) for i, p in enumerate(people)
            ]
            watcher = Watcher(w.store.redis, w.store)
            await _chaos(w, clients, watcher, SEED)
            _recovered(w, clients)
            await _coda(w, clients, topics[0])
            problems = await _settle(w, db_engine, clients)
            _report(w, clients, watcher)
            removed = [c.user.name for c in clients if c.user.removed.is_set()]
            dropped = sum(len(c.reconnects) for c in clients)
            print(f"connections that dropped and came back: {dropped}")
    refused = collections.Counter(
        x.outcome for c in clients for x in c.commands if x.outcome in REFUSED
    )
    assert not watcher.problems, "double bookings during the chaos:\n" + "\n".join(
        watcher.problems[:20]
    )
    assert not problems, "after the settle:\n" + "\n".join(problems[:40])
    assert all(r.back is not None for r in w.recoveries), [r.line() for r in w.recoveries]
    assert not refused, f"commands refused for no good reason: {dict(refused)}"
    assert not removed, f"clients removed from the lobby: {removed}"
