"""The lobby agent: the `disco-lobby` participant in the lobby room (`disco-lobby-k` in
the room of lobby shard k, lobby.contract.LobbyShard).

It answers the lobby RPCs (lobby.join / lobby.leave / lobby.respond / lobby.status) of the
people seated in its shard, sends them their `disco.lobby` events (agent/lobby_delivery.py),
pairs waiting tickets, times out pending matches and opens discussion rooms. All state lives
in Redis (lobby.store), so a restarted agent picks up where the killed one stopped (see
`LobbySession.recover`). Every shard's agent pairs and expires from the same queues, which
the store's atomic scripts keep from matching anyone twice; each looks after the presence of
its own room's people only.

Redis and Postgres may go away and come back. Every call to them has a timeout; a command
that meets an outage fails fast with `unavailable` (2098); every loop is supervised
(lobby.supervise). When Redis answers again after an outage the agent runs the same recovery
as after a restart, before any expiry: a proposal whose deadline fell in the outage is
proposed again with a fresh deadline, and nobody earns a strike for it. While Postgres is away
the lobby works from what it mirrors in Redis (agent.lobby_profiles). The job around it
(metadata, Redis, joining the room) is `agent/lobby_job.py`.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import replace
from functools import partial
from typing import Any

from livekit import api, rtc

from agent.lobby_delivery import Delivery, Receipts
from agent.lobby_events import Events
from agent.lobby_expiry import Expiry
from agent.lobby_guard import Guard
from agent.lobby_pairing import Pairing
from agent.lobby_probe import routed_here
from agent.lobby_profiles import Profiles
from agent.lobby_rooms import is_in_room, open_room, room_exists, room_grant
from agent.lobby_rpc import Handler, rpc_call
from agent.lobby_shard import SPLIT_GRACE, Seated, unseen
from agent.lobby_topics import Topics
from lobby import lifecycle
from lobby.db import Database, Topic
from lobby.errors import (
    Busy,
    Cooldown,
    LobbyError,
    NotQueued,
    NotYourMatch,
    UnknownMatch,
)
from lobby.formats import Catalogue
from lobby.heartbeats import PERIOD as HEARTBEAT
from lobby.heartbeats import Heartbeats
from lobby.lifecycle import Outcome
from lobby.mirror import Mirror
from lobby.model import Match, Ticket, clean_name
from lobby.outage import database_down
from lobby.protocol import match_view, parse_empty, parse_join, parse_respond, ticket_view
from lobby.settings import Settings
from lobby.store import Joined, LobbyStore
from lobby.supervise import Supervisor, failed, repeat

logger = logging.getLogger("disco.lobby")

PRESENCE_PERIOD = 5.0
OUTBOX_PERIOD = 2.0
_CAS_TRIES = 16


class LobbySession:
    def __init__(
        self,
        room: rtc.Room,
        lkapi: api.LiveKitAPI,
        settings: Settings,
        store: LobbyStore,
        db: Database,
        catalogue: Catalogue,
        shard: int = 0,
        *,
        moved: Callable[[], None] | None = None,
    ) -> None:
        self.room, self.lkapi, self.settings = room, lkapi, settings
        # Called when LiveKit holds this room on another node now (the job then ends, and the
        # keeper puts a new agent where LiveKit routes people); the monotonic time of the last
        # probe that asked where that is.
        self._moved = moved
        self._probed_at = -SPLIT_GRACE
        self.store, self.db, self.catalogue = store, db, catalogue
        self.shard = shard
        self.events = Events(store, settings.lobby_shards)
        self.receipts = Receipts(room.local_participant)
        self.delivery = Delivery(
            lkapi,
            room.name,
            store,
            shard,
            settings.lobby_shards,
            settings.redis_timeout,
            self.receipts,
        )
        mirror = Mirror(store.redis, settings.redis_prefix)
        self.profiles = Profiles(db, mirror, settings.outage_retry_after)
        self.topics = Topics(db)
        self._tasks: set[asyncio.Task[None]] = set()
        self.loops = Supervisor()
        self.expiry = Expiry(store, self._apply, self.recover)
        self.guard = Guard(lkapi, room.name, settings, store, self._spawn, shard)
        self.seated = Seated(lkapi, room.name, store, self.guard, shard, settings.lobby_shards)
        self.pairing = Pairing(
            settings, store, self.profiles, self.events, self._spawn, self._quietly
        )
        # Queues whose people may have moved, queues someone just joined, the pairing's wake-up.
        p = self.pairing
        self._dirty, self._wanted, self._wake = p.dirty, p.wanted, p.wake

    # -- life cycle ------------------------------------------------------------------------
    async def start(self) -> None:
        await self.store.claim_layout()
        try:
            await self.topics.refresh(force=True)
        except Exception as e:
            # Topics load on the first join once Postgres answers.
            if not database_down(e):
                raise
        handlers: dict[str, Handler] = {
            "lobby.join": self.join,
            "lobby.leave": self.leave,
            "lobby.respond": self.respond,
            "lobby.status": self.status,
        }
        for method, handler in handlers.items():
            call = rpc_call(method, handler, self.guard, self.store, self.settings)
            self.room.local_participant.register_rpc_method(method, call)
        self.room.on("participant_disconnected", self._on_disconnected)
        self.room.on("participant_connected", self._on_connected)
        self.room.on("data_received", self._on_data)
        await self.recover()
        self.loops.start("delivery", self.delivery.loop)
        self.loops.start("receipts", self.receipts.loop)
        self.loops.start("pairing", self.pairing.pairing_loop)
        self.loops.start("refresh", self.pairing.refresh_loop)
        self.loops.start("expiry", self.expiry.loop)
        self.loops.start("presence", lambda: repeat("presence", self._sweep, PRESENCE_PERIOD))
        self.loops.start(
            "outbox", lambda: repeat("outbox", self.profiles.write_kept, OUTBOX_PERIOD)
        )
        # Tells the API's keeper this agent is alive (lobby/heartbeats.py).
        beats = Heartbeats(self.store.redis, self.settings.redis_prefix)
        self.loops.start(
            "heartbeat",
            lambda: repeat("heartbeat", lambda: beats.beat(self.room.name, time.time()), HEARTBEAT),
        )
        # Public and harmless: tells clients (and the keeper's tests) the RPCs are registered.
        await self.room.local_participant.set_attributes({"lobby": "ready"})
        logger.info("lobby agent ready", extra={"room": self.room.name, "shard": self.shard})

    async def aclose(self) -> None:
        await self.loops.aclose()
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.store.redis.aclose()
        await self.db.aclose()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_connected(self, participant: rtc.RemoteParticipant) -> None:
        self._spawn(self._quietly(self.guard.arrived(participant.identity)))

    def _on_disconnected(self, participant: rtc.RemoteParticipant) -> None:
        logger.info("participant left the lobby", extra={"identity": participant.identity})
        self._spawn(self._quietly(self._left(participant.identity)))

    def _on_data(self, packet: rtc.DataPacket) -> None:
        # LiveKit gives no sender for a participant it has not announced yet (up to ~3 s after
        # the join); a flood is counted from then on.
        if packet.participant is not None:
            self.guard.packet(packet.participant.identity)

    async def _left(self, identity: str) -> None:
        # The SDK also reports everyone in the room gone when the agent's own connection is
        # rebuilt (its LiveKit node died, say), though nobody left: only the server's list
        # tells a departure. One it cannot confirm now is the presence sweep's to find.
        if await self.seated.listed(identity):
            logger.info("lobby departure not confirmed", extra={"identity": identity})
            return
        user = await self.guard.left(identity)
        if user is not None:
            await self._leave_user(user)

    async def _quietly(self, coro: Awaitable[object]) -> None:
        try:
            await coro
        except Exception as e:
            failed(logger, "lobby background step failed", e)

    async def recover(self) -> None:
        """Resume from Redis after a restart, for the people seated in this shard: those who
        left meanwhile lose their tickets (their partners are told); their pending matches get
        a fresh deadline and are proposed again; everyone waiting is re-sent `queued`. Rooms
        whose opening was interrupted are opened again (whoever's they are: it is idempotent)."""
        present = await self.seated.present()
        pending = await self.store.all_pending()
        mine = await self.seated.mine({u for m in pending for u in m.users})
        for m in pending:
            gone = [u for u in m.users if u in mine and u not in present]
            for u in gone:
                await self._leave_user(u)
            touched = not gone and any(u in mine for u in m.users)
            out = await self._apply(m.id, self._extend) if touched else None
            if out is not None and out.kind == "updated":
                await self.events.proposed(out.match)
        for m in await self.store.all_active():
            if m.state == "starting":
                self._spawn(self._start(m))
        for user in await self.seated.mine(await self.store.queued_users()):
            if user not in present:
                await self._leave_user(user)
            elif (t := await self.store.ticket(user)) and not await self.store.match_of(user):
                self._dirty.add(t.bucket)
        self.events.forget_queued()
        self._wake.set()

    def _extend(self, match: Match) -> Outcome:
        return lifecycle.extend(match, time.time(), self._ttl)

    @property
    def _ttl(self) -> float:
        return float(self.settings.accept_timeout)

    # -- RPC -------------------------------------------------------------------------------
    async def join(self, user: str, payload: str) -> dict[str, Any]:
        await self.topics.refresh()
        try:
            req = parse_join(payload, self.topics.by_slug, self.catalogue)
        except LobbyError:
            if not await self.topics.refresh(force=True):
                raise
            req = parse_join(payload, self.topics.by_slug, self.catalogue)
        now = time.time()
        ticket = Ticket(user, await self._name(user), req.topic, req.format, req.side, now)
        res = await self.store.join(ticket, now)
        if not isinstance(res, Joined):
            await self._unblock(user, res, now)
            res = await self.store.join(ticket, now)
            if not isinstance(res, Joined):
                raise Busy()
        self._dirty.add(ticket.bucket)
        self._wanted.add(ticket.bucket)
        self._wake.set()
        estimate = self._estimate(ticket.bucket, res)
        # The reply tells the joiner their place: a `queued` event too would only make them ask
        # `lobby.status` for what they were just told (at N = 400 a third of the lobby's
        # traffic). They hear of it again when it changes.
        self.events.told(ticket.user, res.position)
        return {"ticket": ticket_view(ticket, res.position, res.waiting, estimate)}

    async def _unblock(self, user: str, refusal: tuple[str, str], now: float) -> None:
        """Raise the refusal, unless it is an active match the person has left (or whose room
        is gone): asking to queue again gives their seat up, and the moderator ends the
        discussion as the format says for a seat left empty."""
        kind, ref = refusal
        if kind == "cooldown":
            raise Cooldown(retry_after=math.ceil(float(ref) - now))
        active = await self.store.active(ref)
        if active is None or active.state != "live":
            raise Busy()
        if not await room_exists(self.lkapi, active.room):
            await self.store.finish_room(active.room)
        elif not await is_in_room(self.lkapi, active.room, user):
            await self.store.release(user, active.id)
            logger.info("seat given up to queue again", extra={"match": active.id})
        else:
            raise Busy()

    async def leave(self, user: str, payload: str) -> dict[str, Any]:
        parse_empty(payload)
        if not await self._leave_user(user):
            raise NotQueued()
        return {"left": True}

    async def _leave_user(self, user: str) -> bool:
        """Remove the user's ticket; a pending partner is told and put back at the head."""
        for _ in range(_CAS_TRIES):
            state, ref = await self.store.leave(user)
            if state == "none":
                return False
            if state == "left":
                self._dirty.add(ref)
                self.events.forget(user)
                self._wake.set()
                return True
            if await self._apply(ref, lambda m: lifecycle.leave(m, user)) is not None:
                self.events.forget(user)
                return True
        raise LobbyError()

    async def respond(self, user: str, payload: str) -> dict[str, Any]:
        match_id, accept = parse_respond(payload)
        done = await self._apply(
            match_id, lambda m: lifecycle.respond(m, user, accept, time.time())
        )
        if done is None:
            return await self._respond_after(user, match_id, accept)
        status = {"cancelled": "declined", "started": "starting"}.get(done.kind, "accepted")
        return {"match_id": match_id, "status": status}

    async def _respond_after(self, user: str, match_id: str, accept: bool) -> dict[str, Any]:
        """The match is no longer pending: accepting a started match again is harmless."""
        active = await self.store.active(match_id)
        if active is not None:
            if user not in active.users:
                raise NotYourMatch()
            if not accept:
                raise Busy("This match has already started.")
            return {"match_id": match_id, "status": "starting"}
        if await self.store.ticket(user) is None and await self.store.match_of(user) is None:
            raise NotQueued()
        raise UnknownMatch()

    async def status(self, user: str, payload: str) -> dict[str, Any]:
        parse_empty(payload)
        ticket, mid = await self.store.ticket(user), await self.store.match_of(user)
        view: dict[str, Any] | None = None
        if ticket is not None and mid is None and (pos := await self.store.position(ticket)):
            view = ticket_view(
                ticket, pos.position, pos.waiting, self._estimate(ticket.bucket, pos)
            )
        match = mid and (await self.store.pending(mid) or await self.store.active(mid))
        return {
            "ticket": view,
            "match": match_view(match, user, time.time()) if match else None,
            "room": room_grant(self.settings, match, user) if match else None,
            "waiting": await self.store.counts(),
            "formats": self.catalogue.summary(),
        }

    # -- matches ---------------------------------------------------------------------------
    async def _apply(self, match_id: str, step: Callable[[Match], Outcome]) -> Outcome | None:
        """Run one life-cycle step on the current version of a pending match and commit it
        (compare-and-set); None when the match is no longer pending."""
        for _ in range(_CAS_TRIES):
            before = await self.store.pending(match_id)
            if before is None:
                return None
            out = step(before)
            result = await self.store.settle(before, out)
            if result == "gone":
                return None
            if result == "ok":
                await self._after(out)
                return out
        raise LobbyError()

    async def _after(self, out: Outcome) -> None:
        m = out.match
        if out.kind == "started":
            self._spawn(self._start(m))
        elif out.kind == "cancelled":
            await self.events.cancelled(m.id, out.reason, out.requeue, out.drop)
            # Only whoever made the proposal fail pays (a partner who accepted never does);
            # nothing ever limits the proposals a person receives.
            for user in out.at_fault:
                await self.store.note_strike(user, time.time())
            self._dirty.add(m.seats[0].ticket.bucket)
            self._wake.set()

    async def _start(self, match: Match) -> None:
        for attempt in range(3):
            try:
                topic = self.topics.by_slug.get(match.topic) or Topic(match.topic, match.topic, "")
                # As the moderator does, a format gone from the catalogue runs as casual.
                fmt = self.catalogue.get(match.format) or self.catalogue.formats["casual"]
                public = await self.profiles.public(match, fmt)
                record = partial(self.profiles.start_discussion, public=public)
                await open_room(self.lkapi, record, self.settings, match, topic, fmt, public=public)
                break
            except Exception:
                logger.exception("opening a discussion room failed", extra={"match": match.id})
                await asyncio.sleep(0.5 * (attempt + 1))
        else:
            await self.events.cancelled(match.id, "failed", (), match.users)
            await self.store.finish_room(match.room)
            return
        if await self.store.mark_live(replace(match, state="live")):
            await self.events.ready(match)

    # -- loops -----------------------------------------------------------------------------
    async def _sweep(self) -> None:
        """Drop the tickets of this shard's people who are no longer in its room; say so when
        LiveKit lists people in the room whom this agent cannot reach (a room run twice)."""
        for user in await self.seated.strays():
            await self._leave_user(user)
        apart = unseen(self.seated.listed_at, self.room.remote_participants, time.time())
        if not apart:
            return
        logger.warning(
            "lobby room split: people listed that this agent cannot reach",
            extra={"room": self.room.name, "unseen": len(apart), "first": apart[0]},
        )
        now = time.monotonic()
        if self._moved is None or now - self._probed_at < SPLIT_GRACE:
            return
        self._probed_at = now
        # Which half is LiveKit's now? The one a new connection reaches (agent/lobby_probe.py).
        # The agent of the other half leaves it: the keeper puts a new agent where people
        # arrive, and clients left behind reconnect once they miss the agent (docs/PROTOCOL.md).
        if await routed_here(self.settings, self.room) is False:
            logger.warning(
                "lobby room split: LiveKit routes new connections to the other half; leaving",
                extra={"room": self.room.name, "left_behind": len(self.room.remote_participants)},
            )
            self._moved()

    # -- helpers ---------------------------------------------------------------------------
    async def _name(self, user: str) -> str:
        """The account's display name: lobby tokens carry no name (docs/PROTOCOL.md)."""
        return clean_name(await self.profiles.name(user))

    def _estimate(self, bucket: str, pos: Joined) -> int:
        return self.pairing.estimate(bucket, pos)
