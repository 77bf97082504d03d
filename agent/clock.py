"""The debate clock: the moderator agent's pure core.

A plain synchronous state machine. Every method takes `now` (epoch seconds) and returns what
happened as a list of events, which the adapter (`agent/moderator.py`) applies to the room.
It imports nothing of LiveKit, Redis, SQLAlchemy or aiohttp. Its vocabulary (the events, the
snapshot a client is shown, the saved state a successor resumes from) is `agent/clock_types.py`;
the state it keeps and what time alone does to it is `agent/clock_time.py` (`Timeline`), and
this module adds the commands and what the adapter asks.

    waiting --both ready, or `start_after` s after both joined--> running
    running: [prep of the next speaker] -> phase -> time up -> `grace` s -> next phase ...
    running --last phase over, or skipped--> ended (completed)
    any --a seat empty for `seat_hold` s--> ended (forfeit, or abandoned)
    any --moderator--> ended (ended_by_moderator)

Pauses stack: a moderator's pause and an empty seat are separate reasons, and the clock runs
again only when none is left. A casual talk is one open phase as long as the soft limit,
which starts as soon as both people are in.

A command that raises `WrongState` changed nothing; events that time alone caused before it
come out of the next call.
"""

from __future__ import annotations

from collections.abc import Callable

from agent.clock_time import Timeline
from agent.clock_types import (
    SIDES,
    Event,
    Extended,
    Paused,
    Saved,
    Snapshot,
)
from agent.errors import WrongState
from lobby.formats import Format, Side


