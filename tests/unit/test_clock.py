"""The debate clock as tables: a script of (time, command) steps and what must come out."""

from __future__ import annotations

import pytest

from agent.clock import DebateClock
from agent.clock_types import Ended, Event, Extended, Paused, PhaseBegan, PrepBegan, Resumed, Warned
from agent.errors import WrongState
from tests.unit.clock_script import CASUAL, DEBATE, PHASES, PREP, Step, play, started


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        pytest.param(
            [(0, "arrive", "pro"), (1, "arrive", "con"), (2, "ready", "pro"), (3, "ready", "con")],
            [(3, PhaseBegan(0, PHASES[0]))],
            id="both ready",
        ),
        pytest.param(
            [(0, "arrive", "pro"), (1, "arrive", "con"), (30, "tick"), (31, "tick")],
            [(31, PhaseBegan(0, PHASES[0]))],
            id="30 s after both joined",
        ),
        pytest.param(
            [(0, "arrive", "pro"), (5, "ready", "pro"), (40, "tick"), (50, "arrive", "con")],
            [],
            id="one alone never starts",
        ),
        pytest.param(
            [
                (0, "arrive", "pro"),
                (1, "arrive", "con"),
                (20, "leave", "con"),
                (30, "arrive", "con"),
                (59, "tick"),
                (60, "tick"),
            ],
            [(60, PhaseBegan(0, PHASES[0]))],
            id="a leave before the start restarts the wait",
        ),
        pytest.param(
            [(0, "arrive", "pro"), (60, "tick")],
            [(60, Ended("abandoned"))],
            id="the other never joins",
        ),
    ],
)
def test_start(script: list[Step], expected: list[tuple[float, Event]]) -> None:
    assert play(DebateClock(DEBATE, 0), script) == expected


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        pytest.param(
            [(29, "tick"), (30, "tick"), (49, "tick"), (50, "tick"), (59, "tick")],
            [(30, Warned(30)), (50, Warned(10))],
            id="warnings at 30 and 10 s left",
        ),
        pytest.param(
            [(60, "tick"), (64, "tick"), (65, "tick")],
            [(60, Warned(0, 5)), (65, PhaseBegan(1, PHASES[1]))],
            id="time up, then the floor goes after the grace",
        ),
        pytest.param(
            [(10, "yield_turn", "pro")],
            [(10, PhaseBegan(1, PHASES[1]))],
            id="the speaker yields",
        ),
        pytest.param(
            [
                (60, "tick"),
                (62, "extend", 15),
                (66, "tick"),
                (67, "tick"),
                (77, "tick"),
                (82, "tick"),
            ],
            [
                (60, Warned(0, 5)),
                (62, Extended(15)),
                (67, Warned(10)),
                (77, Warned(0, 5)),
                (82, PhaseBegan(1, PHASES[1])),
            ],
            id="extend during the grace gives time from now",
        ),
        pytest.param(
            [(65, "tick"), (66, "extend", 20), (145, "tick"), (146, "tick")],
            [
                (65, Warned(0, 5)),
                (65, PhaseBegan(1, PHASES[1])),
                (66, Extended(20)),
                (145, Warned(0, 5)),
            ],
            id="extend after the grace lengthens the next phase",
        ),
        pytest.param(
            [(200, "tick")],
            [
                (200, Warned(0, 5)),
                (200, PhaseBegan(1, PHASES[1])),
                (200, Warned(0, 5)),
                (200, PhaseBegan(2, PHASES[2])),
                (200, Warned(0, 5)),
                (200, PhaseBegan(3, PHASES[3])),
                (200, Warned(10)),
            ],
            id="a late tick catches up phase by phase, skipping stale warnings",
        ),
        pytest.param(
            [(5, "skip"), (6, "skip"), (7, "skip"), (8, "skip")],
            [
                (5, PhaseBegan(1, PHASES[1])),
                (6, PhaseBegan(2, PHASES[2])),
                (7, PhaseBegan(3, PHASES[3])),
                (8, Ended("completed")),
            ],
            id="skip past the last phase",
        ),
        pytest.param(
            [(1, "skip"), (2, "skip"), (3, "yield_turn", "pro"), (4, "yield_turn", "con")],
            [
                (1, PhaseBegan(1, PHASES[1])),
                (2, PhaseBegan(2, PHASES[2])),
                (4, PhaseBegan(3, PHASES[3])),
            ],
            id="cross-examination ends when both yield",
        ),
        pytest.param(
            [(10, "end")],
            [(10, Ended("ended_by_moderator"))],
            id="a moderator ends it",
        ),
    ],
)
def test_phases(script: list[Step], expected: list[tuple[float, Event]]) -> None:
    assert play(started(), script) == expected


