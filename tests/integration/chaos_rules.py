"""The agreement rules of the chaos test, as code: what a client's final `lobby.status` may
say, given the commands it made (and how each ended) and what it was told. The rules are
written out in tests/integration/test_chaos.py's docstring; this module is pure, and the
test gathers the facts it needs from Redis, Postgres and the client."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

TicketKey = tuple[str, str, str | None]
Kind = Literal["none", "queued", "left", "declined", "accepted", "starting"]


@dataclass(frozen=True, slots=True)
class Command:
    """One lobby command as the client saw it, after all its retries."""

    method: str  # lobby.join / lobby.leave / lobby.respond
    payload: dict[str, Any]
    sent_at: float  # epoch seconds, when first sent
    outcome: str  # "ok", a DISCO error name, or "gave_up"
    reply: dict[str, Any] | None = None
    # Codes of the attempts that failed and were sent again (transport, unavailable).
    retried: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Final:
    """A `lobby.status` reply, reduced to what the rules read."""

    kind: Literal["none", "queued", "pending", "started"]
    ticket: TicketKey | None = None
    match_id: str | None = None
    room: str | None = None

    @classmethod
    def of(cls, status: dict[str, Any]) -> Final:
        match, ticket, room = status.get("match"), status.get("ticket"), status.get("room")
        if match is not None:
            pending = match["state"] == "pending"
            return cls(
                "pending" if pending else "started",
                None,
                match["match_id"],
                room["name"] if room else None,
            )
        if ticket is not None:
            return cls("queued", (ticket["topic"], ticket["format"], ticket["side"]))
        return cls("none")


@dataclass(frozen=True, slots=True)
class Facts:
    """What the world says about one client at the end, beyond its own status."""

    # Every proposal made to the client: when (epoch, as Redis recorded it), and the match id
    # when known (a `proposed` event named that partner), else None.
    proposals: tuple[tuple[float, str | None], ...]
    # Matches that started (their discussion row exists) and those still active in Redis.
    started: frozenset[str]
    active: frozenset[str]
    # Matches the client was told failed to open (`cancelled`, reason `failed`).
    failed: frozenset[str] = frozenset()
    # Every `cancelled` event the client received: match id -> `requeued`.
    cancelled: dict[str, bool] = field(default_factory=dict)

    def proposed_since(self, at: float, other_than: str | None = None) -> bool:
        return any(t >= at and (m is None or m != other_than) for t, m in self.proposals)


@dataclass(frozen=True, slots=True)
class Expect:
    """One state the client may be in after its last observation."""

    kind: Kind
    since: float = 0.0
    match_id: str | None = None
    tickets: frozenset[TicketKey] = field(default_factory=frozenset)
    # The match the client last accepted (a leave keeps a started one).
    accepted: str | None = None


def ticket_key(payload: dict[str, Any]) -> TicketKey:
    """The ticket a join asks for, as `lobby.status` shows it (casual: no side)."""
    fmt = payload["format"]
    return (payload["topic"], fmt, None if fmt == "casual" else payload.get("side", "any"))


def expectations(commands: Sequence[Command]) -> list[Expect]:
    """The states the client may end in, from its commands (see the module docstring)."""
    alts = [Expect("none")]
    tickets: frozenset[TicketKey] = frozenset()
    accepted: str | None = None
    for c in commands:
        step = _observe(c, tickets, accepted)
        if step is None:
            continue
        expect, definite = step
        if c.method == "lobby.join":
            key = ticket_key(c.payload)
            tickets = frozenset({key}) if definite else tickets | {key}
            accepted = None if definite else accepted
        if expect.kind in ("accepted", "starting"):
            accepted = expect.match_id
        alts = [expect] if definite else [*alts, expect]
    return alts


def _observe(
    c: Command, tickets: frozenset[TicketKey], accepted: str | None
) -> tuple[Expect, bool] | None:
    """(what the command says the client's state is, whether that is certain), or None when
    the command changed nothing. A command sent again after a failed attempt that then ends
    in an error may have taken effect at the first try: that is a possible state, not a
    certain one."""
    definite = c.outcome in ("ok", "not_queued")
    if not definite and (not c.retried or c.outcome == "invalid_payload"):
        return None
    if c.method == "lobby.join":
        if c.outcome == "not_queued":
            return None
        key = frozenset({ticket_key(c.payload)})
        return Expect("queued", c.sent_at, tickets=key), c.outcome == "ok"
    if c.method == "lobby.leave":
        return Expect("left", c.sent_at, accepted=accepted), definite
    if c.outcome == "not_queued":
        return Expect("declined", c.sent_at), True
    mid, accept = c.payload["match_id"], c.payload["accept"]
    status = c.reply["status"] if c.reply else ("accepted" if accept else "declined")
    kinds: dict[str, Kind] = {"declined": "declined", "starting": "starting"}
    kind = kinds.get(status, "accepted")
    return Expect(kind, c.sent_at, match_id=mid, tickets=tickets), definite


def allows(e: Expect, s: Final, facts: Facts) -> bool:
    """Whether final status `s` agrees with expectation `e`."""
    rules: dict[Kind, Callable[[], bool]] = {
        "none": lambda: s.kind == "none",
        "declined": lambda: s.kind == "none",
        "left": lambda: s.kind == "none" or _started(s, e.accepted),
        "queued": lambda: (
            (s.kind == "queued" and s.ticket in e.tickets)
            or (s.kind == "none" and facts.proposed_since(e.since))
        ),
        "starting": lambda: (
            _started(s, e.match_id) or (s.kind == "none" and e.match_id not in facts.active)
        ),
        "accepted": lambda: _accepted(e, s, facts),
    }
    return rules[e.kind]()


def _started(s: Final, match_id: str | None) -> bool:
    return s.kind == "started" and match_id is not None and s.match_id == match_id


def _accepted(e: Expect, s: Final, facts: Facts) -> bool:
    m = e.match_id
    if _started(s, m) or (s.kind == "queued" and s.ticket in e.tickets):
        return True
    ended = m in facts.started and m not in facts.active
    again = facts.proposed_since(e.since, other_than=m)
    return s.kind == "none" and (ended or again or m in facts.failed)


def judge(
    commands: Sequence[Command], events: Sequence[dict[str, Any]], s: Final, facts: Facts
) -> list[str]:
    """Every disagreement between the final status and the history; [] when they agree."""
    problems = []
    alts = expectations(commands)
    if not any(allows(e, s, facts) for e in alts):
        wanted = " or ".join(_describe(e) for e in alts)
        problems.append(f"status {s} after {wanted}")
    word = last_word(alts[0], facts) if len(alts) == 1 else None
    if word is not None and s.kind != word:
        problems.append(f"status {s} although last told `cancelled` with {word} after it")
    if s.kind == "started" and s.room is None:
        problems.append(f"started match {s.match_id} without a room in the status")
    accepted = {
        c.payload.get("match_id")
        for c in commands
        if c.method == "lobby.respond" and c.payload.get("accept") is True
    }
    for ev in events:
        if ev.get("type") == "ready" and ev.get("match_id") not in accepted:
            problems.append(f"told `ready` for match {ev.get('match_id')} it never accepted")
    return problems


def last_word(e: Expect, facts: Facts) -> Literal["queued", "none"] | None:
    """When the last proposal made to the client after its last observation (or, after an
    accept, the accepted match itself) was cancelled and the client was told so, that
    `cancelled` event says where the client is: queued again (`requeued`) or nowhere."""
    if e.kind not in ("queued", "accepted"):
        return None
    after = [(t, m) for t, m in facts.proposals if t >= e.since]
    if e.kind == "accepted":
        after.append((float("-inf"), e.match_id))
    if not after:
        return None
    latest = max(t for t, _ in after)
    ids = {m for t, m in after if t == latest}
    if len(ids) != 1 or None in ids:
        return None  # not known which match that was
    (mid,) = ids
    if mid not in facts.cancelled:
        return None
    return "queued" if facts.cancelled[mid] else "none"


def _describe(e: Expect) -> str:
    tickets = sorted(e.tickets, key=str)
    return (
        f"{e.kind}(since={e.since:.1f}, match={e.match_id}, tickets={tickets}, "
        f"accepted={e.accepted})"
    )
