"""What the moderator agent does for trust and safety in its room (lobby/sanctions.py holds the
state):

- it keeps a record of the room's text chat with each sender as LiveKit names them (a text
  stream's sender identity comes from the server, not from the message), for the life of the
  discussion; a report copies it as evidence;
- it removes a banned person who arrives (LiveKit cannot revoke the token they still hold);
- a debater who reported their partner and then leaves does not lose by forfeit;
- it tells which human moderator is behind an opaque `mod-` identity.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from livekit import rtc

from agent.clock import DebateClock
from agent.clock_types import Ended, Event, other
from agent.floor import Floor
from agent.state import Seats
from lobby.contract import CHAT_TOPIC, MODERATOR_PREFIX
from lobby.db import Database
from lobby.sanctions import CHAT_TEXT, ChatLine, Sanctions

logger = logging.getLogger("disco.moderator")

Spawn = Callable[[Coroutine[Any, Any, None]], None]
# Made by the moderator, which hands it its own task spawner.
SafetyFactory = Callable[[Spawn], "RoomSafety"]


class RoomSafety:
    def __init__(self, sanctions: Sanctions, floor: Floor, room: str, spawn: Spawn) -> None:
        self.sanctions, self.floor, self.room = sanctions, floor, room
        self._spawn = spawn

    # -- the chat record -------------------------------------------------------------------
    def listen(self, room: rtc.Room) -> None:
        room.register_text_stream_handler(CHAT_TOPIC, self._on_chat)

    def unlisten(self, room: rtc.Room) -> None:
        room.unregister_text_stream_handler(CHAT_TOPIC)

    def _on_chat(self, reader: rtc.TextStreamReader, sender: str) -> None:
        self._spawn(self._record(reader, sender))

    async def _record(self, reader: rtc.TextStreamReader, sender: str) -> None:
        said = ""
        try:
            async for chunk in reader:
                said += chunk
                if len(said) >= CHAT_TEXT:
                    break
            await self.sanctions.record_chat(
                self.room, ChatLine(sender, said[:CHAT_TEXT], time.time())
            )
        except Exception:
            logger.warning("chat line not recorded", extra={"room": self.room})

    # -- banned people ---------------------------------------------------------------------
    def arrived(self, identities: list[str]) -> None:
        people = [i for i in identities if not i.startswith(MODERATOR_PREFIX)]
        if people:
            self._spawn(self._turn_away(people))

    async def _turn_away(self, identities: list[str]) -> None:
        try:
            banned = [
                i for i, s in (await self.sanctions.standings(identities)).items() if s.banned
            ]
            for identity in banned:
                await self.floor.remove(identity)
                logger.info("banned participant removed", extra={"room": self.room})
        except Exception:
            logger.warning("ban check failed", extra={"room": self.room})

    # -- forfeits --------------------------------------------------------------------------
    async def excused(self, events: list[Event], seats: Seats, clock: DebateClock) -> list[Event]:
        """The events, with a forfeit against a debater who had reported the other turned
        into an end with no winner."""
        out: list[Event] = []
        for e in events:
            if isinstance(e, Ended) and e.outcome == "forfeit" and e.winner is not None:
                loser = seats.identity(other(e.winner))
                try:
                    if await self.sanctions.reported(self.room, loser):
                        out += clock.excuse()
                        continue
                except Exception:
                    logger.warning("report check failed", extra={"room": self.room})
            out.append(e)
        return out

    # -- human moderators ------------------------------------------------------------------
    async def is_moderator(self, identity: str, db: Database) -> bool:
        """Whether an opaque `mod-` identity is a current moderator's (looked up in Redis, the
        role read from Postgres)."""
        if not identity.startswith(MODERATOR_PREFIX):
            return False
        user = await self.sanctions.moderator_user(identity)
        if user is None:
            return False
        return await asyncio.wait_for(db.is_moderator(user), 3.0)
