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

import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import fields
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
    return tickets((member,))[0]


def tickets(members: Iterable[str]) -> list[Ticket]:
    """The tickets these index members hold: one loop, as a snapshot decodes hundreds. Each is
    built through the slots' setters rather than the dataclass __init__, which goes through
    object.__setattr__ once per field; the values are the ones `Ticket(...)` would hold, as
    the round-trip tests check."""
    set_user, set_name, set_topic, set_format, set_side, set_joined, set_head = _TICKET_SET
    new, sides, out = object.__new__, _CODE_SIDE, []
    for member in members:
        try:
            topic, format_id, rank, user, side, name = member.split(SEP)
            head, ms = rank[0] == "0", int(rank[1:])
            side_value = sides[side]
        except (IndexError, KeyError, ValueError):
            raise ValueError(f"not a ticket index entry: {member!r}") from None
        t: Ticket = new(Ticket)
        set_user(t, user)
        set_name(t, name)
        set_topic(t, topic)
        set_format(t, format_id)
        set_side(t, side_value)
        set_joined(t, ms / 1000)
        set_head(t, head)
        out.append(t)
    return out


# The slot setters of Ticket, in field order (a field added to Ticket fails the unpacking
# above until it is decoded too).
_TICKET_SET: tuple[Callable[[Ticket, Any], None], ...] = tuple(
    getattr(Ticket, f.name).__set__ for f in fields(Ticket)
)


def _time(t: float) -> str:
    """A time as JSON: what `json.dumps` writes."""
    text = repr(float(t))
    if text in _NOT_FINITE:
        raise ValueError("a match time is not finite")
    return text


def match_json(match: Match) -> str:
    """What `json.dumps(shape, separators=(",", ":"))` writes for the match (its seats holding
    their tickets' members), written directly."""
    a, b = match.seats
    times = _time(match.created_at), _time(match.expires_at)
    return _match_json(match, member(a.ticket), member(b.ticket), times)


def _match_json(match: Match, member_a: str, member_b: str, times: tuple[str, str]) -> str:
    a, b = match.seats
    return (
        f'{{"id":{_str(match.id)},"room":{_str(match.room)},"topic":{_str(match.topic)},'
        f'"format":{_str(match.format)},"seats":['
        f'{{"m":{_str(member_a)},"side":{_SIDE_JSON.get(a.side) or _str(str(a.side))},'
        f'"accepted":{"true" if a.accepted else "false"}}},'
        f'{{"m":{_str(member_b)},"side":{_SIDE_JSON.get(b.side) or _str(str(b.side))},'
        f'"accepted":{"true" if b.accepted else "false"}}}],'
        f'"created_at":{times[0]},"expires_at":{times[1]},'
        f'"version":{int(match.version)},'
        f'"state":{_STATE_JSON.get(match.state) or _str(match.state)},'
        f'"users":[{_str(a.ticket.user)},{_str(b.ticket.user)}]}}'
    )


def match(text: str) -> Match:
    """The match a `match_json` text holds; ValueError for anything else."""
    try:
        d: dict[str, Any] = json.loads(text)
        seats = d["seats"]
        ta, tb = tickets([s["m"] for s in seats])
        a, b = (
            Seat(t, s["side"], bool(s["accepted"])) for t, s in zip((ta, tb), seats, strict=True)
        )
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
    again. The memory is keyed by the ticket object's id and holds the tickets themselves, so
    no id it knows can be reused by another object; it is cleared once it holds `size`
    tickets."""

    def __init__(self, size: int = 8192) -> None:
        self._size = size
        self._known: dict[int, str] = {}
        self._held: list[Ticket] = []

    def tickets(self, members: Sequence[str]) -> list[Ticket]:
        """The tickets these index members hold, remembered with their members."""
        found = tickets(members)
        if len(self._held) + len(found) > self._size:
            self._known.clear()
            self._held.clear()
        self._known.update(zip(map(id, found), members, strict=True))
        self._held += found
        return found

    def member(self, t: Ticket) -> str:
        return self._known.get(id(t)) or member(t)

    def match_json(self, m: Match) -> str:
        a, b = m.seats
        times = _time(m.created_at), _time(m.expires_at)
        return _match_json(m, self.member(a.ticket), self.member(b.ticket), times)

    def proposals(self, matches: Iterable[Match]) -> list[str]:
        """A propose batch's fields (see lobby.store_lua.PROPOSE): per match, each person and
        their ticket's member, then the match's id and JSON. The matches of a batch share
        their times (the very same float objects), which are written once."""
        out: list[str] = []
        known = self._known
        created_at = expires_at = math.nan
        times = ("", "")
        for m in matches:
            a, b = m.seats[0].ticket, m.seats[1].ticket
            member_a = known.get(id(a)) or member(a)
            member_b = known.get(id(b)) or member(b)
            if m.created_at is not created_at or m.expires_at is not expires_at:
                created_at, expires_at = m.created_at, m.expires_at
                times = _time(created_at), _time(expires_at)
            json_text = _match_json(m, member_a, member_b, times)
            out += (a.user, member_a, b.user, member_b, m.id, json_text)
        return out
