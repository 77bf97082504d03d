"""Sending the lobby's events to the people seated in this agent's shard: whichever agent made
an event appended it to this shard's Redis stream (agent/lobby_events.py, lobby/notices.py);
this loop reads the stream, numbers each person's events and sends them to the person's newest
lobby connection in this shard's room, then deletes them from the stream.

Packets go out through LiveKit's server API (RoomService.SendData), not the agent's own data
channel: measured on a busy 2-core machine, the SDK's `publish_data` delivered ~7 packets/s,
and RPC acks queued behind a pairing round's events timed out (1501). The server API sends
hundreds per second.

Order and pace: the numbers of a batch's events are taken in stream order by the one loop
that reads the stream, and each person's packets leave one after another (each person's sending
waits for their previous batch's, and only theirs), so a slow send to one person holds up
nobody else while their own events still arrive in order. An entry is deleted only once its
batch was handed to LiveKit (or found to be for nobody), so an agent that dies in between
leaves it to the next agent of the shard, which sends it again (a hint twice is harmless; one
lost would leave a client waiting for a status it never asks for).

SendData has one blind spot: while LiveKit runs the room twice (docs/DEPLOY.md, "Headroom"),
both nodes take the call, and the one holding the empty copy drops the packet. So the agent
also says, through its own connection, up to which number it sent each person's events (a
`sent` note, `Receipts`): its connection is where its people are, and a client that lacks an
event named there asks for its state (docs/PROTOCOL.md). One note goes out per RECEIPT_PERIOD
for everyone sent something meanwhile, a packet per RECEIPT_GROUP people: at N = 400, a few
packets a second on the agent's own data channel, where a packet per event would be hundreds.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from livekit import api, rtc

from lobby.notices import Notice
from lobby.protocol import TOPIC, sent_note
from lobby.store import LobbyStore
from lobby.supervise import Backoff, failed

logger = logging.getLogger("disco.lobby")

# Events read from the stream at once, and batches on the wire at once.
BATCH = 500
IN_FLIGHT = 8
# How often the `sent` note goes out (after the events it names: the note waits this long once
# there is something to tell, so SendData's packets arrive first), and how many people a packet.
RECEIPT_PERIOD = 0.5
RECEIPT_GROUP = 100


@dataclass(frozen=True, slots=True)
class _Parcel:
    """One person's events of a batch: their connection and the number of the first."""

    user: str
    identity: str
    notices: list[Notice]
    first: int


class Receipts:
    """The `sent` notes: each person's highest event number sent since the last note, through
    the agent's own connection, to up to RECEIPT_GROUP people a packet, each named with their
    number (LiveKit hands the packet, its list of destinations included, to those people
    only)."""

    def __init__(self, participant: rtc.LocalParticipant) -> None:
        self._participant = participant
        self._due: dict[str, int] = {}
        self._waiting = asyncio.Event()

    def sent(self, identity: str, seq: int) -> None:
        self._due[identity] = max(seq, self._due.get(identity, 0))
        self._waiting.set()

    async def loop(self) -> None:
        """Send the notes until cancelled."""
        while True:
            await self._waiting.wait()
            await asyncio.sleep(RECEIPT_PERIOD)
            self._waiting.clear()
            due, self._due = self._due, {}
            people = sorted(due)
            for i in range(0, len(people), RECEIPT_GROUP):
                group = people[i : i + RECEIPT_GROUP]
                await self._tell(group, sent_note({p: due[p] for p in group}))

    async def _tell(self, group: list[str], note: dict[str, Any]) -> None:
        try:
            await self._participant.publish_data(
                json.dumps(note), reliable=True, destination_identities=group, topic=TOPIC
            )
        except Exception:
            # Those events went out through SendData all the same; a client that lost one
            # reads its state within 10 s anyway (docs/PROTOCOL.md).
            logger.warning("lobby sent note not delivered", extra={"count": len(group)})


