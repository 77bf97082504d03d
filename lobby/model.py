"""The lobby's domain values: tickets, seats and matches, as frozen dataclasses, and their
JSON form in the Redis store. Pure: no I/O, no clock.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from json.encoder import encode_basestring_ascii
from typing import Any, Literal

Side = Literal["pro", "con"]
# What a ticket asks for: None on a casual ticket, pro/con/any on a debate ticket.
WANTED_SIDES = ("pro", "con", "any")
# Separates the fields of an index member; never valid inside a slug, format id or UUID.
SEP = "\x1f"


@dataclass(frozen=True, slots=True)
class Ticket:
    user: str
    name: str
    topic: str
    format: str
    side: str | None
    joined_at: float
    # Put back at the head of the queue after a partner declined, timed out or left.
    head: bool = False

    @property
    def bucket(self) -> str:
        return bucket_of(self.topic, self.format)

    @property
    def member(self) -> str:
        """The ticket's entry in the per-topic index: sorts head first, then oldest first."""
        rank = ("0" if self.head else "1") + f"{max(0, int(self.joined_at * 1000)):015d}"
        return f"{self.bucket}{rank}{SEP}{self.user}"

    def at_head(self) -> Ticket:
        return replace(self, head=True)

    def to_dict(self) -> dict[str, Any]:
        return {
            "user": self.user,
            "name": self.name,
            "topic": self.topic,
            "format": self.format,
            "side": self.side,
            "joined_at": self.joined_at,
            "head": self.head,
            "ix": self.member,
            "bucket": self.bucket,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Ticket:
        return cls(
            user=str(d["user"]),
            name=str(d["name"]),
            topic=str(d["topic"]),
            format=str(d["format"]),
            side=d.get("side"),
            joined_at=float(d["joined_at"]),
            head=bool(d.get("head", False)),
        )

    @classmethod
    def from_json(cls, text: str) -> Ticket:
        return cls.from_dict(json.loads(text))


def bucket_of(topic: str, format_id: str) -> str:
    """The index prefix shared by every ticket waiting for this topic and format."""
    return f"{topic}{SEP}{format_id}{SEP}"


def user_of_member(member: str) -> str:
    return member.rsplit(SEP, 1)[-1]


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

    def to_json(self) -> str:
        head, mid, tail = self.json_frame()
        a, b = self.seats
        return head + a.ticket.to_json() + mid + b.ticket.to_json() + tail

    def json_frame(self) -> tuple[str, str, str]:
        """The match JSON around its two tickets' JSON: `head + ticket a + mid + ticket b +
        tail` is `to_json()`. The store's propose script joins the frame with the tickets as
        they are queued, so a proposal never encodes or sends its tickets again."""
        a, b = self.seats
        e = encode_basestring_ascii
        head = (
            f'{{"id":{e(self.id)},"room":{e(self.room)},"topic":{e(self.topic)},'
            f'"format":{e(self.format)},"seats":[{{"ticket":'
        )
        mid = f',"side":{_js(a.side)},"accepted":{_js(a.accepted)}}},{{"ticket":'
        tail = (
            f',"side":{_js(b.side)},"accepted":{_js(b.accepted)}}}],'
            f'"created_at":{_js(self.created_at)},"expires_at":{_js(self.expires_at)},'
            f'"version":{_js(self.version)},"state":{e(self.state)},'
            f'"users":[{e(a.user)},{e(b.user)}]}}'
        )
        return head, mid, tail

    @classmethod
    def from_json(cls, text: str) -> Match:
        d = json.loads(text)
        a, b = (
            Seat(Ticket.from_dict(s["ticket"]), s["side"], bool(s["accepted"])) for s in d["seats"]
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


def _js(value: object) -> str:
    """One JSON value, exactly as `json.dumps` writes it (the common cases without its
    encoder set-up, which dominates for small values)."""
    if isinstance(value, str):
        return encode_basestring_ascii(value)
    if value is None or isinstance(value, bool):
        return "null" if value is None else ("true" if value else "false")
    if type(value) is float and math.isfinite(value):
        return repr(value)
    if type(value) is int:
        return str(value)
    return json.dumps(value)
