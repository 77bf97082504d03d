"""The lobby's live state in Redis. Thin adapter: the rules live in lobby.policy and
lobby.lifecycle; this module only reads snapshots and commits changes atomically.

Keys (one hash tag, so every script runs on Redis Cluster; all keys are declared):
  {p}:queue           HASH user -> the ticket's index member (waiting, or held while a match
                      is pending); a ticket is its member (lobby.codec)
  {p}:topicIndex      ZSET (score 0) "topic␟format␟rank␟user␟side␟name": the per-topic/format
                      queue, in lexical order = head first, then longest waiting, then user
  {p}:counts          HASH "topic␟format␟" -> tickets waiting in the index
  {p}:pendingMatches  HASH match id -> match JSON (each seat holds its ticket's member)
  {p}:deadlines       ZSET match id -> accept deadline
  {p}:activeMatches   HASH match id -> match JSON
  {p}:rooms           HASH room -> match id (active)
  {p}:matchOf         HASH user -> match id: a person is in at most one match, ever
  {p}:recent          HASH user -> JSON {partner: until} (rematch cooldown)
  {p}:seq:<user>      counter: the last event sequence number sent to that user (TTL
                      `SEQ_TTL`, renewed by each event)
  {p}:rate:<user>     counter with a TTL (one key, so no script)
  {p}:strikes:<user>  STRING "until|count": the user's strikes in a row (policy.Strikes), with
                      a TTL: gone once a new strike would start a fresh row
  {p}:layout          STRING the layout of these keys (`LAYOUT`), written by the first agent

The keys that other modules own (lobby identities and flood bans, the notices' streams, the
debate records, the keeper's lease, heartbeats, sanctions, spectators and the audience) are in
the key map of docs/ARCHITECTURE.md, each with the module that writes it.

Nothing grows without end: every per-user key has a TTL; the shared hashes lose their entries
when the match or ticket they belong to ends, and `lobby.upkeep.prune` (run every minute by
the API's reconciler) removes what an end that never came would have left: `recent` entries
whose cooldowns have all run out, `matchOf` entries whose match is neither pending nor
active, `rooms` entries whose match is not active. Active matches whose room is gone are
ended by the reconciler through `finish_room`, as LiveKit's room_finished webhook would.

Whoever changes what a key holds bumps `LAYOUT`: an agent finding another layout under its
prefix refuses to start (`claim_layout`) rather than misread it; flush the prefix, or migrate.

Changes to a match are compare-and-set on the match's version (lifecycle decides from the
version read; `settle` commits only onto that version), so two lobby agents or many RPCs at
once can never match one person twice or apply a transition twice.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import WatchError

from lobby import codec
from lobby.identities import LobbyIdentities, text
from lobby.lifecycle import Outcome
from lobby.model import SEP, Match, Ticket
from lobby.notices import LobbyNotices
from lobby.policy import RATE_LIMIT, RATE_WINDOW, STRIKE_WINDOW, Strikes, strike
from lobby.store_lua import (
    FINISH_ROOM,
    ISSUE_IDENTITY,
    JOIN,
    LEAVE,
    MARK_LIVE,
    PROPOSE,
    RELEASE,
    SETTLE,
    SNAPSHOT,
)

# Ends each field of a propose batch (see store_lua.PROPOSE).
_RS = "\x1e"
# The layout of the keys above; bump it whenever what a key holds changes.
LAYOUT = "2026-11-seq-keys"


class LayoutMismatch(RuntimeError):
    """Redis holds lobby state this build cannot read."""


@dataclass(frozen=True, slots=True)
class Joined:
    """Where a ticket stands in its queue: its 0-based `position` and how many tickets are
    `waiting` there in all."""

    position: int
    waiting: int


@dataclass(frozen=True, slots=True)
class Snapshot:
    # In index order: head first, then longest waiting.
    tickets: list[Ticket]
    # user -> partner -> time until which the two may not be matched again
    recent: dict[str, dict[str, float]]


SettleResult = Literal["ok", "gone", "conflict"]

# A person's event counter outlives any lobby connection of theirs (identities last the lobby
# token's life and are renewed while connected; a day is far beyond that): gone a day after
# their last event, it starts again at 1 for a connection that cannot have seen the old one.
SEQ_TTL = 24 * 3600


class LobbyStore(LobbyIdentities, LobbyNotices):
    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix
        names = ["queue", "topicIndex", "counts", "pendingMatches", "deadlines"]
        names += ["activeMatches", "rooms", "matchOf", "recent"]
        names += ["layout"]
        self.keys = {n: f"{{{prefix}}}:{n}" for n in names}
        self.codec = codec.Codec()
        self._join = redis.register_script(JOIN)
        self._leave = redis.register_script(LEAVE)
        self._snapshot = redis.register_script(SNAPSHOT)
        self._propose = redis.register_script(PROPOSE)
        self._settle = redis.register_script(SETTLE)
        self._finish = redis.register_script(FINISH_ROOM)
        self._mark_live = redis.register_script(MARK_LIVE)
        self._release = redis.register_script(RELEASE)
        self._issue_identity = redis.register_script(ISSUE_IDENTITY)

    async def claim_layout(self) -> None:
        """Mark this prefix as holding `LAYOUT`, or raise LayoutMismatch (changing nothing)
        when it already holds another. State from before the mark is taken as this layout."""
        await self.redis.set(self.keys["layout"], LAYOUT, nx=True)
        found = await self.redis.get(self.keys["layout"])
        if found is not None and text(found) != LAYOUT:
            raise LayoutMismatch(
                f"Redis prefix {self.prefix!r} holds lobby state of layout {text(found)!r}; "
                f"this build reads {LAYOUT!r}. Flush the prefix (the lobby's waiting people "
                "and pending matches are lost; they join again) or migrate it."
            )

    # -- tickets ---------------------------------------------------------------------------
    async def join(self, ticket: Ticket, now: float) -> Joined | tuple[str, str]:
        """Queue (or replace) the ticket. Returns the position, or ('busy', match id) /
        ('cooldown', until) when the person may not join now."""
        res = await self._join(
            keys=self.join_keys(ticket.user),
            args=[ticket.user, self.codec.member(ticket), ticket.bucket, now],
        )
        if res[0] == "queued":
            return Joined(position=int(res[1]), waiting=int(res[2]))
        return (str(res[0]), str(res[1]))

    def join_keys(self, user: str) -> list[str]:
        k = self.keys
        return [k["queue"], k["topicIndex"], k["counts"], k["matchOf"], self._strikes_key(user)]

    async def leave(self, user: str) -> tuple[str, str]:
        """Remove a waiting ticket: ('left', bucket), ('none', '') or ('pending', match id) when
        the ticket is held by a pending match (the caller then runs `lifecycle.leave`)."""
        k = self.keys
        res = await self._leave(
            keys=[k["queue"], k["topicIndex"], k["counts"], k["matchOf"], k["pendingMatches"]],
            args=[user],
        )
        # text(): the API's Redis client does not decode replies (the agents' does).
        return (text(res[0]), text(res[1]) if len(res) > 1 else "")

    async def ticket(self, user: str) -> Ticket | None:
        raw = await self.redis.hget(self.keys["queue"], user)
        return codec.ticket(text(raw)) if raw else None

    async def position(self, ticket: Ticket) -> Joined | None:
        member = self.codec.member(ticket)
        async with self.redis.pipeline(transaction=True) as p:
            p.zscore(self.keys["topicIndex"], member)
            p.zlexcount(self.keys["topicIndex"], "[" + ticket.bucket, "(" + member)
            p.hget(self.keys["counts"], ticket.bucket)
            score, pos, n = await p.execute()
        if score is None:
            return None
        return Joined(position=int(pos), waiting=int(n or 0))

    async def counts(self) -> dict[str, dict[str, int]]:
        raw = await self.redis.hgetall(self.keys["counts"])
        out: dict[str, dict[str, int]] = {}
        for bucket, n in raw.items():
            topic, fmt, _ = text(bucket).split(SEP)
            out.setdefault(topic, {})[fmt] = int(n)
        return out

    async def sizes(self, buckets: Iterable[str] | None = None) -> dict[str, int]:
        """Tickets waiting per topic/format queue: every queue, or just these."""
        key = self.keys["counts"]
        if buckets is None:
            raw = await self.redis.hgetall(key)
            return {text(b): int(n) for b, n in raw.items()}
        wanted = list(buckets)
        if not wanted:
            return {}
        found = await self.redis.hmget(key, wanted)
        return {b: int(n) for b, n in zip(wanted, found, strict=True) if n is not None}

    async def waiting_users(self, bucket: str, limit: int = 1000) -> list[Ticket]:
        snap = await self.snapshot([bucket], limit)
        return snap.tickets

    # -- pairing ---------------------------------------------------------------------------
    async def snapshot(self, buckets: Sequence[str], limit: int) -> Snapshot:
        """The heads (up to `limit` tickets each) of these topic/format queues, in one call.
        Not a lock: `propose` re-checks everything."""
        if not buckets:
            return Snapshot([], {})
        k = self.keys
        members, raw_recent = await self._snapshot(
            keys=[k["topicIndex"], k["recent"]], args=[limit, *buckets]
        )
        tickets = self.codec.tickets(members)
        recent = {
            t.user: {p: float(x) for p, x in json.loads(r).items()}
            for t, r in zip(tickets, raw_recent, strict=True)
            if r
        }
        return Snapshot(tickets, recent)

    async def propose(self, matches: Sequence[Match], now: float, cooldown: float) -> list[str]:
        """Commit pending matches in one script call; returns the ids that were committed (the
        others lost a race: a ticket changed or left, or someone was matched meanwhile)."""
        if not matches:
            return []
        fields = self.codec.proposals(matches)
        batch = _RS.join(fields) + _RS
        if batch.count(_RS) != len(fields):
            raise ValueError("a user id, ticket or match id holds the record separator")
        deadlines = {m.expires_at for m in matches}
        if len(deadlines) != 1:
            raise ValueError("a proposal batch shares one accept deadline")
        k = self.keys
        keys = [k["topicIndex"], k["counts"], k["matchOf"], k["pendingMatches"]]
        keys += [k["deadlines"], k["recent"]]
        args = [repr(float(now)), repr(float(now + cooldown)), repr(float(deadlines.pop())), batch]
        done = await self._propose(keys=keys, args=args)
        return [str(x) for x in done]

    # -- matches ---------------------------------------------------------------------------
    async def match_of(self, user: str) -> str | None:
        mid = await self.redis.hget(self.keys["matchOf"], user)
        return text(mid) if mid else None

    async def pending(self, match_id: str) -> Match | None:
        raw = await self.redis.hget(self.keys["pendingMatches"], match_id)
        return codec.match(text(raw)) if raw else None

    async def active(self, match_id: str) -> Match | None:
        raw = await self.redis.hget(self.keys["activeMatches"], match_id)
        return codec.match(text(raw)) if raw else None

    async def all_pending(self) -> list[Match]:
        raw = await self.redis.hvals(self.keys["pendingMatches"])
        return [codec.match(text(r)) for r in raw]

    async def all_active(self) -> list[Match]:
        raw = await self.redis.hvals(self.keys["activeMatches"])
        return [codec.match(text(r)) for r in raw]

    async def due(self, now: float) -> list[str]:
        return [str(x) for x in await self.redis.zrangebyscore(self.keys["deadlines"], "-inf", now)]

    async def next_deadline(self) -> float | None:
        first = await self.redis.zrange(self.keys["deadlines"], 0, 0, withscores=True)
        return float(first[0][1]) if first else None

    async def settle(self, before: Match, outcome: Outcome) -> SettleResult:
        """Commit a lifecycle outcome onto the match version it was computed from."""
        if outcome.kind == "unchanged":
            return "ok"
        args: list[Any] = [
            before.id,
            before.version,
            outcome.kind,
            self.codec.match_json(outcome.match),
        ]
        requeue = [s.ticket.at_head() for s in before.seats if s.user in outcome.requeue]
        args.append(len(requeue))
        for t in requeue:
            args += [t.user, self.codec.member(t)]
        args += [len(outcome.drop), *outcome.drop]
        k = self.keys
        keys = [k["pendingMatches"], k["matchOf"], k["deadlines"], k["queue"], k["topicIndex"]]
        keys += [k["counts"], k["activeMatches"], k["rooms"]]
        res = text(await self._settle(keys=keys, args=args))
        assert res in ("ok", "gone", "conflict"), res
        return cast(SettleResult, res)

    async def mark_live(self, match: Match) -> bool:
        return bool(
            await self._mark_live(
                keys=[self.keys["activeMatches"]], args=[match.id, self.codec.match_json(match)]
            )
        )

    async def finish_room(self, room: str) -> None:
        """Clear a discussion room's live state (LiveKit's room_finished webhook calls this):
        both people may join the lobby again. Idempotent."""
        k = self.keys
        await self._finish(keys=[k["rooms"], k["activeMatches"], k["matchOf"]], args=[room])

    async def release(self, user: str, match_id: str) -> bool:
        """Let one person of an active match join the lobby again (they never went to the room
        or left it), without touching the partner. Only if they are still in that match."""
        return bool(await self._release(keys=[self.keys["matchOf"]], args=[user, match_id]))

    # -- strikes, rate limits, event sequence ----------------------------------------------
    def _strikes_key(self, user: str) -> str:
        return f"{{{self.prefix}}}:strikes:{user}"

    async def note_strike(self, user: str, now: float) -> float:
        """Count a proposal that failed by this user's doing (policy.strike); returns the time
        until which they may not join (`now` when this strike earned no cooldown). A
        WATCH/MULTI transaction, so strikes at once for one person all count."""
        key = self._strikes_key(user)
        async with self.redis.pipeline(transaction=True) as p:
            while True:
                try:
                    await p.watch(key)
                    state = strike(_strikes(await p.get(key)), now)
                    # Kept while a next strike would still continue the row.
                    ttl = max(1, math.ceil(state.until - now + STRIKE_WINDOW))
                    p.multi()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
                    p.set(key, f"{state.until!r}|{state.count}", ex=ttl)
                    await p.execute()
                    return state.until
                except WatchError:
                    continue

    async def hit_rate(self, user: str) -> int:
        """Count a command; returns seconds to wait when over the limit, else 0."""
        key = f"{{{self.prefix}}}:rate:{user}"
        async with self.redis.pipeline(transaction=True) as p:
            p.incr(key)
            p.expire(key, RATE_WINDOW, nx=True)
            p.ttl(key)
            count, _, ttl = await p.execute()
        return max(1, int(ttl)) if int(count) > RATE_LIMIT else 0

    async def next_seqs(
        self, users: Iterable[str], counts: Mapping[str, int] | None = None
    ) -> dict[str, int]:
        """Each user's next event number, taking `counts[user]` numbers in a row (one when not
        given): the first of them."""
        users = list(users)
        wanted = [1 if counts is None else counts[u] for u in users]
        async with self.redis.pipeline(transaction=True) as p:
            for u, n in zip(users, wanted, strict=True):
                key = f"{{{self.prefix}}}:seq:{u}"
                p.incrby(key, n)
                p.expire(key, SEQ_TTL)
            found = await p.execute()
        return {u: int(found[2 * i]) - wanted[i] + 1 for i, u in enumerate(users)}

    async def queued_users(self) -> list[str]:
        return [str(u) for u in await self.redis.hkeys(self.keys["queue"])]


def open_redis(url: str, max_connections: int = 64, timeout: float = 2.0) -> Redis:
    """A client whose pool waits (a while) for a free connection instead of failing under a
    burst, and whose every connect and reply is bounded by `timeout` seconds: a Redis that
    stops answering (paused, or gone without closing its connections) fails calls with
    TimeoutError/ConnectionError instead of hanging them. An idle connection is checked
    with a PING before it is used again, and a call on a connection found closed (after a
    Redis restart every pooled one is) is tried once more on a fresh one; a timeout is
    never retried (the caller decides)."""
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=max(5.0, timeout),
        decode_responses=True,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        socket_keepalive=True,
        health_check_interval=15,
        retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
        retry_on_error=[RedisConnectionError],
    )
    return Redis.from_pool(pool)


def _strikes(raw: bytes | str | None) -> Strikes | None:
    if raw is None:
        return None
    until, count = text(raw).split("|")
    return Strikes(int(count), float(until))
