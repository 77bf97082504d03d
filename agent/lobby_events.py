"""Lobby events: reliable data packets on topic `disco.lobby`, each addressed to one identity
with that identity's next sequence number (kept in Redis, so it survives a restart)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from typing import Any

from livekit import rtc

from lobby.model import Match, Ticket
from lobby.protocol import TOPIC, cancelled_event, proposed_event, queued_event, ready_event
from lobby.store import LobbyStore

logger = logging.getLogger("disco.lobby")


class Events:
    def __init__(self, room: rtc.Room, store: LobbyStore) -> None:
        self.room = room
        self.store = store
        # What each waiting person was last told, so `queued` goes out only on a change.
        self._told: dict[str, tuple[int, int]] = {}

    async def send(self, messages: dict[str, dict[str, Any]]) -> None:
        if not messages:
            return
        seqs = await self.store.next_seqs(messages)
        for user, msg in messages.items():
            body = json.dumps({**msg, "seq": seqs[user]})
            try:
                await self.room.local_participant.publish_data(
                    body, reliable=True, destination_identities=[user], topic=TOPIC
                )
            except Exception:
                logger.warning("lobby event not delivered", extra={"identity": user})

    async def queued(
        self, ticket: Ticket, position: int, waiting: int, estimate: int, only_changes: bool = False
    ) -> None:
        if only_changes and self._told.get(ticket.user) == (position, waiting):
            return
        self._told[ticket.user] = (position, waiting)
        await self.send({ticket.user: queued_event(ticket, position, waiting, estimate)})

    async def proposed(self, match: Match) -> None:
        now = time.time()
        for u in match.users:
            self._told.pop(u, None)
        await self.send({u: proposed_event(match, u, now) for u in match.users})

    async def cancelled(
        self, match_id: str, reason: str, requeued: Iterable[str], dropped: Iterable[str]
    ) -> None:
        messages = {u: cancelled_event(match_id, reason, True) for u in requeued}
        messages.update({u: cancelled_event(match_id, reason, False) for u in dropped})
        for u in messages:
            self._told.pop(u, None)
        await self.send(messages)

    async def ready(self, match: Match, url: str, tokens: dict[str, str]) -> None:
        # One packet per owner: a token never reaches anyone else (DESIGN.md, Security).
        await self.send({u: ready_event(match, url, tokens[u]) for u in match.users})

    def forget(self, user: str) -> None:
        self._told.pop(user, None)

    def forget_queued(self) -> None:
        self._told.clear()
