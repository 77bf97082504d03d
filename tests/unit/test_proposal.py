"""The casual-to-debate proposal, decided without a room: who may propose and answer, when."""

from __future__ import annotations

import pytest

from agent.clock_types import Status
from agent.errors import WrongState
from agent.proposal import PROPOSAL_SECONDS, Proposal, answerable, debate_seats, propose
from agent.state import Seats
from lobby.formats import Side

NOW = 1000.0
OPEN = Proposal("a", NOW + 5)
EXPIRED = Proposal("a", NOW)


@pytest.mark.parametrize(
    ("current", "is_debate", "status", "expected"),
    [
        (None, False, "running", Proposal("b", NOW + PROPOSAL_SECONDS)),
        (EXPIRED, False, "running", Proposal("b", NOW + PROPOSAL_SECONDS)),
        (OPEN, False, "running", "a proposal is already open"),
        (None, True, "running", "this is already a debate"),
        (None, False, "waiting", "the talk is not under way"),
        (None, False, "ended", "the talk is not under way"),
    ],
)
def test_propose(
    current: Proposal | None, is_debate: bool, status: Status, expected: Proposal | str
) -> None:
    if isinstance(expected, str):
        with pytest.raises(WrongState, match=expected):
            propose(current, "b", is_debate=is_debate, status=status, now=NOW)
    else:
        assert propose(current, "b", is_debate=is_debate, status=status, now=NOW) == expected


@pytest.mark.parametrize(
    ("current", "by", "offered", "expected"),
    [
        (OPEN, "b", True, OPEN),
        (None, "b", True, "there is no open proposal"),
        (EXPIRED, "b", True, "there is no open proposal"),
        (OPEN, "a", True, "the other person answers a proposal"),
        (OPEN, "b", False, "quick debates are not offered"),
    ],
)
def test_answerable(
    current: Proposal | None, by: str, offered: bool, expected: Proposal | str
) -> None:
    if isinstance(expected, str):
        with pytest.raises(WrongState, match=expected):
            answerable(current, by, offered=offered, now=NOW)
    else:
        assert answerable(current, by, offered=offered, now=NOW) == expected


@pytest.mark.parametrize(("side", "other_side"), [("pro", "con"), ("con", "pro")])
def test_debate_seats_give_the_proposer_the_coin_side(side: Side, other_side: Side) -> None:
    casual = Seats({"a": "pro", "b": "con"}, shown=False)
    assert debate_seats(casual, "b", side) == Seats({"b": side, "a": other_side}, shown=True)
