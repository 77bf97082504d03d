"""What the moderator tells the room: its participant attributes (only the keys that changed)
and events, sent to each person reliably on topic `disco.debate` with their own `seq`, so a
client that sees a gap asks for the state (docs/PROTOCOL.md, "Debate").
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from livekit import rtc

from agent.floor import Floor
from lobby.contract import DEBATE_TOPIC

logger = logging.getLogger("disco.moderator")

# The longest one outside call (LiveKit, Postgres) may hold up the room's updates: a call that
# never answers must not freeze the clock.
CALL = 10.0
# Seconds before attributes that could not be set are sent again.
RETRY = 1.0


class Announcer:
    def __init__(self, room: rtc.Room, floor: Floor) -> None:
        self.room = room
        self._floor = floor
        self.seq: dict[str, int] = {}
        self._attrs: dict[str, str] = {}
        # The attributes last asked for, and the pending retry of a set that failed.
        self._wanted: dict[str, str] = {}
        self._retry: asyncio.Task[None] | None = None
        # Everyone who has called a command: they get events even before the agent's view of
        # the room lists them (LiveKit announces arrivals late under load).
        self._callers: set[str] = set()

    def heard_from(self, identity: str) -> None:
        self._callers.add(identity)

    def gone(self, identity: str) -> None:
        self._callers.discard(identity)

    def resume(self, seq: dict[str, int]) -> None:
        # One number skipped: each client sees a gap at the next event and asks for the state.
        self.seq = {identity: n + 1 for identity, n in seq.items()}

    async def set_attributes(self, new: dict[str, str]) -> None:
        self._wanted = dict(new)
        changed = {k: v for k, v in new.items() if self._attrs.get(k) != v}
        if not changed:
            return
        try:
            await asyncio.wait_for(self.room.local_participant.set_attributes(changed), CALL)
            self._attrs.update(changed)
        except TimeoutError:
            # Not cached, and sent again shortly: a paused clock may bring no next change, and
            # clients read the state from these attributes.
            logger.warning("attributes not set", extra={"room": self.room.name})
            retry = self._retry
            # A retry that fails again (this very task) schedules the next try.
            if retry is None or retry.done() or retry is asyncio.current_task():
                self._retry = asyncio.create_task(self._set_again())

    async def _set_again(self) -> None:
        await asyncio.sleep(RETRY)
        try:
            await self.set_attributes(self._wanted)
        except Exception:
            logger.warning("attributes not set", extra={"room": self.room.name})

    def close(self) -> None:
        if self._retry is not None:
            self._retry.cancel()

    async def broadcast(self, bodies: list[dict[str, Any]]) -> None:
        """Send events to every person in the room, each with their own `seq`."""
        people = self._callers | {
            p.identity
            for p in self.room.remote_participants.values()
            if p.kind != rtc.ParticipantKind.PARTICIPANT_KIND_AGENT
        }
        for body in bodies:
            await asyncio.gather(*(self._send(identity, body) for identity in people))

    async def _send(self, identity: str, body: dict[str, Any]) -> None:
        seq = self.seq.get(identity, 0) + 1
        self.seq[identity] = seq
        data = json.dumps({**body, "seq": seq}, separators=(",", ":")).encode()
        try:
            await asyncio.wait_for(self._floor.send(identity, data, DEBATE_TOPIC), CALL)
        except Exception:
            logger.warning("event not sent", extra={"room": self.room.name, "to": identity})
