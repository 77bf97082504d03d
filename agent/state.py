"""What the moderator shares with the room, as plain values (docs/PROTOCOL.md, "Debate").

Pure: the job's metadata (lobby/contract.py) in, the agent's participant attributes and the
event payloads out.
Times leave as epoch milliseconds; sides become identities where a client needs them.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from typing import Any, TypeVar, get_args

import agent.clock_types as ct
from agent.clock_types import SIDES, Saved, Snapshot
from agent.errors import InvalidPayload
from lobby.contract import Debater, load_json
from lobby.formats import Side


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


def payload(event: ct.Event, snap: Snapshot, seats: Seats) -> dict[str, Any]:
    """An event's JSON body, without `seq` (added per recipient)."""
    match event:
        case ct.PhaseBegan(index, phase):
            return {
                "type": "phase",
                "index": index,
                "name": phase.name,
                "kind": phase.kind,
                "floor": [seats.identity(s) for s in phase.speakers],
                "deadline": _ms(snap.deadline),
            }
        case ct.PrepBegan(side, index, _):
            return {
                "type": "phase",
                "index": index,
                "name": "Preparation",
                "kind": "prep",
                "floor": [],
                "prep": seats.identity(side),
                "deadline": _ms(snap.deadline),
            }
        case ct.Warned(seconds_left, grace):
            return {"type": "warning", "seconds_left": seconds_left, "grace": grace}
        case ct.Paused(reason, side, hold_until):
            who = None if side is None else seats.identity(side)
            return {
                "type": "paused",
                "reason": reason,
                "identity": who,
                "hold_until": _ms(hold_until),
            }
        case ct.Resumed():
            return {"type": "resumed", "deadline": _ms(snap.deadline)}
        case ct.Extended(seconds):
            return {"type": "extended", "seconds": seconds, "deadline": _ms(snap.deadline)}
        case ct.Ended(outcome, winner):
            return {
                "type": "ended",
                "outcome": outcome,
                "winner": None if winner is None else seats.identity(winner),
            }


# -- what a moderator leaves for the one that may replace it --------------------------------
# Bumped whenever a field changes meaning: a moderator does not resume from a record it
# cannot read (it starts the room's debate afresh instead).
RECORD_VERSION = 1
_STATUSES: tuple[ct.Status, ...] = get_args(ct.Status)
_OUTCOMES: tuple[ct.Outcome, ...] = get_args(ct.Outcome)
_PAUSES: tuple[ct.PauseReason, ...] = get_args(ct.PauseReason)
_T = TypeVar("_T", bound=str)


@dataclass(frozen=True, slots=True)
class Record:
    """The room's debate as the moderator keeps it in Redis (docs/PROTOCOL.md, "When the
    moderator restarts"): the format (a casual talk may have become a debate), the seats,
    the clock, the last event `seq` sent to each person, and an open proposal."""

    match_id: str
    format: str
    seats: Seats
    clock: Saved
    seq: dict[str, int]
    proposal: tuple[str, float] | None = None  # (by, expires at)

    def to_json(self) -> str:
        return json.dumps(
            {
                "v": RECORD_VERSION,
                "match_id": self.match_id,
                "format": self.format,
                "seats": {"sides": self.seats.sides, "shown": self.seats.shown},
                "clock": asdict(self.clock),
                "seq": self.seq,
                "proposal": None if self.proposal is None else list(self.proposal),
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> Record:
        """The record, or InvalidPayload naming what is wrong with it."""
        data = _object(load_json(text, "saved debate"), "record")
        if data.get("v") != RECORD_VERSION:
            raise InvalidPayload("saved debate: another version", field="v")
        seats = _object(data.get("seats"), "seats")
        sides = {_str(k, "seats"): _one_of(v, SIDES, "seats") for k, v in _items(seats, "sides")}
        shown = seats.get("shown")
        if sorted(sides.values()) != sorted(SIDES) or not isinstance(shown, bool):
            raise InvalidPayload("saved debate: the seats are not one per side", field="seats")
        seq = {_str(k, "seq"): _int(v, "seq") for k, v in _items(data, "seq")}
        proposal = data.get("proposal")
        if proposal is not None:
            if not isinstance(proposal, list) or len(proposal) != 2:
                raise InvalidPayload("saved debate: bad proposal", field="proposal")
            proposal = (_str(proposal[0], "proposal"), _num(proposal[1], "proposal"))
        return cls(
            match_id=_str(data.get("match_id"), "match_id"),
            format=_str(data.get("format"), "format"),
            seats=Seats(sides, shown),
            clock=_saved(_object(data.get("clock"), "clock")),
            seq=seq,
            proposal=proposal,
        )


def _saved(c: dict[str, Any]) -> Saved:
    def maybe(key: str) -> float | None:
        return None if c.get(key) is None else _num(c[key], key)

    winner, prep_side, outcome = c.get("winner"), c.get("prep_side"), c.get("outcome")
    return Saved(
        at=_num(c.get("at"), "at"),
        status=_one_of(c.get("status"), _STATUSES, "status"),
        index=_int(c.get("index"), "index"),
        prep_side=None if prep_side is None else _one_of(prep_side, SIDES, "prep_side"),
        deadline=_num(c.get("deadline"), "deadline"),
        left=_num(c.get("left"), "left"),
        pauses=tuple(_one_of(p, _PAUSES, "pauses") for p in _list(c, "pauses")),
        armed=tuple(_int(w, "armed") for w in _list(c, "armed")),
        time_up=_bool(c.get("time_up"), "time_up"),
        yielded=tuple(_one_of(s, SIDES, "yielded") for s in _list(c, "yielded")),
        absent={_one_of(s, SIDES, "absent"): _num(t, "absent") for s, t in _items(c, "absent")},
        ready=tuple(_one_of(s, SIDES, "ready") for s in _list(c, "ready")),
        joined_at=maybe("joined_at"),
        prep_left={
            _one_of(s, SIDES, "prep_left"): _num(t, "prep_left") for s, t in _items(c, "prep_left")
        },
        outcome=None if outcome is None else _one_of(outcome, _OUTCOMES, "outcome"),
        winner=None if winner is None else _one_of(winner, SIDES, "winner"),
    )


def _bad(field: str) -> InvalidPayload:
    return InvalidPayload(f"saved debate: bad '{field}'", field=field)


def _object(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _bad(field)
    return value


def _items(data: dict[str, Any], field: str) -> list[tuple[Any, Any]]:
    return list(_object(data.get(field), field).items())


def _list(data: dict[str, Any], field: str) -> list[Any]:
    value = data.get(field)
    if not isinstance(value, list):
        raise _bad(field)
    return value


def _str(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise _bad(field)
    return value


def _bool(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise _bad(field)
    return value


def _num(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _bad(field)
    try:
        number = float(value)
    except OverflowError:  # an integer past what a float holds
        raise _bad(field) from None
    if not math.isfinite(number):
        raise _bad(field)
    return number


def _int(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(field)
    return value


def _one_of(value: Any, options: tuple[_T, ...], field: str) -> _T:
    for option in options:
        if value == option:
            return option
    raise _bad(field)
