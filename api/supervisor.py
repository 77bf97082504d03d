"""Keeps every live discussion room moderated: a room whose moderator agent (`disco-moderator`)
is gone gets a new one, which goes on with the debate where the last one left it (the
moderator keeps the debate in Redis; docs/PROTOCOL.md, "When the moderator restarts").

Self-hosted LiveKit never dispatches a job again when its worker dies, so the API does: at
start, every `PERIOD` seconds, and when LiveKit's `participant_left` webhook says a moderator
left a room (the webhook handler calls `check`). The live rooms are the discussions Postgres
has not seen end (the active matches in Redis while Postgres is away), and of those, the ones
LiveKit still has. A room needs a moderator when none is listed in it, or when the one listed
has stopped writing its heartbeat beside the debate in Redis: a killed worker's moderator stays
listed until LiveKit gives up on its connection, 20 s later.

The new job is the room's own dispatch again: the same agent name and the very metadata the
lobby agent gave the room when it opened it, read back from LiveKit, so nothing here rebuilds
what the moderator is told. The dead dispatch is left in place: deleting a dispatch makes
LiveKit remove its participant by identity, which by then may be the new moderator.

With several API processes only the holder of the keeper's lease supervises (api/keeper.py).
A room whose LiveKit node died is moved to a live node (creating it again does that) before
its new moderator is dispatched, as the dispatch is delivered by the node hosting the room.

Wire it into the app after the Postgres, Redis and LiveKit entries:
`app.cleanup_ctx.append(supervisor_context)`; the running supervisor is `app[SUPERVISOR]`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

from aiohttp import web
from livekit import api

from api.keeper import KEEPER
from api.keys import DB, LIVEKIT, LOBBY_STORE, REDIS, SETTINGS
from api.nodes import NODES
from lobby.contract import MODERATOR_IDENTITY
from lobby.debate_states import DebateStates
from lobby.settings import Settings
from lobby.supervise import running

logger = logging.getLogger("disco.supervisor")

PERIOD = 2.0
# A moderator's heartbeat is written every second; one silent this long is taken for dead. LiveKit
# itself lists a moderator whose worker was killed for about 20 s more (until the dead peer
# connection times out), which is why the heartbeat decides, not the participant list.
STALE = 5.0
# A dispatch younger than this may still be on its way into the room (a job took 13 s to join
# under load): a second one would join under the same identity, and LiveKit would remove the
# first. Once the newest dispatch's moderator has written the debate, the grace is over.
GRACE = 20.0
# Rooms checked with LiveKit at once: each check is two calls.
PARALLEL = 8


class Supervisor:
    def __init__(self, app: web.Application) -> None:
        self._app = app
        self._lkapi: api.LiveKitAPI = app[LIVEKIT]
        self._settings: Settings = app[SETTINGS]
        self._states = DebateStates(app[REDIS], self._settings.redis_prefix)
        self._locks: dict[str, asyncio.Lock] = {}
        self._slots = asyncio.Semaphore(PARALLEL)

    async def live_rooms(self) -> set[str]:
        """Rooms of discussions not ended: from Postgres, or from Redis while it is away."""
        try:
            return {d.room for d in await self._app[DB].live_discussions()}
        except Exception:
            logger.warning("live discussions not read from Postgres", exc_info=True)
        return {m.room for m in await self._app[LOBBY_STORE].all_active()}

    def _acting(self) -> bool:
        lease = self._app[KEEPER].lease
        return lease is None or lease.held()

    async def check_all(self) -> list[str]:
        """Dispatch a moderator into every live room that lacks one; returns those rooms."""
        if not self._acting():
            return []
        wanted = await self.live_rooms()
        if not wanted:
            return []
        found = await self._lkapi.room.list_rooms(api.ListRoomsRequest(names=sorted(wanted)))
        rooms = [r.name for r in found.rooms if r.name in wanted]
        self._locks = {r: k for r, k in self._locks.items() if r in rooms or k.locked()}
        beats = await self._states.written_at(rooms)
        quiet = [r for r in rooms if not _fresh(beats[r])]
        done = await asyncio.gather(*(self._check(r, beats[r]) for r in quiet))
        return [r for r, dispatched in zip(quiet, done, strict=True) if dispatched]

    async def check(self, room: str) -> bool:
        """Check one room (a moderator just left it); True when a moderator was dispatched.
        Failures are logged: the periodic check tries again."""
        try:
            if not self._acting() or room not in await self.live_rooms():
                return False
            found = await self._lkapi.room.list_rooms(api.ListRoomsRequest(names=[room]))
            if not any(r.name == room for r in found.rooms):
                return False
            beats = await self._states.written_at([room])
            return await self._check(room, beats[room])
        except Exception:
            logger.exception("moderator check failed", extra={"room": room})
            return False

    async def _check(self, room: str, beat: float | None) -> bool:
        # One check of a room at a time (the webhook and the period may meet), or both would
        # see no moderator and dispatch two.
        lock = self._locks.setdefault(room, asyncio.Lock())
        try:
            async with self._slots, lock:
                return await self._ensure(room, beat)
        except Exception:
            logger.exception("moderator check failed", extra={"room": room})
            return False

    async def _ensure(self, room: str, beat: float | None) -> bool:
        name = self._settings.agent_name
        people, dispatches = await asyncio.gather(
            self._lkapi.room.list_participants(api.ListParticipantsRequest(room=room)),
            self._lkapi.agent_dispatch.list_dispatch(room),
        )
        ours = [d for d in dispatches if d.agent_name == name]
        if not ours:
            logger.warning("no moderator dispatch to renew", extra={"room": room})
            return False
        newest = max(ours, key=lambda d: d.state.created_at)
        dispatched_at = newest.state.created_at / 1e9
        listed = any(p.identity == MODERATOR_IDENTITY for p in people.participants)
        if listed and (beat is None or _fresh(beat)):
            return False  # listed, and not a moderator that wrote the debate, then fell silent
        arrived = beat is not None and beat > dispatched_at
        if time.time() - dispatched_at < GRACE and not arrived:
            return False
        if self._app[NODES].down():
            await self._lkapi.room.create_room(api.CreateRoomRequest(name=room))
        await self._lkapi.agent_dispatch.create_dispatch(
            api.CreateAgentDispatchRequest(agent_name=name, room=room, metadata=newest.metadata)
        )
        silent = None if beat is None else round(time.time() - beat, 1)
        logger.info("moderator dispatched", extra={"room": room, "silent_for": silent})
        return True

    async def keep(self, period: float = PERIOD) -> None:
        """Run `check_all` forever; failures are logged and retried next period."""
        while True:
            try:
                await self.check_all()
            except Exception:
                logger.exception("supervising discussion rooms failed")
            await asyncio.sleep(period)


def _fresh(beat: float | None) -> bool:
    return beat is not None and time.time() - beat < STALE


SUPERVISOR = web.AppKey("disco.supervisor", Supervisor)


async def supervisor_context(app: web.Application) -> AsyncIterator[None]:
    """The cleanup_ctx entry: runs the supervisor, supervised as the API's other loops are (a
    loop that ends anyway is logged and started again), from the app's start to its shutdown."""
    supervisor = Supervisor(app)
    app[SUPERVISOR] = supervisor
    async with running("supervisor", supervisor.keep):
        yield
