"""What the debate clock (`agent/clock.py`) speaks in: the events it returns, the snapshot of
its state the moderator shows, and the saved state another moderator resumes from. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lobby.formats import Phase, Side

SIDES: tuple[Side, Side] = ("pro", "con")
Status = Literal["waiting", "running", "ended"]
# `reported`: a debater who reported their partner left, and does not lose by forfeit.
Outcome = Literal["completed", "forfeit", "ended_by_moderator", "abandoned", "finished", "reported"]
PauseReason = Literal["moderator", "absent"]


def other(side: Side) -> Side:
    return "con" if side == "pro" else "pro"


@dataclass(frozen=True, slots=True)
class PhaseBegan:
    index: int
    phase: Phase


@dataclass(frozen=True, slots=True)
class PrepBegan:
    side: Side
    index: int  # of the phase the side prepares for
    seconds: float  # left in the side's pool


@dataclass(frozen=True, slots=True)
class Warned:
    seconds_left: int  # 0: time is up and `grace` seconds remain before the floor is taken
    grace: int = 0


@dataclass(frozen=True, slots=True)
class Paused:
    reason: PauseReason
    side: Side | None = None  # who left, for "absent"
    hold_until: float | None = None


@dataclass(frozen=True, slots=True)
class Resumed:
    pass


@dataclass(frozen=True, slots=True)
class Extended:
    seconds: int


@dataclass(frozen=True, slots=True)
class Ended:
    outcome: Outcome
    winner: Side | None = None


Event = PhaseBegan | PrepBegan | Warned | Paused | Resumed | Extended | Ended


@dataclass(frozen=True, slots=True)
class Snapshot:
    status: Status
    index: int  # -1 before the first phase
    phase: Phase | None
    prep_side: Side | None
    floor: tuple[Side, ...]  # who may use their microphone now
    deadline: float | None  # when the current time runs out, while the clock runs
    grace_until: float | None
    remaining: float | None  # seconds of the current time left (negative in grace)
    pause_reasons: tuple[PauseReason, ...]
    prep_left: dict[Side, float]
    ready: tuple[Side, ...]
    absent: dict[Side, float]  # side -> when its seat is given up
    starts_at: float | None
    outcome: Outcome | None
    winner: Side | None

    @property
    def paused(self) -> bool:
        return bool(self.pause_reasons)


@dataclass(frozen=True, slots=True)
class Saved:
    """The clock's whole state as plain values, taken at `at` (`DebateClock.save`), so that
    another moderator can go on from it (`DebateClock.restore`). Times are epoch seconds."""

    at: float
    status: Status
    index: int
    prep_side: Side | None
    deadline: float  # while running and not paused
    left: float  # while paused
    pauses: tuple[PauseReason, ...]
    armed: tuple[int, ...]  # warnings not given yet
    time_up: bool
    yielded: tuple[Side, ...]
    absent: dict[Side, float]
    ready: tuple[Side, ...]
    joined_at: float | None
    prep_left: dict[Side, float]
    outcome: Outcome | None
    winner: Side | None