def test_prep_before_each_speech_but_the_first() -> None:
    clock = started(PREP)
    assert play(clock, [(10, "yield_turn", "pro"), (14, "ready", "con")]) == [
        (10, PrepBegan("con", 1, 20.0)),
        (14, PhaseBegan(1, PHASES[1])),
    ]
    assert play(clock, [(20, "yield_turn", "con"), (21, "skip")]) == [
        (20, PhaseBegan(2, PHASES[2])),  # cross-examination: no prep
        (21, PrepBegan("con", 3, 16.0)),
    ]
    assert play(clock, [(26, "ready", "con")]) == [(26, PhaseBegan(3, PHASES[3]))]
    snap = clock.snapshot(26)
    assert snap.prep_left == {"pro": 20.0, "con": 11.0}
    assert snap.deadline == 66


def test_skip_and_yield_end_prep() -> None:
    clock = started(PREP)
    assert play(clock, [(1, "skip"), (2, "skip"), (3, "skip")]) == [
        (1, PrepBegan("con", 1, 20.0)),
        (2, PhaseBegan(1, PHASES[1])),
        (3, PhaseBegan(2, PHASES[2])),
    ]
    assert play(clock, [(4, "skip")]) == [(4, PrepBegan("con", 3, 19.0))]
    with pytest.raises(WrongState, match="not your turn"):
        play(clock, [(5, "yield_turn", "pro")])
    assert play(clock, [(6, "yield_turn", "con")]) == [(6, PhaseBegan(3, PHASES[3]))]


def test_prep_runs_out_and_the_speech_starts() -> None:
    clock = started(PREP)
    play(clock, [(0, "skip")])
    assert clock.snapshot(10).floor == ()
    assert play(clock, [(19, "tick"), (20, "tick")]) == [(20, PhaseBegan(1, PHASES[1]))]
    snap = clock.snapshot(20)
    assert snap.prep_left["con"] == 0
    assert snap.floor == ("con",)
    assert play(clock, [(21, "skip"), (22, "skip")]) == [
        (21, PhaseBegan(2, PHASES[2])),
        (22, PhaseBegan(3, PHASES[3])),  # con's pool is empty: no prep
    ]


def test_pause_during_prep_freezes_the_pool() -> None:
    clock = started(PREP)
    play(clock, [(2, "skip")])  # con preps from t=2
    assert play(clock, [(7, "pause")]) == [(7, Paused("moderator"))]
    assert play(clock, [(100, "tick")]) == []
    snap = clock.snapshot(100)
    assert (snap.paused, snap.prep_left["con"], snap.deadline) == (True, 15.0, None)
    assert play(clock, [(100, "resume"), (114, "tick"), (115, "tick")]) == [
        (100, Resumed()),
        (115, PhaseBegan(1, PHASES[1])),
    ]


def test_pause_keeps_the_time_left() -> None:
    clock = started()
    assert play(clock, [(20, "pause"), (500, "resume")]) == [
        (20, Paused("moderator")),
        (500, Resumed()),
    ]
    snap = clock.snapshot(500)
    assert (snap.deadline, snap.floor) == (540, ("pro",))


def test_pause_in_the_grace_keeps_the_grace_left() -> None:
    clock = started()
    play(clock, [(60, "tick"), (62, "pause"), (90, "resume")])
    assert play(clock, [(92, "tick"), (93, "tick")]) == [(93, PhaseBegan(1, PHASES[1]))]


def test_a_debater_who_returns_in_time_resumes() -> None:
    clock = started()
    assert play(clock, [(10, "leave", "con")]) == [(10, Paused("absent", "con", 70))]
    assert clock.snapshot(30).absent == {"con": 70}
    assert play(clock, [(69, "arrive", "con")]) == [(69, Resumed())]
    assert clock.snapshot(69).deadline == 119


def test_a_debater_who_does_not_return_forfeits() -> None:
    clock = started()
    play(clock, [(10, "leave", "con")])
    assert play(clock, [(69, "tick"), (70, "tick")]) == [(70, Ended("forfeit", "pro"))]
    assert (clock.outcome, clock.winner) == ("forfeit", "pro")


def test_a_forfeit_against_a_reporter_is_excused() -> None:
    clock = started()
    assert clock.excuse() == []  # nothing to excuse while the debate runs
    play(clock, [(10, "leave", "con")])
    play(clock, [(70, "tick")])
    assert clock.excuse() == [Ended("reported")]
    assert (clock.outcome, clock.winner) == ("reported", None)
    assert clock.snapshot(71).outcome == "reported"
    assert clock.excuse() == []  # once


