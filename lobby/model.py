"""The lobby's domain values: tickets, seats and matches, as plain frozen dataclasses. How the
Redis store writes them (a ticket as its index member, a match as JSON) is lobby.codec's
business. Pure: no I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from lobby.names import shown_name

Side = Literal["pro", "con"]
MatchState = Literal["pending", "starting", "live"]
# What a ticket asks for: None on a casual ticket, pro/con/any on a debate ticket.
WANTED_SIDES = ("pro", "con", "any")
# Joins a queue's topic and format in its name (`bucket_of`); never valid inside a slug,
# format id or UUID, and `clean_name` keeps it out of display names, so the store also uses it
# between the fields of a ticket's index member (lobby.codec).
SEP = "\x1f"
NAME_LIMIT = 64


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
    # Seconds; the store keeps milliseconds (lobby.codec).
    joined_at: float
    # Put back at the head of the queue after a partner declined, timed out or left.
    head: bool = False

    @property
    def bucket(self) -> str:
        """The name of the queue this ticket waits in (one per topic and format)."""
        return bucket_of(self.topic, self.format)

    def at_head(self) -> Ticket:
        return replace(self, head=True)


def bucket_of(topic: str, format_id: str) -> str:
    """The name of the queue of every ticket waiting for this topic and format; the store's
    index members start with it."""
    return f"{topic}{SEP}{format_id}{SEP}"


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
    state: MatchState = "pending"

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
        topic and format."""
        seats = (Seat(a, side_a), Seat(b, side_b))
        return cls(match_id, room, a.topic, a.format, seats, created_at, expires_at)
