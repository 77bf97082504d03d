"""The match life cycle, as tables."""

from __future__ import annotations

import random

import pytest

from lobby.errors import Busy, LobbyError, NotYourMatch, UnknownMatch
from lobby.lifecycle import Outcome, expire, extend, leave, propose, respond
from lobby.model import Match, Ticket
from lobby.policy import Pairing


def _match(accepted: tuple[bool, bool] = (False, False)) -> Match:
    a = Ticket("a", "A", "tea", "casual", None, 1.0)
    b = Ticket("b", "B", "tea", "casual", None, 2.0)
    (m,) = propose([Pairing(a, b, None, None)], 100.0, random.Random(5), 20.0)
    out = m
    for user, yes in zip("ab", accepted, strict=True):
        if yes:
            out = respond(out, user, True, 101.0).match
    return out


Users = tuple[str, ...]
# kind, reason, requeued, dropped, at fault (earn a strike)
Summary = tuple[str, str, Users, Users, Users]


def _summary(o: Outcome) -> Summary:
    return (o.kind, o.reason, o.requeue, o.drop, o.at_fault)


def test_propose_makes_unguessable_distinct_names() -> None:
    m = _match()
    assert m.expires_at == 120.0 and m.state == "pending"
    assert len(m.id) == 32 and m.room.startswith("disco-") and len(m.room) == 38
    assert m.id not in m.room


def test_propose_names_every_match_of_a_batch_apart() -> None:
    tickets = [Ticket(u, u.upper(), "tea", "casual", None, 1.0) for u in "abcdef"]
    pairings = [Pairing(tickets[i], tickets[i + 1], None, None) for i in range(0, 6, 2)]
    matches = propose(pairings, 100.0, random.Random(5), 20.0)
    assert [m.users for m in matches] == [("a", "b"), ("c", "d"), ("e", "f")]
    names = [m.id for m in matches] + [m.room.removeprefix("disco-") for m in matches]
    assert len(set(names)) == 6 and all(len(n) == 32 for n in names)
    assert propose([], 100.0, random.Random(5), 20.0) == []


@pytest.mark.parametrize(
    ("accepted", "user", "accept", "expected"),
    [
        ((False, False), "a", True, ("updated", "", (), (), ())),
        ((True, False), "a", True, ("unchanged", "", (), (), ())),
        ((True, False), "b", True, ("started", "", (), (), ())),
        ((False, False), "a", False, ("cancelled", "declined", ("b",), ("a",), ("a",))),
        ((False, True), "a", False, ("cancelled", "declined", ("b",), ("a",), ("a",))),
        ((True, False), "a", False, ("cancelled", "declined", ("b",), ("a",), ("a",))),
        ((True, False), "b", False, ("cancelled", "declined", ("a",), ("b",), ("b",))),
    ],
)
def test_respond(accepted: tuple[bool, bool], user: str, accept: bool, expected: Summary) -> None:
    before = _match(accepted)
    out = respond(before, user, accept, 110.0)
    assert _summary(out) == expected
    if out.kind != "unchanged":
        assert out.match.version == before.version + 1
    if out.kind == "started":
        assert out.match.state == "starting"


@pytest.mark.parametrize(
    ("user", "now", "accepted_state", "error"),
    [
        ("c", 110.0, "pending", NotYourMatch),
        ("a", 120.0, "pending", UnknownMatch),
        ("a", 110.0, "starting", Busy),
    ],
)
def test_respond_refuses(
    user: str, now: float, accepted_state: str, error: type[LobbyError]
) -> None:
    m = _match()
    if accepted_state == "starting":
        m = respond(respond(m, "a", True, 101.0).match, "b", True, 101.0).match
    with pytest.raises(error):
        respond(m, user, True, now)


@pytest.mark.parametrize(
    ("accepted", "now", "expected"),
    [
        ((False, False), 119.9, ("unchanged", "", (), (), ())),
        ((True, False), 119.9, ("unchanged", "", (), (), ())),
        ((False, False), 120.0, ("cancelled", "expired", (), ("a", "b"), ("a", "b"))),
        ((True, False), 125.0, ("cancelled", "expired", ("a",), ("b",), ("b",))),
        ((False, True), 125.0, ("cancelled", "expired", ("b",), ("a",), ("a",))),
    ],
)
def test_expire(accepted: tuple[bool, bool], now: float, expected: Summary) -> None:
    assert _summary(expire(_match(accepted), now)) == expected


@pytest.mark.parametrize(
    ("accepted", "user", "expected"),
    [
        ((True, False), "a", ("cancelled", "partner_left", ("b",), ("a",), ("a",))),
        ((True, False), "b", ("cancelled", "partner_left", ("a",), ("b",), ("b",))),
        ((False, False), "a", ("cancelled", "partner_left", ("b",), ("a",), ("a",))),
    ],
)
def test_leave(accepted: tuple[bool, bool], user: str, expected: Summary) -> None:
    """Leaving (or losing the connection) during a proposal is the leaver's fault, even after
    accepting it; the partner never is."""
    assert _summary(leave(_match(accepted), user)) == expected


def test_leave_is_refused_for_a_stranger_and_ignored_once_started() -> None:
    with pytest.raises(NotYourMatch):
        leave(_match(), "z")
    started = respond(_match((True, False)), "b", True, 105.0).match
    assert _summary(leave(started, "a")) == ("unchanged", "", (), (), ())


def test_extend_gives_a_fresh_deadline_and_keeps_answers() -> None:
    m = _match((True, False))
    out = extend(m, 500.0, 20.0)
    later = out.match
    assert out.kind == "updated" and out.at_fault == ()  # nobody could answer: no strike
    assert later.expires_at == 520.0 and later.version == m.version + 1
    assert [s.accepted for s in later.seats] == [True, False]
    assert extend(m, 101.0, 20.0).match.expires_at == 121.0
