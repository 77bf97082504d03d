"""The lobby's live state in Redis. Thin adapter: the rules live in lobby.policy and
lobby.lifecycle; this module only reads snapshots and commits changes atomically.

Keys (one hash tag, so every script runs on Redis Cluster; all keys are declared):
  {p}:queue           HASH user -> ticket JSON (waiting, or held while a match is pending)
  {p}:topicIndex      ZSET (score 0) "topic␟format␟rank␟user": the per-topic/format queue,
                      in lexical order = head first, then longest waiting
  {p}:counts          HASH "topic␟format␟" -> tickets waiting in the index
  {p}:pendingMatches  HASH match id -> match JSON
  {p}:deadlines       ZSET match id -> accept deadline
  {p}:activeMatches   HASH match id -> match JSON
  {p}:rooms           HASH room -> match id (active)
  {p}:matchOf         HASH user -> match id: a person is in at most one match, ever
  {p}:recent          HASH user -> JSON {partner: until} (rematch cooldown)
  {p}:declines        HASH user -> "count|window start"
  {p}:cooldowns       HASH user -> time until which the user may not join
  {p}:seq             HASH user -> last event sequence number sent to that user
  {p}:rate:<user>     counter with a TTL (one key, so no script)

Changes to a match are compare-and-set on the match's version (lifecycle decides from the
version read; `settle` commits only onto that version), so two lobby agents or many RPCs at
once can never match one person twice or apply a transition twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from redis.asyncio import BlockingConnectionPool, Redis

from lobby.lifecycle import Outcome
from lobby.model import SEP, Match, Ticket, user_of_member
from lobby.policy import DECLINE_WINDOW, RATE_LIMIT, RATE_WINDOW, decline_penalty

_JOIN = """
local user = ARGV[1]
local mid = redis.call('HGET', KEYS[4], user)
if mid then return {'busy', mid} end
local cd = tonumber(redis.call('HGET', KEYS[5], user) or '0')
if cd > tonumber(ARGV[5]) then return {'cooldown', tostring(cd)} end
local old = redis.call('HGET', KEYS[1], user)
if old then
  local t = cjson.decode(old)
  if redis.call('ZREM', KEYS[2], t.ix) == 1 then
    if redis.call('HINCRBY', KEYS[3], t.bucket, -1) <= 0 then
      redis.call('HDEL', KEYS[3], t.bucket)
    end
  end
end
redis.call('HSET', KEYS[1], user, ARGV[2])
redis.call('ZADD', KEYS[2], 0, ARGV[3])
local n = redis.call('HINCRBY', KEYS[3], ARGV[4], 1)
local pos = redis.call('ZLEXCOUNT', KEYS[2], '[' .. ARGV[4], '(' .. ARGV[3])
return {'queued', tostring(pos), tostring(n)}
"""

_LEAVE = """
local user = ARGV[1]
local mid = redis.call('HGET', KEYS[4], user)
if mid and redis.call('HEXISTS', KEYS[5], mid) == 1 then return {'pending', mid} end
local old = redis.call('HGET', KEYS[1], user)
if not old then return {'none'} end
local t = cjson.decode(old)
if redis.call('ZREM', KEYS[2], t.ix) == 1 then
  if redis.call('HINCRBY', KEYS[3], t.bucket, -1) <= 0 then
    redis.call('HDEL', KEYS[3], t.bucket)
  end
end
redis.call('HDEL', KEYS[1], user)
return {'left', t.bucket}
"""

# ARGV: now, then per pairing: a, a_member, b, b_member, bucket, match id, match JSON, deadline,
# cooldown-until. A pairing is committed only if both index entries are exactly as the
# snapshot saw them, neither person is in a match, and the pair is not in its cooldown.
_PROPOSE = """
local now = tonumber(ARGV[1])
local out = {}
local function recent_ok(a, b)
  local r = redis.call('HGET', KEYS[7], a)
  if not r then return true end
  local until_ = cjson.decode(r)[b]
  return (not until_) or tonumber(until_) <= now
end
local function remember(a, b, until_)
  local r = redis.call('HGET', KEYS[7], a)
  local m = r and cjson.decode(r) or {}
  local kept = {}
  for k, v in pairs(m) do if tonumber(v) > now then kept[k] = v end end
  kept[b] = until_
  redis.call('HSET', KEYS[7], a, cjson.encode(kept))
