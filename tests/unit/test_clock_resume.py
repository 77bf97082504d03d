"""A moderator that dies leaves its debate behind (`DebateClock.save`, `Record.to_json`); the one
dispatched after it goes on from there (`Record.from_json`, `DebateClock.restore`), and the time
in between counts against nobody."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from typing import Any

import pytest

from agent.clock import DebateClock
from agent.clock_types import Ended, PhaseBegan, PrepBegan, Resumed, Saved, Warned
from agent.errors import InvalidPayload
from agent.state import Record, Seats
from tests.unit.clock_script import CASUAL, DEBATE, PHASES, PREP, Step, play, started

SEATS = Seats({"a": "pro", "b": "con"}, shown=True)
GAP = 40.0  # how long the room had no moderator


def _clock(script: list[Step], fmt: Any = DEBATE) -> DebateClock:
    clock = started(fmt) if script and script[0][1] != "arrive" else DebateClock(fmt, 0)
    play(clock, script)
    return clock


# (the script before the moderator dies, when it last saved, what its successor then sees)
@pytest.mark.parametrize(
    ("script", "saved_at"),
    [
        pytest.param([(0, "arrive", "pro")], 5, id="waiting, one seat held"),
        pytest.param([(0, "arrive", "pro"), (1, "arrive", "con")], 10, id="waiting to start"),
        pytest.param([(20, "tick")], 20, id="mid-speech"),
        pytest.param([(52, "tick")], 53, id="after a warning"),
        pytest.param([(62, "tick")], 62, id="inside the grace"),
        pytest.param([(10, "pause")], 15, id="paused by a moderator"),
        pytest.param([(10, "leave", "con")], 12, id="a seat held"),
        pytest.param([(10, "leave", "con"), (11, "pause")], 12, id="two pauses"),
        pytest.param([(135, "tick"), (140, "yield_turn", "con")], 141, id="one side yielded"),
        pytest.param([(10, "extend", 30)], 11, id="extended"),
        pytest.param([(10, "end")], 11, id="ended"),
    ],
)
def test_a_restored_clock_goes_on_as_if_no_time_had_passed(
    script: list[Step], saved_at: float
) -> None:
    clock = _clock(script)
    twin = _clock(script)  # the moderator that never died
    record = Record("m", DEBATE.id, SEATS, clock.save(saved_at), {"a": 3})
    text = record.to_json()
    back = Record.from_json(text)
    assert back == record
    restored = DebateClock.restore(DEBATE, back.clock, saved_at + GAP)
    shifted = _shift(twin.snapshot(saved_at), GAP)
    assert restored.snapshot(saved_at + GAP) == shifted
    # And from then on it runs as the twin would have, GAP seconds later.
    later = [(t, "tick") for t in range(int(saved_at) + 1, 400, 7)]
    expected = [(t + GAP, e) for t, e in play(twin, later)]
    assert play(restored, [(t + GAP, c) for t, c in later]) == expected


def _shift(snap: Any, by: float) -> Any:
    def moved(t: float | None) -> float | None:
        return None if t is None else t + by

    return replace(
        snap,
        deadline=moved(snap.deadline),
        grace_until=moved(snap.grace_until),
        starts_at=moved(snap.starts_at),
        absent={s: t + by for s, t in snap.absent.items()},
    )


def test_the_speaker_keeps_the_time_that_was_left() -> None:
    clock = started()  # Pro speaks for 60 s from 0
    saved = clock.save(25)
    restored = DebateClock.restore(DEBATE, saved, 100)
    snap = restored.snapshot(100)
    assert (snap.index, snap.floor, snap.remaining) == (0, ("pro",), 35)
    assert play(restored, [(105, "tick"), (125, "tick"), (135, "tick"), (140, "tick")]) == [
        (105, Warned(30)),
        (125, Warned(10)),
        (135, Warned(0, DEBATE.grace)),
        (140, PhaseBegan(1, PHASES[1])),
    ]


def test_time_that_ran_out_before_the_save_comes_out_after_the_restore() -> None:
    clock = started()
    saved = clock.save(70)  # past the grace: the next phase is due, not yet applied
    restored = DebateClock.restore(DEBATE, saved, 500)
    events = restored.tick(500)
    assert PhaseBegan(1, PHASES[1]) in events
    assert restored.snapshot(500).remaining == pytest.approx(60 - 5)


def test_prep_and_its_pool_go_on() -> None:
    clock = started(PREP)
    play(clock, [(66, "tick")])  # con's prep before the con speech
    assert clock.snapshot(66).prep_side == "con"
    saved = clock.save(70)
    restored = DebateClock.restore(PREP, saved, 1000)
    snap = restored.snapshot(1000)
    assert snap.prep_side == "con" and snap.remaining == pytest.approx(15)  # began at 65
    assert restored.ready("con", 1001) == [PhaseBegan(1, PHASES[1])]
    assert restored.snapshot(1001).prep_left["con"] == pytest.approx(14)


def test_a_seat_hold_runs_on_after_the_gap() -> None:
    clock = started()
    play(clock, [(10, "leave", "con")])  # held until 70
    restored = DebateClock.restore(DEBATE, clock.save(30), 130)  # 40 s of the hold were left
    assert restored.tick(169) == []
    assert restored.tick(170) == [Ended("forfeit", "pro")]


def test_a_casual_talk_and_its_arrivals() -> None:
    clock = DebateClock(CASUAL, 0)
    play(clock, [(0, "arrive", "pro"), (1, "arrive", "con")])
    restored = DebateClock.restore(CASUAL, clock.save(100), 200)
    assert restored.snapshot(200).remaining == pytest.approx(CASUAL.soft_limit - 99)
    restored.leave("con", 200)
    assert restored.arrive("con", 201) == [Resumed()]


def test_a_saved_phase_the_format_lacks_is_refused() -> None:
    clock = started()
    play(clock, [(70, "skip"), (80, "skip")])
    saved = clock.save(81)
    short = replace(DEBATE, phases=PHASES[:1])
    with pytest.raises(ValueError, match="phase"):
        DebateClock.restore(short, saved, 90)


def test_prep_began_is_not_repeated_on_restore() -> None:
    clock = started(PREP)
    events = play(clock, [(66, "tick")])
    assert any(isinstance(e, PrepBegan) for _, e in events)
    restored = DebateClock.restore(PREP, clock.save(67), 300)
    assert restored.tick(300) == []


# -- the record's JSON -----------------------------------------------------------------------
def _good() -> dict[str, Any]:
    record = Record("m", "t", SEATS, started().save(5), {"a": 4, "b": 2}, ("a", 99.5))
    data: dict[str, Any] = json.loads(record.to_json())
    return data


def test_the_record_round_trips_with_a_proposal() -> None:
    record = Record.from_json(json.dumps(_good()))
    assert record.proposal == ("a", 99.5)
    assert record.seq == {"a": 4, "b": 2}
    assert Record.from_json(record.to_json()) == record


def _with(path: str, value: Any) -> str:
    data = _good()
    *outer, last = path.split(".")
    target = data
    for key in outer:
        target = target[key]
    if value is _DROP:
        del target[last]
    else:
        target[last] = value
    return json.dumps(data)


_DROP = object()


@pytest.mark.parametrize(
    ("text", "field"),
    [
        pytest.param("", None, id="empty"),
        pytest.param("[1]", "record", id="not an object"),
        pytest.param("[" * 100_000, None, id="nested past the parser"),
        pytest.param(_with("v", 2), "v", id="another version"),
        pytest.param(_with("match_id", 5), "match_id", id="match id not text"),
        pytest.param(_with("seats.sides", {"a": "pro", "b": "pro"}), "seats", id="one side twice"),
        pytest.param(_with("seats.sides", {"a": "pro"}), "seats", id="one seat"),
        pytest.param(_with("seats.shown", "yes"), "seats", id="shown not a bool"),
        pytest.param(_with("clock.status", "sleeping"), "status", id="unknown status"),
        pytest.param(_with("clock.deadline", "soon"), "deadline", id="deadline not a number"),
        pytest.param(_with("clock.deadline", True), "deadline", id="deadline a bool"),
        pytest.param(_with("clock.deadline", 10**400), "deadline", id="deadline past a float"),
        pytest.param(_with("clock.deadline", float("nan")), "deadline", id="deadline NaN"),
        pytest.param(_with("clock.left", _DROP), "left", id="left missing"),
        pytest.param(_with("clock.index", 1.5), "index", id="index not whole"),
        pytest.param(_with("clock.pauses", ["nap"]), "pauses", id="unknown pause"),
        pytest.param(_with("clock.absent", {"left": 3}), "absent", id="unknown side"),
        pytest.param(_with("clock.outcome", "won"), "outcome", id="unknown outcome"),
        pytest.param(_with("seq", {"a": "1"}), "seq", id="seq not a number"),
        pytest.param(_with("proposal", ["a"]), "proposal", id="proposal short"),
    ],
)
def test_a_bad_record_is_refused_by_name(text: str, field: str | None) -> None:
    with pytest.raises(InvalidPayload) as caught:
        Record.from_json(text)
    assert caught.value.details.get("field") == field


def test_saved_holds_plain_values() -> None:
    saved = started().save(3)
    assert isinstance(saved, Saved)
    json.dumps(asdict(saved))  # nothing but JSON's own types
