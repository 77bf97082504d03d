"""The debate clock's test formats and how a table drives it: a script of
(time, command, *arguments) steps, played in order, gives the events with their times."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from agent.clock import DebateClock
from agent.clock_types import Event
from lobby.formats import Format, Phase

PHASES = (
    Phase("Pro speech", "speech", ("pro",), 60),
    Phase("Con speech", "speech", ("con",), 60),
    Phase("Cross", "cross", ("pro", "con"), 30),
    Phase("Con rebuttal", "speech", ("con",), 40),
)
DEBATE = Format(
    id="t",
    title="T",
    description="",
    kind="debate",
    phases=PHASES,
    warnings=(30, 10),
    grace=5,
    prep_per_side=0,
    soft_limit=0,
    start_after=30,
    seat_hold=60,
    wrap_up=10,
)
PREP = replace(DEBATE, prep_per_side=20)
CASUAL = replace(
    DEBATE, id="casual", kind="casual", phases=(), warnings=(120,), grace=0, soft_limit=600
)

Step = tuple[Any, ...]  # (time, command, *arguments)


def play(clock: DebateClock, script: list[Step]) -> list[tuple[float, Event]]:
    out: list[tuple[float, Event]] = []
    for t, command, *args in script:
        out += [(t, e) for e in getattr(clock, command)(*args, now=t)]
    return out


def started(fmt: Format = DEBATE, at: float = 0) -> DebateClock:
    clock = DebateClock(fmt, at)
    play(clock, [(at, "arrive", "pro"), (at, "arrive", "con")])
    play(clock, [(at, "ready", "pro"), (at, "ready", "con")])
    return clock
