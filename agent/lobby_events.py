"""Lobby events: reliable data packets on topic `disco.lobby`, each addressed to one person's
newest lobby connection with that person's next sequence number (kept in Redis, so it survives
a restart). An event is only a hint to call `lobby.status`: it carries no token.

They are sent through LiveKit's server API (RoomService.SendData), not the agent's own data
channel: measured on a busy 2-core machine, the SDK's `publish_data` delivered ~7 packets/s,
and RPC acks queued behind a pairing round's events timed out (1501). The server API sends
hundreds per second. Events to one person are sent one after another, so they arrive in order.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from livekit import api

from lobby.model import Match, Ticket
from lobby.protocol import TOPIC, cancelled_event, proposed_event, queued_event, ready_event
from lobby.store import LobbyStore

logger = logging.getLogger("disco.lobby")


class Events:
    def __init__(self, lkapi: api.LiveKitAPI, room: str, store: LobbyStore) -> None:
        self.lkapi = lkapi
        self.room = room
        self.store = store
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        # The position each waiting person was last told, so `queued` goes out only when it
        # changes (a change in the count behind them is not worth a packet to everyone).
        self._told: dict[str, int] = {}

    async def send(self, messages: dict[str, dict[str, Any]]) -> None:
        """Send each person their message, to their newest lobby connection: the sequence
        numbers and connections of the whole batch come from two Redis round trips, then the
        packets go out in parallel. A person's lock is held from taking their number until
        their packet is out, so their events arrive in order."""
        if not messages:
            return
        users = sorted(messages)  # every batch takes its locks in one order: no deadlock
        held: list[str] = []
        try:
            for u in users:
                await self._locks[u].acquire()
                held.append(u)
            seqs = await self.store.next_seqs(users)
            identities = await self.store.identities_of(users)
        except BaseException as e:
            for u in held:
                self._locks[u].release()
            if not isinstance(e, Exception):
                raise
            logger.warning("lobby events not delivered", extra={"count": len(users)})
            return
        await asyncio.gather(
            *(self._publish(u, identities.get(u), {**messages[u], "seq": seqs[u]}) for u in users)
        )

    async def _publish(self, user: str, identity: str | None, msg: dict[str, Any]) -> None:
        try:
            # No lobby connection: the person left; they ask `lobby.status` when they return.
            if identity is not None:
                await self.lkapi.room.send_data(
                    api.SendDataRequest(
                        room=self.room,
                        data=json.dumps(msg).encode(),
                        kind=api.DataPacket.Kind.RELIABLE,
                        destination_identities=[identity],
                        topic=TOPIC,
                    )
                )
        except Exception:
            logger.warning("lobby event not delivered", extra={"user_id": user})
        finally:
            self._locks[user].release()

    async def queued(
        self, places: Iterable[tuple[Ticket, int, int, int]], only_changes: bool = False
    ) -> None:
        """`queued` to each (ticket, position, waiting, estimate) given, in one batch; with
        `only_changes`, only to those whose position moved since they were last told."""
        messages = {}
        for ticket, position, waiting, estimate in places:
            if only_changes and self._told.get(ticket.user) == position:
                continue
            self._told[ticket.user] = position
            messages[ticket.user] = queued_event(ticket, position, waiting, estimate)
        await self.send(messages)

    async def proposed(self, *matches: Match) -> None:
        now = time.time()
        messages = {u: proposed_event(m, u, now) for m in matches for u in m.users}
        for u in messages:
            self._told.pop(u, None)
        await self.send(messages)

    async def cancelled(
        self, match_id: str, reason: str, requeued: Iterable[str], dropped: Iterable[str]
    ) -> None:
        messages = {u: cancelled_event(match_id, reason, True) for u in requeued}
        messages.update({u: cancelled_event(match_id, reason, False) for u in dropped})
        for u in messages:
            self._told.pop(u, None)
        await self.send(messages)

    async def ready(self, match: Match) -> None:
        # A hint only: each asks `lobby.status`, whose reply alone carries their room token.
        await self.send({u: ready_event(match) for u in match.users})

    def forget(self, user: str) -> None:
        self._told.pop(user, None)
        lock = self._locks.get(user)
        if lock is not None and not lock.locked():
            del self._locks[user]

    def forget_queued(self) -> None:
        self._told.clear()
