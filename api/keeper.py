"""Keeps the lobby served: the lobby room exists with timeouts that keep it alive, and a lobby
agent (`disco-lobby`) is in it.

LiveKit creates no room on join (`room.auto_create: false` in livekit.yaml), so the keeper is
what opens the lobby room, and the lobby token route waits for it (`room_ready`): a token for
a room that does not exist yet would join nothing.

Self-hosted LiveKit does not dispatch a job again when its worker dies (docs/FAILURES.md), so the
API checks and dispatches: at start, every `PERIOD` seconds, and when LiveKit's `participant_left`
webhook says the lobby agent left (the webhook handler calls `ensure()`). A lobby agent still
listed whose heartbeat stopped (lobby/heartbeats.py) is replaced too: LiveKit lists a killed
worker's agent for about 20 s more.

With several API processes, one keeper acts at a time: the holder of the `keeper` lease in
Redis (lobby/lease.py), which it renews at every check; the others only create the lobby room,
which is idempotent, so each can answer the token route. The supervisor (api/supervisor.py)
acts under the same lease.

In a cluster, a LiveKit node that dies (SIGKILL, a lost machine) leaves its participants listed
in LiveKit's store, the lobby agent among them when it was there, and the lobby room bound to
that node. While a node is down (api/nodes.py), a listed lobby agent is asked, through LiveKit,
whether it is still connected (an empty participant update, which only its node can answer).
Creating the room again, as every check does, moves it to a live node; one that does not answer
is replaced by a new dispatch, which takes its identity over. The room is not deleted: the
people waiting on the live nodes would be thrown out with it, and their tickets with them.

Wire it into the app with `app.cleanup_ctx.append(keeper_context(settings))`; the running
keeper is then `app[KEEPER]`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

from aiohttp import web
from livekit import api

from api.errors import NotReady
from api.keys import REDIS
from api.nodes import NODES, Nodes
from api.supervise import repeat, running
from lobby.contract import LOBBY_IDENTITY, LOBBY_JOB, LOBBY_TIMEOUT
from lobby.heartbeats import STALE, Heartbeats
from lobby.lease import Lease
from lobby.settings import Settings

logger = logging.getLogger("disco.keeper")

PERIOD = 5.0
# A dispatch younger than this may still be on its way into the room: do not stack another.
# Under load a lobby job can take over 10 s to join (measured: 13 s at load 15); a second
# dispatch then joins with the same identity and LiveKit removes the first, over and over.
# Once its agent has been seen in the room the dispatch has arrived, and the grace is over:
# an agent gone after that is replaced at the next check, however young its dispatch.
GRACE = 30.0
# How long a listed agent may take to answer whether it is still connected; its node answers
# within milliseconds, a dead node's participant makes LiveKit give up after about 3 s.
REACH_TIMEOUT = 5.0


class Keeper:
    def __init__(
        self,
        settings: Settings,
        lkapi: api.LiveKitAPI,
        lease: Lease | None = None,
        nodes: Nodes | None = None,
        beats: Heartbeats | None = None,
    ) -> None:
        self.settings = settings
        self.lkapi = lkapi
        # Without a lease this keeper always acts (one API, or a test's own keeper).
        self.lease = lease
        self.nodes = nodes
        self.beats = beats
        self._dispatched_at = -GRACE
        self._lock = asyncio.Lock()
        self._created = False

    async def room_ready(self) -> None:
        """Return once the lobby room has been created (at the first successful `ensure`; the
        periodic check keeps it after that); NotReady when LiveKit cannot create it now."""
        if self._created:
            return
        try:
            await self.ensure()
        except Exception:
            logger.exception("creating the lobby room failed")
            raise NotReady("The lobby is not open yet. Please try again.") from None

    async def ensure(self) -> bool:
        """Make sure the lobby room exists and its agent is there or on its way; True when a
        new dispatch was created. Safe to call often and concurrently."""
        async with self._lock:
            room = self.settings.lobby_room
            await self.lkapi.room.create_room(
                api.CreateRoomRequest(
                    name=room, empty_timeout=LOBBY_TIMEOUT, departure_timeout=LOBBY_TIMEOUT
                )
            )
            self._created = True
            if self.lease is not None and not self.lease.held():
                return False  # another API's keeper acts
            people = await self.lkapi.room.list_participants(api.ListParticipantsRequest(room=room))
            listed = any(p.identity == LOBBY_IDENTITY for p in people.participants)
            if listed and await self._alive(room) and await self._reachable(room):
                self._dispatched_at = -GRACE  # arrived
                return False
            if time.monotonic() - self._dispatched_at < GRACE:
                return False
            await self._dispatch(room)
            return True

    async def _alive(self, room: str) -> bool:
        """Whether the listed lobby agent still beats (lobby/heartbeats.py): LiveKit lists one
        whose worker was killed for 20 s more. No heartbeat at all counts as alive."""
        if self.beats is None:
            return True
        at = await self.beats.written_at(room)
        if at is None or time.time() - at < STALE:
            return True
        logger.warning("lobby agent listed but silent", extra={"room": room})
        return False

    async def _reachable(self, room: str) -> bool:
        """Whether the listed lobby agent is connected: always, while every node is up."""
        if self.nodes is None or not self.nodes.down():
            return True
        ask = api.UpdateParticipantRequest(room=room, identity=LOBBY_IDENTITY)
        try:
            await asyncio.wait_for(self.lkapi.room.update_participant(ask), REACH_TIMEOUT)
        except Exception:
            logger.warning("lobby agent listed on a dead node", extra={"room": room})
            return False
        return True

    async def _dispatch(self, room: str) -> None:
        # A dispatch whose agent is not in the room is dead (its worker was killed or refused):
        # remove it so the room holds one live dispatch.
        for d in await self.lkapi.agent_dispatch.list_dispatch(room):
            if d.agent_name == self.settings.agent_name:
                await self.lkapi.agent_dispatch.delete_dispatch(d.id, room)
        await self.lkapi.agent_dispatch.create_dispatch(
            api.CreateAgentDispatchRequest(
                agent_name=self.settings.agent_name, room=room, metadata=LOBBY_JOB.to_json()
            )
        )
        self._dispatched_at = time.monotonic()
        logger.info("lobby agent dispatched", extra={"room": room})

    async def check(self) -> bool:
        """One periodic check: take or renew the lease, then `ensure`."""
        if self.lease is not None:
            await self.lease.hold()
        return await self.ensure()

    async def keep(self, period: float = PERIOD) -> None:
        """Run `check` forever; failures are logged and retried with backoff."""
        await repeat("keeper", self.check, period)


KEEPER = web.AppKey("disco.keeper", Keeper)


def keeper_context(
    settings: Settings,
) -> Callable[[web.Application], AbstractAsyncContextManager[None]]:
    """The cleanup_ctx entry: opens a LiveKit API client, runs the keeper, closes both."""

    @contextlib.asynccontextmanager
    async def context(app: web.Application) -> AsyncIterator[None]:
        lkapi = api.LiveKitAPI(
            settings.livekit_url, settings.livekit_api_key, settings.livekit_api_secret
        )
        lease = Lease(app[REDIS], settings.redis_prefix, "keeper")
        beats = Heartbeats(app[REDIS], settings.redis_prefix)
        keeper = Keeper(settings, lkapi, lease, app[NODES], beats)
        app[KEEPER] = keeper
        try:
            async with running("keeper", keeper.keep):
                yield
        finally:
            with contextlib.suppress(Exception):
                await lease.release()
            await lkapi.aclose()

    return context
