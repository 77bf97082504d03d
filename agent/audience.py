"""The moderator's side of a debate's audience (docs/PROTOCOL.md, "Audience").

Spectators are hidden: the moderator cannot see them. The API counts them from LiveKit's
webhooks into Redis (lobby/audience.py); every `AUDIENCE_PERIOD` seconds the worker's round
(agent/room_beats.py, one Redis round trip for all its rooms) writes the phase each moderator
shows, for the API's list of live debates, and reads each room's count; the moderator
publishes it as its `audience` attribute when it changed. When the debate's last phase runs
the moderator opens the audience's vote in Postgres (when the phase begins, or when a
moderator takes over in it). Redis or Postgres trouble never holds the room up: a step that
fails is logged and tried again later.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from agent.clock_types import Snapshot
from agent.room_beats import Beat
from lobby.contract import AUDIENCE_PERIOD
from lobby.db import Database
from lobby.formats import Format

logger = logging.getLogger("disco.moderator.audience")

Spawn = Callable[[Coroutine[Any, Any, None]], None]

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
    def __init__(self, beat: Beat, db: Database, discussion_id: str) -> None:
        self._beat = beat
        self._db = db
        self._room = beat.room
        self._discussion_id = discussion_id
        self._voting = False  # opened in Postgres
        self._opening = False

    @property
    def count(self) -> int:
        return self._beat.count

    def follow(self, changed: Callable[[], None]) -> None:
        """Call `changed` on this loop whenever the count moves (the worker's round reads it)."""
        self._beat.listen(changed)

    def unfollow(self) -> None:
        self._beat.unlisten()

    def shown(self, snap: Snapshot, fmt: Format, spawn: Spawn) -> None:
        """The room is shown `snap`: the round writes its phase from now on; the vote opens if
        the last phase runs (at once when it begins, or when a moderator takes over in it)."""
        self._beat.phase = phase_label(snap)
        if not self._voting and not self._opening and in_last_phase(snap, fmt):
            self._opening = True
            spawn(self._open_voting())

    async def _open_voting(self) -> None:
        """Until it is open: Postgres trouble is tried again every `AUDIENCE_PERIOD`."""
        while True:
            try:
                await asyncio.wait_for(self._db.open_voting(self._discussion_id), CALL)
                break
            except Exception:
                logger.warning("voting not opened", extra={"room": self._room}, exc_info=True)
            await asyncio.sleep(AUDIENCE_PERIOD)
        self._voting = True
        logger.info("voting opened", extra={"room": self._room})
