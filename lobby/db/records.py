"""What the Postgres gateway hands out instead of rows: frozen dataclasses, each able to say
itself in the JSON the API answers with."""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Topic:
    """A topic people can queue for; the API lists them (`GET /api/topics`), the lobby agent
    checks joins against them and gives the moderator the title and motion."""

    slug: str
    title: str
    motion: str
    description: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "title": self.title,
            "description": self.description,
            "motion": self.motion,
        }


def iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _votes(pro: int, con: int) -> dict[str, Any] | None:
    """The audience's votes and winner ('pro', 'con' or 'tie'); None when nobody voted."""
    if not pro and not con:
        return None
    winner = "tie" if pro == con else "pro" if pro > con else "con"
    return {"pro": pro, "con": con, "winner": winner}


@dataclass(frozen=True, slots=True)
class User:
    id: uuid.UUID
    email: str
    display_name: str
    bio: str
    role: str
    allow_audience: bool = False

    @property
    def is_moderator(self) -> bool:
        return self.role == "moderator"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "email": self.email,
            "display_name": self.display_name,
            "bio": self.bio,
            "role": self.role,
            "allow_audience": self.allow_audience,
        }


@dataclass(frozen=True, slots=True)
class Credentials:
    """A user and their password hash, read only to check a login: the hash never travels
    inside a `User`."""

    user: User
    password_hash: str


@dataclass(frozen=True, slots=True)
class HistoryCursor:
    """Where a page of history ended: the last entry's start and id, as an opaque string."""

    started_at: dt.datetime
    id: uuid.UUID

    def encode(self) -> str:
        raw = f"{self.started_at.isoformat()}|{self.id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> HistoryCursor:
        """Raises ValueError for anything `encode` did not make."""
        if len(text) > 200:
            raise ValueError("cursor too long")
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        started, sep, ident = raw.partition("|")
        when = dt.datetime.fromisoformat(started)
        if not sep or when.tzinfo is None:
            raise ValueError("not a cursor")
        try:
            # Postgres compares in UTC; a time at the edge of the calendar has no UTC form.
            when.astimezone(dt.UTC)
        except OverflowError:
            raise ValueError("not a cursor") from None
        return cls(when, uuid.UUID(ident))


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    id: uuid.UUID
    match_id: str
    room: str
    topic: str
    topic_title: str
    format: str
    side: str | None
    partner_id: uuid.UUID | None
    partner_name: str | None
    started_at: dt.datetime
    ended_at: dt.datetime | None
    outcome: str | None
    my_score: int | None
    my_talk_again: bool | None
    votes_pro: int = 0
    votes_con: int = 0
    public: bool = False

    def to_json(self) -> dict[str, Any]:
        partner = None
        if self.partner_id is not None:
            partner = {"id": str(self.partner_id), "display_name": self.partner_name}
        rating = None
        if self.my_score is not None:
            rating = {"score": self.my_score, "talk_again": self.my_talk_again}
        duration = None
        if self.ended_at is not None:
            duration = max(0, round((self.ended_at - self.started_at).total_seconds()))
        return {
            "id": str(self.id),
            "match_id": self.match_id,
            "room": self.room,
            "topic": self.topic,
            "topic_title": self.topic_title,
            "format": self.format,
            "side": self.side,
            "partner": partner,
            "date": self.started_at.date().isoformat(),
            "started_at": iso(self.started_at),
            "ended_at": iso(self.ended_at),
            "duration_seconds": duration,
            "outcome": self.outcome,
            "my_rating": rating,
            "public": self.public,
            "votes": _votes(self.votes_pro, self.votes_con),
        }


@dataclass(frozen=True, slots=True)
class Participant:
    user_id: uuid.UUID
    display_name: str
    side: str | None

    def to_json(self) -> dict[str, Any]:
        return {"id": str(self.user_id), "display_name": self.display_name, "side": self.side}


@dataclass(frozen=True, slots=True)
class LiveDiscussion:
    id: uuid.UUID
    room: str
    topic: str
    topic_title: str
    format: str
    started_at: dt.datetime
    participants: tuple[Participant, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "room": self.room,
            "topic": self.topic,
            "topic_title": self.topic_title,
            "format": self.format,
            "started_at": iso(self.started_at),
            "participants": [p.to_json() for p in self.participants],
        }


@dataclass(frozen=True, slots=True)
class Discussion:
    id: uuid.UUID
    room: str
    ended_at: dt.datetime | None
    outcome: str | None
