"""What the moderator shares with the room, as plain values (docs/PROTOCOL.md, "Debate").

Pure: the job's metadata in, the agent's participant attributes and the event payloads out.
Times leave as epoch milliseconds; sides become identities where a client needs them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from agent.clock import (
    SIDES,
    Ended,
    Event,
    Extended,
    Paused,
    PhaseBegan,
    PrepBegan,
    Resumed,
    Snapshot,
    Warned,
)
from agent.errors import InvalidPayload
from lobby.formats import Side


@dataclass(frozen=True, slots=True)
class Debater:
    identity: str
    display_name: str
    side: Side | None


@dataclass(frozen=True, slots=True)
class Job:
    """The moderator job's metadata, as the lobby agent dispatches it."""

    match_id: str
    discussion_id: str
    room: str
    topic: str
    topic_title: str
    motion: str
    format: str
    debaters: tuple[Debater, ...]


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key, "")
    if not isinstance(value, str):
        raise InvalidPayload(f"job metadata: '{key}' must be a string", field=key)
    return value


def parse_job(metadata: str) -> Job:
    try:
        data = json.loads(metadata)
    except json.JSONDecodeError:
        raise InvalidPayload("job metadata is not JSON") from None
    people = data.get("participants") if isinstance(data, dict) else None
    if not isinstance(people, list) or len(people) != len(SIDES):
        raise InvalidPayload("job metadata: 'participants' must list two people")
    debaters = []
    for p in people:
        if not isinstance(p, dict) or not isinstance(p.get("identity"), str):
            raise InvalidPayload("job metadata: every participant needs an identity")
        side = p.get("side")
        debaters.append(
            Debater(p["identity"], str(p.get("display_name", "")), side if side in SIDES else None)
        )
    return Job(
        **{k: _text(data, k) for k in ("match_id", "discussion_id", "room", "topic")},
        topic_title=_text(data, "topic_title"),
        motion=_text(data, "motion"),
        format=_text(data, "format"),
        debaters=tuple(debaters),
    )


@dataclass(frozen=True, slots=True)
class Seats:
    """Who sits in which seat. In a casual talk the seats are only the clock's two slots and
    clients are shown no side (`shown` is False)."""

    sides: dict[str, Side]
    shown: bool

    @classmethod
    def assign(cls, debaters: tuple[Debater, ...], *, debate: bool) -> Seats:
        wanted = [d.side for d in debaters]
        if debate and sorted(s or "" for s in wanted) == sorted(SIDES):
            return cls({d.identity: d.side for d in debaters if d.side}, True)
        return cls({d.identity: side for d, side in zip(debaters, SIDES, strict=True)}, debate)

    def identity(self, side: Side) -> str:
        return next(i for i, s in self.sides.items() if s == side)

    def public(self) -> dict[str, Side | None]:
        return {i: (s if self.shown else None) for i, s in self.sides.items()}


def _ms(t: float | None) -> int | None:
    return None if t is None else round(t * 1000)


def state(snap: Snapshot, seats: Seats, format_id: str) -> dict[str, Any]:
    """The whole shared state as one JSON object (the `debate.state` reply)."""
    phase = None
    if snap.phase is not None and snap.status != "waiting":
        phase = {
            "index": snap.index,
            "name": snap.phase.name,
            "kind": snap.phase.kind,
            "sides": list(snap.phase.speakers),
            "seconds": snap.phase.seconds,
        }
    return {
        "format": format_id,
        "status": snap.status,
        "phase": phase,
        "prep": None if snap.prep_side is None else seats.identity(snap.prep_side),
        "floor": [seats.identity(s) for s in snap.floor],
        "deadline": _ms(snap.deadline),
        "grace_until": _ms(snap.grace_until),
        "remaining_ms": _ms(snap.remaining) if snap.paused else None,
        "paused": snap.paused,
        "pause_reasons": list(snap.pause_reasons),
        "absent": {seats.identity(s): _ms(t) for s, t in snap.absent.items()},
        "prep_left_ms": {seats.identity(s): _ms(t) for s, t in snap.prep_left.items()},
        "ready": [seats.identity(s) for s in snap.ready],
        "starts_at": _ms(snap.starts_at),
        "sides": seats.public(),
        "outcome": snap.outcome,
        "winner": None if snap.winner is None else seats.identity(snap.winner),
    }


def _attribute(value: Any) -> str:
    # An empty value removes the attribute in LiveKit: a missing key reads as null.
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def attributes(snap: Snapshot, seats: Seats, format_id: str) -> dict[str, str]:
    """The state as participant attributes: strings as they are, null as empty, the rest
    as JSON."""
    return {key: _attribute(value) for key, value in state(snap, seats, format_id).items()}


def payload(event: Event, snap: Snapshot, seats: Seats) -> dict[str, Any]:
    """An event's JSON body, without `seq` (added per recipient)."""
    match event:
        case PhaseBegan(index, phase):
            return {
                "type": "phase",
                "index": index,
                "name": phase.name,
                "kind": phase.kind,
                "floor": [seats.identity(s) for s in phase.speakers],
                "deadline": _ms(snap.deadline),
            }
        case PrepBegan(side, index, _):
            return {
                "type": "phase",
                "index": index,
                "name": "Preparation",
                "kind": "prep",
                "floor": [],
                "prep": seats.identity(side),
                "deadline": _ms(snap.deadline),
            }
        case Warned(seconds_left, grace):
            return {"type": "warning", "seconds_left": seconds_left, "grace": grace}
        case Paused(reason, side, hold_until):
            who = None if side is None else seats.identity(side)
            return {
                "type": "paused",
                "reason": reason,
                "identity": who,
                "hold_until": _ms(hold_until),
            }
        case Resumed():
            return {"type": "resumed", "deadline": _ms(snap.deadline)}
        case Extended(seconds):
            return {"type": "extended", "seconds": seconds, "deadline": _ms(snap.deadline)}
        case Ended(outcome, winner):
            return {
                "type": "ended",
                "outcome": outcome,
                "winner": None if winner is None else seats.identity(winner),
            }