class Delivery:
    def __init__(
        self,
        lkapi: api.LiveKitAPI,
        room: str,
        store: LobbyStore,
        shard: int,
        shards: int,
        redis_timeout: float,
        receipts: Receipts,
    ) -> None:
        self.lkapi, self.room, self.store = lkapi, room, store
        self.receipts = receipts
        self.shard, self.shards = shard, shards
        # A blocking read must return well within the client's reply timeout.
        self._block_ms = max(100, int(redis_timeout * 500))
        # Each person's latest sending: the next one for them waits for it.
        self._tails: dict[str, asyncio.Task[None]] = {}

    async def loop(self) -> None:
        """Send events until cancelled; Redis away is waited out (and logged once a round)."""
        backoff = Backoff()
        while True:
            try:
                await self._run(backoff)
            except Exception as e:
                failed(logger, "lobby event delivery failed", e, shard=self.shard)
                await asyncio.sleep(backoff.delay())

    async def _run(self, backoff: Backoff) -> None:
        """Send what a predecessor (or this loop before a failure) read and never cleared,
        then every new event."""
        await self.store.open_notices(self.shard)
        while batch := await self.store.read_notices(self.shard, BATCH, 0, backlog=True):
            await self._send(*await self._prepare(batch))
        backoff.reset()
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

    async def _prepare(self, batch: list[Notice]) -> tuple[list[asyncio.Task[None]], list[str]]:
        """Number this batch's events and start sending them, each person's after their
        previous ones: the sendings, and the entries to delete once they are done. Events for
        someone seated in another shard since (a newer lobby token) go on to that shard's
        stream."""
        by_user: dict[str, list[Notice]] = defaultdict(list)
        for n in batch:
            if n.user and n.event:
                by_user[n.user].append(n)
        seats = await self.store.seats(sorted(by_user))
        here = {u for u, s in seats.items() if s.owner(self.shards) == self.shard}
        moved = [u for u, s in seats.items() if s.identity and u not in here]
        await self.store.notify(
            (seats[u].owner(self.shards), u, n.event) for u in moved for n in by_user[u]
        )
        mine = {u: i for u in here if (i := seats[u].identity)}
        firsts = await self.store.next_seqs(mine, {u: len(by_user[u]) for u in mine})
        sends = [self._chain(_Parcel(u, i, by_user[u], firsts[u])) for u, i in mine.items()]
        return sends, [n.id for n in batch]

    def _chain(self, parcel: _Parcel) -> asyncio.Task[None]:
        before = self._tails.get(parcel.user)
        task = asyncio.create_task(self._publish(parcel, before))
        self._tails[parcel.user] = task
        task.add_done_callback(lambda t: self._untail(parcel.user, t))
        return task

    def _untail(self, user: str, task: asyncio.Task[None]) -> None:
        if self._tails.get(user) is task:
            del self._tails[user]

    async def _send(self, sends: list[asyncio.Task[None]], ids: list[str]) -> None:
        try:
            await asyncio.gather(*sends)
        except asyncio.CancelledError:
            for t in sends:
                t.cancel()
            raise
        try:
            await self.store.drop_notices(self.shard, ids)
        except Exception:
            # Sent all the same; the shard's next agent sends these again.
            logger.warning("lobby events sent but not cleared", extra={"count": len(ids)})

    async def _publish(self, parcel: _Parcel, before: asyncio.Task[None] | None) -> None:
        if before is not None:
            await asyncio.wait([before])  # in order; how that one went does not matter
        for seq, n in enumerate(parcel.notices, start=parcel.first):
            try:
                event = {**json.loads(n.event), "seq": seq}
            except (ValueError, TypeError):
                # Not written by a DISCO agent: nothing to send, and the number goes unused
                # (the client sees a gap and reads its state).
                logger.warning("lobby event unreadable", extra={"user_id": parcel.user})
                continue
            await self._send_one(parcel.user, parcel.identity, event)
        if parcel.notices:
            self.receipts.sent(parcel.identity, parcel.first + len(parcel.notices) - 1)

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