def test_both_gone_is_abandoned() -> None:
    clock = started()
    play(clock, [(10, "leave", "con"), (20, "leave", "pro")])
    assert play(clock, [(70, "tick")]) == [(70, Ended("abandoned"))]


def test_pauses_stack() -> None:
    clock = started()
    play(clock, [(10, "pause"), (11, "leave", "pro")])
    assert play(clock, [(12, "resume")]) == []
    assert clock.snapshot(12).pause_reasons == ("absent",)
    assert play(clock, [(20, "arrive", "pro")]) == [(20, Resumed())]
    assert clock.snapshot(20).deadline == 70


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ([(0, "pause")], "not started"),
        ([(0, "resume")], "not started"),
        ([(0, "extend", 10)], "not started"),
        ([(0, "yield_turn", "pro")], "not started"),
        ([(0, "end"), (1, "end")], "already ended"),
        ([(0, "end"), (1, "skip")], "has ended"),
    ],
)
def test_refused_before_and_after(script: list[Step], message: str) -> None:
    clock = DebateClock(DEBATE, 0)
    play(clock, [(0, "arrive", "pro"), (0, "arrive", "con")])
    with pytest.raises(WrongState, match=message):
        play(clock, script)


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ((5, "yield_turn", "con"), "not your turn"),
        ((5, "ready", "pro"), "already started"),
        ((5, "resume"), "not paused"),
    ],
)
def test_refused_commands_change_nothing(step: Step, message: str) -> None:
    clock = started()
    before = clock.snapshot(5)
    with pytest.raises(WrongState, match=message):
        play(clock, [step])
    assert clock.snapshot(5) == before


def test_refused_command_keeps_what_time_did() -> None:
    clock = started()
    with pytest.raises(WrongState):
        play(clock, [(65, "yield_turn", "pro")])  # the floor passed to con at 65
    assert play(clock, [(65, "tick")]) == [(65, Warned(0, 5)), (65, PhaseBegan(1, PHASES[1]))]


def test_pause_twice_and_yield_while_paused_are_refused() -> None:
    clock = started()
    play(clock, [(1, "pause")])
    with pytest.raises(WrongState, match="already paused"):
        play(clock, [(2, "pause")])
    with pytest.raises(WrongState, match="paused"):
        play(clock, [(2, "yield_turn", "pro")])


@pytest.mark.parametrize(
    ("script", "floor"),
    [
        ([], ("pro",)),
        ([(1, "skip")], ("con",)),
        ([(1, "skip"), (2, "skip")], ("pro", "con")),
        ([(1, "skip"), (2, "skip"), (3, "skip")], ("con",)),
        ([(1, "pause")], ("pro", "con")),
        ([(61, "tick")], ("pro",)),
        ([(1, "end")], ("pro", "con")),
    ],
)
def test_floor(script: list[Step], floor: tuple[str, ...]) -> None:
    clock = started()
    play(clock, script)
    assert clock.snapshot(4).floor == floor


@pytest.mark.parametrize(
    ("script", "wakeup"),
    [
        ([], 30.0),  # first warning
        ([(30, "tick")], 50.0),
        ([(50, "tick")], 60.0),  # time up
        ([(60, "tick")], 65.0),  # end of grace
        ([(1, "pause")], None),
        ([(1, "leave", "pro")], 61.0),  # seat given up
        ([(1, "end")], None),
    ],
)
def test_next_wakeup(script: list[Step], wakeup: float | None) -> None:
    clock = started()
    play(clock, script)
    assert clock.next_wakeup() == wakeup


def test_waiting_wakeup_is_the_auto_start() -> None:
    clock = DebateClock(DEBATE, 0)
    assert clock.next_wakeup() == 60  # the seats held for the join
    play(clock, [(3, "arrive", "pro"), (4, "arrive", "con")])
    assert clock.next_wakeup() == 34


def test_casual_talk_has_a_soft_limit() -> None:
    clock = DebateClock(CASUAL, 0)
    events = play(clock, [(0, "arrive", "pro"), (2, "arrive", "con")])
    assert [type(e) for _, e in events] == [PhaseBegan]
    assert clock.snapshot(2).floor == ("pro", "con")
    assert play(clock, [(482, "tick"), (601, "tick"), (602, "tick")]) == [
        (482, Warned(120)),
        (602, Ended("finished")),
    ]


def test_casual_talk_left_for_good_is_finished() -> None:
    clock = DebateClock(CASUAL, 0)
    play(clock, [(0, "arrive", "pro"), (0, "arrive", "con"), (10, "leave", "pro")])
    assert play(clock, [(70, "tick")]) == [(70, Ended("finished"))]
