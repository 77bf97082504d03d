"""A casual talk turning into a quick debate: one person proposes, the other accepts or
declines within `PROPOSAL_SECONDS`. Pure: time and the coin are arguments; the moderator
(`agent/moderator.py`) applies what these decide.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.clock_types import Status, other
from agent.errors import WrongState
from agent.state import Seats
from lobby.formats import Side

QUICK_DEBATE = "quick-debate"
PROPOSAL_SECONDS = 30


@dataclass(frozen=True, slots=True)
class Proposal:
    by: str
    expires_at: float

    def is_open(self, now: float) -> bool:
        return self.expires_at > now


def propose(
    current: Proposal | None, by: str, *, is_debate: bool, status: Status, now: float
) -> Proposal:
    """The proposal `by` opens now, or WrongState saying why it cannot be made."""
    if is_debate:
        raise WrongState("this is already a debate")
    if status != "running":
        raise WrongState("the talk is not under way")
    if current is not None and current.is_open(now):
        raise WrongState("a proposal is already open")
    return Proposal(by, now + PROPOSAL_SECONDS)


def answerable(current: Proposal | None, by: str, *, offered: bool, now: float) -> Proposal:
    """The open proposal `by` may answer, or WrongState saying why there is none to answer.
    `offered`: the catalogue has the quick debate a proposal leads to."""
    if current is None or not current.is_open(now):
        raise WrongState("there is no open proposal")
    if current.by == by:
        raise WrongState("the other person answers a proposal")
    if not offered:
        raise WrongState("quick debates are not offered")
    return current


def debate_seats(seats: Seats, proposer: str, side: Side) -> Seats:
    """The seats once accepted: the proposer takes `side` (a fair coin's), the other person
    the other side, and both are shown."""
    opponent = next(i for i in seats.sides if i != proposer)
    return Seats({proposer: side, opponent: other(side)}, shown=True)
