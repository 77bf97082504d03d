"""What the moderator shares: the job it reads, the attributes and event bodies it writes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agent.clock import DebateClock
from agent.clock_types import Ended, Paused, PhaseBegan, PrepBegan, Warned
from agent.errors import InvalidPayload
from agent.state import Seats, attributes, payload
from lobby.contract import Debater, Job
from tests.unit.clock_script import DEBATE, PHASES, started

JOB: dict[str, Any] = {
    "role": "moderator",
    "match_id": "m1",
    "discussion_id": "d1",
    "room": "talk-1",
    "topic": "cats",
    "topic_title": "Cats",
    "motion": "Cats beat dogs",
    "format": "quick-debate",
    "participants": [
        {"identity": "a", "display_name": "A", "side": "con"},
        {"identity": "b", "display_name": "B", "side": "pro"},
    ],
}
SEATS = Seats({"a": "con", "b": "pro"}, shown=True)


def test_job_is_read() -> None:
    job = Job.from_json(json.dumps(JOB))
    assert (job.room, job.format, job.motion) == ("talk-1", "quick-debate", "Cats beat dogs")
    assert job.debaters == (Debater("a", "A", "con"), Debater("b", "B", "pro"))


@pytest.mark.parametrize(
    "bad",
    [
        "not json",
        json.dumps([]),
        json.dumps({**JOB, "participants": JOB["participants"][:1]}),
        json.dumps({**JOB, "participants": [{"side": "pro"}, {"identity": "b"}]}),
        json.dumps({**JOB, "room": 7}),
    ],
)
def test_bad_job_is_refused(bad: str) -> None:
    with pytest.raises(InvalidPayload):
        Job.from_json(bad)


@pytest.mark.parametrize(
    ("sides", "debate", "expected"),
    [
        (("con", "pro"), True, Seats({"a": "con", "b": "pro"}, True)),
        ((None, None), True, Seats({"a": "pro", "b": "con"}, True)),
        (("pro", "pro"), True, Seats({"a": "pro", "b": "con"}, True)),
        ((None, None), False, Seats({"a": "pro", "b": "con"}, False)),
    ],
)
def test_seats(sides: tuple[Any, Any], debate: bool, expected: Seats) -> None:
    debaters = (Debater("a", "A", sides[0]), Debater("b", "B", sides[1]))
    assert Seats.assign(debaters, debate=debate) == expected


def test_casual_seats_show_no_side() -> None:
    assert Seats({"a": "pro", "b": "con"}, shown=False).public() == {"a": None, "b": None}


def test_attributes_are_strings_with_identities() -> None:
    clock = started(at=1000)
    attrs = attributes(clock.snapshot(1010), SEATS, "t")
    assert all(isinstance(v, str) for v in attrs.values())
    assert (attrs["format"], attrs["status"], attrs["paused"]) == ("t", "running", "false")
    assert json.loads(attrs["floor"]) == ["b"]
    assert json.loads(attrs["deadline"]) == 1_060_000
    assert json.loads(attrs["phase"])["name"] == PHASES[0].name
    assert attrs["prep"] == attrs["outcome"] == attrs["remaining_ms"] == ""


def test_waiting_attributes() -> None:
    clock = DebateClock(DEBATE, 0)
    clock.arrive("pro", 1)
    clock.arrive("con", 2)
    attrs = attributes(clock.snapshot(3), SEATS, "t")
    assert (attrs["status"], attrs["phase"], attrs["deadline"]) == ("waiting", "", "")
    assert json.loads(attrs["starts_at"]) == 32_000
    assert json.loads(attrs["floor"]) == ["b", "a"]


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (PhaseBegan(0, PHASES[0]), {"type": "phase", "index": 0, "floor": ["b"]}),
        (PrepBegan("con", 1, 20), {"type": "phase", "kind": "prep", "prep": "a", "floor": []}),
        (Warned(30), {"type": "warning", "seconds_left": 30, "grace": 0}),
        (Paused("absent", "con", 70.5), {"reason": "absent", "identity": "a", "hold_until": 70500}),
        (Ended("forfeit", "pro"), {"type": "ended", "outcome": "forfeit", "winner": "b"}),
    ],
)
def test_event_bodies(event: Any, expected: dict[str, Any]) -> None:
    body = payload(event, started().snapshot(0), SEATS)
    assert {k: body[k] for k in expected} == expected