end
for i = 2, #ARGV, 9 do
  local a, am, b, bm, bucket = ARGV[i], ARGV[i+1], ARGV[i+2], ARGV[i+3], ARGV[i+4]
  local id = ARGV[i+5]
  if redis.call('ZSCORE', KEYS[2], am) and redis.call('ZSCORE', KEYS[2], bm)
     and redis.call('HEXISTS', KEYS[4], a) == 0 and redis.call('HEXISTS', KEYS[4], b) == 0
     and recent_ok(a, b) and recent_ok(b, a) then
    redis.call('ZREM', KEYS[2], am, bm)
    if redis.call('HINCRBY', KEYS[3], bucket, -2) <= 0 then redis.call('HDEL', KEYS[3], bucket) end
    redis.call('HSET', KEYS[4], a, id, b, id)
    redis.call('HSET', KEYS[5], id, ARGV[i+6])
    redis.call('ZADD', KEYS[6], ARGV[i+7], id)
    remember(a, b, ARGV[i+8])
    remember(b, a, ARGV[i+8])
    out[#out+1] = id
  end
end
return out
"""

# ARGV: id, expected version, kind, match JSON, then counted lists:
#   n, requeued (user, ticket JSON, member, bucket)*, n, dropped users*
_SETTLE = """
local id, kind = ARGV[1], ARGV[3]
local cur = redis.call('HGET', KEYS[1], id)
if not cur then return 'gone' end
local m = cjson.decode(cur)
if tostring(m.version) ~= ARGV[2] then return 'conflict' end
if kind == 'updated' then
  redis.call('HSET', KEYS[1], id, ARGV[4])
  local new = cjson.decode(ARGV[4])
  redis.call('ZADD', KEYS[3], new.expires_at, id)
  return 'ok'
end
redis.call('HDEL', KEYS[1], id)
redis.call('ZREM', KEYS[3], id)
if kind == 'started' then
  redis.call('HSET', KEYS[7], id, ARGV[4])
  redis.call('HSET', KEYS[8], m.room, id)
  for _, u in ipairs(m.users) do redis.call('HDEL', KEYS[4], u) end
  return 'ok'
end
for _, u in ipairs(m.users) do
  if redis.call('HGET', KEYS[2], u) == id then redis.call('HDEL', KEYS[2], u) end
end
local i = 5
local n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  local u, t, mem, b = ARGV[i], ARGV[i+1], ARGV[i+2], ARGV[i+3]
  i = i + 4
  redis.call('HSET', KEYS[4], u, t)
  redis.call('ZADD', KEYS[5], 0, mem)
  redis.call('HINCRBY', KEYS[6], b, 1)
end
n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do redis.call('HDEL', KEYS[4], ARGV[i]); i = i + 1 end
return 'ok'
"""

_FINISH_ROOM = """
local id = redis.call('HGET', KEYS[1], ARGV[1])
if not id then return 0 end
local cur = redis.call('HGET', KEYS[2], id)
if cur then
  for _, u in ipairs(cjson.decode(cur).users) do
    if redis.call('HGET', KEYS[3], u) == id then redis.call('HDEL', KEYS[3], u) end
  end
end
redis.call('HDEL', KEYS[2], id)
redis.call('HDEL', KEYS[1], ARGV[1])
return 1
"""

_MARK_LIVE = """
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
"""

_RELEASE = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 1
end
return 0
"""

# ARGV: user, now, window, penalty-after-count table is applied in Python (decline_penalty).
_DECLINE = """
local raw = redis.call('HGET', KEYS[1], ARGV[1])
local now = tonumber(ARGV[2])
local count, since = 0, now
if raw then
  local sep = string.find(raw, '|', 1, true)
  count, since = tonumber(string.sub(raw, 1, sep - 1)), tonumber(string.sub(raw, sep + 1))
  if now - since > tonumber(ARGV[3]) then count, since = 0, now end
end
count = count + 1
redis.call('HSET', KEYS[1], ARGV[1], count .. '|' .. since)
return count
"""


@dataclass(frozen=True, slots=True)
class Joined:
    position: int
    waiting: int


@dataclass(frozen=True, slots=True)
class Snapshot:
    tickets: list[Ticket]
    members: dict[str, str]
    recent: dict[str, dict[str, float]]


SettleResult = Literal["ok", "gone", "conflict"]


class LobbyStore:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix
        names = ["queue", "topicIndex", "counts", "pendingMatches", "deadlines"]
        names += ["activeMatches", "rooms", "matchOf", "recent", "declines", "cooldowns", "seq"]
        self.keys = {n: f"{{{prefix}}}:{n}" for n in names}
        self._join = redis.register_script(_JOIN)
        self._leave = redis.register_script(_LEAVE)
        self._propose = redis.register_script(_PROPOSE)
        self._settle = redis.register_script(_SETTLE)
        self._finish = redis.register_script(_FINISH_ROOM)
        self._mark_live = redis.register_script(_MARK_LIVE)
        self._decline = redis.register_script(_DECLINE)
        self._release = redis.register_script(_RELEASE)

    # -- tickets ---------------------------------------------------------------------------
    async def join(self, ticket: Ticket, now: float) -> Joined | tuple[str, str]:
        """Queue (or replace) the ticket. Returns the position, or ('busy', match id) /
        ('cooldown', until) when the person may not join now."""
        k = self.keys
        res = await self._join(
            keys=[k["queue"], k["topicIndex"], k["counts"], k["matchOf"], k["cooldowns"]],
            args=[ticket.user, ticket.to_json(), ticket.member, ticket.bucket, now],
        )
        if res[0] == "queued":
            return Joined(position=int(res[1]), waiting=int(res[2]))
        return (str(res[0]), str(res[1]))

    async def leave(self, user: str) -> tuple[str, str]:
        """Remove a waiting ticket: ('left', bucket), ('none', '') or ('pending', match id) when
        the ticket is held by a pending match (the caller then runs `lifecycle.leave`)."""
        k = self.keys
        res = await self._leave(
            keys=[k["queue"], k["topicIndex"], k["counts"], k["matchOf"], k["pendingMatches"]],
            args=[user],
        )
        return (str(res[0]), str(res[1]) if len(res) > 1 else "")

    async def ticket(self, user: str) -> Ticket | None:
        raw = await self.redis.hget(self.keys["queue"], user)
        return Ticket.from_json(_text(raw)) if raw else None

    async def position(self, ticket: Ticket) -> Joined | None:
        async with self.redis.pipeline(transaction=True) as p:
            p.zscore(self.keys["topicIndex"], ticket.member)
            p.zlexcount(self.keys["topicIndex"], "[" + ticket.bucket, "(" + ticket.member)
            p.hget(self.keys["counts"], ticket.bucket)
            score, pos, n = await p.execute()
        if score is None:
            return None
        return Joined(position=int(pos), waiting=int(n or 0))

    async def counts(self) -> dict[str, dict[str, int]]:
        raw = await self.redis.hgetall(self.keys["counts"])
        out: dict[str, dict[str, int]] = {}
        for bucket, n in raw.items():
            topic, fmt, _ = _text(bucket).split(SEP)
            out.setdefault(topic, {})[fmt] = int(n)
        return out

    async def buckets(self, minimum: int = 2) -> list[str]:
        raw = await self.redis.hgetall(self.keys["counts"])
        return [_text(b) for b, n in raw.items() if int(n) >= minimum]

    async def waiting_users(self, bucket: str, limit: int = 1000) -> list[Ticket]:
        snap = await self.snapshot(bucket, limit)
        return snap.tickets

    # -- pairing ---------------------------------------------------------------------------
    async def snapshot(self, bucket: str, limit: int) -> Snapshot:
        """The head of one topic/format queue. Not a lock: `propose` re-checks everything."""
        found = await self.redis.zrangebylex(
            self.keys["topicIndex"], "[" + bucket, "[" + bucket + "\xff", 0, limit
        )
        if not found:
            return Snapshot([], {}, {})
        members = [_text(m) for m in found]
        users = [user_of_member(m) for m in members]
        async with self.redis.pipeline(transaction=False) as p:
            p.hmget(self.keys["queue"], users)
            p.hmget(self.keys["recent"], users)
            raw_tickets, raw_recent = await p.execute()
        tickets, by_user = [], {}
        for user, member, raw in zip(users, members, raw_tickets, strict=True):
            if raw is not None:
                t = Ticket.from_json(raw)
                if t.member == member:
                    tickets.append(t)
                    by_user[user] = member
        recent = {
            u: {p: float(x) for p, x in json.loads(r).items()}
            for u, r in zip(users, raw_recent, strict=True)
            if r
        }
        return Snapshot(tickets, by_user, recent)

    async def propose(self, matches: Sequence[Match], now: float, cooldown: float) -> list[str]:
        """Commit pending matches; returns the ids that were committed (the others lost a race)."""
        if not matches:
            return []
        args: list[Any] = [now]
        for m in matches:
            a, b = m.seats
            args += [a.user, a.ticket.member, b.user, b.ticket.member, a.ticket.bucket]
            args += [m.id, m.to_json(), m.expires_at, now + cooldown]
        k = self.keys
        keys = [k["queue"], k["topicIndex"], k["counts"], k["matchOf"]]
        keys += [k["pendingMatches"], k["deadlines"], k["recent"]]
        return [str(x) for x in await self._propose(keys=keys, args=args)]

    # -- matches ---------------------------------------------------------------------------
    async def match_of(self, user: str) -> str | None:
        mid = await self.redis.hget(self.keys["matchOf"], user)
        return _text(mid) if mid else None

    async def pending(self, match_id: str) -> Match | None:
        raw = await self.redis.hget(self.keys["pendingMatches"], match_id)
        return Match.from_json(_text(raw)) if raw else None

    async def active(self, match_id: str) -> Match | None:
        raw = await self.redis.hget(self.keys["activeMatches"], match_id)
        return Match.from_json(_text(raw)) if raw else None

    async def all_pending(self) -> list[Match]:
        raw = await self.redis.hvals(self.keys["pendingMatches"])
        return [Match.from_json(_text(r)) for r in raw]

    async def all_active(self) -> list[Match]:
        raw = await self.redis.hvals(self.keys["activeMatches"])
        return [Match.from_json(_text(r)) for r in raw]

    async def due(self, now: float) -> list[str]:
        return [str(x) for x in await self.redis.zrangebyscore(self.keys["deadlines"], "-inf", now)]

    async def next_deadline(self) -> float | None:
        first = await self.redis.zrange(self.keys["deadlines"], 0, 0, withscores=True)
        return float(first[0][1]) if first else None

    async def settle(self, before: Match, outcome: Outcome) -> SettleResult:
        """Commit a lifecycle outcome onto the match version it was computed from."""
        if outcome.kind == "unchanged":
            return "ok"
        args: list[Any] = [before.id, before.version, outcome.kind, outcome.match.to_json()]
        requeue = [s.ticket.at_head() for s in before.seats if s.user in outcome.requeue]
        args.append(len(requeue))
        for t in requeue:
            args += [t.user, t.to_json(), t.member, t.bucket]
        args += [len(outcome.drop), *outcome.drop]
        k = self.keys
        keys = [k["pendingMatches"], k["matchOf"], k["deadlines"], k["queue"], k["topicIndex"]]
        keys += [k["counts"], k["activeMatches"], k["rooms"]]
        res: SettleResult = await self._settle(keys=keys, args=args)
        return res

    async def mark_live(self, match: Match) -> bool:
        return bool(
            await self._mark_live(
                keys=[self.keys["activeMatches"]], args=[match.id, match.to_json()]
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

    # -- declines, rate limits, event sequence ---------------------------------------------
    async def note_decline(self, user: str, now: float) -> int:
        """Count a decline; returns the cooldown in seconds it earned (0 for none)."""
        count = int(
            await self._decline(keys=[self.keys["declines"]], args=[user, now, DECLINE_WINDOW])
        )
        penalty = decline_penalty(count)
        if penalty:
            await self.redis.hset(self.keys["cooldowns"], user, now + penalty)
            await self.redis.hdel(self.keys["declines"], user)
        return penalty

    async def hit_rate(self, user: str) -> int:
        """Count a command; returns seconds to wait when over the limit, else 0."""
        key = f"{{{self.prefix}}}:rate:{user}"
        async with self.redis.pipeline(transaction=True) as p:
            p.incr(key)
            p.expire(key, RATE_WINDOW, nx=True)
            p.ttl(key)
            count, _, ttl = await p.execute()
        return max(1, int(ttl)) if int(count) > RATE_LIMIT else 0

    async def next_seqs(self, users: Iterable[str]) -> dict[str, int]:
        users = list(users)
        async with self.redis.pipeline(transaction=True) as p:
            for u in users:
                p.hincrby(self.keys["seq"], u, 1)
            seqs = await p.execute()
        return {u: int(s) for u, s in zip(users, seqs, strict=True)}

    async def queued_users(self) -> list[str]:
        return [str(u) for u in await self.redis.hkeys(self.keys["queue"])]


def open_redis(url: str, max_connections: int = 64) -> Redis:
    """A client whose pool waits for a free connection instead of failing under a burst."""
    pool = BlockingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=10, decode_responses=True
    )
    return Redis.from_pool(pool)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
