"""Where a moderator keeps its room's debate, so that the moderator dispatched after it died
goes on from there (docs/PROTOCOL.md, "When the moderator restarts").

The record (`agent.state.Record`) is written after every change the room is told of, and
again every `REFRESH` seconds while the moderator runs, so a successor finds the clock at most
that much behind; the clock stores what was left of each running time, and the successor's
clock starts from there, so the time the room had no moderator counts against nobody. Redis
trouble never holds the room up: a write that fails or takes too long is logged and the next
one tries again. The time of each write is the moderator's heartbeat: the API's supervisor
takes a room whose moderator has not written for a few seconds for a room without one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from agent.errors import InvalidPayload
from agent.state import Record
from lobby.debate_states import DebateStates

logger = logging.getLogger("disco.moderator.memory")

REFRESH = 1.0
# The longest a Redis call may take: a write is late by then, and a start must not wait long.
CALL = 3.0


class Memory:
    def __init__(self, states: DebateStates, room: str) -> None:
        self._states = states
        self._room = room
        self._lock = asyncio.Lock()

    async def recall(self, match_id: str) -> Record | None:
        """The record a previous moderator of this match left, if any can be read."""
        try:
            raw = await asyncio.wait_for(self._states.load(self._room), CALL)
        except Exception:
            logger.exception("saved debate not read", extra={"room": self._room})
            return None
        if raw is None:
            return None
        try:
            record = Record.from_json(raw)
        except InvalidPayload as e:
            logger.warning("saved debate unreadable", extra={"room": self._room, "why": e.message})
            return None
        if record.match_id != match_id:  # a room name is never reused; refuse it if it was
            logger.warning("saved debate of another match", extra={"room": self._room})
            return None
        return record

    async def keep(self, take: Callable[[], Record]) -> None:
        """Write the record as it is now. Writes go one at a time, each taking the record when
        its turn comes, so a slow older write never lands after a newer one."""
        async with self._lock:
            try:
                record = take()
                saving = self._states.save(self._room, record.to_json(), record.clock.at)
                await asyncio.wait_for(saving, CALL)
            except Exception:
                logger.warning("debate not saved", extra={"room": self._room}, exc_info=True)

    async def refresh(self, take: Callable[[], Record]) -> None:
        """Write the record every `REFRESH` seconds, until cancelled."""
        while True:
            await self.keep(take)
            await asyncio.sleep(REFRESH)
