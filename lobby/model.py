"""The lobby's domain values: tickets, seats and matches, as frozen dataclasses, a ticket's
index entry (which carries the whole ticket) and a match's JSON form in the Redis store.
Pure: no I/O, no clock.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from json.encoder import encode_basestring_ascii
from typing import Any, Literal

from lobby.names import shown_name

Side = Literal["pro", "con"]
# What a ticket asks for: None on a casual ticket, pro/con/any on a debate ticket.
WANTED_SIDES = ("pro", "con", "any")
# Separates the fields of an index member; never valid inside a slug, format id or UUID, and
# `clean_name` keeps it out of display names.
SEP = "\x1f"
NAME_LIMIT = 64
# A ticket's side in its index member ("-": casual, no side), and back.
_SIDE_CODE: dict[str | None, str] = {None: "-", "pro": "pro", "con": "con", "any": "any"}
_CODE_SIDE: dict[str, str | None] = {code: side for side, code in _SIDE_CODE.items()}
# A seat's side and answer as JSON literals, so a match encodes without the JSON encoder.
_SIDE_JSON: dict[str | None, str] = {None: "null", "pro": '"pro"', "con": '"con"', "any": '"any"'}
_STATE_JSON = {s: f'"{s}"' for s in ("pending", "starting", "live")}
# How `repr` writes the floats JSON cannot hold.
_NOT_FINITE = frozenset(("inf", "-inf", "nan"))


def clean_name(name: str) -> str:
    """A display name fit for the lobby, by the same rule the API applies to new names
    (lobby.names): no control characters (the index separator among them) nor lone
    surrogates, NFKC form, combining marks capped, trimmed and cut; "Someone" when nothing is
    left or the name passes for DISCO (one stored before the rule existed)."""
    return shown_name(name, NAME_LIMIT, "Someone")


@dataclass(frozen=True, slots=True)
class Ticket:
    user: str
    name: str
    topic: str
    format: str
    side: str | None
    # Seconds; the store keeps milliseconds (see `member`).
    joined_at: float
    # Put back at the head of the queue after a partner declined, timed out or left.
    head: bool = False
    # `member`, once known: a pairing round reads, checks and stores each ticket's member
    # several times, and a ticket read from the store arrives as its member.
    _member: str = field(default="", init=False, repr=False, compare=False)

    @property
    def bucket(self) -> str:
        return bucket_of(self.topic, self.format)

    @property
    def member(self) -> str:
        """The ticket's entry in the per-topic index, which is all the store keeps of it:
        `topic␟format␟rank␟user␟side␟name`. The rank (head flag, then the join time in
        milliseconds, fixed width) makes lexical order head first, then oldest, then user."""
        if self._member:
            return self._member
        side = _SIDE_CODE.get(self.side)
        if side is None:
            raise ValueError(f"not a ticket side: {self.side!r}")
        fields = (self.topic, self.format, self.user, self.name)
        if SEP in "".join(fields):
            raise ValueError("a ticket field holds the index separator")
        ms = max(0, round(self.joined_at * 1000))
        rank = f"{'0' if self.head else '1'}{ms:015d}"
        member = SEP.join((self.topic, self.format, rank, self.user, side, self.name))
        object.__setattr__(self, "_member", member)
        return member

    @classmethod
    def from_member(cls, member: str) -> Ticket:
        """The ticket an index entry holds (its join time to the millisecond)."""
        try:
            topic, format_id, rank, user, side, name = member.split(SEP)
            head, ms = rank[0] == "0", int(rank[1:])
            side_value = _CODE_SIDE[side]
        except (IndexError, KeyError, ValueError):
            raise ValueError(f"not a ticket index entry: {member!r}") from None
        # Built without the dataclass __init__ (see _slot_setters): a snapshot reads hundreds.
        t = _new(cls)
        set_user, set_name, set_topic, set_format, set_side, set_joined, set_head, set_member = (
            _TICKET_SET
        )
        set_user(t, user)
        set_name(t, name)
        set_topic(t, topic)
        set_format(t, format_id)
        set_side(t, side_value)
        set_joined(t, ms / 1000)
        set_head(t, head)
        set_member(t, member)
        return t

    def at_head(self) -> Ticket:
        return replace(self, head=True)


def bucket_of(topic: str, format_id: str) -> str:
    """The index prefix shared by every ticket waiting for this topic and format."""
    return f"{topic}{SEP}{format_id}{SEP}"


@functools.lru_cache(maxsize=64)
def _json_time(t: float) -> str:
    """A time as JSON (what `repr` writes), memoised: the matches of one pairing round share
    their creation time and deadline."""
    text = repr(float(t))
    if text in _NOT_FINITE:
        raise ValueError("a match time is not finite")
    return text


@dataclass(frozen=True, slots=True)
class Seat:
    ticket: Ticket
    # The side this person argues in the match: pro/con in a debate, None in a casual talk.
    side: str | None
    accepted: bool = False

    @property
    def user(self) -> str:
        return self.ticket.user


@dataclass(frozen=True, slots=True)
class Match:
    id: str
    room: str
    topic: str
    format: str
    seats: tuple[Seat, Seat]
    created_at: float
    expires_at: float
    # Bumped by every change; the store commits a change only onto the version it was made from.
    version: int = 0
    # pending -> active (starting, then live once rooms and tokens exist)
    state: Literal["pending", "starting", "live"] = "pending"

    @property
    def users(self) -> tuple[str, str]:
        return (self.seats[0].user, self.seats[1].user)

    def seat_of(self, user: str) -> Seat | None:
        for seat in self.seats:
            if seat.user == user:
                return seat
        return None

    def partner_of(self, user: str) -> Seat | None:
        for seat in self.seats:
            if seat.user != user:
                return seat
        return None

    @classmethod
    def proposal(
        cls,
        match_id: str,
        room: str,
        a: Ticket,
        side_a: str | None,
        b: Ticket,
        side_b: str | None,
        created_at: float,
        expires_at: float,
    ) -> Match:
        """A new pending match of ticket `a` arguing `side_a` and `b` arguing `side_b`, on a's
        topic and format: `Match(...)` with its seats, built without the dataclass __init__
        (see _slot_setters), as a pairing round builds thousands."""
        set_ticket, set_side, set_accepted = _SEAT_SET
        seat_a, seat_b = _new(Seat), _new(Seat)
        set_ticket(seat_a, a)
        set_side(seat_a, side_a)
        set_accepted(seat_a, False)
        set_ticket(seat_b, b)
        set_side(seat_b, side_b)
        set_accepted(seat_b, False)
        (
            set_id,
            set_room,
            set_topic,
            set_format,
            set_seats,
            set_created,
            set_expires,
            set_version,
            set_state,
        ) = _MATCH_SET
        m = _new(cls)
        set_id(m, match_id)
        set_room(m, room)
        set_topic(m, a.topic)
        set_format(m, a.format)
        set_seats(m, (seat_a, seat_b))
        set_created(m, created_at)
        set_expires(m, expires_at)
        set_version(m, 0)
        set_state(m, "pending")
        return m

    def to_json(self) -> str:
        """What `json.dumps(..., separators=(",", ":"))` would write, written directly: a
        proposal batch encodes hundreds of matches, and the generic encoder's set-up per value
        costs more than the values. Each seat holds its ticket's index member; the store's
        scripts read `version`, `room`, `users` and `expires_at`."""
        e = encode_basestring_ascii
        a, b = self.seats
        created, expires = _json_time(self.created_at), _json_time(self.expires_at)
        return (
            f'{{"id":{e(self.id)},"room":{e(self.room)},"topic":{e(self.topic)},'
            f'"format":{e(self.format)},"seats":['
            f'{{"m":{e(a.ticket.member)},"side":{_SIDE_JSON.get(a.side) or e(str(a.side))},'
            f'"accepted":{"true" if a.accepted else "false"}}},'
            f'{{"m":{e(b.ticket.member)},"side":{_SIDE_JSON.get(b.side) or e(str(b.side))},'
            f'"accepted":{"true" if b.accepted else "false"}}}],'
            f'"created_at":{created},"expires_at":{expires},"version":{int(self.version)},'
            f'"state":{_STATE_JSON.get(self.state) or e(self.state)},'
            f'"users":[{e(a.ticket.user)},{e(b.ticket.user)}]}}'
        )

    @classmethod
    def from_json(cls, text: str) -> Match:
        d = json.loads(text)
        a, b = (
            Seat(Ticket.from_member(s["m"]), s["side"], bool(s["accepted"])) for s in d["seats"]
        )
        return cls(
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


def _slot_setters(cls: type) -> tuple[Callable[[Any, Any], None], ...]:
    """The slot descriptors' setters of a frozen slots dataclass, in field order. Setting
    through them skips the generated __init__, which goes through object.__setattr__ once per
    field (`Ticket.from_member` took 4.6 µs through __init__, 2.9 µs this way; see
    bench/pairing.py). For values whose parts are already checked, built in bulk; everywhere
    else, call the class."""
    return tuple(getattr(cls, f.name).__set__ for f in fields(cls))


_new = object.__new__
_TICKET_SET = _slot_setters(Ticket)
_SEAT_SET = _slot_setters(Seat)
_MATCH_SET = _slot_setters(Match)
