"""Lobby events: reliable data packets on topic `disco.lobby`, each addressed to one person's
newest lobby connection with that person's next sequence number (kept in Redis, so it survives
a restart). An event is only a hint to call `lobby.status`: it carries no token.

The lobby may be split into shards (lobby.contract.LobbyShard), and the agent that makes an
event (the one that paired two people, say) need not be the one serving the room its person
sits in. So this module only makes events and appends each to the Redis stream of its
person's shard (lobby/notices.py); that shard's agent sends it (agent/lobby_delivery.py). One
agent sending all of a person's events keeps them in order, and the stream keeps what a
restarting agent has not sent yet.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from lobby.model import Match, Ticket
from lobby.protocol import cancelled_event, proposed_event, queued_event, ready_event
from lobby.store import LobbyStore

logger = logging.getLogger("disco.lobby")


class Events:
    def __init__(self, store: LobbyStore, shards: int) -> None:
        self.store = store
        self.shards = shards
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        # The position each waiting person was last told, so `queued` goes out only when it
        # changes (a change in the count behind them is not worth a packet to everyone).
        self._told: dict[str, int] = {}

    async def send(self, messages: dict[str, dict[str, Any]]) -> None:
        """Append each person's message to their shard's stream; someone with no lobby
        connection is told nothing (they ask `lobby.status` when they return). A person's lock
        is held until their message is appended, so events made one after another by this agent
        are appended, and sent, in that order."""
        if not messages:
            return
        users = sorted(messages)  # every batch takes its locks in one order: no deadlock
        held: list[str] = []
        try:
            for u in users:
                await self._locks[u].acquire()
                held.append(u)
            seats = await self.store.seats(users)
            await self.store.notify(
                (seat.owner(self.shards), u, json.dumps(messages[u]))
                for u, seat in seats.items()
                if seat.identity is not None
            )
        except Exception:
            logger.warning("lobby events not delivered", extra={"count": len(users)})
        finally:
            for u in held:
                self._locks[u].release()

    def told(self, user: str, position: int) -> None:
        """`user` learnt their position otherwise (their `lobby.join` reply)."""
        self._told[user] = position

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
