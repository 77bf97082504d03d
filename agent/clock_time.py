"""How time moves a debate on: the state the debate clock keeps, and the transitions that
time alone causes (a speech or prep running out, its warnings and grace, a held seat given
up, the start after both joined), with the pauses that stop it and who has the floor.
`agent/clock.py` adds what people do (the commands) and what the adapter asks. Pure: `now`
comes in.
"""

from __future__ import annotations

from agent.clock_types import (
    SIDES,
    Ended,
    Event,
    Outcome,
    Paused,
    PauseReason,
    PhaseBegan,
    PrepBegan,
    Resumed,
    Status,
    Warned,
    other,
)
from lobby.formats import Format, Phase, Side


class Timeline:
    def __init__(self, fmt: Format, now: float) -> None:
        self.format = fmt
        self.phases: tuple[Phase, ...] = (
            fmt.phases if fmt.is_debate else (Phase("Conversation", "open", SIDES, fmt.soft_limit),)
        )
        self._start_after = fmt.start_after if fmt.is_debate else 0
        self._status: Status = "waiting"
        self._index = -1
        self._prep_side: Side | None = None
        self._deadline = 0.0  # while running
        self._left = 0.0  # while paused
        self._pauses: set[PauseReason] = set()
        self._armed: set[int] = set()
        self._time_up = False
        self._yielded: set[Side] = set()
        # Nobody has joined yet: both seats are held for the join.
        self._absent: dict[Side, float] = {s: now + fmt.seat_hold for s in SIDES}
        self._ready: set[Side] = set()
        self._joined_at: float | None = None
        self._prep_left: dict[Side, float] = {s: float(fmt.prep_per_side) for s in SIDES}
        self._outbox: list[Event] = []
        self.outcome: Outcome | None = None
        self.winner: Side | None = None

    # -- time ----------------------------------------------------------------------------
    def _advance(self, now: float) -> list[Event]:
        events: list[Event] = []
        # Each step changes the state; the bound only guards against a bug looping forever.
        for _ in range(4 * len(self.phases) + 8):
            step = self._step(now)
            if not step:
                break
            events += step
        return events

    def _step(self, now: float) -> list[Event]:
        if self._status == "ended":
            return []
        lost = sorted((until, side) for side, until in self._absent.items() if until <= now)
        if lost:
            return self._seat_lost(lost[0][1])
        if self._status == "waiting":
            starts = self._starts_at()
            return self._start(starts) if starts is not None and now >= starts else []
        if self._pauses:
            return []
        if self._prep_side is not None:
            return self._end_prep(self._deadline) if now >= self._deadline else []
        return self._phase_time(now)

    def _phase_time(self, now: float) -> list[Event]:
        left = self._deadline - now
        crossed = {w for w in self._armed if left <= w}
        if crossed:
            self._armed -= crossed
            if left > 0:
                return [Warned(min(crossed))]
        grace = self.format.grace
        if left <= 0 and grace > 0 and not self._time_up:
            self._time_up = True
            return [Warned(0, grace)]
        if left <= -grace:
            return self._enter(self._index + 1, self._deadline + grace)
        return []

    def _seat_lost(self, side: Side) -> list[Event]:
        if self._status == "waiting" or len(self._absent) == len(SIDES):
            return self._finish("abandoned")
        if not self.format.is_debate:
            return self._finish("finished")
        return self._finish("forfeit", other(side))

    def _starts_at(self) -> float | None:
        if self._status != "waiting" or self._joined_at is None or self._absent:
            return None
        return self._joined_at + self._start_after

    def _maybe_start(self, now: float) -> list[Event]:
        if self._absent:
            return []
        if self._ready >= set(SIDES):
            return self._start(now)
        return self._advance(now)

    def _start(self, at: float) -> list[Event]:
        self._status = "running"
        return self._enter(0, at)

    def _enter(self, index: int, at: float) -> list[Event]:
        if index >= len(self.phases):
            return self._finish("completed" if self.format.is_debate else "finished")
        phase = self.phases[index]
        self._index = index
        side = phase.speakers[0]
        # Prep is taken between speeches, by the side about to speak (Lincoln-Douglas).
        if (
            index > 0
            and phase.kind == "speech"
            and len(phase.speakers) == 1
            and self._prep_left[side] > 0
        ):
            self._prep_side = side
            self._set_left(self._prep_left[side], at)
            return [PrepBegan(side, index, self._prep_left[side])]
        return self._begin_phase(at)

    def _end_prep(self, at: float) -> list[Event]:
        assert self._prep_side is not None
        self._prep_left[self._prep_side] = max(0.0, self._remaining(at))
        return self._begin_phase(at)

    def _begin_phase(self, at: float) -> list[Event]:
        phase = self.phases[self._index]
        self._prep_side = None
        self._set_left(phase.seconds, at)
        self._armed = {w for w in self.format.warnings if w < phase.seconds}
        self._time_up = False
        self._yielded = set()
        return [PhaseBegan(self._index, phase)]

    def _finish(self, outcome: Outcome, winner: Side | None = None) -> list[Event]:
        self._status = "ended"
        self._prep_side = None
        self._pauses.clear()
        self.outcome, self.winner = outcome, winner
        return [Ended(outcome, winner)]

    # -- pauses and the floor ------------------------------------------------------------
    def _pause(self, reason: PauseReason, now: float, event: Paused) -> list[Event]:
        if not self._pauses:
            self._left = self._deadline - now
        self._pauses.add(reason)
        return [event]

    def _unpause(self, reason: PauseReason, now: float) -> list[Event]:
        if reason not in self._pauses:
            return []
        self._pauses.discard(reason)
        if self._pauses:
            return []
        self._deadline = now + self._left
        return [Resumed()]

    def _remaining(self, now: float) -> float:
        return self._left if self._pauses else self._deadline - now

    def _set_left(self, seconds: float, at: float) -> None:
        if self._pauses:
            self._left = seconds
        else:
            self._deadline = at + seconds

    def _floor(self) -> tuple[Side, ...]:
        # Before the start, while paused and after the end, both may talk; a moderator may
        # still mute someone (`debate.mute`).
        if self._status != "running" or self._pauses:
            return SIDES
        if self._prep_side is not None:
            return ()
        return self.phases[self._index].speakers
