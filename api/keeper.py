"""Keeps the lobby served: every lobby shard's room exists with timeouts that keep it alive, and
its lobby agent (`disco-lobby`, `disco-lobby-1`, ...: lobby.contract.LobbyShard) is in it.

LiveKit creates no room on join (`room.auto_create: false` in livekit.yaml), so the keeper is
what opens the lobby rooms, and the lobby token route waits for the person's shard's room
(`room_ready`): a token for a room that does not exist yet would join nothing. In a cluster it
puts the shards' rooms on the live nodes in turn (`_home`).

Self-hosted LiveKit does not dispatch a job again when its worker dies (docs/FAILURES.md), so the
API checks and dispatches: at start, every `PERIOD` seconds, and when LiveKit's `participant_left`
webhook says a lobby agent left (the webhook handler calls `ensure()`). A lobby agent still
listed whose heartbeat stopped (lobby/heartbeats.py) is replaced too: LiveKit lists a killed
worker's agent for about 20 s more.

With several API processes, one keeper acts at a time: the holder of the `keeper` lease in
Redis (lobby/lease.py), which it renews at every check; the others only create the lobby room,
which is idempotent, so each can answer the token route. The supervisor (api/supervisor.py)
acts under the same lease.

In a cluster, a LiveKit node that dies (SIGKILL, a lost machine) leaves its participants listed
in LiveKit's store, the lobby agent among them when it was there, and a lobby room bound to
that node. While a node is down (api/nodes.py), a listed lobby agent is asked, through LiveKit,
whether it is still connected (an empty participant update, which only its node can answer).
Creating the room again, as every check does while a node is down, moves it to a live node;
an agent that does not answer is replaced by a new dispatch, which takes its identity over.
The room is not deleted: the people waiting on the live nodes would be thrown out with it, and
their tickets with them. While every node answers, a room that exists is never created again
(`_open` says why).

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
from api.nodes import NODES, NodeIdUnknown, Nodes, read_node_id
from lobby.contract import LOBBY_TIMEOUT, Job, LobbyShard, lobby_shards
from lobby.heartbeats import STALE, Heartbeats
from lobby.lease import Lease
from lobby.settings import Settings
from lobby.supervise import repeat, running

logger = logging.getLogger("disco.keeper")

PERIOD = 5.0
# A dispatch younger than this may still be on its way into the room: do not stack another.
# Under load a lobby job can take over 10 s to join (measured: 13 s at load 15); a second
# dispatch then joins with the same identity and LiveKit removes the first, over and over.
# Once its agent has been seen in the room the dispatch has arrived, and the grace is over:
# an agent gone after that is replaced at the next check, however young its dispatch.
GRACE = 30.0
# A dispatch that no worker has taken this long after it was made never will be: LiveKit gave up
# on it (every worker said it was full; an idle livekit-agents worker takes one job at a time
# until that job runs, so a burst of dispatches to it loses all but one). Made again then,
# without waiting out GRACE.
ASSIGN_GRACE = 10.0

# A new lobby dispatch waits this long after the keeper's last one (so for the next check): a
# lobby shard weighs in the load a worker reports to LiveKit every 2.5 s, and the next shard
# then goes to a worker holding fewer (agent/lobby_placement.py). Four shards start within
# three checks of each other (15 s); a new dispatch costs no more than PERIOD.
SPREAD_GAP = 4.0

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
        self.shards = lobby_shards(settings.lobby_room, settings.lobby_shards)
        self._dispatched_at = {s.index: -GRACE for s in self.shards}
        self._lock = asyncio.Lock()
        self._created: set[int] = set()
        self._last_dispatch = -SPREAD_GAP

    async def room_ready(self, shard: int = 0) -> None:
        """Return once lobby shard `shard`'s room has been created (at the first successful
        `ensure`; the periodic check keeps it after that); NotReady when LiveKit cannot create
        it now."""
        if shard in self._created:
            return
        try:
            await self.ensure()
        except Exception:
            if shard in self._created:  # another shard's room failed
                return
            logger.exception("creating the lobby room failed", extra={"shard": shard})
            raise NotReady("The lobby is not open yet. Please try again.") from None

    async def ensure(self) -> bool:
        """Make sure every shard's lobby room exists and its agent is there or on its way; True
        when a new dispatch was created. Safe to call often and concurrently; a shard that
        fails does not hold up the others (the first failure is raised after all were tried)."""
        async with self._lock:
            done = await asyncio.gather(*map(self._ensure, self.shards), return_exceptions=True)
        for outcome in done:
            if isinstance(outcome, BaseException):
                raise outcome
        return any(done)

    async def _ensure(self, shard: LobbyShard) -> bool:
        room = shard.room
        await self._open(shard)
        self._created.add(shard.index)
        if self.lease is not None and not self.lease.held():
            return False  # another API's keeper acts
        people = await self.lkapi.room.list_participants(api.ListParticipantsRequest(room=room))
        listed = any(p.identity == shard.identity for p in people.participants)
        if listed and await self._alive(room) and await self._reachable(shard):
            self._dispatched_at[shard.index] = -GRACE  # arrived
            return False
        age = time.monotonic() - self._dispatched_at[shard.index]
        if age < GRACE and (age < ASSIGN_GRACE or await self._taken(room)):
            return False
        if time.monotonic() - self._last_dispatch < SPREAD_GAP:
            return False  # the next check dispatches it
        self._last_dispatch = time.monotonic()
        await self._dispatch(shard)
        return True

    async def _open(self, shard: LobbyShard) -> None:
        """Create the lobby room when LiveKit lacks it, or when a node is down (creating it
        again moves it off a dead node). A room that exists while every node answers is left
        alone: LiveKit's CreateRoom, like every join, gives the room to another node when its
        node's stats in LiveKit's Redis are 5 s old, which a node that is only busy can be, and
        the room then runs twice, its agent in the old half (docs/DEPLOY.md)."""
        room = shard.room
        if self.nodes is None or not self.nodes.down():
            found = await self.lkapi.room.list_rooms(api.ListRoomsRequest(names=[room]))
            if any(r.name == room for r in found.rooms):
                return
        await self.lkapi.room.create_room(
            api.CreateRoomRequest(
                name=room,
                empty_timeout=LOBBY_TIMEOUT,
                departure_timeout=LOBBY_TIMEOUT,
                node_id="" if await self._beating(room) else await self._home(shard),
            )
        )

    async def _beating(self, room: str) -> bool:
        """Whether the room's lobby agent beats: then the room runs on some node though LiveKit
        lacks it (the half of a split room that LiveKit routed to, once the other half closed
        and took LiveKit's record of the room with it), and the shard's own node may be the
        wrong one: putting the room there would strand the agent and its people, while
        LiveKit's choice finds their node half the time."""
        if self.beats is None:
            return False
        at = await self.beats.written_at(room)
        return at is not None and time.time() - at < STALE

    async def _home(self, shard: LobbyShard) -> str:
        """The node a new lobby room goes on: the live nodes in turn, by shard (shards 0 and 2
        on the first of two nodes, 1 and 3 on the second), so that no node holds most of the
        people waiting. LiveKit's own choice (random, or by load average, which lags by a
        minute) put three or four of four rooms created together on one node, whose stats then
        fell behind under the crowd, and LiveKit ran its rooms twice (bench/RESULTS.md). ''
        (LiveKit chooses) without DISCO_LIVEKIT_METRICS_URLS or when the node's id cannot be
        read. A room that exists stays where it is: LiveKit ignores the id then."""
        urls = self.settings.livekit_metrics_urls
        live = self.nodes.live() if self.nodes is not None else list(range(len(urls)))
        if not urls or not live:
            return ""
        node = live[shard.index % len(live)]
        try:
            return await read_node_id(urls[node])
        except NodeIdUnknown as e:
            logger.warning(
                "lobby room placed by LiveKit: node id unknown",
                extra={"room": shard.room, "node": node, "error": str(e)},
            )
            return ""

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

    async def _reachable(self, shard: LobbyShard) -> bool:
        """Whether the listed lobby agent is connected: always, while every node is up."""
        if self.nodes is None or not self.nodes.down():
            return True
        ask = api.UpdateParticipantRequest(room=shard.room, identity=shard.identity)
        try:
            await asyncio.wait_for(self.lkapi.room.update_participant(ask), REACH_TIMEOUT)
        except Exception:
            logger.warning("lobby agent listed on a dead node", extra={"room": shard.room})
            return False
        return True

    async def _taken(self, room: str) -> bool:
        """Whether a worker took a dispatch of ours into this room (it has a job)."""
        found = await self.lkapi.agent_dispatch.list_dispatch(room)
        return any(d.agent_name == self.settings.agent_name and d.state.jobs for d in found)

    async def _dispatch(self, shard: LobbyShard) -> None:
        room = shard.room
        # A dispatch whose agent is not in the room is dead (its worker was killed or refused):
        # remove it so the room holds one live dispatch.
        for d in await self.lkapi.agent_dispatch.list_dispatch(room):
            if d.agent_name == self.settings.agent_name:
                try:
                    await self.lkapi.agent_dispatch.delete_dispatch(d.id, room)
                except api.TwirpError as e:
                    # Gone since it was listed (seen while LiveKit ran a lobby room twice,
                    # in bench/scale.py): nothing to remove, and the new dispatch is still due.
                    if e.code != api.TwirpErrorCode.NOT_FOUND:
                        raise
        await self.lkapi.agent_dispatch.create_dispatch(
            api.CreateAgentDispatchRequest(
                agent_name=self.settings.agent_name,
                room=room,
                metadata=Job("lobby", shard=shard.index).to_json(),
            )
        )
        self._dispatched_at[shard.index] = time.monotonic()
        logger.info("lobby agent dispatched", extra={"room": room, "shard": shard.index})

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
