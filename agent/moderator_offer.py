"""A casual talk's offer to become a quick debate, as the moderator carries it out.

Whether an offer may be made or answered is decided in `agent/proposal.py` (pure); this mixin
of `agent/moderator.py`'s `Moderator` tells the room and, on a yes, switches the room's clock
to the quick debate's format with both sides seated and ready.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Coroutine
from typing import Any

from agent import proposal
from agent.clock import DebateClock
from agent.clock_types import SIDES, Event
from agent.proposal import QUICK_DEBATE, Proposal
from agent.state import Seats
from lobby.contract import Job
from lobby.db import Database
from lobby.formats import Catalogue, Format, Side


class QuickDebateOffer:
    """What the offer needs of the moderator: its state, and the ways it changes the room."""

    job: Job
    db: Database
    _catalogue: Catalogue
    _format: Format
    _seats: Seats
    _clock: DebateClock
    _rng: random.Random
    _proposal: Proposal | None

    def side_of(self, identity: str) -> Side:
        raise NotImplementedError

    def state_for(self, identity: str) -> dict[str, Any]:
        raise NotImplementedError

    async def broadcast(self, bodies: list[dict[str, Any]]) -> None:
        raise NotImplementedError

    async def _apply(
        self, change: Callable[[float], list[Event]], *, from_loop: bool = False
    ) -> list[Event]:
        raise NotImplementedError

    async def _quietly(self, coro: Coroutine[Any, Any, object]) -> None:
        raise NotImplementedError

    async def _in_time(self, update: Coroutine[Any, Any, object]) -> None:
        raise NotImplementedError

    async def propose(self, identity: str) -> dict[str, Any]:
        self.side_of(identity)
        now = time.time()
        status = self._clock.snapshot(now).status
        debate = self._format.is_debate
        self._proposal = proposal.propose(
            self._proposal, identity, is_debate=debate, status=status, now=now
        )
        body = {"type": "proposal", "from": identity, "format": QUICK_DEBATE}
        await self.broadcast([{**body, "expires_at": round(self._proposal.expires_at * 1000)}])
        return self.state_for(identity)

    async def respond(self, identity: str, accept: bool) -> dict[str, Any]:
        self.side_of(identity)
        quick = self._catalogue.get(QUICK_DEBATE)
        offered = quick is not None
        answered = proposal.answerable(self._proposal, identity, offered=offered, now=time.time())
        self._proposal = None
        if not accept:
            await self.broadcast([{"type": "proposal_declined", "by": identity}])
        elif quick is not None:
            await self._become_debate(quick, answered.by)
        return self.state_for(identity)

    async def _become_debate(self, quick: Format, proposer: str) -> None:
        # A fair coin: the proposer's side is drawn, the other person takes the other side.
        seats = proposal.debate_seats(self._seats, proposer, SIDES[self._rng.randrange(2)])

        def switch(now: float) -> list[Event]:
            self._format, self._seats = quick, seats
            self._clock = DebateClock(quick, now)
            for s in SIDES:
                self._clock.arrive(s, now)
            self._clock.ready(SIDES[0], now)
            return self._clock.ready(SIDES[1], now)

        await self._in_time(self._apply(switch))
        await self._quietly(self.db.set_format(self.job.discussion_id, quick.id, dict(seats.sides)))
