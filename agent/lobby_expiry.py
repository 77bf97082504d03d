"""The lobby agent's expiry loop: pending proposals whose deadline passed are expired (whoever
did not answer is dropped and earns a strike).

Unless the deadline passed while Redis was away: the loop makes a round trip to Redis at least
every second, and a failed one, or a silence longer than `OUTAGE_GAP` between two, means the
agent was cut off. The first answer after that runs the lobby's recovery (the one run after a
restart: every pending proposal gets a fresh deadline and is proposed again, answers kept)
before anything is expired, so no expiry caused by an outage counts against anyone.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from agent.lobby_pairing import PAIRING_PERIOD
from lobby import lifecycle
from lobby.lifecycle import Outcome
from lobby.model import Match
from lobby.outage import is_outage
from lobby.store import LobbyStore
from lobby.supervise import Backoff, Link, failed

logger = logging.getLogger("disco.lobby")

# A silence from Redis longer than this between two of the loop's round trips is an outage.
OUTAGE_GAP = 3.0

Apply = Callable[[str, Callable[[Match], Outcome]], Awaitable[Outcome | None]]


class Expiry:
    def __init__(
        self, store: LobbyStore, apply: Apply, recover: Callable[[], Awaitable[None]]
    ) -> None:
        self.store, self._apply, self._recover = store, apply, recover
        self._link = Link(OUTAGE_GAP, time.monotonic())

    async def loop(self) -> None:
        backoff = Backoff()
        while True:
            try:
                await self._expire_due()
                backoff.reset()
            except Exception as e:
                self._link.failed()
                failed(logger, "lobby expiry round failed", e)
                await asyncio.sleep(backoff.delay())

    async def _expire_due(self) -> None:
        """Expire the proposals that fell due; after an outage, recover first instead."""
        nxt = await self.store.next_deadline()
        if await self._resumed():
            return
        delay = PAIRING_PERIOD if nxt is None else nxt - time.time()
        await asyncio.sleep(min(PAIRING_PERIOD, max(0.02, delay)))
        due = await self.store.due(time.time())
        if await self._resumed():
            return
        for mid in due:
            try:
                await self._apply(mid, lambda m: lifecycle.expire(m, time.time()))
            except Exception as e:
                if is_outage(e):
                    raise
                logger.exception("lobby expiry failed", extra={"match": mid})
        self._link.busy(time.monotonic())

    async def _resumed(self) -> bool:
        """Redis just answered: if it had been away, recover and say so."""
        if not self._link.answered(time.monotonic()):
            return False
        logger.warning("lobby storage answers again; recovering")
        await self._recover()
        return True
