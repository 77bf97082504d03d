"""The moderator's side of a debate's audience (docs/PROTOCOL.md, "Audience").

Spectators are hidden: the moderator cannot see them. The API counts them from LiveKit's
webhooks into Redis (lobby/audience.py); every `AUDIENCE_PERIOD` seconds the moderator reads
that count, and publishes it as its `audience` attribute when it changed, and writes the phase
it shows, for the API's list of live debates. When the last phase of a debate begins it opens
the audience's vote in Postgres (at once on the phase's event, and from the loop too, which
also covers a moderator that took over in the last phase). Redis or Postgres trouble never
holds the room up: a step that fails is logged and tried again at the next round.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from agent.clock_types import Snapshot
from lobby.audience import Audiences
from lobby.contract import AUDIENCE_PERIOD
from lobby.db import Database
from lobby.formats import Format

logger = logging.getLogger("disco.moderator.audience")

# The longest one Redis or Postgres call may take here.
CALL = 3.0


def in_last_phase(snap: Snapshot, fmt: Format) -> bool:
    """A debate's last phase runs (its speech, not the preparation before it)."""
    last = len(fmt.phases) - 1
    return (
        fmt.is_debate
        and snap.status == "running"
        and snap.prep_side is None
        and (snap.index == last)
    )


def phase_label(snap: Snapshot) -> str:
    """What the list of live debates shows: the phase's name while it runs, else the status."""
    if snap.status == "running" and snap.phase is not None:
        return snap.phase.name
    return snap.status


class Audience:
    def __init__(self, audiences: Audiences, db: Database, room: str, discussion_id: str) -> None:
        self._audiences = audiences
        self._db = db
        self._room = room
        self._discussion_id = discussion_id
        self.count = 0
        self._voting = False  # opened in Postgres

    async def follow(
        self,
        current: Callable[[], tuple[Snapshot, Format]],
        changed: Callable[[], Awaitable[None]],
    ) -> None:
        """Until cancelled: write the phase, read the count, and call `changed` when it moved;
        open the vote if the last phase runs and it is not open yet."""
        while True:
            snap, fmt = current()
            if not self._voting and in_last_phase(snap, fmt):
                await self._open_voting()
            try:
                await asyncio.wait_for(
                    self._audiences.set_phase(self._room, phase_label(snap)), CALL
                )
                count = await asyncio.wait_for(self._audiences.count(self._room), CALL)
            except Exception:
                logger.warning("audience not read", extra={"room": self._room}, exc_info=True)
                count = self.count
            if count != self.count:
                self.count = count
                await changed()
            await asyncio.sleep(AUDIENCE_PERIOD)

    async def phase_began(self, index: int, fmt: Format) -> None:
        """Open the vote when the debate's last phase begins."""
        if fmt.is_debate and index == len(fmt.phases) - 1 and not self._voting:
            await self._open_voting()

    async def _open_voting(self) -> None:
        try:
            await asyncio.wait_for(self._db.open_voting(self._discussion_id), CALL)
        except Exception:
            logger.warning("voting not opened", extra={"room": self._room}, exc_info=True)
            return
        self._voting = True
        logger.info("voting opened", extra={"room": self._room})
