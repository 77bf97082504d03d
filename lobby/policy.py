"""Who is paired with whom, and the small rules around it. Pure: time and randomness are
arguments (`pair(waiting, now, rng)`), so tests are tables and the store stays a thin adapter.

Rules: same topic and format; debates pair opposite sides, `any` fits either and
two `any` get sides by a fair coin; longest waiting first (tickets put back at the head go
first); never a blocked pair; no second match of a pair within the rematch cooldown.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from lobby.model import Ticket

# How far past the oldest ticket the policy looks for a partner; bounds the work per ticket
# when many tickets cannot pair (everyone on the same debate side, blocks).
WINDOW = 64
# A pairing batch: queue heads of at most PAIR_HEAD tickets, about PAIR_BATCH tickets in all,
# PAIR_CONCURRENCY batches at once (see `batches`; bench/pairing.py measures them: with 3 at
# once Python waited on Redis a quarter of the time. 10 paired about 5% faster in the bench,
# but in the agent it starved the lobby's RPC handlers: in the 100-client crowd test, joins
# went unacknowledged (1501) in four runs of five. The cause was the SDK's native threads
# waiting for the GIL (agent/sdk.py); with that fixed, 10 has not been measured again).
PAIR_HEAD = 500
PAIR_BATCH = 256
PAIR_CONCURRENCY = 6
# Strikes: proposals that failed by a person's own doing (a decline, leaving or disconnecting
# while it was pending, letting it run out unanswered). STRIKE_LIMIT strikes in a row earn
# STRIKE_PENALTY seconds during which the person cannot join, doubled for each further strike,
# up to STRIKE_CAP. A strike follows the previous one in a row when it comes within
# STRIKE_WINDOW seconds after that one (after the cooldown it earned, if any: time spent
# waiting out a cooldown is not time of good behaviour).
STRIKE_LIMIT = 3
STRIKE_WINDOW = 600
STRIKE_PENALTY = 60
STRIKE_CAP = 1800
# Commands per user per RATE_WINDOW seconds before `rate_limited`.
RATE_LIMIT = 30
RATE_WINDOW = 10
# The estimate used before any pair on a topic and format has been seen.
DEFAULT_PAIR_INTERVAL = 30.0


@dataclass(frozen=True, slots=True)
class Pairing:
    a: Ticket
    b: Ticket
    side_a: str | None
    side_b: str | None


def pair_key(a: str, b: str) -> frozenset[str]:
    return frozenset((a, b))


def sides(a: Ticket, b: Ticket, rng: random.Random) -> tuple[str | None, str | None] | None:
    """The sides two tickets would argue, or None when they cannot be paired."""
    if a.side is None or b.side is None:
        return (None, None) if a.side is None and b.side is None else None
    if a.side == "any" and b.side == "any":
        return ("pro", "con") if rng.random() < 0.5 else ("con", "pro")
    if a.side == "any":
        return (_opposite(b.side), b.side)
    if b.side == "any":
        return (a.side, _opposite(a.side))
    return (a.side, b.side) if a.side != b.side else None


def _opposite(side: str) -> str:
    return "con" if side == "pro" else "pro"


def _allowed(
    a: Ticket,
    b: Ticket,
    now: float,
    blocked: Collection[frozenset[str]],
    recent: Mapping[str, Mapping[str, float]],
) -> bool:
    # `blocked` is mostly empty, and building the pair's key costs more than the rest.
    if a.user == b.user or (blocked and pair_key(a.user, b.user) in blocked):
        return False
    cooling = recent.get(a.user)
    return cooling is None or cooling.get(b.user, 0.0) <= now


def _order(t: Ticket) -> tuple[int, float, str]:
    return (0 if t.head else 1, t.joined_at, t.user)


def pair(
    waiting: Sequence[Ticket],
    now: float,
    rng: random.Random,
    *,
    blocked: Collection[frozenset[str]] = frozenset(),
    recent: Mapping[str, Mapping[str, float]] | None = None,
) -> list[Pairing]:
    """Pair the waiting tickets, longest waiting first; each ticket is in at most one pairing.

    `blocked` holds unordered pairs where either blocked the other; `recent[a][b]` is the time
    until which a and b may not be matched again.
    """
    recent = recent or {}
    buckets: dict[tuple[str, str], list[Ticket]] = defaultdict(list)
    for t in waiting:
        buckets[t.topic, t.format].append(t)
    pairings: list[Pairing] = []
    for tickets in buckets.values():
        pairings.extend(_pair_bucket(sorted(tickets, key=_order), now, rng, blocked, recent))
    return pairings


def _pair_bucket(
    tickets: list[Ticket],
    now: float,
    rng: random.Random,
    blocked: Collection[frozenset[str]],
    recent: Mapping[str, Mapping[str, float]],
) -> list[Pairing]:
    taken = [False] * len(tickets)
    out: list[Pairing] = []
    for i, a in enumerate(tickets):
        if taken[i]:
            continue
        for j in range(i + 1, min(len(tickets), i + 1 + WINDOW)):
            b = tickets[j]
            if taken[j] or not _allowed(a, b, now, blocked, recent):
                continue
            chosen = sides(a, b, rng)
            if chosen is not None:
                taken[i] = taken[j] = True
                out.append(Pairing(a, b, chosen[0], chosen[1]))
                break
    return out


def batches(sizes: Mapping[str, int], limit: int, target: int) -> list[list[str]]:
    """Topic/format queues grouped for pairing: those with two tickets or more, in a stable
    order, each group's heads (at most `limit` tickets a queue) adding up to about `target`
    tickets. One snapshot and one commit then serve many small queues, and a long queue gets
    a group of its own."""
    out: list[list[str]] = []
    group: list[str] = []
    total = 0
    for bucket in sorted(b for b, n in sizes.items() if n >= 2):
        n = min(sizes[bucket], limit)
        if group and total + n > target:
            out.append(group)
            group, total = [], 0
        group.append(bucket)
        total += n
    if group:
        out.append(group)
    return out


@dataclass(frozen=True, slots=True)
class Strikes:
    """A person's strikes in a row: how many, and until when the latest one keeps them out
    (the time of that strike when it earned no cooldown)."""

    count: int
    until: float


def strike_penalty(count: int) -> int:
    """Seconds of cooldown the `count`-th strike in a row earns."""
    if count < STRIKE_LIMIT:
        return 0
    return min(STRIKE_PENALTY << min(count - STRIKE_LIMIT, 16), STRIKE_CAP)


def strike(previous: Strikes | None, now: float) -> Strikes:
    """The strikes after one more at `now`: a row continues, or starts again after
    STRIKE_WINDOW seconds without a strike."""
    if previous is None or now - previous.until > STRIKE_WINDOW:
        return Strikes(1, now)
    count = previous.count + 1
    return Strikes(count, max(previous.until, now + strike_penalty(count)))


def cooldown_end(strike_times: Iterable[float], now: float) -> float | None:
    """Until when a person with strikes at these times may not join, seen at `now`; None
    when they may join now."""
    state: Strikes | None = None
    for t in sorted(strike_times):
        state = strike(state, t)
    return state.until if state is not None and state.until > now else None


def estimate_wait(position: int, waiting: int, pair_interval: float | None) -> int:
    """Seconds until this ticket is likely proposed: one pair leaves per interval, so the
    ticket at 0-based `position` waits for the pairs ahead of it (and for a partner if it
    would be left alone)."""
    interval = DEFAULT_PAIR_INTERVAL if pair_interval is None else pair_interval
    ahead = position // 2 + (1 if position + 1 >= waiting and waiting % 2 == 1 else 0)
    return round(ahead * interval)


def smooth_interval(previous: float | None, observed: float, weight: float = 0.2) -> float:
    """Exponentially weighted mean of the seconds between pairings in one bucket."""
    return observed if previous is None else previous + weight * (observed - previous)
