"""Sending the lobby's events to the people seated in this agent's shard: whichever agent made
an event appended it to this shard's Redis stream (agent/lobby_events.py, lobby/notices.py);
this loop reads the stream, numbers each person's events and sends them to the person's newest
lobby connection in this shard's room, then deletes them from the stream.

Packets go out through LiveKit's server API (RoomService.SendData), not the agent's own data
channel: measured on a busy 2-core machine, the SDK's `publish_data` delivered ~7 packets/s,
and RPC acks queued behind a pairing round's events timed out (1501). The server API sends
hundreds per second.

Order: a person's events are numbered in stream order while their lock is held, and a batch
takes its locks before the next batch is read, so a few batches can be on the wire at once
while each person's packets still leave one after another, in order. An entry is deleted only
once its packet was handed to LiveKit (or found to be for nobody), so an agent that dies in
between leaves it to the next agent of the shard, which sends it again (a hint twice is
harmless; one lost would leave a client waiting for a status it never asks for).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from livekit import api

from lobby.notices import Notice
from lobby.protocol import TOPIC
from lobby.store import LobbyStore

logger = logging.getLogger("disco.lobby")

# Events read from the stream at once, and batches on the wire at once.
BATCH = 500
IN_FLIGHT = 4


@dataclass(frozen=True, slots=True)
class _Parcel:
    """One person's events of a batch: their connection and the number of the first."""

    user: str
    identity: str
    notices: list[Notice]
    first: int


class Delivery:
    def __init__(
        self,
        lkapi: api.LiveKitAPI,
        room: str,
        store: LobbyStore,
        shard: int,
        shards: int,
        redis_timeout: float,
    ) -> None:
        self.lkapi, self.room, self.store = lkapi, room, store
        self.shard, self.shards = shard, shards
        # A blocking read must return well within the client's reply timeout.
        self._block_ms = max(100, int(redis_timeout * 500))
        # Each person's lock, with how many batches hold or await it.
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    async def loop(self) -> None:
        """Send what a predecessor left, then every new event, until cancelled. A failure
        (Redis away) ends the loop; the supervisor starts it again, and what was read but not
        sent is read again from the backlog."""
        self._locks = {}  # those of batches cut off when the loop last ended go with them
        await self.store.open_notices(self.shard)
        while batch := await self.store.read_notices(self.shard, BATCH, 0, backlog=True):
            await self._send(*await self._prepare(batch))
        sending: set[asyncio.Task[None]] = set()
        try:
            while True:
                batch = await self.store.read_notices(self.shard, BATCH, self._block_ms)
                if not batch:
                    continue
                task = asyncio.create_task(self._send(*await self._prepare(batch)))
                sending.add(task)
                task.add_done_callback(sending.discard)
                if len(sending) >= IN_FLIGHT:
                    await asyncio.wait(sending, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in sending:
                t.cancel()
            await asyncio.gather(*sending, return_exceptions=True)

    async def _prepare(self, batch: list[Notice]) -> tuple[list[_Parcel], list[str]]:
        """Take the locks and numbers of this batch's people: what to send to whom, and the
        entries to delete once sent. Events for someone seated in another shard since (a newer
        lobby token) go on to that shard's stream."""
        by_user: dict[str, list[Notice]] = defaultdict(list)
        for n in batch:
            if n.user and n.event:
                by_user[n.user].append(n)
        users = sorted(by_user)  # one lock order for every batch: no deadlock
        held: list[str] = []
        try:
            for u in users:
                await self._acquire(u)
                held.append(u)
            seats = await self.store.seats(users)
            here = {u: s.identity for u, s in seats.items() if s.owner(self.shards) == self.shard}
            moved = [u for u, s in seats.items() if s.identity and u not in here]
            await self.store.notify(
                (seats[u].owner(self.shards), u, n.event) for u in moved for n in by_user[u]
            )
            mine = {u: i for u, i in here.items() if i}
            firsts = await self.store.next_seqs(mine, {u: len(by_user[u]) for u in mine})
        except BaseException:
            for u in held:
                self._release(u)
            raise
        for u in set(held) - set(mine):
            self._release(u)
        parcels = [_Parcel(u, i, by_user[u], firsts[u]) for u, i in mine.items()]
        return parcels, [n.id for n in batch]

    async def _send(self, parcels: list[_Parcel], ids: list[str]) -> None:
        await asyncio.gather(*(self._publish(p) for p in parcels))
        try:
            await self.store.drop_notices(self.shard, ids)
        except Exception:
            # Sent all the same; the shard's next agent sends these again.
            logger.warning("lobby events sent but not cleared", extra={"count": len(ids)})

    async def _publish(self, parcel: _Parcel) -> None:
        try:
            for seq, n in enumerate(parcel.notices, start=parcel.first):
                event = {**json.loads(n.event), "seq": seq}
                await self._send_one(parcel.user, parcel.identity, event)
        finally:
            self._release(parcel.user)

    async def _acquire(self, user: str) -> None:
        lock, users = self._locks.get(user) or (asyncio.Lock(), 0)
        self._locks[user] = (lock, users + 1)
        try:
            await lock.acquire()
        except BaseException:
            self._forget(user)
            raise

    def _release(self, user: str) -> None:
        if user in self._locks:  # else a batch from before the loop last started
            self._locks[user][0].release()
            self._forget(user)

    def _forget(self, user: str) -> None:
        """One fewer holder or waiter; the lock goes once nobody holds or awaits it."""
        lock, users = self._locks[user]
        if users > 1:
            self._locks[user] = (lock, users - 1)
        else:
            del self._locks[user]

    async def _send_one(self, user: str, identity: str, event: dict[str, Any]) -> None:
        if "expires_at" in event:
            # Made a while ago, maybe (this agent was away): the time left is as of now.
            event["expires_in"] = max(0.0, round(float(event["expires_at"]) - time.time(), 3))
        try:
            await self.lkapi.room.send_data(
                api.SendDataRequest(
                    room=self.room,
                    data=json.dumps(event).encode(),
                    kind=api.DataPacket.Kind.RELIABLE,
                    destination_identities=[identity],
                    topic=TOPIC,
                )
            )
        except Exception:
            logger.warning("lobby event not delivered", extra={"user_id": user})
