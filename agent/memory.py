"""Where a moderator keeps its room's debate, so that the moderator dispatched after it died
goes on from there (docs/PROTOCOL.md, "When the moderator restarts").

The record (`agent.state.Record`) is written whenever the debate changes: when a change is
made (before the room is told, so a change is kept even while telling the room is held up)
and after the room was told (the `seq` each person was sent). Between changes nothing in it
moves: a running time is stored as its deadline. The moderator's heartbeat beside it (written
every second for every room of the worker at once, agent/room_beats.py) says until when that
record held, so a successor takes the clock as it stood at the last heartbeat and starts from
there: the time the room had no moderator counts against nobody. The API's supervisor takes
a room whose heartbeat stopped for a few seconds for a room without a moderator. Redis
trouble never holds the room up: a write that fails or takes too long is logged and tried
again every second (`pulse`), and until a change is written the heartbeat stands still, so a
successor never takes an older record for a newer one.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from agent.errors import InvalidPayload
from agent.room_beats import PERIOD, Beat
from agent.state import Record
from lobby.debate_states import DebateStates

logger = logging.getLogger("disco.moderator.memory")

# The longest a Redis call may take: a write is late by then, and a start must not wait long.
CALL = 3.0


class Memory:
    def __init__(self, states: DebateStates, beat: Beat) -> None:
        self._states = states
        self._beat = beat
        self._room = beat.room
        self._lock = asyncio.Lock()
        self._changes = 0  # changes made, and of those written to Redis
        self._written = 0

    async def recall(self, match_id: str) -> Record | None:
        """The record a previous moderator of this match left, if any can be read."""
        try:
            found = await asyncio.wait_for(self._states.load(self._room), CALL)
        except Exception:
            logger.exception("saved debate not read", extra={"room": self._room})
            return None
        if found is None:
            return None
        raw, beat = found
        try:
            record = Record.from_json(raw)
        except InvalidPayload as e:
            logger.warning("saved debate unreadable", extra={"room": self._room, "why": e.message})
            return None
        if record.match_id != match_id:  # a room name is never reused; refuse it if it was
            logger.warning("saved debate of another match", extra={"room": self._room})
            return None
        if beat is not None and beat > record.clock.at:
            # Nothing changed after the record was written (a change writes it again), so it
            # still held at the last heartbeat: the clock goes on from then.
            record = dataclasses.replace(record, clock=dataclasses.replace(record.clock, at=beat))
        return record

    def keep(self, take: Callable[[], Record]) -> Coroutine[Any, Any, None]:
        """The debate changed: the write of its record, to be run as a task. Until that write
        (or a later one) succeeds, the heartbeat stands still (`pulse`)."""
        self._changes += 1
        return self._write(take)

    async def _write(self, take: Callable[[], Record]) -> None:
        # One write at a time, each taking the record when its turn comes, so a slow older
        # write never lands after a newer one.
        async with self._lock:
            changes = self._changes
            try:
                record = take()
                saving = self._states.save(self._room, record.to_json(), record.clock.at)
                await asyncio.wait_for(saving, CALL)
            except Exception:
                logger.warning("debate not saved", extra={"room": self._room}, exc_info=True)
                return
            self._written = max(self._written, changes)

    async def pulse(self, take: Callable[[], Record]) -> None:
        """Until cancelled, every `PERIOD` seconds: write the record again if a change is not
        written yet (its write failed), and once it is, tell the worker's round that the
        moderator is alive, the record holding as written."""
        while True:
            if self._written < self._changes:
                await self._write(take)
            if self._written >= self._changes:
                self._beat.alive_at = time.time()
            await asyncio.sleep(PERIOD)
