"""Making a ban or a hold take effect everywhere: one code path for the API's moderators and the
operator's command line (api/admin.py), so a ban made either way does the same.

A ban is written to Postgres (with its audit row), then to Redis, where every API process and
agent reads it on each request and on each arrival in a room (lobby/sanctions.py); then the
person's lobby ticket and pending match are dropped (the partner goes back to the head of the
queue and is told), and they are removed from the lobby and from any live discussion room.
LiveKit cannot revoke a token, so an old one still joins: the lobby agent and the moderator
agent remove a banned person again on arrival.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import web
from livekit import api as lk

from api.keys import DB, LIVEKIT, LOBBY_STORE, SANCTIONS, SETTINGS
from lobby import lifecycle
from lobby.contract import lobby_rooms
from lobby.db import Database
from lobby.db.safety import PERMANENT, Actor
from lobby.protocol import TOPIC, cancelled_event
from lobby.sanctions import Sanctions
from lobby.settings import Settings
from lobby.store import LobbyStore
from lobby.supervise import repeat, running

log = logging.getLogger(__name__)
_CAS_TRIES = 16


@dataclass(frozen=True, slots=True)
class Enforcer:
    """Carries out bans, unbans and holds: each is recorded in Postgres first, then applied to
    the lobby's Redis state and to every LiveKit room the person is in."""

    db: Database
    sanctions: Sanctions
    store: LobbyStore
    lkapi: lk.LiveKitAPI
    settings: Settings

    async def ban(
        self, user: uuid.UUID, until: dt.datetime | None, actor: Actor, reason: str = ""
    ) -> None:
        """Ban until then (None: for good), recorded and applied."""
        await self.db.ban(user, until, actor, reason)
        await self.apply_ban(user, until)

    async def apply_ban(self, user: uuid.UUID, until: dt.datetime | None) -> None:
        """What a ban already in Postgres does everywhere else."""
        who = str(user)
        await self.sanctions.ban(who, None if until is None else until.timestamp(), time.time())
        await self.drop_from_lobby(who)
        await self.remove_everywhere(who)
        log.info("ban applied", extra={"user_id": who})

    async def unban(self, user: uuid.UUID, actor: Actor, reason: str = "") -> None:
        await self.db.unban(user, actor, reason)
        await self.sanctions.unban(str(user))
        log.info("ban lifted", extra={"user_id": str(user)})

    async def hold(self, user: uuid.UUID) -> None:
        """Held for review: out of matching (no lobby token, no ticket), a live talk goes on."""
        await self.sanctions.hold(str(user))
        await self.drop_from_lobby(str(user))
        identities = await self.store.identities_of([str(user)])
        if str(user) in identities:
            await self._remove_from_lobby(identities[str(user)])

    async def release(self, user: uuid.UUID) -> None:
        await self.sanctions.release(str(user))

    # -- the lobby and the rooms -----------------------------------------------------------
    async def drop_from_lobby(self, user: str) -> None:
        """Remove the user's ticket; a pending match is cancelled as if they had left it (the
        lobby's own scripts: the partner goes back to the head of the queue)."""
        for _ in range(_CAS_TRIES):
            state, ref = await self.store.leave(user)
            if state != "pending":
                return
            before = await self.store.pending(ref)
            if before is None:
                continue
            out = lifecycle.leave(before, user)
            result = await self.store.settle(before, out)
            if result == "ok":
                await self._tell(out.match.id, out.reason, out.requeue)
                return
            if result == "gone":
                continue
        log.warning("lobby ticket not dropped", extra={"user_id": user})

    async def _tell(self, match_id: str, reason: str, requeued: tuple[str, ...]) -> None:
        """A hint to the partner, as the lobby agent sends it: read `lobby.status` again."""
        if not requeued:
            return
        seqs = await self.store.next_seqs(requeued)
        identities = await self.store.identities_of(list(requeued))
        for user, identity in identities.items():
            body = {**cancelled_event(match_id, reason, True), "seq": seqs[user]}
            for room in lobby_rooms(self.settings.lobby_room):
                try:
                    await self.lkapi.room.send_data(
                        lk.SendDataRequest(
                            room=room,
                            data=json.dumps(body).encode(),
                            kind=lk.DataPacket.Kind.RELIABLE,
                            destination_identities=[identity],
                            topic=TOPIC,
                        )
                    )
                except lk.TwirpError:
                    log.info("partner not told", extra={"user_id": user})

    async def remove_person(self, user: str) -> None:
        """Out of the queue, the lobby and any live room (an account about to be deleted)."""
        await self.drop_from_lobby(user)
        await self.remove_everywhere(user)

    async def remove_everywhere(self, user: str) -> None:
        """Out of the lobby and of a live discussion room, if in one."""
        identity = (await self.store.identities_of([user])).get(user)
        if identity is not None:
            await self._remove_from_lobby(identity)
        match_id = await self.store.match_of(user)
        match = None if match_id is None else await self.store.active(match_id)
        if match is not None:
            await self._remove(match.room, user)

    async def _remove_from_lobby(self, identity: str) -> None:
        for room in lobby_rooms(self.settings.lobby_room):
            await self._remove(room, identity)

    async def _remove(self, room: str, identity: str) -> None:
        await remove_participant(self.lkapi, room, identity)

    async def resync(self) -> None:
        """Write every ban and hold in Postgres to Redis again (a Redis that lost them, or a
        ban whose key expired early, has them back)."""
        now = time.time()
        for user, until, held in await self.db.sanctioned():
            if until is not None:
                permanent = until >= PERMANENT
                await self.sanctions.ban(user, None if permanent else until.timestamp(), now)
            if held:
                await self.sanctions.hold(user)


async def remove_participant(lkapi: lk.LiveKitAPI, room: str, identity: str) -> None:
    """Out of the LiveKit room, if there."""
    try:
        await lkapi.room.remove_participant(
            lk.RoomParticipantIdentity(room=room, identity=identity)
        )
        log.info("participant removed", extra={"room": room, "identity": identity})
    except lk.TwirpError:
        # Not there (gone already, or never came): nothing to remove.
        pass


def enforcer(app: web.Application) -> Enforcer:
    """The app's enforcer, over its own resources."""
    return Enforcer(app[DB], app[SANCTIONS], app[LOBBY_STORE], app[LIVEKIT], app[SETTINGS])


async def sanctions_keeper(app: web.Application) -> AsyncIterator[None]:
    """The cleanup_ctx entry: writes Postgres's bans and holds to Redis at start and every
    reconcile period, in a supervised task while the app runs."""
    keeper = enforcer(app)
    async with running("sanctions", lambda: repeat("sanctions", keeper.resync, _period(app))):
        yield


def _period(app: web.Application) -> float:
    return float(app[SETTINGS].reconcile_period)
