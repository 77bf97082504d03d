"""How the Redis store writes the lobby's values (lobby.model) and reads them back.

- A ticket is its index member, `topic␟format␟rank␟user␟side␟name`, which is all the store
  keeps of it. The rank (head flag, then the join time in milliseconds, fixed width) makes
  lexical order head first, then oldest, then user: the order `lobby.policy` pairs in, so
  Redis keeps each queue sorted for free.
- A match is JSON whose seats hold their tickets' members; the store's scripts read its
  `version`, `room`, `users` and `expires_at`.

Fast on purpose, and only here: a pairing round decodes every ticket at the heads of its
queues and encodes every match it proposes, hundreds of each (bench/pairing.py). So a match is
written directly rather than through the generic JSON encoder (whose set-up per value costs
more than the values), the times a round's matches share are written once, and a `Codec`
remembers the member of each ticket it read, which the round writes back in its proposals.
tests/unit/test_lobby_codec.py holds all of it to the plain reading: what `json.dumps` writes,
and a round trip for any value.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable
from json.encoder import encode_basestring_ascii as _str
from typing import Any

from lobby.model import SEP, Match, Seat, Ticket

# A ticket's side in its index member ("-": casual, no side), and back.
_SIDE_CODE: dict[str | None, str] = {None: "-", "pro": "pro", "con": "con", "any": "any"}
_CODE_SIDE: dict[str, str | None] = {code: side for side, code in _SIDE_CODE.items()}
# A seat's side and a match's state as JSON, so the common values skip the string encoder.
_SIDE_JSON: dict[str | None, str] = {None: "null", "pro": '"pro"', "con": '"con"', "any": '"any"'}
_STATE_JSON = {s: f'"{s}"' for s in ("pending", "starting", "live")}
# How `repr` writes the floats JSON cannot hold.
_NOT_FINITE = frozenset(("inf", "-inf", "nan"))


def member(ticket: Ticket) -> str:
    """The ticket's index member; ValueError for a side no ticket has, a join time that is not
    a number, or a field holding the separator."""
    side = _SIDE_CODE.get(ticket.side, "")
    if not side:
        raise ValueError(f"not a ticket side: {ticket.side!r}")
    if not math.isfinite(ticket.joined_at):
        raise ValueError("a ticket's join time is not finite")
    ms = max(0, round(ticket.joined_at * 1000))
    rank = f"{'0' if ticket.head else '1'}{ms:015d}"
    text = SEP.join((ticket.topic, ticket.format, rank, ticket.user, side, ticket.name))
    if text.count(SEP) != 5:
        raise ValueError("a ticket field holds the index separator")
    return text


def ticket(member: str) -> Ticket:
    """The ticket an index member holds (its join time to the millisecond)."""
    try:
        topic, format_id, rank, user, side, name = member.split(SEP)
        head, ms = rank[0] == "0", int(rank[1:])
        side_value = _CODE_SIDE[side]
    except (IndexError, KeyError, ValueError):
        raise ValueError(f"not a ticket index entry: {member!r}") from None
    return Ticket(user, name, topic, format_id, side_value, ms / 1000, head)


def _time(t: float) -> str:
    """A time as JSON (what `json.dumps` writes), memoised: the matches of one pairing round
    share their creation time and deadline. Zero is written afresh: the memory cannot tell
    0.0 from -0.0, which are equal."""
    return _time_text(t) if t else _time_text.__wrapped__(t)


@functools.lru_cache(maxsize=64)
def _time_text(t: float) -> str:
    text = repr(float(t))
    if text in _NOT_FINITE:
        raise ValueError("a match time is not finite")
    return text


def _seat(seat: Seat, member: str) -> str:
    side = _SIDE_JSON.get(seat.side) or _str(str(seat.side))
    accepted = "true" if seat.accepted else "false"
    return f'{{"m":{_str(member)},"side":{side},"accepted":{accepted}}}'


def match_json(match: Match, members: Callable[[Ticket], str] = member) -> str:
    """What `json.dumps(shape, separators=(",", ":"))` writes for the match, written directly;
    `members` gives each seat's ticket member."""
    a, b = match.seats
    return (
        f'{{"id":{_str(match.id)},"room":{_str(match.room)},"topic":{_str(match.topic)},'
        f'"format":{_str(match.format)},'
        f'"seats":[{_seat(a, members(a.ticket))},{_seat(b, members(b.ticket))}],'
        f'"created_at":{_time(match.created_at)},"expires_at":{_time(match.expires_at)},'
        f'"version":{int(match.version)},'
        f'"state":{_STATE_JSON.get(match.state) or _str(match.state)},'
        f'"users":[{_str(a.ticket.user)},{_str(b.ticket.user)}]}}'
    )


def match(text: str) -> Match:
    """The match a `match_json` text holds; ValueError for anything else."""
    try:
        d: dict[str, Any] = json.loads(text)
        a, b = (Seat(ticket(s["m"]), s["side"], bool(s["accepted"])) for s in d["seats"])
        return Match(
            id=d["id"],
            room=d["room"],
            topic=d["topic"],
            format=d["format"],
            seats=(a, b),
            created_at=float(d["created_at"]),
            expires_at=float(d["expires_at"]),
            version=int(d["version"]),
            state=d["state"],
        )
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"not a stored match: {text[:200]!r}") from e


class Codec:
    """The functions above for one store, remembering the member of each ticket it read: a
    pairing round proposes the tickets it has just read and would otherwise encode each one
    again. The memory is keyed by the ticket object (its id, checked against the ticket it
    holds, which keeps the id from being reused) and cleared once it holds `size` tickets."""

    def __init__(self, size: int = 8192) -> None:
        self._size = size
        self._known: dict[int, tuple[Ticket, str]] = {}

    def ticket(self, member: str) -> Ticket:
        found = ticket(member)
        if len(self._known) >= self._size:
            self._known.clear()
        self._known[id(found)] = (found, member)
        return found

    def member(self, t: Ticket) -> str:
        known = self._known.get(id(t))
        if known is not None and known[0] is t:
            return known[1]
        return member(t)

    def match_json(self, m: Match) -> str:
        return match_json(m, self.member)