class DebateClock(Timeline):
    """A debate's clock, made with its format and the time it is opened at."""

    # -- what the adapter asks -------------------------------------------------------------
    def snapshot(self, now: float) -> Snapshot:
        # Time may have moved on since the last call; what it caused comes out of the next one.
        self._outbox += self._advance(now)
        running = self._status == "running"
        phase = self.phases[self._index] if self._index >= 0 else None
        grace = 0 if self._prep_side else self.format.grace
        deadline = self._deadline if running and not self._pauses else None
        prep_left = dict(self._prep_left)
        if running and self._prep_side is not None:
            prep_left[self._prep_side] = max(0.0, self._remaining(now))
        return Snapshot(
            status=self._status,
            index=self._index,
            phase=phase,
            prep_side=self._prep_side,
            floor=self._floor(),
            deadline=deadline,
            grace_until=None if deadline is None else deadline + grace,
            remaining=self._remaining(now) if running else None,
            pause_reasons=tuple(sorted(self._pauses)),
            prep_left=prep_left,
            ready=tuple(s for s in SIDES if s in self._ready),
            absent=dict(self._absent),
            starts_at=self._starts_at(),
            outcome=self.outcome,
            winner=self.winner,
        )

    def save(self, now: float) -> Saved:
        # As it stands, without moving time on: what time caused by `now` comes out of the
        # adapter's next call, when it is ready to send it (and a restored clock works it out
        # again, its times being moved on together).
        return Saved(
            at=now,
            status=self._status,
            index=self._index,
            prep_side=self._prep_side,
            deadline=self._deadline,
            left=self._left,
            pauses=tuple(sorted(self._pauses)),
            armed=tuple(sorted(self._armed)),
            time_up=self._time_up,
            yielded=tuple(s for s in SIDES if s in self._yielded),
            absent=dict(self._absent),
            ready=tuple(s for s in SIDES if s in self._ready),
            joined_at=self._joined_at,
            prep_left=dict(self._prep_left),
            outcome=self.outcome,
            winner=self.winner,
        )

    @classmethod
    def restore(cls, fmt: Format, saved: Saved, now: float) -> DebateClock:
        """The clock as it was at `saved.at`, going on at `now`: every time still to run
        (the speech or prep, a held seat, the wait before the start) is moved on by the time
        in between, which counts against nobody."""
        shift = now - saved.at
        clock = cls(fmt, now)
        if not -1 <= saved.index < len(clock.phases):
            raise ValueError("the saved phase is not one of this format's")
        clock._status, clock._index, clock._prep_side = saved.status, saved.index, saved.prep_side
        clock._deadline, clock._left = saved.deadline + shift, saved.left
        clock._pauses, clock._armed = set(saved.pauses), set(saved.armed)
        clock._time_up, clock._yielded = saved.time_up, set(saved.yielded)
        clock._absent = {s: t + shift for s, t in saved.absent.items()}
        clock._ready = set(saved.ready)
        clock._joined_at = None if saved.joined_at is None else saved.joined_at + shift
        clock._prep_left = dict(saved.prep_left)
        clock.outcome, clock.winner = saved.outcome, saved.winner
        return clock

    def next_wakeup(self) -> float | None:
        """When `tick` next has something to do, if nothing else happens first."""
        times = list(self._absent.values())
        if self._status == "ended":
            return None
        if self._status == "waiting":
            starts = self._starts_at()
            return min([*times, *([starts] if starts is not None else [])], default=None)
        if self._pauses:
            return min(times, default=None)
        if self._prep_side is not None:
            return min([*times, self._deadline])
        times += [self._deadline - w for w in self._armed]
        if self.format.grace and not self._time_up:
            times.append(self._deadline)
        return min([*times, self._deadline + self.format.grace])

    # -- commands ------------------------------------------------------------------------
    def tick(self, now: float) -> list[Event]:
        return self._run(now, lambda: [])

    def arrive(self, side: Side, now: float) -> list[Event]:
        return self._run(now, lambda: self._arrive(side, now))

    def leave(self, side: Side, now: float) -> list[Event]:
        return self._run(now, lambda: self._leave(side, now))

    def ready(self, side: Side, now: float) -> list[Event]:
        return self._run(now, lambda: self._ready_up(side, now))

    def yield_turn(self, side: Side, now: float) -> list[Event]:
        return self._run(now, lambda: self._yield(side, now))

    def pause(self, now: float) -> list[Event]:
        return self._run(now, lambda: self._moderator_pause(now))

    def resume(self, now: float) -> list[Event]:
        return self._run(now, lambda: self._moderator_resume(now))

    def extend(self, seconds: int, now: float) -> list[Event]:
        return self._run(now, lambda: self._extend(seconds, now))

    def skip(self, now: float) -> list[Event]:
        return self._run(now, lambda: self._skip(now))

    def end(self, now: float) -> list[Event]:
        return self._run(now, self._end)

    def excuse(self) -> list[Event]:
        """The side that lost by forfeit had reported the other (docs/PROTOCOL.md): the debate
        ends with no winner instead. Nothing when it did not end by forfeit."""
        if self.outcome != "forfeit":
            return []
        return self._finish("reported")

    def _run(self, now: float, action: Callable[[], list[Event]]) -> list[Event]:
        self._outbox += self._advance(now)
        done = action()
        events, self._outbox = [*self._outbox, *done], []
        return events

    # -- command bodies ------------------------------------------------------------------
    def _arrive(self, side: Side, now: float) -> list[Event]:
        if self._status == "ended" or self._absent.pop(side, None) is None:
            return []
        if self._status == "waiting":
            if not self._absent and self._joined_at is None:
                self._joined_at = now
            return self._maybe_start(now)
        return [] if self._absent else self._unpause("absent", now)

    def _leave(self, side: Side, now: float) -> list[Event]:
        if self._status == "ended" or side in self._absent:
            return []
        hold_until = now + self.format.seat_hold
        self._absent[side] = hold_until
        if self._status == "waiting":
            self._joined_at = None
            return []
        return self._pause("absent", now, Paused("absent", side, hold_until))

    def _ready_up(self, side: Side, now: float) -> list[Event]:
        if self._status == "waiting":
            self._ready.add(side)
            return self._maybe_start(now)
        self._require_running()
        if self._prep_side != side:
            raise WrongState("the debate has already started")
        if self._pauses:
            raise WrongState("the debate is paused")
        return self._end_prep(now)

    def _yield(self, side: Side, now: float) -> list[Event]:
        self._require_running()
        if self._pauses:
            raise WrongState("the debate is paused")
        if self._prep_side is not None:
            if self._prep_side != side:
                raise WrongState("it is not your turn")
            return self._end_prep(now)
        speakers = self.phases[self._index].speakers
        if side not in speakers:
            raise WrongState("it is not your turn")
        self._yielded.add(side)
        return self._enter(self._index + 1, now) if self._yielded >= set(speakers) else []

    def _moderator_pause(self, now: float) -> list[Event]:
        self._require_running()
        if "moderator" in self._pauses:
            raise WrongState("the debate is already paused")
        return self._pause("moderator", now, Paused("moderator"))

    def _moderator_resume(self, now: float) -> list[Event]:
        self._require_running()
        if "moderator" not in self._pauses:
            raise WrongState("the debate is not paused by a moderator")
        return self._unpause("moderator", now)

    def _extend(self, seconds: int, now: float) -> list[Event]:
        self._require_running()
        left = max(0.0, self._remaining(now)) + seconds
        self._set_left(left, now)
        if self._prep_side is None:
            self._armed = {w for w in self.format.warnings if w < left}
            self._time_up = False
        return [Extended(seconds)]

    def _skip(self, now: float) -> list[Event]:
        self._require_running()
        if self._prep_side is not None:
            return self._end_prep(now)
        return self._enter(self._index + 1, now)

    def _end(self) -> list[Event]:
        if self._status == "ended":
            raise WrongState("the debate has already ended")
        return self._finish("ended_by_moderator")

    def _require_running(self) -> None:
        if self._status == "waiting":
            raise WrongState("the debate has not started")
        if self._status == "ended":
            raise WrongState("the debate has ended")
